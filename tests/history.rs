//! Issue 17: history sync. Older messages WhatsApp sends after pairing are stored as a
//! backfill and reported as history events, not as new messages: Evolution
//! `MESSAGES_SET` (its raw message records), sessions/v1 `message.history`; RyzeAPI
//! has no such event. The chats a chunk brings that were not stored yet come first:
//! Evolution `CHATS_SET`, sessions/v1 `chat.history`. The sim takes a chunk at `POST /admin/sim/{i}/history`.

use crate::common;

use common::Gateway;
use common::dialect_hooks::hook_all_dialects;
use common::receiver::Receiver;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-history";
const PEER: &str = "5511944443333";
const PEER_JID: &str = "5511944443333@s.whatsapp.net";

#[test]
fn a_history_chunk_is_stored_and_reported_as_history_not_as_new_messages() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let bearer = gw.credential("default", "api-key");
    let account = gw.credential("default", "ryze-account");
    let name = "backfill";
    let (instance, _) = gw.connected_instance(&bearer, name);
    let sid = instance["id"].as_str().unwrap().to_string();
    common::evolution::set_webhook(
        &gw,
        GLOBAL_KEY,
        name,
        &rx.url("evolution"),
        &["MESSAGES_SET", "MESSAGES_UPSERT"],
    );
    common::v1::set_webhook(&gw, &bearer, &sid, &rx.url("v1"), &[]);
    common::ryze::set_webhook(&gw, &account, name, &rx.url("ryze"), &[]);

    let messages: Vec<Value> = (0..3)
        .map(|n| json!({"from": PEER, "text": format!("old {n}"), "timestamp": 1_700_000_000_000u64 + n}))
        .chain([json!({"from": PEER, "text": "mine, old", "fromMe": true, "timestamp": 1_700_000_000_100u64})])
        .collect();
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/history"),
        Some(json!({"messages": messages})),
    );
    assert_eq!((s, v), (201, json!({"stored": 4})));

    let got = rx.wait_until_all("the history in both dialects", |got| {
        got.iter().any(|r| r.path == "/evolution")
            && got
                .iter()
                .any(|r| r.path == "/v1" && r.body["event"] == "message.history")
    });
    let evo = got.iter().find(|r| r.path == "/evolution").unwrap();
    assert_eq!(evo.body["event"], "MESSAGES_SET");
    let records = evo.body["data"].as_array().unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[0]["key"]["remoteJid"], PEER_JID);
    assert_eq!(records[0]["message"]["conversation"], "old 0");
    assert_eq!(records[3]["key"]["fromMe"], true);
    // sessions/v1: the chat the chunk brought first, then its messages.
    let v1_events: Vec<&Value> = got
        .iter()
        .filter(|r| r.path == "/v1")
        .map(|r| &r.body["event"])
        .collect();
    assert_eq!(v1_events, ["chat.history", "message.history"]);
    let chats = got.iter().find(|r| r.path == "/v1").unwrap();
    assert_eq!(
        chats.body["payload"]["chats"][0]["id"], PEER_JID,
        "{}",
        chats.body
    );
    let v1 = got
        .iter()
        .find(|r| r.path == "/v1" && r.body["event"] == "message.history")
        .unwrap();
    assert_eq!(v1.body["payload"]["messages"].as_array().unwrap().len(), 4);
    // Not new traffic: no upsert, and nothing for RyzeAPI.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let all = rx.all();
    assert!(
        !all.iter().any(|r| r.body["event"] == "MESSAGES_UPSERT"),
        "history raised an upsert"
    );
    assert!(
        !all.iter().any(|r| r.path == "/ryze"),
        "RyzeAPI has no history event"
    );

    // Stored: the chat lists them (re-sent ids are skipped: see core_store).
    let (s, page) = gw.call(
        "GET",
        &format!("/core/instances/{name}/chats/{PEER_JID}/messages"),
        Some(&bearer),
        None,
    );
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["messages"].as_array().unwrap().len(), 4);
}

