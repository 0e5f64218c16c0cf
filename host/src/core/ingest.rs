//! What the WhatsApp link reports on its own: pairing progress, state changes and
//! inbound messages, written to the store with their events.

use tokio::sync::mpsc::UnboundedReceiver;

use super::Core;
use super::lid_map;
use super::messages::store_message;
use super::model::{
    ConnectionState, CoreResult, EventPayload, Instance, InstanceRef, MediaInfo, Message,
};
use super::status::STATUS_CHAT;
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
        // Finishes the media removals a crash or an outage left in the journal.
        self.media_gc.spawn();
        // In cluster mode nothing runs here yet: the cluster coordinator resumes the
        // sessions whose leases this node takes.
        for record in self.all_instances()? {
            if self.link.runs_here(&record.instance.id) {
                self.resume_session(&record).await;
            }
        }
        // A weak handle: the link (owned by core) holds the sending side, so a strong
        // one would keep core, and with it the database, alive forever.
        let core = Arc::downgrade(self);
        tokio::spawn(run_ingest(core, events));
        Ok(())
    }

    /// Hands the link an instance's session settings and, when it was paired,
    /// reconnects it (at start; in cluster mode, when this node takes its lease).
    pub async fn resume_session(&self, record: &InstanceRecord) {
        // Before the session resumes: the first messages it receives follow it.
        if record.behaviour.sync_full_history {
            self.link.set_full_history(&record.instance.id, true);
        }
        if let Some(proxy) = crate::core::proxy::Proxy::active(record.proxy.as_ref()) {
            self.link.set_proxy(&record.instance.id, Some(proxy));
        }
        if record.media_download.is_some() {
            self.link
                .set_media_download(&record.instance.id, record.media_download.clone());
        }
        if let Some(owner) = &record.instance.owner_jid
            && let Err(e) = self.link.resume(&record.instance.id, owner).await
        {
            tracing::warn!(instance = %record.instance.name, error = %e, "resuming session");
        }
    }

    /// Ingests one event the link reported (the ingest loop calls it for each; tests
    /// drive it directly).
    pub async fn handle_link_event(self: &Arc<Self>, event: LinkEvent) -> CoreResult<()> {
        match event {
            LinkEvent::Connected {
                instance_id,
                owner_jid,
            } => {
                self.record_state(&instance_id, ConnectionState::Open, Some(Some(owner_jid)))
                    .await?;
                self.refresh_profile_later(&instance_id);
                // As Evolution's `alwaysOnline` (Baileys' mark-online-on-connect): only
                // an instance that asks for it shows online; the others stay quiet so
                // the phone keeps its notifications.
                if let Some(record) = self.record_by_id(&instance_id)?
                    && record.behaviour.always_online
                {
                    self.show_presence(&instance_id, true);
                }
                Ok(())
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
            } => self
                .ingest_message(&instance_id, *message)
                .await
                .map(|_| ()),
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
            LinkEvent::MediaDownloaded {
                instance_id,
                message_id,
                bytes,
                ..
            } => {
                let stored = self
                    .media_downloaded(&instance_id, &message_id, bytes)
                    .await;
                // Committed (or failed for good): deliveries waiting for it go on.
                self.pending_media.settled(&instance_id, &message_id);
                stored
            }
            LinkEvent::MediaFailed {
                instance_id,
                chat_jid,
                message_id,
                reason,
            } => {
                // The message keeps `stored: false`, which every read of it shows.
                tracing::warn!(instance = %instance_id, chat = %chat_jid, message = %message_id, %reason, "media download failed");
                self.pending_media.settled(&instance_id, &message_id);
                Ok(())
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
            LinkEvent::Edit {
                instance_id,
                message_id,
                text,
            } => self
                .ingest_edit(&instance_id, &message_id, text)
                .await
                .map(|_| ()),
            LinkEvent::Reaction {
                instance_id,
                reaction,
            } => self
                .ingest_reaction(&instance_id, reaction)
                .await
                .map(|_| ()),
            LinkEvent::PollVote { instance_id, vote } => {
                self.ingest_poll_vote(&instance_id, vote).await.map(|_| ())
            }
            LinkEvent::Presence {
                instance_id,
                update,
            } => self.ingest_presence(&instance_id, update).await,
            LinkEvent::Call { instance_id, call } => {
                self.ingest_call(&instance_id, call).await.map(|_| ())
            }
            LinkEvent::CallEnded { instance_id, call } => {
                self.ingest_call_end(&instance_id, call).await
            }
            LinkEvent::Group {
                instance_id,
                change,
            } => self.ingest_group_change(&instance_id, change).await,
            LinkEvent::LabelEdit { instance_id, edit } => {
                self.ingest_label_edit(&instance_id, edit).await
            }
            LinkEvent::LabelAssociation {
                instance_id,
                association,
            } => {
                self.ingest_label_association(&instance_id, association)
                    .await
            }
            LinkEvent::ContactSaved {
                instance_id,
                jid,
                name,
                lid,
                phone,
            } => {
                let pair = match (lid, phone) {
                    (Some(lid), Some(phone)) => super::lid_map::pair(&lid, &phone),
                    _ => None,
                };
                self.note_saved_contact(&instance_id, &jid, name, pair)
                    .await
            }
        }
    }

    pub(crate) fn instance_of(&self, id: &str) -> CoreResult<Option<Instance>> {
        self.instance_by_id(id)
    }

    fn instance_by_id(&self, id: &str) -> CoreResult<Option<Instance>> {
        Ok(self.record_by_id(id)?.map(|r| r.instance))
    }

    /// The stored record of the instance with this id, settings and all.
    pub(crate) fn record_by_id(&self, id: &str) -> CoreResult<Option<InstanceRecord>> {
        self.store.read(|tx| {
            let t = tx.open_table(tables::INSTANCES).map_err(internal)?;
            Ok(get_json::<_, InstanceRecord>(&t, id)?)
        })
    }

    /// Stores an inbound message (its media bytes first, when the link has them) with
    /// a `message-upsert` event. A message id already stored is a no-op, so
    /// re-delivery never duplicates.
    ///
    /// By the instance's settings, a group message is dropped (`Ok(None)`: neither
    /// stored nor reported) and a contact's message or status update is marked read.
    pub async fn ingest_message(
        self: &Arc<Self>,
        instance_id: &str,
        inbound: Inbound,
    ) -> CoreResult<Option<Message>> {
        let record = self.record_by_id(instance_id)?.ok_or_else(|| {
            super::authz::instance_not_found(&InstanceRef::Id(instance_id.into()))
        })?;
        let (instance, settings) = (record.instance, record.behaviour);
        // Contacts' status updates are stored in the `status@broadcast` chat, beside
        // this account's own posts (their author is the sender), and acknowledged when
        // the instance reads statuses.
        if inbound.chat_jid == STATUS_CHAT && settings.read_status && !inbound.from_me {
            self.auto_read(instance_id, STATUS_CHAT, &inbound.sender, &inbound.id);
        }
        // The status feed is no address a caller may send to, so `normalize` refuses
        // it; stored, it is a chat like any other.
        let chat_jid = if inbound.chat_jid == STATUS_CHAT {
            STATUS_CHAT.to_string()
        } else {
            super::jid::normalize(&inbound.chat_jid)?
        };
        if settings.ignore_groups && chat_jid.ends_with("@g.us") {
            return Ok(None);
        }
        let sender_alt = alt_of(inbound.sender_alt.as_deref());
        let chat_jid_alt = alt_of(inbound.chat_jid_alt.as_deref());
        // Who is behind a LID, as WhatsApp told us with the message; failing to keep
        // it loses no message.
        let pairs = learned_pairs([
            (inbound.sender.as_str(), sender_alt.as_deref()),
            (chat_jid.as_str(), chat_jid_alt.as_deref()),
        ]);
        if let Err(e) = self.learn_alts(instance_id, pairs).await {
            tracing::warn!(instance = %instance_id, error = %e, "recording a LID's phone number");
        }
        // Where WhatsApp addressed it (the stored chat may be its other half): the read
        // receipt goes back there.
        let wa_chat = chat_jid.clone();
        let (text, truncated) = super::messages::cap_text(inbound.text);
        let (media, bytes, downloading) = match inbound.media {
            Some(m) => (
                Some(MediaInfo {
                    stored: false,
                    ..m.info
                }),
                m.bytes,
                m.downloading,
            ),
            None => (None, None, false),
        };
        let message = Message {
            id: inbound.id,
            chat_jid,
            chat_jid_alt,
            from_me: inbound.from_me,
            sender: inbound.sender,
            sender_alt,
            timestamp: inbound.timestamp,
            text,
            media,
            revoked: false,
            deleted_for_me: false,
            origin: None,
            status: None,
            truncated,
            reactions: Vec::new(),
            poll_votes: Vec::new(),
            content: inbound.content,
        };
        let from = (!message.from_me).then(|| message.sender.clone());
        // Noted before the commit queues the upsert, so no delivery misses the wait.
        let message_id = message.id.clone();
        if downloading {
            self.pending_media.began(instance_id, &message_id);
        }
        let stored = self
            .commit_with_media(&instance, message, bytes, false)
            .await
            .inspect_err(|_| self.pending_media.settled(instance_id, &message_id))?;
        if let Some(secret) = inbound.poll_secret {
            self.keep_poll_secret(instance_id, &stored.id, secret)
                .await?;
        }
        if settings.read_messages && !stored.from_me {
            self.auto_read(instance_id, &wa_chat, &stored.sender, &stored.id);
        }
        // The sender becomes a contact (issue 16); failing that loses no message.
        if let Some(from) = from {
            let mut noted = self
                .note_contact(instance_id, &from, inbound.push_name)
                .await;
            // A verified business name says they are a business; its absence says
            // nothing (so it never clears the flag).
            if noted.is_ok() && inbound.sender_is_business {
                noted = self.note_business(instance_id, &from, true).await;
            }
            if let Err(e) = noted {
                tracing::warn!(instance = %instance_id, error = %e, "recording a contact");
            }
        }
        Ok(Some(stored))
    }

    /// Sends the read receipt for a message just stored, off the ingest path (a write
    /// to one session's socket must not hold up other instances' events); a failure
    /// costs only the receipt.
    fn auto_read(self: &Arc<Self>, instance_id: &str, chat: &str, sender: &str, id: &str) {
        let core = self.clone();
        let (instance_id, chat, sender) = (
            instance_id.to_string(),
            chat.to_string(),
            sender.to_string(),
        );
        let ids = [id.to_string()];
        tokio::spawn(async move {
            if let Err(e) = core
                .link
                .mark_read(&instance_id, &chat, &sender, &ids)
                .await
            {
                tracing::warn!(instance = %instance_id, message = %ids[0], error = %e, "auto-reading a message");
            }
        });
    }
}

