//! Read receipts and presence: marking messages read (the receipts go to their
//! senders), marking a chat unread, "typing..."/"recording..." in a chat, and the
//! account's own online state. Nothing here is stored: each is an action on the link.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::Core;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal};
use crate::whatsapp::{ChatPresence, PresenceUpdate};

/// The most messages one mark-read call may name.
pub const MAX_READ_IDS: usize = 256;
/// The longest a chat state may be shown before the gateway sends `paused`.
pub const MAX_PRESENCE_DELAY_MS: u32 = 60_000;

impl Core {
    /// Sends read receipts for stored messages of contacts (this account's own are
    /// skipped: there is nothing to acknowledge). Returns how many were marked.
    /// `not-found` names the first id this instance did not store. Needs `send`.
    pub async fn mark_read(
        &self,
        p: &Principal,
        which: &InstanceRef,
        message_ids: &[String],
    ) -> CoreResult<u32> {
        let record = self.authorize(p, which, Capability::Send)?;
        if message_ids.is_empty() || message_ids.len() > MAX_READ_IDS {
            return Err(CoreError::Invalid(format!(
                "name between 1 and {MAX_READ_IDS} messages"
            )));
        }
        let instance = record.instance;
        // One receipt per chat and sender, as WhatsApp addresses them.
        let mut batches: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for id in message_ids {
            let message = self.find_message(&instance.id, id)?.ok_or_else(|| {
                CoreError::NotFound(
                    super::model::Resource::Message,
                    format!("message {id} not found"),
                )
            })?;
            if !message.from_me {
                batches
                    .entry((message.chat_jid, message.sender))
                    .or_default()
                    .push(message.id);
            }
        }
        let mut marked = 0;
        for ((chat, sender), ids) in batches {
            self.link
                .mark_read(&instance.id, &chat, &sender, &ids)
                .await?;
            marked += ids.len() as u32;
        }
        Ok(marked)
    }

    /// Marks a chat unread on the account's devices. `not-found` for a chat the gateway
    /// has not stored. Needs `send`.
    pub async fn mark_chat_unread(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
    ) -> CoreResult<String> {
        let record = self.authorize(p, which, Capability::Send)?;
        let chat = self.get_chat(p, which, chat).await?;
        self.link
            .mark_chat_unread(&record.instance.id, &chat.jid)
            .await?;
        Ok(chat.jid)
    }

    /// Shows `presence` in the chat with `to` (a number or JID); with a `delay_ms`, the
    /// gateway sends `paused` that long after (at most a minute), as Evolution's
    /// sendPresence does, without holding the caller. Needs `send`.
    pub async fn send_chat_presence(
        self: &Arc<Self>,
        p: &Principal,
        which: &InstanceRef,
        to: &str,
        presence: ChatPresence,
        delay_ms: u32,
    ) -> CoreResult<String> {
        let record = self.authorize(p, which, Capability::Send)?;
        let chat = super::jid::normalize(to)?;
        if delay_ms > MAX_PRESENCE_DELAY_MS {
            return Err(CoreError::Invalid(format!(
                "delay must be at most {MAX_PRESENCE_DELAY_MS} ms"
            )));
        }
        let id = record.instance.id;
        // As Evolution does before a chat state: ask for the contact's presence too, so
        // their "typing..." and online state come back as `presence_update` events.
        if !chat.ends_with("@g.us")
            && let Err(e) = self.link.subscribe_presence(&id, &chat).await
        {
            tracing::debug!(instance = %id, error = %e, "subscribing to a presence");
        }
        self.link.send_chat_presence(&id, &chat, presence).await?;
        if delay_ms > 0 && presence != ChatPresence::Paused {
            let core = Arc::downgrade(self);
            let chat = chat.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(u64::from(delay_ms))).await;
                let Some(core) = core.upgrade() else { return };
                if let Err(e) = core
                    .link
                    .send_chat_presence(&id, &chat, ChatPresence::Paused)
                    .await
                {
                    tracing::debug!(instance = %id, error = %e, "ending a chat state");
                }
            });
        }
        Ok(chat)
    }

    /// Asks WhatsApp for a contact's presence updates (online, last seen, typing),
    /// reported as `presence_update` events while the session lasts. Answers their
    /// JID. Needs `send`.
    pub async fn subscribe_presence(
        &self,
        p: &Principal,
        which: &InstanceRef,
        who: &str,
    ) -> CoreResult<String> {
        let record = self.authorize(p, which, Capability::Send)?;
        let jid = super::jid::normalize(who)?;
        if jid.ends_with("@g.us") {
            return Err(CoreError::Invalid(
                "presence is a person's: name a contact, not a group".into(),
            ));
        }
        self.link
            .subscribe_presence(&record.instance.id, &jid)
            .await?;
        Ok(jid)
    }

    /// Reports a contact's presence change as a `presence_update` event (a group's
    /// chat states are dropped when the instance ignores groups).
    pub async fn ingest_presence(
        &self,
        instance_id: &str,
        update: PresenceUpdate,
    ) -> CoreResult<()> {
        let Some(record) = self.record_by_id(instance_id)? else {
            return Ok(());
        };
        if record.behaviour.ignore_groups
            && update.chat.as_deref().is_some_and(|c| c.ends_with("@g.us"))
        {
            return Ok(());
        }
        let event = super::outbox::event_for(
            &record.instance,
            super::model::EventPayload::PresenceUpdate(update),
        );
        self.store
            .write(move |tx| super::outbox::append(tx, &event).map(|_| ()))
            .await
    }

    /// Sets the account available (online) or unavailable. Needs `send`.
    pub async fn set_presence(
        &self,
        p: &Principal,
        which: &InstanceRef,
        available: bool,
    ) -> CoreResult<()> {
        let record = self.authorize(p, which, Capability::Send)?;
        Ok(self
            .link
            .set_presence(&record.instance.id, available)
            .await?)
    }
}
