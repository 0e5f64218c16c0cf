//! The operator console (`/console`) through the real binary: its page and assets, the
//! session cookie and the CSRF guard, the API proxy under the session's credential
//! (tenancy and the admin split), the live event feed, QR drawing and logout. The
//! console's screens in a real browser are `tests/console/browser.py`.

use crate::common;

use common::ws::{connect, next_json};
use common::{ADMIN, Gateway};
use serde_json::{Value, json};

/// A console request: the console's CSRF marker, an optional session cookie.
fn console(
    gw: &Gateway,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> wagate::client::Response {
    let cookie = cookie.map(|c| format!("wagate_console={c}"));
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-wagate-console", "1"),
    ];
    if let Some(c) = &cookie {
        headers.push(("cookie", c.as_str()));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    gw.raw(
        method,
        &format!("/console{path}"),
        &headers,
        body.as_bytes(),
    )
}

/// Logs in with `token`; returns the session id from the cookie.
fn login(gw: &Gateway, token: &str) -> String {
    let r = console(gw, "POST", "/session", None, Some(json!({"token": token})));
    assert_eq!(r.status, 200, "{}", r.json());
    let cookie = r
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/console"), "{cookie}");
    assert!(
        !cookie.contains(token),
        "the key never goes back to the browser"
    );
    let value = cookie
        .strip_prefix("wagate_console=")
        .and_then(|c| c.split(';').next())
        .unwrap();
    value.to_string()
}

#[test]
fn the_page_and_its_assets_are_served_with_a_strict_policy() {
    let gw = Gateway::start();
    let r = gw.raw("GET", "/console", &[], b"");
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some("/console/"));
    let r = gw.raw("GET", "/console/", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = String::from_utf8(r.body).unwrap();
    assert!(
        html.contains("app.js") && html.contains("strings.js"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "no inline script");
    for (path, kind) in [
        ("app.js", "text/javascript"),
        ("strings.js", "text/javascript"),
        ("app.css", "text/css"),
    ] {
        let r = gw.raw("GET", &format!("/console/{path}"), &[], b"");
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with(kind),
            "{path}"
        );
        assert!(!r.body.is_empty());
    }
}

#[test]
fn login_proxy_tenancy_and_logout() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    let other = gw.org_with_key("rival", None);
    gw.instance(&other, "theirs");
    let reader = gw.key("acme", Some(&["read"]));

    // The CSRF marker is required, and a browser's cross-site request is refused.
    let r = gw.raw(
        "POST",
        "/console/session",
        &[("content-type", "application/json")],
        json!({"token": key}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 403, "{}", r.json());
    let r = gw.raw(
        "POST",
        "/console/session",
        &[
            ("content-type", "application/json"),
            ("x-wagate-console", "1"),
            ("sec-fetch-site", "cross-site"),
        ],
        json!({"token": key}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 403);
    // A wrong key: 401, no cookie.
    let r = console(
        &gw,
        "POST",
        "/session",
        None,
        Some(json!({"token": "wa_nope"})),
    );
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    // Not logged in.
    assert_eq!(console(&gw, "GET", "/session", None, None).status, 401);
    assert_eq!(
        console(&gw, "GET", "/api/core/instances", None, None).status,
        401
    );

    let sid = login(&gw, &key);
    let who = console(&gw, "GET", "/session", Some(&sid), None).json();
    assert_eq!(who["kind"], "org");
    assert_eq!(who["org_name"], "acme", "{who}");
    assert_eq!(who["capabilities"]["manage"], true, "{who}");
    assert!(
        who["sinks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "chatwoot"),
        "the loaded sinks, offered for integrations: {who}"
    );

    // The native API, as the session's key.
    let r = console(
        &gw,
        "POST",
        "/api/core/instances",
        Some(&sid),
        Some(json!({"name": "shop"})),
    );
    assert_eq!(r.status, 201, "{}", r.json());
    let list = console(&gw, "GET", "/api/core/instances", Some(&sid), None).json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shop"], "only the org's own instances");
    assert_eq!(
        console(&gw, "GET", "/api/core/instances/theirs", Some(&sid), None).status,
        404
    );
    // The CSRF marker is needed on the API too, with a valid cookie.
    let r = gw.raw(
        "GET",
        "/console/api/core/instances",
        &[("cookie", &format!("wagate_console={sid}"))],
        b"",
    );
    assert_eq!(r.status, 403);
    // An org session cannot reach the admin API.
    assert_eq!(
        console(&gw, "GET", "/api/admin/orgs", Some(&sid), None).status,
        403
    );
    // A read-only key's session can read but not create.
    let ro = login(&gw, &reader);
    assert_eq!(
        console(&gw, "GET", "/api/core/instances", Some(&ro), None).status,
        200
    );
    assert_eq!(
        console(
            &gw,
            "POST",
            "/api/core/instances",
            Some(&ro),
            Some(json!({"name": "x"}))
        )
        .status,
        403
    );

    // The admin token: the admin API, every org.
    let admin = login(&gw, ADMIN);
    assert_eq!(
        console(&gw, "GET", "/session", Some(&admin), None).json()["kind"],
        "admin"
    );
    let orgs = console(&gw, "GET", "/api/admin/orgs", Some(&admin), None);
    assert_eq!(orgs.status, 200);
    assert_eq!(orgs.json().as_array().unwrap().len(), 2);
    let all = console(&gw, "GET", "/api/admin/instances", Some(&admin), None).json();
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    // Plugin health: a dialect that served a call counts it, with failures by kind.
    assert_eq!(gw.raw("GET", "/api/openapi.json", &[], b"").status, 200);
    let plugins = console(&gw, "GET", "/api/admin/plugins", Some(&admin), None).json();
    let find = |name: &str| {
        plugins["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {plugins}"))
            .clone()
    };
    let ryze = find("ryze");
    assert!(ryze["health"]["calls"].as_u64().unwrap() >= 1, "{ryze}");
    assert_eq!(ryze["health"]["failures"]["trap"], 0, "{ryze}");
    let kinds: Vec<&String> = ryze["health"]["failures"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        kinds,
        ["deadline", "instantiate", "malformed", "memory", "trap"]
    );

    // A QR code drawn for pairing.
    let r = console(
        &gw,
        "POST",
        "/api/qr",
        Some(&sid),
        Some(json!({"text": "2@abc,def"})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(String::from_utf8(r.body).unwrap().starts_with("<svg"));

    // Logout clears the cookie and ends the session for good.
    let r = console(&gw, "DELETE", "/session", Some(&sid), None);
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        console(&gw, "GET", "/api/core/instances", Some(&sid), None).status,
        401
    );
    assert_eq!(
        console(&gw, "GET", "/session", Some("forged"), None).status,
        401
    );
}

#[test]
fn the_console_can_be_turned_off_or_moved() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("wagate.toml");
    std::fs::write(&config, "[console]\npath = \"/ops\"\n").unwrap();
    let gw = Gateway::start_on(
        &tmp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    assert_eq!(gw.raw("GET", "/ops/", &[], b"").status, 200);
    assert_ne!(gw.raw("GET", "/console/", &[], b"").status, 200);
    drop(gw);
    std::fs::write(&config, "[console]\nenabled = false\n").unwrap();
    let gw = Gateway::start_on(
        &tmp.path().join("data2"),
        &["--config", config.to_str().unwrap()],
    );
    assert_ne!(gw.raw("GET", "/console/", &[], b"").status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_carries_the_sessions_events_only() {
    let gw = tokio::task::spawn_blocking(Gateway::start).await.unwrap();
    let key = gw.org_with_key("acme", None);
    let rival = gw.org_with_key("rival", None);
    let sid = login(&gw, &key);
    let cookie = format!("wagate_console={sid}");
    // No session, or a page on another origin riding the cookie: refused.
    assert_eq!(
        connect(&gw, "/console/api/events", &[]).await.err(),
        Some(401)
    );
    assert_eq!(
        connect(
            &gw,
            "/console/api/events",
            &[("cookie", &cookie), ("origin", "http://evil.example")]
        )
        .await
        .err(),
        Some(403)
    );
    let host = gw.base.trim_start_matches("http://").to_string();
    let mut ws = connect(
        &gw,
        "/console/api/events",
        &[("cookie", &cookie), ("origin", &format!("http://{host}"))],
    )
    .await
    .expect("upgrade");
    // The rival org's traffic first: it must not reach this feed.
    let gw2 = &gw;
    tokio::task::block_in_place(|| {
        gw2.connected_instance(&rival, "theirs");
        gw2.inbound("theirs", "5511999999999", "secret", false);
        gw2.connected_instance(&key, "shop");
    });
    let mut saw_open = false;
    while !saw_open {
        let ev = next_json(&mut ws).await;
        assert_eq!(
            ev["org"],
            gw_org(&gw, &key),
            "another org's event leaked: {ev}"
        );
        assert_eq!(ev["instance_name"], "shop", "{ev}");
        saw_open = ev["payload"]["type"] == "connection_update" && ev["payload"]["data"] == "open";
    }
    let id = tokio::task::block_in_place(|| gw2.inbound("shop", "5511999999999", "hello", false));
    loop {
        let ev = next_json(&mut ws).await;
        if ev["payload"]["type"] == "message_upsert" {
            assert_eq!(ev["payload"]["data"]["id"], id.as_str());
            break;
        }
    }
}

/// The org id an api key belongs to (what native events carry as `org`).
fn gw_org(gw: &Gateway, key: &str) -> String {
    let (_, list) = gw.call("GET", "/core/instances", Some(key), None);
    list[0]["org"].as_str().unwrap().to_string()
}
