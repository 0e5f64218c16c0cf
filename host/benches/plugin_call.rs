//! Per-request cost of the plugin path (auth plugin + dialect plugin, a fresh store and
//! instance for each) against the native path doing the same work, in one run.
//!
//! Run: `cargo bench -p wagate --bench plugin_call` (add `-- --iters N` to change the
//! sample count). Library level, no HTTP: both paths get the same request and a real
//! core over a redb store; the difference is what the plugin layer costs.
//!
//! Cases:
//! - `native`: resolve the bearer token, `core.get_instance`, serialize the JSON the
//!   dialect would answer (what a native route does).
//! - `plugins`: `PluginHost::handle` -> `bearer` (auth world, `identity.resolve`) ->
//!   `probe` (a fixture loaded by path; dialect world, `core.get-instance`, JSON) ->
//!   HTTP response.
//! - `instantiate+call`: fresh store + instantiate + one export call with no host calls
//!   (`render-event` of the fixture dialect), the floor of any plugin call.
//! - `(madvise)`: the same on an engine that resets memory slots with madvise (the
//!   wasmtime default) instead of keeping dirtied pages resident (PAGEMAP_SCAN).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wagate::core::Core;
use wagate::core::model::{ConnectionState, Event, EventPayload, InstanceRef};
use wagate::core::records::CredentialKind;
use wagate::plugin::{MountConfig, PluginHost, PluginsConfig};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    let (p50, p90, p99) = (
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99),
    );
    println!(
        "| {name:<20} | {:>8.1} | {:>8.1} | {:>8.1} | {:>8.1} |",
        p50.as_secs_f64() * 1e6,
        p90.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6
    );
    p50
}

async fn sample<F: AsyncFnMut()>(iters: usize, mut f: F) -> Vec<Duration> {
    for _ in 0..iters / 10 {
        f().await;
    }
    let mut out = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        f().await;
        out.push(t.elapsed());
    }
    out
}

fn main() {
    let iters: usize = std::env::args()
        .skip_while(|a| a != "--iters")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(iters));
}

