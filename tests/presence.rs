//! Issue 17, read receipts and presence through Evolution's routes
//! (`/chat/markMessageAsRead`, `/chat/markChatUnread`, `/chat/sendPresence`,
//! `/instance/setPresence`): the answers in Evolution's shape, and what the session
//! put on the wire, as the sim records it (`GET /admin/sim/{i}/actions`).

use std::time::{Duration, Instant};

use crate::common;

use common::Gateway;
use common::evolution::{evo_json, open_instance};
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
