//! Evolution API dialect requests (`apikey` header, routes at `/`) and the steps most
//! Evolution tests start with: an instance, its state, a connected instance.

use std::time::Duration;

use serde_json::{Value, json};
use wagate::client::Response;

use super::Gateway;

/// One request with an optional `apikey`; returns (status, body text, the response).
pub fn evo(
    gw: &Gateway,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Response) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(k) = key {
        headers.push(("apikey", k));
    }
    let body = body
        .map(|b| serde_json::to_vec(&b).unwrap())
        .unwrap_or_default();
    let resp = gw.raw(method, path, &headers, &body);
    let text = String::from_utf8(resp.body.clone()).expect("utf-8 body");
    (resp.status, text, resp)
}

/// [`evo`] answering (status, JSON body); panics with the body when it is not JSON.
pub fn evo_json(
    gw: &Gateway,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let (s, text, _) = evo(gw, method, path, key, body);
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
    (s, v)
}

/// Hooks `url` to instance `name`'s `events` with Evolution's `/webhook/set`.
pub fn set_webhook(gw: &Gateway, key: &str, name: &str, url: &str, events: &[&str]) {
    let (s, v) = evo_json(
        gw,
        "POST",
        &format!("/webhook/set/{name}"),
        Some(key),
        Some(json!({"webhook": {"enabled": true, "url": url, "events": events}})),
    );
    assert_eq!(s, 201, "evolution webhook: {v}");
}

/// Creates an instance through Evolution; returns its `hash` (instance token).
pub fn create(gw: &Gateway, key: &str, name: &str) -> String {
    let (s, v) = evo_json(
        gw,
        "POST",
        "/instance/create",
        Some(key),
        Some(json!({"instanceName": name, "integration": "WHATSAPP-BAILEYS"})),
    );
    assert_eq!(s, 201, "create {name}: {v}");
    v["hash"].as_str().expect("hash").to_string()
}

/// The instance's state as `GET /instance/connectionState` reports it.
pub fn state(gw: &Gateway, key: &str, name: &str) -> String {
    let (s, v) = evo_json(
        gw,
        "GET",
        &format!("/instance/connectionState/{name}"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "{v}");
    v["instance"]["state"].as_str().unwrap().to_string()
}

/// Polls [`state`] until the instance is `open` (5 s at most).
pub fn wait_open(gw: &Gateway, key: &str, name: &str) {
    for _ in 0..500 {
        if state(gw, key, name) == "open" {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{name} never opened");
}

/// `GET /instance/connect` and waits until the sim has paired the instance.
pub fn connect_and_wait(gw: &Gateway, key: &str, name: &str) {
    let (s, v) = evo_json(
        gw,
        "GET",
        &format!("/instance/connect/{name}"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "{v}");
    wait_open(gw, key, name);
}

/// Creates an instance with `key` and pairs it with its own token; returns the token.
pub fn open_instance(gw: &Gateway, key: &str, name: &str) -> String {
    let hash = create(gw, key, name);
    connect_and_wait(gw, &hash, name);
    hash
}
