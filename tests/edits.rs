//! Issue 17, edits: a text message this account sent is edited through each dialect
//! (Evolution `/chat/updateMessage`, RyzeAPI `/api/message/edit`, sessions/v1 `PATCH
//! /sessions/{sid}/messages/{mid}`) and its author's edit arrives through the sim;
//! the stored text is replaced and each edit is an event. Someone else's message, an
//! unknown, revoked or media one, and one past WhatsApp's 15 minutes are refused.

use crate::common;

use common::Gateway;
use common::evolution::{evo_json, open_instance};
use common::receiver::{Received, Receiver};
use common::ryze::ryze_json;
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-edits";
const PEER: &str = "5511944443333";
const PEER_JID: &str = "5511944443333@s.whatsapp.net";

fn text_of(gw: &Gateway, key: &str, name: &str, id: &str) -> Value {
    let (s, v) = gw.call(
        "GET",
        &format!("/core/instances/{name}/messages/{id}"),
        Some(key),
        None,
    );
    assert_eq!(s, 200, "{v}");
    v["text"].clone()
}

fn inject(gw: &Gateway, name: &str, body: Value) -> String {
    let (s, v) = gw.admin("POST", &format!("/admin/sim/{name}/inbound"), Some(body));
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn own_text_messages_are_edited_in_every_dialect_and_edits_arrive() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "editing";
    let hash = open_instance(&gw, GLOBAL_KEY, name);
    let key = gw.key("default", None);
    let (_, inst) = gw.call("GET", &format!("/core/instances/{name}"), Some(&key), None);
    let sid = inst["id"].as_str().unwrap().to_string();
    let account = gw.credential("default", "ryze-account");
    common::v1::set_webhook(&gw, &key, &sid, &rx.url("v1"), &["message.edited"]);
    common::evolution::set_webhook(
        &gw,
        GLOBAL_KEY,
        name,
        &rx.url("evolution"),
        &["MESSAGES_EDITED"],
    );

    let (s, sent) = evo_json(
        &gw,
        "POST",
        &format!("/message/sendText/{name}"),
        Some(&hash),
        Some(json!({"number": PEER, "text": "helo"})),
    );
    assert_eq!(s, 201, "{sent}");
    let id = sent["key"]["id"].as_str().unwrap().to_string();

    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/chat/updateMessage/{name}"),
        Some(&hash),
        Some(
            json!({"number": PEER, "key": {"id": id, "remoteJid": PEER_JID, "fromMe": true}, "text": "hello"}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["message"]["protocolMessage"]["type"], "MESSAGE_EDIT");
    assert_eq!(v["message"]["protocolMessage"]["key"]["id"], id.as_str());
    assert_eq!(
        v["message"]["protocolMessage"]["editedMessage"]["conversation"],
        "hello"
    );
    assert_eq!(text_of(&gw, &key, name, &id), "hello");

    let (s, v) = ryze_json(
        &gw,
        "POST",
        &format!("/api/message/edit/{name}"),
        Some(&account),
        json!({"messageId": id, "message": "hello!"}),
    );
    assert_eq!(
        (s, &v["data"]["content"]["text"]),
        (200, &json!("hello!")),
        "{v}"
    );
    let (s, v) = v1(
        &gw,
        "PATCH",
        &format!("/sessions/{sid}/messages/{id}"),
        &key,
        Some(json!({"text": "hello, world"})),
    );
    assert_eq!((s, &v["text"]), (200, &json!("hello, world")), "{v}");
    assert_eq!(text_of(&gw, &key, name, &id), "hello, world");

    // The contact edits its own message (through the sim).
    let theirs = inject(&gw, name, json!({"from": PEER, "text": "typo"}));
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/edit"),
        Some(json!({"messageId": theirs, "text": "typo fixed"})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(text_of(&gw, &key, name, &theirs), "typo fixed");

    let got = rx.wait_until_all("four edits each", |got| {
        got.iter().filter(|r| r.path == "/v1").count() >= 4
            && got.iter().filter(|r| r.path == "/evolution").count() >= 4
    });
    let bodies: Vec<&Value> = got
        .iter()
        .filter(|r| r.path == "/v1")
        .map(|r| &r.body["payload"]["body"])
        .collect();
    assert_eq!(bodies, ["hello", "hello!", "hello, world", "typo fixed"]);
    for r in got.iter().filter(|r| r.path == "/v1") {
        assert_eq!(r.body["event"], "message.edited");
    }
    let evolution: Vec<&Received> = got.iter().filter(|r| r.path == "/evolution").collect();
    for r in &evolution {
        assert_eq!(r.body["event"], "MESSAGES_EDITED");
        assert_eq!(r.body["data"]["status"], "EDITED");
    }
    assert_eq!(
        evolution[3].body["data"]["message"]["conversation"],
        "typo fixed"
    );
    assert_eq!(evolution[3].body["data"]["key"]["fromMe"], false);
}

#[test]
fn what_whatsapp_would_not_let_be_edited_is_refused_in_each_dialects_words() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "strict";
    let hash = open_instance(&gw, GLOBAL_KEY, name);
    let key = gw.key("default", None);
    let (_, inst) = gw.call("GET", &format!("/core/instances/{name}"), Some(&key), None);
    let sid = inst["id"].as_str().unwrap().to_string();
    let account = gw.credential("default", "ryze-account");

    let theirs = inject(&gw, name, json!({"from": PEER, "text": "not yours"}));
    let old = inject(
        &gw,
        name,
        json!({"from": PEER, "text": "an hour ago", "fromMe": true,
               "timestamp": wagate::util::now_ms() - 60 * 60 * 1000}),
    );
    let located = inject(
        &gw,
        name,
        json!({"from": PEER, "fromMe": true, "content": {"type": "location", "latitude": 1.0, "longitude": 2.0}}),
    );
    let revoked = inject(
        &gw,
        name,
        json!({"from": PEER, "text": "gone", "fromMe": true}),
    );
    let (s, _) = gw.call(
        "DELETE",
        &format!("/core/instances/{name}/messages/{revoked}?for_everyone=true"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200);

    for (id, says) in [
        (&theirs, "only messages sent by this account can be edited"),
        (&old, "15 minutes"),
        (&located, "only text messages can be edited"),
        (&revoked, "a revoked message cannot be edited"),
    ] {
        let (s, v) = v1(
            &gw,
            "PATCH",
            &format!("/sessions/{sid}/messages/{id}"),
            &key,
            Some(json!({"text": "new"})),
        );
        assert_eq!((s, &v["error"]["code"]), (409, &json!("conflict")), "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{says}: {v}"
        );
        let (s, v) = ryze_json(
            &gw,
            "POST",
            &format!("/api/message/edit/{name}"),
            Some(&account),
            json!({"messageId": id, "message": "new"}),
        );
        assert_eq!((s, &v["success"]), (409, &json!(false)), "{v}");
    }
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/chat/updateMessage/{name}"),
        Some(&hash),
        Some(
            json!({"number": PEER, "key": {"id": theirs, "remoteJid": PEER_JID, "fromMe": false}, "text": "new"}),
        ),
    );
    assert_eq!(s, 400, "{v}");
    assert!(
        v.to_string().contains("only messages sent by this account"),
        "{v}"
    );
    let (s, v) = evo_json(
        &gw,
        "POST",
        &format!("/chat/updateMessage/{name}"),
        Some(&hash),
        Some(
            json!({"number": "5511900000000", "key": {"id": old, "remoteJid": PEER_JID, "fromMe": true}, "text": "new"}),
        ),
    );
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("RemoteJid does not match"), "{v}");
    let (s, v) = v1(
        &gw,
        "PATCH",
        &format!("/sessions/{sid}/messages/3EB0000000000000000000"),
        &key,
        Some(json!({"text": "new"})),
    );
    assert_eq!(s, 404, "{v}");
    let (s, v) = v1(
        &gw,
        "PATCH",
        &format!("/sessions/{sid}/messages/{theirs}"),
        &key,
        Some(json!({"text": ""})),
    );
    assert_eq!(s, 422, "{v}");
    // Nothing changed.
    assert_eq!(text_of(&gw, &key, name, &theirs), "not yours");
    assert_eq!(text_of(&gw, &key, name, &old), "an hour ago");
}
