//! Webhook delivery end to end: the real binary, the real `webhook` sink plugin, a
//! local receiver on loopback.

use crate::common;
use crate::common::receiver;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Gateway;
use hmac::{Hmac, Mac};
use receiver::{Received, Receiver};
use serde_json::{Value, json};
use sha2::Sha256;

const PEER: &str = "5511999999999";

/// A gateway on `dir/data` whose webhook retries are quick (tests wait on them).
fn start_with_fast_retries(dir: &std::path::Path) -> Gateway {
    let config = fast_retries(dir);
    Gateway::start_on(&dir.join("data"), &["--config", config.to_str().unwrap()])
}

fn fast_retries(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("wagate.toml");
    std::fs::write(
        &path,
        "[events]\nmax_attempts = 5\nbase_backoff_ms = 20\nmax_backoff_ms = 200\n",
    )
    .unwrap();
    path
}

fn set_webhook(gw: &Gateway, key: &str, instance: &str, spec: Value) -> Value {
    let (s, v) = gw.call(
        "PUT",
        &format!("/core/instances/{instance}/webhooks"),
        Some(key),
        Some(json!([spec])),
    );
    assert_eq!(s, 200, "{v}");
    v[0].clone()
}

fn message_id(r: &Received) -> String {
    r.body["payload"]["data"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_receiver_that_fails_three_times_gets_everything_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start_with_fast_retries(tmp.path());
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "hooked");
    let receiver = Receiver::start_with(|call| if call <= 3 { 500 } else { 200 });
    set_webhook(
        &gw,
        &key,
        "hooked",
        json!({"url": receiver.url("hook"), "events": ["message_upsert"]}),
    );
    let sent: Vec<String> = (0..5)
        .map(|i| gw.inbound("hooked", PEER, &format!("m{i}"), false))
        .collect();
    let got = receiver.wait_for(5, Duration::from_secs(20));
    let ids: Vec<String> = got.iter().map(message_id).collect();
    assert_eq!(ids, sent, "delivered once it recovered, in order");
    let event_ids: Vec<&str> = got
        .iter()
        .map(|r| r.header("x-wagate-event-id").unwrap())
        .collect();
    assert!(event_ids.iter().all(|id| id.starts_with("evt_")));
    assert_eq!(got[0].body["instance_name"], "hooked");
}

#[test]
fn the_signature_verifies_with_the_documented_scheme() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "signed");
    let receiver = Receiver::start_with(|_| 200);
    let hook = set_webhook(
        &gw,
        &key,
        "signed",
        json!({"url": receiver.url("hook"), "secret": "s3cret-value", "headers": [["x-tenant", "acme"]]}),
    );
    assert_eq!(hook["secret"], "s3cret-value");
    gw.inbound("signed", PEER, "hello", false);
    let got = receiver.wait_for(1, Duration::from_secs(10));
    let r = got
        .iter()
        .find(|r| r.body["payload"]["type"] == "message_upsert")
        .expect("message event delivered");
    let ts = r.header("x-wagate-timestamp").unwrap();
    let sig = r.header("x-wagate-signature").unwrap();
    let expect = |secret: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(&r.raw);
        format!(
            "sha256={}",
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    };
    assert_eq!(sig, expect("s3cret-value"));
    assert_ne!(sig, expect("wrong-secret"));
    assert_eq!(r.header("x-tenant"), Some("acme"));
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - ts.parse::<u64>().unwrap();
    assert!(age < 60);
}

