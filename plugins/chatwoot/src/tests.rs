//! Native tests of the sync against an in-memory fake Chatwoot.

use std::cell::RefCell;

use serde_json::{Value, json};

use crate::api::Chatwoot;
use crate::env::mem::MemKv;
use crate::env::{Net, NetError, Reply};
use crate::inbound::{self, Action, Wa, WaError};
use crate::keys;
use crate::outbound::{Outcome, Sync};
use crate::settings::Settings;

const BASE: &str = "http://cw.test/api/v1/accounts/1";

#[derive(Default)]
struct State {
    next: u64,
    inboxes: Vec<(u64, String)>,
    /// (id, phone, identifier)
    contacts: Vec<(u64, Option<String>, String)>,
    /// (id, contact, inbox, status)
    conversations: Vec<(u64, u64, u64, String)>,
    /// (id, conversation, source_id, content, message_type)
    messages: Vec<(u64, u64, String, String, String)>,
    calls: Vec<String>,
    /// Answer the next message POST with this status, after applying it (a lost answer).
    lose_next_post: Option<u16>,
    /// Answer every call with this status without applying it.
    down: Option<u16>,
}

#[derive(Default)]
struct FakeCw(RefCell<State>);

impl FakeCw {
    fn calls(&self) -> Vec<String> {
        self.0.borrow().calls.clone()
    }
    fn messages(&self) -> Vec<(u64, u64, String, String, String)> {
        self.0.borrow().messages.clone()
    }
}

fn ok(v: Value) -> Result<Reply, NetError> {
    Ok(Reply {
        status: 200,
        body: v.to_string().into_bytes(),
    })
}

impl Net for FakeCw {
    fn call(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Reply, NetError> {
        let mut s = self.0.borrow_mut();
        let path = url.strip_prefix(BASE).expect("base url").to_string();
        s.calls.push(format!("{method} {path}"));
        if let Some(status) = s.down {
            return Ok(Reply {
                status,
                body: Vec::new(),
            });
        }
        let body = body.cloned().unwrap_or(Value::Null);
        let segs: Vec<&str> = path
            .split('?')
            .next()
            .unwrap()
            .split('/')
            .filter(|x| !x.is_empty())
            .collect();
        // Ids are given out by creations only, as Chatwoot's sequences do.
        if method == "POST" {
            s.next += 1;
        }
        let id = s.next;
        match (method, segs.as_slice()) {
            ("GET", ["inboxes"]) => {
                let list: Vec<Value> = s
                    .inboxes
                    .iter()
                    .map(|(i, n)| json!({"id": i, "name": n}))
                    .collect();
                ok(json!({ "payload": list }))
            }
            ("POST", ["inboxes"]) => {
                s.inboxes.push((id, body["name"].as_str().unwrap().into()));
                ok(json!({"id": id, "name": body["name"]}))
            }
            ("GET", ["contacts", "search"]) => {
                let q = path
                    .split("q=")
                    .nth(1)
                    .unwrap()
                    .replace("%2B", "+")
                    .replace("%40", "@");
                let list: Vec<Value> = s
                    .contacts
                    .iter()
                    .filter(|(_, p, i)| p.as_deref() == Some(q.as_str()) || *i == q)
                    .map(|(i, p, ident)| json!({"id": i, "phone_number": p, "identifier": ident}))
                    .collect();
                ok(json!({ "payload": list }))
            }
            ("POST", ["contacts"]) => {
                s.contacts.push((
                    id,
                    body["phone_number"].as_str().map(str::to_string),
                    body["identifier"].as_str().unwrap().into(),
                ));
                ok(json!({"payload": {"contact": {"id": id}, "contact_inbox": {"source_id": "x"}}}))
            }
            ("GET", ["contacts", c, "conversations"]) => {
                let c: u64 = c.parse().unwrap();
                let list: Vec<Value> = s
                    .conversations
                    .iter()
                    .filter(|x| x.1 == c)
                    .map(|x| json!({"id": x.0, "inbox_id": x.2, "status": x.3}))
                    .collect();
                ok(json!({ "payload": list }))
            }
            ("POST", ["conversations"]) => {
                let status = body["status"].as_str().unwrap_or("open").to_string();
                s.conversations.push((
                    id,
                    body["contact_id"].as_u64().unwrap(),
                    body["inbox_id"].as_u64().unwrap(),
                    status,
                ));
                ok(json!({"id": id}))
            }
            ("POST", ["conversations", c, "messages"]) => {
                let c: u64 = c.parse().unwrap();
                if !s.conversations.iter().any(|x| x.0 == c) {
                    return Ok(Reply {
                        status: 404,
                        body: Vec::new(),
                    });
                }
                s.messages.push((
                    id,
                    c,
                    body["source_id"].as_str().unwrap_or("").into(),
                    body["content"].as_str().unwrap().into(),
                    body["message_type"].as_str().unwrap().into(),
                ));
                if let Some(status) = s.lose_next_post.take() {
                    return Ok(Reply {
                        status,
                        body: Vec::new(),
                    });
                }
                ok(json!({"id": id}))
            }
            ("GET", ["conversations", c, "messages"]) => {
                let c: u64 = c.parse().unwrap();
                let list: Vec<Value> = s
                    .messages
                    .iter()
                    .filter(|m| m.1 == c)
                    .map(|m| json!({"id": m.0, "source_id": m.2}))
                    .collect();
                ok(json!({ "payload": list }))
            }
            ("DELETE", ["conversations", _, "messages", m]) => {
                let m: u64 = m.parse().unwrap();
                let before = s.messages.len();
                s.messages.retain(|x| x.0 != m);
                if s.messages.len() == before {
                    return Ok(Reply {
                        status: 404,
                        body: Vec::new(),
                    });
                }
                ok(json!({}))
            }
            other => panic!("unexpected call {other:?}"),
        }
    }
}

fn settings() -> Settings {
    Settings::parse(r#"{"accountId":"1","autoCreate":true,"signMsg":true}"#).unwrap()
}

fn upsert(id: &str, chat: &str, text: &str, from_me: bool, origin: Option<&str>) -> Vec<u8> {
    json!({
        "id": "evt_1", "instance_id": "01I", "instance_name": "inst", "org": "o",
        "timestamp": 1,
        "payload": {"type": "message_upsert", "data": {
            "id": id, "chat_jid": chat, "from_me": from_me, "sender": chat,
            "timestamp": 1, "text": text, "media": null, "revoked": false,
            "deleted_for_me": false, "origin": origin
        }}
    })
    .to_string()
    .into_bytes()
}

fn revoke(id: &str, chat: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&upsert(id, chat, "", false, None)).unwrap();
    v["payload"]["type"] = json!("message_revoked");
    v.to_string().into_bytes()
}

fn sync<'a>(cw: &'a FakeCw, kv: &'a MemKv, s: &'a Settings) -> Sync<'a> {
    Sync {
        api: Chatwoot::new(cw, "http://cw.test/", "1"),
        kv,
        settings: s,
        instance_name: "inst",
        webhook_url: Some("http://gw/chatwoot/webhook/inst?token=t".into()),
    }
}

