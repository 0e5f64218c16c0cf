//! The sessions/v1 dialect and the `bearer` auth plugin, end to end through the real
//! binary: the seed's three chat endpoints to the letter (whole-body comparisons), the
//! rest of the dialect, capability and cross-org rules for every endpoint, paging, and
//! login JWTs (RS256, ES256) verified against a JWKS served by the test.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Gateway;
use common::v1::{err, paired_session, v1};
use serde_json::{Value, json};

const JID: &str = "6281234567890@s.whatsapp.net";

// ---- harness --------------------------------------------------------------------

/// A gateway with only `bearer` and `sessions-v1` loaded (default mount /api/v1), and
/// `bearer_config` as `[plugins.settings.bearer]` extra lines.
struct Env {
    gw: Gateway,
    _dir: tempfile::TempDir,
}

impl Env {
    fn start(bearer_settings: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("wagate.toml");
        std::fs::write(
            &cfg,
            format!(
                "[plugins]\nbundled = [\"bearer\", \"sessions-v1\"]\n{}",
                if bearer_settings.is_empty() {
                    String::new()
                } else {
                    format!("[plugins.settings.bearer]\n{bearer_settings}\n")
                }
            ),
        )
        .unwrap();
        let gw = Gateway::start_on(
            &dir.path().join("data"),
            &["--config", cfg.to_str().unwrap()],
        );
        Env { gw, _dir: dir }
    }
}

/// One HTTP exchange: status, raw body, parsed body (Null when empty or not JSON).
struct Resp {
    status: u16,
    raw: Vec<u8>,
    body: Value,
    content_type: Option<String>,
}

fn call(gw: &Gateway, method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let r = wagate::client::request(&gw.base, method, path, &headers, body).expect("request");
    Resp {
        status: r.status,
        body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        content_type: r.header("content-type").map(str::to_string),
        raw: r.body,
    }
}

fn session_nf() -> Value {
    err("not_found", "session not found", json!({}))
}

fn chat_nf() -> Value {
    err("not_found", "chat not found", json!({}))
}

fn forbidden(cap: &str) -> Value {
    err(
        "forbidden",
        &format!("this operation requires the `{cap}` capability"),
        json!({ "capability": cap }),
    )
}

/// An org, a full key, and a paired session with one chat holding `n` messages.
struct World {
    key: String,
    sid: String,
    name: String,
}

fn world(gw: &Gateway, org: &str, n: usize) -> World {
    let key = gw.org_with_key(org, None);
    let name = format!("{org}-phone");
    let sid = paired_session(gw, &key, &name);
    for i in 0..n {
        gw.inbound(&name, "6281234567890", &format!("m{i}"), false);
    }
    World { key, sid, name }
}

fn chat_path(w: &World) -> String {
    format!("/sessions/{}/chats/{JID}", w.sid)
}

// ---- the seed: DELETE /sessions/{sid}/chats/{cid} -------------------------------

#[test]
fn seed_delete_chat() {
    let env = Env::start("");
    let gw = &env.gw;
    let w = world(gw, "acme", 3);
    let other = gw.org_with_key("other", None);
    let read_only = gw.key("acme", Some(&["read"]));
    let path = format!("/api/v1{}", chat_path(&w));

    // forbidden without send, before anything is removed.
    let r = call(gw, "DELETE", &path, Some(&read_only), None);
    assert_eq!((r.status, &r.body), (403, &forbidden("send")));
    // another org's session: not_found, never forbidden.
    let r = call(gw, "DELETE", &path, Some(&other), None);
    assert_eq!((r.status, &r.body), (404, &session_nf()));
    // unknown session.
    let r = call(
        gw,
        "DELETE",
        &format!("/api/v1/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV/chats/{JID}"),
        Some(&w.key),
        None,
    );
    assert_eq!((r.status, &r.body), (404, &session_nf()));
    // a chat that is not stored (well-formed and malformed ids alike).
    for cid in ["6289999999999@s.whatsapp.net", "not-a-jid"] {
        let r = call(
            gw,
            "DELETE",
            &format!("/api/v1/sessions/{}/chats/{cid}", w.sid),
            Some(&w.key),
            None,
        );
        assert_eq!((r.status, &r.body), (404, &chat_nf()), "{cid}");
    }

    // 204, no body.
    let r = call(gw, "DELETE", &path, Some(&w.key), None);
    assert_eq!(r.status, 204);
    assert!(r.raw.is_empty(), "204 has no body: {:?}", r.raw);
    assert_eq!(r.content_type, None);
    // Gone from the stored copy with its messages; deleting again is not_found.
    assert_eq!(
        v1(gw, "GET", &chat_path(&w), &w.key, None),
        (404, chat_nf())
    );
    assert_eq!(
        v1(
            gw,
            "GET",
            &format!("{}/messages", chat_path(&w)),
            &w.key,
            None
        ),
        (404, chat_nf())
    );
    let r = call(gw, "DELETE", &path, Some(&w.key), None);
    assert_eq!((r.status, &r.body), (404, &chat_nf()));
    // Local delete only: new activity brings the chat back, without the old messages.
    gw.inbound(&w.name, "6281234567890", "again", false);
    let (s, v) = v1(
        gw,
        "GET",
        &format!("{}/messages", chat_path(&w)),
        &w.key,
        None,
    );
    assert_eq!(s, 200, "{v}");
    let texts: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["again"]);
    assert_eq!(v["nextCursor"], Value::Null);
}

/// The seed: DELETE and PATCH require `send` (only), not `read`.
#[test]
fn seed_delete_chat_needs_send_only() {
    let env = Env::start("");
    let gw = &env.gw;
    let w = world(gw, "acme", 1);
    let send_only = gw.key("acme", Some(&["send"]));
    let r = call(
        gw,
        "DELETE",
        &format!("/api/v1{}", chat_path(&w)),
        Some(&send_only),
        None,
    );
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.raw));
    // PATCH likewise needs only send.
    gw.inbound(&w.name, "6281234567890", "back", false);
    let (s, v) = v1(
        gw,
        "PATCH",
        &chat_path(&w),
        &send_only,
        Some(json!({"pinned": true})),
    );
    assert_eq!(s, 200, "{v}");
}

