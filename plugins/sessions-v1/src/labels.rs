//! Chat labels (WhatsApp Business labels the phone syncs):
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | /sessions/{sid}/labels | the list envelope of Labels `{id, name, color, predefinedId}` (`read`) |
//! | GET | /sessions/{sid}/chats/{cid}/labels | the labels on one chat, the same envelope (`read`) |
//! | PUT | /sessions/{sid}/chats/{cid}/labels/{labelId} | puts the label on the chat: `{labelId, chatJid, labeled, timestamp}` (`send`) |
//! | DELETE | /sessions/{sid}/chats/{cid}/labels/{labelId} | takes it off: 204 (`send`) |
//!
//! A label the session does not have is `not_found` (`label not found`); a `cid` that
//! is no JID is `not_found` (`chat not found`). Changes go to the account's devices
//! and are reported as `label.association` events; the phone's label edits as
//! `label.edit`.

use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{Label, LabelAssociation};

use crate::api::{Cap, Within, core_failure, session_ref, sid};
use crate::render::{self, not_found};

/// A label as the routes and `label.edit` show it.
pub(crate) fn label(l: &Label) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "color": l.color,
        "predefinedId": l.predefined_id,
    })
}

/// `label.edit`'s payload: the label, `deleted` when the phone deleted it.
pub(crate) fn edit_event(l: &Label) -> Value {
    let mut v = label(l);
    v["deleted"] = json!(l.deleted);
    v
}

/// `label.association`'s payload, and what `PUT` answers.
pub(crate) fn association(a: &LabelAssociation) -> Value {
    json!({
        "labelId": a.label_id,
        "chatJid": a.chat_jid,
        "labeled": a.labeled,
        "timestamp": a.timestamp,
    })
}

/// A core error of a label route, in sessions/v1 words.
fn failure(req: &Request, e: CoreError, sid: &str, cid: Option<&str>, cap: Cap) -> HttpResponse {
    match e {
        CoreError::NotFound(m) if m.kind == ResourceKind::Label => not_found("label not found"),
        CoreError::Invalid(_) if cid.is_some_and(|c| core::normalize_jid(c).is_err()) => {
            crate::api::checked(req, sid, cap, Within::Session, not_found("chat not found"))
        }
        e => core_failure(req, e, sid, cap, Within::Session),
    }
}

/// `GET /sessions/{sid}/labels`.
pub(crate) fn list(req: &Request, p: &Params) -> HttpResponse {
    let sid = sid(p);
    match core::list_labels(&session_ref(&sid)) {
        Ok(labels) => json(200, &render::page(labels.iter().map(label).collect(), None)),
        Err(e) => failure(req, e, &sid, None, Cap::Read),
    }
}

/// `GET /sessions/{sid}/chats/{cid}/labels`.
pub(crate) fn of_chat(req: &Request, p: &Params) -> HttpResponse {
    let (sid, cid) = (sid(p), p.get("cid").unwrap_or_default());
    match core::chat_labels(&session_ref(&sid), cid) {
        Ok(labels) => json(200, &render::page(labels.iter().map(label).collect(), None)),
        Err(e) => failure(req, e, &sid, Some(cid), Cap::Read),
    }
}

/// `PUT /sessions/{sid}/chats/{cid}/labels/{labelId}`.
pub(crate) fn put(req: &Request, p: &Params) -> HttpResponse {
    set(req, p, true)
}

/// `DELETE /sessions/{sid}/chats/{cid}/labels/{labelId}`.
pub(crate) fn delete(req: &Request, p: &Params) -> HttpResponse {
    set(req, p, false)
}

fn set(req: &Request, p: &Params, labeled: bool) -> HttpResponse {
    let (sid, cid) = (sid(p), p.get("cid").unwrap_or_default());
    let label_id = p.get("labelId").unwrap_or_default();
    match core::label_chat(&session_ref(&sid), cid, label_id, labeled) {
        Ok(done) if labeled => json(200, &association(&done)),
        Ok(_) => render::no_content(),
        Err(e) => failure(req, e, &sid, Some(cid), Cap::Send),
    }
}

/// The four operations and the `Label` schema, into the OpenAPI document.
pub(crate) fn add_openapi(doc: &mut Value) {
    use crate::openapi::{cid, error_response, ok, op, page_of, sid};
    let label_id = json!({ "name": "labelId", "in": "path", "required": true, "description": "The label's id.", "schema": { "type": "string" } });
    doc["components"]["schemas"]["Label"] = json!({
        "type": "object", "required": ["id", "name", "color", "predefinedId"],
        "properties": {
            "id": { "type": "string" }, "name": { "type": "string" },
            "color": { "type": "integer", "description": "WhatsApp's colour index (0-19)" },
            "predefinedId": { "type": ["string", "null"] }
        }
    });
    let forbidden = |cap: &str| {
        error_response(&format!(
            "`forbidden`: the caller lacks the `{cap}` capability"
        ))
    };
    let list = op(
        "listLabels",
        "The session's chat labels",
        "WhatsApp Business labels, as the phone syncs them. Requires `read`.",
        vec![sid()],
        json!({
            "200": ok("The labels", page_of("Label")),
            "403": forbidden("read"),
            "404": error_response("`not_found`: no such session"),
        }),
    );
    let of_chat = op(
        "listChatLabels",
        "The labels on one chat",
        "Requires `read`.",
        vec![sid(), cid()],
        json!({
            "200": ok("The chat's labels", page_of("Label")),
            "403": forbidden("read"),
            "404": error_response("`not_found`: no such session, or the chat id is no JID"),
        }),
    );
    let put = op(
        "putChatLabel",
        "Put a label on a chat",
        "On the account's devices (app state). Requires `send`.",
        vec![sid(), cid(), label_id.clone()],
        json!({
            "200": ok("The label is on the chat", json!({
                "type": "object", "required": ["labelId", "chatJid", "labeled", "timestamp"],
                "properties": {
                    "labelId": { "type": "string" }, "chatJid": { "type": "string" },
                    "labeled": { "type": "boolean" }, "timestamp": { "type": "integer" }
                }
            })),
            "403": forbidden("send"),
            "404": error_response("`not_found`: no such session or label, or the chat id is no JID"),
            "409": error_response("`not_connected`: the session is not connected"),
            "422": error_response("`validation_error`: the label id is empty or longer than 64 characters"),
        }),
    );
    let delete = op(
        "deleteChatLabel",
        "Take a label off a chat",
        "On the account's devices (app state). Requires `send`.",
        vec![sid(), cid(), label_id],
        json!({
            "204": { "description": "The label is off the chat" },
            "403": forbidden("send"),
            "404": error_response("`not_found`: no such session or label, or the chat id is no JID"),
            "409": error_response("`not_connected`: the session is not connected"),
            "422": error_response("`validation_error`: the label id is empty or longer than 64 characters"),
        }),
    );
    doc["paths"]["/sessions/{sid}/labels"] = json!({ "get": list });
    doc["paths"]["/sessions/{sid}/chats/{cid}/labels"] = json!({ "get": of_chat });
    doc["paths"]["/sessions/{sid}/chats/{cid}/labels/{labelId}"] =
        json!({ "put": put, "delete": delete });
}
