//! `POST /message/reaction/{instance} {messageId, emoji}`: react to a stored message
//! (`emoji: ""` takes the reaction off). RyzeAPI's catalog names no reaction route;
//! this one follows its send routes (`/message/{kind}/{instance}`, `token` header,
//! `{"success":true,...}`), documented in the OpenAPI document.
//!
//! Reactions reach webhooks as `message.exchange` with `data.type` `"reaction"`:
//! `data.message.content.reaction` is `{emoji, targetId}` (`emoji` empty when taken
//! off). A message's JSON lists its `reactions` (`[{sender, emoji, fromMe}]`).

use serde::Deserialize;
use serde_json::{Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::ReactionUpdate;

use crate::routes::{find_instance, require_connected, required, which};
use crate::util::{chat_type, display_jid, iso8601};
use crate::{core_fail, fail, ok};

/// The most characters a reaction may have (core's cap, answered in Ryze's words).
const MAX_EMOJI_CHARS: usize = 16;

#[derive(Deserialize)]
pub(crate) struct ReactionBody {
    #[serde(rename = "messageId")]
    message_id: Option<String>,
    emoji: Option<String>,
}

/// `POST /message/reaction/{instance}`.
pub(crate) fn send(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
    let which = which(params);
    let instance = find_instance(req, &which, Capabilities::SEND)?;
    let b: ReactionBody = req.body()?;
    let id = required(b.message_id, crate::msg::MESSAGE_ID_REQUIRED)?;
    let Some(emoji) = b.emoji else {
        return Err(fail(
            400,
            "Emoji is required (an empty one removes the reaction)",
        ));
    };
    if emoji.chars().count() > MAX_EMOJI_CHARS {
        return Err(fail(400, "Emoji must be a single emoji"));
    }
    require_connected(&instance)?;
    let u = core::send_reaction(&which, &id, &emoji).map_err(|e| match e {
        CoreError::Conflict(m) => fail(409, &crate::routes::sentence(&m)),
        other => core_fail(&other),
    })?;
    Ok(ok(
        200,
        json!({
            "success": true,
            "message": if emoji.is_empty() { "Reaction removed successfully" } else { "Reaction sent successfully" },
            "data": {
                "reactionId": u.reaction.id,
                "messageId": u.message.id,
                "emoji": u.reaction.emoji,
                "timestamp": iso8601(u.reaction.timestamp),
                "chat": { "jid": display_jid(&u.message.chat_jid), "type": chat_type(&u.message.chat_jid) },
            },
        }),
    ))
}

/// `data` of the `message.exchange` event a reaction raises.
pub(crate) fn exchange(u: &ReactionUpdate) -> Value {
    let r = &u.reaction;
    let m = &u.message;
    json!({
        "type": "reaction",
        "id": r.id,
        "message": {
            "id": r.id,
            "type": "reaction",
            "direction": if r.from_me { "outgoing" } else { "incoming" },
            "fromMe": r.from_me,
            "timestamp": iso8601(r.timestamp),
            "chat": { "jid": display_jid(&m.chat_jid), "type": chat_type(&m.chat_jid) },
            "sender": { "jid": display_jid(&r.sender) },
            "content": { "reaction": { "emoji": r.emoji, "targetId": m.id } },
        },
    })
}
