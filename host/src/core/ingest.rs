//! What the WhatsApp link reports on its own: pairing progress, state changes and
//! inbound messages, written to the store with their events.

use std::path::Path;

use tokio::sync::mpsc::UnboundedReceiver;

use super::Core;
use super::messages::store_message;
use super::model::{
    ConnectionState, CoreError, CoreResult, EventPayload, Instance, InstanceRef, Message,
};
use crate::core::outbox;
use crate::core::records::InstanceRecord;
use crate::store::{get_json, internal, tables};
use crate::whatsapp::{Inbound, LinkEvent};
use std::sync::{Arc, Weak};

impl Core {
    /// Reconnects the sessions that were paired before a restart and starts consuming
    /// link events.
    pub async fn start(
        self: &Arc<Self>,
        events: UnboundedReceiver<LinkEvent>,
    ) -> anyhow::Result<()> {
        for record in self.all_instances()? {
            if let Some(owner) = &record.instance.owner_jid
                && let Err(e) = self.link.resume(&record.instance.id, owner).await
            {
                tracing::warn!(instance = %record.instance.name, error = %e, "resuming session");
            }
        }
        // A weak handle: the link (owned by core) holds the sending side, so a strong
        // one would keep core, and with it the database, alive forever.
        let core = Arc::downgrade(self);
        tokio::spawn(run_ingest(core, events));
        Ok(())
    }

    pub(crate) async fn handle_link_event(&self, event: LinkEvent) -> CoreResult<()> {
        match event {
            LinkEvent::Connected {
                instance_id,
                owner_jid,
            } => {
                self.record_state(&instance_id, ConnectionState::Open, Some(Some(owner_jid)))
                    .await
            }
            LinkEvent::Disconnected { instance_id } => {
                self.record_state(&instance_id, ConnectionState::Closed, None)
                    .await
            }
            LinkEvent::LoggedOut { instance_id } => {
                self.record_state(&instance_id, ConnectionState::Disconnected, Some(None))
                    .await
            }
            LinkEvent::Qr { instance_id, code } => {
                let Some(instance) = self.instance_by_id(&instance_id)? else {
                    return Ok(());
                };
                let event = outbox::event_for(&instance, EventPayload::QrUpdated(code));
                self.store
                    .write(move |tx| outbox::append(tx, &event).map(|_| ()))
                    .await
            }
            LinkEvent::Message {
                instance_id,
                message,
            } => self.ingest_message(&instance_id, message).await.map(|_| ()),
            LinkEvent::History {
                instance_id,
                messages,
            } => self
                .ingest_history(&instance_id, messages)
                .await
                .map(|_| ()),
            LinkEvent::Replaced { instance_id } => {
                tracing::warn!(instance = %instance_id, "session replaced by another client");
                self.record_state(&instance_id, ConnectionState::Closed, None)
                    .await
            }
            LinkEvent::Banned {
                instance_id,
                until_ms,
                reason,
            } => {
                tracing::warn!(instance = %instance_id, until_ms, %reason, "account temporarily banned by WhatsApp");
                self.record_state(&instance_id, ConnectionState::Closed, None)
                    .await
            }
            LinkEvent::PairingExpired { instance_id } => {
                self.record_state(&instance_id, ConnectionState::Disconnected, None)
                    .await
            }
            LinkEvent::Receipt {
                instance_id,
                message_ids,
                status,
                ..
            } => self
                .record_receipts(&instance_id, message_ids, status)
                .await
                .map(|_| ()),
        }
    }

    fn instance_by_id(&self, id: &str) -> CoreResult<Option<Instance>> {
        self.store.read(|tx| {
            let t = tx.open_table(tables::INSTANCES).map_err(internal)?;
            Ok(get_json::<_, InstanceRecord>(&t, id)?.map(|r| r.instance))
        })
    }

