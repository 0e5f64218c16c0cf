//! Durable mutations per second with and without group commit, on a real redb file.
//!
//! `cargo bench -p wagate --bench group_commit` (add `-- quick` for a short run).
//! Each round: one connected sim instance, N stored messages, then every message
//! deleted for me by C concurrent callers through the core (authorization, link call,
//! store write with its outbox event: the same work as the HTTP route minus HTTP).
//! Every delete is answered only after its commit is durable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wagate::config::{Config, LinkKind};
use wagate::core::Core;
use wagate::core::model::{ConnectionState, InstanceRef};
use wagate::whatsapp::Inbound;

const CALLERS: usize = 256;

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("group commit benchmark (durable deletes through core, {CALLERS} concurrent callers)");
    let (with_n, without_n) = if quick { (5_000, 500) } else { (40_000, 2_000) };
    let with = rt.block_on(round(512, with_n));
    let without = rt.block_on(round(1, without_n));
    println!(
        "max_write_batch=512: {with_n} deletes in {:.2?} = {:.0} deletes/s",
        with.0, with.1
    );
    println!(
        "max_write_batch=1:   {without_n} deletes in {:.2?} = {:.0} deletes/s",
        without.0, without.1
    );
    println!("ratio with/without: {:.1}x", with.1 / without.1);
}

async fn round(max_batch: usize, n: usize) -> (Duration, f64) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data: dir.path().to_path_buf(),
        max_write_batch: max_batch,
        link: LinkKind::Sim,
        ..Config::default()
    };
    config.sim.pair_delay_ms = 0;
    let core = wagate::run::open_core(&config).await.unwrap();
    let org = core.create_org("bench").await.unwrap();
    let p = Core::admin_principal(&org.id);
    let created = core.create_instance(&p, "bench").await.unwrap();
    let which = InstanceRef::Id(created.instance.id.clone());
    core.connect(&p, &which, None).await.unwrap();
    while core.connection_state(&p, &which).await.unwrap() != ConnectionState::Open {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Fill (concurrently, so it is quick with group commit).
    let ids: Vec<String> = (0..n).map(|i| format!("3EB0{i:016X}")).collect();
    run_concurrently(&core, &ids, {
        let id = created.instance.id.clone();
        move |core, msg| {
            let id = id.clone();
            async move {
                let inbound = Inbound {
                    id: msg,
                    chat_jid: "5511999999999@s.whatsapp.net".into(),
                    sender: "5511999999999@s.whatsapp.net".into(),
                    sender_alt: None,
                    chat_jid_alt: None,
                    from_me: false,
                    timestamp: 1_700_000_000_000,
                    text: Some("hello".into()),
                    media: None,
                    push_name: None,
                    sender_is_business: false,
                    content: None,
                    poll_secret: None,
                    poll_votes: Vec::new(),
                };
                core.ingest_message(&id, inbound).await.unwrap();
            }
        }
    })
    .await;
    let started = Instant::now();
    run_concurrently(&core, &ids, move |core, msg| {
        let (p, which) = (p.clone(), which.clone());
        async move {
            core.delete_message(&p, &which, &msg, false).await.unwrap();
        }
    })
    .await;
    let elapsed = started.elapsed();
    (elapsed, n as f64 / elapsed.as_secs_f64())
}

async fn run_concurrently<F, Fut>(core: &Arc<Core>, items: &[String], f: F)
where
    F: Fn(Arc<Core>, String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let chunk = items.len().div_ceil(CALLERS);
    let mut tasks = Vec::new();
    for part in items.chunks(chunk.max(1)) {
        let (core, part, f) = (core.clone(), part.to_vec(), f.clone());
        tasks.push(tokio::spawn(async move {
            for item in part {
                f(core.clone(), item).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
