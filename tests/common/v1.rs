//! sessions/v1 dialect requests (bearer key, routes under `/api/v1`), its error body,
//! and a session created and paired through it.

use serde_json::{Value, json};

use super::Gateway;

/// A request under `/api/v1` with a bearer key and a raw body; answers (status, JSON
/// body, or `null` when the body is not JSON).
pub fn v1_raw(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let r = wagate::client::request(
        &gw.base,
        method,
        &format!("/api/v1{path}"),
        &headers,
        body.map(str::as_bytes),
    )
    .expect("request");
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// [`v1_raw`] with a JSON body.
pub fn v1(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    v1_raw(gw, method, path, token, body.as_deref())
}

/// Hooks `url` to session `sid`'s `events` with sessions/v1's webhooks route.
pub fn set_webhook(gw: &Gateway, token: &str, sid: &str, url: &str, events: &[&str]) {
    let (s, v) = v1(
        gw,
        "PUT",
        &format!("/sessions/{sid}/webhooks"),
        token,
        Some(json!({"webhooks": [{"url": url, "events": events}]})),
    );
    assert_eq!(s, 200, "sessions/v1 webhooks: {v}");
}

/// sessions/v1's error body.
pub fn err(code: &str, message: &str, details: Value) -> Value {
    json!({ "error": { "code": code, "message": message, "details": details } })
}

/// `POST /sessions`; returns the session id.
pub fn create_session(gw: &Gateway, key: &str, name: &str) -> String {
    let (s, v) = v1(gw, "POST", "/sessions", key, Some(json!({ "name": name })));
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// Connects a session and waits until the sim has paired it (`working`).
pub fn pair(gw: &Gateway, key: &str, sid: &str) {
    let (s, v) = v1(gw, "POST", &format!("/sessions/{sid}/connect"), key, None);
    assert_eq!(s, 200, "{v}");
    for _ in 0..300 {
        let (_, v) = v1(gw, "GET", &format!("/sessions/{sid}"), key, None);
        if v["status"] == "working" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("session {sid} never paired");
}

/// Creates a session and pairs it; returns its id.
pub fn paired_session(gw: &Gateway, key: &str, name: &str) -> String {
    let sid = create_session(gw, key, name);
    pair(gw, key, &sid);
    sid
}
