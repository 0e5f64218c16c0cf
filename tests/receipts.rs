//! Issue 17, receipts: a contact's receipts (sent -> delivered -> read) raise the stored
//! status of an outbound message, and each step reaches a webhook in order, in each
//! dialect's envelope: Evolution `MESSAGES_UPDATE`, RyzeAPI `message.status`,
//! sessions/v1 `message.ack`. The message then shows its status in each dialect's
//! listing. The sim takes the receipts through `POST /admin/sim/{i}/receipt`.

use crate::common;

use common::Gateway;
use common::evolution::evo_json;
use common::receiver::{Received, Receiver};
use common::ryze::ryze_json;
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-receipts";
const PEER: &str = "5511988887777";
const PEER_JID: &str = "5511988887777@s.whatsapp.net";

fn receipt(gw: &Gateway, name: &str, ids: &[&str], status: &str) -> (u16, Value) {
    gw.admin(
        "POST",
        &format!("/admin/sim/{name}/receipt"),
        Some(json!({"messageIds": ids, "status": status})),
    )
}

/// The webhook calls made to `path`, in arrival order.
fn at<'a>(got: &'a [Received], path: &str) -> Vec<&'a Received> {
    got.iter().filter(|r| r.path == path).collect()
}

#[test]
fn a_receipt_sequence_reaches_each_dialect_in_order_and_shows_on_the_message() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let name = "receipts";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();

    // One webhook per dialect, each subscribed to its receipt event only.
    common::ryze::set_webhook(&gw, &account, name, &rx.url("ryze"), &["message.status"]);
    common::evolution::set_webhook(
        &gw,
        GLOBAL_KEY,
        name,
        &rx.url("evolution"),
        &["MESSAGES_UPDATE"],
    );
    common::v1::set_webhook(&gw, &bearer, &sid, &rx.url("v1"), &["message.ack"]);

    // An outbound message, sent through Evolution; a contact's message too.
    let (s, sent) = evo_json(
        &gw,
        "POST",
        &format!("/message/sendText/{name}"),
        Some(GLOBAL_KEY),
        Some(json!({"number": PEER, "text": "did you get it?"})),
    );
    assert_eq!(s, 201, "{sent}");
    let id = sent["key"]["id"].as_str().unwrap().to_string();
    let theirs = gw.inbound(name, PEER, "hello", false);

    for status in ["sent", "delivered", "read"] {
        let (s, v) = receipt(&gw, name, &[&id], status);
        assert_eq!((s, &v), (200, &json!({"changed": 1})), "{status}");
    }
    // A late `delivered` after `read` changes nothing and raises no event; an id the
    // gateway never stored is skipped.
    let (s, v) = receipt(&gw, name, &[&id, "3EB0NEVERSTORED00000"], "delivered");
    assert_eq!((s, v), (200, json!({"changed": 0})));

    let got = rx.wait_until_all("three receipts per dialect", |got| {
        ["ryze", "evolution", "v1"]
            .iter()
            .all(|p| got.iter().filter(|r| r.path == format!("/{p}")).count() >= 3)
    });
    // Nothing else arrives (the late `delivered`, other kinds): give stragglers a moment.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let got = {
        let all = rx.all();
        assert_eq!(
            all.len(),
            got.len(),
            "unexpected extra deliveries: {all:#?}"
        );
        all
    };

    let evolution: Vec<&Value> = at(&got, "/evolution").iter().map(|r| &r.body).collect();
    let statuses: Vec<&Value> = evolution.iter().map(|b| &b["data"]["status"]).collect();
    assert_eq!(statuses, ["SERVER_ACK", "DELIVERY_ACK", "READ"]);
    for body in &evolution {
        assert_eq!(body["event"], "MESSAGES_UPDATE");
        assert_eq!(body["instance"], name);
        let data = &body["data"];
        assert_eq!(data["keyId"], id.as_str());
        assert_eq!(data["messageId"], id.as_str());
        assert_eq!(data["remoteJid"], PEER_JID);
        assert_eq!(data["fromMe"], true);
        assert_eq!(data["participant"], Value::Null);
        assert_eq!(data["instanceId"], sid.as_str());
    }

    let ryze: Vec<&Value> = at(&got, "/ryze").iter().map(|r| &r.body).collect();
    let statuses: Vec<&Value> = ryze.iter().map(|b| &b["data"]["status"]).collect();
    assert_eq!(statuses, ["sent", "delivered", "read"]);
    for body in &ryze {
        assert_eq!(body["event"], "message.status");
        assert_eq!(body["instanceData"]["instance"], name);
        assert_eq!(body["data"]["type"], "message_status");
        assert_eq!(body["data"]["id"], id.as_str());
        assert_eq!(body["data"]["message"]["direction"], "outgoing");
        assert_eq!(body["data"]["message"]["chat"]["jid"], PEER);
    }

    let v1_bodies: Vec<&Value> = at(&got, "/v1").iter().map(|r| &r.body).collect();
    let statuses: Vec<&Value> = v1_bodies.iter().map(|b| &b["payload"]["status"]).collect();
    assert_eq!(statuses, ["sent", "delivered", "read"]);
    for body in &v1_bodies {
        assert_eq!(body["schema"], "v1");
        assert_eq!(body["event"], "message.ack");
        assert_eq!(body["session"], sid.as_str());
        assert_eq!(body["payload"]["waMessageId"], id.as_str());
        assert_eq!(body["payload"]["chatJid"], PEER_JID);
        assert_eq!(body["payload"]["fromMe"], true);
    }

    // The status is on the stored message, in each dialect's listing; the contact's
    // message, which got no receipt, shows none (Evolution: Baileys' default).
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/chat/findMessages/{name}"),
        Some(GLOBAL_KEY),
        Some(json!({"where": {"key": {"remoteJid": PEER_JID}}})),
    );
    assert_eq!(s, 200, "{v}");
    let records = v["messages"]["records"].as_array().unwrap();
    let status_of = |wanted: &str| {
        records
            .iter()
            .find(|r| r["key"]["id"] == wanted)
            .map(|r| r["status"].clone())
            .unwrap_or_else(|| panic!("{wanted} not listed: {v}"))
    };
    assert_eq!(status_of(&id), "READ");
    assert_eq!(status_of(&theirs), Value::Null);

    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/chat/history/{name}"),
        Some(&account),
        json!({"number": PEER}),
    );
    assert_eq!(s, 200, "{v}");
    let listed: Vec<(&Value, &Value)> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (&m["id"], &m["status"]))
        .collect();
    assert!(listed.contains(&(&json!(id), &json!("read"))), "{v}");
    assert!(listed.contains(&(&json!(theirs), &Value::Null)), "{v}");

    let (s, v) = v1(
        &gw,
        "GET",
        &format!("/sessions/{sid}/chats/{PEER_JID}/messages"),
        &bearer,
        None,
    );
    assert_eq!(s, 200, "{v}");
    let mine = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str())
        .unwrap_or_else(|| panic!("not listed: {v}"));
    assert_eq!(mine["status"], "read");

    // And natively.
    let (s, v) = gw.call(
        "GET",
        &format!("/core/instances/{name}/messages/{id}"),
        Some(&bearer),
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "read");
}

