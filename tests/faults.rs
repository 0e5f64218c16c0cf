//! The fault suite, bounded for CI (each test well under 30 s on 2 cores):
//!
//! - `sigkill_under_mixed_write_load_keeps_every_acknowledged_mutation`: sends, sim
//!   ingests and deletes-for-me run concurrently over HTTP, the gateway gets SIGKILL,
//!   restarts on the same data folder, and every mutation answered 2xx is there (a
//!   deleted message is gone); the database opens and takes new writes.
//! - `looping_and_trapping_plugin_does_not_lower_other_routes_success_rate`: a fixture
//!   dialect looping until its deadline and trapping, hammered concurrently, while
//!   /core and a bundled dialect keep answering 100% of their requests.
//! - `fuzzed_requests_get_only_documented_4xx`: malformed JSON, huge and deeply nested
//!   bodies, bad UTF-8 (body and raw path bytes), odd JIDs and path tricks against every
//!   route of /core, Ryze, Evolution and sessions/v1: no 5xx, no dropped connection,
//!   the server healthy afterwards.
//! - `oversized_body_is_413_and_oversized_headers_are_431`: the request limits.

use crate::common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ADMIN, Gateway};
use serde_json::{Value, json};

// ---- helpers ----------------------------------------------------------------------

/// Sends `head` (request line and headers, without the blank line) and `body` on a new
/// connection (`Connection: close` and `Content-Length` added), returns the status, or
/// `None` when the connection failed or closed without an answer. A write error (the
/// server answered early and closed) still reads whatever answer arrived.
fn exchange(base: &str, head: &[u8], body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let authority = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(authority).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let mut req = head.to_vec();
    req.extend_from_slice(
        format!(
            "\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    let _ = s.write_all(&req).and_then(|_| s.write_all(body));
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
    let status = std::str::from_utf8(&raw[..line_end])
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()?;
    let body = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| raw[i + 4..].to_vec())
        .unwrap_or_default();
    Some((status, body))
}

/// One request with a byte path and extra header lines.
fn send(base: &str, method: &str, path: &[u8], headers: &[String], body: &[u8]) -> Option<u16> {
    send_full(base, method, path, headers, body).map(|(s, _)| s)
}

/// [`send`], with the answer's body.
fn send_full(
    base: &str,
    method: &str,
    path: &[u8],
    headers: &[String],
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let mut head = format!("{method} ").into_bytes();
    head.extend_from_slice(path);
    head.extend_from_slice(b" HTTP/1.1");
    for h in headers {
        head.extend_from_slice(b"\r\n");
        head.extend_from_slice(h.as_bytes());
    }
    exchange(base, &head, body)
}

/// Every message id of a chat (native API, paged).
fn chat_ids(gw: &Gateway, key: &str, instance: &str, jid: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut cursor = String::new();
    loop {
        let (s, v) = gw.call(
            "GET",
            &format!("/core/instances/{instance}/chats/{jid}/messages?limit=200&cursor={cursor}"),
            Some(key),
            None,
        );
        if s == 404 {
            return ids;
        }
        assert_eq!(s, 200, "{v}");
        for m in v["messages"].as_array().unwrap() {
            ids.insert(m["id"].as_str().unwrap().to_string());
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return ids,
        }
    }
}

/// Runs `f(thread index)` on `n` threads until `stop`, collecting what each returns.
fn on_threads<T: Send + 'static>(
    n: usize,
    f: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<std::thread::JoinHandle<T>> {
    let f = Arc::new(f);
    (0..n)
        .map(|t| {
            let f = f.clone();
            std::thread::spawn(move || f(t))
        })
        .collect()
}

// ---- SIGKILL under a mixed write load -----------------------------------------------

const SENT_TO: &str = "6281111111111@s.whatsapp.net";
const INGESTED_FROM: &str = "6282222222222@s.whatsapp.net";
const DELETED_IN: &str = "6283333333333@s.whatsapp.net";

#[test]
fn sigkill_under_mixed_write_load_keeps_every_acknowledged_mutation() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "k");

    // Messages to delete during the load, ingested up front (4 threads).
    let base = gw.base.clone();
    let victims: Vec<String> = on_threads(4, move |t| {
        (0..60)
            .map(|i| {
                let r = wagate::client::request(
                    &base,
                    "POST",
                    "/admin/sim/k/inbound",
                    &[
                        ("Authorization", &format!("Bearer {ADMIN}")),
                        ("Content-Type", "application/json"),
                    ],
                    Some(
                        json!({"from": DELETED_IN, "text": format!("v{t}-{i}")})
                            .to_string()
                            .as_bytes(),
                    ),
                )
                .unwrap();
                assert_eq!(r.status, 201);
                r.json()["id"].as_str().unwrap().to_string()
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flat_map(|h| h.join().unwrap())
    .collect();

    // The load: 2 senders, 2 ingesters, 2 deleters, each recording what was acknowledged.
    #[derive(Default)]
    struct Acked {
        sent: Vec<String>,
        ingested: Vec<String>,
        deleted: Vec<String>,
        failed_after_kill: usize,
    }
    let acked = Arc::new(Mutex::new(Acked::default()));
    let victims = Arc::new(Mutex::new(victims));
    let (base, key2, acked2, victims2) =
        (gw.base.clone(), key.clone(), acked.clone(), victims.clone());
    let workers = on_threads(6, move |t| {
        let auth = if t / 2 == 1 {
            format!("Bearer {ADMIN}")
        } else {
            format!("Bearer {key2}")
        };
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        for n in 0.. {
            let (method, path, body) = match t / 2 {
                0 => (
                    "POST",
                    "/core/instances/k/messages".to_string(),
                    json!({"to": SENT_TO, "text": format!("s{t}-{n}")}).to_string(),
                ),
                1 => (
                    "POST",
                    "/admin/sim/k/inbound".to_string(),
                    json!({"from": INGESTED_FROM, "text": format!("i{t}-{n}")}).to_string(),
                ),
                _ => match victims2.lock().unwrap().pop() {
                    Some(id) => (
                        "DELETE",
                        format!("/core/instances/k/messages/{id}"),
                        String::new(),
                    ),
                    None => return,
                },
            };
            let r = wagate::client::request(&base, method, &path, &headers, Some(body.as_bytes()));
            let mut a = acked2.lock().unwrap();
            match r {
                Ok(r) if (200..300).contains(&r.status) => match t / 2 {
                    0 => a.sent.push(r.json()["id"].as_str().unwrap().to_string()),
                    1 => a
                        .ingested
                        .push(r.json()["id"].as_str().unwrap().to_string()),
                    _ => a.deleted.push(path.rsplit('/').next().unwrap().to_string()),
                },
                Ok(r) => panic!("{method} {path}: unexpected {} {:?}", r.status, r.json()),
                // The gateway is gone: anything in flight is unacknowledged.
                Err(_) => {
                    a.failed_after_kill += 1;
                    return;
                }
            }
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    gw.child.kill().unwrap(); // SIGKILL
    gw.child.wait().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    drop(gw);
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    eprintln!(
        "acknowledged before SIGKILL: {} sends, {} ingests, {} deletes ({} requests cut off)",
        acked.sent.len(),
        acked.ingested.len(),
        acked.deleted.len(),
        acked.failed_after_kill
    );
    assert!(
        !acked.sent.is_empty() && !acked.ingested.is_empty() && !acked.deleted.is_empty(),
        "the load did not get going"
    );

    // Restart on the same folder: the database opens, everything acknowledged is there.
    let gw = Gateway::start_on(&data, &[]);
    let sent = chat_ids(&gw, &key, "k", SENT_TO);
    let ingested = chat_ids(&gw, &key, "k", INGESTED_FROM);
    let remaining = chat_ids(&gw, &key, "k", DELETED_IN);
    for id in &acked.sent {
        assert!(sent.contains(id), "acknowledged send {id} lost");
    }
    for id in &acked.ingested {
        assert!(ingested.contains(id), "acknowledged ingest {id} lost");
    }
    for id in &acked.deleted {
        assert!(
            !remaining.contains(id),
            "acknowledged delete of {id} undone"
        );
    }
    // Deletes never acknowledged (not started, or cut off) leave their message or not;
    // the ones never started must all still be there.
    for id in victims.lock().unwrap().iter() {
        assert!(
            remaining.contains(id),
            "message {id} vanished without a delete"
        );
    }
    // The store takes new writes and reads them back.
    let (s, _) = gw.admin("POST", "/admin/orgs", Some(json!({"name": "after-crash"})));
    assert_eq!(s, 201);
    let id = gw.inbound("k", INGESTED_FROM, "after", false);
    assert!(chat_ids(&gw, &key, "k", INGESTED_FROM).contains(&id));
    assert!(gw.stop().success());
}

// ---- a misbehaving plugin under load -------------------------------------------------

/// Default mounts plus the fixture dialect at /fx (no auth, 50 ms deadline).
fn config_with_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/testing/fixture-dialect/plugin.toml");
    let wasm =
        std::path::Path::new(wagate::plugin::bundled::FIXTURES_DIR).join("fixture_dialect.wasm");
    let cfg = dir.join("wagate.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[plugins]
[[plugins.file]]
manifest = {manifest:?}
wasm = {wasm:?}
[plugins.settings.fixture-dialect]
deadline_ms = 50
[[plugins.mount]]
prefix = "/fx"
dialect = "fixture-dialect"
[[plugins.mount]]
prefix = "/api/v1"
dialect = "sessions-v1"
auth = ["bearer"]
[[plugins.mount]]
prefix = "/api"
dialect = "ryze"
auth = ["ryze-token"]
[[plugins.mount]]
prefix = "/"
dialect = "evolution"
auth = ["evolution-apikey"]
"#,
            manifest = manifest.display().to_string(),
            wasm = wasm.display().to_string(),
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn looping_and_trapping_plugin_does_not_lower_other_routes_success_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config_with_fixture(tmp.path());
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
        // Hundreds of expected deadline and trap warnings otherwise.
        &[("RUST_LOG", "error")],
    );
    let key = gw.org_with_key("acme", None);
    let (inst, _) = gw.connected_instance(&key, "k");
    for i in 0..20 {
        gw.inbound("k", INGESTED_FROM, &format!("m{i}"), false);
    }
    let sid = inst["id"].as_str().unwrap().to_string();
    let good = Arc::new(vec![
        format!("/core/instances/k/chats/{INGESTED_FROM}/messages?limit=20"),
        format!("/api/v1/sessions/{sid}/chats/{INGESTED_FROM}/messages?limit=20"),
    ]);
    assert_eq!(gw.call("GET", &good[1], Some(&key), None).0, 200);

    // `(ok, total)` of the good routes over `run` with `bad` threads misbehaving.
    let phase = |bad: usize, run: Duration| -> ((usize, usize), (usize, usize)) {
        let stop = Arc::new(AtomicBool::new(false));
        let (good_ok, good_total) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (bad_5xx, bad_total) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut threads = Vec::new();
        for t in 0..4 + bad {
            let (stop, base, key, good) =
                (stop.clone(), gw.base.clone(), key.clone(), good.clone());
            let (good_ok, good_total, bad_5xx, bad_total) = (
                good_ok.clone(),
                good_total.clone(),
                bad_5xx.clone(),
                bad_total.clone(),
            );
            threads.push(std::thread::spawn(move || {
                let auth = format!("Bearer {key}");
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    if t < 4 {
                        let path = &good[(t + n) % good.len()];
                        let r = wagate::client::request(
                            &base,
                            "GET",
                            path,
                            &[("Authorization", &auth)],
                            None,
                        );
                        good_total.fetch_add(1, Ordering::Relaxed);
                        if matches!(r, Ok(ref r) if r.status == 200) {
                            good_ok.fetch_add(1, Ordering::Relaxed);
                        }
                    } else {
                        let path = if n % 2 == 0 { "/fx/loop" } else { "/fx/panic" };
                        let r = wagate::client::request(&base, "GET", path, &[], None);
                        bad_total.fetch_add(1, Ordering::Relaxed);
                        if matches!(r, Ok(ref r) if r.status == 500) {
                            bad_5xx.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        std::thread::sleep(run);
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        (
            (
                good_ok.load(Ordering::Relaxed),
                good_total.load(Ordering::Relaxed),
            ),
            (
                bad_5xx.load(Ordering::Relaxed),
                bad_total.load(Ordering::Relaxed),
            ),
        )
    };
    let (baseline, _) = phase(0, Duration::from_millis(1500));
    let (under_fault, (bad_5xx, bad_total)) = phase(6, Duration::from_millis(3000));
    eprintln!(
        "good routes: {}/{} ok alone, {}/{} ok beside {bad_total} looping/trapping calls ({bad_5xx} answered 500)",
        baseline.0, baseline.1, under_fault.0, under_fault.1
    );
    assert_eq!(baseline.0, baseline.1, "baseline not clean");
    assert!(under_fault.1 > 0);
    assert_eq!(
        under_fault.0, under_fault.1,
        "a misbehaving plugin made other routes fail"
    );
    // The bad plugin's own calls were stopped and answered, not left hanging.
    assert!(bad_total > 0);
    assert_eq!(bad_5xx, bad_total, "every loop/trap call answers 500");
    let metrics = gw.raw("GET", "/metrics", &[], b"");
    let text = String::from_utf8_lossy(&metrics.body);
    for kind in ["deadline", "trap"] {
        assert!(
            text.contains(&format!(
                "wagate_plugin_failures_total{{plugin=\"fixture-dialect\",kind=\"{kind}\"}}"
            )),
            "no {kind} failures counted"
        );
    }
    assert_eq!(gw.raw("GET", "/healthz", &[], b"").status, 200);
}

// ---- fuzzing every route ---------------------------------------------------------------

/// Every route of /core and of the three dialects; `{i}` instance, `{j}` chat JID,
/// `{m}` message id. `auth` picks the credential header.
const ROUTES: &[(&str, &str, Auth)] = &[
    ("GET", "/core/instances", Auth::Core),
    ("POST", "/core/instances", Auth::Core),
    ("GET", "/core/instances/{i}", Auth::Core),
    ("DELETE", "/core/instances/{i}", Auth::Core),
    ("POST", "/core/instances/{i}/connect", Auth::Core),
    ("GET", "/core/instances/{i}/state", Auth::Core),
    ("POST", "/core/instances/{i}/logout", Auth::Core),
    ("POST", "/core/instances/{i}/messages", Auth::Core),
    ("DELETE", "/core/instances/{i}/messages/{m}", Auth::Core),
    (
        "DELETE",
        "/core/instances/{i}/messages/{m}?for_everyone=true",
        Auth::Core,
    ),
    ("GET", "/core/instances/{i}/chats", Auth::Core),
    ("GET", "/core/instances/{i}/chats/{j}", Auth::Core),
    ("PATCH", "/core/instances/{i}/chats/{j}", Auth::Core),
    (
        "DELETE",
        "/core/instances/{i}/chats/{j}?media=true",
        Auth::Core,
    ),
    (
        "GET",
        "/core/instances/{i}/chats/{j}/messages?limit=5&cursor={m}",
        Auth::Core,
    ),
    ("GET", "/core/instances/{i}/webhooks", Auth::Core),
    ("PUT", "/core/instances/{i}/webhooks", Auth::Core),
    ("POST", "/api/instance/new", Auth::Ryze),
    ("GET", "/api/instance/list?instanceName={i}", Auth::Ryze),
    ("GET", "/api/instance/status/{i}", Auth::Ryze),
    ("GET", "/api/instance/connect/{i}?number={j}", Auth::Ryze),
    ("DELETE", "/api/instance/logout/{i}", Auth::Ryze),
    ("DELETE", "/api/instance/delete/{i}", Auth::Ryze),
    ("POST", "/api/message/text/{i}", Auth::Ryze),
    ("POST", "/api/chat/archive/{i}", Auth::Ryze),
    ("POST", "/api/chat/pin/{i}", Auth::Ryze),
    ("POST", "/api/chat/mute/{i}", Auth::Ryze),
    (
        "GET",
        "/api/chat/contacts/{i}?limit={m}&offset={m}",
        Auth::Ryze,
    ),
    ("POST", "/api/chat/history/{i}", Auth::Ryze),
    ("DELETE", "/api/chat/delete/{i}", Auth::Ryze),
    ("DELETE", "/api/chat/deleteChat/{i}", Auth::Ryze),
    ("GET", "/api/openapi.json", Auth::Ryze),
    ("GET", "/", Auth::Evolution),
    ("GET", "/openapi.json", Auth::Evolution),
    ("POST", "/instance/create", Auth::Evolution),
    (
        "GET",
        "/instance/fetchInstances?instanceName={i}&instanceId={m}",
        Auth::Evolution,
    ),
    ("GET", "/instance/connect/{i}?number={j}", Auth::Evolution),
    ("GET", "/instance/connectionState/{i}", Auth::Evolution),
    ("POST", "/instance/restart/{i}", Auth::Evolution),
    ("DELETE", "/instance/logout/{i}", Auth::Evolution),
    ("DELETE", "/instance/delete/{i}", Auth::Evolution),
    ("POST", "/message/sendText/{i}", Auth::Evolution),
    (
        "DELETE",
        "/chat/deleteMessageForEveryone/{i}",
        Auth::Evolution,
    ),
    ("POST", "/chat/archiveChat/{i}", Auth::Evolution),
    ("POST", "/chat/findMessages/{i}", Auth::Evolution),
    ("POST", "/chat/findChats/{i}", Auth::Evolution),
    ("POST", "/webhook/set/{i}", Auth::Evolution),
    ("GET", "/webhook/find/{i}", Auth::Evolution),
    ("GET", "/api/v1/openapi.json", Auth::Sessions),
    ("GET", "/api/v1/sessions", Auth::Sessions),
    ("POST", "/api/v1/sessions", Auth::Sessions),
    ("GET", "/api/v1/sessions/{i}", Auth::Sessions),
    ("DELETE", "/api/v1/sessions/{i}", Auth::Sessions),
    ("POST", "/api/v1/sessions/{i}/connect", Auth::Sessions),
    ("POST", "/api/v1/sessions/{i}/logout", Auth::Sessions),
    ("GET", "/api/v1/sessions/{i}/chats", Auth::Sessions),
    ("GET", "/api/v1/sessions/{i}/chats/{j}", Auth::Sessions),
    ("PATCH", "/api/v1/sessions/{i}/chats/{j}", Auth::Sessions),
    ("DELETE", "/api/v1/sessions/{i}/chats/{j}", Auth::Sessions),
    (
        "GET",
        "/api/v1/sessions/{i}/chats/{j}/messages?limit={m}&cursor={m}",
        Auth::Sessions,
    ),
    ("POST", "/api/v1/sessions/{i}/messages", Auth::Sessions),
    (
        "DELETE",
        "/api/v1/sessions/{i}/messages/{m}",
        Auth::Sessions,
    ),
    (
        "POST",
        "/api/v1/sessions/{i}/messages/{m}/revoke",
        Auth::Sessions,
    ),
];

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Core,
    Ryze,
    Evolution,
    Sessions,
}

/// Odd values for path and query parameters (raw, already in URL form).
const ODD_PARAMS: &[&str] = &[
    "nope",
    "..",
    "%2e%2e",
    "%2E%2E%2F%2e%2e",
    "%00",
    "a%00b",
    "%ff%fe",
    "%",
    "%zz",
    "%2F",
    "%20",
    "%C3%A9%F0%9F%98%80",
    "-1",
    "99999999999999999999999",
    "@",
    "@s.whatsapp.net",
    "123@g.us",
    "123:4@s.whatsapp.net",
    "status@broadcast",
    "6281234567890@lid",
    "%2B62%20812-3456",
    "6281234567890@s.whatsapp.net%00",
    "abc@s.whatsapp.net@s.whatsapp.net",
];

/// Odd JSON values for the fields dialects read.
fn odd_json_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(""),
        json!(0),
        json!(-1),
        json!(1e308),
        json!(true),
        json!([]),
        json!({}),
        json!("@"),
        json!("123@g.us"),
        json!("..\\..\\etc"),
        json!("\u{0000}"),
        json!("é😀".repeat(50)),
        json!("9".repeat(5000)),
        json!("6281234567890@s.whatsapp.net"),
    ]
}

/// Field names the dialects read, to fill with odd values.
const FIELDS: &[&str] = &[
    "name",
    "to",
    "text",
    "number",
    "message",
    "messageId",
    "deleteForEveryone",
    "archive",
    "pin",
    "mute",
    "duration",
    "count",
    "from",
    "cursor",
    "deleteMedia",
    "instanceName",
    "integration",
    "qrcode",
    "id",
    "fromMe",
    "remoteJid",
    "participant",
    "chat",
    "where",
    "page",
    "offset",
    "take",
    "skip",
    "webhook",
    "phoneNumber",
    "archived",
    "pinned",
    "mutedUntil",
    "url",
    "events",
    "headers",
    "enabled",
    "secret",
    "limit",
];

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[(self.next() % from.len() as u64) as usize]
    }
}

fn bodies(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"}".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"123".to_vec(),
        b"\"str\"".to_vec(),
        b"{\"a\":1,}".to_vec(),
        b"{\"text\":\"\xff\xfe\xfd\"}".to_vec(),
        b"\xff\xfe\x00\x01garbage".to_vec(),
        b"{\"number\":\"\\ud800\"}".to_vec(),
        "[".repeat(100_000).into_bytes(),
        format!("{{\"a\":{}1{}}}", "{\"a\":".repeat(5000), "}".repeat(5000)).into_bytes(),
        // Under the 1 MiB body limit, but big.
        json!({"text": "x".repeat(900_000), "message": "y", "number": "6281234567890"})
            .to_string()
            .into_bytes(),
        // Over it: 413.
        vec![b'{'; 2 * 1024 * 1024],
    ];
    let values = odd_json_values();
    for _ in 0..12 {
        let mut obj = serde_json::Map::new();
        for _ in 0..1 + rng.next() % 5 {
            obj.insert(rng.pick(FIELDS).to_string(), rng.pick(&values).clone());
        }
        out.push(Value::Object(obj).to_string().into_bytes());
    }
    out
}

/// Statuses a fuzzed request may get: successes, and the 4xx the APIs document.
fn acceptable(status: u16) -> bool {
    (200..300).contains(&status)
        || matches!(
            status,
            400 | 401 | 403 | 404 | 405 | 409 | 413 | 414 | 415 | 422 | 429 | 431
        )
}

#[test]
fn fuzzed_requests_get_only_documented_4xx() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("wagate.toml");
    // Lift Ryze's per-token limits so fuzzing reaches the handlers. Plugin deadlines
    // are wall-clock: on a starved CI machine (2 cores, parallel tests) a 100 ms
    // deadline can pass while the call waits for a core, and that 500 says nothing
    // about input handling; 2 s still catches a pathological input.
    let mut toml = String::from(
        "[plugins.settings.ryze]\nconfig = { rate_limit = 1000000, create_rate_limit = 1000000 }\ndeadline_ms = 2000\n",
    );
    for p in [
        "ryze-token",
        "evolution",
        "evolution-apikey",
        "sessions-v1",
        "bearer",
    ] {
        toml.push_str(&format!("[plugins.settings.{p}]\ndeadline_ms = 2000\n"));
    }
    std::fs::write(&cfg, toml).unwrap();
    let gw = Gateway::start_on(
        &tmp.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    let key = gw.org_with_key("acme", None);
    let mint = |kind: &str| {
        let (s, v) = gw.admin(
            "POST",
            "/admin/credentials",
            Some(json!({"org": "acme", "kind": kind})),
        );
        assert_eq!(s, 201, "{v}");
        v["token"].as_str().unwrap().to_string()
    };
    let (ryze, evo) = (mint("ryze-account"), mint("evolution-key"));
    let (inst, _) = gw.connected_instance(&key, "fz");
    let sid = inst["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(gw.inbound("fz", "6281234567890", &format!("m{i}"), i % 2 == 0));
    }

    // Requests: every route with odd parameters, and with the real instance and odd
    // bodies; plus path tricks on each route.
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let bodies = bodies(&mut rng);
    let mut requests: Vec<(String, Vec<u8>, Auth, Vec<u8>)> = Vec::new();
    let destructive = |path: &str| {
        [
            "delete",
            "logout",
            "restart",
            "/chats/{j}",
            "deleteChat",
            "DELETE",
        ]
        .iter()
        .any(|d| path.contains(d))
    };
    for (method, template, auth) in ROUTES {
        let real_i = if *auth == Auth::Sessions {
            sid.as_str()
        } else {
            "fz"
        };
        let fill = |i: &str, j: &str, m: &str| {
            template
                .replace("{i}", i)
                .replace("{j}", j)
                .replace("{m}", m)
        };
        // Odd parameters, one slot at a time and all together.
        for odd in ODD_PARAMS {
            let odd_long = "a".repeat(3000 + (rng.next() % 3000) as usize);
            let odd = if rng.next().is_multiple_of(8) {
                odd_long.as_str()
            } else {
                odd
            };
            for path in [
                fill(odd, "6281234567890", &ids[0]),
                fill(real_i, odd, &ids[1]),
                fill(real_i, "6281234567890", odd),
                fill(odd, odd, odd),
            ] {
                if destructive(&format!("{method} {path}")) && path.contains(real_i) {
                    continue;
                }
                let body = rng.pick(&bodies).clone();
                requests.push((method.to_string(), path.into_bytes(), *auth, body));
            }
        }
        // Odd bodies on the real instance (not on routes that would delete or
        // disconnect it).
        if !destructive(&format!("{method} {template}")) {
            for body in &bodies {
                let path = fill(real_i, "6281234567890", &ids[2]);
                requests.push((method.to_string(), path.into_bytes(), *auth, body.clone()));
            }
        }
        // Path tricks and raw bytes in the path.
        let path = fill(real_i, "6281234567890", &ids[3]);
        let (prefix, rest) = path.split_at(path[1..].find('/').map_or(path.len(), |p| p + 1));
        for trick in [
            format!("{prefix}/{rest}"),
            format!("/{prefix}{rest}"),
            format!("{prefix}/..{rest}"),
            format!("{prefix}/%2e%2e{rest}"),
            format!("{prefix}{rest}/../../admin/orgs"),
            format!("{prefix}{rest}/%2e%2e/%2e%2e/admin/orgs"),
            format!("{prefix}/.{rest}"),
            format!("{prefix}{rest}//"),
            format!("{prefix}{rest}%00"),
            format!("{prefix}{rest}/{}", "x".repeat(8000)),
        ] {
            if destructive(&format!("{method} {trick}")) {
                continue;
            }
            requests.push((
                method.to_string(),
                trick.into_bytes(),
                *auth,
                b"{}".to_vec(),
            ));
        }
        let mut raw = path.clone().into_bytes();
        raw.extend_from_slice(b"\xff\xfe/\xc3\x28");
        if !destructive(&format!("{method} {template}")) {
            requests.push((method.to_string(), raw, *auth, b"{}".to_vec()));
        }
    }
    // Unauthenticated and wrongly authenticated variants of a sample.
    let sample: Vec<_> = requests.iter().step_by(7).cloned().collect();
    let unauth_at = requests.len();
    requests.extend(sample);

    let n = requests.len();
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let (base, key_t, ryze, evo) = (gw.base.clone(), key.clone(), ryze.clone(), evo.clone());
    let started = Instant::now();
    let threads = {
        let (requests, next, failures) = (requests.clone(), next.clone(), failures.clone());
        on_threads(4, move |_| {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some((method, path, auth, body)) = requests.get(k) else {
                    return;
                };
                let mut headers = vec!["Content-Type: application/json".to_string()];
                if k < unauth_at {
                    headers.push(match auth {
                        Auth::Core | Auth::Sessions => format!("Authorization: Bearer {key_t}"),
                        Auth::Ryze => format!("token: {ryze}"),
                        Auth::Evolution => format!("apikey: {evo}"),
                    });
                } else if k % 2 == 0 {
                    headers.push("Authorization: Bearer wa_0000\u{00e9}".to_string());
                    headers.push("token: %00..".to_string());
                    headers.push("apikey: ../..".to_string());
                }
                let answer = send_full(&base, method, path, &headers, body);
                let ok = answer.as_ref().is_some_and(|(s, _)| acceptable(*s));
                if !ok {
                    let answer = answer.map(|(s, b)| {
                        format!("{s} {}", String::from_utf8_lossy(&b[..b.len().min(200)]))
                    });
                    failures.lock().unwrap().push(format!(
                        "{method} {} (body {} bytes: {:?}) -> {answer:?}",
                        String::from_utf8_lossy(&path[..path.len().min(120)]),
                        body.len(),
                        String::from_utf8_lossy(&body[..body.len().min(80)]),
                    ));
                }
            }
        })
    };
    for t in threads {
        t.join().unwrap();
    }
    eprintln!("{n} fuzzed requests in {:.1?}", started.elapsed());
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {n} requests got a 5xx or no answer:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Still healthy, and the real instance still answers.
    assert_eq!(gw.raw("GET", "/healthz", &[], b"").status, 200);
    let (s, v) = gw.call("GET", "/core/instances/fz/state", Some(&key), None);
    assert_eq!((s, v["state"].as_str()), (200, Some("open")), "{v}");
}

// ---- request limits ------------------------------------------------------------------

#[test]
fn oversized_body_is_413_and_oversized_headers_are_431() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    let auth = format!("Authorization: Bearer {key}");
    // A body over max_body_bytes (1 MiB), on /core and on a dialect route.
    for path in ["/core/instances", "/api/v1/sessions"] {
        let big = vec![b'a'; 2 * 1024 * 1024];
        let s = send(
            &gw.base,
            "POST",
            path.as_bytes(),
            std::slice::from_ref(&auth),
            &big,
        );
        assert_eq!(s, Some(413), "{path}");
    }
    // Too many header fields.
    let mut many: Vec<String> = (0..150).map(|i| format!("X-Pad-{i}: {i}")).collect();
    many.push(auth.clone());
    let s = send(&gw.base, "GET", b"/core/instances", &many, b"");
    assert_eq!(s, Some(431), "150 header fields");
    // One huge header field, and a header block over the limit in total.
    let huge = vec![format!("X-Big: {}", "b".repeat(100 * 1024)), auth.clone()];
    let s = send(&gw.base, "GET", b"/core/instances", &huge, b"");
    assert_eq!(s, Some(431), "a 100 KiB header");
    let wide: Vec<String> = (0..40)
        .map(|i| format!("X-Wide-{i}: {}", "w".repeat(2000)))
        .chain([auth.clone()])
        .collect();
    let s = send(&gw.base, "GET", b"/core/instances", &wide, b"");
    assert_eq!(s, Some(431), "80 KB of headers");
    // Ordinary requests with a fair number of headers still pass.
    let fair: Vec<String> = (0..30)
        .map(|i| format!("X-Fair-{i}: {}", "f".repeat(500)))
        .chain([auth.clone()])
        .collect();
    let s = send(&gw.base, "GET", b"/core/instances", &fair, b"");
    assert_eq!(s, Some(200));
    assert_eq!(gw.raw("GET", "/healthz", &[], b"").status, 200);
}
