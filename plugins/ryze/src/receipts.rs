//! Delivery receipts in RyzeAPI's terms: the `status` a message shows and the
//! `message.status` event a receipt raises.
//!
//! `message.status` data: `{"type": "message_status", "id", "status", "message":
//! {id, fromMe, direction, chat: {jid, type}, timestamp}}`, `status` one of `sent`,
//! `delivered`, `read`, `played` (one event per message and step, in order).

use serde_json::{Value, json};
use wagate_plugin_sdk::types::{DeliveryStatus, Message};

use crate::util::{chat_type, display_jid, iso8601};

/// The status's name (`sent`, `delivered`, `read`, `played`).
pub(crate) fn status_name(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Read => "read",
        DeliveryStatus::Played => "played",
    }
}

/// A message's status as its JSON shows it: `null` until a receipt arrived.
pub(crate) fn status_json(m: &Message) -> Value {
    m.status.map_or(Value::Null, |s| json!(status_name(s)))
}

/// `data` of a `message.status` event.
pub(crate) fn status_event(m: &Message) -> Value {
    let status = status_json(m);
    json!({
        "type": "message_status",
        "id": m.id,
        "status": status,
        "message": {
            "id": m.id,
            "fromMe": m.from_me,
            "direction": if m.from_me { "outgoing" } else { "incoming" },
            "chat": { "jid": display_jid(&m.chat_jid), "type": chat_type(&m.chat_jid) },
            "timestamp": iso8601(m.timestamp),
        },
    })
}