const ALICE: &str = "5511999990001@s.whatsapp.net";

#[test]
fn first_message_creates_inbox_contact_conversation_once() {
    let (cw, kv, s) = (FakeCw::default(), MemKv::default(), settings());
    let sync = sync(&cw, &kv, &s);
    assert_eq!(
        sync.event(&upsert("M1", ALICE, "hello", false, None)),
        Outcome::Done
    );
    assert_eq!(
        cw.calls(),
        [
            "GET /inboxes",
            "POST /inboxes",
            "GET /contacts/search?q=%2B5511999990001",
            "POST /contacts",
            "GET /contacts/2/conversations",
            "POST /conversations",
            "POST /conversations/3/messages",
        ]
    );
    // A second message of the same chat: one call; the same event again: none.
    assert_eq!(
        sync.event(&upsert("M2", ALICE, "again", true, None)),
        Outcome::Done
    );
    assert_eq!(
        sync.event(&upsert("M1", ALICE, "hello", false, None)),
        Outcome::Done
    );
    assert_eq!(cw.calls().len(), 8);
    let msgs = cw.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].2, "WAID:M1");
    assert_eq!(msgs[0].4, "incoming");
    assert_eq!(msgs[1].4, "outgoing");
    let st = cw.0.borrow();
    assert_eq!(st.contacts[0].1.as_deref(), Some("+5511999990001"));
    assert_eq!(st.contacts[0].2, ALICE);
}

