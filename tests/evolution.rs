//! The Evolution API dialect (`plugins/evolution`) and its `apikey` auth plugin
//! (`plugins/evolution-apikey`), end to end through the real binary, plus the event
//! rendering and a core conflict at the library level.
//!
//! The delete route is checked byte for byte against its spec
//! (shared/seeds/evolution-delete-instance.md): success, not found, unauthorized.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::Gateway;
use common::evolution::{connect_and_wait, create, evo, evo_json, open_instance, state, wait_open};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-tests";
const PEER: &str = "5511999999999";
const PEER_JID: &str = "5511999999999@s.whatsapp.net";

// The spec's bodies, exactly (compact form of its examples).
const SEED_SUCCESS: &str =
    r#"{"status":"SUCCESS","error":false,"response":{"message":"Instance deleted"}}"#;
const SEED_UNAUTHORIZED: &str = r#"{"error":true,"message":"Unauthorized"}"#;

fn seed_not_found(name: &str) -> String {
    format!(r#"{{"error":true,"message":"The \"{name}\" instance does not exist"}}"#)
}

/// Evolution's 401 elsewhere: `UnauthorizedException()` without arguments.
const EVO_UNAUTHORIZED: &str =
    r#"{"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}}"#;

fn evo_not_found(name: &str) -> String {
    format!(
        r#"{{"status":404,"error":"Not Found","response":{{"message":["The \"{name}\" instance does not exist"]}}}}"#
    )
}

fn start() -> Gateway {
    Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)])
}

/// Checks a `data:image/png;base64,` URL holds a well-formed PNG (signature, chunk CRCs,
/// a stored zlib stream whose scanlines fill the declared image).
fn assert_png_data_url(url: &str) {
    use base64::Engine;
    let b64 = url
        .strip_prefix("data:image/png;base64,")
        .unwrap_or_else(|| panic!("not a PNG data URL: {}", &url[..url.len().min(40)]));
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let crc = |data: &[u8]| {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xedb8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    };
    let mut at = 8;
    let mut kinds = Vec::new();
    let (mut width, mut height, mut idat) = (0u32, 0u32, Vec::new());
    while at < png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        let want = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
        assert_eq!(crc(&png[at + 4..at + 8 + len]), want, "chunk CRC");
        if kind == b"IHDR" {
            width = u32::from_be_bytes(data[0..4].try_into().unwrap());
            height = u32::from_be_bytes(data[4..8].try_into().unwrap());
            assert_eq!(&data[8..10], &[1, 0], "1-bit greyscale");
        }
        if kind == b"IDAT" {
            idat.extend_from_slice(data);
        }
        kinds.push(String::from_utf8_lossy(kind).into_owned());
        at += 12 + len;
    }
    assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
    assert!(width > 100 && width == height, "{width}x{height}");
    // Stored deflate blocks: sum their lengths.
    let mut raw = 0usize;
    let mut p = 2;
    loop {
        let last = idat[p] & 1 == 1;
        let len = u16::from_le_bytes([idat[p + 1], idat[p + 2]]) as usize;
        raw += len;
        p += 5 + len;
        if last {
            break;
        }
    }
    assert_eq!(
        raw,
        (width as usize).div_ceil(8).saturating_add(1) * height as usize
    );
}

#[test]
fn delete_instance_answers_exactly_as_the_spec() {
    let gw = start();
    create(&gw, GLOBAL_KEY, "my-instance");
    connect_and_wait(&gw, GLOBAL_KEY, "my-instance");

    // Unauthorized: no key, an unknown key.
    for key in [None, Some("not-a-key")] {
        let (s, body, resp) = evo(&gw, "DELETE", "/instance/delete/my-instance", key, None);
        assert_eq!((s, body.as_str()), (401, SEED_UNAUTHORIZED), "key {key:?}");
        assert_eq!(resp.header("content-type"), Some("application/json"));
    }

    // Success (connected: logged out, then deleted).
    let (s, body, resp) = evo(
        &gw,
        "DELETE",
        "/instance/delete/my-instance",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body.as_str()), (200, SEED_SUCCESS));
    assert_eq!(resp.header("content-type"), Some("application/json"));

    // Gone: the delete route's not-found (400, per the spec), and Evolution's 404 elsewhere.
    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/my-instance",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body), (400, seed_not_found("my-instance")));
    let (s, body, _) = evo(
        &gw,
        "GET",
        "/instance/connectionState/my-instance",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body), (404, evo_not_found("my-instance")));
    let (s, v) = evo_json(
        &gw,
        "GET",
        "/instance/fetchInstances",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, v), (200, json!([])));

    // A never-connected instance deletes the same way.
    create(&gw, GLOBAL_KEY, "idle");
    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/idle",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body.as_str()), (200, SEED_SUCCESS));

    // The name is free again.
    create(&gw, GLOBAL_KEY, "my-instance");
}

