//! Delivery receipts: how far a message got (sent, delivered, read, played), stored
//! on the message and reported as a `message-status` event per message and step.

use super::Core;
use super::messages::load_message;
use super::model::{CoreError, CoreResult, DeliveryStatus, EventPayload};
use crate::core::outbox;
use crate::store::{encode, internal, tables};

impl Core {
    /// Raises the stored status of `message_ids` to `status` (never lowers it), in one
    /// commit with a `message-status` event for each message it raised; ids the gateway
    /// never stored are skipped. Returns how many changed.
    ///
    /// Looked up by id alone, not by the receipt's chat: a receipt may name the chat by
    /// LID where the message was stored under the phone JID, and ids are random.
    pub async fn record_receipts(
        &self,
        instance_id: &str,
        message_ids: Vec<String>,
        status: DeliveryStatus,
    ) -> CoreResult<usize> {
        // Most receipts change nothing (repeats, group members after the first, a late
        // `delivery` after `read`): check on a read transaction and spare the commit.
        let any_raised = message_ids.iter().try_fold(false, |any, id| {
            Ok::<_, CoreError>(
                any || self
                    .find_message(instance_id, id)?
                    .is_some_and(|m| m.status.is_none_or(|s| s < status)),
            )
        })?;
        if !any_raised {
            return Ok(0);
        }
        let Some(instance) = self.instance_of(instance_id)? else {
            return Ok(0); // deleted while the receipt was on its way
        };
        self.store
            .write(move |tx| {
                let mut changed = 0;
                for id in &message_ids {
                    let Some((key, mut message)) = load_message(tx, &instance.id, id)? else {
                        continue;
                    };
                    if message.status.is_some_and(|s| s >= status) {
                        continue;
                    }
                    message.status = Some(status);
                    tx.open_table(tables::MESSAGES)
                        .map_err(internal)?
                        .insert(key.as_slice(), encode(&message).as_slice())
                        .map_err(internal)?;
                    outbox::append(
                        tx,
                        &outbox::event_for(&instance, EventPayload::MessageStatus(message)),
                    )?;
                    changed += 1;
                }
                Ok(changed)
            })
            .await
    }
}
