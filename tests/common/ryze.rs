//! RyzeAPI dialect requests (`token` header, `/api/...` routes) and the steps most Ryze
//! tests start with: an account token, an instance, a connected instance.

use std::time::Duration;

use serde_json::{Value, json};
use wagate::client::Response;

use super::Gateway;

/// One request with RyzeAPI's `token` header (none when `token` is `None`) and a raw
/// body.
pub fn ryze(gw: &Gateway, method: &str, path: &str, token: Option<&str>, body: &str) -> Response {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(t) = token {
        headers.push(("token", t));
    }
    gw.raw(method, path, &headers, body.as_bytes())
}

/// [`ryze`] with a JSON body; answers (status, JSON body).
pub fn ryze_json(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let r = ryze(gw, method, path, token, &body.to_string());
    (r.status, r.json())
}

/// Hooks `url` to instance `name`'s `events` with RyzeAPI's webhook route.
pub fn set_webhook(gw: &Gateway, account: &str, name: &str, url: &str, events: &[&str]) {
    let (s, v) = ryze_json(
        gw,
        "POST",
        &format!("/api/events/webhook/{name}"),
        Some(account),
        json!({"url": url, "events": events}),
    );
    assert_eq!(s, 200, "ryze webhook: {v}");
}

/// RyzeAPI's error body.
pub fn error(message: &str) -> Value {
    json!({"success": false, "error": {"message": message}})
}

/// An org (created if missing) and a TokenAccount for it.
pub fn account(gw: &Gateway, org: &str) -> String {
    let (s, _) = gw.admin("POST", "/admin/orgs", Some(json!({"name": org})));
    assert!(s == 201 || s == 409, "create org: {s}");
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": org, "kind": "ryze-account"})),
    );
    assert_eq!(s, 201, "mint ryze-account: {v}");
    let token = v["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ryze_"), "{token}");
    token
}

/// `POST /api/instance/new`; returns the TokenInstance.
pub fn create(gw: &Gateway, account: &str, name: &str) -> String {
    let (s, v) = ryze_json(
        gw,
        "POST",
        "/api/instance/new",
        Some(account),
        json!({"name": name}),
    );
    assert_eq!(s, 201, "create {name}: {v}");
    v["instance"]["token"].as_str().unwrap().to_string()
}

/// The instance's `connection.state` as `GET /api/instance/list` reports it.
pub fn state(gw: &Gateway, token: &str, name: &str) -> String {
    let (s, v) = ryze_json(
        gw,
        "GET",
        &format!("/api/instance/list?instanceName={name}"),
        Some(token),
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    v["data"][0]["connection"]["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls [`state`] until the sim has paired the instance (3 s at most).
pub fn wait_connected(gw: &Gateway, token: &str, name: &str) {
    for _ in 0..300 {
        if state(gw, token, name) == "connected" {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{name} never connected");
}

/// Create + connect (QR) + wait; returns the TokenInstance.
pub fn connected(gw: &Gateway, account: &str, name: &str) -> String {
    let token = create(gw, account, name);
    let r = ryze(
        gw,
        "GET",
        &format!("/api/instance/connect/{name}"),
        Some(&token),
        "",
    );
    assert_eq!(r.status, 200, "{}", r.json());
    wait_connected(gw, &token, name);
    token
}
