//! Read receipts and presence:
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | /sessions/{sid}/chats/{cid}/read | `{messageIds: [...]}` (1-256) | `{marked}` (own messages are skipped) |
//! | POST | /sessions/{sid}/chats/{cid}/unread | none | 204 |
//! | POST | /sessions/{sid}/chats/{cid}/presence | `{state: composing\|recording\|paused, delayMs?}` | 204; `paused` follows after `delayMs` (at most 60000) |
//! | PUT | /sessions/{sid}/presence | `{available: bool}` | `{available}` |
//!
//! All need `send`. The message ids of `read` may be of any chat of the session (a
//! receipt goes to each message's own sender).

use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::ChatPresence;

use crate::api::{
    Cap, Within, body_object, checked, core_failure, invalid_fields, session_ref, sid,
};
use crate::render;

/// A presence state's v1 name.
pub(crate) fn state_name(p: wagate_plugin_sdk::types::PresenceState) -> &'static str {
    use wagate_plugin_sdk::types::PresenceState as P;
    match p {
        P::Available => "available",
        P::Unavailable => "unavailable",
        P::Composing => "composing",
        P::Recording => "recording",
        P::Paused => "paused",
    }
}

/// Reject fields outside `allowed` (into `fields`).
fn unknown(obj: &Map<String, Value>, allowed: &[&str], fields: &mut Map<String, Value>) {
    for k in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        fields.insert(k.clone(), json!("unknown field"));
    }
}

/// `POST /sessions/{sid}/chats/{cid}/read`.
pub(crate) fn read(req: &Request, p: &Params) -> HttpResponse {
    let (sid, cid) = (sid(p), p.get("cid").unwrap_or_default());
    let invalid = |r: HttpResponse| checked(req, &sid, Cap::Send, Within::Chat(cid), r);
    let body = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let mut fields = Map::new();
    unknown(&body, &["messageIds"], &mut fields);
    let ids: Option<Vec<String>> = match body.get("messageIds") {
        Some(Value::Array(items)) if (1..=256).contains(&items.len()) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => None,
    };
    if ids.is_none() {
        fields.insert(
            "messageIds".into(),
            json!("must be a list of 1 to 256 message ids"),
        );
    }
    let (Some(ids), true) = (ids, fields.is_empty()) else {
        return invalid(invalid_fields(fields));
    };
    let which = session_ref(&sid);
    // The chat must be one the session stored, as on every chat route.
    if let Err(e) = core::get_chat(&which, cid) {
        return core_failure(req, e, &sid, Cap::Send, Within::Chat(cid));
    }
    match core::mark_read(&which, &ids) {
        Ok(n) => json(200, &json!({ "marked": n })),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Message),
    }
}

/// `POST /sessions/{sid}/chats/{cid}/unread`.
pub(crate) fn unread(req: &Request, p: &Params) -> HttpResponse {
    let (sid, cid) = (sid(p), p.get("cid").unwrap_or_default());
    match core::mark_chat_unread(&session_ref(&sid), cid) {
        Ok(_) => render::no_content(),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Chat(cid)),
    }
}

/// `POST /sessions/{sid}/chats/{cid}/presence`.
pub(crate) fn chat_presence(req: &Request, p: &Params) -> HttpResponse {
    let (sid, cid) = (sid(p), p.get("cid").unwrap_or_default());
    let invalid = |r: HttpResponse| checked(req, &sid, Cap::Send, Within::Chat(cid), r);
    let body = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let mut fields = Map::new();
    unknown(&body, &["state", "delayMs"], &mut fields);
    let state = match body.get("state").and_then(Value::as_str) {
        Some("composing") => Some(ChatPresence::Composing),
        Some("recording") => Some(ChatPresence::Recording),
        Some("paused") => Some(ChatPresence::Paused),
        _ => {
            fields.insert(
                "state".into(),
                json!("must be composing, recording or paused"),
            );
            None
        }
    };
    let delay = match body.get("delayMs") {
        None | Some(Value::Null) => Some(0),
        Some(v) => match v.as_u64() {
            Some(ms) if ms <= 60_000 => Some(ms as u32),
            _ => {
                fields.insert("delayMs".into(), json!("must be 0 to 60000"));
                None
            }
        },
    };
    let (Some(state), Some(delay), true) = (state, delay, fields.is_empty()) else {
        return invalid(invalid_fields(fields));
    };
    let which = session_ref(&sid);
    if let Err(e) = core::get_chat(&which, cid) {
        return core_failure(req, e, &sid, Cap::Send, Within::Chat(cid));
    }
    match core::send_chat_presence(&which, cid, state, delay) {
        Ok(_) => render::no_content(),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Chat(cid)),
    }
}

/// `PUT /sessions/{sid}/presence`.
pub(crate) fn set_presence(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    let invalid = |r: HttpResponse| checked(req, &sid, Cap::Send, Within::Session, r);
    let body = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let mut fields = Map::new();
    unknown(&body, &["available"], &mut fields);
    let available = body.get("available").and_then(Value::as_bool);
    if available.is_none() {
        fields.insert("available".into(), json!("must be a boolean"));
    }
    let (Some(available), true) = (available, fields.is_empty()) else {
        return invalid(invalid_fields(fields));
    };
    match core::set_presence(&session_ref(&sid), available) {
        Ok(()) => json(200, &json!({ "available": available })),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Session),
    }
}
