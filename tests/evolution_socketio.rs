//! Evolution's websocket integration through the real binary (issue 18):
//! `/websocket/set` and `/websocket/find` (stored, tenancy, validation, create's inline
//! block), and the Socket.IO endpoint at `/socket.io/` (served only when switched on,
//! its polling transport under the CORS policy, foreign WebSocket handshakes refused).
//! A Socket.IO client receiving events is `tests/socketio/evolution.py` (run by
//! `.ci/run` with python-socketio); the browser's is in `tests/browser/cors.py`.

use crate::common;

use common::Gateway;
use common::evolution::{evo, evo_json};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-socketio";

fn start(extra: &[(&str, &str)]) -> Gateway {
    let mut env = vec![("AUTHENTICATION_API_KEY", GLOBAL_KEY)];
    env.extend_from_slice(extra);
    Gateway::start_with_env(&env)
}

fn create(gw: &Gateway, name: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({"instanceName": name, "integration": "WHATSAPP-BAILEYS"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    evo_json(gw, "POST", "/instance/create", Some(GLOBAL_KEY), Some(body))
}

fn set(gw: &Gateway, key: &str, name: &str, body: Value) -> (u16, Value) {
    evo_json(
        gw,
        "POST",
        &format!("/websocket/set/{name}"),
        Some(key),
        Some(body),
    )
}

fn find(gw: &Gateway, key: &str, name: &str) -> (u16, Value) {
    evo_json(
        gw,
        "GET",
        &format!("/websocket/find/{name}"),
        Some(key),
        None,
    )
}

fn message(v: &Value) -> &str {
    v["response"]["message"][0].as_str().unwrap_or_default()
}

#[test]
fn websocket_set_and_find_store_the_instances_settings() {
    let gw = start(&[]);
    let (s, v) = create(&gw, "shop", json!({}));
    assert_eq!(s, 201, "{v}");
    let instance_id = v["instance"]["instanceId"].as_str().unwrap().to_string();

    // Never set: null, as Evolution's findUnique.
    assert_eq!(find(&gw, GLOBAL_KEY, "shop"), (200, Value::Null));

    let (s, row) = set(
        &gw,
        GLOBAL_KEY,
        "shop",
        json!({"websocket": {"enabled": true, "events": ["MESSAGES_UPSERT", "CONNECTION_UPDATE"]}}),
    );
    assert_eq!(s, 201, "{row}");
    assert_eq!(row["enabled"], true);
    assert_eq!(
        row["events"],
        json!(["MESSAGES_UPSERT", "CONNECTION_UPDATE"])
    );
    assert_eq!(row["instanceId"], instance_id.as_str());
    for k in ["id", "createdAt", "updatedAt"] {
        assert!(row[k].is_string(), "{k}: {row}");
    }
    let (s, found) = find(&gw, GLOBAL_KEY, "shop");
    assert_eq!((s, &found), (200, &row));

    // Enabled with no events: every event (Evolution's `EventController.events`).
    let (s, row) = set(
        &gw,
        GLOBAL_KEY,
        "shop",
        json!({"websocket": {"enabled": true}}),
    );
    assert_eq!(s, 201, "{row}");
    let all = row["events"].as_array().unwrap();
    assert_eq!(all.len(), 31, "{row}");
    assert!(all.contains(&json!("QRCODE_UPDATED")));
    assert_eq!(
        row["createdAt"], found["createdAt"],
        "an update keeps the row's creation time"
    );

    // Disabled: no events stored, whatever was asked.
    let (s, row) = set(
        &gw,
        GLOBAL_KEY,
        "shop",
        json!({"websocket": {"enabled": false, "events": ["MESSAGES_UPSERT"]}}),
    );
    assert_eq!(s, 201, "{row}");
    assert_eq!(
        (row["enabled"].clone(), row["events"].clone()),
        (json!(false), json!([]))
    );
    assert_eq!(find(&gw, GLOBAL_KEY, "shop").1["enabled"], false);
}

#[test]
fn websocket_set_refuses_bad_bodies_in_evolutions_shape() {
    let gw = start(&[]);
    assert_eq!(create(&gw, "shop", json!({})).0, 201);
    for (body, says) in [
        (json!({}), "instance requires property \"websocket\""),
        (
            json!({"websocket": {"events": []}}),
            "instance requires property \"websocket.enabled\"",
        ),
        (
            json!({"websocket": {"enabled": "yes"}}),
            "websocket.enabled is not of a type(s) boolean",
        ),
        (
            json!({"websocket": {"enabled": true, "events": ["MESSAGES_UPSERT", "NOPE"]}}),
            "websocket.events[1] is not one of enum values",
        ),
        (
            json!({"websocket": {"enabled": true, "events": "MESSAGES_UPSERT"}}),
            "websocket.events is not of a type(s) array",
        ),
        (
            json!({"websocket": true}),
            "websocket is not of a type(s) object",
        ),
    ] {
        let (s, v) = set(&gw, GLOBAL_KEY, "shop", body.clone());
        assert_eq!(s, 400, "{body}: {v}");
        assert_eq!(v["error"], "Bad Request", "{v}");
        assert!(message(&v).starts_with(says), "{body}: {v}");
    }
    // Nothing was stored by any of them.
    assert_eq!(find(&gw, GLOBAL_KEY, "shop"), (200, Value::Null));
}

#[test]
fn websocket_routes_keep_to_the_callers_instances_and_rights() {
    let gw = start(&[]);
    assert_eq!(create(&gw, "mine", json!({})).0, 201);
    let (_, v) = create(&gw, "also-mine", json!({}));
    let also_token = v["hash"].as_str().unwrap().to_string();
    let enable = json!({"websocket": {"enabled": true, "events": ["MESSAGES_UPSERT"]}});
    assert_eq!(set(&gw, GLOBAL_KEY, "mine", enable.clone()).0, 201);

    // Another org's key: the instance does not exist for it, and nothing changes.
    let (s, _) = gw.admin("POST", "/admin/orgs", Some(json!({"name": "other"})));
    assert_eq!(s, 201);
    let other = gw.credential("other", "evolution-key");
    let off = json!({"websocket": {"enabled": false}});
    let (s, v) = set(&gw, &other, "mine", off.clone());
    assert_eq!(s, 404, "{v}");
    assert_eq!(message(&v), "The \"mine\" instance does not exist");
    assert_eq!(find(&gw, &other, "mine").0, 404);
    // Another instance's own token: refused on this one.
    let (s, v) = set(&gw, &also_token, "mine", off.clone());
    assert!(s == 401 || s == 404, "{s}: {v}");
    assert_eq!(find(&gw, &also_token, "mine").0, s);
    // A read-only key: may find, may not set.
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "evolution-key", "capabilities": ["read"]})),
    );
    assert_eq!(s, 201, "{v}");
    let reader = v["token"].as_str().unwrap();
    assert_eq!(find(&gw, reader, "mine").1["enabled"], true);
    let (s, v) = set(&gw, reader, "mine", off);
    assert_eq!(s, 403, "{v}");
    assert_eq!(
        find(&gw, GLOBAL_KEY, "mine").1["enabled"],
        true,
        "unchanged"
    );
    // The instance's own token may set its own instance (Evolution's guard).
    let (s, v) = set(&gw, &also_token, "also-mine", enable);
    assert_eq!(s, 201, "{v}");
}