// ---- the seed: PATCH /sessions/{sid}/chats/{cid} --------------------------------

#[test]
fn seed_patch_chat() {
    let env = Env::start("");
    let gw = &env.gw;
    let w = world(gw, "acme", 1);
    let other = gw.org_with_key("other", None);
    let read_only = gw.key("acme", Some(&["read"]));
    let path = chat_path(&w);

    let (s, v) = v1(gw, "PATCH", &path, &w.key, Some(json!({"archived": true})));
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["id"].as_str(),
            &v["archived"],
            &v["pinned"],
            &v["mutedUntil"]
        ),
        (Some(JID), &json!(true), &json!(false), &Value::Null)
    );
    // Partial: omitted fields stay.
    let (_, v) = v1(
        gw,
        "PATCH",
        &path,
        &w.key,
        Some(json!({"pinned": true, "mutedUntil": 4102444800000u64})),
    );
    assert_eq!(
        (&v["archived"], &v["pinned"], &v["mutedUntil"]),
        (&json!(true), &json!(true), &json!(4102444800000u64))
    );
    // unmute wins over mutedUntil.
    let (_, v) = v1(
        gw,
        "PATCH",
        &path,
        &w.key,
        Some(json!({"mutedUntil": 5000000000000u64, "unmute": true})),
    );
    assert_eq!(v["mutedUntil"], Value::Null);
    assert_eq!((&v["archived"], &v["pinned"]), (&json!(true), &json!(true)));
    // mutedUntil null clears too; an empty object changes nothing.
    v1(
        gw,
        "PATCH",
        &path,
        &w.key,
        Some(json!({"mutedUntil": 4102444800000u64})),
    );
    let (_, v) = v1(
        gw,
        "PATCH",
        &path,
        &w.key,
        Some(json!({"mutedUntil": null})),
    );
    assert_eq!(v["mutedUntil"], Value::Null);
    let (s, v2) = v1(gw, "PATCH", &path, &w.key, Some(json!({})));
    assert_eq!((s, &v2), (200, &v));
    // The stored chat says the same.
    assert_eq!(v1(gw, "GET", &path, &w.key, None), (200, v.clone()));

    // 422 validation_error on malformed bodies.
    let full = format!("/api/v1{path}");
    let not_object = err(
        "validation_error",
        "request body must be a JSON object",
        json!({}),
    );
    for raw in [&b"not json"[..], b"", b"[1,2]", b"null", b"\"x\""] {
        let r = call(gw, "PATCH", &full, Some(&w.key), Some(raw));
        assert_eq!(
            (r.status, &r.body),
            (422, &not_object),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    let r = call(
        gw,
        "PATCH",
        &full,
        Some(&w.key),
        Some(br#"{"archived":"yes","pinned":1,"mutedUntil":-5,"unmute":"true","muted_until":1}"#),
    );
    assert_eq!(
        (r.status, &r.body),
        (
            422,
            &err(
                "validation_error",
                "request body is invalid",
                json!({ "fields": {
                    "archived": "must be a boolean",
                    "pinned": "must be a boolean",
                    "unmute": "must be a boolean",
                    "mutedUntil": "must be a non-negative integer (Unix epoch milliseconds) or null",
                    "muted_until": "unknown field",
                } })
            )
        )
    );
    let (s, v) = v1(gw, "PATCH", &path, &w.key, Some(json!({"mutedUntil": 1.5})));
    assert_eq!(s, 422, "{v}");

    // not_found and forbidden, before validation.
    for body in [json!({"pinned": false}), json!({"pinned": "bad"})] {
        assert_eq!(
            v1(gw, "PATCH", &path, &other, Some(body.clone())),
            (404, session_nf())
        );
        assert_eq!(
            v1(
                gw,
                "PATCH",
                "/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV/chats/x@s.whatsapp.net",
                &w.key,
                Some(body.clone())
            ),
            (404, session_nf())
        );
        assert_eq!(
            v1(
                gw,
                "PATCH",
                &format!("/sessions/{}/chats/6280000000000@s.whatsapp.net", w.sid),
                &w.key,
                Some(body.clone())
            ),
            (404, chat_nf())
        );
        assert_eq!(
            v1(gw, "PATCH", &path, &read_only, Some(body)),
            (403, forbidden("send"))
        );
    }
}

// ---- the seed: GET /sessions/{sid}/chats/{cid}/messages -------------------------

#[test]
fn seed_list_messages_pages_1000_with_limit_7() {
    let env = Env::start("");
    let gw = &env.gw;
    let w = world(gw, "acme", 1000);
    let base = format!("{}/messages", chat_path(&w));

    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}?limit=7&cursor={c}"),
            None => format!("{base}?limit=7"),
        };
        let (s, v) = v1(gw, "GET", &path, &w.key, None);
        assert_eq!(s, 200, "{v}");
        let data = v["data"].as_array().unwrap();
        assert!(data.len() <= 7);
        seen.extend(data.iter().map(|m| m["text"].as_str().unwrap().to_string()));
        pages += 1;
        if pages == 3 {
            // A message arriving between pages is newer than every page still to come.
            gw.inbound(&w.name, "6281234567890", "late", false);
        }
        match &v["nextCursor"] {
            Value::Null => {
                assert!(!data.is_empty() || pages == 1);
                break;
            }
            Value::String(c) => cursor = Some(c.clone()),
            other => panic!("nextCursor {other}"),
        }
    }
    let want: Vec<String> = (0..1000).rev().map(|i| format!("m{i}")).collect();
    assert_eq!(seen, want, "each message exactly once, newest first");
    assert_eq!(pages, 143);

    // The late message is on the first page now.
    let (_, v) = v1(gw, "GET", &format!("{base}?limit=2"), &w.key, None);
    let texts: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["late", "m999"]);
    let m = &v["data"][0];
    assert_eq!(
        (m["chatId"].as_str(), &m["fromMe"], m["type"].as_str()),
        (Some(JID), &json!(false), Some("text"))
    );
    // Default limit is 50.
    let (_, v) = v1(gw, "GET", &base, &w.key, None);
    assert_eq!(v["data"].as_array().unwrap().len(), 50);
}

