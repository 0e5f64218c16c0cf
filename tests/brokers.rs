//! Events into message brokers (issue 21), against real servers the tests start:
//! `nats-server -js` and `rabbitmq-server` on loopback with throwaway data folders
//! (tests/common/brokers.rs), consumed with the client crates the gateway publishes
//! with.
//!
//! - 1,000 events across 3 instances, through Evolution's `/nats/set` and
//!   `/rabbitmq/set` with its `NATS_*` / `RABBITMQ_*` variables: each arrives (once by
//!   id on JetStream, which drops redeliveries by `Nats-Msg-Id`; at least once with
//!   the same id on RabbitMQ), in order per instance, although the broker is killed
//!   mid-stream and the gateway SIGKILLed while it is down.
//! - Bad configuration: a broker the gateway does not configure is refused at set
//!   time; an unreachable URI, wrong credentials, a missing stream or exchange end as
//!   dead letters with the broker's reason, and the gateway keeps serving.
//! - Tenancy: another org's key, an instance token on another instance and a
//!   read-only key cannot read or set an instance's brokers.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::Gateway;
use crate::common::brokers::{self, Got, Nats, Rabbit};
use crate::common::evolution::{evo_json, open_instance, wait_open};

pub(crate) const KEY: &str = "evo-global-key";
pub(crate) const PEER: &str = "5511999999999";
pub(crate) const INSTANCES: [&str; 3] = ["b0", "b1", "b2"];

/// Fast retries, and never a dead letter during an outage.
pub(crate) fn config(dir: &Path, extra: &str) -> String {
    config_with_attempts(dir, 100_000, extra)
}

/// Fast retries, and a dead letter after 3 attempts (for deliveries meant to fail).
pub(crate) fn config_failing_fast(dir: &Path, extra: &str) -> String {
    config_with_attempts(dir, 3, extra)
}

