//! Issue 17, reactions: sending one through each dialect (Evolution
//! `/message/sendReaction`, RyzeAPI `/api/message/reaction`, sessions/v1
//! `/sessions/{sid}/messages/{mid}/reaction`), replacing and removing it, a contact's
//! reaction arriving through the sim (`/admin/sim/{i}/reaction`): stored on the target
//! message, and each change a webhook event in each dialect's shape, in order. Errors:
//! an unknown or revoked message, a chat that is not the message's, more than an
//! emoji, another org's or a read-only credential.

use crate::common;

use common::Gateway;
use common::evolution::evo_json;
use common::receiver::{Received, Receiver};
use common::ryze::ryze_json;
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-reactions";
const PEER: &str = "5511977776666";
const PEER_JID: &str = "5511977776666@s.whatsapp.net";

fn at<'a>(got: &'a [Received], path: &str) -> Vec<&'a Value> {
    got.iter()
        .filter(|r| r.path == path)
        .map(|r| &r.body)
        .collect()
}

fn stored(gw: &Gateway, key: &str, name: &str, id: &str) -> Value {
    let (s, v) = gw.call(
        "GET",
        &format!("/core/instances/{name}/messages/{id}"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "{v}");
    v
}

#[test]
fn reactions_are_sent_replaced_removed_and_received_in_every_dialect() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let name = "reacting";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    let owner = stored_owner(&gw, &bearer, name);

    common::ryze::set_webhook(&gw, &account, name, &rx.url("ryze"), &["message.exchange"]);
    common::evolution::set_webhook(
        &gw,
        GLOBAL_KEY,
        name,
        &rx.url("evolution"),
        &["MESSAGES_UPSERT"],
    );
    common::v1::set_webhook(&gw, &bearer, &sid, &rx.url("v1"), &["message.reaction"]);

    let target = gw.inbound(name, PEER, "shall we?", false);

    // Evolution: 👍, answered as Baileys' reactionMessage.
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/message/sendReaction/{name}"),
        Some(GLOBAL_KEY),
        Some(
            json!({"key": {"remoteJid": PEER_JID, "fromMe": false, "id": target}, "reaction": "👍"}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["messageType"], "reactionMessage");
    assert_eq!(v["status"], "PENDING");
    assert_eq!(v["key"]["fromMe"], true);
    assert_eq!(v["key"]["remoteJid"], PEER_JID);
    assert_ne!(
        v["key"]["id"],
        target.as_str(),
        "the reaction has its own id"
    );
    assert_eq!(
        v["message"]["reactionMessage"]["key"]["id"],
        target.as_str()
    );
    assert_eq!(v["message"]["reactionMessage"]["text"], "👍");
    let m = stored(&gw, &bearer, name, &target);
    assert_eq!(m["reactions"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["reactions"][0]["emoji"], "👍");
    assert_eq!(m["reactions"][0]["from_me"], true);

    // Ryze: ❤️ replaces this account's 👍.
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/message/reaction/{name}"),
        Some(&account),
        json!({"messageId": target, "emoji": "❤️"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["data"]["messageId"], target.as_str());
    assert_eq!(v["data"]["emoji"], "❤️");
    let m = stored(&gw, &bearer, name, &target);
    assert_eq!(m["reactions"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["reactions"][0]["emoji"], "❤️");

    // sessions/v1: "" takes it off.
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/messages/{target}/reaction"),
        &bearer,
        Some(json!({"emoji": ""})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["message"]["id"], target.as_str());
    assert_eq!(v["message"]["reactions"], json!([]));
    assert_eq!(v["reaction"]["emoji"], "");
    assert_eq!(stored(&gw, &bearer, name, &target).get("reactions"), None);

    // The contact reacts 😂 (through the sim, as the network would deliver it).
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/reaction"),
        Some(json!({"messageId": target, "emoji": "😂"})),
    );
    assert_eq!(s, 201, "{v}");
    let m = stored(&gw, &bearer, name, &target);
    assert_eq!(m["reactions"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["reactions"][0]["emoji"], "😂");
    assert_eq!(m["reactions"][0]["sender"], PEER_JID);
    assert_eq!(m["reactions"][0]["from_me"], false);

    // Each dialect's listing shows it.
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/chat/history/{name}"),
        Some(&account),
        json!({"number": PEER}),
    );
    assert_eq!(s, 200, "{v}");
    let listed = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == target.as_str())
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        listed["reactions"],
        json!([{"sender": PEER, "emoji": "😂", "fromMe": false}])
    );
    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/chats/{PEER_JID}/messages"),
        &bearer,
        None,
    );
    assert_eq!(s, 200, "{v}");
    let listed = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == target.as_str())
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(listed["reactions"][0]["emoji"], "😂");
    assert_eq!(listed["reactions"][0]["senderJid"], PEER_JID);

    // Four changes, in order, in each dialect's shape.
    let want = ["👍", "❤️", "", "😂"];
    let got = rx.wait_until_all("four reactions per dialect", |got| {
        let evo = at(got, "/evolution")
            .into_iter()
            .filter(|b| b["data"]["messageType"] == "reactionMessage")
            .count();
        let ryze = at(got, "/ryze")
            .into_iter()
            .filter(|b| b["data"]["type"] == "reaction")
            .count();
        evo >= 4 && ryze >= 4 && at(got, "/v1").len() >= 4
    });

    let evolution: Vec<&Value> = at(&got, "/evolution")
        .into_iter()
        .filter(|b| b["data"]["messageType"] == "reactionMessage")
        .collect();
    let emojis: Vec<&Value> = evolution
        .iter()
        .map(|b| &b["data"]["message"]["reactionMessage"]["text"])
        .collect();
    assert_eq!(emojis, want);
    for b in &evolution {
        assert_eq!(b["event"], "MESSAGES_UPSERT");
        assert_eq!(
            b["data"]["message"]["reactionMessage"]["key"]["id"],
            target.as_str()
        );
        assert_eq!(b["data"]["key"]["remoteJid"], PEER_JID);
    }
    let from_me: Vec<&Value> = evolution
        .iter()
        .map(|b| &b["data"]["key"]["fromMe"])
        .collect();
    assert_eq!(from_me, [true, true, true, false]);

    let ryze: Vec<&Value> = at(&got, "/ryze")
        .into_iter()
        .filter(|b| b["data"]["type"] == "reaction")
        .collect();
    let emojis: Vec<&Value> = ryze
        .iter()
        .map(|b| &b["data"]["message"]["content"]["reaction"]["emoji"])
        .collect();
    assert_eq!(emojis, want);
    for b in &ryze {
        assert_eq!(b["event"], "message.exchange");
        assert_eq!(
            b["data"]["message"]["content"]["reaction"]["targetId"],
            target.as_str()
        );
    }
    assert_eq!(ryze[3]["data"]["message"]["direction"], "incoming");

    let v1_bodies = at(&got, "/v1");
    let emojis: Vec<&Value> = v1_bodies.iter().map(|b| &b["payload"]["emoji"]).collect();
    assert_eq!(emojis, want);
    for b in &v1_bodies {
        assert_eq!(b["event"], "message.reaction");
        assert_eq!(b["payload"]["waMessageId"], target.as_str());
        assert_eq!(b["payload"]["chatJid"], PEER_JID);
    }
    assert_eq!(v1_bodies[0]["payload"]["senderJid"], owner.as_str());
    assert_eq!(v1_bodies[3]["payload"]["senderJid"], PEER_JID);
}