#[test]
fn seed_list_messages_errors() {
    let env = Env::start("");
    let gw = &env.gw;
    let w = world(gw, "acme", 2);
    let other = gw.org_with_key("other", None);
    let send_only = gw.key("acme", Some(&["send", "manage"]));
    let base = format!("{}/messages", chat_path(&w));

    assert_eq!(v1(gw, "GET", &base, &other, None), (404, session_nf()));
    assert_eq!(
        v1(
            gw,
            "GET",
            &format!("/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV/chats/{JID}/messages"),
            &w.key,
            None
        ),
        (404, session_nf())
    );
    assert_eq!(
        v1(
            gw,
            "GET",
            &format!(
                "/sessions/{}/chats/6280000000000@s.whatsapp.net/messages",
                w.sid
            ),
            &w.key,
            None
        ),
        (404, chat_nf())
    );
    assert_eq!(
        v1(gw, "GET", &base, &send_only, None),
        (403, forbidden("read"))
    );
    // The last page: nextCursor null.
    let (s, v) = v1(gw, "GET", &format!("{base}?limit=2"), &w.key, None);
    assert_eq!((s, &v["nextCursor"]), (200, &Value::Null));
    // Bad query parameters.
    for l in ["0", "201", "x", "-1"] {
        assert_eq!(
            v1(gw, "GET", &format!("{base}?limit={l}"), &w.key, None),
            (
                422,
                err(
                    "validation_error",
                    "invalid query parameter",
                    json!({"fields": {"limit": "must be an integer from 1 to 200"}})
                )
            ),
            "limit={l}"
        );
    }
    assert_eq!(
        v1(gw, "GET", &format!("{base}?cursor=%21%21"), &w.key, None),
        (
            422,
            err(
                "validation_error",
                "invalid query parameter",
                json!({"fields": {"cursor": "pass back the nextCursor of the previous page"}})
            )
        )
    );
    // Validation never leaks another org's session.
    assert_eq!(
        v1(gw, "GET", &format!("{base}?limit=0"), &other, None),
        (404, session_nf())
    );
}

// ---- every endpoint: cross-org is not_found, capabilities hold -------------------

#[test]
fn every_endpoint_cross_org_and_capabilities() {
    let env = Env::start("");
    let gw = &env.gw;
    let w = world(gw, "acme", 1);
    let mid = {
        let (_, v) = v1(
            gw,
            "GET",
            &format!("{}/messages", chat_path(&w)),
            &w.key,
            None,
        );
        v["data"][0]["id"].as_str().unwrap().to_string()
    };
    let other = gw.org_with_key("other", None);
    let sid = &w.sid;
    // (method, path, body, capability)
    let endpoints: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("GET", format!("/sessions/{sid}"), None, "read"),
        ("POST", format!("/sessions/{sid}/connect"), None, "manage"),
        ("POST", format!("/sessions/{sid}/logout"), None, "manage"),
        ("DELETE", format!("/sessions/{sid}"), None, "manage"),
        ("GET", format!("/sessions/{sid}/chats"), None, "read"),
        ("GET", format!("/sessions/{sid}/chats/{JID}"), None, "read"),
        (
            "PATCH",
            format!("/sessions/{sid}/chats/{JID}"),
            Some(json!({"pinned": true})),
            "send",
        ),
        (
            "DELETE",
            format!("/sessions/{sid}/chats/{JID}"),
            None,
            "send",
        ),
        (
            "GET",
            format!("/sessions/{sid}/chats/{JID}/messages"),
            None,
            "read",
        ),
        (
            "POST",
            format!("/sessions/{sid}/messages"),
            Some(json!({"to": "6281234567890", "text": "hi"})),
            "send",
        ),
        (
            "DELETE",
            format!("/sessions/{sid}/messages/{mid}"),
            None,
            "send",
        ),
        (
            "POST",
            format!("/sessions/{sid}/messages/{mid}/revoke"),
            None,
            "send",
        ),
    ];
    for (method, path, body, cap) in &endpoints {
        assert_eq!(
            v1(gw, method, path, &other, body.clone()),
            (404, session_nf()),
            "{method} {path} from another org"
        );
        let lacking: Vec<&str> = ["read", "send", "manage"]
            .into_iter()
            .filter(|c| c != cap)
            .collect();
        let key = gw.key("acme", Some(&lacking));
        assert_eq!(
            v1(gw, method, path, &key, body.clone()),
            (403, forbidden(cap)),
            "{method} {path} without {cap}"
        );
    }
    // Org-level endpoints.
    let no_read = gw.key("acme", Some(&["send"]));
    assert_eq!(
        v1(gw, "GET", "/sessions", &no_read, None),
        (403, forbidden("read"))
    );
    assert_eq!(
        v1(
            gw,
            "POST",
            "/sessions",
            &no_read,
            Some(json!({"name": "x"}))
        ),
        (403, forbidden("manage"))
    );
    let (s, v) = v1(gw, "GET", "/sessions", &other, None);
    assert_eq!((s, v), (200, json!({"data": [], "nextCursor": null})));
    // Everything still works for the owner afterwards.
    let (s, _) = v1(gw, "GET", &format!("/sessions/{sid}"), &w.key, None);
    assert_eq!(s, 200);
}

// ---- the rest of the dialect -----------------------------------------------------