fn config_with_attempts(dir: &Path, attempts: u32, extra: &str) -> String {
    let path = dir.join("wagate.toml");
    std::fs::write(
        &path,
        format!(
            "[events]\nmax_attempts = {attempts}\nbase_backoff_ms = 20\nmax_backoff_ms = 400\n{extra}"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// Sends inbound messages `range` round-robin over [`INSTANCES`], recording each
/// instance's message ids in order.
pub(crate) fn drive(
    gw: &Gateway,
    range: std::ops::Range<usize>,
    sent: &mut HashMap<&'static str, Vec<String>>,
) {
    for i in range {
        let name = INSTANCES[i % INSTANCES.len()];
        let id = gw.inbound(name, PEER, &format!("m{i}"), false);
        sent.entry(name).or_default().push(id);
    }
}

/// The consumer's view checked against what was sent: every message arrived, each id
/// always with the same body, and per instance the first sightings in the sent order.
/// Returns how many duplicates there were.
pub(crate) fn check(
    got: &[Got],
    sent: &HashMap<&'static str, Vec<String>>,
    subject_of: impl Fn(&str) -> String,
) -> usize {
    let mut first: HashMap<String, Vec<String>> = HashMap::new();
    let mut by_event: HashMap<String, &Got> = HashMap::new();
    let mut duplicates = 0;
    for g in got {
        assert!(
            g.id.starts_with("evt_"),
            "the event id travels with the message: {g:?}"
        );
        assert_eq!(g.body["event"], "MESSAGES_UPSERT", "{g:?}");
        let instance = g.body["instance"].as_str().unwrap().to_string();
        assert_eq!(g.subject, subject_of(&instance), "routing of {g:?}");
        if let Some(seen) = by_event.get(&g.id) {
            assert_eq!(seen.body, g.body, "a duplicate carries the same event");
            duplicates += 1;
            continue;
        }
        by_event.insert(g.id.clone(), g);
        first
            .entry(instance)
            .or_default()
            .push(g.body["data"]["key"]["id"].as_str().unwrap().to_string());
    }
    for name in INSTANCES {
        let want = &sent[name];
        let have = first.get(name).cloned().unwrap_or_default();
        assert_eq!(have.len(), want.len(), "{name}: every message arrived");
        assert_eq!(&have, want, "{name}: in order");
    }
    duplicates
}

pub(crate) fn metric(gw: &Gateway, name: &str, transport: &str) -> u64 {
    let series = format!("{name}{{transport=\"{transport}\"}}");
    gw.metric(&series)
        .unwrap_or_else(|| panic!("no {series} in /metrics"))
        .parse()
        .unwrap()
}

/// The outage scenario over one broker: 400 events, broker killed, 200 more, gateway
/// SIGKILLed and restarted (the broker still down), 200 more, broker back, 200 more.
pub(crate) fn outage_scenario(
    envs: &[(&str, &str)],
    set_path: &str,
    body: Value,
    kill: &mut dyn FnMut(),
    resume: &mut dyn FnMut(),
) -> (
    tempfile::TempDir,
    HashMap<&'static str, Vec<String>>,
    Gateway,
) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "");
    let data = tmp.path().join("data");
    let args = ["--config", cfg.as_str()];
    let gw = Gateway::start_on_with_env(&data, &args, envs);
    for name in INSTANCES {
        open_instance(&gw, KEY, name);
        let (s, v) = evo_json(
            &gw,
            "POST",
            &format!("{set_path}/{name}"),
            Some(KEY),
            Some(body.clone()),
        );
        assert_eq!(s, 201, "{set_path}: {v}");
        assert_eq!(v["enabled"], true);
        assert_eq!(v["events"], json!(["MESSAGES_UPSERT"]));
    }
    let mut sent = HashMap::new();
    drive(&gw, 0..400, &mut sent);
    kill();
    drive(&gw, 400..600, &mut sent);
    let mut gw = gw;
    gw.child.kill().unwrap(); // SIGKILL: no drain
    gw.child.wait().unwrap();
    drop(gw);
    let gw = Gateway::start_on_with_env(&data, &args, envs);
    for name in INSTANCES {
        wait_open(&gw, KEY, name);
    }
    drive(&gw, 600..800, &mut sent);
    resume();
    drive(&gw, 800..1000, &mut sent);
    (tmp, sent, gw)
}

#[test]
fn nats_gets_every_event_once_in_order_across_an_outage_and_a_sigkill() {
    let nats = std::cell::RefCell::new(Nats::start());
    let url = nats.borrow().url();
    // The stream is the operator's: wagate publishes into it and waits for its PubAck.
    brokers::nats_stream(&url, "WA", &["b0.>", "b1.>", "b2.>"]);
    let envs = [
        ("AUTHENTICATION_API_KEY", KEY),
        ("NATS_ENABLED", "true"),
        ("NATS_URI", url.as_str()),
    ];
    let (_tmp, sent, gw) = outage_scenario(
        &envs,
        "/nats/set",
        json!({"nats": {"enabled": true, "events": ["MESSAGES_UPSERT"]}}),
        &mut || nats.borrow_mut().kill(),
        &mut || nats.borrow_mut().resume(),
    );
    let got = brokers::nats_read(&url, "WA", 1000, Duration::from_secs(120));
    let duplicates = check(&got, &sent, |i| format!("{i}.messages.upsert"));
    assert_eq!(duplicates, 0, "JetStream drops redeliveries by Nats-Msg-Id");
    assert_eq!(got.len(), 1000);
    // The find route answers what was set.
    let (s, v) = evo_json(&gw, "GET", "/nats/find/b1", Some(KEY), None);
    assert_eq!(s, 200);
    assert_eq!(v["enabled"], true);
    assert_eq!(v["events"], json!(["MESSAGES_UPSERT"]));
    // Counted per transport since the restart: acknowledged, and retried during the
    // outage; nothing dead-lettered; the queues drained.
    assert!(metric(&gw, "wagate_broker_acknowledged_total", "nats") >= 400);
    assert!(metric(&gw, "wagate_broker_retried_total", "nats") > 0);
    assert_eq!(metric(&gw, "wagate_broker_dead_lettered_total", "nats"), 0);
    assert_eq!(metric(&gw, "wagate_broker_queue_depth", "nats"), 0);
    assert_eq!(metric(&gw, "wagate_broker_published_total", "rabbitmq"), 0);
    let (_, dead) = gw.admin("GET", "/admin/events/dead-letters", None);
    assert_eq!(dead, json!([]));
}

#[test]
fn rabbitmq_gets_every_event_in_order_across_an_outage_and_a_sigkill() {
    let rabbit = std::cell::RefCell::new(Rabbit::start());
    let url = rabbit.borrow().url();
    let queues: Vec<String> = INSTANCES
        .iter()
        .map(|i| format!("{i}.messages.upsert"))
        .collect();
    // What the gateway declares before its first publish, declared first here so the
    // consumer can read before the first message.
    for (i, q) in INSTANCES.iter().zip(&queues) {
        brokers::rabbit_declare(&url, i, q, "messages.upsert");
    }
    let envs = [
        ("AUTHENTICATION_API_KEY", KEY),
        ("RABBITMQ_ENABLED", "true"),
        ("RABBITMQ_URI", url.as_str()),
        // Evolution's default: the connection asks for 8 KiB frames.
        ("RABBITMQ_FRAME_MAX", "8192"),
    ];
    let (_tmp, sent, gw) = outage_scenario(
        &envs,
        "/rabbitmq/set",
        json!({"rabbitmq": {"enabled": true, "events": ["MESSAGES_UPSERT"]}}),
        &mut || rabbit.borrow_mut().kill(),
        &mut || rabbit.borrow_mut().resume(),
    );
    let got = brokers::rabbit_drain(&url, &queues, 1000, Duration::from_secs(180));
    // RabbitMQ cannot drop a redelivery: duplicates are allowed, with the same id.
    let duplicates = check(&got, &sent, |i| format!("{i} messages.upsert"));
    eprintln!("rabbitmq: {} messages, {duplicates} duplicates", got.len());
    let (s, v) = evo_json(&gw, "GET", "/rabbitmq/find/b2", Some(KEY), None);
    assert_eq!(s, 200);
    assert_eq!(v["events"], json!(["MESSAGES_UPSERT"]));
    assert!(metric(&gw, "wagate_broker_acknowledged_total", "rabbitmq") >= 400);
    assert!(metric(&gw, "wagate_broker_retried_total", "rabbitmq") > 0);
    assert_eq!(
        metric(&gw, "wagate_broker_dead_lettered_total", "rabbitmq"),
        0
    );
    let (_, dead) = gw.admin("GET", "/admin/events/dead-letters", None);
    assert_eq!(dead, json!([]));
}

/// Waits for a dead letter of the destination `url` (`broker:<name>`); its error.
pub(crate) fn dead_letter_of(gw: &Gateway, url: &str) -> String {
    for _ in 0..600 {
        let (_, v) = gw.admin("GET", "/admin/events/dead-letters", None);
        if let Some(l) = v
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["webhook"]["url"] == url)
        {
            return l["error"].as_str().unwrap().to_string();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no dead letter for {url}");
}

#[test]
fn bad_broker_configuration_is_refused_or_dead_lettered_with_the_reason() {
    let nats = Nats::start();
    let rabbit = Rabbit::start();
    let closed = brokers::free_port();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("wagate.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[events]
max_attempts = 3
base_backoff_ms = 20
max_backoff_ms = 100

[brokers.unreachable]
transport = "nats"
uri = "nats://127.0.0.1:{closed}"

[brokers.nostream]
transport = "nats"
uri = "{nats}"
declare = false

[brokers.declared]
transport = "nats"
uri = "{nats}"

[brokers.badcreds]
transport = "rabbitmq"
uri = "amqp://guest:wrong@127.0.0.1:{rport}/%2f"

[brokers.noexchange]
transport = "rabbitmq"
uri = "{rabbit}"
declare = false
"#,
            nats = nats.url(),
            rport = rabbit.port,
            rabbit = rabbit.url(),
        ),
    )
    .unwrap();
    let data = tmp.path().join("data");
    let gw = Gateway::start_on_with_env(
        &data,
        &["--config", cfg.to_str().unwrap()],
        &[("AUTHENTICATION_API_KEY", KEY)],
    );
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "bad");

    // Not configured: refused at set time, in each API's shape.
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/bad/brokers/nope",
        Some(&key),
        Some(json!({})),
    );
    assert_eq!(s, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("no broker named `nope`") && msg.contains("unreachable"),
        "{msg}"
    );
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/bad/brokers/nostream",
        Some(&key),
        Some(json!({"events": ["bogus"]})),
    );
    assert_eq!(s, 400, "{v}");
    open_instance(&gw, KEY, "evo");
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/rabbitmq/set/evo",
        Some(KEY),
        Some(json!({"rabbitmq": {"enabled": true}})),
    );
    assert_eq!(s, 400, "{v}");
    let msg = v["response"]["message"][0].as_str().unwrap();
    assert!(msg.contains("RABBITMQ_ENABLED=true"), "{msg}");
    let (s, v) = evo_json(&gw, "GET", "/nats/find/evo", Some(KEY), None);
    assert_eq!((s, v), (200, Value::Null));

    // Configured but wrong: each ends as a dead letter saying why.
    for name in ["unreachable", "nostream", "badcreds", "noexchange"] {
        let (s, v) = gw.call(
            "PUT",
            &format!("/core/instances/bad/brokers/{name}"),
            Some(&key),
            Some(json!({"events": ["message_upsert"]})),
        );
        assert_eq!(s, 200, "{name}: {v}");
        assert_eq!(v["broker"], name);
    }
    let (_, list) = gw.call("GET", "/core/instances/bad/brokers", Some(&key), None);
    assert_eq!(list.as_array().unwrap().len(), 4, "{list}");
    gw.inbound("bad", PEER, "hello", false);
    let reasons: Vec<(&str, String)> = ["unreachable", "nostream", "badcreds", "noexchange"]
        .into_iter()
        .map(|n| (n, dead_letter_of(&gw, &format!("broker:{n}"))))
        .collect();
    for (name, reason) in &reasons {
        let want: &[&str] = match *name {
            "unreachable" => &["connecting to NATS"],
            "nostream" => &["no JetStream stream captures subject `bad.message.upsert`"],
            "badcreds" => &["connecting to RabbitMQ", "ACCESS_REFUSED"],
            _ => &["NOT_FOUND", "exchange 'bad'"],
        };
        for w in want {
            assert!(reason.contains(w), "{name}: {reason} lacks {w}");
        }
    }
    assert_eq!(metric(&gw, "wagate_broker_dead_lettered_total", "nats"), 2);
    assert_eq!(
        metric(&gw, "wagate_broker_dead_lettered_total", "rabbitmq"),
        2
    );
    // With `declare` (the default) the missing stream is created: `wagate_<instance>`
    // (which from then on captures `nostream`'s subject too).
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/bad/brokers/declared",
        Some(&key),
        Some(json!({"events": ["message_upsert"]})),
    );
    assert_eq!(s, 200, "declared: {v}");
    gw.inbound("bad", PEER, "again", false);
    let got = brokers::nats_read(&nats.url(), "wagate_bad", 1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].subject, "bad.message.upsert");
    // Still serving, and a removed destination is gone with its queue.
    let (s, _) = gw.call(
        "DELETE",
        "/core/instances/bad/brokers/unreachable",
        Some(&key),
        None,
    );
    assert_eq!(s, 204);
    let (s, _) = gw.call(
        "GET",
        "/core/instances/bad/brokers/unreachable",
        Some(&key),
        None,
    );
    assert_eq!(s, 404);
}

