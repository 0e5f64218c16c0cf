//! Delivery receipts in Evolution's terms: the status names Baileys' `WAMessageStatus`
//! gets in Evolution (`status[update.status]`), and `MESSAGES_UPDATE`'s data as
//! `messages.update` builds it in whatsapp.baileys.service.ts.

use serde::Serialize;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::DeliveryStatus;

use crate::chat::key_of;

/// Evolution's name of a status (`{2: SERVER_ACK, 3: DELIVERY_ACK, 4: READ, 5: PLAYED}`).
pub(crate) fn status_name(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Sent => "SERVER_ACK",
        DeliveryStatus::Delivered => "DELIVERY_ACK",
        DeliveryStatus::Read => "READ",
        DeliveryStatus::Played => "PLAYED",
    }
}

/// `MESSAGES_UPDATE`'s data for a receipt. `messageId` is Evolution's row id of the
/// message; wagate's rows are keyed by the WhatsApp id, so it equals `keyId` (as
/// findMessages' `id` does).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Update {
    message_id: String,
    key_id: String,
    remote_jid: String,
    from_me: bool,
    participant: Option<String>,
    status: &'static str,
    instance_id: String,
}

/// The update a `message-status` event reports.
pub(crate) fn update(m: &Message, instance_id: &str) -> Update {
    Update {
        message_id: m.id.clone(),
        key_id: m.id.clone(),
        remote_jid: m.chat_jid.clone(),
        from_me: m.from_me,
        participant: key_of(m).participant,
        // A status event always carries one; `sent` is the least it can mean.
        status: status_name(m.status.unwrap_or(DeliveryStatus::Sent)),
        instance_id: instance_id.to_string(),
    }
}