#[test]
fn sessions_messages_and_openapi() {
    let env = Env::start("");
    let gw = &env.gw;
    let key = gw.org_with_key("acme", None);

    let (s, v) = v1(gw, "POST", "/sessions", &key, Some(json!({"name": "shop"})));
    assert_eq!(s, 201, "{v}");
    let sid = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        (v["name"].as_str(), v["status"].as_str(), &v["phoneJid"]),
        (Some("shop"), Some("stopped"), &Value::Null)
    );
    assert_eq!(
        v1(gw, "POST", "/sessions", &key, Some(json!({"name": "shop"}))).0,
        409
    );
    assert_eq!(
        v1(gw, "POST", "/sessions", &key, Some(json!({"nmae": "x"}))),
        (
            422,
            err(
                "validation_error",
                "request body is invalid",
                json!({"fields": {"nmae": "unknown field", "name": "required, a non-empty string"}})
            )
        )
    );
    let (s, v) = v1(gw, "GET", "/sessions", &key, None);
    assert_eq!(s, 200);
    assert_eq!(
        (v["data"][0]["id"].as_str(), &v["nextCursor"]),
        (Some(sid.as_str()), &Value::Null)
    );

    // Connect by QR; a second session by pair code.
    let (s, v) = v1(gw, "POST", &format!("/sessions/{sid}/connect"), &key, None);
    assert_eq!(s, 200, "{v}");
    assert!(v["qr"].is_string() || v["status"] == "working", "{v}");
    let (_, v) = v1(
        gw,
        "POST",
        "/sessions",
        &key,
        Some(json!({"name": "shop2"})),
    );
    let sid2 = v["id"].as_str().unwrap().to_string();
    let (s, v) = v1(
        gw,
        "POST",
        &format!("/sessions/{sid2}/connect"),
        &key,
        Some(json!({"phoneNumber": "+6281200000000"})),
    );
    assert_eq!(s, 200, "{v}");
    let code: String = v["pairCode"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    assert_eq!(code.len(), 8, "{v}");
    assert_eq!(
        v1(
            gw,
            "POST",
            &format!("/sessions/{sid2}/connect"),
            &key,
            Some(json!({"phoneNumber": "abc"}))
        )
        .0,
        422
    );

    // Send, list chats, delete for me, revoke.
    let sid = paired_session(gw, &key, "shop3");
    let (s, sent) = v1(
        gw,
        "POST",
        &format!("/sessions/{sid}/messages"),
        &key,
        Some(json!({"to": "6281234567890", "text": "hello"})),
    );
    assert_eq!(s, 201, "{sent}");
    assert_eq!(
        (
            sent["fromMe"].as_bool(),
            sent["text"].as_str(),
            sent["chatId"].as_str()
        ),
        (Some(true), Some("hello"), Some(JID))
    );
    let (s, v) = v1(
        gw,
        "POST",
        &format!("/sessions/{sid}/messages"),
        &key,
        Some(json!({"to": "6281234567890"})),
    );
    assert_eq!(
        (s, v),
        (
            422,
            err(
                "validation_error",
                "request body is invalid",
                json!({"fields": {"text": "required, a non-empty string"}})
            )
        )
    );
    let (s, chats) = v1(gw, "GET", &format!("/sessions/{sid}/chats"), &key, None);
    assert_eq!(s, 200);
    assert_eq!(
        (
            chats["data"][0]["id"].as_str(),
            chats["data"][0]["type"].as_str()
        ),
        (Some(JID), Some("direct"))
    );
    let mid = sent["id"].as_str().unwrap();
    let (s, v) = v1(
        gw,
        "POST",
        &format!("/sessions/{sid}/messages/{mid}/revoke"),
        &key,
        None,
    );
    assert_eq!(
        (s, v["revoked"].as_bool(), v["type"].as_str()),
        (200, Some(true), Some("revoked"))
    );
    assert_eq!(
        v1(
            gw,
            "POST",
            &format!("/sessions/{sid}/messages/{mid}/revoke"),
            &key,
            None
        )
        .0,
        409
    );
    let r = call(
        gw,
        "DELETE",
        &format!("/api/v1/sessions/{sid}/messages/{mid}"),
        Some(&key),
        None,
    );
    assert_eq!((r.status, r.raw.len()), (204, 0));
    assert_eq!(
        v1(
            gw,
            "DELETE",
            &format!("/sessions/{sid}/messages/{mid}"),
            &key,
            None
        ),
        (404, err("not_found", "message not found", json!({})))
    );

    // Logout keeps the session; delete removes it.
    let (s, v) = v1(gw, "POST", &format!("/sessions/{sid}/logout"), &key, None);
    assert_eq!((s, v["status"].as_str()), (200, Some("stopped")), "{v}");
    let r = call(
        gw,
        "DELETE",
        &format!("/api/v1/sessions/{sid}"),
        Some(&key),
        None,
    );
    assert_eq!((r.status, r.raw.len()), (204, 0));
    assert_eq!(
        v1(gw, "GET", &format!("/sessions/{sid}"), &key, None),
        (404, session_nf())
    );

    // Unknown routes and methods, in the envelope.
    assert_eq!(
        v1(gw, "GET", "/nope", &key, None),
        (404, err("not_found", "no such route", json!({})))
    );
    assert_eq!(
        v1(gw, "PUT", "/sessions", &key, None),
        (
            405,
            err(
                "method_not_allowed",
                "method not allowed on this path",
                json!({})
            )
        )
    );

    // OpenAPI 3.1, public.
    let r = call(gw, "GET", "/api/v1/openapi.json", None, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"], "3.1.0");
    let chat = &r.body["paths"]["/sessions/{sid}/chats/{cid}"];
    assert!(chat["delete"]["responses"]["204"].is_object());
    assert!(chat["patch"]["responses"]["422"].is_object());
    assert!(r.body["paths"]["/sessions/{sid}/chats/{cid}/messages"]["get"].is_object());
    assert_eq!(
        r.body["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"],
        "JWT"
    );
}

#[test]
fn api_keys_and_unauthenticated_requests() {
    let env = Env::start("");
    let gw = &env.gw;
    let key = gw.org_with_key("acme", None);
    let unauthorized =
        |reason: &str, message: &str| err("unauthorized", message, json!({ "reason": reason }));

    // No credential: the dialect answers 401 in its envelope.
    let r = call(gw, "GET", "/api/v1/sessions", None, None);
    assert_eq!(
        (r.status, &r.body),
        (
            401,
            &err(
                "unauthorized",
                "send `Authorization: Bearer <token>` (a login JWT or an api key)",
                json!({})
            )
        )
    );
    // Unknown api key, unrecognised token, empty bearer.
    assert_eq!(
        v1(gw, "GET", "/sessions", "wa_0000000000000000000000", None),
        (
            401,
            unauthorized("unknown_api_key", "unknown or revoked api key")
        )
    );
    assert_eq!(
        v1(gw, "GET", "/sessions", "hello", None),
        (
            401,
            unauthorized(
                "unrecognized_token",
                "expected a login JWT or an api key (wa_...)"
            )
        )
    );
    // Other wagate credentials (an instance token here) are not api keys. Kinds the
    // unloaded dialects declare cannot even be minted on this gateway.
    let (_, instance_token) = gw.instance(&key, "not-a-key");
    assert!(instance_token.starts_with("wai_"));
    assert_eq!(v1(gw, "GET", "/sessions", &instance_token, None).0, 401);
    let (s, v) = gw.admin(
        "POST",
        "/admin/credentials",
        Some(json!({"org": "acme", "kind": "evolution-key"})),
    );
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown credential kind"),
        "{v}"
    );
    // A JWT while no JWKS is configured.
    assert_eq!(
        v1(gw, "GET", "/sessions", "a.b.c", None),
        (
            401,
            unauthorized("jwt_disabled", "login tokens are not accepted here")
        )
    );
    // The api key works; its capabilities never exceed read + send + manage.
    assert_eq!(v1(gw, "GET", "/sessions", &key, None).0, 200);
}