#[test]
fn the_sim_receipt_route_refuses_what_the_network_would_not_carry() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "acks");
    let id = {
        let (s, v) = gw.call(
            "POST",
            "/core/instances/acks/messages",
            Some(&key),
            Some(json!({"to": PEER, "text": "hi"})),
        );
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    };

    let (s, v) = receipt(&gw, "acks", &[&id], "seen");
    assert_eq!(s, 400, "{v}");
    assert!(
        v.to_string().contains("sent, delivered, read or played"),
        "{v}"
    );
    let (s, v) = receipt(&gw, "acks", &[], "read");
    assert_eq!(s, 400, "{v}");
    let (s, v) = receipt(&gw, "nobody", &[&id], "read");
    assert_eq!(s, 404, "{v}");

    // A session whose link is down gets no receipts.
    let (s, _) = gw.admin("POST", "/admin/sim/acks/link", Some(json!({"up": false})));
    assert_eq!(s, 200);
    let (s, v) = receipt(&gw, "acks", &[&id], "read");
    assert_eq!(s, 503, "{v}");
    assert!(v.to_string().contains("not connected"), "{v}");
    let (_, v) = gw.call(
        "GET",
        &format!("/core/instances/acks/messages/{id}"),
        Some(&key),
        None,
    );
    assert_eq!(v.get("status"), None, "{v}");

    // Played follows read for a voice note; played without an earlier step is fine.
    let (s, _) = gw.admin("POST", "/admin/sim/acks/link", Some(json!({"up": true})));
    assert_eq!(s, 200);
    let (s, v) = receipt(&gw, "acks", &[&id], "played");
    assert_eq!((s, v), (200, json!({"changed": 1})));
    let (_, v) = gw.call(
        "GET",
        &format!("/core/instances/acks/messages/{id}"),
        Some(&key),
        None,
    );
    assert_eq!(v["status"], "played");
}

