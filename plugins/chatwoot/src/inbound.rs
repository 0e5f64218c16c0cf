//! Chatwoot -> WhatsApp: Chatwoot's webhook (`POST /chatwoot/webhook/{instance}`)
//! parsed into what to do, and done.
//!
//! | Chatwoot event | action |
//! |---|---|
//! | `message_created`, outgoing, not private, from an agent, not one we posted | send on WhatsApp |
//! | `message_updated` with `content_attributes.deleted` | revoke the WhatsApp message |
//! | `conversation_status_changed` to `resolved` | forget the cached conversation (nothing is sent) |
//! | anything else | nothing |
//!
//! "Not one we posted": its `source_id` starts with `WAID:` (the sync's own posts, e.g.
//! messages sent from the phone) or its id is already mapped.

use serde_json::{Value, json};

use crate::env::Kv;
use crate::keys;
use crate::settings::Settings;

/// What a webhook asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Send {
        /// Chatwoot message id.
        message: u64,
        conversation: u64,
        content: String,
        /// Who wrote it (for `signMsg`).
        agent: Option<String>,
        /// The contact's JID or `+number` from the payload, used when the conversation
        /// is not one the sync opened.
        contact: Option<String>,
    },
    Revoke {
        message: u64,
    },
    Resolved {
        conversation: u64,
    },
    Ignore(&'static str),
}

/// Reads a webhook body; `Err` when it is not a JSON object.
pub(crate) fn parse(body: &[u8]) -> Result<Action, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    if !v.is_object() {
        return Err("the body is not a JSON object".into());
    }
    let event = v.get("event").and_then(Value::as_str).unwrap_or("");
    let conversation = v
        .pointer("/conversation/id")
        .or_else(|| v.get("conversation_id"))
        .and_then(Value::as_u64);
    Ok(match event {
        "message_created" => created(&v, conversation),
        "message_updated" => {
            let deleted = v
                .pointer("/content_attributes/deleted")
                .and_then(Value::as_bool)
                == Some(true);
            match (deleted, v.get("id").and_then(Value::as_u64)) {
                (true, Some(message)) => Action::Revoke { message },
                (true, None) => Action::Ignore("deleted message without an id"),
                _ => Action::Ignore("message update other than a delete"),
            }
        }
        "conversation_status_changed" | "conversation_resolved" => {
            // The conversation itself is the payload here.
            let status = v.get("status").and_then(Value::as_str);
            match (status, v.get("id").and_then(Value::as_u64)) {
                (Some("resolved"), Some(conversation)) => Action::Resolved { conversation },
                _ => Action::Ignore("conversation status other than resolved"),
            }
        }
        _ => Action::Ignore("event not synced"),
    })
}

