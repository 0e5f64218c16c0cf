//! Reactions: sending one (or taking it off) and putting a contact's on the message it
//! names. A message keeps the latest reaction of each account; every change is a
//! `message-reaction` event carrying the message and the reaction.

use super::Core;
use super::messages::{load_message, message_not_found};
use super::model::{
    Capability, CoreError, CoreResult, EventPayload, Instance, InstanceRef, Principal, Reaction,
    ReactionUpdate,
};
use crate::core::outbox;
use crate::store::{encode, internal, tables};
use crate::whatsapp::{InboundReaction, MessageRef};

/// The most characters a reaction may have: one emoji, however composed (a family
/// with skin tones is about a dozen code points), not a text.
pub const MAX_EMOJI_CHARS: usize = 16;

impl Core {
    /// Reacts to the stored message `message_id` with `emoji`, or takes this account's
    /// reaction off with an empty one. Needs `send`.
    pub async fn send_reaction(
        &self,
        p: &Principal,
        which: &InstanceRef,
        message_id: &str,
        emoji: &str,
    ) -> CoreResult<ReactionUpdate> {
        let record = self.authorize(p, which, Capability::Send)?;
        if message_id.is_empty() {
            return Err(CoreError::Invalid("a message id is required".into()));
        }
        if emoji.chars().count() > MAX_EMOJI_CHARS || emoji.chars().any(char::is_whitespace) {
            return Err(CoreError::Invalid(
                "a reaction is one emoji (empty to remove it), not a text".into(),
            ));
        }
        let instance = record.instance;
        let target = self
            .find_message(&instance.id, message_id)?
            .ok_or_else(message_not_found)?;
        if target.revoked {
            return Err(CoreError::Conflict(
                "a revoked message cannot be reacted to".into(),
            ));
        }
        let sent = self
            .link
            .send_reaction(
                &instance.id,
                &MessageRef {
                    chat: &target.chat_jid,
                    id: &target.id,
                    from_me: target.from_me,
                    sender: &target.sender,
                },
                emoji,
            )
            .await?;
        let reaction = Reaction {
            id: sent.id,
            sender: instance.owner_jid.clone().unwrap_or_default(),
            emoji: emoji.to_string(),
            from_me: true,
            timestamp: sent.timestamp,
        };
        self.apply_reaction(instance, message_id.to_string(), reaction)
            .await?
            .ok_or_else(message_not_found) // deleted while the reaction was on its way
    }

    /// Puts a reaction the link reported on the message it names. A reaction to a
    /// message the gateway never stored is dropped (logged): there is nothing to put
    /// it on, and WhatsApp sends no copy of the message with it.
    pub async fn ingest_reaction(
        &self,
        instance_id: &str,
        inbound: InboundReaction,
    ) -> CoreResult<Option<ReactionUpdate>> {
        let Some(instance) = self.instance_of(instance_id)? else {
            return Ok(None);
        };
        let reaction = Reaction {
            id: inbound.id,
            sender: inbound.sender,
            emoji: inbound.emoji,
            from_me: inbound.from_me,
            timestamp: inbound.timestamp,
        };
        let update = self
            .apply_reaction(instance, inbound.target_id.clone(), reaction)
            .await?;
        if update.is_none() {
            tracing::debug!(instance = %instance_id, chat = %inbound.chat_jid, message = %inbound.target_id, "reaction to a message not stored");
        }
        Ok(update)
    }

    /// Replaces the sender's reaction on the message (drops it when `emoji` is empty)
    /// and queues the event, in one commit. `None` when the message is not stored.
    async fn apply_reaction(
        &self,
        instance: Instance,
        message_id: String,
        reaction: Reaction,
    ) -> CoreResult<Option<ReactionUpdate>> {
        self.store
            .write(move |tx| {
                let Some((key, mut message)) = load_message(tx, &instance.id, &message_id)? else {
                    return Ok(None);
                };
                message.reactions.retain(|r| r.sender != reaction.sender);
                if !reaction.emoji.is_empty() {
                    message.reactions.push(reaction.clone());
                }
                tx.open_table(tables::MESSAGES)
                    .map_err(internal)?
                    .insert(key.as_slice(), encode(&message).as_slice())
                    .map_err(internal)?;
                let update = ReactionUpdate {
                    message,
                    reaction: reaction.clone(),
                };
                outbox::append(
                    tx,
                    &outbox::event_for(&instance, EventPayload::MessageReaction(update.clone())),
                )?;
                Ok(Some(update))
            })
            .await
    }
}