/// NATS beyond the URI: a token, and TLS with a private CA (`tls_ca`). The right
/// token over a trusted certificate delivers (into the stream the gateway creates);
/// a wrong token and a certificate nobody trusts end as dead letters saying why.
#[test]
fn nats_with_a_token_over_tls_with_a_private_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (tmp.path().join("nats.pem"), tmp.path().join("nats.key"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let (cert_arg, key_arg) = (cert_path.to_str().unwrap(), key_path.to_str().unwrap());
    let nats = Nats::start_with(&[
        "--auth",
        "s3cret",
        "--tls",
        "--tlscert",
        cert_arg,
        "--tlskey",
        key_arg,
    ]);
    let broker = |name: &str, token: &str, ca: bool| {
        let ca = if ca {
            format!("tls_ca = \"{cert_arg}\"\n")
        } else {
            String::new()
        };
        format!(
            "\n[brokers.{name}]\ntransport = \"nats\"\nuri = \"{}\"\ntoken = \"{token}\"\ntls = true\n{ca}",
            nats.url()
        )
    };
    let cfg = config_failing_fast(
        tmp.path(),
        &[
            broker("good", "s3cret", true),
            broker("badtoken", "nope", true),
            broker("untrusted", "s3cret", false),
        ]
        .concat(),
    );
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--config", cfg.as_str()],
        &[("AUTHENTICATION_API_KEY", KEY)],
    );
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "n");
    for name in ["good", "badtoken", "untrusted"] {
        let (s, v) = gw.call(
            "PUT",
            &format!("/core/instances/n/brokers/{name}"),
            Some(&key),
            Some(json!({"events": ["message_upsert"]})),
        );
        assert_eq!(s, 200, "{name}: {v}");
    }
    gw.inbound("n", PEER, "hello", false);
    let reader = async_nats::ConnectOptions::new()
        .token("s3cret".into())
        .add_root_certificates(cert_path.clone())
        .require_tls(true);
    let got = brokers::nats_read_as(reader, &nats.url(), "wagate_n", 1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].subject, "n.message.upsert");
    for (name, want) in [
        ("badtoken", "authorization"),
        ("untrusted", "invalid peer certificate"),
    ] {
        let reason = dead_letter_of(&gw, &format!("broker:{name}"));
        assert!(
            reason.to_lowercase().contains(want),
            "{name}: {reason} lacks {want}"
        );
    }
}

