//! The Chatwoot sync end to end: the real binary, the bundled `chatwoot` plugin (sink +
//! inbound webhook dialect), Evolution's `/chatwoot/set` and `/chatwoot/find`, and a fake
//! Chatwoot on loopback that implements exactly the endpoints the sync uses and records
//! every call (method, path, body, `api_access_token`).

use crate::common;
use crate::common::receiver;

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Gateway;
use common::evolution::{evo, evo_json, open_instance};
use receiver::read_request;
use serde_json::{Value, json};

const GLOBAL_KEY: &str = "evolution-global-key-for-chatwoot-tests";
const CW_TOKEN: &str = "cw-api-token-never-shown";
const PEER: &str = "5511999999999";
const PEER_JID: &str = "5511999999999@s.whatsapp.net";
const ACCOUNT: &str = "/api/v1/accounts/1";

// ---- the fake Chatwoot --------------------------------------------------------------

/// One call the fake received.
#[derive(Clone, Debug)]
struct Call {
    method: String,
    /// Path and query, as sent.
    path: String,
    body: Value,
    token: Option<String>,
}

impl Call {
    fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Default)]
struct Data {
    next: u64,
    inboxes: Vec<Value>,
    contacts: Vec<Value>,
    conversations: Vec<Value>,
    messages: Vec<Value>,
    calls: Vec<Call>,
    /// Paths (`POST /contacts`, ...) whose next call is applied but answered 500, as if
    /// the answer were lost.
    lose: Vec<String>,
    /// Answer every call with this status without applying it (Chatwoot is down).
    down: Option<u16>,
}

struct FakeChatwoot {
    port: u16,
    data: Arc<Mutex<Data>>,
}

