//! `POST /message/sendReaction/{instanceName}` (Evolution's `SendReactionDto`:
//! `{key: {remoteJid, fromMe, id}, reaction}`; `""` takes the reaction off), and
//! reactions as Evolution reports them: a message of its own, `messageType:
//! "reactionMessage"`, `message.reactionMessage: {key, text, senderTimestampMs}` (the
//! sendReaction answer, and `MESSAGES_UPSERT` for every reaction put on or taken off).

use serde::Serialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{Reaction, ReactionUpdate};

use crate::chat::{Key, key_of, strip_device};
use crate::input::{self, bad};
use crate::shape::Style;
use crate::util;
use crate::{Cap, Reply, core_error, guard};

/// A reaction as Baileys' `WAMessage` of type `reactionMessage`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReactionRaw {
    key: Key,
    push_name: Option<String>,
    status: &'static str,
    message: Value,
    context_info: Option<Value>,
    message_type: &'static str,
    message_timestamp: u64,
    instance_id: String,
    source: &'static str,
}

/// `u.reaction` as its own message, its `reactionMessage.key` naming `u.message`.
pub(crate) fn raw(u: &ReactionUpdate, instance_id: &str, status: &'static str) -> ReactionRaw {
    let r: &Reaction = &u.reaction;
    let group = u.message.chat_jid.ends_with("@g.us");
    ReactionRaw {
        key: Key {
            remote_jid: u.message.chat_jid.clone(),
            from_me: r.from_me,
            id: r.id.clone(),
            participant: (group && !r.from_me).then(|| r.sender.clone()),
            ..Key::default()
        },
        push_name: r.from_me.then(|| "Você".to_string()),
        status,
        message: json!({
            "reactionMessage": {
                "key": key_of(&u.message),
                "text": r.emoji,
                "senderTimestampMs": r.timestamp,
            }
        }),
        context_info: None,
        message_type: "reactionMessage",
        message_timestamp: r.timestamp / 1000,
        instance_id: instance_id.to_string(),
        source: util::source(&r.id),
    }
}

/// `POST /message/sendReaction/{instanceName}`. Evolution validates the DTO's shape
/// (`key.id`, `key.remoteJid`, `key.fromMe`, `reaction`); the message is found by
/// `key.id` (unknown: 404), and `key.remoteJid` must be its chat.
pub(crate) fn send(req: &Request, name: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Send)?;
    let body = input::body(req)?;
    let id = input::req_str(&body, "key.id")?;
    let remote = input::req_str(&body, "key.remoteJid")?;
    input::req_bool(&body, "key.fromMe")?;
    let reaction = match body.get("reaction") {
        Some(Value::String(r)) => r.clone(),
        None | Some(Value::Null) => return Err(bad("instance requires property \"reaction\"")),
        Some(_) => return Err(bad("reaction is not of a type(s) string")),
    };
    let remote = core::normalize_jid(&strip_device(&remote)).map_err(|e| core_error(&e))?;
    let which = InstanceRef::Id(instance.id.clone());
    let target = core::get_message(&which, &id).map_err(|e| core_error(&e))?;
    // Either address of a LID <-> phone pair names the chat.
    if target.chat_jid != remote && target.chat_jid_alt.as_ref() != Some(&remote) {
        return Err(bad(&format!(
            "message {id} is not in the chat {remote} (key.remoteJid)"
        )));
    }
    let update = core::send_reaction(&which, &id, &reaction).map_err(|e| core_error(&e))?;
    Ok(json(201, &raw(&update, &instance.id, "PENDING")))
}
