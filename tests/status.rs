//! Issue 17, status updates ("stories"): Evolution's `POST /message/sendStatus/{i}`
//! to its `SendStatusDto` (a text on a background, an image, a video or audio; for
//! the contacts named or, with `allContacts`, every contact with a push name), posted
//! through the link (the sim records what it put on the wire) and stored as the
//! account's own message in `status@broadcast`; its mistakes as Evolution's 400s, in
//! Evolution's order; another instance's token and a read-only key refused.

use crate::common;

use common::Gateway;
use common::evolution::{evo_json, open_instance};
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-status";
const PEER: &str = "5511933332222";
const PEER_JID: &str = "5511933332222@s.whatsapp.net";

fn post(gw: &Gateway, name: &str, key: &str, body: Value) -> (u16, Value) {
    evo_json(
        gw,
        "POST",
        &format!("/message/sendStatus/{name}"),
        Some(key),
        Some(body),
    )
}

fn actions(gw: &Gateway, name: &str) -> Vec<String> {
    let (s, v) = gw.admin("GET", &format!("/admin/sim/{name}/actions"), None);
    assert_eq!(s, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

#[test]
fn evolution_posts_text_and_media_statuses_for_the_contacts_named() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "stories";
    let hash = open_instance(&gw, GLOBAL_KEY, name);

    let (s, v) = post(
        &gw,
        name,
        &hash,
        json!({"type": "text", "content": "Good morning", "backgroundColor": "#008000", "font": 1, "statusJidList": [PEER, "5511911110000"]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["key"]["remoteJid"], "status@broadcast");
    assert_eq!(v["key"]["fromMe"], true);
    assert_eq!(v["status"], "PENDING");
    assert_eq!(v["message"]["conversation"], "Good morning");
    let id = v["key"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        actions(&gw, name).last().unwrap(),
        &format!("status text #ff008000 font=1 to {PEER_JID},5511911110000@s.whatsapp.net")
    );
    // Stored as the account's own message in the status chat.
    let key = gw.key("default", None);
    let (s, m) = gw.call(
        "GET",
        &format!("/core/instances/{name}/messages/{id}"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["chat_jid"], "status@broadcast");
    assert_eq!(m["text"], "Good morning");
    assert_eq!(m["from_me"], true);

    // An image, as base64, with a caption: uploaded and stored with its bytes.
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let (s, v) = post(
        &gw,
        name,
        &hash,
        json!({"type": "image", "content": png, "caption": "view", "statusJidList": [PEER]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["messageType"], "imageMessage", "{v}");
    assert_eq!(v["message"]["imageMessage"]["caption"], "view");
    assert_eq!(
        actions(&gw, name).last().unwrap(),
        &format!("status media image/png to {PEER_JID}")
    );

    // allContacts: the contacts with a push name; none yet.
    let (s, v) = post(
        &gw,
        name,
        &hash,
        json!({"type": "text", "content": "hi all", "backgroundColor": "#000000", "font": 2, "allContacts": true}),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["response"]["message"], json!(["Contacts not found"]));
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/inbound"),
        Some(json!({"from": PEER, "text": "hello", "pushName": "Ana"})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &gw,
        name,
        &hash,
        json!({"type": "text", "content": "hi all", "backgroundColor": "#000000", "font": 2, "allContacts": true}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        actions(&gw, name).last().unwrap(),
        &format!("status text #ff000000 font=2 to {PEER_JID}")
    );
}

#[test]
fn evolution_refuses_a_status_as_evolution_does() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "badstories";
    let hash = open_instance(&gw, GLOBAL_KEY, name);
    let text = |extra: Value| {
        let mut body = json!({"type": "text", "content": "x", "backgroundColor": "#008000", "font": 1, "statusJidList": [PEER]});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    for (body, says) in [
        (
            json!({"content": "x"}),
            "instance requires property \\\"type\\\"",
        ),
        (
            text(json!({"type": "sticker"})),
            "is not one of enum values",
        ),
        (text(json!({"font": 9})), "less than or equal to 5"),
        (
            text(json!({"statusJidList": ["abc"]})),
            "array of numeric strings",
        ),
        (text(json!({"content": null})), "Content is required"),
        (
            text(json!({"statusJidList": null})),
            "StatusJidList is required",
        ),
        (
            text(json!({"backgroundColor": null})),
            "Background color is required",
        ),
        (text(json!({"font": 0})), "Font is required"),
        (text(json!({"backgroundColor": "green"})), "hex colour"),
        (
            text(json!({"statusJidList": ["123"]})),
            "not a valid number",
        ),
    ] {
        let (s, v) = post(&gw, name, &hash, body.clone());
        assert_eq!(s, 400, "{body}: {v}");
        assert_eq!(v["status"], 400, "{v}");
        assert!(
            v["response"]["message"].to_string().contains(says),
            "{body}: want {says:?} in {v}"
        );
    }
    // Nothing reached the wire.
    assert!(
        !actions(&gw, name).iter().any(|a| a.starts_with("status ")),
        "a refused status was posted"
    );

    // Another instance's token, and a read-only key.
    let other = open_instance(&gw, GLOBAL_KEY, "otherstories");
    let (s, v) = post(&gw, name, &other, text(json!({})));
    assert_eq!(s, 401, "{v}");
    let read_only = gw.key("default", Some(&["read"]));
    let (s, v) = post(&gw, name, &read_only, text(json!({})));
    assert_eq!(s, 403, "{v}");
}

/// A contact's status update is stored in `status@broadcast` (author: the contact),
/// reaches Evolution's webhook as `MESSAGES_UPSERT` with the author as `participant`
/// (as Baileys keys it), and with `readStatus` on is acknowledged on the wire.
#[test]
fn a_contacts_status_update_is_stored_reported_and_read_when_the_instance_reads_statuses() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = common::receiver::Receiver::start();
    let name = "feeds";
    let hooked = common::dialect_hooks::hook_all_dialects(
        &gw,
        &rx,
        GLOBAL_KEY,
        name,
        &["MESSAGES_UPSERT"],
        &[],
        &[],
    );
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/settings/set/{name}"),
        Some(GLOBAL_KEY),
        Some(
            json!({"rejectCall": false, "groupsIgnore": false, "alwaysOnline": false,
                    "readMessages": false, "readStatus": true, "syncFullHistory": false}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/inbound"),
        Some(json!({"from": "status@broadcast", "author": PEER, "text": "At the beach"})),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (s, m) = gw.call(
        "GET",
        &format!("/core/instances/{name}/messages/{id}"),
        Some(&hooked.bearer),
        None,
    );
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["chat_jid"], "status@broadcast");
    assert_eq!(m["sender"], PEER_JID);
    assert_eq!(m["text"], "At the beach");
    assert_eq!(m["from_me"], false);
    let got = rx.wait_until("the status upsert", |r| {
        r.path == "/evolution" && r.body["data"]["key"]["id"] == id
    });
    let data = &got
        .iter()
        .find(|r| r.path == "/evolution" && r.body["data"]["key"]["id"] == id)
        .unwrap()
        .body["data"];
    assert_eq!(data["key"]["remoteJid"], "status@broadcast", "{data}");
    assert_eq!(data["key"]["participant"], PEER_JID, "{data}");
    assert_eq!(data["key"]["fromMe"], false, "{data}");
    // `readStatus`: the update is marked read, addressed to its author.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !actions(&gw, name).iter().any(|a| a.contains(&id)) {
        assert!(
            std::time::Instant::now() < deadline,
            "no read receipt: {:?}",
            actions(&gw, name)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // `author` names who wrote in a group or the status feed only.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/inbound"),
        Some(json!({"from": PEER, "author": PEER, "text": "x"})),
    );
    assert_eq!(s, 400, "{v}");
}