#[test]
fn an_instance_token_reaches_only_its_own_instance() {
    let gw = start();
    let hash_a = create(&gw, GLOBAL_KEY, "inst-a");
    create(&gw, GLOBAL_KEY, "inst-b");
    assert!(!hash_a.is_empty());

    // Its own instance: yes.
    assert_eq!(state(&gw, &hash_a, "inst-a"), "close");
    let (s, v) = evo_json(&gw, "GET", "/instance/fetchInstances", Some(&hash_a), None);
    assert_eq!(s, 200);
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["inst-a"]);

    // Another instance, existing or not: 401, as Evolution's auth guard answers.
    for name in ["inst-b", "no-such"] {
        let (s, body, _) = evo(
            &gw,
            "GET",
            &format!("/instance/connectionState/{name}"),
            Some(&hash_a),
            None,
        );
        assert_eq!((s, body.as_str()), (401, EVO_UNAUTHORIZED), "{name}");
        let (s, body, _) = evo(
            &gw,
            "DELETE",
            &format!("/instance/delete/{name}"),
            Some(&hash_a),
            None,
        );
        assert_eq!((s, body.as_str()), (401, SEED_UNAUTHORIZED), "{name}");
    }
    let (s, body, _) = evo(
        &gw,
        "GET",
        "/instance/fetchInstances?instanceName=inst-b",
        Some(&hash_a),
        None,
    );
    assert_eq!((s, body.as_str()), (401, EVO_UNAUTHORIZED));

    // Instance tokens never create (they may delete their own instance: below).
    let (s, body, _) = evo(
        &gw,
        "POST",
        "/instance/create",
        Some(&hash_a),
        Some(json!({"instanceName": "sneaky"})),
    );
    assert_eq!((s, body.as_str()), (401, EVO_UNAUTHORIZED));

    // The global key sees both.
    let (_, v) = evo_json(
        &gw,
        "GET",
        "/instance/fetchInstances",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
    let (s, v) = evo_json(
        &gw,
        "GET",
        "/instance/fetchInstances?instanceName=inst-b",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(v[0]["name"], "inst-b");
    assert_eq!(v[0]["connectionStatus"], "close");
    assert_eq!(v[0]["integration"], "WHATSAPP-BAILEYS");

    // Another organisation's Evolution key: the instances do not exist for it.
    let (s, _) = gw.admin("POST", "/admin/orgs", Some(json!({"name": "other"})));
    assert_eq!(s, 201);
    let (s, minted) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "other", "kind": "evolution-key"})),
    );
    assert_eq!(s, 201, "{minted}");
    let other = minted["token"].as_str().unwrap();
    let (_, v) = evo_json(&gw, "GET", "/instance/fetchInstances", Some(other), None);
    assert_eq!(v, json!([]));
    let (s, body, _) = evo(
        &gw,
        "GET",
        "/instance/connectionState/inst-a",
        Some(other),
        None,
    );
    assert_eq!((s, body), (404, evo_not_found("inst-a")));
    let (s, body, _) = evo(&gw, "DELETE", "/instance/delete/inst-a", Some(other), None);
    assert_eq!((s, body), (400, seed_not_found("inst-a")));

    // The instance token works after all that, deletes its own instance (Evolution's
    // guard lets an instance's token reach every route of its instance; the
    // `evolution-apikey` manifest says so and core decides), and dies with it.
    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/inst-a",
        Some(&hash_a),
        None,
    );
    assert_eq!((s, body.as_str()), (200, SEED_SUCCESS));
    let (s, body, _) = evo(
        &gw,
        "GET",
        "/instance/connectionState/inst-a",
        Some(&hash_a),
        None,
    );
    assert_eq!((s, body.as_str()), (401, EVO_UNAUTHORIZED));
}

#[test]
fn deletions_are_rate_limited_per_key() {
    let gw = start();
    for i in 0..12 {
        create(&gw, GLOBAL_KEY, &format!("bulk-{i}"));
    }
    for i in 0..10 {
        let (s, body, _) = evo(
            &gw,
            "DELETE",
            &format!("/instance/delete/bulk-{i}"),
            Some(GLOBAL_KEY),
            None,
        );
        assert_eq!((s, body.as_str()), (200, SEED_SUCCESS), "deletion {i}");
    }
    let (s, body, resp) = evo(
        &gw,
        "DELETE",
        "/instance/delete/bulk-10",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 429, "{body}");
    assert_eq!(
        body,
        r#"{"error":true,"message":"Too many deletions: at most 10 deletions per minute"}"#
    );
    let retry: u64 = resp
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Nothing was deleted.
    assert_eq!(state(&gw, GLOBAL_KEY, "bulk-10"), "close");
    // Unknown or foreign instances are refused before the limit is consulted.
    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/no-such",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body), (400, seed_not_found("no-such")));

    // Another key of the same organisation has its own budget.
    let (s, minted) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "evolution-key"})),
    );
    assert_eq!(s, 201, "{minted}");
    let second = minted["token"].as_str().unwrap();
    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/bulk-10",
        Some(second),
        None,
    );
    assert_eq!((s, body.as_str()), (200, SEED_SUCCESS));
}

