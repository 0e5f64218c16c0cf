//! The network side of hardening (issue 14), on the real binary: the outbound (SSRF) guard at set
//! time in every dialect and at connect time on the resolved address; webhook custom
//! headers that would override framing or the signature; slow clients and connection
//! caps; a taken listen port failing fast.

use crate::common;
use crate::common::receiver;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::Gateway;
use common::evolution::{connect_and_wait, create};
use hmac::{Hmac, Mac};
use receiver::{Received, Receiver};
use serde_json::{Value, json};
use sha2::Sha256;

const GLOBAL_KEY: &str = "evolution-global-key-for-net-hardening";

/// A gateway with the default outbound policy (nothing private allowed).
fn strict_gateway() -> Gateway {
    Gateway::start_with_env(&[
        ("AUTHENTICATION_API_KEY", GLOBAL_KEY),
        ("WAGATE_OUTBOUND_ALLOW", ""),
    ])
}

fn send(gw: &Gateway, method: &str, path: &str, auth: (&str, &str), body: Value) -> (u16, Value) {
    let r = gw.raw(
        method,
        path,
        &[("Content-Type", "application/json"), auth],
        body.to_string().as_bytes(),
    );
    (r.status, r.json())
}

/// Every spelling of a refused destination the issue lists.
const REFUSED: &[&str] = &[
    "http://127.0.0.1:9/hook",
    "http://localhost:9/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://[::1]:9/hook",
    "http://0.0.0.0/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.8/hook",
    "https://192.168.1.20/hook",
    "http://[::ffff:127.0.0.1]/hook",
];

