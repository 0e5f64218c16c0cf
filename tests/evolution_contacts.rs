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

/// Issue 16: RyzeAPI's and sessions/v1's contact routes over the same core operations
/// (number checks, the contacts heard from, a contact's about text and picture,
/// blocking), each in its dialect's shape; unknown numbers are 404.
#[test]
fn ryze_and_sessions_v1_serve_contacts() {
    use crate::common::ryze::ryze_json;
    use crate::common::v1::v1;
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", "evolution-key-contacts-2")]);
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let name = "people";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/inbound"),
        Some(json!({"from": "5511922221111", "text": "oi", "pushName": "Bea"})),
    );
    assert_eq!(s, 201, "{v}");

    // RyzeAPI.
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/contact/check/{name}"),
        Some(&account),
        json!({"numbers": ["5511922221111", "5511900000000", "nonsense"]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"][0]["exists"], true);
    assert_eq!(v["data"][1]["exists"], false);
    assert!(v["data"][2]["error"].is_string(), "{v}");
    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/contact/list/{name}"),
        Some(&account),
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"][0]["jid"], "5511922221111@s.whatsapp.net");
    assert_eq!(v["data"][0]["pushName"], "Bea");
    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/contact/profile/{name}?number=5511922221111"),
        Some(&account),
        Value::Null,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["name"], "Bea");
    assert!(v["data"]["picture"].is_string(), "{v}");
    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/contact/profile/{name}"),
        Some(&account),
        Value::Null,
    );
    assert_eq!((s, &v["data"]["name"]), (200, &json!("wagate sim")), "{v}");
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/contact/block/{name}"),
        Some(&account),
        json!({"number": "5511922221111"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["blocked"], true);
    let (s, v) = ryze_json(
        &gw,
        "GET",
        &format!("/api/contact/blocklist/{name}"),
        Some(&account),
        Value::Null,
    );
    assert_eq!(
        (s, v),
        (
            200,
            json!({"success": true, "data": ["5511922221111@s.whatsapp.net"]})
        )
    );
    // A number WhatsApp does not know: its profile is not found; blocking it is a
    // bad request, naming it.
    for (method, path, body, status) in [
        ("POST", "block", json!({"number": "5511900000000"}), 400),
        ("GET", "profile", Value::Null, 404),
    ] {
        let q = if method == "GET" {
            "?number=5511900000000"
        } else {
            ""
        };
        let (s, v) = ryze_json(
            &gw,
            method,
            &format!("/api/contact/{path}/{name}{q}"),
            Some(&account),
            body,
        );
        assert_eq!(s, status, "{path}: {v}");
        assert_eq!(v["success"], false);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not on WhatsApp"),
            "{v}"
        );
    }
    let (s, _) = ryze_json(
        &gw,
        "POST",
        &format!("/api/contact/check/{name}"),
        Some(&account),
        json!({"numbers": []}),
    );
    assert_eq!(s, 400);

    // sessions/v1, as quick-whatsapp-gateway shapes it.
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/contacts"),
        &bearer,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["data"][0],
        json!({"phoneNumber": "5511922221111", "name": "Bea", "source": "dm", "isBusiness": false})
    );
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/contacts/check?phone=5511922221111"),
        &bearer,
        None,
    );
    assert_eq!(
        (s, v),
        (
            200,
            json!({"query": "5511922221111", "jid": "5511922221111@s.whatsapp.net", "isOnWhatsApp": true,
                   "isBusiness": false})
        )
    );
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/contacts/5511922221111/about"),
        &bearer,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert!(v["about"].is_string(), "{v}");
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/contacts/5511922221111/picture"),
        &bearer,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert!(v["url"].is_string(), "{v}");
    let blocked = |gw: &Gateway| {
        let (s, v) = v1(
            gw,
            "GET",
            &format!("/sessions/{sid}/contacts/blocked"),
            &bearer,
            None,
        );
        assert_eq!(s, 200, "{v}");
        v["data"].clone()
    };
    let (s, _) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/contacts/5511922221111/block"),
        &bearer,
        None,
    );
    assert_eq!(s, 204);
    assert_eq!(blocked(&gw), json!(["5511922221111@s.whatsapp.net"]));
    let (s, _) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/contacts/5511922221111/unblock"),
        &bearer,
        None,
    );
    assert_eq!(s, 204);
    assert_eq!(blocked(&gw), json!([]));
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/contacts/5511900000000/block"),
        &bearer,
        None,
    );
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not on WhatsApp"),
        "{v}"
    );
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/contacts/check"),
        &bearer,
        None,
    );
    assert_eq!(s, 422, "{v}");
    // A read-only key may look, not block.
    let reader = gw.key("default", Some(&["read"]));
    let (s, _) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/contacts"),
        &reader,
        None,
    );
    assert_eq!(s, 200);
    let (s, _) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/contacts/5511922221111/block"),
        &reader,
        None,
    );
    assert_eq!(s, 403);
}