impl FakeChatwoot {
    fn start(lose: &[&str]) -> FakeChatwoot {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = Arc::new(Mutex::new(Data {
            next: 100,
            lose: lose.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }));
        let shared = data.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let data = shared.clone();
                std::thread::spawn(move || serve(stream, &data));
            }
        });
        FakeChatwoot { port, data }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn calls(&self) -> Vec<Call> {
        self.data.lock().unwrap().calls.clone()
    }

    fn lines(&self) -> Vec<String> {
        self.calls().iter().map(Call::line).collect()
    }

    fn messages(&self) -> Vec<Value> {
        self.data.lock().unwrap().messages.clone()
    }

    fn count(&self, what: fn(&Data) -> usize) -> usize {
        what(&self.data.lock().unwrap())
    }

    /// Waits until `pred` holds on the calls so far; returns them.
    fn wait(&self, what: &str, pred: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let start = Instant::now();
        loop {
            let calls = self.calls();
            if pred(&calls) {
                return calls;
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!("{what} never happened; calls: {:#?}", self.lines());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts that no further call arrives within a short while (the sync is done).
    fn quiet(&self, n: usize) {
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(
            self.calls().len(),
            n,
            "unexpected calls: {:#?}",
            &self.lines()[n..]
        );
    }
}

fn serve(mut stream: std::net::TcpStream, data: &Mutex<Data>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let (method, path) = (request.method.clone(), request.path.clone());
    let header = |name: &str| request.header(name).map(str::to_string);
    let body: Value = serde_json::from_slice(&request.raw).unwrap_or(Value::Null);
    let (status, answer) = {
        let mut d = data.lock().unwrap();
        d.calls.push(Call {
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
            token: header("api_access_token"),
        });
        if let Some(status) = d.down {
            (status, json!({"error": "down"}))
        } else {
            let (status, answer) = route(&mut d, &method, &path, &body);
            let key = format!("{method} {}", path.strip_prefix(ACCOUNT).unwrap_or(&path));
            match d.lose.iter().position(|l| *l == key) {
                Some(i) if status == 200 => {
                    d.lose.remove(i);
                    (500, json!({"error": "lost"}))
                }
                _ => (status, answer),
            }
        }
    };
    let text = answer.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// Chatwoot's application API, the endpoints the sync uses, in its answer shapes.
fn route(d: &mut Data, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let Some(rest) = path.strip_prefix(ACCOUNT) else {
        return (404, json!({"error": "no such account"}));
    };
    let (p, query) = rest.split_once('?').unwrap_or((rest, ""));
    let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    // Ids are given out by creations only, as Chatwoot's sequences do.
    if method == "POST" {
        d.next += 1;
    }
    let id = d.next;
    let num = |s: &str| s.parse::<u64>().unwrap_or(0);
    match (method, segs.as_slice()) {
        ("GET", ["inboxes"]) => (200, json!({ "payload": d.inboxes })),
        ("POST", ["inboxes"]) => {
            let inbox = json!({"id": id, "name": body["name"], "channel_type": "Channel::Api",
                               "webhook_url": body["channel"]["webhook_url"]});
            d.inboxes.push(inbox.clone());
            (200, inbox)
        }
        ("GET", ["contacts", "search"]) => {
            let q = query
                .strip_prefix("q=")
                .unwrap_or("")
                .replace("%2B", "+")
                .replace("%40", "@");
            let found: Vec<Value> = d
                .contacts
                .iter()
                .filter(|c| c["phone_number"] == q.as_str() || c["identifier"] == q.as_str())
                .cloned()
                .collect();
            (
                200,
                json!({ "meta": {"count": found.len()}, "payload": found }),
            )
        }
        ("POST", ["contacts"]) => {
            let contact = json!({"id": id, "name": body["name"], "phone_number": body["phone_number"],
                                 "identifier": body["identifier"]});
            d.contacts.push(contact.clone());
            (
                200,
                json!({"payload": {"contact": contact, "contact_inbox": {"source_id": format!("src-{id}")}}}),
            )
        }
        ("GET", ["contacts", c, "conversations"]) => {
            let list: Vec<Value> = d
                .conversations
                .iter()
                .filter(|x| x["contact_id"] == num(c))
                .cloned()
                .collect();
            (200, json!({ "payload": list }))
        }
        ("POST", ["conversations"]) => {
            let conv = json!({"id": id, "inbox_id": body["inbox_id"], "contact_id": body["contact_id"],
                              "status": body.get("status").cloned().unwrap_or(json!("open"))});
            d.conversations.push(conv.clone());
            (200, conv)
        }
        ("POST", ["conversations", c, "messages"]) => {
            if !d.conversations.iter().any(|x| x["id"] == num(c)) {
                return (404, json!({"error": "conversation not found"}));
            }
            let msg = json!({"id": id, "conversation_id": num(c), "content": body["content"],
                             "message_type": body["message_type"], "source_id": body["source_id"],
                             "private": body["private"]});
            d.messages.push(msg.clone());
            (200, msg)
        }
        ("GET", ["conversations", c, "messages"]) => {
            let list: Vec<Value> = d
                .messages
                .iter()
                .filter(|m| m["conversation_id"] == num(c))
                .cloned()
                .collect();
            (200, json!({ "meta": {}, "payload": list }))
        }
        ("DELETE", ["conversations", _, "messages", m]) => {
            let before = d.messages.len();
            d.messages.retain(|x| x["id"] != num(m));
            if d.messages.len() == before {
                (404, json!({"error": "not found"}))
            } else {
                (200, json!({}))
            }
        }
        _ => (
            404,
            json!({"error": format!("the fake has no {method} {p}")}),
        ),
    }
}

// ---- the gateway side ---------------------------------------------------------------

fn start(dir: &std::path::Path) -> Gateway {
    let config = dir.join("wagate.toml");
    // Fast retries; revoked messages stay visible in findMessages (status DELETED), so
    // the test can see a revoke in the store.
    std::fs::write(
        &config,
        "[events]\nmax_attempts = 8\nbase_backoff_ms = 20\nmax_backoff_ms = 200\n\n\
         [plugins.settings.evolution]\nconfig = { logical_message_delete = \"true\" }\n",
    )
    .unwrap();
    Gateway::start_on_with_env(
        &dir.join("data"),
        &["--config", config.to_str().unwrap()],
        &[("AUTHENTICATION_API_KEY", GLOBAL_KEY)],
    )
}

/// Chatwoot calling the gateway's webhook route (`url` is the `webhook_url` the set
/// answer gave, or a variation of it).
fn chatwoot_calls(gw: &Gateway, url: &str, body: &[u8]) -> (u16, Value) {
    let path = url.split_once("://").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    let resp = gw.raw("POST", path, &[("content-type", "application/json")], body);
    let v = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, v)
}

/// The instance's stored messages with `PEER`, newest first (Evolution's findMessages).
fn stored(gw: &Gateway, hash: &str) -> Vec<Value> {
    let (s, v) = evo_json(
        gw,
        "POST",
        "/chat/findMessages/shop",
        Some(hash),
        Some(json!({"where": {"key": {"remoteJid": PEER_JID}}})),
    );
    assert_eq!(s, 200, "{v}");
    v["messages"]["records"].as_array().unwrap().clone()
}

fn agent_reply(id: u64, conversation: u64, content: &str) -> Vec<u8> {
    json!({
        "event": "message_created", "id": id, "content": content,
        "message_type": "outgoing", "private": false, "source_id": null,
        "content_attributes": {}, "content_type": "text",
        "sender": {"id": 1, "name": "Ana Agent", "available_name": "Ana", "type": "user"},
        "conversation": {"id": conversation, "status": "open",
                         "meta": {"sender": {"id": 5, "phone_number": format!("+{PEER}")}}},
        "account": {"id": 1}, "inbox": {"id": 1}
    })
    .to_string()
    .into_bytes()
}

#[test]
fn chatwoot_sync_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let hash = open_instance(&gw, GLOBAL_KEY, "shop");
    // Chatwoot "loses" the answers to the first contact creation and the first message
    // post (it applies them, then answers 500).
    let cw = FakeChatwoot::start(&["POST /contacts", "POST /conversations/103/messages"]);

    // -- set and find through Evolution's endpoints ----------------------------------
    let set = json!({
        "enabled": true, "accountId": "1", "token": CW_TOKEN, "url": cw.url(),
        "signMsg": true, "reopenConversation": true, "conversationPending": false,
        "nameInbox": "WhatsApp shop", "autoCreate": true
    });
    let (s, text, _) = evo(&gw, "POST", "/chatwoot/set/shop", Some(&hash), Some(set));
    assert_eq!(s, 201, "{text}");
    assert!(!text.contains(CW_TOKEN), "the token is echoed: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["token"], "********");
    assert_eq!(v["enabled"], true);
    assert_eq!(v["nameInbox"], "WhatsApp shop");
    let webhook_url = v["webhook_url"].as_str().unwrap().to_string();
    assert!(
        webhook_url.starts_with(&format!("{}/chatwoot/webhook/shop?token=", gw.base)),
        "{webhook_url}"
    );
    let (s, text, _) = evo(&gw, "GET", "/chatwoot/find/shop", Some(&hash), None);
    assert_eq!(s, 200, "{text}");
    assert!(!text.contains(CW_TOKEN), "find shows the token: {text}");
    let found: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(found["enabled"], true);
    assert_eq!(found["accountId"], "1");
    assert_eq!(found["url"], cw.url().as_str());
    assert_eq!(found["token"], "********");
    assert_eq!(found["signMsg"], true);
    assert_eq!(found["reopenConversation"], true);
    assert_eq!(found["webhook_url"], webhook_url.as_str());
    // Validation in Evolution's shape.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/chatwoot/set/shop",
        Some(&hash),
        Some(json!({"enabled": true})),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"], "Bad Request");
    assert_eq!(
        v["response"]["message"][0],
        "instance requires property \"accountId\""
    );

    // -- WhatsApp -> Chatwoot: first inbound message --------------------------------------
    let m1 = gw.inbound("shop", PEER, "hello from WhatsApp", false);
    let calls = cw.wait("the first message", |c| {
        c.iter()
            .any(|c| c.method == "GET" && c.path.ends_with("/messages"))
    });
    let lines: Vec<String> = calls.iter().map(Call::line).collect();
    assert_eq!(
        lines,
        [
            format!("GET {ACCOUNT}/inboxes"),
            format!("POST {ACCOUNT}/inboxes"),
            format!("GET {ACCOUNT}/contacts/search?q=%2B{PEER}"),
            format!("POST {ACCOUNT}/contacts"), // answered 500 after creating it
            format!("GET {ACCOUNT}/contacts/search?q=%2B{PEER}"),
            format!("GET {ACCOUNT}/contacts/102/conversations"),
            format!("POST {ACCOUNT}/conversations"),
            format!("POST {ACCOUNT}/conversations/103/messages"), // 500 after creating it
            format!("GET {ACCOUNT}/conversations/103/messages"),  // adopts it
        ]
    );
    cw.quiet(calls.len());
    assert_eq!(calls[1].body["name"], "WhatsApp shop");
    assert_eq!(calls[1].body["channel"]["type"], "api");
    assert_eq!(
        calls[1].body["channel"]["webhook_url"],
        webhook_url.as_str()
    );
    assert_eq!(calls[3].body["phone_number"], format!("+{PEER}"));
    assert_eq!(calls[3].body["identifier"], PEER_JID);
    assert_eq!(calls[3].body["inbox_id"], 101);
    assert_eq!(calls[6].body["contact_id"], 102);
    assert_eq!(calls[6].body["inbox_id"], 101);
    let msgs = cw.messages();
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert_eq!(msgs[0]["content"], "hello from WhatsApp");
    assert_eq!(msgs[0]["message_type"], "incoming");
    assert_eq!(msgs[0]["source_id"], format!("WAID:{m1}"));
    assert_eq!(cw.count(|d| d.contacts.len()), 1);
    assert_eq!(cw.count(|d| d.conversations.len()), 1);
    assert_eq!(cw.count(|d| d.inboxes.len()), 1);

    // -- a message sent from the phone: one call, outgoing ---------------------------------
    let n = cw.calls().len();
    let m2 = gw.inbound("shop", PEER, "sent from my phone", true);
    let calls = cw.wait("the phone's message", |c| c.len() > n);
    cw.quiet(calls.len());
    assert_eq!(
        cw.lines()[n..],
        [format!("POST {ACCOUNT}/conversations/103/messages")]
    );
    let posted = cw.messages().last().unwrap().clone();
    assert_eq!(posted["message_type"], "outgoing");
    assert_eq!(posted["source_id"], format!("WAID:{m2}"));
    let m2_cw = posted["id"].as_u64().unwrap();

    // -- Chatwoot -> WhatsApp: an agent replies ---------------------------------------------
    let n = cw.calls().len();
    let (s, v) = chatwoot_calls(
        &gw,
        &webhook_url,
        &agent_reply(9001, 103, "Hi from Chatwoot"),
    );
    assert_eq!((s, v["status"].as_str()), (200, Some("ok")), "{v}");
    let sent_id = v["id"].as_str().unwrap().to_string();
    let records = stored(&gw, &hash);
    let reply = records
        .iter()
        .find(|r| r["key"]["id"] == sent_id.as_str())
        .unwrap_or_else(|| panic!("the reply is not in the store: {records:#?}"));
    assert_eq!(reply["key"]["fromMe"], true);
    assert_eq!(reply["message"]["conversation"], "*Ana:*\nHi from Chatwoot");
    // The same webhook again (Chatwoot retries): not sent twice.
    let (s, v) = chatwoot_calls(
        &gw,
        &webhook_url,
        &agent_reply(9001, 103, "Hi from Chatwoot"),
    );
    assert_eq!((s, v["status"].as_str()), (200, Some("ignored")), "{v}");
    // Private notes, incoming messages and the sync's own posts are not sent.
    let mut note: Value = serde_json::from_slice(&agent_reply(9002, 103, "note")).unwrap();
    note["private"] = json!(true);
    let mut own: Value = serde_json::from_slice(&agent_reply(9003, 103, "own")).unwrap();
    own["source_id"] = json!(format!("WAID:{m2}"));
    for body in [note, own] {
        let (s, v) = chatwoot_calls(&gw, &webhook_url, body.to_string().as_bytes());
        assert_eq!((s, v["status"].as_str()), (200, Some("ignored")), "{v}");
    }
    assert_eq!(stored(&gw, &hash).len(), 3);
    // The reply's WhatsApp event does not come back into Chatwoot.
    cw.quiet(n);

    // -- WhatsApp revoke -> one DELETE -----------------------------------------------------
    let (s, text, _) = evo(
        &gw,
        "DELETE",
        "/chat/deleteMessageForEveryone/shop",
        Some(&hash),
        Some(json!({"id": m2, "remoteJid": PEER_JID, "fromMe": true})),
    );
    assert!(s == 200 || s == 201, "{s} {text}");
    let calls = cw.wait("the delete", |c| c.len() > n);
    cw.quiet(calls.len());
    assert_eq!(
        cw.lines()[n..],
        [format!(
            "DELETE {ACCOUNT}/conversations/103/messages/{m2_cw}"
        )]
    );
    assert!(cw.messages().iter().all(|m| m["id"] != m2_cw));

    // -- Chatwoot delete -> revoked on WhatsApp (and no DELETE echo) -----------------------
    let n = cw.calls().len();
    let deleted = json!({"event": "message_updated", "id": 9001, "content": "Hi from Chatwoot",
                         "message_type": "outgoing", "content_attributes": {"deleted": true},
                         "conversation": {"id": 103}});
    let (s, v) = chatwoot_calls(&gw, &webhook_url, deleted.to_string().as_bytes());
    assert_eq!((s, v["action"].as_str()), (200, Some("revoked")), "{v}");
    let records = stored(&gw, &hash);
    let reply = records
        .iter()
        .find(|r| r["key"]["id"] == sent_id.as_str())
        .unwrap();
    assert_eq!(reply["status"], "DELETED", "{reply}");
    cw.quiet(n);

    // -- resolved conversation: nothing is sent ------------------------------------------
    let before = stored(&gw, &hash).len();
    let resolved = json!({"event": "conversation_status_changed", "id": 103, "status": "resolved"});
    let (s, v) = chatwoot_calls(&gw, &webhook_url, resolved.to_string().as_bytes());
    assert_eq!(
        (s, v["action"].as_str()),
        (200, Some("nothing sent")),
        "{v}"
    );
    assert_eq!(stored(&gw, &hash).len(), before);
    cw.quiet(n);

    // -- the inbound route's guards ----------------------------------------------------------
    let wrong = webhook_url.replace("token=", "token=x");
    assert_eq!(
        chatwoot_calls(&gw, &wrong, &agent_reply(9010, 103, "no")).0,
        401
    );
    let no_token = webhook_url.split('?').next().unwrap().to_string();
    assert_eq!(
        chatwoot_calls(&gw, &no_token, &agent_reply(9011, 103, "no")).0,
        401
    );
    let (s, v) = chatwoot_calls(&gw, &webhook_url, b"{not json");
    assert_eq!(s, 400, "{v}");
    assert_eq!(stored(&gw, &hash).len(), before);

    // -- the token reached Chatwoot on every call, and nowhere else -------------------------
    for call in cw.calls() {
        assert_eq!(call.token.as_deref(), Some(CW_TOKEN), "{}", call.line());
    }

    // -- deleting the instance removes the config and the inbound token ---------------------
    let (s, text, _) = evo(
        &gw,
        "DELETE",
        "/instance/delete/shop",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{text}");
    let (s, _) = chatwoot_calls(&gw, &webhook_url, &agent_reply(9020, 103, "gone"));
    assert_eq!(s, 401);
    let hash = open_instance(&gw, GLOBAL_KEY, "shop");
    let (s, v) = evo_json(&gw, "GET", "/chatwoot/find/shop", Some(&hash), None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"enabled": false, "url": "", "accountId": "", "token": "", "signMsg": false,
               "nameInbox": "", "webhook_url": ""})
    );
    let (s, _) = chatwoot_calls(&gw, &webhook_url, &agent_reply(9021, 103, "gone"));
    assert_eq!(s, 401, "the old token works for the new instance");
    // Nothing of the new instance reaches Chatwoot.
    let n = cw.calls().len();
    gw.inbound("shop", PEER, "after the delete", false);
    cw.quiet(n);
}

#[test]
fn disabled_and_failing_chatwoot() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let hash = open_instance(&gw, GLOBAL_KEY, "shop");
    let cw = FakeChatwoot::start(&[]);
    let set = |enabled: bool, token: &str| {
        json!({
            "enabled": enabled, "accountId": "1", "token": token, "url": cw.url(),
            "signMsg": false, "reopenConversation": false, "conversationPending": true,
            "autoCreate": true
        })
    };
    // Evolution's validation: schema first, then its controller's checks when enabled.
    for (patch, message) in [
        (
            json!({"signMsg": "yes"}),
            "signMsg is not of a type(s) boolean",
        ),
        (json!({"token": ""}), "The \"token\" cannot be empty"),
        (json!({"url": "chatwoot.local"}), "url is not valid"),
        (
            json!({"importMessages": true}),
            "importMessages is not supported: wagate syncs from the next event on",
        ),
    ] {
        let mut body = set(true, CW_TOKEN);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = evo_json(&gw, "POST", "/chatwoot/set/shop", Some(&hash), Some(body));
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["response"]["message"][0], message, "{v}");
    }
    let (s, v) = evo_json(&gw, "GET", "/chatwoot/find/shop", Some(&hash), None);
    assert_eq!(
        (s, &v["enabled"], &v["url"]),
        (200, &json!(false), &json!("")),
        "{v}"
    );
    // Another instance's token may not touch this one.
    let other = open_instance(&gw, GLOBAL_KEY, "other");
    let (s, _) = evo_json(&gw, "GET", "/chatwoot/find/shop", Some(&other), None);
    assert_eq!(s, 401);

    // Disabled: stored, nothing synced.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/chatwoot/set/shop",
        Some(&hash),
        Some(set(false, CW_TOKEN)),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["signDelimiter"], Value::Null);
    let (_, found) = evo_json(&gw, "GET", "/chatwoot/find/shop", Some(&hash), None);
    assert_eq!(found["enabled"], false);
    assert_eq!(found["nameInbox"], "shop");
    gw.inbound("shop", PEER, "not synced", false);
    cw.quiet(0);
    // Enabled with a token Chatwoot refuses (the fake checks none, so make it refuse by
    // pointing at an account it does not have): a permanent failure, dead-lettered with
    // a reason; the next events still flow once fixed.
    let mut bad = set(true, CW_TOKEN);
    bad["accountId"] = json!("2");
    let (s, v) = evo_json(&gw, "POST", "/chatwoot/set/shop", Some(&hash), Some(bad));
    assert_eq!(s, 201, "{v}");
    gw.inbound("shop", PEER, "to a wrong account", false);
    let calls = cw.wait("the failing call", |c| !c.is_empty());
    cw.quiet(calls.len());
    let (s, dead) = gw.admin("GET", "/admin/events/dead-letters", None);
    assert_eq!(s, 200, "{dead}");
    let text = dead.to_string();
    assert!(text.contains("404"), "{text}");
    assert!(
        !text.contains(CW_TOKEN),
        "a dead letter shows the token: {text}"
    );
    // Fixed: the next message goes through, into a pending conversation.
    let (s, _) = evo_json(
        &gw,
        "POST",
        "/chatwoot/set/shop",
        Some(&hash),
        Some(set(true, CW_TOKEN)),
    );
    assert_eq!(s, 201);
    gw.inbound("shop", PEER, "now it works", false);
    cw.wait("the message", |c| {
        c.iter()
            .any(|c| c.method == "POST" && c.path.ends_with("/messages"))
    });
    assert_eq!(cw.messages().len(), 1);
    assert_eq!(
        cw.data.lock().unwrap().conversations[0]["status"],
        "pending"
    );
}