/// Several keys of one organisation delete the same connected instance at once: one
/// wins with the spec's success body; the others fail as the spec's "deletion in
/// progress" (core's conflict: 400 in the delete route's shape) or, once the winner has
/// committed, as not found. Rounds repeat until a conflict has been seen.
#[test]
fn concurrent_deletes_of_one_instance_succeed_once() {
    const RACERS: usize = 4;
    let gw = Arc::new(start());
    // One key per racer: each has its own 10-per-minute budget.
    let keys: Vec<String> = (0..RACERS)
        .map(|_| {
            let (s, minted) = gw.admin(
                "POST",
                "/admin/credentials",
                Some(json!({"org": "default", "kind": "evolution-key"})),
            );
            assert_eq!(s, 201, "{minted}");
            minted["token"].as_str().unwrap().to_string()
        })
        .collect();
    let mut conflicts = 0;
    for round in 0..10 {
        let name = format!("race-{round}");
        create(&gw, GLOBAL_KEY, &name);
        connect_and_wait(&gw, GLOBAL_KEY, &name);
        let barrier = std::sync::Barrier::new(RACERS);
        let answers: Vec<(u16, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = keys
                .iter()
                .map(|key| {
                    let (gw, name, barrier) = (&gw, &name, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        let (st, body, _) = evo(
                            gw,
                            "DELETE",
                            &format!("/instance/delete/{name}"),
                            Some(key),
                            None,
                        );
                        (st, body)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ok = answers
            .iter()
            .filter(|(s, b)| *s == 200 && b == SEED_SUCCESS)
            .count();
        assert_eq!(ok, 1, "{answers:?}");
        let conflict = format!(
            r#"{{"error":true,"message":"The \"{name}\" instance is already being deleted"}}"#
        );
        for (s, b) in answers.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(*s, 400, "{b}");
            if *b == conflict {
                conflicts += 1;
            } else {
                assert_eq!(*b, seed_not_found(&name));
            }
        }
        if conflicts > 0 {
            break;
        }
    }
    assert!(conflicts > 0, "no delete ever overlapped another one");
}

#[test]
fn lifecycle_through_evolution_paths() {
    let gw = start();

    // Create with qrcode: pairing starts, the QR comes back as a PNG data URL.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/instance/create",
        Some(GLOBAL_KEY),
        Some(json!({"instanceName": "shop", "qrcode": true})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["instance"]["instanceName"], "shop");
    assert_eq!(v["instance"]["integration"], "WHATSAPP-BAILEYS");
    assert_eq!(v["instance"]["status"], "connecting");
    let instance_id = v["instance"]["instanceId"].as_str().unwrap().to_string();
    let hash = v["hash"].as_str().unwrap().to_string();
    assert!(v["qrcode"]["pairingCode"].is_null(), "{v}");
    assert!(v["qrcode"]["code"].as_str().unwrap().starts_with("2@"));
    assert_png_data_url(v["qrcode"]["base64"].as_str().unwrap());
    assert_eq!(v["settings"]["rejectCall"], false);

    // Name taken: Evolution's instanceLoggedGuard.
    let (s, body, _) = evo(
        &gw,
        "POST",
        "/instance/create",
        Some(GLOBAL_KEY),
        Some(json!({"instanceName": "shop"})),
    );
    assert_eq!(
        (s, body.as_str()),
        (
            403,
            r#"{"status":403,"error":"Forbidden","response":{"message":["This name \"shop\" is already in use."]}}"#
        )
    );

    wait_open(&gw, &hash, "shop");
    // Connected: connect answers the state.
    let (s, v) = evo_json(&gw, "GET", "/instance/connect/shop", Some(&hash), None);
    assert_eq!(
        (s, v),
        (
            200,
            json!({"instance": {"instanceName": "shop", "state": "open"}})
        )
    );
    // Restart drops the session and logs in again: `connecting`, then open again.
    let (s, v) = evo_json(&gw, "POST", "/instance/restart/shop", Some(&hash), None);
    assert_eq!(
        (s, v["instance"]["state"].clone()),
        (200, json!("connecting"))
    );
    wait_open(&gw, &hash, "shop");

    // Inbound through the sim, then send through Evolution.
    let inbound = gw.inbound("shop", PEER, "hello", false);
    let (s, sent) = evo_json(
        &gw,
        "POST",
        "/message/sendText/shop",
        Some(&hash),
        Some(json!({"number": PEER, "text": "hi back"})),
    );
    assert_eq!(s, 201, "{sent}");
    assert_eq!(sent["key"]["remoteJid"], PEER_JID);
    assert_eq!(sent["key"]["fromMe"], true);
    assert_eq!(sent["message"]["conversation"], "hi back");
    assert_eq!(sent["messageType"], "conversation");
    assert_eq!(sent["status"], "PENDING");
    assert_eq!(sent["instanceId"], instance_id.as_str());
    let sent_id = sent["key"]["id"].as_str().unwrap().to_string();

    // findMessages: Evolution's paging shape, newest first.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/chat/findMessages/shop",
        Some(&hash),
        Some(json!({"where": {"key": {"remoteJid": PEER}}, "offset": 1, "page": 2})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["messages"]["total"], 2);
    assert_eq!(v["messages"]["pages"], 2);
    assert_eq!(v["messages"]["currentPage"], 2);
    let records = v["messages"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["key"]["id"], inbound.as_str());
    assert_eq!(records[0]["key"]["fromMe"], false);
    assert_eq!(records[0]["message"]["conversation"], "hello");
    let (_, v) = evo_json(
        &gw,
        "POST",
        "/chat/findMessages/shop",
        Some(&hash),
        Some(json!({"where": {"key": {"fromMe": true}}})),
    );
    assert_eq!(v["messages"]["total"], 1, "{v}");
    assert_eq!(v["messages"]["records"][0]["key"]["id"], sent_id.as_str());

    // Revoke the sent message for everyone.
    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/chat/deleteMessageForEveryone/shop",
        Some(&hash),
        Some(json!({"id": sent_id, "remoteJid": PEER})),
    );
    assert_eq!(
        (s, body.as_str()),
        (
            400,
            r#"{"status":400,"error":"Bad Request","response":{"message":["instance requires property \"fromMe\""]}}"#
        )
    );
    let (s, v) = evo_json(
        &gw,
        "DELETE",
        "/chat/deleteMessageForEveryone/shop",
        Some(&hash),
        Some(json!({"id": sent_id, "fromMe": true, "remoteJid": PEER_JID})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["message"]["protocolMessage"]["type"], "REVOKE");
    assert_eq!(
        v["message"]["protocolMessage"]["key"]["id"],
        sent_id.as_str()
    );
    assert_eq!(v["status"], "PENDING");
    let (_, v) = evo_json(&gw, "POST", "/chat/findMessages/shop", Some(&hash), None);
    assert_eq!(
        v["messages"]["total"], 1,
        "revoked messages are gone (Evolution's default): {v}"
    );

    // Archive the chat; findChats shows it.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/chat/archiveChat/shop",
        Some(&hash),
        Some(json!({"chat": PEER_JID, "archive": true})),
    );
    assert_eq!((s, v), (201, json!({"chatId": PEER_JID, "archived": true})));
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/chat/findChats/shop",
        Some(&hash),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{v}");
    let chats = v.as_array().unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0]["remoteJid"], PEER_JID);
    assert_eq!(chats[0]["archived"], true);
    assert_eq!(chats[0]["lastMessage"]["key"]["id"], inbound.as_str());
    let (_, v) = evo_json(
        &gw,
        "POST",
        "/chat/findChats/shop",
        Some(&hash),
        Some(json!({"skip": 1})),
    );
    assert_eq!(v, json!([]));

    // Logout keeps the data; a second logout is "not connected".
    let (s, body, _) = evo(&gw, "DELETE", "/instance/logout/shop", Some(&hash), None);
    assert_eq!(
        (s, body.as_str()),
        (
            200,
            r#"{"status":"SUCCESS","error":false,"response":{"message":"Instance logged out"}}"#
        )
    );
    assert_eq!(state(&gw, &hash, "shop"), "close");
    let (s, body, _) = evo(&gw, "DELETE", "/instance/logout/shop", Some(&hash), None);
    assert_eq!(
        (s, body.as_str()),
        (
            400,
            r#"{"status":400,"error":"Bad Request","response":{"message":["The \"shop\" instance is not connected"]}}"#
        )
    );
    let (_, v) = evo_json(&gw, "POST", "/chat/findMessages/shop", Some(&hash), None);
    assert_eq!(v["messages"]["total"], 1);

    // Pair again by code.
    let (s, v) = evo_json(
        &gw,
        "GET",
        &format!("/instance/connect/shop?number={PEER}"),
        Some(&hash),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let code = v["pairingCode"].as_str().expect("pairing code");
    assert_eq!(code.len(), 8, "{code}");
    wait_open(&gw, &hash, "shop");

    // Delete (global key), then everything about it is gone.
    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/shop",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body.as_str()), (200, SEED_SUCCESS));
    let (s, body, _) = evo(
        &gw,
        "POST",
        "/chat/findMessages/shop",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body), (404, evo_not_found("shop")));
}

