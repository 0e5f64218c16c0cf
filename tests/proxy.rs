//! Proxy per instance (issue 18): Evolution's `/proxy/set` and `/proxy/find` on the
//! sim link (shapes, errors, tenancy, deletion), and on the `whatsapp` link against
//! the fake WhatsApp server, the instance's connection really passing through a
//! small proxy run by the test (`tests/common/proxy.rs`, HTTP CONNECT and SOCKS5,
//! counting its tunnels) while another instance's goes direct; a proxy refusing the
//! credentials leaves the instance in a clear `close` state, retried with backoff,
//! until the proxy is fixed (used at the next attempt, no restart). Ryze's and
//! sessions/v1's routes; media fetched from a URL for `sendMedia` passing the
//! instance's proxy (and the SSRF guard still refusing a metadata address). (The
//! media download through the proxy is in whatsapp_gateway_fake.rs, beside the media
//! helpers.)

use crate::common;
use crate::common::fake_whatsapp;

use std::time::{Duration, Instant};

use common::Gateway;
use common::evolution::{create, evo, evo_json, state};
use common::proxy::{Kind, TestProxy};
use fake_whatsapp::FakeWhatsApp;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-tests";

fn proxy_body(port: impl Into<Value>, protocol: &str) -> Value {
    json!({"enabled": true, "host": "127.0.0.1", "port": port.into(), "protocol": protocol})
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn assert_bad_request(v: &Value, needle: &str) {
    assert_eq!(v["status"], 400, "{v}");
    assert_eq!(v["error"], "Bad Request", "{v}");
    let msgs = v["response"]["message"].as_array().expect("messages");
    assert!(
        msgs.iter()
            .any(|m| m.as_str().is_some_and(|m| m.contains(needle))),
        "no message with `{needle}` in {v}"
    );
}

#[test]
fn evolution_proxy_set_find_round_trip_errors_and_deletion() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let proxy = TestProxy::start(Kind::HttpConnect);
    create(&gw, GLOBAL_KEY, "shop");

    // Nothing set yet: Evolution's find answers null.
    let (s, text, _) = evo(&gw, "GET", "/proxy/find/shop", Some(GLOBAL_KEY), None);
    assert_eq!((s, text.as_str()), (200, "null"));

    let mut body = proxy_body(proxy.port().to_string(), "http");
    body["username"] = json!("alice");
    body["password"] = json!("s3cret-pass");
    let (s, v) = evo_json(&gw, "POST", "/proxy/set/shop", Some(GLOBAL_KEY), Some(body));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["proxy"]["instanceName"], "shop");
    assert_eq!(v["proxy"]["proxy"]["host"], "127.0.0.1");
    assert_eq!(v["proxy"]["proxy"]["port"], proxy.port().to_string());

    let (s, text, _) = evo(&gw, "GET", "/proxy/find/shop", Some(GLOBAL_KEY), None);
    assert_eq!(s, 200, "{text}");
    assert!(
        !text.contains("s3cret-pass"),
        "the password is never answered: {text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v,
        json!({"enabled": true, "host": "127.0.0.1", "port": proxy.port().to_string(),
               "protocol": "http", "username": "alice", "password": "********"})
    );
    // fetchInstances carries the same row.
    let (_, rows) = evo_json(
        &gw,
        "GET",
        "/instance/fetchInstances?instanceName=shop",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(rows[0]["Proxy"], v, "{rows}");

    // Bad input, in Evolution's error shape; nothing stored changes.
    for (body, needle) in [
        (proxy_body("70000", "http"), "between 1 and 65535"),
        (proxy_body("0", "socks5"), "between 1 and 65535"),
        (proxy_body("not-a-port", "http"), "between 1 and 65535"),
        (
            proxy_body(proxy.port().to_string(), "ftp"),
            "protocol must be one of",
        ),
        (
            json!({"enabled": true, "port": "1", "protocol": "http"}),
            "instance requires property \"host\"",
        ),
        (
            proxy_body(dead_port().to_string(), "socks5"),
            "Invalid proxy",
        ),
    ] {
        let (s, v) = evo_json(
            &gw,
            "POST",
            "/proxy/set/shop",
            Some(GLOBAL_KEY),
            Some(body.clone()),
        );
        assert_eq!(s, 400, "{body}: {v}");
        assert_bad_request(&v, needle);
    }
    let (_, after) = evo_json(&gw, "GET", "/proxy/find/shop", Some(GLOBAL_KEY), None);
    assert_eq!(after, v, "refused input changed the stored proxy");

    // Sending the mask back keeps the stored password (a client re-saving what it read).
    let mut resave = proxy_body(proxy.port().to_string(), "socks5");
    resave["username"] = json!("alice");
    resave["password"] = json!("********");
    let (s, v2) = evo_json(
        &gw,
        "POST",
        "/proxy/set/shop",
        Some(GLOBAL_KEY),
        Some(resave),
    );
    assert_eq!(s, 201, "{v2}");
    let (_, found) = evo_json(&gw, "GET", "/proxy/find/shop", Some(GLOBAL_KEY), None);
    assert_eq!(found["protocol"], "socks5");
    assert_eq!(found["password"], "********");

    // Tenancy: a read-only key reads but cannot set; another org sees no instance.
    let (s, ro) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "evolution-key", "capabilities": ["read"]})),
    );
    assert_eq!(s, 201, "{ro}");
    let ro = ro["token"].as_str().unwrap();
    let (s, _) = evo_json(&gw, "GET", "/proxy/find/shop", Some(ro), None);
    assert_eq!(s, 200);
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/proxy/set/shop",
        Some(ro),
        Some(json!({"enabled": false, "host": "x", "port": "1", "protocol": "http"})),
    );
    assert_eq!(s, 403, "{v}");
    let (s, _) = gw.admin("POST", "/admin/orgs", Some(json!({"name": "other"})));
    assert_eq!(s, 201);
    let (s, other) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "other", "kind": "evolution-key"})),
    );
    assert_eq!(s, 201, "{other}");
    let other = other["token"].as_str().unwrap();
    for (method, path, body) in [
        ("GET", "/proxy/find/shop", None),
        (
            "POST",
            "/proxy/set/shop",
            Some(proxy_body(proxy.port().to_string(), "http")),
        ),
    ] {
        let (s, v) = evo_json(&gw, method, path, Some(other), body);
        assert_eq!(s, 404, "{method} {path}: {v}");
    }
    let (_, still) = evo_json(&gw, "GET", "/proxy/find/shop", Some(GLOBAL_KEY), None);
    assert_eq!(
        still["protocol"], "socks5",
        "another org changed it: {still}"
    );

    // enabled: false removes it (Evolution blanks the row).
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/proxy/set/shop",
        Some(GLOBAL_KEY),
        Some(json!({"enabled": false, "host": "", "port": "", "protocol": ""})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["proxy"]["proxy"]["enabled"], false);
    let (_, text, _) = evo(&gw, "GET", "/proxy/find/shop", Some(GLOBAL_KEY), None);
    assert_eq!(text, "null");

    // The proxy goes with its instance: a new instance of the same name has none.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/proxy/set/shop",
        Some(GLOBAL_KEY),
        Some(proxy_body(proxy.port().to_string(), "http")),
    );
    assert_eq!(s, 201, "{v}");
    let (s, _, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/shop",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200);
    create(&gw, GLOBAL_KEY, "shop");
    let (_, text, _) = evo(&gw, "GET", "/proxy/find/shop", Some(GLOBAL_KEY), None);
    assert_eq!(text, "null");

    // Create's inline proxy fields set it too.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/instance/create",
        Some(GLOBAL_KEY),
        Some(
            json!({"instanceName": "inline", "integration": "WHATSAPP-BAILEYS",
                    "proxyHost": "127.0.0.1", "proxyPort": proxy.port().to_string(),
                    "proxyProtocol": "socks5", "proxyUsername": "bob", "proxyPassword": "pw"}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let (_, found) = evo_json(&gw, "GET", "/proxy/find/inline", Some(GLOBAL_KEY), None);
    assert_eq!(found["protocol"], "socks5", "{found}");
    assert_eq!(found["username"], "bob", "{found}");
}

/// A gateway on the whatsapp link talking to `server`.
fn real_gateway(server: &FakeWhatsApp) -> (Gateway, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let url = server.url();
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--link", "whatsapp", "--whatsapp-url", &url],
        &[("AUTHENTICATION_API_KEY", GLOBAL_KEY)],
    );
    (gw, tmp)
}

/// Connects `name` and expects the QR code the fake server's pairing offer gives.
fn connect_for_qr(gw: &Gateway, name: &str, server: &FakeWhatsApp) {
    let (s, v) = evo_json(
        gw,
        "GET",
        &format!("/instance/connect/{name}"),
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "connect {name}: {v}");
    assert!(
        v["code"].as_str().is_some_and(|c| c.starts_with("2@")),
        "{name}: no QR code in {v}\nserver saw:\n{}",
        server.dump()
    );
}

#[test]
fn a_proxied_instance_connects_through_its_proxy_and_another_does_not() {
    let server = FakeWhatsApp::start();
    let (gw, _tmp) = real_gateway(&server);
    let server_addr = server.url();
    let server_addr = server_addr
        .strip_prefix("ws://")
        .and_then(|u| u.strip_suffix("/ws/chat"))
        .unwrap()
        .to_string();
    let socks = TestProxy::start_with(Kind::Socks5, Some(("alice", "pw-1")));
    let http = TestProxy::start(Kind::HttpConnect);

    for name in ["direct", "via-socks", "via-http"] {
        create(&gw, GLOBAL_KEY, name);
    }
    let mut body = proxy_body(socks.port().to_string(), "socks5");
    body["username"] = json!("alice");
    body["password"] = json!("pw-1");
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/proxy/set/via-socks",
        Some(GLOBAL_KEY),
        Some(body),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/proxy/set/via-http",
        Some(GLOBAL_KEY),
        Some(proxy_body(http.port().to_string(), "http")),
    );
    assert_eq!(s, 201, "{v}");

    // The unproxied instance reaches the server without either proxy.
    connect_for_qr(&gw, "direct", &server);
    assert_eq!((socks.tunnels(), http.tunnels()), (0, 0));

    // Each proxied one through its own proxy, to the server's address.
    connect_for_qr(&gw, "via-socks", &server);
    assert!(socks.tunnels() >= 1, "socks5 proxy carried nothing");
    assert_eq!(socks.refused(), 0);
    assert!(
        socks.targets().iter().all(|t| *t == server_addr),
        "{:?} vs {server_addr}",
        socks.targets()
    );
    assert_eq!(http.tunnels(), 0, "the http proxy carried another instance");

    connect_for_qr(&gw, "via-http", &server);
    assert!(http.tunnels() >= 1, "http proxy carried nothing");
    assert!(
        http.targets().iter().all(|t| *t == server_addr),
        "{:?}",
        http.targets()
    );
    // Three instances, three handshakes with the server.
    assert!(server.sessions().len() >= 3, "{:?}", server.sessions());
}

