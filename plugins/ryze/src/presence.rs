//! Read receipts and presence. RyzeAPI's catalog names none of these routes; they
//! follow its chat and instance routes (`token` header, `{"success":true,...}`) and are
//! documented in the OpenAPI document:
//!
//! - `POST /chat/markRead/{instance} {messageIds}`: read receipts for stored messages
//!   (own ones skipped) -> `{success, message, count}`.
//! - `POST /chat/markUnread/{instance} {number}`: the chat marked unread ->
//!   `{success, message, chat_jid}`.
//! - `POST /chat/presence/{instance} {number, presence, delay?}`: `composing`,
//!   `recording` or `paused` in the chat; `paused` follows after `delay` ms (at most
//!   60000) -> `{success, message, presence}`.
//! - `POST /instance/presence/{instance} {presence}`: `available` or `unavailable`.

use serde::Deserialize;
use serde_json::json;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::ChatPresence;

use crate::routes::{find_instance, require_connected, required, which};
use crate::{core_fail, fail, msg, ok};

#[derive(Deserialize)]
pub(crate) struct MarkReadBody {
    #[serde(rename = "messageIds")]
    message_ids: Option<Vec<String>>,
}

/// `POST /chat/markRead/{instance}`.
pub(crate) fn mark_read(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: MarkReadBody = req.body()?;
    let ids = match b.message_ids {
        Some(ids) if !ids.is_empty() => ids,
        _ => return Err(fail(400, "messageIds is required")),
    };
    require_connected(&instance)?;
    let count = core::mark_read(&which, &ids).map_err(|e| core_fail(&e))?;
    Ok(ok(
        200,
        json!({ "success": true, "message": "Messages marked as read", "count": count }),
    ))
}

#[derive(Deserialize)]
pub(crate) struct NumberBody {
    number: Option<String>,
}

/// `POST /chat/markUnread/{instance}`.
pub(crate) fn mark_unread(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: NumberBody = req.body()?;
    let number = required(b.number, msg::NUMBER_REQUIRED)?;
    require_connected(&instance)?;
    let jid = core::mark_chat_unread(&which, &number).map_err(|e| core_fail(&e))?;
    Ok(ok(
        200,
        json!({ "success": true, "message": "Chat marked as unread", "chat_jid": jid }),
    ))
}

#[derive(Deserialize)]
pub(crate) struct ChatPresenceBody {
    number: Option<String>,
    presence: Option<String>,
    #[serde(default)]
    delay: u32,
}

/// `POST /chat/presence/{instance}`.
pub(crate) fn chat_presence(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: ChatPresenceBody = req.body()?;
    let number = required(b.number, msg::NUMBER_REQUIRED)?;
    let presence = match b.presence.as_deref() {
        Some("composing") => ChatPresence::Composing,
        Some("recording") => ChatPresence::Recording,
        Some("paused") => ChatPresence::Paused,
        _ => return Err(fail(400, "Presence must be composing, recording or paused")),
    };
    require_connected(&instance)?;
    core::send_chat_presence(&which, &number, presence, b.delay).map_err(|e| core_fail(&e))?;
    Ok(ok(
        200,
        json!({ "success": true, "message": "Presence sent", "presence": b.presence }),
    ))
}

#[derive(Deserialize)]
pub(crate) struct PresenceBody {
    presence: Option<String>,
}

/// `POST /instance/presence/{instance}`.
pub(crate) fn instance_presence(
    req: &Request,
    params: &Params,
) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: PresenceBody = req.body()?;
    let available = match b.presence.as_deref() {
        Some("available") => true,
        Some("unavailable") => false,
        _ => return Err(fail(400, "Presence must be available or unavailable")),
    };
    require_connected(&instance)?;
    core::set_presence(&which, available).map_err(|e| core_fail(&e))?;
    Ok(ok(
        200,
        json!({ "success": true, "message": "Presence set", "presence": b.presence }),
    ))
}