#[test]
fn sessions_v1_chatwoot_endpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let key = gw.org_with_key("acme", None);
    let (instance, _) = gw.connected_instance(&key, "desk");
    let sid = instance["id"].as_str().unwrap().to_string();
    let cw = FakeChatwoot::start(&[]);
    let path = format!("/api/v1/sessions/{sid}/integrations/chatwoot");

    let (s, v) = gw.call("GET", &path, Some(&key), None);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    // The token is needed the first time; every problem is named.
    let (s, v) = gw.call(
        "PUT",
        &path,
        Some(&key),
        Some(json!({"url": cw.url(), "accountId": "x", "colour": "red"})),
    );
    assert_eq!(s, 422, "{v}");
    let fields = &v["error"]["details"]["fields"];
    for k in ["token", "accountId", "colour"] {
        assert!(fields.get(k).is_some(), "{k}: {v}");
    }

    let spec = json!({"url": cw.url(), "accountId": 1, "token": CW_TOKEN,
                      "inboxName": "Desk", "autoCreateInbox": true});
    let resp = gw.raw(
        "PUT",
        &path,
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {key}")),
        ],
        spec.to_string().as_bytes(),
    );
    let text = String::from_utf8(resp.body).unwrap();
    assert_eq!(resp.status, 200, "{text}");
    assert!(!text.contains(CW_TOKEN), "the token is shown: {text}");
    let set: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(set["tokenSet"], true);
    assert_eq!(set["accountId"], "1");
    assert_eq!(set["inboxName"], "Desk");
    let webhook_url = set["webhookUrl"].as_str().unwrap().to_string();
    assert!(
        webhook_url.starts_with(&format!("{}/chatwoot/webhook/desk?token=", gw.base)),
        "{webhook_url}"
    );
    let (s, got) = gw.call("GET", &path, Some(&key), None);
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["webhookUrl"], webhook_url.as_str());

    // Synced, with the token on every call.
    gw.inbound("desk", PEER, "hi desk", false);
    let calls = cw.wait("the message", |c| {
        c.iter()
            .any(|c| c.method == "POST" && c.path.ends_with("/messages"))
    });
    assert_eq!(calls[1].body["name"], "Desk");
    assert!(calls.iter().all(|c| c.token.as_deref() == Some(CW_TOKEN)));
    let conversation = cw.data.lock().unwrap().conversations[0]["id"]
        .as_u64()
        .unwrap();

    // A later PUT without the token keeps it.
    let (s, v) = gw.call(
        "PUT",
        &path,
        Some(&key),
        Some(json!({"url": cw.url(), "accountId": 1, "inboxName": "Desk", "signMessages": true})),
    );
    assert_eq!((s, &v["tokenSet"]), (200, &json!(true)), "{v}");
    let (s, v) = chatwoot_calls(&gw, &webhook_url, &agent_reply(7001, conversation, "On it"));
    assert_eq!((s, v["status"].as_str()), (200, Some("ok")), "{v}");
    let (s, page) = gw.call(
        "GET",
        &format!("/api/v1/sessions/{sid}/chats/{PEER_JID}/messages"),
        Some(&key),
        None,
    );
    assert_eq!(s, 200, "{page}");
    assert!(
        page.to_string().contains("*Ana:*\\nOn it"),
        "the signed reply is not stored: {page}"
    );
    let n = cw.calls().len();
    gw.inbound("desk", PEER, "thanks", false);
    let calls = cw.wait("the second message", |c| c.len() > n);
    assert!(calls.iter().all(|c| c.token.as_deref() == Some(CW_TOKEN)));

    // DELETE removes it and its webhook token.
    let (s, _) = gw.call("DELETE", &path, Some(&key), None);
    assert_eq!(s, 204);
    let (s, _) = gw.call("GET", &path, Some(&key), None);
    assert_eq!(s, 404);
    let (s, _) = gw.call("DELETE", &path, Some(&key), None);
    assert_eq!(s, 404);
    assert_eq!(
        chatwoot_calls(&gw, &webhook_url, &agent_reply(7002, conversation, "x")).0,
        401
    );
    let n = cw.calls().len();
    gw.inbound("desk", PEER, "not synced any more", false);
    cw.quiet(n);
}