#[test]
fn gone_receivers_are_dead_lettered_then_replayed_by_the_operator() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start_with_fast_retries(tmp.path());
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "gone");
    let healthy = Arc::new(Mutex::new(false));
    let flag = healthy.clone();
    let receiver = Receiver::start_with(move |_| if *flag.lock().unwrap() { 200 } else { 410 });
    set_webhook(
        &gw,
        &key,
        "gone",
        json!({"url": receiver.url("hook"), "events": ["message_upsert"]}),
    );
    let id = gw.inbound("gone", PEER, "lost?", false);
    let mut letters = Value::Null;
    for _ in 0..200 {
        let (_, v) = gw.admin("GET", "/admin/events/dead-letters", None);
        if v.as_array().is_some_and(|a| !a.is_empty()) {
            letters = v;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(letters.as_array().map(Vec::len), Some(1), "{letters}");
    assert!(
        letters[0]["error"].as_str().unwrap().contains("410"),
        "{letters}"
    );
    assert!(receiver.all().is_empty());

    *healthy.lock().unwrap() = true;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args([
            "events",
            "dead-letter",
            "replay",
            "--server",
            &gw.base,
            "--admin-token",
            common::ADMIN,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = receiver.wait_for(1, Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    assert_eq!(message_id(&got[0]), id);
    let (_, v) = gw.admin("GET", "/admin/events/dead-letters", None);
    assert_eq!(v, json!([]));
}

#[test]
fn nothing_is_lost_across_an_outage_and_a_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let config = fast_retries(tmp.path());
    std::fs::write(
        &config,
        "[events]\nmax_attempts = 1000\nbase_backoff_ms = 20\nmax_backoff_ms = 300\n",
    )
    .unwrap();
    let data = tmp.path().join("data");
    let args = ["--config", config.to_str().unwrap()];
    // Reserve a port for the receiver, and keep it closed during the outage.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");

    let mut gw = Gateway::start_on(&data, &args);
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "a");
    gw.connected_instance(&key, "b");
    set_webhook(
        &gw,
        &key,
        "a",
        json!({"url": url, "events": ["message_upsert"]}),
    );
    set_webhook(
        &gw,
        &key,
        "b",
        json!({"url": url, "events": ["message_upsert"]}),
    );
    let mut sent_a = Vec::new();
    let mut sent_b = Vec::new();
    for i in 0..500 {
        let inst = if i % 2 == 0 { "a" } else { "b" };
        let id = gw.inbound(inst, PEER, &format!("m{i}"), false);
        if i % 2 == 0 {
            sent_a.push(id)
        } else {
            sent_b.push(id)
        }
    }
    // kill -9 midway: no drain, no clean close.
    gw.child.kill().unwrap();
    gw.child.wait().unwrap();
    drop(gw);

    let gw = Gateway::start_on(&data, &args);
    gw.wait_state(&key, "a", "open");
    for i in 500..1000 {
        let inst = if i % 2 == 0 { "a" } else { "b" };
        let id = gw.inbound(inst, PEER, &format!("m{i}"), false);
        if i % 2 == 0 {
            sent_a.push(id)
        } else {
            sent_b.push(id)
        }
    }
    let receiver = Receiver::start_on(TcpListener::bind(("127.0.0.1", port)).unwrap(), |_| 200);
    let got = receiver.wait_for(1000, Duration::from_secs(60));
    let mut first_seen_a = Vec::new();
    let mut first_seen_b = Vec::new();
    for r in &got {
        let v = &r.body;
        let id = message_id(r);
        let list = if v["instance_name"] == "a" {
            &mut first_seen_a
        } else {
            &mut first_seen_b
        };
        if !list.contains(&id) {
            list.push(id);
        }
    }
    assert_eq!(
        first_seen_a.len() + first_seen_b.len(),
        1000,
        "every event arrived at least once"
    );
    assert_eq!(first_seen_a, sent_a, "instance a in order");
    assert_eq!(first_seen_b, sent_b, "instance b in order");
}

#[test]
fn the_deletion_event_is_delivered_after_the_instance_is_gone() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "doomed");
    let receiver = Receiver::start_with(|_| 200);
    set_webhook(
        &gw,
        &key,
        "doomed",
        json!({"url": receiver.url("hook"), "events": ["instance_deleted"]}),
    );
    let (s, _) = gw.call("DELETE", "/core/instances/doomed", Some(&key), None);
    assert_eq!(s, 200);
    let got = receiver.wait_for(1, Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    let v = &got[0].body;
    assert_eq!(v["payload"]["type"], "instance_deleted");
    assert_eq!(v["payload"]["data"]["name"], "doomed");
}

#[test]
fn webhook_specs_are_validated() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    gw.instance(&key, "v");
    for bad in [
        json!({"url": "ftp://x"}),
        json!({"url": "http://"}),
        json!({"url": "http://x", "events": ["nope"]}),
        json!({"nourl": 1}),
    ] {
        let (s, v) = gw.call(
            "PUT",
            "/core/instances/v/webhooks",
            Some(&key),
            Some(json!([bad])),
        );
        assert_eq!(s, 400, "{v}");
    }
    let too_many: Vec<Value> = (0..11)
        .map(|i| json!({"url": format!("http://127.0.0.1:9/{i}")}))
        .collect();
    let (s, _) = gw.call(
        "PUT",
        "/core/instances/v/webhooks",
        Some(&key),
        Some(Value::Array(too_many)),
    );
    assert_eq!(s, 400);
    let reader = gw.key("acme", Some(&["read"]));
    let (s, _) = gw.call("GET", "/core/instances/v/webhooks", Some(&reader), None);
    assert_eq!(s, 403, "webhooks hold secrets: manage only");
}

