//! Edits of text messages. An edit replaces the stored text (the previous text is not
//! kept: a message shows what WhatsApp shows now) and is a `message-edited` event
//! carrying the message as edited; id and timestamp stay the original's.

use super::Core;
use super::messages::{MAX_TEXT_CHARS, load_message, message_not_found};
use super::model::{
    Capability, CoreError, CoreResult, EventPayload, Instance, InstanceRef, Message, Principal,
};
use crate::core::outbox;
use crate::store::{encode, internal, tables};
use crate::util::now_ms;

/// How long after sending WhatsApp lets its author edit a message.
pub const EDIT_WINDOW_MS: u64 = 15 * 60 * 1000;

impl Core {
    /// Replaces the text of a text message this account sent, within WhatsApp's
    /// window. `not-found` for an unknown id; `conflict` for someone else's message, a
    /// revoked one, one that is not plain text, or one past the window. Needs `send`.
    pub async fn edit_message(
        &self,
        p: &Principal,
        which: &InstanceRef,
        message_id: &str,
        text: &str,
    ) -> CoreResult<Message> {
        let record = self.authorize(p, which, Capability::Send)?;
        if text.trim().is_empty() {
            return Err(CoreError::Invalid("text must not be empty".into()));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(CoreError::Invalid(format!(
                "text is longer than {MAX_TEXT_CHARS} characters"
            )));
        }
        let instance = record.instance;
        let message = self
            .find_message(&instance.id, message_id)?
            .ok_or_else(message_not_found)?;
        if !message.from_me {
            return Err(CoreError::Conflict(
                "only messages sent by this account can be edited".into(),
            ));
        }
        if message.revoked {
            return Err(CoreError::Conflict(
                "a revoked message cannot be edited".into(),
            ));
        }
        if message.media.is_some() || message.content.is_some() {
            return Err(CoreError::Conflict(
                "only text messages can be edited".into(),
            ));
        }
        if now_ms().saturating_sub(message.timestamp) > EDIT_WINDOW_MS {
            return Err(CoreError::Conflict(
                "a message can be edited for 15 minutes after it was sent".into(),
            ));
        }
        self.link
            .edit_message(&instance.id, &message.chat_jid, &message.id, text)
            .await?;
        self.apply_edit(instance, message_id.to_string(), text.to_string())
            .await?
            .ok_or_else(message_not_found) // deleted while the edit was on its way
    }

    /// An edit the link reported (the account's own, from another device, or a
    /// contact's). An edit of a message the gateway never stored is dropped.
    pub async fn ingest_edit(
        &self,
        instance_id: &str,
        message_id: &str,
        text: String,
    ) -> CoreResult<Option<Message>> {
        let Some(instance) = self.instance_of(instance_id)? else {
            return Ok(None);
        };
        let (text, _) = super::messages::cap_text(Some(text));
        self.apply_edit(instance, message_id.to_string(), text.unwrap_or_default())
            .await
    }

    async fn apply_edit(
        &self,
        instance: Instance,
        message_id: String,
        text: String,
    ) -> CoreResult<Option<Message>> {
        self.store
            .write(move |tx| {
                let Some((key, mut message)) = load_message(tx, &instance.id, &message_id)? else {
                    return Ok(None);
                };
                message.text = Some(text.clone());
                tx.open_table(tables::MESSAGES)
                    .map_err(internal)?
                    .insert(key.as_slice(), encode(&message).as_slice())
                    .map_err(internal)?;
                outbox::append(
                    tx,
                    &outbox::event_for(&instance, EventPayload::MessageEdited(message.clone())),
                )?;
                Ok(Some(message))
            })
            .await
    }
}