#[test]
fn chatwoot_outage_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("wagate.toml");
    // A retry budget that outlasts the outage and the restart.
    std::fs::write(
        &config,
        "[events]\nmax_attempts = 60\nbase_backoff_ms = 50\nmax_backoff_ms = 400\n",
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let gw = Gateway::start_on(&data, &args);
    let key = gw.org_with_key("acme", None);
    let (instance, _) = gw.connected_instance(&key, "desk");
    let sid = instance["id"].as_str().unwrap().to_string();
    let cw = FakeChatwoot::start(&[]);
    let (s, v) = gw.call(
        "PUT",
        &format!("/api/v1/sessions/{sid}/integrations/chatwoot"),
        Some(&key),
        Some(json!({"url": cw.url(), "accountId": 1, "token": CW_TOKEN, "autoCreateInbox": true})),
    );
    assert_eq!(s, 200, "{v}");

    // Chatwoot is down: the events wait in the queue, retried.
    cw.data.lock().unwrap().down = Some(503);
    let first = gw.inbound("desk", PEER, "one", false);
    let second = gw.inbound("desk", PEER, "two", false);
    cw.wait("a refused attempt", |c| c.len() >= 2);
    assert!(gw.stop().success());

    // Chatwoot is back, and so is the gateway: each message arrives once, in order.
    cw.data.lock().unwrap().down = None;
    let gw = Gateway::start_on(&data, &args);
    cw.wait("both messages", |_| cw.messages().len() >= 2);
    cw.quiet(cw.calls().len());
    let sources: Vec<Value> = cw
        .messages()
        .iter()
        .map(|m| m["source_id"].clone())
        .collect();
    assert_eq!(
        sources,
        [
            json!(format!("WAID:{first}")),
            json!(format!("WAID:{second}"))
        ]
    );
    assert_eq!(cw.count(|d| d.contacts.len()), 1);
    assert_eq!(cw.count(|d| d.conversations.len()), 1);
    assert_eq!(cw.count(|d| d.inboxes.len()), 1);
    drop(gw);
}