#[test]
fn default_mount_serves_sessions_v1_at_api_v1() {
    let gw = Gateway::start();
    let key = gw.org_with_key("acme", None);
    let (s, v) = v1(&gw, "GET", "/sessions", &key, None);
    assert_eq!((s, v), (200, json!({"data": [], "nextCursor": null})));
}

// ---- login JWTs ------------------------------------------------------------------

/// Serves `/jwks.json` (the current `body`) on loopback; counts requests.
struct JwksServer {
    addr: String,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    fn start(body: String) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let body = Arc::new(Mutex::new(body));
        let hits = Arc::new(AtomicUsize::new(0));
        let (b, h) = (body.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                let body = b.lock().unwrap().clone();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        JwksServer { addr, body, hits }
    }

    fn set(&self, body: String) {
        *self.body.lock().unwrap() = body;
    }
}

struct RsaKey {
    kid: String,
    private: rsa::RsaPrivateKey,
}

struct EcKey {
    kid: String,
    signing: p256::ecdsa::SigningKey,
}

impl RsaKey {
    fn new(kid: &str) -> RsaKey {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        RsaKey {
            kid: kid.into(),
            private,
        }
    }

    fn jwk(&self) -> Value {
        use rsa::traits::PublicKeyParts;
        let public = self.private.to_public_key();
        json!({
            "kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        })
    }

    fn sign(&self, header: Value, claims: &Value) -> String {
        use rsa::signature::{SignatureEncoding, Signer};
        let input = signing_input(&header, claims);
        let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(self.private.clone());
        let sig = key.sign(input.as_bytes()).to_vec();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn token(&self, claims: &Value) -> String {
        self.sign(
            json!({"alg": "RS256", "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }

    fn public_pem(&self) -> String {
        use rsa::pkcs8::EncodePublicKey;
        self.private
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
    }
}

impl EcKey {
    fn new(kid: &str) -> EcKey {
        EcKey {
            kid: kid.into(),
            signing: p256::ecdsa::SigningKey::random(&mut rsa::rand_core::OsRng),
        }
    }

    fn jwk(&self) -> Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        json!({
            "kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        })
    }

    fn token(&self, claims: &Value) -> String {
        use p256::ecdsa::signature::Signer;
        let input = signing_input(
            &json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
            claims,
        );
        let sig: p256::ecdsa::Signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn jwks(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

const ISS: &str = "https://login.example.test";
const AUD: &str = "wagate";

fn claims(org: &str, role: &str) -> Value {
    let t = now();
    json!({ "iss": ISS, "aud": AUD, "sub": "person-1", "org": org, "role": role, "iat": t, "nbf": t, "exp": t + 600 })
}

fn jwt_env(jwks_server: &JwksServer, allowed_host: &str) -> Env {
    jwt_env_with(jwks_server, allowed_host, "")
}

/// [`jwt_env`] with `extra` bearer config entries (`, key = value` each).
fn jwt_env_with(jwks_server: &JwksServer, allowed_host: &str, extra: &str) -> Env {
    Env::start(&format!(
        "http_out_hosts = [{allowed_host:?}]\nconfig = {{ jwks_url = \"http://{}/jwks.json\", issuer = {ISS:?}, audience = {AUD:?}, leeway_seconds = 30{extra} }}",
        jwks_server.addr
    ))
}

/// The org's id (JWT `org` claims carry the wagate org id).
fn org_id(gw: &Gateway, name: &str) -> String {
    let (s, v) = gw.admin("POST", "/admin/orgs", Some(json!({"name": name})));
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn jwt_rs256_and_es256_act_as_the_org_and_role() {
    let rsa_key = RsaKey::new("rsa-1");
    let ec_key = EcKey::new("ec-1");
    let server = JwksServer::start(jwks(&[rsa_key.jwk(), ec_key.jwk()]));
    let env = jwt_env(&server, &server.addr);
    let gw = &env.gw;
    let acme = org_id(gw, "acme");
    let w = world(gw, "acme", 2);

    let reused_before = crate::auth_reuse::reused(gw);
    for token in [
        rsa_key.token(&claims(&acme, "owner")),
        ec_key.token(&claims(&acme, "owner")),
    ] {
        for _ in 0..2 {
            let (s, v) = v1(
                gw,
                "GET",
                &format!("{}/messages", chat_path(&w)),
                &token,
                None,
            );
            assert_eq!(s, 200, "{v}");
            assert_eq!(v["data"].as_array().unwrap().len(), 2);
        }
    }
    // A JWT's allow comes from its signature and the clock, not a stored credential:
    // the host never reuses it (each request verifies the token again).
    assert_eq!(crate::auth_reuse::reused(gw), reused_before);
    // A role array is the union of its roles; the viewer role reads but cannot delete.
    let viewer = ec_key.token(&claims(&acme, "viewer"));
    assert_eq!(v1(gw, "GET", &chat_path(&w), &viewer, None).0, 200);
    assert_eq!(
        v1(gw, "DELETE", &chat_path(&w), &viewer, None),
        (403, forbidden("send"))
    );
    let mut c = claims(&acme, "viewer");
    c["role"] = json!(["viewer", "member"]);
    let (s, _) = v1(
        gw,
        "PATCH",
        &chat_path(&w),
        &rsa_key.token(&c),
        Some(json!({"archived": true})),
    );
    assert_eq!(s, 200);
    // An unknown role gets no capability at all.
    assert_eq!(
        v1(
            gw,
            "GET",
            &chat_path(&w),
            &rsa_key.token(&claims(&acme, "intern")),
            None
        ),
        (403, forbidden("read"))
    );
    // Another org's person sees nothing of acme.
    let globex = org_id(gw, "globex");
    let outsider = rsa_key.token(&claims(&globex, "owner"));
    assert_eq!(
        v1(gw, "GET", &chat_path(&w), &outsider, None),
        (404, session_nf())
    );
    assert_eq!(
        v1(gw, "GET", "/sessions", &outsider, None),
        (200, json!({"data": [], "nextCursor": null}))
    );
    // A person creates a session in their own org.
    let (s, v) = v1(
        gw,
        "POST",
        "/sessions",
        &rsa_key.token(&claims(&globex, "admin")),
        Some(json!({"name": "globex-1"})),
    );
    assert_eq!(
        (s, v["organization"].as_str()),
        (201, Some(globex.as_str())),
        "{v}"
    );
    // Api keys keep working next to JWTs, without a JWKS fetch.
    let before = server.hits.load(Ordering::SeqCst);
    assert_eq!(v1(gw, "GET", &chat_path(&w), &w.key, None).0, 200);
    assert_eq!(server.hits.load(Ordering::SeqCst), before);
}

#[test]
fn jwt_rejections() {
    let rsa_key = RsaKey::new("rsa-1");
    let ec_key = EcKey::new("ec-1");
    let server = JwksServer::start(jwks(&[rsa_key.jwk(), ec_key.jwk()]));
    let env = jwt_env(&server, &server.addr);
    let gw = &env.gw;
    let acme = org_id(gw, "acme");
    let denied = |token: &str| v1(gw, "GET", "/sessions", token, None);
    let unauthorized = |reason: &str, message: &str| {
        (
            401,
            err("unauthorized", message, json!({ "reason": reason })),
        )
    };
    let good = claims(&acme, "owner");
    assert_eq!(denied(&rsa_key.token(&good)).0, 200);

    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let t = now();
    // Expired, beyond the leeway; inside the leeway is fine.
    assert_eq!(
        denied(&rsa_key.token(&with("exp", json!(t - 120)))),
        unauthorized("expired", "token has expired")
    );
    assert_eq!(denied(&ec_key.token(&with("exp", json!(t - 5)))).0, 200);
    assert_eq!(
        denied(&ec_key.token(&with("nbf", json!(t + 600)))),
        unauthorized("not_yet_valid", "token is not valid yet")
    );
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        denied(&rsa_key.token(&no_exp)),
        unauthorized("malformed", "token has no `exp`")
    );
    // Wrong issuer / audience; an audience list containing ours is fine.
    assert_eq!(
        denied(&rsa_key.token(&with("iss", json!("https://evil.test")))),
        unauthorized("wrong_issuer", "token issuer is not accepted")
    );
    assert_eq!(
        denied(&rsa_key.token(&with("aud", json!("someone-else")))),
        unauthorized("wrong_audience", "token audience is not accepted")
    );
    assert_eq!(
        denied(&rsa_key.token(&with("aud", json!(["x", AUD])))).0,
        200
    );
    // Missing org claim.
    let mut no_org = good.clone();
    no_org.as_object_mut().unwrap().remove("org");
    assert_eq!(
        denied(&ec_key.token(&no_org)),
        unauthorized("missing_claim", "token has no `org` claim")
    );

    // Tampered payload (signature of the original).
    let token = rsa_key.token(&good);
    let parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(with("org", json!("another-org")).to_string());
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_eq!(
        denied(&tampered),
        unauthorized("bad_signature", "token signature does not verify")
    );
    // Flipped signature bits (RS256 and ES256).
    for token in [rsa_key.token(&good), ec_key.token(&good)] {
        let (head, sig) = token.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
        bytes[10] ^= 0x01;
        let bad = format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            denied(&bad),
            unauthorized("bad_signature", "token signature does not verify")
        );
    }
    // alg none (empty signature), and HS256 keyed with the RSA public key.
    let none = format!(
        "{}.",
        signing_input(&json!({"alg": "none", "typ": "JWT"}), &good)
    );
    assert_eq!(
        denied(&none),
        unauthorized(
            "unsupported_algorithm",
            "token algorithm none is not accepted (RS256 or ES256)"
        )
    );
    let none_kid = format!(
        "{}.",
        signing_input(&json!({"alg": "none", "kid": "rsa-1"}), &good)
    );
    assert_eq!(denied(&none_kid).0, 401);
    for secret in [
        rsa_key.public_pem().into_bytes(),
        rsa_key.jwk().to_string().into_bytes(),
    ] {
        use hmac::Mac;
        let input = signing_input(
            &json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}),
            &good,
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
        mac.update(input.as_bytes());
        let hs = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(
            denied(&hs),
            unauthorized(
                "unsupported_algorithm",
                "token algorithm HS256 is not accepted (RS256 or ES256)"
            )
        );
    }
    // An RS256 header on an ES256 key id finds no fitting key.
    let mixed = rsa_key.sign(json!({"alg": "RS256", "kid": "ec-1"}), &good);
    assert_eq!(
        denied(&mixed),
        unauthorized("unknown_key", "no signing key `ec-1` in the JWKS for RS256")
    );
    // Garbage in each part.
    assert_eq!(denied("eyJ.eyJ.x").0, 401);
    assert_eq!(
        denied("!!.!!.!!"),
        unauthorized("malformed", "token is not base64url JWS")
    );
}

#[test]
fn jwt_unknown_kid_then_key_rotation() {
    let old = RsaKey::new("2024-01");
    let new = RsaKey::new("2024-02");
    let server = JwksServer::start(jwks(&[old.jwk()]));
    // Refetches for unknown kids at most once a second here (a minute by default).
    let env = jwt_env_with(&server, &server.addr, ", jwks_refetch_seconds = 1");
    let gw = &env.gw;
    let acme = org_id(gw, "acme");
    let c = claims(&acme, "member");
    let hits = || server.hits.load(Ordering::SeqCst);

    assert_eq!(v1(gw, "GET", "/sessions", &old.token(&c), None).0, 200);
    assert_eq!(hits(), 1);
    // Signed with a key the JWKS does not list yet: one refetch, still unknown.
    assert_eq!(
        v1(gw, "GET", "/sessions", &new.token(&c), None),
        (
            401,
            err(
                "unauthorized",
                "no signing key `2024-02` in the JWKS for RS256",
                json!({"reason": "unknown_key"})
            )
        )
    );
    assert_eq!(hits(), 2);
    // The identity provider rotates: the new key is published, the old one retired.
    // Once the refetch interval has passed, the new kid makes the set be refetched.
    server.set(jwks(&[new.jwk()]));
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(v1(gw, "GET", "/sessions", &new.token(&c), None).0, 200);
    assert_eq!(hits(), 3);
    assert_eq!(v1(gw, "GET", "/sessions", &new.token(&c), None).0, 200);
    assert_eq!(hits(), 3, "the rotated set is served from the cache");
    assert_eq!(v1(gw, "GET", "/sessions", &old.token(&c), None).0, 401);
    // A token without kid is tried against every fitting key.
    let no_kid = new.sign(json!({"alg": "RS256"}), &c);
    assert_eq!(v1(gw, "GET", "/sessions", &no_kid, None).0, 200);
}

#[test]
fn jwks_is_cached_and_refetched_on_an_unknown_kid_at_most_once_a_minute() {
    let rsa_key = RsaKey::new("rsa-1");
    let ec_key = EcKey::new("ec-1");
    let server = JwksServer::start(jwks(&[rsa_key.jwk(), ec_key.jwk()]));
    // Default cache settings: fresh for 10 minutes, unknown-kid refetch once a minute.
    let env = jwt_env(&server, &server.addr);
    let gw = &env.gw;
    let acme = org_id(gw, "acme");
    let c = claims(&acme, "owner");
    let hits = || server.hits.load(Ordering::SeqCst);
    let unknown_key = |kid: &str| {
        (
            401,
            err(
                "unauthorized",
                &format!("no signing key `{kid}` in the JWKS for RS256"),
                json!({"reason": "unknown_key"}),
            ),
        )
    };

    assert_eq!(hits(), 0);
    const N: usize = 10;
    for i in 0..N {
        let token = if i % 2 == 0 {
            rsa_key.token(&c)
        } else {
            ec_key.token(&c)
        };
        assert_eq!(v1(gw, "GET", "/sessions", &token, None).0, 200);
    }
    assert_eq!(hits(), 1, "{N} JWT requests, one JWKS fetch");

    // An unknown kid: one refetch.
    let stranger = RsaKey::new("rsa-2");
    assert_eq!(
        v1(gw, "GET", "/sessions", &stranger.token(&c), None),
        unknown_key("rsa-2")
    );
    assert_eq!(hits(), 2);
    // Another unknown kid within the minute: no refetch.
    let other = RsaKey::new("rsa-3");
    assert_eq!(
        v1(gw, "GET", "/sessions", &other.token(&c), None),
        unknown_key("rsa-3")
    );
    assert_eq!(hits(), 2);
    // Even once published, a new kid waits for the minute to pass (no refetch storm).
    server.set(jwks(&[rsa_key.jwk(), ec_key.jwk(), other.jwk()]));
    assert_eq!(
        v1(gw, "GET", "/sessions", &other.token(&c), None),
        unknown_key("rsa-3")
    );
    assert_eq!(hits(), 2);
    // Known keys keep being served from the cache.
    assert_eq!(v1(gw, "GET", "/sessions", &rsa_key.token(&c), None).0, 200);
    assert_eq!(v1(gw, "GET", "/sessions", &ec_key.token(&c), None).0, 200);
    assert_eq!(hits(), 2);
}

#[test]
fn jwks_cached_set_is_kept_while_the_jwks_host_fails() {
    let key = EcKey::new("ec-1");
    let server = JwksServer::start(jwks(&[key.jwk()]));
    // Fresh for one second, then refreshed on the next JWT request.
    let env = jwt_env_with(&server, &server.addr, ", jwks_cache_seconds = 1");
    let gw = &env.gw;
    let acme = org_id(gw, "acme");
    let c = claims(&acme, "owner");
    let hits = || server.hits.load(Ordering::SeqCst);

    assert_eq!(v1(gw, "GET", "/sessions", &key.token(&c), None).0, 200);
    assert_eq!(hits(), 1);
    // The JWKS host breaks; once the set is stale, the refresh fails and the cached set
    // keeps verifying tokens.
    server.set("<html>maintenance</html>".into());
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(v1(gw, "GET", "/sessions", &key.token(&c), None).0, 200);
    assert_eq!(hits(), 2);
    // The failed refresh is not retried within the refetch interval (a minute).
    assert_eq!(v1(gw, "GET", "/sessions", &key.token(&c), None).0, 200);
    assert_eq!(hits(), 2);
}

#[test]
fn jwks_host_not_on_the_allowlist_is_denied_by_http_out() {
    let key = EcKey::new("ec-1");
    let server = JwksServer::start(jwks(&[key.jwk()]));
    // The operator allowed another host only.
    let env = jwt_env(&server, "127.0.0.1:1");
    let gw = &env.gw;
    let acme = org_id(gw, "acme");
    assert_eq!(
        v1(
            gw,
            "GET",
            "/sessions",
            &key.token(&claims(&acme, "owner")),
            None
        ),
        (
            401,
            err(
                "unauthorized",
                "login tokens cannot be verified right now",
                json!({"reason": "jwks_unavailable"})
            )
        )
    );
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "the JWKS host was never contacted"
    );
    let m = wagate::client::request(&gw.base, "GET", "/metrics", &[], None).unwrap();
    let text = String::from_utf8_lossy(&m.body).to_string();
    assert!(
        text.contains("wagate_plugin_http_out_denied_total{plugin=\"bearer\"} 1"),
        "{text}"
    );
}

// ---- events ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_render_in_the_v1_envelope() {
    use wagate::core::model::{ConnectionState, Event, EventPayload, Instance, Message};
    let dir = tempfile::tempdir().unwrap();
    let store = wagate::store::Store::open(&dir.path().join("data")).unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let link = Arc::new(wagate::whatsapp::sim::SimLink::new(
        tx,
        std::time::Duration::from_millis(5),
    ));
    let core = wagate::core::Core::new(store, link);
    core.start(rx).await.unwrap();
    let cfg: wagate::plugin::PluginsConfig =
        toml::from_str("bundled = [\"bearer\", \"sessions-v1\"]").unwrap();
    let host = wagate::plugin::PluginHost::load(&cfg, core, Path::new(&dir.path().join("cache")))
        .await
        .unwrap();

    let event = |payload| Event {
        id: "evt_01J9ZX".into(),
        instance_id: "01HFSESSION".into(),
        instance_name: "shop".into(),
        org: "org_1".into(),
        timestamp: 1719400000000,
        payload,
    };
    let render = async |ev: Event| -> Value {
        let body = host
            .render_event(
                "sessions-v1",
                &ev,
                wagate::plugin::RenderTarget::Webhook,
                None,
            )
            .await
            .unwrap()
            .expect("rendered");
        serde_json::from_slice(&body).unwrap()
    };
    let message = Message {
        id: "3EB0".into(),
        chat_jid: JID.into(),
        chat_jid_alt: None,
        from_me: false,
        sender: JID.into(),
        sender_alt: None,
        timestamp: 1719400000000,
        text: Some("Hello!".into()),
        media: None,
        revoked: false,
        deleted_for_me: false,
        truncated: false,
        reactions: Vec::new(),
        poll_votes: Vec::new(),
        content: None,
        origin: None,
        status: None,
    };
    assert_eq!(
        render(event(EventPayload::MessageUpsert(message.clone()))).await,
        json!({
            "schema": "v1", "id": "evt_01J9ZX", "event": "message", "session": "01HFSESSION",
            "organization": "org_1", "timestamp": 1719400000000u64,
            "payload": {
                "waMessageId": "3EB0", "chatJid": JID, "chatJidAlt": null, "senderJid": JID,
                "senderJidAlt": null, "fromMe": false,
                "type": "text", "body": "Hello!", "hasMedia": false, "timestamp": 1719400000000u64,
                "status": null
            }
        })
    );
    let v = render(event(EventPayload::MessageUpsert(Message {
        from_me: true,
        ..message.clone()
    })))
    .await;
    assert_eq!(v["event"], "message.from_me");
    let v = render(event(EventPayload::ConnectionUpdate(ConnectionState::Open))).await;
    assert_eq!(
        (v["event"].as_str(), &v["payload"]),
        (Some("session.status"), &json!({"status": "working"}))
    );
    let v = render(event(EventPayload::ChatDeleted(JID.into()))).await;
    assert_eq!(
        (v["event"].as_str(), &v["payload"]),
        (Some("chat.deleted"), &json!({"chatJid": JID}))
    );
    let v = render(event(EventPayload::QrUpdated("2@abc".into()))).await;
    assert_eq!(
        (v["event"].as_str(), &v["payload"]),
        (Some("auth.qr"), &json!({"code": "2@abc"}))
    );
    let inst = Instance {
        id: "01HFSESSION".into(),
        name: "shop".into(),
        org: "org_1".into(),
        state: ConnectionState::Disconnected,
        owner_jid: None,
        created_at: 1,
    };
    let v = render(event(EventPayload::InstanceDeleted(inst))).await;
    assert_eq!(
        (v["event"].as_str(), v["payload"]["id"].as_str()),
        (Some("session.deleted"), Some("01HFSESSION"))
    );
    let v = render(event(EventPayload::MessageRevoked(Message {
        revoked: true,
        text: None,
        ..message
    })))
    .await;
    assert_eq!(
        (v["event"].as_str(), v["payload"]["targetId"].as_str()),
        (Some("message.revoked"), Some("3EB0"))
    );
}

/// Issue 14, defects 4 and 6: every core error class answers one status in
/// sessions/v1's shape, and the right comes before the body and the session's state.
#[test]
fn core_errors_map_to_one_status_each() {
    let env = Env::start("");
    let gw = &env.gw;
    let key = gw.org_with_key("acme", None);
    let live = paired_session(gw, &key, "live");
    let (s, v) = v1(
        gw,
        "POST",
        "/sessions",
        &key,
        Some(json!({ "name": "idle" })),
    );
    assert_eq!(s, 201, "{v}");
    let idle = v["id"].as_str().unwrap().to_string();
    let read_only = gw.key("acme", Some(&["read"]));
    let text = json!({ "to": "6281234567890", "text": "hi" });

    // (case, token, method, path, body, status, code)
    let cases: Vec<Case> = vec![
        (
            "forbidden send, idle",
            &read_only,
            "POST",
            format!("/sessions/{idle}/messages"),
            Some(text.clone()),
            403,
            "forbidden",
        ),
        (
            "forbidden send, bad body",
            &read_only,
            "POST",
            format!("/sessions/{idle}/messages"),
            Some(json!({})),
            403,
            "forbidden",
        ),
        (
            "forbidden connect",
            &read_only,
            "POST",
            format!("/sessions/{idle}/connect"),
            None,
            403,
            "forbidden",
        ),
        (
            "forbidden connect, open",
            &read_only,
            "POST",
            format!("/sessions/{live}/connect"),
            None,
            403,
            "forbidden",
        ),
        (
            "invalid body",
            &key,
            "POST",
            format!("/sessions/{live}/messages"),
            Some(json!({})),
            422,
            "",
        ),
        (
            "unknown session",
            &key,
            "GET",
            "/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            None,
            404,
            "not_found",
        ),
        (
            "unknown message",
            &key,
            "DELETE",
            format!("/sessions/{live}/messages/NOPE"),
            None,
            404,
            "not_found",
        ),
        (
            "not connected",
            &key,
            "POST",
            format!("/sessions/{idle}/messages"),
            Some(text.clone()),
            409,
            "not_connected",
        ),
    ];
    for (case, token, method, path, body, status, code) in cases {
        let (s, v) = v1(gw, method, &path, token, body);
        assert_eq!(s, status, "{case}: {v}");
        assert!(v["error"]["message"].is_string(), "{case}: {v}");
        if !code.is_empty() {
            assert_eq!(v["error"]["code"], code, "{case}: {v}");
        }
    }
}

/// One row of a table-driven error test.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    String,
    Option<Value>,
    u16,
    &'a str,
);
