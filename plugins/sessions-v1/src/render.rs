//! The sessions/v1 wire shapes: sessions, chats, messages, pages and errors.

use serde::Serialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::ConnectInfo;

use crate::reactions::Reaction;

/// `{"error":{"code","message","details"}}` with `status`.
pub(crate) fn error(status: u16, code: &str, message: &str, details: Value) -> HttpResponse {
    json(
        status,
        &json!({ "error": { "code": code, "message": message, "details": details } }),
    )
}

/// 404 `not_found` with `message` (`session not found`, `chat not found`, ...).
pub(crate) fn not_found(message: &str) -> HttpResponse {
    error(404, "not_found", message, json!({}))
}

/// 403 `forbidden`: the caller lacks `capability`.
pub(crate) fn forbidden(capability: &str) -> HttpResponse {
    error(
        403,
        "forbidden",
        &format!("this operation requires the `{capability}` capability"),
        json!({ "capability": capability }),
    )
}

/// 422 `validation_error`; `fields` maps a field to what is wrong with it.
pub(crate) fn validation(message: &str, fields: Value) -> HttpResponse {
    let details = if fields.as_object().is_some_and(|f| !f.is_empty()) {
        json!({ "fields": fields })
    } else {
        json!({})
    };
    error(422, "validation_error", message, details)
}

/// 401 `unauthorized`.
pub(crate) fn unauthorized() -> HttpResponse {
    error(
        401,
        "unauthorized",
        "send `Authorization: Bearer <token>` (a login JWT or an api key)",
        json!({}),
    )
}

/// 204 with no body.
pub(crate) fn no_content() -> HttpResponse {
    HttpResponse {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// The sessions/v1 status of a connection state.
pub(crate) fn status(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Disconnected => "stopped",
        ConnectionState::Connecting => "scan_qr_code",
        ConnectionState::Open => "working",
        ConnectionState::Closed => "failed",
    }
}

pub(crate) fn session(i: &Instance) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "organization": i.org,
        "status": status(i.state),
        "phoneJid": i.owner_jid,
        "createdAt": i.created_at,
    })
}

pub(crate) fn connect_info(c: &ConnectInfo) -> Value {
    json!({ "status": status(c.state), "qr": c.qr, "pairCode": c.pair_code })
}

pub(crate) fn chat(c: &Chat) -> Value {
    json!({
        "id": c.jid,
        "name": c.name,
        "type": if c.jid.ends_with("@g.us") { "group" } else { "direct" },
        "archived": c.archived,
        "pinned": c.pinned,
        "mutedUntil": c.muted_until,
        "lastActivityAt": c.last_activity,
    })
}

pub(crate) fn message(m: &Message) -> MessageView<'_> {
    let structured = m.content.as_ref().map(wagate_plugin_sdk::content_json);
    let kind = if m.revoked {
        "revoked"
    } else if let Some((kind, _)) = &structured {
        kind
    } else if m.media.is_some() {
        "media"
    } else {
        "text"
    };
    MessageView {
        chat_id: &m.chat_jid,
        chat_id_alt: &m.chat_jid_alt,
        content: structured.map(|(_, v)| v),
        from_me: m.from_me,
        has_media: m.media.is_some(),
        id: &m.id,
        media: m.media.as_ref().map(|i| MediaView {
            available: i.stored,
            filename: &i.file_name,
            kind: crate::media::kind_name(i.kind),
            mimetype: &i.mimetype,
            sha256: &i.sha256,
            size: i.size,
        }),
        // A poll shows its tally: `[{option, votes, voters}]`.
        poll_results: wagate_plugin_sdk::poll_results_json(m),
        reactions: crate::reactions::reactions(m),
        revoked: m.revoked,
        sender: &m.sender,
        sender_alt: &m.sender_alt,
        status: delivery_status(m),
        text: &m.text,
        timestamp: m.timestamp,
        kind,
    }
}

/// A message as sessions/v1 shows it, serialised straight from the stored record: a
/// page of them is the dialect's hottest answer, so no intermediate JSON tree is built.
/// Fields in the order their keys sort (the order the answer has always had).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageView<'a> {
    chat_id: &'a str,
    chat_id_alt: &'a Option<String>,
    content: Option<Value>,
    from_me: bool,
    has_media: bool,
    id: &'a str,
    media: Option<MediaView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    poll_results: Option<Value>,
    reactions: Vec<Reaction<'a>>,
    revoked: bool,
    sender: &'a str,
    sender_alt: &'a Option<String>,
    status: Option<&'static str>,
    text: &'a Option<String>,
    timestamp: u64,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Serialize)]
pub(crate) struct MediaView<'a> {
    available: bool,
    filename: &'a Option<String>,
    kind: &'static str,
    mimetype: &'a str,
    sha256: &'a str,
    size: u64,
}

/// How far a message got, by its receipts: `sent`, `delivered`, `read`, `played`, or
/// `null` while none arrived.
pub(crate) fn delivery_status(m: &Message) -> Option<&'static str> {
    use wagate_plugin_sdk::types::DeliveryStatus as S;
    m.status.map(|s| match s {
        S::Sent => "sent",
        S::Delivered => "delivered",
        S::Read => "read",
        S::Played => "played",
    })
}

/// The list envelope: `{"data":[...],"nextCursor":...}` (`null` at the end).
pub(crate) fn page<T: Serialize>(data: Vec<T>, next_cursor: Option<String>) -> Page<T> {
    Page { data, next_cursor }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page<T> {
    data: Vec<T>,
    next_cursor: Option<String>,
}