    /// Stores an inbound message (its media file first) with a `message-upsert` event.
    /// A message id already stored is a no-op, so re-delivery never duplicates.
    pub async fn ingest_message(&self, instance_id: &str, inbound: Inbound) -> CoreResult<Message> {
        let instance = self.instance_by_id(instance_id)?.ok_or_else(|| {
            super::authz::instance_not_found(&InstanceRef::Id(instance_id.into()))
        })?;
        let chat_jid = super::jid::normalize(&inbound.chat_jid)?;
        let media = match &inbound.media {
            Some((bytes, ext)) => Some(write_media(
                self.store.data_dir(),
                instance_id,
                &chat_jid,
                &inbound.id,
                ext,
                bytes,
            )?),
            None => None,
        };
        let message = Message {
            id: inbound.id,
            chat_jid,
            from_me: inbound.from_me,
            sender: inbound.sender,
            timestamp: inbound.timestamp,
            text: inbound.text,
            media: media.clone(),
            revoked: false,
            deleted_for_me: false,
            origin: None,
            status: None,
        };
        let stored = message.clone();
        let result = self
            .store
            .write(move |tx| {
                if store_message(tx, &instance.id, &stored)? {
                    outbox::append(
                        tx,
                        &outbox::event_for(&instance, EventPayload::MessageUpsert(stored.clone())),
                    )?;
                }
                Ok(())
            })
            .await;
        if result.is_err()
            && let Some(rel) = &media
        {
            let _ = std::fs::remove_file(self.store.data_dir().join(rel));
        }
        result.map(|_| message)
    }
}

impl Core {
    /// Stores a history-sync chunk in one commit, without events (a backfill, not new
    /// traffic); ids already stored are skipped. Returns how many were new. The whatsapp
    /// link does not download media, so history messages carry none.
    pub async fn ingest_history(
        &self,
        instance_id: &str,
        messages: Vec<Inbound>,
    ) -> CoreResult<usize> {
        let Some(instance) = self.instance_by_id(instance_id)? else {
            return Ok(0); // deleted while the chunk was decoded
        };
        let mut stored = Vec::with_capacity(messages.len());
        for inbound in messages {
            let Ok(chat_jid) = super::jid::normalize(&inbound.chat_jid) else {
                tracing::debug!(instance = %instance_id, chat = %inbound.chat_jid, "history message of an odd chat skipped");
                continue;
            };
            stored.push(Message {
                id: inbound.id,
                chat_jid,
                from_me: inbound.from_me,
                sender: inbound.sender,
                timestamp: inbound.timestamp,
                text: inbound.text,
                media: None,
                revoked: false,
                deleted_for_me: false,
                origin: None,
                status: None,
            });
        }
        self.store
            .write(move |tx| {
                let mut new = 0;
                for message in &stored {
                    if store_message(tx, &instance.id, message)? {
                        new += 1;
                    }
                }
                Ok(new)
            })
            .await
    }
}

async fn run_ingest(core: Weak<Core>, mut events: UnboundedReceiver<LinkEvent>) {
    while let Some(event) = events.recv().await {
        let Some(core) = core.upgrade() else { return };
        if let Err(e) = core.handle_link_event(event).await {
            tracing::warn!(error = %e, "ingesting a link event");
        }
    }
}

/// Writes a media file to `media/<instance>/<chat>/<message>.<ext>` (relative path
/// returned). Every component is validated: ids and JIDs come from the network.
fn write_media(
    data_dir: &Path,
    instance_id: &str,
    chat_jid: &str,
    message_id: &str,
    ext: &str,
    bytes: &[u8],
) -> CoreResult<String> {
    let safe = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'-' | b'_'))
            && !s.starts_with('.')
    };
    let ext_ok =
        !ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric());
    if !(safe(instance_id) && safe(chat_jid) && safe(message_id) && ext_ok) {
        return Err(CoreError::Invalid(
            "media has an unsafe id or extension".into(),
        ));
    }
    let dir = format!("{}/{chat_jid}", super::instances::media_dir(instance_id));
    let rel = format!("{dir}/{message_id}.{ext}");
    std::fs::create_dir_all(data_dir.join(&dir)).map_err(internal)?;
    std::fs::write(data_dir.join(&rel), bytes).map_err(internal)?;
    Ok(rel)
}
