//! Read receipts and presence, to Evolution's DTOs and answers (all 201, as its
//! routers answer):
//!
//! - `POST /chat/markMessageAsRead {readMessages: [{id, fromMe, remoteJid}]}` ->
//!   `{message: "Read messages", read: "success"}`: read receipts for the stored
//!   messages named (own messages are skipped, as WhatsApp does; an id this instance
//!   did not store is 404).
//! - `POST /chat/markChatUnread {chat | lastMessage.key.remoteJid}` -> `{chatId,
//!   markedChatUnread: true}`.
//! - `POST /chat/sendPresence {number, presence, delay}`: `composing`, `recording`
//!   or `paused` in the chat (`available`/`unavailable` set the account's presence,
//!   as Baileys' `sendPresenceUpdate` does) -> `{presence}`. Evolution holds the
//!   request for `delay` ms and then sends `paused`; wagate answers at once and sends
//!   `paused` after `delay` (at most 60000 ms; more is 400).
//! - `POST /instance/setPresence {presence: available | unavailable}` -> `{presence}`.

use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::ChatPresence;

use crate::chat::strip_device;
use crate::input::{self, bad};
use crate::shape::Style;
use crate::{Cap, Reply, core_error, guard};

/// The longest `delay` wagate keeps a chat state up (core's cap).
const MAX_DELAY_MS: u64 = 60_000;

/// `POST /chat/markMessageAsRead/{instanceName}`.
pub(crate) fn mark_read(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let items = match body.get("readMessages") {
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        Some(Value::Array(_)) => {
            return Err(bad("readMessages does not meet minimum length of 1"));
        }
        None | Some(Value::Null) => {
            return Err(bad("instance requires property \"readMessages\""));
        }
        Some(_) => return Err(bad("readMessages is not of a type(s) array")),
    };
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let id = input::req_str(item, "id")
            .map_err(|_| bad(&format!("readMessages[{i}] requires property \"id\"")))?;
        input::req_str(item, "remoteJid").map_err(|_| {
            bad(&format!(
                "readMessages[{i}] requires property \"remoteJid\""
            ))
        })?;
        input::req_bool(item, "fromMe")
            .map_err(|_| bad(&format!("readMessages[{i}] requires property \"fromMe\"")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    core::mark_read(&InstanceRef::Id(instance.id), &ids).map_err(|e| core_error(&e))?;
    Ok(json(
        201,
        &json!({ "message": "Read messages", "read": "success" }),
    ))
}

/// `POST /chat/markChatUnread/{instanceName}`.
pub(crate) fn mark_unread(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let chat = match input::opt_str(&body, "lastMessage.key.remoteJid")? {
        Some(c) if !c.is_empty() => c,
        _ => match input::opt_str(&body, "chat")? {
            Some(c) if !c.is_empty() => c,
            _ => return Err(bad("Last message not found")),
        },
    };
    let jid = core::mark_chat_unread(&InstanceRef::Id(instance.id), &strip_device(&chat))
        .map_err(|e| core_error(&e))?;
    Ok(json(
        201,
        &json!({ "chatId": jid, "markedChatUnread": true }),
    ))
}

/// `POST /chat/sendPresence/{instanceName}`.
pub(crate) fn send_presence(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let number = input::req_str(&body, "number")?;
    let presence = input::req_str(&body, "presence")?;
    let delay = match body.get("delay") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(-1.0),
        None | Some(Value::Null) => return Err(bad("instance requires property \"delay\"")),
        Some(_) => return Err(bad("delay is not of a type(s) number")),
    };
    if !(0.0..=MAX_DELAY_MS as f64).contains(&delay) {
        return Err(bad(&format!(
            "delay must be between 0 and {MAX_DELAY_MS} milliseconds"
        )));
    }
    let which = InstanceRef::Id(instance.id);
    let state = match presence.as_str() {
        "composing" => ChatPresence::Composing,
        "recording" => ChatPresence::Recording,
        "paused" => ChatPresence::Paused,
        "available" | "unavailable" => {
            core::set_presence(&which, presence == "available").map_err(|e| core_error(&e))?;
            return Ok(json(201, &json!({ "presence": presence })));
        }
        _ => {
            return Err(bad(
                "presence is not one of enum values: unavailable,available,composing,recording,paused",
            ));
        }
    };
    core::send_chat_presence(&which, &strip_device(&number), state, delay as u32)
        .map_err(|e| core_error(&e))?;
    Ok(json(201, &json!({ "presence": presence })))
}

/// `POST /instance/setPresence/{instanceName}`.
pub(crate) fn set_presence(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let presence = input::req_str(&body, "presence")?;
    let available = match presence.as_str() {
        "available" => true,
        "unavailable" => false,
        _ => {
            return Err(bad(
                "presence is not one of enum values: unavailable,available",
            ));
        }
    };
    core::set_presence(&InstanceRef::Id(instance.id), available).map_err(|e| core_error(&e))?;
    Ok(json(201, &json!({ "presence": presence })))
}