/// The paired account's JID, as core stored it.
fn stored_owner(gw: &Gateway, key: &str, name: &str) -> String {
    let (s, v) = gw.call("GET", &format!("/core/instances/{name}"), Some(key), None);
    assert_eq!(s, 200, "{v}");
    v["owner_jid"].as_str().unwrap().to_string()
}

#[test]
fn reacting_to_what_cannot_take_a_reaction_is_a_clear_error_in_each_dialect() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let name = "refusing";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    let target = gw.inbound(name, PEER, "hi", false);
    let unknown = "3EB0000000000000000000";

    // An unknown message.
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/message/sendReaction/{name}"),
        Some(GLOBAL_KEY),
        Some(
            json!({"key": {"remoteJid": PEER_JID, "fromMe": false, "id": unknown}, "reaction": "👍"}),
        ),
    );
    assert_eq!(s, 404, "{v}");
    assert!(
        v["response"]["message"][0]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{v}"
    );
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/message/reaction/{name}"),
        Some(&account),
        json!({"messageId": unknown, "emoji": "👍"}),
    );
    assert_eq!((s, v["success"].clone()), (404, json!(false)), "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/messages/{unknown}/reaction"),
        &bearer,
        Some(json!({"emoji": "👍"})),
    );
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"]["code"], "not_found");
    assert_eq!(v["error"]["message"], "message not found");

    // Evolution: a key naming another chat; a DTO missing its parts.
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/message/sendReaction/{name}"),
        Some(GLOBAL_KEY),
        Some(
            json!({"key": {"remoteJid": "5511900000000@s.whatsapp.net", "fromMe": false, "id": target}, "reaction": "👍"}),
        ),
    );
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("is not in the chat"), "{v}");
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/message/sendReaction/{name}"),
        Some(GLOBAL_KEY),
        Some(json!({"key": {"remoteJid": PEER_JID, "id": target}, "reaction": "👍"})),
    );
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("key.fromMe"), "{v}");

    // More than an emoji.
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/messages/{target}/reaction"),
        &bearer,
        Some(json!({"emoji": "this is a sentence"})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "validation_error");
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/messages/{target}/reaction"),
        &bearer,
        Some(json!({})),
    );
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["details"]["fields"]["emoji"].is_string()
            || v["error"]["details"]["emoji"].is_string(),
        "{v}"
    );

    // A revoked message (revoked by the contact's own phone is not simulated; revoke
    // our own).
    let (s, mine) = gw.call(
        "POST",
        &format!("/core/instances/{name}/messages"),
        Some(&bearer),
        Some(json!({"to": PEER, "text": "oops"})),
    );
    assert_eq!(s, 201, "{mine}");
    let mine = mine["id"].as_str().unwrap().to_string();
    let (s, v) = gw.call(
        "DELETE",
        &format!("/core/instances/{name}/messages/{mine}?for_everyone=true"),
        Some(&bearer),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/message/reaction/{name}"),
        Some(&account),
        json!({"messageId": mine, "emoji": "👍"}),
    );
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("revoked"),
        "{v}"
    );
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/messages/{mine}/reaction"),
        &bearer,
        Some(json!({"emoji": "👍"})),
    );
    assert_eq!((s, &v["error"]["code"]), (409, &json!("conflict")), "{v}");

    // Tenancy: another org's key, a read-only key, and a Ryze instance token on
    // another instance.
    let other_org = gw.org_with_key("elsewhere", None);
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/messages/{target}/reaction"),
        &other_org,
        Some(json!({"emoji": "👍"})),
    );
    assert_eq!(s, 404, "{v}");
    let read_only = gw.key("default", Some(&["read"]));
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/messages/{target}/reaction"),
        &read_only,
        Some(json!({"emoji": "👍"})),
    );
    assert_eq!((s, &v["error"]["code"]), (403, &json!("forbidden")), "{v}");
    let other_token = common::ryze::create(&gw, &account, "another");
    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/message/reaction/{name}"),
        Some(&other_token),
        json!({"messageId": target, "emoji": "👍"}),
    );
    assert_eq!(s, 404, "{v}");
    // Nothing of it landed on the message.
    assert_eq!(stored(&gw, &bearer, name, &target).get("reactions"), None);
}