#[test]
fn errors_and_documents_in_evolution_shape() {
    let gw = start();
    create(&gw, GLOBAL_KEY, "docs");

    // Public: the welcome and the OpenAPI document.
    let (s, v) = evo_json(&gw, "GET", "/", None, None);
    assert_eq!(s, 200);
    assert_eq!(v["message"], "Welcome to the Evolution API, it is working!");
    let (s, v) = evo_json(&gw, "GET", "/openapi.json", None, None);
    assert_eq!(s, 200);
    assert_eq!(v["openapi"], "3.1.0");
    for path in [
        "/instance/create",
        "/instance/delete/{instanceName}",
        "/instance/logout/{instanceName}",
        "/chat/findMessages/{instanceName}",
        "/message/sendText/{instanceName}",
        "/webhook/set/{instanceName}",
        "/webhook/find/{instanceName}",
    ] {
        assert!(v["paths"][path].is_object(), "{path} documented");
    }
    assert_eq!(
        v["paths"]["/instance/delete/{instanceName}"]["delete"]["responses"]["200"]["content"]["application/json"]
            ["example"],
        json!({"status": "SUCCESS", "error": false, "response": {"message": "Instance deleted"}})
    );

    // Protected routes without a key, with a bad key.
    for key in [None, Some("nope")] {
        let (s, body, _) = evo(&gw, "GET", "/instance/fetchInstances", key, None);
        assert_eq!((s, body.as_str()), (401, EVO_UNAUTHORIZED));
        let (s, body, _) = evo(&gw, "GET", "/instance/connectionState/docs", key, None);
        assert_eq!((s, body.as_str()), (401, EVO_UNAUTHORIZED));
    }

    // Unknown route: Express's catch-all as Evolution answers it.
    let (s, body, _) = evo(&gw, "GET", "/nope?x=1", Some(GLOBAL_KEY), None);
    assert_eq!(
        (s, body.as_str()),
        (
            404,
            r#"{"status":404,"error":"Not Found","response":{"message":["Cannot GET /nope?x=1"]}}"#
        )
    );

    // Validation messages of Evolution's JSON schemas.
    let (s, body, _) = evo(
        &gw,
        "POST",
        "/message/sendText/docs",
        Some(GLOBAL_KEY),
        Some(json!({"text": "x"})),
    );
    assert_eq!(
        (s, body.as_str()),
        (
            400,
            r#"{"status":400,"error":"Bad Request","response":{"message":["instance requires property \"number\""]}}"#
        )
    );
    let (s, body, _) = evo(
        &gw,
        "POST",
        "/instance/create",
        Some(GLOBAL_KEY),
        Some(json!({"instanceName": ""})),
    );
    assert_eq!(
        (s, body.as_str()),
        (
            400,
            r#"{"status":400,"error":"Bad Request","response":{"message":["The \"instanceName\" cannot be empty"]}}"#
        )
    );
    // Sending on a session that never paired.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/message/sendText/docs",
        Some(GLOBAL_KEY),
        Some(json!({"number": PEER, "text": "x"})),
    );
    assert_eq!(
        (s, v["status"].clone(), v["error"].clone()),
        (400, json!(400), json!("Bad Request"))
    );
    // Logout of a never-connected instance.
    let (s, _, _) = evo(
        &gw,
        "DELETE",
        "/instance/logout/docs",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 400);
    let (s, _, _) = evo(
        &gw,
        "POST",
        "/instance/restart/docs",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 400);
}

#[test]
fn an_evolution_instance_is_one_instance_of_the_gateway() {
    let gw = start();
    create(&gw, GLOBAL_KEY, "shared");
    // A native credential of the same organisation sees and deletes it.
    let (s, minted) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "api-key"})),
    );
    assert_eq!(s, 201, "{minted}");
    let native = minted["token"].as_str().unwrap();
    let (s, v) = gw.call("GET", "/core/instances/shared", Some(native), None);
    assert_eq!(s, 200, "{v}");
    // ... and is also an Evolution key of that organisation.
    assert_eq!(state(&gw, native, "shared"), "close");
    let (s, v) = gw.call("DELETE", "/core/instances/shared", Some(native), None);
    assert!(s == 200 || s == 204, "{s} {v}");
    let (s, body, _) = evo(
        &gw,
        "GET",
        "/instance/connectionState/shared",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body), (404, evo_not_found("shared")));
    // Created through Evolution, deleted through Ryze's paths by a TokenAccount of the
    // same organisation; each dialect answers in its own shape.
    create(&gw, GLOBAL_KEY, "crossing");
    let (s, minted) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "ryze-account"})),
    );
    assert_eq!(s, 201, "{minted}");
    let account = minted["token"].as_str().unwrap();
    let resp = gw.raw(
        "DELETE",
        "/api/instance/delete/crossing",
        &[("token", account)],
        b"",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["success"], true, "{:?}", resp.json());
    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/crossing",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body), (400, seed_not_found("crossing")));
    // And the other way round.
    let resp = gw.raw(
        "POST",
        "/api/instance/new",
        &[("token", account), ("content-type", "application/json")],
        br#"{"name":"from-ryze"}"#,
    );
    assert_eq!(resp.status, 201, "{:?}", resp.json());
    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/from-ryze",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body.as_str()), (200, SEED_SUCCESS));
}