#[test]
fn webhooks_reach_https_receivers_trusting_an_extra_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, ca_pem) = crate::common::tls::self_signed(&["localhost"]);
    let ca_path = tmp.path().join("ca.pem");
    std::fs::write(&ca_path, ca_pem).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let sink = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then the body by content-length.
            let (head_end, len) = loop {
                let Ok(n) = tls.read(&mut chunk) else {
                    break (0, 0);
                };
                if n == 0 {
                    break (0, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse::<usize>().unwrap())
                        .unwrap_or(0);
                    break (pos + 4, len);
                }
            };
            if head_end == 0 {
                continue;
            }
            while buf.len() < head_end + len {
                let n = tls.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            sink.lock().unwrap().push(buf[head_end..].to_vec());
            let _ =
                tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &[],
        &[("WAGATE_EXTRA_CA_FILE", ca_path.to_str().unwrap())],
    );
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "tls");
    set_webhook(
        &gw,
        &key,
        "tls",
        json!({"url": format!("https://localhost:{port}/hook"), "events": ["message_upsert"]}),
    );
    let id = gw.inbound("tls", PEER, "over tls", false);
    let start = Instant::now();
    while got.lock().unwrap().is_empty() && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let bodies = got.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "delivered over https");
    let v: Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(v["payload"]["data"]["id"], id);
}

#[test]
fn setting_webhooks_again_keeps_matching_ones_with_their_queue_and_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start_with_fast_retries(tmp.path());
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "kept");
    let receiver = Receiver::start_with(|call| if call <= 2 { 500 } else { 200 });
    let first = set_webhook(
        &gw,
        &key,
        "kept",
        json!({"url": receiver.url("hook"), "events": ["message_upsert"]}),
    );
    let id = gw.inbound("kept", PEER, "queued before the change", false);
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/kept/webhooks",
        Some(&key),
        Some(json!([{"url": receiver.url("hook"), "events": ["message_upsert"]}, {"url": "http://127.0.0.1:9/other", "events": ["instance_created"]}])),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v[0]["id"], first["id"], "same URL: same webhook");
    assert_eq!(v[0]["secret"], first["secret"], "its secret is kept");
    assert_ne!(v[1]["id"], first["id"]);
    let got = receiver.wait_for(1, Duration::from_secs(20));
    assert_eq!(
        got.len(),
        1,
        "the delivery queued before the change still arrives"
    );
    assert_eq!(message_id(&got[0]), id);
    // Named by id, a webhook keeps its identity across a URL change (an edit); an id
    // that is not one of the instance's webhooks is a new webhook.
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/kept/webhooks",
        Some(&key),
        Some(json!([{"id": first["id"], "url": receiver.url("moved")}, {"id": "wh_not-mine", "url": "http://127.0.0.1:9/other"}])),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v[0]["id"], &v[0]["secret"]),
        (&first["id"], &first["secret"])
    );
    assert!(v[0]["url"].as_str().unwrap().ends_with("/moved"), "{v}");
    assert_ne!(v[1]["id"], "wh_not-mine");
    let (_, v) = gw.call(
        "PUT",
        "/core/instances/kept/webhooks",
        Some(&key),
        Some(json!([])),
    );
    assert_eq!(v, json!([]));
    let (_, v) = gw.call("GET", "/core/instances/kept/webhooks", Some(&key), None);
    assert_eq!(v, json!([]));
}