#[test]
fn another_orgs_keys_and_tokens_cannot_read_or_set_an_instances_brokers() {
    let tmp = tempfile::tempdir().unwrap();
    // A broker that is never reached: only the settings are at stake here.
    let cfg = config(
        tmp.path(),
        "[brokers.nats]\ntransport = \"nats\"\nuri = \"nats://127.0.0.1:9\"\n",
    );
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--config", cfg.as_str()],
        &[("AUTHENTICATION_API_KEY", KEY)],
    );
    let owner = gw.org_with_key("acme", None);
    let other = gw.org_with_key("globex", None);
    let reader = gw.key("acme", Some(&["read"]));
    gw.instance(&owner, "mine");
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/mine/brokers/nats",
        Some(&owner),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{v}");
    for (who, key) in [("another org", &other), ("a read-only key", &reader)] {
        let (s, _) = gw.call("GET", "/core/instances/mine/brokers", Some(key), None);
        assert!(s == 403 || s == 404, "{who} listed: {s}");
        let (s, _) = gw.call(
            "PUT",
            "/core/instances/mine/brokers/nats",
            Some(key),
            Some(json!({"enabled": false})),
        );
        assert!(s == 403 || s == 404, "{who} set: {s}");
        let (s, _) = gw.call(
            "DELETE",
            "/core/instances/mine/brokers/nats",
            Some(key),
            None,
        );
        assert!(s == 403 || s == 404, "{who} deleted: {s}");
    }
    // Another org's instance of the same name would share `mine`'s subject on this
    // broker (routes are named after the instance): refused, naming why.
    gw.instance(&other, "mine");
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/mine/brokers/nats",
        Some(&other),
        Some(json!({})),
    );
    assert_eq!(s, 409, "{v}");
    assert!(v.to_string().contains("already publishes"), "{v}");
    let (_, list) = gw.call("GET", "/core/instances/mine/brokers", Some(&other), None);
    assert_eq!(list, json!([]), "nothing stored for the refused one");
    // Evolution: one instance's token on another instance.
    let a = open_instance(&gw, KEY, "evo-a");
    open_instance(&gw, KEY, "evo-b");
    let (s, v) = evo_json(&gw, "GET", "/nats/find/evo-b", Some(&a), None);
    assert!(s == 401 || s == 403 || s == 404, "{s} {v}");
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/nats/set/evo-b",
        Some(&a),
        Some(json!({"nats": {"enabled": true}})),
    );
    assert!(s == 401 || s == 403 || s == 404, "{s} {v}");
    let (s, v) = evo_json(&gw, "GET", "/nats/find/evo-b", Some(KEY), None);
    assert_eq!((s, v), (200, Value::Null), "nothing was set on evo-b");
    // Unchanged for its owner.
    let (s, v) = gw.call(
        "GET",
        "/core/instances/mine/brokers/nats",
        Some(&owner),
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(v["enabled"], true);
}