#[test]
fn private_destinations_are_refused_when_set_in_every_dialect() {
    let gw = strict_gateway();

    // /core: every spelling, `invalid` in the native shape; nothing stored.
    let key = gw.org_with_key("acme", None);
    gw.instance(&key, "core-inst");
    for url in REFUSED {
        let (s, v) = gw.call(
            "PUT",
            "/core/instances/core-inst/webhooks",
            Some(&key),
            Some(json!([{ "url": url }])),
        );
        assert_eq!(s, 400, "{url}: {v}");
        assert_eq!(v["error"]["code"], "invalid", "{url}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.starts_with("webhook url points to ") && msg.contains("does not connect to"),
            "{url}: {msg}"
        );
    }
    let (s, v) = gw.call(
        "GET",
        "/core/instances/core-inst/webhooks",
        Some(&key),
        None,
    );
    assert_eq!((s, v), (200, json!([])));
    // A name is not resolved when set (the connect-time guard checks what it resolves
    // to), so an ordinary public name is accepted.
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/core-inst/webhooks",
        Some(&key),
        Some(json!([{ "url": "https://hooks.example.com/wa" }])),
    );
    assert_eq!(s, 200, "{v}");

    // Ryze: 400 `{success:false, error:{message}}`.
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "acme", "kind": "ryze-account"})),
    );
    assert_eq!(s, 201, "{v}");
    let account = v["token"].as_str().unwrap().to_string();
    let (s, v) = send(
        &gw,
        "POST",
        "/api/instance/new",
        ("token", &account),
        json!({"name": "ryze-inst"}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = send(
        &gw,
        "POST",
        "/api/events/webhook/ryze-inst",
        ("token", &account),
        json!({"url": "http://127.1:8080/hook"}),
    );
    assert_eq!(
        (s, v),
        (
            400,
            json!({"success": false, "error": {"message":
                "webhook url points to 127.0.0.1, a loopback address the gateway does not connect to"}})
        )
    );

    // Evolution: 400 `{status, error: "Bad Request", response: {message: [...]}}`, for a
    // webhook and for a Chatwoot integration (whose API token must never go there).
    let (s, v) = send(
        &gw,
        "POST",
        "/instance/create",
        ("apikey", GLOBAL_KEY),
        json!({"instanceName": "evo-inst", "integration": "WHATSAPP-BAILEYS"}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = send(
        &gw,
        "POST",
        "/webhook/set/evo-inst",
        ("apikey", GLOBAL_KEY),
        json!({"webhook": {"enabled": true, "url": "http://169.254.169.254/latest/meta-data/"}}),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["status"], 400);
    assert_eq!(v["error"], "Bad Request");
    assert_eq!(
        v["response"]["message"],
        json!([
            "webhook url points to 169.254.169.254, a link-local address the gateway does not connect to"
        ])
    );
    let (s, v) = send(
        &gw,
        "POST",
        "/chatwoot/set/evo-inst",
        ("apikey", GLOBAL_KEY),
        json!({"enabled": true, "accountId": "1", "token": "cw-token", "url": "http://[::1]:3000",
               "signMsg": false, "reopenConversation": true, "conversationPending": false}),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"], "Bad Request");
    assert_eq!(
        v["response"]["message"],
        json!([
            "integration url points to ::1, a loopback address the gateway does not connect to"
        ])
    );

    // sessions/v1: its error shape `{error: {code, message, details}}`.
    let (s, v) = send(
        &gw,
        "POST",
        "/api/v1/sessions",
        ("Authorization", &format!("Bearer {key}")),
        json!({"name": "v1-phone"}),
    );
    assert_eq!(s, 201, "{v}");
    let sid = v["id"].as_str().unwrap().to_string();
    let (s, v) = send(
        &gw,
        "PUT",
        &format!("/api/v1/sessions/{sid}/webhooks"),
        ("Authorization", &format!("Bearer {key}")),
        json!({"webhooks": [{"url": "http://0x7f000001/hook"}]}),
    );
    // (sessions/v1 answers every validation failure 422 `validation_error`.)
    assert_eq!(
        (s, v),
        (
            422,
            json!({"error": {"code": "validation_error", "details": {}, "message":
                "webhook url points to 127.0.0.1, a loopback address the gateway does not connect to"}})
        )
    );
}

/// A receiver on `ip` (any loopback address): `(receiver, "http://ip:port")`.
fn receiver_on(ip: &str) -> (Receiver, String) {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    (
        Receiver::start_on(listener, |_| 200),
        format!("http://{ip}:{port}"),
    )
}

fn chatwoot_set(gw: &Gateway, name: &str, hash: &str, url: &str) {
    let (s, v) = send(
        gw,
        "POST",
        &format!("/chatwoot/set/{name}"),
        ("apikey", hash),
        json!({"enabled": true, "accountId": "1", "token": "cw-secret-token", "url": url,
               "signMsg": false, "reopenConversation": true, "conversationPending": false,
               "autoCreate": false}),
    );
    assert_eq!(s, 201, "{v}");
}

/// The guard checks the address a name resolves to when the host connects. Set while
/// the gateway allowed all of loopback, a webhook and a Chatwoot integration at
/// `localhost` are then used by a gateway that allows only 127.0.0.2: `localhost`
/// resolves to 127.0.0.1 (or ::1), which is refused, so nothing reaches that receiver,
/// not even the Chatwoot API token; the same deliveries to 127.0.0.2 go out.
#[test]
fn a_name_resolving_to_a_refused_address_is_refused_at_connect_time() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (refused, refused_base) = receiver_on("127.0.0.1");
    let (allowed, allowed_base) = receiver_on("127.0.0.2");
    let refused_port = refused_base.rsplit(':').next().unwrap().to_string();
    let by_name = format!("http://localhost:{refused_port}");

    let gw = Gateway::start_on_with_env(&data, &[], &[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let a = create(&gw, GLOBAL_KEY, "shop-a");
    let b = create(&gw, GLOBAL_KEY, "shop-b");
    let key = gw.org_with_key("default", None);
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/shop-a/webhooks",
        Some(&key),
        Some(json!([
            {"url": format!("{by_name}/hook"), "events": ["message_upsert"]},
            {"url": format!("{allowed_base}/hook"), "events": ["message_upsert"]},
        ])),
    );
    assert_eq!(s, 200, "{v}");
    chatwoot_set(&gw, "shop-a", &a, &by_name);
    chatwoot_set(&gw, "shop-b", &b, &allowed_base);
    assert_eq!(gw.stop().code(), Some(0));

    let gw = Gateway::start_on_with_env(
        &data,
        &[],
        &[
            ("AUTHENTICATION_API_KEY", GLOBAL_KEY),
            ("WAGATE_OUTBOUND_ALLOW", "127.0.0.2/32"),
        ],
    );
    connect_and_wait(&gw, &a, "shop-a");
    connect_and_wait(&gw, &b, "shop-b");
    gw.inbound("shop-a", "5511999999999", "hello a", false);
    gw.inbound("shop-b", "5511999999999", "hello b", false);

    // The allowed address got the webhook delivery and Chatwoot calls with the token.
    allowed.wait_until("the webhook delivery to 127.0.0.2", |r| r.path == "/hook");
    allowed.wait_until("a Chatwoot API call to 127.0.0.2", |r| {
        r.header("api_access_token") == Some("cw-secret-token")
    });
    // The webhook at `localhost` was refused for good: a dead letter naming why.
    let letters = (0..500)
        .find_map(|_| {
            let (_, v) = gw.admin("GET", "/admin/events/dead-letters", None);
            let hit = v
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["webhook"]["url"] == format!("{by_name}/hook").as_str());
            if hit {
                Some(v)
            } else {
                std::thread::sleep(Duration::from_millis(20));
                None
            }
        })
        .expect("the refused delivery is dead-lettered");
    let letter = letters
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["webhook"]["url"] == format!("{by_name}/hook").as_str())
        .unwrap();
    let error = letter["error"].as_str().unwrap();
    assert!(
        error.contains("`localhost` resolves to") && error.contains("loopback"),
        "{error}"
    );
    // Nothing, and in particular no api_access_token, ever reached 127.0.0.1.
    std::thread::sleep(Duration::from_millis(500));
    assert!(refused.all().is_empty(), "{:#?}", refused.all());
    let (_, metrics) = (0, gw.raw("GET", "/metrics", &[], b""));
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        text.lines().any(|l| l
            .starts_with("wagate_plugin_http_out_denied_total{plugin=\"webhook\"}")
            && !l.ends_with(" 0")),
        "{text}"
    );
}

fn v1_put_webhooks(gw: &Gateway, key: &str, sid: &str, body: Value) -> (u16, Value) {
    send(
        gw,
        "PUT",
        &format!("/api/v1/sessions/{sid}/webhooks"),
        ("Authorization", &format!("Bearer {key}")),
        body,
    )
}

#[test]
fn framing_and_gateway_headers_are_refused_in_webhook_settings() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let key = gw.org_with_key("acme", None);
    let bad = [
        "Content-Length",
        "transfer-encoding",
        "Host",
        "Connection",
        "Keep-Alive",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Upgrade",
        "Expect",
        "X-Wagate-Signature",
        "x-wagate-event-id",
    ];
    // /core.
    gw.instance(&key, "core-inst");
    for name in bad {
        let (s, v) = gw.call(
            "PUT",
            "/core/instances/core-inst/webhooks",
            Some(&key),
            Some(json!([{ "url": "http://127.0.0.1:9/", "headers": [[name, "0"]] }])),
        );
        assert_eq!(s, 400, "{name}: {v}");
        assert_eq!(v["error"]["code"], "invalid");
        assert_eq!(
            v["error"]["message"],
            format!(
                "webhook header `{name}` cannot be set: the gateway sets framing, hop-by-hop and X-Wagate-* headers itself"
            )
        );
    }
    // Evolution.
    create(&gw, GLOBAL_KEY, "evo-inst");
    let (s, v) = send(
        &gw,
        "POST",
        "/webhook/set/evo-inst",
        ("apikey", GLOBAL_KEY),
        json!({"webhook": {"enabled": true, "url": "http://127.0.0.1:9/",
                           "headers": {"Content-Length": "0"}}}),
    );
    // (Evolution keeps header names lower-case.)
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["response"]["message"],
        json!([
            "webhook header `content-length` cannot be set: the gateway sets framing, hop-by-hop and X-Wagate-* headers itself"
        ])
    );
    // sessions/v1.
    let (s, v) = send(
        &gw,
        "POST",
        "/api/v1/sessions",
        ("Authorization", &format!("Bearer {key}")),
        json!({"name": "v1-phone"}),
    );
    assert_eq!(s, 201, "{v}");
    let sid = v["id"].as_str().unwrap().to_string();
    let (s, v) = v1_put_webhooks(
        &gw,
        &key,
        &sid,
        json!({"webhooks": [{"url": "http://127.0.0.1:9/", "headers": {"X-Wagate-Signature": "sha256=forged"}}]}),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "validation_error");
    assert_eq!(
        v["error"]["message"],
        "webhook header `x-wagate-signature` cannot be set: the gateway sets framing, hop-by-hop and X-Wagate-* headers itself"
    );
    // An ordinary custom header is still fine.
    let (s, v) = v1_put_webhooks(
        &gw,
        &key,
        &sid,
        json!({"webhooks": [{"url": "http://127.0.0.1:9/", "headers": {"X-Tenant": "acme"}}]}),
    );
    assert_eq!(s, 200, "{v}");
}

