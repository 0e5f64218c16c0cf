//! Poll votes in Evolution's terms. Baileys hands Evolution a vote as a
//! `messages.update` with `pollUpdates`, which Evolution folds with
//! `getAggregateVotesInPollMessage` into `[{name, voters}]`: every option of the
//! poll, in order, with the JIDs whose latest vote selects it. wagate reports each
//! vote as `MESSAGES_UPDATE` with that tally (the update's other fields as
//! receipts.rs writes them), and a findMessages record of a poll lists the same
//! update in its `MessageUpdate`, as Evolution's row would.

use serde::Serialize;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::DeliveryStatus;

use crate::chat::key_of;

/// One option and its voters (`getAggregateVotesInPollMessage`'s element).
#[derive(Serialize)]
pub(crate) struct OptionVotes {
    name: String,
    voters: Vec<String>,
}

/// `MESSAGES_UPDATE`'s data for a vote, and a poll's `MessageUpdate` entry.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PollUpdate {
    message_id: String,
    key_id: String,
    remote_jid: String,
    from_me: bool,
    participant: Option<String>,
    status: &'static str,
    poll_updates: Vec<OptionVotes>,
    instance_id: String,
}

/// The poll's tally as an update; `None` for a message that is not a poll or has no
/// votes yet.
pub(crate) fn update(m: &Message, instance_id: &str) -> Option<PollUpdate> {
    if m.poll_votes.is_empty() {
        return None;
    }
    let tally = wagate_plugin_sdk::poll_tally(m);
    if tally.is_empty() {
        return None;
    }
    Some(PollUpdate {
        message_id: m.id.clone(),
        key_id: m.id.clone(),
        remote_jid: m.chat_jid.clone(),
        from_me: m.from_me,
        participant: key_of(m).participant,
        status: crate::receipts::status_name(m.status.unwrap_or(if m.from_me {
            DeliveryStatus::Sent
        } else {
            DeliveryStatus::Delivered
        })),
        poll_updates: tally
            .into_iter()
            .map(|(name, voters)| OptionVotes { name, voters })
            .collect(),
        instance_id: instance_id.to_string(),
    })
}