#[test]
fn evolutions_global_switch_sends_every_instances_selected_events_to_the_prefixed_subject() {
    let nats = Nats::start();
    let url = nats.url();
    brokers::nats_stream(&url, "GLOBAL", &["wa.>"]);
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "");
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--config", cfg.as_str()],
        &[
            ("AUTHENTICATION_API_KEY", KEY),
            ("NATS_ENABLED", "true"),
            ("NATS_URI", url.as_str()),
            ("NATS_GLOBAL_ENABLED", "true"),
            ("NATS_PREFIX_KEY", "wa"),
            // Only this event; CONNECTION_UPDATE (which pairing raises) is not selected.
            ("NATS_EVENTS_MESSAGES_UPSERT", "true"),
            ("NATS_EVENTS_CONNECTION_UPDATE", "false"),
        ],
    );
    // No per-instance set: the global switch covers every instance.
    let mut sent = Vec::new();
    for name in ["g0", "g1"] {
        open_instance(&gw, KEY, name);
        sent.push(gw.inbound(name, PEER, "hi", false));
    }
    let got = brokers::nats_read(&url, "GLOBAL", 2, Duration::from_secs(30));
    assert_eq!(got.len(), 2, "{got:?}");
    let mut ids: Vec<String> = got
        .iter()
        .map(|g| {
            assert_eq!(g.subject, "wa.messages.upsert");
            assert_eq!(g.body["event"], "MESSAGES_UPSERT");
            g.body["data"]["key"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    sent.sort();
    assert_eq!(
        ids, sent,
        "each instance's message, with no per-instance set"
    );
    // Nothing else reached the stream (the connection updates were filtered out).
    std::thread::sleep(Duration::from_millis(500));
    let again = brokers::nats_read(&url, "GLOBAL", 3, Duration::from_secs(2));
    assert_eq!(again.len(), 2, "{again:?}");
    // The per-instance find shows nothing: the global switch is not an instance's setting.
    let (s, v) = evo_json(&gw, "GET", "/nats/find/g0", Some(KEY), None);
    assert_eq!((s, v), (200, Value::Null));
}