fn created(v: &Value, conversation: Option<u64>) -> Action {
    // Chatwoot sends the enum's name; accept its integer too (1 = outgoing).
    let outgoing = match v.get("message_type") {
        Some(Value::String(s)) => s == "outgoing",
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    };
    if !outgoing {
        return Action::Ignore("not an outgoing message");
    }
    if v.get("private").and_then(Value::as_bool) == Some(true) {
        return Action::Ignore("private note");
    }
    let sender_type = v.pointer("/sender/type").and_then(Value::as_str);
    if !matches!(sender_type, Some("user") | Some("agent_bot")) {
        return Action::Ignore("not written by an agent");
    }
    if v.get("source_id")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("WAID:"))
    {
        return Action::Ignore("posted by the sync");
    }
    let content = v
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    if content.is_empty() {
        return Action::Ignore("no text (attachments are not sent)");
    }
    let (Some(message), Some(conversation)) = (v.get("id").and_then(Value::as_u64), conversation)
    else {
        return Action::Ignore("message without id or conversation");
    };
    let agent = v
        .pointer("/sender/available_name")
        .or_else(|| v.pointer("/sender/name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let meta = |k: &str| {
        v.pointer(&format!("/conversation/meta/sender/{k}"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let contact = meta("identifier")
        .filter(|i| i.contains('@'))
        .or_else(|| meta("phone_number"));
    Action::Send {
        message,
        conversation,
        content: content.to_string(),
        agent,
        contact,
    }
}

/// WhatsApp, as the webhook's caller (the instance-bound inbound credential).
pub(crate) trait Wa {
    /// Send `text` to `to` (a JID or number); the new message's id.
    fn send_text(&self, to: &str, text: &str) -> Result<String, WaError>;
    /// Revoke a message for everyone.
    fn revoke(&self, id: &str) -> Result<(), WaError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WaError {
    /// Already revoked.
    Conflict,
    NotFound,
    /// Refused for a reason on the caller's side (the instance is not connected, the
    /// text is too long, ...): answered with this 4xx status.
    Refused(u16, String),
    /// The gateway failed.
    Other(String),
}

/// Answer to Chatwoot: status and a small JSON body.
pub(crate) type Answer = (u16, Value);

fn ok(action: &str) -> Answer {
    (200, json!({ "status": "ok", "action": action }))
}

fn ignored(why: &str) -> Answer {
    (200, json!({ "status": "ignored", "reason": why }))
}

fn failed(status: u16, why: &str) -> Answer {
    (status, json!({ "status": "error", "reason": why }))
}

/// Does what `action` asks.
pub(crate) fn execute(action: Action, settings: &Settings, kv: &dyn Kv, wa: &dyn Wa) -> Answer {
    match run(action, settings, kv, wa) {
        Ok(a) => a,
        Err(e) => failed(500, &format!("plugin storage: {e}")),
    }
}

fn run(action: Action, settings: &Settings, kv: &dyn Kv, wa: &dyn Wa) -> Result<Answer, String> {
    match action {
        Action::Ignore(why) => Ok(ignored(why)),
        Action::Send {
            message,
            conversation,
            content,
            agent,
            contact,
        } => {
            let mark = keys::cw(message);
            if kv.get(&mark)?.is_some() {
                return Ok(ignored("already sent"));
            }
            let chat = kv
                .get_json(&keys::conv(conversation))?
                .and_then(|c| c.get("jid").and_then(Value::as_str).map(str::to_string));
            let Some(to) = chat.or(contact.map(|c| c.trim_start_matches('+').to_string())) else {
                return Ok(failed(
                    422,
                    "the conversation's contact has no WhatsApp number",
                ));
            };
            // Claimed before sending, so a repeated webhook cannot send twice.
            kv.set_json(&mark, &json!({ "sending": true }))?;
            let text = settings.sign(agent.as_deref(), &content);
            match wa.send_text(&to, &text) {
                Ok(wa_id) => {
                    kv.set_json(&mark, &json!({ "wa": wa_id, "conversation": conversation }))?;
                    kv.set_json(
                        &keys::wa(&wa_id),
                        &json!({ "conversation": conversation, "message": message }),
                    )?;
                    Ok((
                        200,
                        json!({ "status": "ok", "action": "sent", "id": wa_id }),
                    ))
                }
                Err(e) => {
                    // Not sent: release the claim so Chatwoot's retry (or a resend) works.
                    kv.delete(&mark)?;
                    let (status, why) = match e {
                        WaError::Refused(status, m) => (status, m),
                        WaError::Other(m) => (502, m),
                        WaError::NotFound => (502, "the contact is not reachable".into()),
                        WaError::Conflict => (502, "refused by the gateway".into()),
                    };
                    Ok(failed(status, &format!("not sent on WhatsApp: {why}")))
                }
            }
        }
        Action::Revoke { message } => {
            let Some(wa_id) = kv
                .get_json(&keys::cw(message))?
                .and_then(|m| m.get("wa").and_then(Value::as_str).map(str::to_string))
            else {
                return Ok(ignored("message not synced"));
            };
            // Tell the sink the Chatwoot side is already deleted, so the revoke event
            // this causes does not DELETE it again.
            let key = keys::wa(&wa_id);
            if let Some(mut mapping) = kv.get_json(&key)? {
                mapping["deleted"] = Value::Bool(true);
                kv.set_json(&key, &mapping)?;
            }
            match wa.revoke(&wa_id) {
                Ok(()) => Ok(ok("revoked")),
                Err(WaError::Conflict) | Err(WaError::NotFound) => Ok(ok("already revoked")),
                Err(WaError::Refused(status, m)) => {
                    Ok(failed(status, &format!("not revoked: {m}")))
                }
                Err(WaError::Other(m)) => Ok(failed(502, &format!("not revoked: {m}"))),
            }
        }
        Action::Resolved { conversation } => {
            // With reopenConversation off the next message opens a new conversation, so
            // the cached one is forgotten; with it on, Chatwoot reopens this one.
            if !settings.reopen_conversation
                && let Some(c) = kv.get_json(&keys::conv(conversation))?
            {
                if let Some(chat) = c.get("chat").and_then(Value::as_str) {
                    kv.delete(chat)?;
                }
                kv.delete(&keys::conv(conversation))?;
            }
            Ok(ok("nothing sent"))
        }
    }
}