#[test]
fn chats_new_to_the_gateway_are_reported_as_chats_set_before_the_messages() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let bearer = gw.credential("default", "api-key");
    let name = "chatsset";
    gw.connected_instance(&bearer, name);
    // A chat the gateway has already: not new, so not in CHATS_SET.
    gw.inbound(name, PEER, "live", false);
    common::evolution::set_webhook(
        &gw,
        GLOBAL_KEY,
        name,
        &rx.url("evolution"),
        &["CHATS_SET", "MESSAGES_SET"],
    );
    let others = ["5511900000001", "5511900000002", "120363000000000009@g.us"];
    let messages: Vec<Value> = others
        .iter()
        .chain([PEER].iter())
        .enumerate()
        .map(|(n, from)| json!({"from": from, "text": format!("old {n}"), "timestamp": 1_700_000_000_000u64 + n as u64}))
        .collect();
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/history"),
        Some(json!({"messages": messages})),
    );
    assert_eq!((s, v), (201, json!({"stored": 4})));
    let got = rx.wait_until_all("CHATS_SET and MESSAGES_SET", |got| got.len() >= 2);
    let events: Vec<&Value> = got.iter().map(|r| &r.body["event"]).collect();
    assert_eq!(events, ["CHATS_SET", "MESSAGES_SET"]);
    let data = got[0].body["data"].as_array().unwrap();
    let jids: Vec<&Value> = data.iter().map(|c| &c["remoteJid"]).collect();
    assert_eq!(
        jids,
        [
            "5511900000001@s.whatsapp.net",
            "5511900000002@s.whatsapp.net",
            "120363000000000009@g.us"
        ]
    );
    assert!(data.iter().all(|c| c["instanceId"].is_string()), "{data:?}");

    // Another chunk in the same chats (the sim gives its messages new ids): its
    // messages, and no chats.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/history"),
        Some(json!({"messages": messages})),
    );
    assert_eq!((s, v), (201, json!({"stored": 4})));
    rx.wait_until_all("the second MESSAGES_SET", |got| got.len() >= 3);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let events: Vec<Value> = rx.all().iter().map(|r| r.body["event"].clone()).collect();
    assert_eq!(events, ["CHATS_SET", "MESSAGES_SET", "MESSAGES_SET"]);
}

/// A poll in a history chunk carries its votes (WhatsApp's `pollUpdates`, opened by
/// the phone): stored on the poll, named by option, shown in the listings' tallies.
#[test]
fn a_history_poll_keeps_the_votes_the_chunk_carries() {
    let gw = Gateway::start_with_env(&[("AUTHENTICATION_API_KEY", GLOBAL_KEY)]);
    let rx = Receiver::start();
    let name = "polls-past";
    let hooked = hook_all_dialects(&gw, &rx, GLOBAL_KEY, name, &[], &[], &[]);
    let poll = json!({"type": "poll", "question": "Lunch?", "options": ["pizza", "sushi"], "selectable": 0});
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/history"),
        Some(json!({"messages": [{"from": "120363000000000042@g.us", "author": "5511922221111",
            "content": poll, "pollVotes": [
                {"voter": "5511922221111", "options": ["sushi", "pizza"], "timestamp": 1700000000000u64},
                {"voter": "5511933332222", "options": []}]}]})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, page) = gw.call(
        "GET",
        &format!("/core/instances/{name}/chats/120363000000000042@g.us/messages"),
        Some(&hooked.bearer),
        None,
    );
    assert_eq!(s, 200, "{page}");
    let votes = &page["messages"][0]["poll_votes"];
    assert_eq!(votes[0]["voter"], "5511922221111@s.whatsapp.net", "{votes}");
    assert_eq!(votes[0]["options"], json!(["pizza", "sushi"]), "{votes}");
    assert_eq!(votes[1]["options"], json!([]), "{votes}");

    // An option the poll does not have, or votes on anything but a poll: refused.
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/history"),
        Some(
            json!({"messages": [{"from": "5511922221111", "content": poll,
            "pollVotes": [{"voter": "5511922221111", "options": ["paella"]}]}]}),
        ),
    );
    assert_eq!(s, 400, "{v}");
    let (s, v) = gw.admin(
        "POST",
        &format!("/admin/sim/{name}/history"),
        Some(json!({"messages": [{"from": "5511922221111", "text": "hi",
            "pollVotes": [{"voter": "5511922221111", "options": []}]}]})),
    );
    assert_eq!(s, 400, "{v}");
}
