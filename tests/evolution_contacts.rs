//! Evolution's contact routes under `/chat/*` through the real binary on the sim link
//! (which has an account for every number except those ending in 0000): number checks
//! with registered, unregistered and malformed entries, contacts learnt from inbound
//! messages and their push names, profile pictures, blocking, and who may call what.

use crate::common;

use common::Gateway;
use common::evolution::{evo_json, open_instance};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-contacts";
const PEER: &str = "5511999999999";
const PEER_JID: &str = "5511999999999@s.whatsapp.net";
const PEER2_JID: &str = "5511977777777@s.whatsapp.net";
const UNREGISTERED: &str = "5511988880000";

fn post(gw: &Gateway, key: &str, path: &str, body: Value) -> (u16, Value) {
    evo_json(gw, "POST", path, Some(key), Some(body))
}

fn inbound(gw: &Gateway, from: &str, push_name: Option<&str>) {
    let (s, v) = gw.admin(
        "POST",
        "/admin/sim/alpha/inbound",
        Some(json!({"from": from, "text": "hi", "pushName": push_name})),
    );
    assert_eq!(s, 201, "{v}");
}

#[test]
fn contacts_numbers_pictures_and_blocks_through_evolution_routes() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    open_instance(&gw, GLOBAL_KEY, "alpha");
    let k = GLOBAL_KEY;

    // Number checks: one answer per entry, in order.
    let (s, v) = post(
        &gw,
        k,
        "/chat/whatsappNumbers/alpha",
        json!({"numbers": [format!("+{PEER}"), UNREGISTERED, "not a number", "120363000000000001@g.us"]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!([
            {"jid": PEER_JID, "exists": true, "number": format!("+{PEER}")},
            {"jid": format!("{UNREGISTERED}@s.whatsapp.net"), "exists": false, "number": UNREGISTERED},
            {"jid": "not a number", "exists": false, "number": "not a number"},
            {"jid": "120363000000000001@g.us", "exists": false, "number": "120363000000000001@g.us"},
        ])
    );
    let (s, v) = post(
        &gw,
        k,
        "/chat/whatsappNumbers/alpha",
        json!({"numbers": []}),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v) = post(&gw, k, "/chat/whatsappNumbers/alpha", json!({}));
    assert_eq!(s, 400, "{v}");

    // Contacts come from inbound messages, with the push name they carried.
    let (s, v) = post(&gw, k, "/chat/findContacts/alpha", json!({}));
    assert_eq!((s, v.clone()), (200, json!([])), "{v}");
    inbound(&gw, PEER, Some("Maria"));
    inbound(&gw, PEER2_JID, None);
    inbound(&gw, PEER2_JID, None);
    let (s, v) = post(&gw, k, "/chat/findContacts/alpha", json!({}));
    assert_eq!(s, 200, "{v}");
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    let maria = rows.iter().find(|r| r["remoteJid"] == PEER_JID).unwrap();
    assert_eq!(maria["pushName"], "Maria");
    assert_eq!(
        (maria["isSaved"].as_bool(), maria["type"].as_str()),
        (Some(true), Some("contact"))
    );
    let other = rows.iter().find(|r| r["remoteJid"] == PEER2_JID).unwrap();
    assert_eq!(other["pushName"], Value::Null);
    // A new push name replaces the old; filtering by number.
    inbound(&gw, PEER, Some("Maria S."));
    let (_, v) = post(
        &gw,
        k,
        "/chat/findContacts/alpha",
        json!({"where": {"remoteJid": PEER}}),
    );
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["pushName"], "Maria S.");
    let (_, v) = post(
        &gw,
        k,
        "/chat/findContacts/alpha",
        json!({"offset": 1, "page": 2}),
    );
    assert_eq!(v.as_array().unwrap().len(), 1, "second page of one: {v}");
    let (_, v) = post(
        &gw,
        k,
        "/chat/whatsappNumbers/alpha",
        json!({"numbers": [PEER]}),
    );
    assert_eq!(v[0]["name"], "Maria S.", "{v}");

    // Profile pictures.
    let (s, v) = post(
        &gw,
        k,
        "/chat/fetchProfilePictureUrl/alpha",
        json!({"number": PEER}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["wuid"], PEER_JID);
    assert!(
        v["profilePictureUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{v}"
    );
    let (_, v) = post(
        &gw,
        k,
        "/chat/fetchProfilePictureUrl/alpha",
        json!({"number": UNREGISTERED}),
    );
    assert_eq!(v["profilePictureUrl"], Value::Null, "{v}");
    let (s, _) = post(
        &gw,
        k,
        "/chat/fetchProfilePictureUrl/alpha",
        json!({"number": "x"}),
    );
    assert_eq!(s, 400);

    // Block and unblock.
    for status in ["block", "unblock"] {
        let (s, v) = post(
            &gw,
            k,
            "/chat/updateBlockStatus/alpha",
            json!({"number": PEER, "status": status}),
        );
        assert_eq!((s, v.clone()), (201, json!({"block": "success"})), "{v}");
    }
    let (s, v) = post(
        &gw,
        k,
        "/chat/updateBlockStatus/alpha",
        json!({"number": UNREGISTERED, "status": "block"}),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["response"]["message"][0], "Error blocking user", "{v}");
    let (s, _) = post(
        &gw,
        k,
        "/chat/updateBlockStatus/alpha",
        json!({"number": PEER, "status": "mute"}),
    );
    assert_eq!(s, 400);

    // A read-only key reads but does not block; another org sees no instance.
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "default", "kind": "evolution-key", "capabilities": ["read"]})),
    );
    assert_eq!(s, 201, "{v}");
    let read_only = v["token"].as_str().unwrap().to_string();
    let (s, _) = post(
        &gw,
        &read_only,
        "/chat/whatsappNumbers/alpha",
        json!({"numbers": [PEER]}),
    );
    assert_eq!(s, 200);
    let (s, _) = post(&gw, &read_only, "/chat/findContacts/alpha", json!({}));
    assert_eq!(s, 200);
    let (s, v) = post(
        &gw,
        &read_only,
        "/chat/updateBlockStatus/alpha",
        json!({"number": PEER, "status": "block"}),
    );
    assert_eq!(s, 403, "{v}");
    let (s, _) = gw.admin("POST", "/admin/orgs", Some(json!({"name": "other"})));
    assert_eq!(s, 201);
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "other", "kind": "evolution-key"})),
    );
    assert_eq!(s, 201, "{v}");
    let other = v["token"].as_str().unwrap().to_string();
    for path in [
        "/chat/findContacts/alpha",
        "/chat/whatsappNumbers/alpha",
        "/chat/updateBlockStatus/alpha",
    ] {
        let (s, v) = post(
            &gw,
            &other,
            path,
            json!({"numbers": [PEER], "number": PEER, "status": "block"}),
        );
        assert_eq!(s, 404, "{path}: {v}");
    }
}