/// Evolution's `findStatusMessage` lists each message's furthest receipt, and
/// `findChatByRemoteJid` finds a stored chat (or answers null).
#[test]
fn evolution_finds_message_statuses_and_a_chat_by_its_jid() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "lookups";
    let hash = common::evolution::open_instance(&gw, GLOBAL_KEY, name);
    let send = |text: &str| {
        let (s, v) = evo_json(
            &gw,
            "POST",
            &format!("/message/sendText/{name}"),
            Some(&hash),
            Some(json!({"number": PEER, "text": text})),
        );
        assert_eq!(s, 201, "{v}");
        v["key"]["id"].as_str().unwrap().to_string()
    };
    let (a, b, quiet) = (send("a"), send("b"), send("no receipt"));
    assert_eq!(receipt(&gw, name, &[&a, &b], "delivered").0, 200);
    assert_eq!(receipt(&gw, name, &[&a], "read").0, 200);
    let find = |body: Value| {
        evo_json(
            &gw,
            "POST",
            &format!("/chat/findStatusMessage/{name}"),
            Some(&hash),
            Some(body),
        )
    };
    let (s, rows) = find(json!({"where": {"remoteJid": PEER_JID}}));
    assert_eq!(s, 200, "{rows}");
    let statuses: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["keyId"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 2, "{rows}");
    assert!(statuses.contains(&(a.clone(), "READ".into())), "{rows}");
    assert!(
        statuses.contains(&(b.clone(), "DELIVERY_ACK".into())),
        "{rows}"
    );
    assert!(
        !rows.to_string().contains(&quiet),
        "a message without a receipt has no row"
    );
    assert_eq!(rows[0]["remoteJid"], PEER_JID);
    assert_eq!(rows[0]["fromMe"], true);
    // By id; and paged one row at a time.
    let (_, one) = find(json!({"where": {"id": b}}));
    assert_eq!(one.as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one[0]["status"], "DELIVERY_ACK");
    let (_, p1) = find(json!({"offset": 1, "page": 1}));
    let (_, p2) = find(json!({"offset": 1, "page": 2}));
    let (_, p3) = find(json!({"offset": 1, "page": 3}));
    assert_eq!(p1.as_array().unwrap().len(), 1);
    assert_eq!(p2.as_array().unwrap().len(), 1);
    assert_ne!(p1[0]["keyId"], p2[0]["keyId"]);
    assert_eq!(p3, json!([]));
    let (s, v) = find(json!({"offset": 0}));
    assert_eq!(s, 400, "{v}");

    // A chat by its JID (any form core accepts), else null; without it, 400.
    let by_jid = |q: &str| {
        evo_json(
            &gw,
            "GET",
            &format!("/chat/findChatByRemoteJid/{name}{q}"),
            Some(&hash),
            None,
        )
    };
    let (s, chat) = by_jid(&format!("?remoteJid={PEER}"));
    assert_eq!(s, 200, "{chat}");
    assert_eq!(chat["remoteJid"], PEER_JID);
    assert!(chat["instanceId"].is_string());
    let (s, none) = by_jid("?remoteJid=5511900001111");
    assert_eq!((s, none), (200, Value::Null));
    let (s, v) = by_jid("");
    assert_eq!(
        (s, v),
        (
            400,
            json!({"error": "remoteJid is a required query parameter"})
        )
    );
}
