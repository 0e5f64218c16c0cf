//! Issue 17, read receipts and presence through Evolution's routes
//! (`/chat/markMessageAsRead`, `/chat/markChatUnread`, `/chat/sendPresence`,
//! `/instance/setPresence`): the answers in Evolution's shape, and what the session
//! put on the wire, as the sim records it (`GET /admin/sim/{i}/actions`).

use std::time::{Duration, Instant};

use crate::common;

use common::Gateway;
use common::evolution::{evo_json, open_instance};
use common::v1::v1;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-presence";
const PEER: &str = "5511966665555";
const PEER_JID: &str = "5511966665555@s.whatsapp.net";

fn actions(gw: &Gateway, name: &str) -> Vec<String> {
    let (s, v) = gw.admin("GET", &format!("/admin/sim/{name}/actions"), None);
    assert_eq!(s, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

fn post(gw: &Gateway, path: &str, key: &str, body: Value) -> (u16, Value) {
    evo_json(gw, "POST", path, Some(key), Some(body))
}

#[test]
fn read_receipts_unread_and_presence_reach_the_link_as_evolution_asks() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let name = "presence";
    let hash = open_instance(&gw, GLOBAL_KEY, name);
    let first = gw.inbound(name, PEER, "one", false);
    let second = gw.inbound(name, PEER, "two", false);
    let (s, mine) = post(
        &gw,
        &format!("/message/sendText/{name}"),
        GLOBAL_KEY,
        json!({"number": PEER, "text": "mine"}),
    );
    assert_eq!(s, 201, "{mine}");
    let mine = mine["key"]["id"].as_str().unwrap().to_string();

    // Read receipts for the contact's two messages; our own needs none.
    let keys: Vec<Value> = [(&first, false), (&second, false), (&mine, true)]
        .iter()
        .map(|(id, from_me)| json!({"id": id, "fromMe": from_me, "remoteJid": PEER_JID}))
        .collect();
    let (s, v) = post(
        &gw,
        &format!("/chat/markMessageAsRead/{name}"),
        &hash,
        json!({"readMessages": keys}),
    );
    assert_eq!(
        (s, v),
        (201, json!({"message": "Read messages", "read": "success"}))
    );
    assert_eq!(
        actions(&gw, name),
        [format!("read {PEER_JID} {first},{second}")]
    );

    let (s, v) = post(
        &gw,
        &format!("/chat/markMessageAsRead/{name}"),
        &hash,
        json!({"readMessages": [{"id": "3EB0000000000000000000", "fromMe": false, "remoteJid": PEER_JID}]}),
    );
    assert_eq!(s, 404, "{v}");
    let (s, v) = post(
        &gw,
        &format!("/chat/markMessageAsRead/{name}"),
        &hash,
        json!({"readMessages": []}),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v) = post(
        &gw,
        &format!("/chat/markMessageAsRead/{name}"),
        &hash,
        json!({"readMessages": [{"id": first, "remoteJid": PEER_JID}]}),
    );
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("fromMe"), "{v}");

    // Unread: by chat, or by the last message's key.
    let (s, v) = post(
        &gw,
        &format!("/chat/markChatUnread/{name}"),
        &hash,
        json!({"chat": PEER}),
    );
    assert_eq!(
        (s, v),
        (201, json!({"chatId": PEER_JID, "markedChatUnread": true}))
    );
    let (s, v) = post(
        &gw,
        &format!("/chat/markChatUnread/{name}"),
        &hash,
        json!({"lastMessage": {"key": {"id": second, "fromMe": false, "remoteJid": PEER_JID}}}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &gw,
        &format!("/chat/markChatUnread/{name}"),
        &hash,
        json!({"chat": "5511900000000"}),
    );
    assert_eq!(s, 404, "{v}");

    // typing... then paused after the delay, without holding the request.
    let started = Instant::now();
    let (s, v) = post(
        &gw,
        &format!("/chat/sendPresence/{name}"),
        &hash,
        json!({"number": PEER, "presence": "composing", "delay": 400}),
    );
    assert_eq!((s, v), (201, json!({"presence": "composing"})));
    assert!(started.elapsed() < Duration::from_millis(400));
    assert_eq!(
        actions(&gw, name).last().map(String::as_str),
        Some(format!("composing {PEER_JID}").as_str())
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while actions(&gw, name).last() != Some(&format!("paused {PEER_JID}")) {
        assert!(
            Instant::now() < deadline,
            "no paused: {:?}",
            actions(&gw, name)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(started.elapsed() >= Duration::from_millis(400));

    for (body, what) in [
        (
            json!({"number": PEER, "presence": "dancing", "delay": 0}),
            "enum",
        ),
        (
            json!({"number": PEER, "presence": "composing", "delay": 70000}),
            "delay",
        ),
        (json!({"number": PEER, "presence": "composing"}), "delay"),
    ] {
        let (s, v) = post(&gw, &format!("/chat/sendPresence/{name}"), &hash, body);
        assert_eq!(s, 400, "{v}");
        assert!(v.to_string().contains(what), "{what}: {v}");
    }

    // The account's own presence.
    let (s, v) = post(
        &gw,
        &format!("/instance/setPresence/{name}"),
        &hash,
        json!({"presence": "unavailable"}),
    );
    assert_eq!((s, v), (201, json!({"presence": "unavailable"})));
    assert_eq!(
        actions(&gw, name).last().map(String::as_str),
        Some("unavailable")
    );
    let (s, v) = post(
        &gw,
        &format!("/instance/setPresence/{name}"),
        &hash,
        json!({"presence": "busy"}),
    );
    assert_eq!(s, 400, "{v}");

    // Another instance's token is refused (Evolution's guard: 401) and nothing is sent.
    let before = actions(&gw, name);
    let other = open_instance(&gw, GLOBAL_KEY, "other");
    let (s, v) = post(
        &gw,
        &format!("/instance/setPresence/{name}"),
        &other,
        json!({"presence": "available"}),
    );
    assert_eq!(s, 401, "{v}");
    assert_eq!(actions(&gw, name), before);

    // A link that is down: Evolution's 400, nothing sent.
    let (s, _) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/link"),
        Some(json!({"up": false})),
    );
    assert_eq!(s, 200);
    let (s, v) = post(
        &gw,
        &format!("/chat/sendPresence/{name}"),
        &hash,
        json!({"number": PEER, "presence": "recording", "delay": 0}),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(actions(&gw, name), before);
}

#[test]
fn ryze_and_sessions_v1_mark_read_and_show_presence_through_the_link() {
    let gw = Gateway::start();
    let account = common::ryze::account(&gw, "acme");
    let key = gw.key("acme", None);
    let name = "both";
    let (instance, _) = gw.connected_instance(&key, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    let first = gw.inbound(name, PEER, "one", false);
    let second = gw.inbound(name, PEER, "two", false);

    // RyzeAPI.
    let ryze = |path: &str, body: Value| {
        common::ryze::ryze_json(
            &gw,
            "POST",
            &format!("/api/{path}/{name}"),
            Some(&account),
            body,
        )
    };
    let (s, v) = ryze("chat/markRead", json!({"messageIds": [first]}));
    assert_eq!((s, &v["count"]), (200, &json!(1)), "{v}");
    assert_eq!(v["success"], true);
    let (s, v) = ryze(
        "chat/markRead",
        json!({"messageIds": ["3EB0000000000000000000"]}),
    );
    assert_eq!((s, v), (404, common::ryze::error("message not found")));
    let (s, v) = ryze("chat/markRead", json!({}));
    assert_eq!((s, v), (400, common::ryze::error("messageIds is required")));
    let (s, v) = ryze("chat/markUnread", json!({"number": PEER}));
    assert_eq!((s, &v["chat_jid"]), (200, &json!(PEER_JID)), "{v}");
    let (s, v) = ryze(
        "chat/presence",
        json!({"number": PEER, "presence": "recording"}),
    );
    assert_eq!((s, &v["presence"]), (200, &json!("recording")), "{v}");
    let (s, v) = ryze(
        "chat/presence",
        json!({"number": PEER, "presence": "shouting"}),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v) = ryze("instance/presence", json!({"presence": "available"}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        actions(&gw, name),
        [
            format!("read {PEER_JID} {first}"),
            format!("unread {PEER_JID}"),
            // A chat state subscribes to the contact's presence first.
            format!("subscribe {PEER_JID}"),
            format!("recording {PEER_JID}"),
            "available".to_string(),
        ]
    );

    // sessions/v1.
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/chats/{PEER_JID}/read"),
        &key,
        Some(json!({"messageIds": [second]})),
    );
    assert_eq!((s, v), (200, json!({"marked": 1})));
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/chats/{PEER_JID}/read"),
        &key,
        Some(json!({"messageIds": []})),
    );
    assert_eq!(
        (s, &v["error"]["code"]),
        (422, &json!("validation_error")),
        "{v}"
    );
    let (s, _) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/chats/{PEER_JID}/unread"),
        &key,
        None,
    );
    assert_eq!(s, 204);
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/chats/5511900000000@s.whatsapp.net/unread"),
        &key,
        None,
    );
    assert_eq!((s, &v["error"]["code"]), (404, &json!("not_found")), "{v}");
    let (s, _) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/chats/{PEER_JID}/presence"),
        &key,
        Some(json!({"state": "composing"})),
    );
    assert_eq!(s, 204);
    let (s, v) = v1(
        &gw,
        "POST",
        &format!("/sessions/{sid}/chats/{PEER_JID}/presence"),
        &key,
        Some(json!({"state": "composing", "delayMs": 61000})),
    );
    assert_eq!(s, 422, "{v}");
    let (s, v) = v1(
        &gw,
        "PUT",
        &format!("/sessions/{sid}/presence"),
        &key,
        Some(json!({"available": false})),
    );
    assert_eq!((s, v), (200, json!({"available": false})));
    assert_eq!(
        actions(&gw, name)[5..],
        [
            format!("read {PEER_JID} {second}"),
            format!("unread {PEER_JID}"),
            format!("subscribe {PEER_JID}"),
            format!("composing {PEER_JID}"),
            "unavailable".to_string(),
        ]
    );

    // A read-only key, another org's key: refused, nothing sent.
    let before = actions(&gw, name);
    let read_only = gw.key("acme", Some(&["read"]));
    let (s, v) = v1(
        &gw,
        "PUT",
        &format!("/sessions/{sid}/presence"),
        &read_only,
        Some(json!({"available": true})),
    );
    assert_eq!((s, &v["error"]["code"]), (403, &json!("forbidden")), "{v}");
    let stranger = gw.org_with_key("strangers", None);
    let (s, _) = v1(
        &gw,
        "PUT",
        &format!("/sessions/{sid}/presence"),
        &stranger,
        Some(json!({"available": true})),
    );
    assert_eq!(s, 404);
    assert_eq!(actions(&gw, name), before);
}

/// A chat state sent through a dialect subscribes to the contact's presence (as
/// Evolution does), and the contact's presence and chat states come back as events:
/// Evolution `PRESENCE_UPDATE` in Baileys' `presence.update` shape, sessions/v1
/// `presence.update`; RyzeAPI has no such event and its webhook gets none.
#[test]
fn a_contacts_presence_comes_back_as_events_once_subscribed() {
    use common::receiver::Receiver;
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let account = gw.credential("default", "ryze-account");
    let bearer = gw.credential("default", "api-key");
    let name = "watching";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    common::evolution::set_webhook(
        &gw,
        GLOBAL_KEY,
        name,
        &rx.url("evolution"),
        &["PRESENCE_UPDATE"],
    );
    common::v1::set_webhook(&gw, &bearer, &sid, &rx.url("v1"), &["presence.update"]);
    common::ryze::set_webhook(&gw, &account, name, &rx.url("ryze"), &[]);

    let (s, v) = post(
        &gw,
        &format!("/chat/sendPresence/{name}"),
        GLOBAL_KEY,
        json!({"number": PEER, "presence": "composing", "delay": 0}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        actions(&gw, name),
        [
            format!("subscribe {PEER_JID}"),
            format!("composing {PEER_JID}")
        ]
    );
    // Natively too; a group has no presence to subscribe to.
    let (s, v) = gw.call(
        "POST",
        &format!("/core/instances/{name}/presence/subscribe"),
        Some(&bearer),
        Some(json!({"who": "5511933332222"})),
    );
    assert_eq!(
        (s, v),
        (200, json!({"jid": "5511933332222@s.whatsapp.net"}))
    );
    let (s, _) = gw.call(
        "POST",
        &format!("/core/instances/{name}/presence/subscribe"),
        Some(&bearer),
        Some(json!({"who": "120363000000000001@g.us"})),
    );
    assert_eq!(s, 400);

    let presence = |body: Value| {
        let (s, v) = gw.admin("POST", &format!("/admin/sim/{name}/presence"), Some(body));
        assert_eq!(s, 201, "{v}");
    };
    presence(json!({"from": PEER, "presence": "composing", "chat": PEER}));
    presence(json!({"from": PEER, "presence": "unavailable", "lastSeen": 1767225600000u64}));
    let got = rx.wait_until_all("two presence events per dialect", |got| {
        got.iter().filter(|r| r.path == "/evolution").count() >= 2
            && got.iter().filter(|r| r.path == "/v1").count() >= 2
    });
    let evo: Vec<&Value> = got
        .iter()
        .filter(|r| r.path == "/evolution")
        .map(|r| &r.body)
        .collect();
    assert_eq!(evo[0]["event"], "PRESENCE_UPDATE");
    assert_eq!(
        evo[0]["data"],
        json!({"id": PEER_JID, "presences": {PEER_JID: {"lastKnownPresence": "composing"}}})
    );
    assert_eq!(
        evo[1]["data"],
        json!({"id": PEER_JID, "presences": {PEER_JID: {"lastKnownPresence": "unavailable", "lastSeen": 1767225600u64}}})
    );
    let v1: Vec<&Value> = got
        .iter()
        .filter(|r| r.path == "/v1")
        .map(|r| &r.body)
        .collect();
    assert_eq!(v1[0]["event"], "presence.update");
    assert_eq!(v1[0]["payload"]["presence"], "composing");
    assert_eq!(v1[0]["payload"]["chatJid"], PEER_JID);
    assert_eq!(v1[1]["payload"]["lastSeen"], 1767225600000u64);
    // Ryze's webhook (all its events) got none of these.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !rx.all().iter().any(|r| r.path == "/ryze"),
        "RyzeAPI has no presence event"
    );
}