async fn run(iters: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = wagate::store::Store::open(&dir.path().join("data")).unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let link = Arc::new(wagate::whatsapp::sim::SimLink::new(
        tx,
        Duration::from_millis(5),
    ));
    let core = Core::new(store, link);
    core.start(rx).await.unwrap();
    core.create_org("acme").await.unwrap();
    let cred = core
        .create_credential("acme", CredentialKind::api_key(), None, None, None)
        .await
        .unwrap();
    let p = core.resolve_credential(&cred.token).await.unwrap();
    core.create_instance(&p, "inst1").await.unwrap();
    let token = cred.token.clone();

    let fixtures = std::path::Path::new(wagate::plugin::bundled::FIXTURES_DIR);
    let fx_manifest = dir.path().join("fx.toml");
    std::fs::write(
        &fx_manifest,
        format!(
            "name = \"fixture-dialect\"\nversion = \"1\"\nworlds = [\"dialect\"]\nwasm = {:?}\n[grants]\nimports = [\"core\", \"log\", \"config\", \"http-out\", \"cache\"]\n",
            fixtures.join("fixture_dialect.wasm").display().to_string()
        ),
    )
    .unwrap();
    // `probe` is a fixture, not bundled: loaded by path like fixture-dialect.
    let probe_manifest = dir.path().join("probe.toml");
    std::fs::write(
        &probe_manifest,
        format!(
            "name = \"probe\"\nversion = \"1\"\nworlds = [\"dialect\"]\nwasm = {:?}\n[grants]\nimports = [\"core\", \"log\"]\nmemory_mib = 16\ndeadline_ms = 100\n",
            fixtures.join("probe.wasm").display().to_string()
        ),
    )
    .unwrap();
    let cfg = PluginsConfig {
        bundled: Some(vec!["bearer".into()]),
        file: [&fx_manifest, &probe_manifest]
            .iter()
            .map(|m| toml::from_str(&format!("manifest = {:?}", m.display().to_string())).unwrap())
            .collect(),
        mount: Some(vec![MountConfig {
            prefix: "/probe".into(),
            dialect: "probe".into(),
            auth: vec!["bearer".into()],
        }]),
        ..Default::default()
    };
    let host = PluginHost::load(&cfg, core.clone(), &dir.path().join("cache"))
        .await
        .unwrap();
    // The same plugins on an engine that resets memory slots with madvise (the
    // wasmtime default) instead of keeping them resident.
    let mut cfg_madvise = cfg.clone();
    cfg_madvise.runtime.keep_resident_kib = Some(0);
    let host_madvise = PluginHost::load(&cfg_madvise, core.clone(), &dir.path().join("cache"))
        .await
        .unwrap();

    let bearer = format!("Bearer {token}");
    let request = || {
        http::Request::builder()
            .method("GET")
            .uri("/probe/instances/inst1")
            .header("authorization", bearer.as_str())
            .header("accept", "application/json")
            .header("user-agent", "bench")
            .body(Bytes::new())
            .unwrap()
    };
    // Sanity: both paths answer the same thing.
    let resp = host.handle(request()).await.unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.body());

    let which = InstanceRef::Name("inst1".into());
    let native = sample(iters, async || {
        let req = request();
        let secret = req.headers()["authorization"].to_str().unwrap().strip_prefix("Bearer ").unwrap();
        let p = core.resolve_credential(secret).await.unwrap();
        let i = core.get_instance(&p, &which).await.unwrap();
        let body = serde_json::to_vec(&serde_json::json!({
            "id": i.id, "name": i.name, "state": i.state.as_str(), "owner_jid": i.owner_jid, "created_at": i.created_at,
        }))
        .unwrap();
        std::hint::black_box(http::Response::builder().status(200).body(Bytes::from(body)).unwrap());
    })
    .await;

    let plugins = sample(iters, async || {
        let resp = host.handle(request()).await.unwrap();
        assert_eq!(resp.status(), 200);
        std::hint::black_box(resp);
    })
    .await;
    let plugins_madvise = sample(iters, async || {
        let resp = host_madvise.handle(request()).await.unwrap();
        assert_eq!(resp.status(), 200);
        std::hint::black_box(resp);
    })
    .await;

    let ev = Event {
        id: "evt_1".into(),
        instance_id: "i".into(),
        instance_name: "inst1".into(),
        org: "o".into(),
        timestamp: 1,
        payload: EventPayload::ConnectionUpdate(ConnectionState::Open),
    };
    let bare = sample(iters, async || {
        std::hint::black_box(
            host.render_event(
                "fixture-dialect",
                &ev,
                wagate::plugin::RenderTarget::Webhook,
                None,
            )
            .await
            .unwrap(),
        );
    })
    .await;
    let bare_madvise = sample(iters, async || {
        std::hint::black_box(
            host_madvise
                .render_event(
                    "fixture-dialect",
                    &ev,
                    wagate::plugin::RenderTarget::Webhook,
                    None,
                )
                .await
                .unwrap(),
        );
    })
    .await;

    println!(
        "{iters} sequential iterations each (after {} warm-up), microseconds:\n",
        iters / 10
    );
    println!("| path                 |      p50 |      p90 |      p99 |     mean |");
    println!("|----------------------|---------:|---------:|---------:|---------:|");
    let n = report("native", native);
    let p = report("plugins", plugins);
    let pm = report("plugins (madvise)", plugins_madvise);
    report("instantiate+call", bare);
    report("inst+call (madvise)", bare_madvise);
    println!(
        "\nplugin overhead at p50 (plugins - native): {:.1} us (madvise reset: {:.1} us); PAGEMAP_SCAN available: {}",
        (p.as_secs_f64() - n.as_secs_f64()) * 1e6,
        (pm.as_secs_f64() - n.as_secs_f64()) * 1e6,
        wagate::plugin::engine::pagemap_scan_available()
    );
}