/// Sets the Chatwoot integration of `shop` through Evolution; returns the
/// `webhook_url` Chatwoot is given and the inbound secret in it.
fn set_chatwoot(gw: &Gateway, hash: &str, cw: &FakeChatwoot) -> (String, String) {
    let set = json!({
        "enabled": true, "accountId": "1", "token": CW_TOKEN, "url": cw.url(),
        "signMsg": false, "reopenConversation": true, "conversationPending": false,
        "nameInbox": "WhatsApp shop", "autoCreate": true
    });
    let (s, v) = evo_json(gw, "POST", "/chatwoot/set/shop", Some(hash), Some(set));
    assert_eq!(s, 201, "{v}");
    let url = v["webhook_url"].as_str().unwrap().to_string();
    let secret = url.split_once("token=").unwrap().1.to_string();
    (url, secret)
}

/// What the inbound secret reaches outside its route: each dialect's 401, nothing read.
fn assert_secret_refused_everywhere(gw: &Gateway, secret: &str) {
    // Evolution (`apikey`).
    for (method, path, body) in [
        ("POST", "/chat/findMessages/shop", Some(json!({}))),
        ("GET", "/instance/fetchInstances", None),
        (
            "POST",
            "/message/sendText/shop",
            Some(json!({"number": PEER, "text": "x"})),
        ),
    ] {
        let (s, text, _) = evo(gw, method, path, Some(secret), body);
        assert_eq!(s, 401, "Evolution {path}: {text}");
        assert!(text.contains("Unauthorized"), "{text}");
    }
    // Ryze (`token` header).
    let r = gw.raw(
        "POST",
        "/api/chat/history/shop",
        &[("content-type", "application/json"), ("token", secret)],
        json!({"number": PEER}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 401, "Ryze: {:?}", r.json());
    assert_eq!(r.json()["success"], false);
    // sessions/v1 and the native API (bearer).
    for path in ["/api/v1/sessions", "/core/instances"] {
        let (s, v) = gw.call("GET", path, Some(secret), None);
        assert_eq!(s, 401, "{path}: {v}");
    }
}

/// Issue 14, defect 8: the inbound secret is a credential of its own kind, accepted by
/// the Chatwoot inbound route only, and that route accepts nothing else.
#[test]
fn the_inbound_secret_opens_only_the_chatwoot_route() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let hash = open_instance(&gw, GLOBAL_KEY, "shop");
    let cw = FakeChatwoot::start(&[]);
    let (url, secret) = set_chatwoot(&gw, &hash, &cw);
    gw.inbound("shop", PEER, "hello from the phone", false);

    assert_secret_refused_everywhere(&gw, &secret);

    // At the Chatwoot route: the secret works; the instance token, an api key and the
    // global key do not.
    let (s, v) = chatwoot_calls(&gw, &url, &agent_reply(8001, 103, "ok"));
    assert_eq!(s, 200, "{v}");
    let base = url.split('?').next().unwrap();
    let key = gw.org_with_key("default", None);
    for other in [hash.as_str(), key.as_str(), GLOBAL_KEY] {
        let (s, v) = chatwoot_calls(
            &gw,
            &format!("{base}?token={other}"),
            &agent_reply(8002, 103, "no"),
        );
        assert_eq!(s, 401, "{other}: {v}");
        let r = gw.raw(
            "POST",
            "/chatwoot/webhook/shop",
            &[
                ("content-type", "application/json"),
                ("x-wagate-token", other),
            ],
            &agent_reply(8003, 103, "no"),
        );
        assert_eq!(r.status, 401, "{other} in the header");
    }

    // Issue 14, defect 4 at this route: an agent reply the instance cannot send because
    // it is logged out is the caller's state (409), not a gateway failure (5xx).
    let (s, v) = evo_json(
        &gw,
        "DELETE",
        "/instance/logout/shop",
        Some(GLOBAL_KEY),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = chatwoot_calls(&gw, &url, &agent_reply(8004, 103, "while logged out"));
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["status"], "error", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("not connected"),
        "{v}"
    );
}