#[test]
fn a_webhooks_recent_deliveries_show_each_attempt_and_a_test_delivery() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start_with_fast_retries(tmp.path());
    let key = gw.org_with_key("acme", None);
    let rival = gw.org_with_key("rival", None);
    gw.connected_instance(&key, "hooked");
    let receiver = Receiver::start_with(|call| if call <= 2 { 503 } else { 200 });
    let hook = set_webhook(
        &gw,
        &key,
        "hooked",
        json!({"url": receiver.url("hook"), "events": ["message_upsert"]}),
    );
    let wid = hook["id"].as_str().unwrap();
    let path = format!("/core/instances/hooked/webhooks/{wid}/deliveries");
    let (s, v) = gw.call("GET", &path, Some(&key), None);
    assert_eq!((s, v), (200, json!([])), "nothing delivered yet");

    let id = gw.inbound("hooked", PEER, "watched", false);
    receiver.wait_until("the delivery", |r| message_id(r) == id);
    // The attempt's log entry follows its delivery by a commit: wait for it (a
    // generous bound: CI's machine is shared with builds).
    let mut attempts = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        attempts = gw.call("GET", &path, Some(&key), None).1;
        if attempts.as_array().is_some_and(|a| a.len() == 3) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let a = attempts.as_array().expect("a list");
    assert_eq!(a.len(), 3, "{attempts}");
    let outcomes: Vec<&str> = a.iter().map(|x| x["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        ["delivered", "retrying", "retrying"],
        "newest first: {attempts}"
    );
    let numbers: Vec<u64> = a.iter().map(|x| x["attempt"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [3, 2, 1]);
    assert!(a.iter().all(|x| x["event_type"] == "message_upsert"));
    assert!(
        a[1]["error"].as_str().unwrap().contains("retry"),
        "{attempts}"
    );
    assert!(a[0].get("error").is_none());

    // A test delivery: the current connection state, to this webhook alone.
    let test = format!("/core/instances/hooked/webhooks/{wid}/test");
    let (s, v) = gw.call("POST", &test, Some(&key), None);
    assert_eq!(s, 202, "{v}");
    let event_id = v["event_id"].as_str().unwrap().to_string();
    let got = receiver.wait_until("the test delivery", |r| {
        r.header("x-wagate-event-id") == Some(event_id.as_str())
    });
    let last = got.last().unwrap();
    assert_eq!(
        last.body["payload"]["type"], "connection_update",
        "{:?}",
        last.body
    );
    assert_eq!(last.body["payload"]["data"], "open");
    // Its log entry follows the receiver's answer by a commit.
    let mut recent = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        recent = gw.call("GET", &path, Some(&key), None).1;
        if recent[0]["event_id"] == event_id.as_str() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(recent[0]["event_id"], event_id.as_str(), "{recent}");
    assert_eq!(recent[0]["outcome"], "delivered");
    // Not for another org's webhook; not for a disabled one.
    let (s, _) = gw.call("POST", &test, Some(&rival), None);
    assert_eq!(s, 404);
    let mut off = hook.clone();
    off["enabled"] = json!(false);
    let spec = json!({"url": off["url"], "events": off["events"], "enabled": false, "secret": off["secret"]});
    set_webhook(&gw, &key, "hooked", spec);
    let (s, v) = gw.call("POST", &test, Some(&key), None);
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("disabled"),
        "{v}"
    );

    // Another org, an unknown webhook, and a key without `manage` are refused.
    let (s, _) = gw.call("GET", &path, Some(&rival), None);
    assert_eq!(s, 404);
    let (s, v) = gw.call(
        "GET",
        "/core/instances/hooked/webhooks/wh_nope/deliveries",
        Some(&key),
        None,
    );
    assert_eq!(s, 404, "{v}");
    let reader = gw.key("acme", Some(&["read"]));
    let (s, _) = gw.call("GET", &path, Some(&reader), None);
    assert_eq!(s, 403);
}
