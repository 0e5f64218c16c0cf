//! Cluster mode (issue 22): several real gateways on one real PostgreSQL database, each
//! instance's session run by the node holding its lease. Nodes are killed (SIGKILL) and
//! paused (SIGSTOP) for real; what is checked is what an operator checks: who holds
//! what (`/admin/cluster`), that every acknowledged write is there, that every event
//! reached the receiver, and that a node that lost a lease can no longer write.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::postgres;
use crate::common::receiver::{Received, Receiver};
use crate::common::{ADMIN, Gateway, refused_start};

const PEER: &str = "5511999999999";
/// Short leases, so takeovers happen within the test's patience.
const LEASE_MS: u64 = 2_000;

fn node(data: &Path, url: &str, id: &str) -> Gateway {
    Gateway::start_on_with_env(
        data,
        &["--node", id, "--lease-ms", &LEASE_MS.to_string()],
        &[("WAGATE_STORE", url)],
    )
}

/// `/admin/cluster` as node `gw` answers it.
fn view(gw: &Gateway) -> Value {
    let (s, v) = gw.admin("GET", "/admin/cluster", None);
    assert_eq!(s, 200, "{v}");
    v
}

/// Instance id -> node id, for the unexpired leases of `view` (the dispatcher's
/// included, under its own name).
fn owners(view: &Value) -> HashMap<String, String> {
    view["leases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["expires_in_ms"].as_i64().unwrap() > 0)
        .map(|l| {
            (
                l["instance_id"].as_str().unwrap().to_string(),
                l["node_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Polls `what` until it holds (up to `within`); returns how long it took.
fn wait(what: &str, within: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < within,
            "{what} did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

fn signal(gw: &Gateway, sig: &str) {
    assert!(
        Command::new("kill")
            .arg(sig)
            .arg(gw.child.id().to_string())
            .status()
            .unwrap()
            .success()
    );
}

fn message_ids(gw: &Gateway, key: &str, name: &str) -> HashSet<String> {
    let (s, page) = gw.call(
        "GET",
        &format!("/core/instances/{name}/chats/{PEER}/messages?limit=100"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "{page}");
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

fn delivered_id(r: &Received) -> Option<(String, String)> {
    (r.body["payload"]["type"] == "message_upsert").then(|| {
        (
            r.body["instance_name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            r.body["payload"]["data"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    })
}

#[test]
fn three_nodes_spread_thirty_instances_and_take_over_a_killed_one() {
    let url = postgres::shared().fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let mut nodes: Vec<Gateway> = ["a", "b", "c"]
        .iter()
        .map(|id| node(&tmp.path().join(id), &url, id))
        .collect();
    let node_index = |id: &str| ["a", "b", "c"].iter().position(|n| *n == id).unwrap();
    let key = nodes[0].org_with_key("acme", None);
    let receiver = Receiver::start_with(|_| 200);

    // Thirty instances, paired through the three nodes in turn, each with a webhook.
    let names: Vec<String> = (0..30).map(|i| format!("n{i:02}")).collect();
    let mut ids: HashMap<String, String> = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let (instance, _) = nodes[i % 3].connected_instance(&key, name);
        ids.insert(
            instance["id"].as_str().unwrap().to_string(),
            name.to_string(),
        );
        let (s, v) = nodes[(i + 1) % 3].call(
            "PUT",
            &format!("/core/instances/{name}/webhooks"),
            Some(&key),
            Some(json!([{"url": receiver.url("hook"), "events": ["message_upsert"]}])),
        );
        assert_eq!(s, 200, "{v}");
    }

    // Spread: every node runs ten sessions and delivers ten webhooks' queues, and one
    // of them keeps the outbox.
    wait("ten instances per node", Duration::from_secs(20), || {
        let v = view(&nodes[1]);
        let nodes_view = v["nodes"].as_array().unwrap();
        nodes_view.len() == 3
            && nodes_view
                .iter()
                .all(|n| n["live"] == true && n["instances"] == 10 && n["destinations"] == 10)
            && nodes_view
                .iter()
                .filter(|n| n["housekeeping"] == true)
                .count()
                == 1
    });

    // Any node answers for any instance.
    for gw in &nodes {
        for name in &names {
            let (s, v) = gw.call(
                "GET",
                &format!("/core/instances/{name}/state"),
                Some(&key),
                None,
            );
            assert_eq!((s, v["state"].as_str()), (200, Some("open")), "{name}: {v}");
        }
    }

    // Session operations through a node that does not run the session are forwarded
    // to the one that does: a send through every node, for every instance.
    let owned = owners(&view(&nodes[0]));
    let mut sends: HashMap<String, Vec<String>> = HashMap::new();
    for (id, name) in &ids {
        for (i, gw) in nodes.iter().enumerate() {
            let (s, v) = gw.call(
                "POST",
                &format!("/core/instances/{name}/messages"),
                Some(&key),
                Some(json!({"to": PEER, "text": format!("via node {i}")})),
            );
            assert_eq!(
                s, 201,
                "{name} (run by {}) through node {i}: {v}",
                owned[id]
            );
            sends
                .entry(name.clone())
                .or_default()
                .push(v["id"].as_str().unwrap().to_string());
        }
    }
    for (name, sent) in &sends {
        let stored = message_ids(&nodes[2], &key, name);
        assert!(
            sent.iter().all(|id| stored.contains(id)),
            "{name}: every send stored"
        );
    }

    // Acknowledged writes through each instance's owner (after the sends, which are
    // message events too and come first in each instance's order).
    let mut sent = sends.clone();
    for (id, name) in &ids {
        let owner = &nodes[node_index(&owned[id])];
        sent.entry(name.clone()).or_default().push(owner.inbound(
            name,
            PEER,
            "before the kill",
            false,
        ));
    }
    let killed_held: usize = owned.values().filter(|n| *n == "a").count();
    assert!(killed_held >= 10, "node a holds its share: {owned:?}");

    // Under load: a client sends through b and c, to every instance in turn, for as
    // long as the kill and the takeover last; what was acknowledged (201) must be
    // stored and delivered. (Sends to a's instances fail until they resume.)
    let stop = std::sync::atomic::AtomicBool::new(false);
    let survivors = [nodes[1].base.clone(), nodes[2].base.clone()];
    let auth = format!("Bearer {key}");
    std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            let mut acked: Vec<(String, String)> = Vec::new();
            let mut failed = 0;
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = &names[i % names.len()];
                let r = wagate::client::request(
                    &survivors[i % 2],
                    "POST",
                    &format!("/core/instances/{name}/messages"),
                    &[
                        ("authorization", auth.as_str()),
                        ("content-type", "application/json"),
                    ],
                    Some(
                        json!({"to": PEER, "text": format!("under load {i}")})
                            .to_string()
                            .as_bytes(),
                    ),
                )
                .unwrap();
                if r.status == 201 {
                    acked.push((name.clone(), r.json()["id"].as_str().unwrap().to_string()));
                } else {
                    failed += 1;
                }
                i += 1;
            }
            (acked, failed)
        });
        std::thread::sleep(Duration::from_millis(300));

        // SIGKILL node a: b and c take its instances and destinations (and the
        // housekeeping, if a had it).
        nodes[0].child.kill().unwrap();
        nodes[0].child.wait().unwrap();
        let took = wait(
            "the killed node's instances taken over",
            Duration::from_millis(LEASE_MS * 6),
            || {
                let owned = owners(&view(&nodes[1]));
                let leases = owned.len();
                ids.keys()
                    .chain(std::iter::once(&"~housekeeping".to_string()))
                    .all(|id| owned.get(id).is_some_and(|n| n == "b" || n == "c"))
                    && leases == 30 + 30 + 1
                    && owned.values().all(|n| n == "b" || n == "c")
            },
        );
        eprintln!("takeover after SIGKILL: {took:?} (lease {LEASE_MS} ms)");
        // `/metrics` on a survivor says (as of its last round) that a is down and holds
        // nothing.
        wait(
            "the metrics to show a down",
            Duration::from_millis(LEASE_MS * 2),
            || {
                let metrics =
                    String::from_utf8(nodes[1].raw("GET", "/metrics", &[], b"").body).unwrap();
                [
                    "wagate_cluster_node_up{node=\"a\"} 0",
                    "wagate_cluster_node_up{node=\"b\"} 1",
                    "wagate_cluster_node_instances{node=\"a\"} 0",
                ]
                .iter()
                .all(|line| metrics.lines().any(|l| l == *line))
            },
        );
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (acked, failed) = load.join().unwrap();
        eprintln!(
            "sends under the kill: {} acknowledged, {failed} refused",
            acked.len()
        );
        assert!(
            acked.len() > 30,
            "the load ran: {} acknowledged",
            acked.len()
        );
        for (name, id) in acked {
            sent.get_mut(&name).unwrap().push(id);
        }
    });

    // The sessions run on their new owners: they receive again.
    let owned = owners(&view(&nodes[1]));
    for (id, name) in &ids {
        let owner = &nodes[node_index(&owned[id])];
        owner.wait_state(&key, name, "open");
        sent.get_mut(name)
            .unwrap()
            .push(owner.inbound(name, PEER, "after the kill", false));
    }

    // Every acknowledged write is there, read through either survivor.
    for (i, name) in names.iter().enumerate() {
        let stored = message_ids(&nodes[1 + i % 2], &key, name);
        for id in &sent[name] {
            assert!(stored.contains(id), "{name}: {id} is stored");
        }
    }

    // Every event reached the receiver, by id, in order per instance (a retry may
    // repeat one: what counts is each id's first delivery).
    let want: usize = sent.values().map(Vec::len).sum();
    let got = receiver.wait_until_all("every message event", |got| {
        got.iter()
            .filter_map(delivered_id)
            .collect::<HashSet<_>>()
            .len()
            >= want
    });
    let mut first_seen: HashMap<String, Vec<String>> = HashMap::new();
    for (name, id) in got.iter().filter_map(delivered_id) {
        let seen = first_seen.entry(name).or_default();
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    for (name, ids) in &sent {
        assert_eq!(&first_seen[name], ids, "{name}: every event, in order");
    }
    nodes.truncate(0);
}

#[test]
fn a_paused_node_loses_its_leases_and_gives_its_sessions_up() {
    let url = postgres::shared().fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let a = node(&tmp.path().join("a"), &url, "a");
    let b = node(&tmp.path().join("b"), &url, "b");
    let key = a.org_with_key("acme", None);
    let (instance, _) = a.connected_instance(&key, "paused");
    let id = instance["id"].as_str().unwrap().to_string();
    let before = owners(&view(&b));
    assert_eq!(before[&id], "a", "the node that paired it runs it");
    let token = |v: &Value| {
        v["leases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["instance_id"] == id.as_str())
            .unwrap()["token"]
            .as_i64()
            .unwrap()
    };
    let first_token = token(&view(&b));

    // Paused past its lease, node a's instance moves to b with the next token.
    signal(&a, "-STOP");
    wait(
        "the paused node's instance taken over",
        Duration::from_millis(LEASE_MS * 6),
        || owners(&view(&b)).get(&id).is_some_and(|n| n == "b"),
    );
    assert_eq!(
        token(&view(&b)),
        first_token + 1,
        "a takeover fences with a new token"
    );
    signal(&a, "-CONT");

    // Resumed, a finds the lease gone and stops the session: it cannot receive (and so
    // write) for the instance any more; b does.
    wait(
        "the resumed node gives the session up",
        Duration::from_secs(10),
        || {
            let (s, _) = a.admin(
                "POST",
                "/admin/sim/paused/inbound",
                Some(json!({"from": PEER, "text": "stale", "fromMe": false})),
            );
            s != 201
        },
    );
    let v = view(&a);
    let me = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "a")
        .unwrap()
        .clone();
    assert_eq!(me["instances"], 0, "{v}");
    let kept = b.inbound("paused", PEER, "on the new owner", false);
    assert!(message_ids(&b, &key, "paused").contains(&kept));
    // A send through the node that gave the session up is forwarded to b, which runs it.
    let (s, sent) = a.call(
        "POST",
        "/core/instances/paused/messages",
        Some(&key),
        Some(json!({"to": PEER, "text": "through a"})),
    );
    assert_eq!(s, 201, "{sent}");
    assert!(message_ids(&b, &key, "paused").contains(sent["id"].as_str().unwrap()));
}

#[test]
fn a_session_write_under_a_lost_lease_is_refused() {
    use wagate::store::kv::ReadableTable as _;
    use wagate::store::{ClusterNode, Store, tables};

    let url = postgres::shared().fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let lease = Duration::from_millis(300);
    let open = |id: &str| {
        let node = ClusterNode {
            node_id: id.into(),
            lease,
        };
        Store::open_postgres_with(&url, &tmp.path().join(id), 16, Some(&node)).unwrap()
    };
    let (a, b) = (open("a"), open("b"));
    let (ca, cb) = (a.cluster().unwrap().clone(), b.cluster().unwrap().clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // A write of the instance's session, fenced as the real link's are.
    let write = |store: &Store, value: &'static [u8]| -> Result<(), String> {
        let fence = store.cluster().unwrap().held.fence("inst");
        runtime
            .block_on(store.write(move |tx| -> anyhow::Result<()> {
                tx.check_fence("inst", fence.as_ref())?;
                tx.open_table(tables::WA_META)?
                    .insert(b"inst\0k".as_slice(), value)?;
                Ok(())
            }))
            .map_err(|e| format!("{e:#}"))
    };

    assert!(write(&a, b"x").is_err(), "no lease held: refused");
    let t1 = ca.leases.claim("a", "inst").unwrap().expect("free");
    ca.held.insert("inst", t1);
    assert_eq!(cb.leases.claim("b", "inst").unwrap(), None, "a holds it");
    write(&a, b"from a").unwrap();

    // a stalls past its lease; b takes it over with the next token.
    std::thread::sleep(lease * 2);
    let t2 = cb.leases.claim("b", "inst").unwrap().expect("expired");
    assert_eq!(t2, t1 + 1);
    cb.held.insert("inst", t2);

    // a, still believing it holds the lease, cannot write; b can.
    let err = write(&a, b"stale").unwrap_err();
    assert!(err.contains("lease has moved"), "{err}");
    write(&b, b"from b").unwrap();
    assert!(ca.leases.renew("a").unwrap().is_empty(), "a renews nothing");
    let stored = b
        .read(|tx| -> anyhow::Result<_> {
            Ok(tx
                .open_table(tables::WA_META)?
                .get(b"inst\0k".as_slice())?
                .map(|v| v.value().to_vec()))
        })
        .unwrap();
    assert_eq!(stored.as_deref(), Some(b"from b".as_slice()));
}

#[test]
fn a_lone_gateway_and_cluster_nodes_refuse_to_share_a_database() {
    let url = postgres::shared().fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let lone = Gateway::start_on_with_env(&tmp.path().join("lone"), &[], &[("WAGATE_STORE", &url)]);
    let err = refused_start(&[
        ("WAGATE_STORE", &url),
        ("WAGATE_NODE", "a"),
        ("WAGATE_ADMIN_TOKEN", ADMIN),
    ]);
    assert!(err.contains("outside cluster mode"), "{err}");
    assert!(lone.stop().success());

    let a = node(&tmp.path().join("a"), &url, "a");
    let err = refused_start(&[("WAGATE_STORE", &url), ("WAGATE_ADMIN_TOKEN", ADMIN)]);
    assert!(err.contains("cluster node"), "{err}");
    // Cluster mode needs the shared store.
    let err = refused_start(&[("WAGATE_NODE", "a"), ("WAGATE_ADMIN_TOKEN", ADMIN)]);
    assert!(err.contains("needs a PostgreSQL store"), "{err}");
    drop(a);
}

/// How long the survivors take to hold every instance of a node killed with SIGKILL,
/// over ten kills: a benchmark, not a test (run it by hand; the figures are in
/// BENCHMARKS.md):
/// `cargo test -p wagate --test suite -- cluster::takeover_benchmark --ignored --nocapture`
#[test]
#[ignore = "a benchmark: run by hand, figures in BENCHMARKS.md"]
fn takeover_benchmark() {
    let url = postgres::shared().fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let survivor = node(&tmp.path().join("s"), &url, "s");
    let key = survivor.org_with_key("acme", None);
    let ids: Vec<String> = (0..10)
        .map(|i| {
            let (instance, _) = survivor.connected_instance(&key, &format!("t{i}"));
            instance["id"].as_str().unwrap().to_string()
        })
        .collect();
    let mut took = Vec::new();
    for run in 0..10 {
        let id = format!("v{run}");
        let mut victim = node(&tmp.path().join(&id), &url, &id);
        wait(
            "the new node takes its share",
            Duration::from_secs(30),
            || {
                owners(&view(&survivor))
                    .values()
                    .filter(|n| **n == id)
                    .count()
                    == 5
            },
        );
        let killed = Instant::now();
        victim.child.kill().unwrap();
        victim.child.wait().unwrap();
        wait("takeover", Duration::from_secs(30), || {
            let owned = owners(&view(&survivor));
            ids.iter().all(|i| owned.get(i).is_some_and(|n| n == "s"))
        });
        took.push(killed.elapsed());
    }
    took.sort();
    eprintln!(
        "takeover after SIGKILL, lease {LEASE_MS} ms, 10 runs: p50 {:?}, max {:?}, all {took:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    );
}

#[test]
fn a_rate_limit_holds_across_the_nodes() {
    use crate::common::ryze::{account, error, ryze};

    let url = postgres::shared().fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("wagate.toml");
    std::fs::write(
        &cfg,
        "[plugins.settings.ryze]\nconfig = { rate_limit = 3 }\n",
    )
    .unwrap();
    let start = |id: &str| {
        Gateway::start_on_with_env(
            &tmp.path().join(id),
            &["--node", id, "--config", cfg.to_str().unwrap()],
            &[("WAGATE_STORE", &url)],
        )
    };
    let (a, b) = (start("a"), start("b"));
    let token = account(&a, "acme");
    // Three hits spread over both nodes use up the one window; the fourth is refused
    // on either node.
    for (gw, remaining) in [(&a, "2"), (&b, "1"), (&a, "0")] {
        let r = ryze(gw, "GET", "/api/instance/list", Some(&token), "");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ratelimit-remaining"), Some(remaining));
    }
    let r = ryze(&b, "GET", "/api/instance/list", Some(&token), "");
    assert_eq!(
        (r.status, r.json()),
        (429, error("Rate limit exceeded. Try again later."))
    );
}

/// One node against three on a mixed load (reads of a page, sends, which a node
/// forwards when another runs the session, and state reads), through every node in turn:
/// a benchmark, not a test (run it by hand; the figures are in BENCHMARKS.md):
/// `cargo test -p wagate --test suite -- cluster::mixed_load_benchmark --ignored --nocapture`
#[test]
#[ignore = "a benchmark: run by hand, figures in BENCHMARKS.md"]
fn mixed_load_benchmark() {
    const SECS: u64 = 5;
    const THREADS: usize = 8;
    for count in [1, 3] {
        let url = postgres::shared().fresh_database();
        let tmp = tempfile::tempdir().unwrap();
        let nodes: Vec<Gateway> = (0..count)
            .map(|i| node(&tmp.path().join(format!("n{i}")), &url, &format!("n{i}")))
            .collect();
        let key = nodes[0].org_with_key("acme", None);
        let names: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            nodes[i % count].connected_instance(&key, name);
            for _ in 0..20 {
                nodes[i % count].inbound(name, PEER, "seed", false);
            }
        }
        wait("instances spread", Duration::from_secs(20), || {
            let v = view(&nodes[0]);
            v["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["instances"].as_u64().unwrap() as usize == 12 / count)
        });
        let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(SECS);
        let done: Vec<(u64, u64)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (bases, names, key) = (&bases, &names, &key);
                    s.spawn(move || {
                        let (mut ok, mut failed) = (0u64, 0u64);
                        let auth = format!("Bearer {key}");
                        let mut i = t;
                        while Instant::now() < deadline {
                            let base = &bases[i % bases.len()];
                            let name = &names[(i / 3) % names.len()];
                            let (method, path, body) = match i % 10 {
                                0..=6 => (
                                    "GET",
                                    format!("/core/instances/{name}/chats/{PEER}/messages"),
                                    None,
                                ),
                                7 | 8 => (
                                    "POST",
                                    format!("/core/instances/{name}/messages"),
                                    Some(json!({"to": PEER, "text": "load"}).to_string()),
                                ),
                                _ => ("GET", format!("/core/instances/{name}/state"), None),
                            };
                            let headers = [
                                ("authorization", auth.as_str()),
                                ("content-type", "application/json"),
                            ];
                            match wagate::client::request(
                                base,
                                method,
                                &path,
                                &headers,
                                body.as_deref().map(str::as_bytes),
                            ) {
                                Ok(r) if r.status < 300 => ok += 1,
                                _ => failed += 1,
                            }
                            i += THREADS;
                        }
                        (ok, failed)
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let secs = started.elapsed().as_secs_f64();
        let ok: u64 = done.iter().map(|d| d.0).sum();
        let failed: u64 = done.iter().map(|d| d.1).sum();
        eprintln!(
            "{count} node(s): {:.0} requests/s ({ok} ok, {failed} failed in {secs:.1} s; 70% page reads, 20% sends, 10% state; {THREADS} clients, a connection per request)",
            ok as f64 / secs
        );
    }
}