/// The most messages one `history_sync` event carries.
pub const HISTORY_EVENT_BATCH: usize = 100;

impl Core {
    /// Stores a history-sync chunk in one commit with its `history_sync` events (a
    /// backfill, not new traffic: no `message_upsert`); ids already stored are
    /// skipped, and group messages when the instance ignores groups. Returns how many
    /// were new. History media arrives without bytes (`stored: false`); the link
    /// downloads it afterwards as it does live media ([`LinkEvent::MediaDownloaded`]).
    pub async fn ingest_history(
        &self,
        instance_id: &str,
        messages: Vec<Inbound>,
    ) -> CoreResult<usize> {
        let Some(record) = self.record_by_id(instance_id)? else {
            return Ok(0); // deleted while the chunk was decoded
        };
        let (instance, ignore_groups) = (record.instance, record.behaviour.ignore_groups);
        let mut stored = Vec::with_capacity(messages.len());
        let mut pairs = Vec::new();
        // Polls' secrets, kept with the polls for their votes.
        let mut secrets = Vec::new();
        for inbound in messages {
            let Ok(chat_jid) = super::jid::normalize(&inbound.chat_jid) else {
                tracing::debug!(instance = %instance_id, chat = %inbound.chat_jid, "history message of an odd chat skipped");
                continue;
            };
            if ignore_groups && chat_jid.ends_with("@g.us") {
                continue;
            }
            let chat_jid_alt = alt_of(inbound.chat_jid_alt.as_deref());
            pairs.extend(learned_pairs([(
                chat_jid.as_str(),
                chat_jid_alt.as_deref(),
            )]));
            let (text, truncated) = super::messages::cap_text(inbound.text);
            if let Some(secret) = inbound.poll_secret {
                secrets.push((inbound.id.clone(), secret));
            }
            stored.push(Message {
                id: inbound.id,
                chat_jid,
                chat_jid_alt,
                from_me: inbound.from_me,
                sender: inbound.sender,
                sender_alt: None,
                timestamp: inbound.timestamp,
                text,
                // Unstored until the link's background download brings the bytes.
                media: inbound.media.map(|m| MediaInfo {
                    stored: false,
                    ..m.info
                }),
                revoked: false,
                deleted_for_me: false,
                origin: None,
                status: None,
                truncated,
                reactions: Vec::new(),
                poll_votes: inbound.poll_votes,
                content: inbound.content,
            });
        }
        pairs.sort();
        pairs.dedup();
        // Failing to keep the pairs loses no message, as on the live path.
        if let Err(e) = self.learn_alts(instance_id, pairs).await {
            tracing::warn!(instance = %instance_id, error = %e, "recording LIDs' phone numbers");
        }
        // Each message joins the chat of either half of its address.
        self.store.read(|tx| -> CoreResult<()> {
            let chats = tx.open_table(tables::CHATS).map_err(internal)?;
            let mut alts = lid_map::Alts::open(tx, instance_id)?;
            for m in &mut stored {
                lid_map::place_message(&chats, &mut alts, instance_id, m)?;
            }
            Ok(())
        })?;
        self.store
            .write(move |tx| {
                // The chats this chunk creates (Evolution's `CHATS_SET`), known before
                // the messages create them.
                let mut new_chats: Vec<String> = Vec::new();
                {
                    use crate::store::kv::ReadableTable;
                    let chats = tx.open_table(tables::CHATS).map_err(internal)?;
                    for message in &stored {
                        let key = tables::chat_key(&instance.id, &message.chat_jid);
                        if !new_chats.contains(&message.chat_jid)
                            && chats.get(key.as_slice()).map_err(internal)?.is_none()
                        {
                            new_chats.push(message.chat_jid.clone());
                        }
                    }
                }
                let mut new = Vec::new();
                for message in &stored {
                    if store_message(tx, &instance.id, message)? {
                        new.push(message.clone());
                    }
                }
                let chats = tx.open_table(tables::CHATS).map_err(internal)?;
                let mut alts = lid_map::Alts::open(tx, &instance.id)?;
                let mut created = Vec::with_capacity(new_chats.len());
                for jid in &new_chats {
                    let key = tables::chat_key(&instance.id, jid);
                    if let Some(mut chat) =
                        get_json::<_, super::model::Chat>(&chats, key.as_slice())?
                    {
                        alts.fill_chat(&mut chat)?;
                        created.push(chat);
                    }
                }
                drop((chats, alts));
                for batch in created.chunks(HISTORY_EVENT_BATCH) {
                    outbox::append(
                        tx,
                        &outbox::event_for(&instance, EventPayload::HistoryChats(batch.to_vec())),
                    )?;
                }
                for (poll_id, secret) in &secrets {
                    super::polls::put_poll_secret(tx, &instance.id, poll_id, secret)?;
                }
                let count = new.len();
                // Reported in bounded batches, in the commit that stores them.
                let mut rest = new.into_iter().peekable();
                while rest.peek().is_some() {
                    let batch: Vec<Message> = rest.by_ref().take(HISTORY_EVENT_BATCH).collect();
                    outbox::append(
                        tx,
                        &outbox::event_for(&instance, EventPayload::HistorySync(batch)),
                    )?;
                }
                Ok(count)
            })
            .await
    }
}

/// A normalised alternate address, dropping one that is not a JID.
fn alt_of(alt: Option<&str>) -> Option<String> {
    alt.and_then(|a| super::jid::normalize(a).ok())
}

/// The LID <-> phone pairs among `(address, its alternate)`.
fn learned_pairs<'a>(
    addresses: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Vec<(String, String)> {
    addresses
        .into_iter()
        .filter_map(|(jid, alt)| lid_map::pair(jid, alt?))
        .collect()
}

async fn run_ingest(core: Weak<Core>, mut events: UnboundedReceiver<LinkEvent>) {
    while let Some(event) = events.recv().await {
        let Some(core) = core.upgrade() else { return };
        if let Err(e) = core.handle_link_event(event).await {
            tracing::warn!(error = %e, "ingesting a link event");
        }
    }
}