/// Issue 14, defect 8: a data file of schema 1 stored the inbound secret as an
/// `instance` credential (and kept instance names in one global index); after the
/// upgrade the same secret still works at the Chatwoot route and nowhere else.
#[test]
fn inbound_secrets_of_schema_1_keep_working_at_their_route_only() {
    if crate::common::redb_only("inbound_secrets_of_schema_1_keep_working_at_their_route_only") {
        return;
    }
    use redb::{ReadableTable, TableDefinition};
    const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
    const CREDENTIALS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("credentials");
    const NAMES: TableDefinition<&str, &str> = TableDefinition::new("instance_names");

    let tmp = tempfile::tempdir().unwrap();
    let gw = start(tmp.path());
    let hash = open_instance(&gw, GLOBAL_KEY, "shop");
    let cw = FakeChatwoot::start(&[]);
    let (url, secret) = set_chatwoot(&gw, &hash, &cw);
    assert!(gw.stop().success());

    // Write the file back the way schema 1 stored it.
    let db = redb::Database::open(tmp.path().join("data").join("wagate.redb")).unwrap();
    let tx = db.begin_write().unwrap();
    {
        let mut creds = tx.open_table(CREDENTIALS).unwrap();
        let rows: Vec<(Vec<u8>, Value)> = creds
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (
                    k.value().to_vec(),
                    serde_json::from_slice(v.value()).unwrap(),
                )
            })
            .collect();
        let mut downgraded = 0;
        for (k, mut v) in rows {
            if v["kind"] == "inbound" {
                v["kind"] = json!("instance");
                creds
                    .insert(k.as_slice(), serde_json::to_vec(&v).unwrap().as_slice())
                    .unwrap();
                downgraded += 1;
            }
        }
        assert_eq!(downgraded, 1, "one inbound secret was stored");
        // Schema 1's name index: the bare name.
        let mut names = tx.open_table(NAMES).unwrap();
        let rows: Vec<(String, String)> = names
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (k.value().to_string(), v.value().to_string())
            })
            .collect();
        names.retain(|_, _| false).unwrap();
        for (k, id) in rows {
            let bare = k.rsplit('\0').next().unwrap().to_string();
            assert_ne!(bare, k, "the index is per org now");
            names.insert(bare.as_str(), id.as_str()).unwrap();
        }
        drop(names);
        tx.open_table(META)
            .unwrap()
            .insert("schema_version", 1)
            .unwrap();
    }
    tx.commit().unwrap();
    drop(db);

    let gw = start(tmp.path());
    let (s, v) = chatwoot_calls(&gw, &url, &agent_reply(8101, 103, "still works"));
    assert_eq!(s, 200, "{v}");
    assert_secret_refused_everywhere(&gw, &secret);
    // The file is at the current schema.
    drop(cw);
    let gw_data = gw.data.clone();
    assert!(gw.stop().success());
    let version = common::stored_schema_version(&gw_data);
    assert!(version >= 2, "{version}");
}