/// A webhook receiver on loopback: records every body, answers 200.
struct Receiver {
    port: u16,
    got: Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = l.split_once(':')
                        && k.trim().eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_ok()
                    && let Ok(v) = serde_json::from_slice(&body)
                {
                    sink.lock().unwrap().push(v);
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver { port, got }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/evolution", self.port)
    }

    /// Waits until a body with `event` arrived; returns everything received so far.
    fn wait_for(&self, event: &str) -> Vec<Value> {
        for _ in 0..500 {
            let got = self.got.lock().unwrap().clone();
            if got.iter().any(|v| v["event"] == event) {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no {event} delivered; got {:?}", self.got.lock().unwrap());
    }
}

#[test]
fn webhooks_deliver_evolution_envelopes_and_the_deletion_event_last() {
    let gw = start();
    let receiver = Receiver::start();
    create(&gw, GLOBAL_KEY, "hooked");

    // Nothing configured yet.
    let (s, v) = evo_json(&gw, "GET", "/webhook/find/hooked", Some(GLOBAL_KEY), None);
    assert_eq!((s, v), (200, Value::Null));

    // Validation as Evolution's schema, and what wagate refuses.
    let (s, body, _) = evo(
        &gw,
        "POST",
        "/webhook/set/hooked",
        Some(GLOBAL_KEY),
        Some(json!({"webhook": {"url": receiver.url()}})),
    );
    assert_eq!(
        (s, body.as_str()),
        (
            400,
            r#"{"status":400,"error":"Bad Request","response":{"message":["instance requires property \"webhook.enabled\""]}}"#
        )
    );
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/webhook/set/hooked",
        Some(GLOBAL_KEY),
        Some(
            json!({"webhook": {"enabled": true, "url": receiver.url(), "events": ["NOT_AN_EVENT"]}}),
        ),
    );
    assert_eq!(s, 400, "{v}");
    let (s, _) = evo_json(
        &gw,
        "POST",
        "/webhook/set/hooked",
        Some(GLOBAL_KEY),
        Some(json!({"webhook": {"enabled": true, "url": receiver.url(), "byEvents": true}})),
    );
    assert_eq!(s, 400);

    let (s, v) = evo_json(
        &gw,
        "POST",
        "/webhook/set/hooked",
        Some(GLOBAL_KEY),
        Some(json!({"webhook": {
            "enabled": true,
            "url": receiver.url(),
            "headers": {"x-tenant": "acme"},
            "events": ["MESSAGES_UPSERT", "CONNECTION_UPDATE", "INSTANCE_DELETE", "TYPEBOT_START"]
        }})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["url"], receiver.url().as_str());
    assert_eq!(v["enabled"], true);
    assert_eq!(
        v["events"],
        json!(["MESSAGES_UPSERT", "CONNECTION_UPDATE", "INSTANCE_DELETE"])
    );
    assert_eq!(v["headers"], json!({"x-tenant": "acme"}));
    assert_eq!(v["webhookByEvents"], false);
    let (s, found) = evo_json(&gw, "GET", "/webhook/find/hooked", Some(GLOBAL_KEY), None);
    assert_eq!((s, found["id"].clone()), (200, v["id"].clone()));

    connect_and_wait(&gw, GLOBAL_KEY, "hooked");
    let (_, fetched) = evo_json(
        &gw,
        "GET",
        "/instance/fetchInstances?instanceName=hooked",
        Some(GLOBAL_KEY),
        None,
    );
    let instance_id = fetched[0]["id"].as_str().unwrap().to_string();
    let inbound = gw.inbound("hooked", PEER, "hello", false);
    receiver.wait_for("MESSAGES_UPSERT");

    let (s, body, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/hooked",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body.as_str()), (200, SEED_SUCCESS));
    let got = receiver.wait_for("INSTANCE_DELETE");

    // Delivered although the instance is gone: the event was committed with the
    // deletion, before the data went.
    let last = got.last().unwrap();
    assert_eq!(
        last["event"], "INSTANCE_DELETE",
        "the deletion event comes last: {got:?}"
    );
    assert_eq!(last["instance"], "hooked");
    assert_eq!(
        last["data"],
        json!({"instanceName": "hooked", "instanceId": instance_id})
    );
    assert!(last["date_time"].as_str().unwrap().ends_with('Z'));
    assert!(last["apikey"].is_null());
    let events: Vec<&str> = got.iter().map(|v| v["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"CONNECTION_UPDATE"), "{events:?}");
    let upsert = got
        .iter()
        .find(|v| v["event"] == "MESSAGES_UPSERT")
        .unwrap();
    assert_eq!(upsert["data"]["key"]["id"], inbound.as_str());
    assert_eq!(upsert["data"]["message"]["conversation"], "hello");
    assert!(
        !events.contains(&"INSTANCE_CREATE"),
        "not subscribed: {events:?}"
    );
    let (s, body, _) = evo(&gw, "GET", "/webhook/find/hooked", Some(GLOBAL_KEY), None);
    assert_eq!((s, body), (404, evo_not_found("hooked")));
}

#[test]
fn create_configures_the_webhook_it_is_given() {
    let gw = start();
    let receiver = Receiver::start();
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/instance/create",
        Some(GLOBAL_KEY),
        Some(
            json!({"instanceName": "born-hooked", "webhook": {"url": receiver.url(), "events": ["QRCODE_UPDATED"]}}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["webhook"]["webhookUrl"], receiver.url().as_str());
    let (_, found) = evo_json(
        &gw,
        "GET",
        "/webhook/find/born-hooked",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(found["events"], json!(["QRCODE_UPDATED"]));
    assert_eq!(found["enabled"], true);
    let (s, _) = evo_json(
        &gw,
        "GET",
        "/instance/connect/born-hooked",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200);
    let got = receiver.wait_for("QRCODE_UPDATED");
    let qr = got.iter().find(|v| v["event"] == "QRCODE_UPDATED").unwrap();
    assert_eq!(qr["instance"], "born-hooked");
    assert!(
        qr["data"]["qrcode"]["code"]
            .as_str()
            .unwrap()
            .starts_with("2@")
    );
    assert_png_data_url(qr["data"]["qrcode"]["base64"].as_str().unwrap());

    // A webhook core refuses leaves no instance behind, as in Evolution.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/instance/create",
        Some(GLOBAL_KEY),
        Some(json!({"instanceName": "bad-hook", "webhook": {"url": "ftp://nowhere"}})),
    );
    assert_eq!(s, 400, "{v}");
    let (s, body, _) = evo(
        &gw,
        "GET",
        "/instance/connectionState/bad-hook",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!((s, body), (404, evo_not_found("bad-hook")));
}

// ---- library level: event rendering ------------------------------

mod library {
    use super::*;
    use wagate::core::model::{ConnectionState, Event, EventPayload, Instance, Message};
    use wagate::plugin::{PluginHost, PluginsConfig};

    fn config(evolution: &str) -> PluginsConfig {
        toml::from_str(&format!(
            "bundled = [\"evolution\", \"evolution-apikey\"]\n[settings.evolution]\nconfig = {{ {evolution} }}\n"
        ))
        .unwrap()
    }

    async fn host(
        core: Arc<wagate::core::Core>,
        cfg: &PluginsConfig,
        dir: &std::path::Path,
    ) -> PluginHost {
        PluginHost::load(cfg, core, &dir.join("cache"))
            .await
            .unwrap()
    }

    /// A real core over a temporary store and the simulated link.
    async fn real_core(dir: &std::path::Path) -> Arc<wagate::core::Core> {
        let store = wagate::store::Store::open(&dir.join("data")).unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let link = Arc::new(wagate::whatsapp::sim::SimLink::new(
            tx,
            Duration::from_millis(5),
        ));
        let core = wagate::core::Core::new(store, link);
        core.start(rx).await.unwrap();
        core
    }

    fn seed_instance() -> Instance {
        Instance {
            id: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d".into(),
            name: "my-instance".into(),
            org: "default".into(),
            state: ConnectionState::Disconnected,
            owner_jid: None,
            created_at: 1_714_566_896_789,
        }
    }

    fn event(payload: EventPayload) -> Event {
        Event {
            id: "evt_1".into(),
            instance_id: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d".into(),
            instance_name: "my-instance".into(),
            org: "default".into(),
            timestamp: 1_714_566_896_789,
            payload,
        }
    }

    async fn render(host: &PluginHost, payload: EventPayload) -> Option<String> {
        host.render_event(
            "evolution",
            &event(payload),
            wagate::plugin::RenderTarget::Webhook,
            None,
        )
        .await
        .unwrap()
        .map(|b| String::from_utf8(b).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn instance_delete_renders_as_the_spec_shows() {
        let dir = tempfile::tempdir().unwrap();
        let core = real_core(dir.path()).await;

        // The spec's example, exactly: the minimal envelope.
        let minimal = host(core.clone(), &config("envelope = \"minimal\""), dir.path()).await;
        let body = render(&minimal, EventPayload::InstanceDeleted(seed_instance())).await;
        assert_eq!(
            body.as_deref(),
            Some(
                r#"{"event":"INSTANCE_DELETE","instance":"my-instance","data":{"instanceName":"my-instance","instanceId":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}}"#
            )
        );

        // The default: Evolution's full envelope, the spec's fields first and unchanged.
        let full = host(core.clone(), &config(""), dir.path()).await;
        let body = render(&full, EventPayload::InstanceDeleted(seed_instance())).await;
        assert_eq!(
            body.as_deref(),
            Some(
                r#"{"event":"INSTANCE_DELETE","instance":"my-instance","data":{"instanceName":"my-instance","instanceId":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},"date_time":"2024-05-01T12:34:56.789Z","apikey":null}"#
            )
        );

        // Configured server and destination, Evolution's dotted wire names.
        let wired = host(
            core.clone(),
            &config("server_url = \"https://gw.example\", webhook_url = \"https://hooks.example/evo\", event_names = \"dotted\""),
            dir.path(),
        )
        .await;
        let mut paired = seed_instance();
        paired.owner_jid = Some("5500123456789@s.whatsapp.net".into());
        let v: Value = serde_json::from_str(
            &render(&wired, EventPayload::InstanceDeleted(paired))
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "event": "instance.delete",
                "instance": "my-instance",
                "data": {"instanceName": "my-instance", "instanceId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
                "destination": "https://hooks.example/evo",
                "date_time": "2024-05-01T12:34:56.789Z",
                "sender": "5500123456789@s.whatsapp.net",
                "server_url": "https://gw.example",
                "apikey": null
            })
        );

        // The Socket.IO message (issue 18): Evolution's websocket fields, never a
        // `destination`, dotted names whatever `event_names` says (that is the
        // webhook's), and the full envelope even with `envelope = "minimal"`.
        for cfg in [
            "server_url = \"https://gw.example\", webhook_url = \"https://hooks.example/evo\"",
            "server_url = \"https://gw.example\", envelope = \"minimal\", event_names = \"upper\"",
        ] {
            let h = host(core.clone(), &config(cfg), dir.path()).await;
            let mut paired = seed_instance();
            paired.owner_jid = Some("5500123456789@s.whatsapp.net".into());
            let body = h
                .render_event(
                    "evolution",
                    &event(EventPayload::InstanceDeleted(paired)),
                    wagate::plugin::RenderTarget::SocketIo,
                    None,
                )
                .await
                .unwrap()
                .unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                v,
                json!({
                    "event": "instance.delete",
                    "instance": "my-instance",
                    "data": {"instanceName": "my-instance", "instanceId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
                    "date_time": "2024-05-01T12:34:56.789Z",
                    "sender": "5500123456789@s.whatsapp.net",
                    "server_url": "https://gw.example",
                    "apikey": null
                }),
                "{cfg}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn other_events_use_evolution_names_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let core = real_core(dir.path()).await;
        let host = host(core, &config(""), dir.path()).await;
        let msg = Message {
            id: "3EB0ABCDEF0123456789AB".into(),
            chat_jid: PEER_JID.into(),
            chat_jid_alt: None,
            from_me: false,
            sender: PEER_JID.into(),
            sender_alt: None,
            timestamp: 1_714_566_896_789,
            text: Some("hello".into()),
            media: None,
            revoked: false,
            deleted_for_me: false,
            truncated: false,
            reactions: Vec::new(),
            poll_votes: Vec::new(),
            content: None,
            origin: None,
            status: None,
        };
        let parse =
            |s: Option<String>| -> Value { serde_json::from_str(&s.expect("rendered")).unwrap() };

        let v = parse(render(&host, EventPayload::MessageUpsert(msg.clone())).await);
        assert_eq!(v["event"], "MESSAGES_UPSERT");
        assert_eq!(
            v["data"],
            json!({
                "key": {"remoteJid": PEER_JID, "fromMe": false, "id": "3EB0ABCDEF0123456789AB"},
                "pushName": null,
                "status": "DELIVERY_ACK",
                "message": {"conversation": "hello"},
                "contextInfo": null,
                "messageType": "conversation",
                "messageTimestamp": 1_714_566_896u64,
                "instanceId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
                "source": "web"
            })
        );

        let v = parse(render(&host, EventPayload::MessageRevoked(msg.clone())).await);
        assert_eq!(v["event"], "MESSAGES_DELETE");
        assert_eq!(v["data"]["status"], "DELETED");
        assert_eq!(v["data"]["key"]["id"], "3EB0ABCDEF0123456789AB");

        assert_eq!(render(&host, EventPayload::MessageDeleted(msg)).await, None);

        let v = parse(render(&host, EventPayload::ConnectionUpdate(ConnectionState::Open)).await);
        assert_eq!(
            (v["event"].clone(), v["data"].clone()),
            (
                json!("CONNECTION_UPDATE"),
                json!({"instance": "my-instance", "state": "open", "statusReason": 200})
            )
        );

        let v = parse(render(&host, EventPayload::QrUpdated("2@abc,def,ghi,jkl".into())).await);
        assert_eq!(v["event"], "QRCODE_UPDATED");
        assert_eq!(v["data"]["qrcode"]["code"], "2@abc,def,ghi,jkl");
        assert!(v["data"]["qrcode"]["pairingCode"].is_null());
        assert_png_data_url(v["data"]["qrcode"]["base64"].as_str().unwrap());

        let v = parse(render(&host, EventPayload::ChatDeleted(PEER_JID.into())).await);
        assert_eq!(
            (v["event"].clone(), v["data"].clone()),
            (json!("CHATS_DELETE"), json!([PEER_JID]))
        );

        let v = parse(render(&host, EventPayload::InstanceCreated(seed_instance())).await);
        assert_eq!(v["event"], "INSTANCE_CREATE");
        assert_eq!(v["data"]["instanceName"], "my-instance");
    }
}

/// A key of the default org with only `caps`, in Evolution's kind.
fn evo_key_with(gw: &Gateway, caps: &[&str]) -> String {
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "evolution-key", "capabilities": caps})),
    );
    assert_eq!(s, 201, "mint evolution-key: {v}");
    v["token"].as_str().unwrap().to_string()
}

/// Issue 14, defect 6: a key without `manage` gets 403 from connect and restart
/// whatever the instance's state (they answer from the state, so the right is checked
/// before it is read).
#[test]
fn a_read_only_key_is_forbidden_before_any_state_is_read() {
    let gw = start();
    create(&gw, GLOBAL_KEY, "open1");
    connect_and_wait(&gw, GLOBAL_KEY, "open1");
    create(&gw, GLOBAL_KEY, "closed1");
    let read_only = evo_key_with(&gw, &["read"]);
    assert_eq!(
        state(&gw, &read_only, "open1"),
        "open",
        "reading is allowed"
    );
    for name in ["open1", "closed1"] {
        for (method, path) in [
            ("GET", format!("/instance/connect/{name}")),
            ("POST", format!("/instance/restart/{name}")),
            ("DELETE", format!("/instance/logout/{name}")),
        ] {
            let (s, v) = evo_json(&gw, method, &path, Some(&read_only), None);
            assert_eq!(s, 403, "{method} {path}: {v}");
            assert_eq!(v["error"], "Forbidden", "{v}");
            assert_eq!(v["status"], 403, "{v}");
        }
    }
    // Nothing was started on the closed instance.
    assert_eq!(state(&gw, GLOBAL_KEY, "closed1"), "close");
}

/// Issue 14, defect 4: every core error class answers its 4xx in Evolution's
/// exception shape on the chat routes; nothing the caller did is a 500.
#[test]
fn chat_route_errors_map_to_client_statuses() {
    let gw = start();
    create(&gw, GLOBAL_KEY, "shop");
    connect_and_wait(&gw, GLOBAL_KEY, "shop");
    let id = gw.inbound("shop", PEER, "hello", false);
    create(&gw, GLOBAL_KEY, "idle");
    let read_only = evo_key_with(&gw, &["read"]);
    let archive = |chat: Value| json!({"chat": chat, "archive": true});
    let revoke = json!({"id": id, "fromMe": false, "remoteJid": PEER_JID});

    // (case, key, method, path, body, status, a message it must carry)
    let cases: Vec<Case> = vec![
        (
            "forbidden archive",
            &read_only,
            "POST",
            "/chat/archiveChat/shop".into(),
            archive(json!(PEER)),
            403,
            "send",
        ),
        (
            "forbidden send",
            &read_only,
            "POST",
            "/message/sendText/shop".into(),
            json!({"number": PEER, "text": "x"}),
            403,
            "send",
        ),
        (
            "forbidden revoke",
            &read_only,
            "DELETE",
            "/chat/deleteMessageForEveryone/shop".into(),
            revoke.clone(),
            403,
            "send",
        ),
        (
            "forbidden webhook",
            &read_only,
            "POST",
            "/webhook/set/shop".into(),
            json!({"webhook": {"enabled": true, "url": "http://127.0.0.1:9/x"}}),
            403,
            "manage",
        ),
        (
            "forbidden create",
            &read_only,
            "POST",
            "/instance/create".into(),
            json!({"instanceName": "nope"}),
            403,
            "manage",
        ),
        (
            "missing chat",
            GLOBAL_KEY,
            "POST",
            "/chat/archiveChat/shop".into(),
            json!({"archive": true}),
            400,
            "chat",
        ),
        (
            "malformed chat",
            GLOBAL_KEY,
            "POST",
            "/chat/archiveChat/shop".into(),
            archive(json!("not a number!")),
            400,
            "",
        ),
        (
            "non-string chat",
            GLOBAL_KEY,
            "POST",
            "/chat/archiveChat/shop".into(),
            archive(json!(5)),
            400,
            "chat",
        ),
        (
            "unknown chat",
            GLOBAL_KEY,
            "POST",
            "/chat/archiveChat/shop".into(),
            archive(json!("5511888888888")),
            404,
            "Last message not found",
        ),
        (
            "unknown instance",
            GLOBAL_KEY,
            "POST",
            "/chat/archiveChat/ghost".into(),
            archive(json!(PEER)),
            404,
            "ghost",
        ),
        (
            "unknown message",
            GLOBAL_KEY,
            "DELETE",
            "/chat/deleteMessageForEveryone/shop".into(),
            json!({"id": "NOPE", "fromMe": true, "remoteJid": PEER_JID}),
            404,
            "",
        ),
        (
            "not connected send",
            GLOBAL_KEY,
            "POST",
            "/message/sendText/idle".into(),
            json!({"number": PEER, "text": "x"}),
            400,
            "",
        ),
    ];
    for (case, key, method, path, body, status, needle) in &cases {
        let (s, v) = evo_json(&gw, method, path, Some(key), Some(body.clone()));
        assert_eq!(s, *status, "{case}: {v}");
        assert_eq!(v["status"], *status, "{case}: Evolution's shape: {v}");
        assert!(v["response"]["message"].is_array(), "{case}: {v}");
        assert!(v.to_string().contains(needle), "{case}: `{needle}` in {v}");
    }

    // Not connected: the stored message of an instance that logged out.
    let (s, v) = evo_json(
        &gw,
        "DELETE",
        "/instance/logout/shop",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = evo_json(
        &gw,
        "DELETE",
        "/chat/deleteMessageForEveryone/shop",
        Some(GLOBAL_KEY),
        Some(revoke),
    );
    assert_eq!(
        s, 400,
        "not connected is the caller's state, not a gateway failure: {v}"
    );
    assert_eq!(v["error"], "Bad Request", "{v}");
    assert!(v.to_string().contains("not connected"), "{v}");

    // The archive that works still answers as Evolution does.
    let gw2 = start();
    create(&gw2, GLOBAL_KEY, "a");
    connect_and_wait(&gw2, GLOBAL_KEY, "a");
    gw2.inbound("a", PEER, "hi", false);
    let (s, v) = evo_json(
        &gw2,
        "POST",
        "/chat/archiveChat/a",
        Some(GLOBAL_KEY),
        Some(archive(json!(PEER))),
    );
    assert_eq!((s, v), (201, json!({"chatId": PEER, "archived": true})));
}

/// One row of a table-driven error test.
type Case<'a> = (&'a str, &'a str, &'a str, String, Value, u16, &'a str);

/// findMessages over a chat whose matches weigh more than one answer may carry (4 MiB):
/// the gateway reads the chat twice (find and count, then pick the page) instead of
/// holding every record, and the pages still list each message once, newest first.
#[test]
fn find_messages_pages_a_chat_heavier_than_one_answer() {
    let gw = start();
    let hash = open_instance(&gw, GLOBAL_KEY, "heavy");
    // 72 messages of 60,003 characters (under the 65,536 a message keeps): 4.2 MiB of
    // matches. Stored as history chunks of 8 (a request body stays under the admin
    // API's cap).
    let text = |n: u64| format!("{n:03}{}", "x".repeat(60_000));
    for chunk in 0..9u64 {
        let messages: Vec<Value> = (0..8u64)
            .map(|i| {
                let n = chunk * 8 + i;
                json!({"from": PEER, "text": text(n), "timestamp": 1_700_000_000_000u64 + n * 1000})
            })
            .collect();
        let (s, v) = gw.admin(
            "POST",
            "/admin/sim/heavy/history",
            Some(json!({"messages": messages})),
        );
        assert_eq!((s, v), (201, json!({"stored": 8})));
    }
    let page = |n: u64| {
        let (s, v) = evo_json(
            &gw,
            "POST",
            "/chat/findMessages/heavy",
            Some(&hash),
            Some(json!({"where": {"key": {"remoteJid": PEER_JID}}, "offset": 50, "page": n})),
        );
        assert_eq!(s, 200, "{v}");
        v
    };
    let first = page(1);
    assert_eq!(first["messages"]["total"], 72);
    assert_eq!(first["messages"]["pages"], 2, "50 records a page fit 4 MiB");
    let second = page(2);
    let numbers: Vec<u64> = [&first, &second]
        .iter()
        .flat_map(|v| v["messages"]["records"].as_array().unwrap().clone())
        .map(|r| {
            let text = r["message"]["conversation"].as_str().unwrap();
            assert_eq!(text.len(), 60_003);
            text[..3].parse().unwrap()
        })
        .collect();
    assert_eq!(numbers, (0..72u64).rev().collect::<Vec<_>>());
}