#[test]
fn a_lost_answer_is_adopted_not_reposted() {
    let (cw, kv, s) = (FakeCw::default(), MemKv::default(), settings());
    let sync = sync(&cw, &kv, &s);
    cw.0.borrow_mut().lose_next_post = Some(500);
    assert!(matches!(
        sync.event(&upsert("M1", ALICE, "hello", false, None)),
        Outcome::Retry(_)
    ));
    assert_eq!(
        sync.event(&upsert("M1", ALICE, "hello", false, None)),
        Outcome::Done
    );
    assert_eq!(cw.messages().len(), 1, "{:?}", cw.calls());
    assert!(
        cw.calls()
            .contains(&"GET /conversations/3/messages".to_string())
    );
    // The adopted message is mapped: a revoke deletes exactly it.
    assert_eq!(sync.event(&revoke("M1", ALICE)), Outcome::Done);
    assert!(cw.messages().is_empty());
    assert!(kv.0.borrow().keys().all(|k| !k.starts_with("intent:")));
}

#[test]
fn echoes_ignored_chats_and_empty_messages_make_no_calls() {
    let (cw, kv, _) = (FakeCw::default(), MemKv::default(), ());
    let s = Settings::parse(r#"{"accountId":1,"ignoreJids":["@g.us"]}"#).unwrap();
    let sync = sync(&cw, &kv, &s);
    for body in [
        upsert("M1", ALICE, "sent by an agent", true, Some("chatwoot")),
        upsert("M2", "1203@g.us", "group", false, None),
        upsert("M3", "status@broadcast", "status", false, None),
        upsert("M4", ALICE, "", false, None),
    ] {
        assert_eq!(sync.event(&body), Outcome::Done);
    }
    assert!(cw.calls().is_empty(), "{:?}", cw.calls());
}

#[test]
fn revoke_deletes_once_and_a_404_is_done() {
    let (cw, kv, s) = (FakeCw::default(), MemKv::default(), settings());
    let sync = sync(&cw, &kv, &s);
    sync.event(&upsert("M1", ALICE, "hello", false, None));
    let n = cw.calls().len();
    assert_eq!(sync.event(&revoke("M1", ALICE)), Outcome::Done);
    assert_eq!(sync.event(&revoke("M1", ALICE)), Outcome::Done);
    let deletes: Vec<_> = cw.calls()[n..].to_vec();
    assert_eq!(deletes, ["DELETE /conversations/3/messages/4"]);
    // Unknown message: nothing to delete.
    assert_eq!(sync.event(&revoke("nope", ALICE)), Outcome::Done);
    // Mapped but already gone in Chatwoot: 404 is done.
    sync.event(&upsert("M2", ALICE, "x", false, None));
    cw.0.borrow_mut().messages.clear();
    assert_eq!(sync.event(&revoke("M2", ALICE)), Outcome::Done);
}

#[test]
fn statuses_become_retry_or_permanent() {
    let (cw, kv, s) = (FakeCw::default(), MemKv::default(), settings());
    let sync = sync(&cw, &kv, &s);
    cw.0.borrow_mut().down = Some(503);
    assert!(matches!(
        sync.event(&upsert("M1", ALICE, "a", false, None)),
        Outcome::Retry(_)
    ));
    cw.0.borrow_mut().down = Some(401);
    match sync.event(&upsert("M1", ALICE, "a", false, None)) {
        Outcome::Permanent(why) => assert!(why.contains("api_access_token"), "{why}"),
        other => panic!("{other:?}"),
    }
    cw.0.borrow_mut().down = Some(422);
    assert!(matches!(
        sync.event(&upsert("M1", ALICE, "a", false, None)),
        Outcome::Permanent(_)
    ));
}

#[test]
fn a_deleted_conversation_is_forgotten_and_reopened() {
    let (cw, kv, s) = (FakeCw::default(), MemKv::default(), settings());
    let sync = sync(&cw, &kv, &s);
    sync.event(&upsert("M1", ALICE, "a", false, None));
    cw.0.borrow_mut().conversations.clear();
    assert!(matches!(
        sync.event(&upsert("M2", ALICE, "b", false, None)),
        Outcome::Retry(_)
    ));
    assert_eq!(
        sync.event(&upsert("M2", ALICE, "b", false, None)),
        Outcome::Done
    );
    assert_eq!(cw.0.borrow().conversations.len(), 1);
    assert_eq!(cw.messages().len(), 2);
}

#[test]
fn resolved_conversations_are_reused_only_with_reopen() {
    for reopen in [false, true] {
        let cw = FakeCw::default();
        let kv = MemKv::default();
        let s = Settings::parse(&format!(
            r#"{{"accountId":1,"inboxId":9,"reopenConversation":{reopen},"conversationPending":true}}"#
        ))
        .unwrap();
        cw.0.borrow_mut()
            .contacts
            .push((50, Some("+5511999990001".into()), ALICE.into()));
        cw.0.borrow_mut()
            .conversations
            .push((60, 50, 9, "resolved".into()));
        cw.0.borrow_mut().next = 100;
        let sync = sync(&cw, &kv, &s);
        assert_eq!(
            sync.event(&upsert("M1", ALICE, "a", false, None)),
            Outcome::Done
        );
        let st = cw.0.borrow();
        let used = st.messages[0].1;
        if reopen {
            assert_eq!(used, 60);
        } else {
            assert_ne!(used, 60);
            assert_eq!(st.conversations.last().unwrap().3, "pending");
        }
        assert!(!st.calls.iter().any(|c| c.contains("inboxes")));
    }
}

#[test]
fn inbox_without_auto_create_must_exist() {
    let (cw, kv) = (FakeCw::default(), MemKv::default());
    let s = Settings::parse(r#"{"accountId":1,"nameInbox":"Sales"}"#).unwrap();
    let sync = sync(&cw, &kv, &s);
    assert!(matches!(
        sync.event(&upsert("M1", ALICE, "a", false, None)),
        Outcome::Permanent(_)
    ));
    cw.0.borrow_mut().inboxes.push((77, "Sales".into()));
    assert_eq!(
        sync.event(&upsert("M1", ALICE, "a", false, None)),
        Outcome::Done
    );
    assert!(!cw.calls().contains(&"POST /inboxes".to_string()));
}

#[test]
fn lid_chats_are_identifier_only_and_groups_name_the_author() {
    let (cw, kv, s) = (FakeCw::default(), MemKv::default(), settings());
    let sync = sync(&cw, &kv, &s);
    sync.event(&upsert("M1", "12345@lid", "hi", false, None));
    let mut group = upsert("M2", "1203-1@g.us", "hey", false, None);
    let mut v: Value = serde_json::from_slice(&group).unwrap();
    v["payload"]["data"]["sender"] = json!(ALICE);
    group = v.to_string().into_bytes();
    sync.event(&group);
    let st = cw.0.borrow();
    assert_eq!(st.contacts[0], (st.contacts[0].0, None, "12345@lid".into()));
    assert!(
        st.calls
            .contains(&"GET /contacts/search?q=12345%40lid".to_string())
    );
    assert_eq!(st.messages[1].3, "**+5511999990001:**\nhey");
}

// ---- inbound ------------------------------------------------------------------

fn agent_reply(id: u64, conv: u64, extra: Value) -> Vec<u8> {
    let mut v = json!({
        "event": "message_created", "id": id, "content": "Hi there",
        "message_type": "outgoing", "private": false, "source_id": null,
        "sender": {"id": 1, "name": "Ana", "available_name": "Ana", "type": "user"},
        "conversation": {"id": conv, "meta": {"sender": {"phone_number": "+5511999990001", "identifier": ALICE}}}
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v.to_string().into_bytes()
}

#[test]
fn parses_what_chatwoot_sends() {
    assert!(matches!(
        inbound::parse(&agent_reply(5, 3, json!({}))),
        Ok(Action::Send {
            message: 5,
            conversation: 3,
            ..
        })
    ));
    for (extra, why) in [
        (json!({"private": true}), "private note"),
        (
            json!({"message_type": "incoming"}),
            "not an outgoing message",
        ),
        (json!({"source_id": "WAID:ABC"}), "posted by the sync"),
        (
            json!({"sender": {"type": "contact"}}),
            "not written by an agent",
        ),
        (
            json!({"content": "  "}),
            "no text (attachments are not sent)",
        ),
    ] {
        assert_eq!(
            inbound::parse(&agent_reply(5, 3, extra)).unwrap(),
            Action::Ignore(why)
        );
    }
    let deleted =
        json!({"event": "message_updated", "id": 9, "content_attributes": {"deleted": true}});
    assert_eq!(
        inbound::parse(deleted.to_string().as_bytes()).unwrap(),
        Action::Revoke { message: 9 }
    );
    let resolved = json!({"event": "conversation_status_changed", "id": 3, "status": "resolved"});
    assert_eq!(
        inbound::parse(resolved.to_string().as_bytes()).unwrap(),
        Action::Resolved { conversation: 3 }
    );
    assert!(inbound::parse(b"{nope").is_err());
    assert!(inbound::parse(b"[1]").is_err());
}

#[derive(Default)]
struct FakeWa {
    sent: RefCell<Vec<(String, String)>>,
    revoked: RefCell<Vec<String>>,
}

impl Wa for FakeWa {
    fn send_text(&self, to: &str, text: &str) -> Result<String, WaError> {
        self.sent.borrow_mut().push((to.into(), text.into()));
        Ok(format!("W{}", self.sent.borrow().len()))
    }
    fn revoke(&self, id: &str) -> Result<(), WaError> {
        if self.revoked.borrow().iter().any(|r| r == id) {
            return Err(WaError::Conflict);
        }
        self.revoked.borrow_mut().push(id.into());
        Ok(())
    }
}

#[test]
fn agent_reply_is_sent_once_signed_and_its_echo_and_delete_are_handled() {
    let (cw, kv, s) = (FakeCw::default(), MemKv::default(), settings());
    let wa = FakeWa::default();
    // The conversation the sync opened for Alice.
    sync(&cw, &kv, &s).event(&upsert("M1", ALICE, "hello", false, None));
    let reply = inbound::parse(&agent_reply(40, 3, json!({}))).unwrap();
    let (status, body) = inbound::execute(reply.clone(), &s, &kv, &wa);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        *wa.sent.borrow(),
        [(ALICE.to_string(), "*Ana:*\nHi there".to_string())]
    );
    // Chatwoot repeats the webhook: not sent again.
    assert_eq!(inbound::execute(reply, &s, &kv, &wa).1["status"], "ignored");
    assert_eq!(wa.sent.borrow().len(), 1);
    // The WhatsApp echo of the reply (stamped with our origin) posts nothing.
    let n = cw.calls().len();
    let echo = upsert("W1", ALICE, "*Ana:*\nHi there", true, Some("chatwoot"));
    assert_eq!(sync(&cw, &kv, &s).event(&echo), Outcome::Done);
    assert_eq!(cw.calls().len(), n);
    // The agent deletes it in Chatwoot: revoked on WhatsApp, and the revoke event
    // that follows deletes nothing in Chatwoot.
    let del =
        json!({"event": "message_updated", "id": 40, "content_attributes": {"deleted": true}});
    let (status, _) = inbound::execute(
        inbound::parse(del.to_string().as_bytes()).unwrap(),
        &s,
        &kv,
        &wa,
    );
    assert_eq!(status, 200);
    assert_eq!(*wa.revoked.borrow(), ["W1"]);
    assert_eq!(
        sync(&cw, &kv, &s).event(&revoke("W1", ALICE)),
        Outcome::Done
    );
    assert_eq!(cw.calls().len(), n);
    // Deleted twice: already revoked is fine.
    let (status, _) = inbound::execute(
        inbound::parse(del.to_string().as_bytes()).unwrap(),
        &s,
        &kv,
        &wa,
    );
    assert_eq!(status, 200);
}

#[test]
fn resolving_forgets_the_conversation_unless_reopen() {
    let (cw, kv, s) = (FakeCw::default(), MemKv::default(), settings());
    let wa = FakeWa::default();
    let sync = sync(&cw, &kv, &s);
    sync.event(&upsert("M1", ALICE, "hello", false, None));
    let resolved = json!({"event": "conversation_status_changed", "id": 3, "status": "resolved"});
    let (status, body) = inbound::execute(
        inbound::parse(resolved.to_string().as_bytes()).unwrap(),
        &s,
        &kv,
        &wa,
    );
    assert_eq!(
        (status, body["action"].as_str()),
        (200, Some("nothing sent"))
    );
    assert!(wa.sent.borrow().is_empty());
    assert!(kv.0.borrow().get(&keys::chat(1, ALICE)).is_none());
    // The next message opens a new conversation (the fake lists 3 as open still, so
    // mark it resolved as Chatwoot would).
    cw.0.borrow_mut().conversations[0].3 = "resolved".into();
    sync.event(&upsert("M2", ALICE, "back", false, None));
    assert_eq!(cw.0.borrow().conversations.len(), 2);
}

#[test]
fn reply_in_a_conversation_the_sync_did_not_open_uses_the_contact() {
    let (kv, s) = (MemKv::default(), settings());
    let wa = FakeWa::default();
    let reply = inbound::parse(&agent_reply(41, 99, json!({}))).unwrap();
    assert_eq!(inbound::execute(reply, &s, &kv, &wa).0, 200);
    assert_eq!(wa.sent.borrow()[0].0, ALICE);
}

#[test]
fn webhook_urls_escape_the_token() {
    assert_eq!(
        crate::webhook_url("http://gw:8080/", "my inst", "a+b/c"),
        "http://gw:8080/chatwoot/webhook/my%20inst?token=a%2Bb%2Fc"
    );
}