#[test]
fn a_proxy_refusing_the_credentials_leaves_the_instance_closed_and_paced() {
    let server = FakeWhatsApp::start();
    let (gw, _tmp) = real_gateway(&server);
    let proxy = TestProxy::start_with(Kind::Socks5, Some(("alice", "right")));
    create(&gw, GLOBAL_KEY, "shop");
    let mut body = proxy_body(proxy.port().to_string(), "socks5");
    body["username"] = json!("alice");
    body["password"] = json!("wrong");
    let (s, v) = evo_json(&gw, "POST", "/proxy/set/shop", Some(GLOBAL_KEY), Some(body));
    assert_eq!(s, 201, "the proxy is reachable, so it is saved: {v}");

    let (s, v) = evo_json(&gw, "GET", "/instance/connect/shop", Some(GLOBAL_KEY), None);
    assert_eq!(s, 200, "{v}");
    assert!(
        v.get("code").is_none_or(Value::is_null),
        "no QR without a connection: {v}"
    );

    // A clear state: closed, not forever "connecting".
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(&gw, GLOBAL_KEY, "shop") != "close" {
        assert!(
            Instant::now() < deadline,
            "state stayed {}",
            state(&gw, GLOBAL_KEY, "shop")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(proxy.refused() >= 1);
    assert_eq!(proxy.tunnels(), 0);
    assert!(server.sessions().is_empty(), "{:?}", server.sessions());

    // Retried with backoff, not in a hot loop (base 500 ms, doubling).
    let before = proxy.refused();
    std::thread::sleep(Duration::from_secs(3));
    let retries = proxy.refused() - before;
    assert!(retries <= 4, "{retries} attempts in 3 s");
    assert_eq!(state(&gw, GLOBAL_KEY, "shop"), "close");

    // Fixing the credentials takes effect at the session's next attempt, no restart.
    let mut fixed = proxy_body(proxy.port().to_string(), "socks5");
    fixed["username"] = json!("alice");
    fixed["password"] = json!("right");
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/proxy/set/shop",
        Some(GLOBAL_KEY),
        Some(fixed),
    );
    assert_eq!(s, 201, "{v}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.tunnels() == 0 || server.sessions().is_empty() {
        assert!(Instant::now() < deadline, "the fixed proxy was never used");
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(&gw, GLOBAL_KEY, "shop") == "close" {
        assert!(
            Instant::now() < deadline,
            "still close after the proxy carried it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ryze_and_v1_set_read_and_remove_the_proxy_in_their_shapes() {
    use common::ryze::{self, ryze_json};
    use common::v1::{create_session, v1};
    let gw = Gateway::start();
    let proxy = TestProxy::start(Kind::Socks5);

    // RyzeAPI: /api/instance/proxy/{instance}.
    let account = ryze::account(&gw, "acme");
    let instance_token = ryze::create(&gw, &account, "shop");
    let path = "/api/instance/proxy/shop";
    let (s, v) = ryze_json(&gw, "GET", path, Some(&account), json!(null));
    assert_eq!((s, v), (200, json!({"success": true, "proxy": null})));
    let (s, v) = ryze_json(
        &gw,
        "POST",
        path,
        Some(&account),
        json!({"protocol": "socks5", "host": "127.0.0.1", "port": proxy.port(),
               "username": "alice", "password": "pw"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["proxy"]["password"], "********", "{v}");
    let (s, v) = ryze_json(&gw, "GET", path, Some(&instance_token), json!(null));
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["proxy"],
        json!({"enabled": true, "protocol": "socks5", "host": "127.0.0.1", "port": proxy.port(),
               "username": "alice", "password": "********"})
    );
    for body in [
        json!({"protocol": "socks5", "host": "127.0.0.1", "port": 70000}),
        json!({"protocol": "gopher", "host": "127.0.0.1", "port": proxy.port()}),
        json!({"protocol": "http", "host": "127.0.0.1", "port": dead_port()}),
    ] {
        let (s, v) = ryze_json(&gw, "POST", path, Some(&account), body.clone());
        assert_eq!(s, 400, "{body}: {v}");
        assert_eq!(v["success"], false, "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    }
    // Another account's org has no such instance.
    let other = ryze::account(&gw, "other");
    let (s, v) = ryze_json(&gw, "GET", path, Some(&other), json!(null));
    assert_eq!(s, 404, "{v}");
    let (s, v) = ryze_json(&gw, "POST", path, Some(&account), json!({"enabled": false}));
    assert_eq!((s, &v["proxy"]), (200, &Value::Null), "{v}");

    // sessions/v1: /sessions/{sid}/proxy.
    let key = gw.org_with_key("v1org", None);
    let sid = create_session(&gw, &key, "sess");
    let path = format!("/sessions/{sid}/proxy");
    let (s, v) = v1(&gw, "GET", &path, &key, None);
    assert_eq!((s, v), (200, json!({"proxy": null})));
    let (s, v) = v1(
        &gw,
        "PUT",
        &path,
        &key,
        Some(
            json!({"protocol": "http", "host": "127.0.0.1", "port": proxy.port(), "password": "x"}),
        ),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["proxy"]["protocol"], "http");
    assert_eq!(v["proxy"]["password"], "********");
    let (s, v) = v1(
        &gw,
        "PUT",
        &path,
        &key,
        Some(json!({"protocol": "ftp", "host": "", "port": 0})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "validation_error", "{v}");
    for field in ["protocol", "host", "port"] {
        assert!(
            v["error"]["details"]["fields"].get(field).is_some(),
            "{field}: {v}"
        );
    }
    let read_only = gw.key("v1org", Some(&["read"]));
    let (s, _) = v1(&gw, "GET", &path, &read_only, None);
    assert_eq!(s, 200);
    let (s, v) = v1(&gw, "DELETE", &path, &read_only, None);
    assert_eq!(s, 403, "{v}");
    let (s, _) = v1(&gw, "DELETE", &path, &key, None);
    assert_eq!(s, 204);
    let (_, v) = v1(&gw, "GET", &path, &key, None);
    assert_eq!(v, json!({"proxy": null}));
}

/// Issue 18, media fetched from a URL for `sendMedia` goes through the instance's
/// proxy (SOCKS5 for one instance, HTTP CONNECT for another), while a third instance
/// without a proxy fetches directly; the SSRF guard still refuses a URL whose host is
/// a refused address, before the proxy is asked for anything.
#[test]
fn media_urls_are_fetched_through_the_instances_proxy_and_still_guarded() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let files = crate::media::Files::start();
    let url = files.serve("/p.png", "image/png", crate::media::png());
    let file_host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let socks = TestProxy::start(Kind::Socks5);
    let http = TestProxy::start(Kind::HttpConnect);
    for (name, proxy) in [
        ("viasocks", Some((&socks, "socks5"))),
        ("viahttp", Some((&http, "http"))),
        ("direct", None),
    ] {
        common::evolution::open_instance(&gw, GLOBAL_KEY, name);
        if let Some((p, protocol)) = proxy {
            let (s, v) = evo_json(
                &gw,
                "POST",
                &format!("/proxy/set/{name}"),
                Some(GLOBAL_KEY),
                Some(proxy_body(p.port().to_string(), protocol)),
            );
            assert_eq!(s, 201, "{v}");
        }
    }
    let send = |name: &str, media: &str| {
        evo_json(
            &gw,
            "POST",
            &format!("/message/sendMedia/{name}"),
            Some(GLOBAL_KEY),
            Some(json!({"number": "5511999999999", "mediatype": "image", "media": media})),
        )
    };

    let (s, v) = send("direct", &url);
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (socks.tunnels(), http.tunnels()),
        (0, 0),
        "a direct fetch used a proxy"
    );
    let (s, v) = send("viasocks", &url);
    assert_eq!(s, 201, "{v}");
    assert_eq!((socks.tunnels(), http.tunnels()), (1, 0));
    assert_eq!(socks.targets(), std::slice::from_ref(&file_host));
    let (s, v) = send("viahttp", &url);
    assert_eq!(s, 201, "{v}");
    assert_eq!((socks.tunnels(), http.tunnels()), (1, 1));
    assert_eq!(http.targets(), [file_host]);

    // A link-local (metadata) address stays refused behind a proxy, and the proxy is
    // not asked to reach it.
    let (s, v) = send("viasocks", "http://169.254.169.254/latest/meta-data/x.png");
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("refused"), "{v}");
    assert_eq!(
        socks.tunnels(),
        1,
        "the proxy was asked for a refused address"
    );
}
