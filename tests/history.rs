//! Issue 17: history sync. Older messages WhatsApp sends after pairing are stored as a
//! backfill and reported as history events, not as new messages: Evolution
//! `MESSAGES_SET` (its raw message records), sessions/v1 `message.history`; RyzeAPI
//! has no such event. The sim takes a chunk at `POST /admin/sim/{i}/history`.

use crate::common;

use common::Gateway;
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
        got.iter().any(|r| r.path == "/evolution") && got.iter().any(|r| r.path == "/v1")
    });
    let evo = got.iter().find(|r| r.path == "/evolution").unwrap();
    assert_eq!(evo.body["event"], "MESSAGES_SET");
    let records = evo.body["data"].as_array().unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[0]["key"]["remoteJid"], PEER_JID);
    assert_eq!(records[0]["message"]["conversation"], "old 0");
    assert_eq!(records[3]["key"]["fromMe"], true);
    let v1 = got.iter().find(|r| r.path == "/v1").unwrap();
    assert_eq!(v1.body["event"], "message.history");
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
