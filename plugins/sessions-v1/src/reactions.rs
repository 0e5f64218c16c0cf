//! `PATCH /sessions/{sid}/messages/{mid} {text}` edits a text message this account
//! sent, within WhatsApp's 15 minutes (answers the message; `message.edited` event).
//!
//! `POST /sessions/{sid}/messages/{mid}/reaction {emoji}`: react to a stored message
//! (`""` takes this account's reaction off); answers `{message, reaction}`. Reactions
//! reach webhooks as `message.reaction` (`{waMessageId, chatJid, reactionId,
//! senderJid, fromMe, emoji, timestamp}`, `emoji` empty when taken off), and a
//! message's JSON lists its `reactions`.

use serde::Serialize;
use serde_json::{Map, Value, json};
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{Reaction as StoredReaction, ReactionUpdate};

use crate::api::{
    Cap, Within, body_object, checked, core_failure, invalid_fields, session_ref, sid,
};
use crate::render;

/// A reaction as the answer and a message's `reactions` show it (keys in sorted order,
/// as they have always been).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Reaction<'a> {
    emoji: &'a str,
    from_me: bool,
    id: &'a str,
    sender_jid: &'a str,
    timestamp: u64,
}

pub(crate) fn reaction(r: &StoredReaction) -> Reaction<'_> {
    Reaction {
        emoji: &r.emoji,
        from_me: r.from_me,
        id: &r.id,
        sender_jid: &r.sender,
        timestamp: r.timestamp,
    }
}

/// A message's reactions.
pub(crate) fn reactions(m: &Message) -> Vec<Reaction<'_>> {
    m.reactions.iter().map(reaction).collect()
}

/// The `message.reaction` event's payload.
pub(crate) fn event(u: &ReactionUpdate) -> Value {
    json!({
        "waMessageId": u.message.id,
        "chatJid": u.message.chat_jid,
        "reactionId": u.reaction.id,
        "senderJid": u.reaction.sender,
        "fromMe": u.reaction.from_me,
        "emoji": u.reaction.emoji,
        "timestamp": u.reaction.timestamp,
    })
}

/// `POST /sessions/{sid}/messages/{mid}/reaction`.
pub(crate) fn send(req: &Request, p: &Params) -> HttpResponse {
    let (sid, mid) = (sid(p), p.get("mid").unwrap_or_default());
    let invalid = |r: HttpResponse| checked(req, &sid, Cap::Send, Within::Message, r);
    let body = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let mut fields = Map::new();
    for k in body.keys().filter(|k| *k != "emoji") {
        fields.insert(k.clone(), json!("unknown field"));
    }
    let emoji = match body.get("emoji") {
        Some(Value::String(e)) => Some(e.clone()),
        Some(_) => {
            fields.insert("emoji".into(), json!("must be a string"));
            None
        }
        None => {
            fields.insert(
                "emoji".into(),
                json!("is required (\"\" removes the reaction)"),
            );
            None
        }
    };
    let (Some(emoji), true) = (emoji, fields.is_empty()) else {
        return invalid(invalid_fields(fields));
    };
    match core::send_reaction(&session_ref(&sid), mid, &emoji) {
        Ok(u) => json(
            200,
            &json!({ "message": render::message(&u.message), "reaction": reaction(&u.reaction) }),
        ),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Message),
    }
}

/// `PATCH /sessions/{sid}/messages/{mid}`.
pub(crate) fn edit(req: &Request, p: &Params) -> HttpResponse {
    let (sid, mid) = (sid(p), p.get("mid").unwrap_or_default());
    let invalid = |r: HttpResponse| checked(req, &sid, Cap::Send, Within::Message, r);
    let body = match body_object(req, false) {
        Ok(o) => o,
        Err(r) => return invalid(r),
    };
    let mut fields = Map::new();
    for k in body.keys().filter(|k| *k != "text") {
        fields.insert(k.clone(), json!("unknown field"));
    }
    let text = match body.get("text") {
        Some(Value::String(t)) if !t.trim().is_empty() => Some(t.clone()),
        _ => {
            fields.insert("text".into(), json!("must be a non-empty string"));
            None
        }
    };
    let (Some(text), true) = (text, fields.is_empty()) else {
        return invalid(invalid_fields(fields));
    };
    match core::edit_message(&session_ref(&sid), mid, &text) {
        Ok(m) => json(200, &render::message(&m)),
        Err(e) => core_failure(req, e, &sid, Cap::Send, Within::Message),
    }
}