#[test]
fn create_sets_its_inline_websocket_block() {
    let gw = start(&[]);
    let (s, v) = create(
        &gw,
        "inline",
        json!({"websocket": {"enabled": true, "events": ["QRCODE_UPDATED"]}}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["websocket"]["enabled"], true);
    let (_, row) = find(&gw, GLOBAL_KEY, "inline");
    assert_eq!(row["enabled"], true, "{row}");
    assert_eq!(row["events"], json!(["QRCODE_UPDATED"]));
    // fetchInstances carries it as Evolution's `Websocket` relation.
    let (_, list) = evo_json(
        &gw,
        "GET",
        "/instance/fetchInstances",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(list[0]["Websocket"], row, "{list}");
    // An unknown event name refuses the create, and no instance is left.
    let (s, v) = create(
        &gw,
        "bad-inline",
        json!({"websocket": {"enabled": true, "events": ["NOPE"]}}),
    );
    assert_eq!(s, 400, "{v}");
    let (_, list) = evo_json(
        &gw,
        "GET",
        "/instance/fetchInstances",
        Some(GLOBAL_KEY),
        None,
    );
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "bad-inline"),
        "{list}"
    );
}

/// Engine.IO's opening handshake over polling: `0{"sid":...}`.
fn open_polling(gw: &Gateway, headers: &[(&str, &str)]) -> wagate::client::Response {
    gw.raw("GET", "/socket.io/?EIO=4&transport=polling", headers, b"")
}

#[test]
fn socketio_is_served_only_when_switched_on() {
    let off = start(&[]);
    let resp = open_polling(&off, &[]);
    assert_eq!(
        resp.status, 404,
        "off by default, as WEBSOCKET_ENABLED=false"
    );

    let on = start(&[("WEBSOCKET_ENABLED", "true")]);
    let resp = open_polling(&on, &[]);
    assert_eq!(resp.status, 200);
    let body = String::from_utf8(resp.body.clone()).unwrap();
    let open: Value = serde_json::from_str(body.strip_prefix('0').expect(&body)).unwrap();
    assert!(open["sid"].is_string(), "{open}");
    assert!(
        open["upgrades"]
            .as_array()
            .unwrap()
            .contains(&json!("websocket"))
    );

    // The dialect's routes are untouched beside it.
    let (s, _, _) = evo(&on, "GET", "/", None, None);
    assert_eq!(s, 200);

    // A bad switch value stops the start with the variable's name.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wagate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--link",
            "sim",
            "--data",
        ])
        .arg(tempfile::tempdir().unwrap().path())
        .env("WEBSOCKET_ENABLED", "yes")
        .env("WAGATE_ADMIN_TOKEN", common::ADMIN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WEBSOCKET_ENABLED"), "{err}");
}

#[test]
fn socketio_polling_follows_cors_and_foreign_websocket_handshakes_are_refused() {
    let gw = start(&[
        ("WEBSOCKET_ENABLED", "true"),
        ("CORS_ORIGIN", "http://app.example"),
    ]);
    let allowed = open_polling(&gw, &[("origin", "http://app.example")]);
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    let foreign = open_polling(&gw, &[("origin", "http://evil.example")]);
    assert_eq!(foreign.header("access-control-allow-origin"), None);

    let upgrade = |origin: Option<&str>| handshake_status(&gw, origin);
    assert_eq!(upgrade(Some("http://evil.example")), 403);
    assert_eq!(upgrade(Some("http://app.example")), 101);
    assert_eq!(upgrade(None), 101, "not a browser: no origin to check");
    let own = gw.base.trim_start_matches("http://").to_string();
    assert_eq!(upgrade(Some(&format!("http://{own}"))), 101, "same origin");
}

/// The status line's code of a WebSocket handshake on `/socket.io/` (read up to the end
/// of the head: an accepted one stays open).
fn handshake_status(gw: &Gateway, origin: Option<&str>) -> u16 {
    use std::io::{Read, Write};
    let addr = gw.base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    write!(
        conn,
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{origin}\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            conn.read(&mut byte).unwrap(),
            1,
            "connection closed in the head"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    head.split(' ').nth(1).unwrap().parse().unwrap()
}