/// Headers stored before the set-time check existed cannot override the delivery's
/// framing or signature: the record is edited in the redb file while the gateway is
/// stopped, and the next delivery still carries its whole body and exactly one, valid,
/// signature.
#[test]
fn stored_framing_and_signature_headers_do_not_reach_the_wire() {
    if crate::common::redb_only("stored_framing_and_signature_headers_do_not_reach_the_wire") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let rcv = Receiver::start();
    let gw = Gateway::start_on(&data, &[]);
    let key = gw.org_with_key("acme", None);
    gw.instance(&key, "hooked");
    let (s, v) = gw.call(
        "PUT",
        "/core/instances/hooked/webhooks",
        Some(&key),
        Some(json!([{ "url": rcv.url("hook"), "headers": [["X-Tenant", "acme"]] }])),
    );
    assert_eq!(s, 200, "{v}");
    let id = v[0]["id"].as_str().unwrap().to_string();
    let secret = v[0]["secret"].as_str().unwrap().to_string();
    assert_eq!(gw.stop().code(), Some(0));

    // What an older gateway could have stored (written straight into the redb file).
    {
        use redb::ReadableTable;
        let db = redb::Database::create(data.join("wagate.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(wagate::store::tables::WEBHOOKS).unwrap();
            let bytes = t.get(id.as_str()).unwrap().unwrap().value().to_vec();
            let mut w: wagate::core::model::Webhook = wagate::store::decode(&bytes).unwrap();
            w.headers = vec![
                ("X-Tenant".into(), "acme".into()),
                ("Content-Length".into(), "0".into()),
                ("X-Wagate-Signature".into(), "sha256=forged".into()),
                ("Transfer-Encoding".into(), "chunked".into()),
            ];
            t.insert(id.as_str(), wagate::store::encode(&w).as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
    }

    let gw = Gateway::start_on(&data, &[]);
    gw.call("POST", "/core/instances/hooked/connect", Some(&key), None);
    let got = rcv.wait_until("a delivery", |r: &Received| r.path == "/hook");
    let r = &got[0];
    assert!(r.body.is_object(), "the body arrived whole: {:?}", r.raw);
    assert_eq!(r.header("x-tenant"), Some("acme"));
    let sigs: Vec<&str> = r
        .headers
        .iter()
        .filter(|(k, _)| k == "x-wagate-signature")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(sigs.len(), 1, "{:?}", r.headers);
    let ts = r.header("x-wagate-timestamp").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&r.raw);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sigs[0], format!("sha256={want}"));
    assert!(r.header("transfer-encoding").is_none(), "{:?}", r.headers);
}

// ---- slow clients and connection bounds ----------------------------------------------

fn gateway_with(server_table: &str) -> (Gateway, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("wagate.toml");
    std::fs::write(&cfg, format!("[server]\n{server_table}")).unwrap();
    let gw = Gateway::start_on(
        &tmp.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    (gw, tmp)
}

fn connect(gw: &Gateway) -> TcpStream {
    let s = TcpStream::connect(gw.base.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads until the server closes (or the read timeout); returns what arrived.
fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn a_trickled_body_is_cut_off_with_408() {
    let (gw, _tmp) = gateway_with("body_timeout_ms = 1500\n");
    let mut s = connect(&gw);
    s.write_all(
        b"POST /core/instances HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    let started = Instant::now();
    // One byte every 2 s, as the attacker in the issue did.
    let mut writer = s.try_clone().unwrap();
    std::thread::spawn(move || {
        for _ in 0..50 {
            std::thread::sleep(Duration::from_secs(2));
            if writer.write_all(b" ").is_err() {
                return;
            }
        }
    });
    let got = read_until_closed(&mut s);
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert!(text.contains(r#""code":"timeout""#), "{text}");
    assert!(
        elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_secs(5),
        "closed after {elapsed:?}"
    );
}

#[test]
fn an_unfinished_head_and_an_idle_keep_alive_connection_are_closed() {
    let (gw, _tmp) = gateway_with("header_timeout_ms = 1000\n");
    // A head that never completes.
    let mut s = connect(&gw);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let started = Instant::now();
    let got = read_until_closed(&mut s);
    let elapsed = started.elapsed();
    assert!(
        !String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"),
        "{got:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "closed after {elapsed:?}"
    );
    // A keep-alive connection that answered one request and then sits idle.
    let mut s = connect(&gw);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let rest = read_until_closed(&mut s);
    assert!(rest.is_empty(), "{rest:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "idle connection closed after {:?}",
        started.elapsed()
    );
}

fn healthz_on(s: &mut TcpStream) -> String {
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn connections_over_the_cap_are_refused_until_others_close() {
    let (gw, _tmp) = gateway_with("max_connections = 8\nmax_connections_per_ip = 0\n");
    let mut held: Vec<TcpStream> = (0..8).map(|_| connect(&gw)).collect();
    // All eight are served (and stay open: keep-alive).
    for s in &mut held {
        assert!(healthz_on(s).starts_with("HTTP/1.1 200"));
    }
    // The ninth is answered 503 and closed.
    let mut ninth = connect(&gw);
    let got = String::from_utf8_lossy(&read_until_closed(&mut ninth)).into_owned();
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    assert!(got.contains("too many open connections"), "{got}");
    // The eight still work.
    for s in &mut held {
        assert!(healthz_on(s).starts_with("HTTP/1.1 200"));
    }
    drop(held);
    // Once they are closed, eight new connections are served at once again. (The
    // server frees a place when it sees the close, a moment after the client's: a
    // refused attempt is retried.)
    let mut fresh = Vec::new();
    for _ in 0..8 {
        let served = (0..100).find_map(|_| {
            let mut s = connect(&gw);
            if healthz_on(&mut s).starts_with("HTTP/1.1 200") {
                Some(s)
            } else {
                std::thread::sleep(Duration::from_millis(20));
                None
            }
        });
        fresh.push(served.expect("a connection is served after the others closed"));
    }
    for s in &mut fresh {
        assert!(healthz_on(s).starts_with("HTTP/1.1 200"));
    }
}

#[test]
fn per_address_cap() {
    let (gw, _tmp) = gateway_with("max_connections_per_ip = 2\n");
    let mut held: Vec<TcpStream> = (0..2).map(|_| connect(&gw)).collect();
    for s in &mut held {
        assert!(healthz_on(s).starts_with("HTTP/1.1 200"));
    }
    let mut third = connect(&gw);
    let got = String::from_utf8_lossy(&read_until_closed(&mut third)).into_owned();
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
}

#[test]
fn a_taken_port_fails_fast_naming_the_address() {
    let gw = Gateway::start();
    let addr = gw.base.trim_start_matches("http://").to_string();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("second");
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args(["serve", "--link", "sim", "--listen", &addr, "--data"])
        .arg(&data)
        .env("WAGATE_ADMIN_TOKEN", common::ADMIN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the second gateway kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains(&format!(
            "cannot listen on {addr}: the address is already in use"
        )),
        "{stderr}"
    );
    // Failed before doing anything: the data folder was never created (nor the plugins
    // compiled into it).
    assert!(!data.exists());
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    // The first gateway is unaffected.
    assert_eq!(gw.call("GET", "/healthz", None, None).0, 200);
}

/// An upgraded WebSocket stream keeps its place under the cap for as long as it runs.
#[test]
fn websocket_streams_count_against_the_cap() {
    let (gw, _tmp) = gateway_with("max_connections = 2\nmax_connections_per_ip = 0\n");
    let key = gw.org_with_key("acme", None);
    gw.instance(&key, "live");
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "acme", "kind": "ryze-account"})),
    );
    assert_eq!(s, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let open_stream = || {
        let mut s = connect(&gw);
        write!(
            s,
            "GET /ws/live HTTP/1.1\r\nHost: x\r\ntoken: {token}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        .unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        s
    };
    let streams = [open_stream(), open_stream()];
    // Both places are taken by the running streams.
    std::thread::sleep(Duration::from_millis(200));
    let mut third = connect(&gw);
    let got = String::from_utf8_lossy(&read_until_closed(&mut third)).into_owned();
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    drop(streams);
    // Closing the streams gives their places back.
    let served = (0..100).any(|_| {
        let mut s = connect(&gw);
        let ok = healthz_on(&mut s).starts_with("HTTP/1.1 200");
        if !ok {
            std::thread::sleep(Duration::from_millis(50));
        }
        ok
    });
    assert!(served, "no connection was served after the streams closed");
}
