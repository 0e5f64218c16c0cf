//! Events through the outbox to a webhook: throughput and commit-to-delivery latency.
//!
//! `cargo bench -p wagate --bench events [-- --events N --producers P]`
//! Starts the release `wagate` on a temp folder with a native webhook pointing at a
//! local receiver (this process, a plain HTTP/1.1 server on loopback), injects N
//! inbound messages from P producer threads over HTTP, and waits until the receiver has
//! every event. Latency is receive time minus the event's timestamp (taken by core in
//! the transaction that commits it), in milliseconds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

const ADMIN: &str = "events-bench-admin";

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn main() {
    let events = arg("--events", 2_000);
    let producers = arg("--producers", 8);
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--link",
            "sim",
            "--sim-pair-delay-ms",
            "0",
            "--data",
        ])
        .arg(tmp.path().join("data"))
        .env("WAGATE_ADMIN_TOKEN", ADMIN)
        // The bench's webhook receiver is on loopback, which the outbound guard refuses
        // unless allowed.
        .env("WAGATE_OUTBOUND_ALLOW", "127.0.0.0/8")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting wagate");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("wagate exited").unwrap();
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let call = |method: &str, path: &str, token: &str, body: Value| -> Value {
        let auth = format!("Bearer {token}");
        let body = serde_json::to_vec(&body).unwrap();
        wagate::client::request(
            &base,
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(&body),
        )
        .unwrap()
        .json()
    };
    call("POST", "/admin/orgs", ADMIN, json!({"name": "bench"}));
    let key = call(
        "POST",
        "/admin/credentials",
        ADMIN,
        json!({"org": "bench", "kind": "api-key"}),
    )["token"]
        .as_str()
        .unwrap()
        .to_string();
    call("POST", "/core/instances", &key, json!({"name": "ev"}));
    call("POST", "/core/instances/ev/connect", &key, json!({}));
    while call("GET", "/core/instances/ev/state", &key, Value::Null)["state"] != "open" {
        std::thread::sleep(Duration::from_millis(5));
    }

    // The receiver: records (receive time, event timestamp) per delivery.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let sink = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let received = now_ms();
            if let Ok(v) = serde_json::from_slice::<Value>(&body)
                && let Some(ts) = v["timestamp"].as_u64()
            {
                sink.lock().unwrap().push((received, ts));
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    call(
        "PUT",
        "/core/instances/ev/webhooks",
        &key,
        json!([{"url": format!("http://127.0.0.1:{port}/"), "events": ["message_upsert"]}]),
    );

    let started = Instant::now();
    let per = events.div_ceil(producers);
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let base = base.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    let body = serde_json::to_vec(
                        &json!({"from": "5511999999999", "text": format!("p{p} m{i}")}),
                    )
                    .unwrap();
                    let auth = format!("Bearer {ADMIN}");
                    let r = wagate::client::request(
                        &base,
                        "POST",
                        "/admin/sim/ev/inbound",
                        &[("Authorization", &auth)],
                        Some(&body),
                    )
                    .unwrap();
                    assert_eq!(r.status, 201);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let produced = per * producers;
    let produced_in = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while got.lock().unwrap().len() < produced && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let delivered_in = started.elapsed();
    let got = got.lock().unwrap().clone();
    let mut lat: Vec<u64> = got.iter().map(|(r, t)| r.saturating_sub(*t)).collect();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    println!("events bench: {produced} events from {producers} producers over HTTP, one webhook");
    println!(
        "produced (committed) in {produced_in:.2?} = {:.0} events/s",
        produced as f64 / produced_in.as_secs_f64()
    );
    println!(
        "delivered {} in {delivered_in:.2?} = {:.0} events/s end to end",
        got.len(),
        got.len() as f64 / delivered_in.as_secs_f64()
    );
    println!(
        "commit-to-delivery latency ms: p50 {} p90 {} p99 {} max {}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        lat[lat.len() - 1]
    );
    let _ = child.kill();
    let _ = child.wait();
}
