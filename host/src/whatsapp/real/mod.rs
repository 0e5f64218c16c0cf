//! The real WhatsApp link: whatsapp-rust sessions, one per instance, whose keys live in
//! the gateway's own redb file.
//!
//! - [`session`]: one instance's client, its supervisor (connect, reconnect with
//!   backoff, stop) and the bridge from the library's events to [`LinkEvent`]s.
//! - [`backoff`]: the reconnect delays (exponential, jittered, capped).
//! - [`tasks`]: counts every task the sessions run (`/metrics`, leak tests).
//! - [`terminal`]: QR codes as text for `wagate instance connect`.
//! - [`convert`]: library messages (live and history sync) -> [`Inbound`](super::Inbound).
//! - [`media`]: media messages both ways, and the background inbound downloader.
//! - [`http`]: the HTTPS client of media transfers (the host's TLS roots).
//! - [`store`]: the redb-backed implementation of whatsapp-rust's storage traits.
//!
//! Lifecycle of an instance on this link:
//! - `connect` starts a session (unless one runs) and returns the first QR code (or,
//!   with a phone number, a pair code) once WhatsApp issued it; later QR codes arrive
//!   as [`LinkEvent::Qr`]. Offline, it returns without a code after the first failed
//!   attempt and the session keeps retrying with backoff: state `connecting`.
//! - `resume` (at start-up, for instances paired before) starts the session on the
//!   stored keys: state `closed` until connected, then `open`.
//! - `logout` unlinks the device (when connected), stops the session and wipes its
//!   keys; `forget` (instance deleted) stops it and wipes its keys. Both return only
//!   after the session's tasks ended.

mod account;
pub mod backoff;
mod contacts;
pub mod convert;
mod groups;
pub mod http;
pub mod media;
mod profile;
pub mod proxy;
pub mod session;
pub mod store;
pub mod tasks;
pub mod terminal;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;
use whatsapp_rust::RevokeType;

use self::backoff::Backoff;
use self::http::MediaHttp;
use self::media::DownloadConfig;
use self::session::{Session, Settings, Shared, jid};
use self::tasks::TaskCounter;
use super::{ChatPresence, Link, LinkError, LinkEvent, MessageRef, OutboundMedia, Pairing, Sent};
use crate::core::groups::{Group, GroupSetting, ParticipantAction, ParticipantResult};
use crate::core::model::{ChatPatch, ConnectionState, ContactCard, Content};
use crate::store::Store;

/// How long `connect` waits for WhatsApp's first QR or pair code (the library's own
/// transport connect timeout is 20 s).
const CONNECT_WAIT: Duration = Duration::from_secs(20);

/// `[whatsapp]` in wagate.toml.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhatsAppConfig {
    /// WhatsApp's WebSocket endpoint; tests point it at a local fake server.
    pub url: String,
    /// The WhatsApp Web version the client announces (`2.3000.x`). Always set: with
    /// no version the library fetches it from web.whatsapp.com before every connect.
    pub version: String,
    /// First reconnect delay ceiling, doubling per failed attempt...
    pub reconnect_base_ms: u64,
    /// ...up to this ceiling.
    pub reconnect_max_ms: u64,
    /// `[whatsapp.media]`: which inbound media is downloaded.
    pub media: DownloadConfig,
}

impl Default for WhatsAppConfig {
    fn default() -> Self {
        WhatsAppConfig {
            url: "wss://web.whatsapp.com/ws/chat".into(),
            // whatsapp-rust 0.7.0's built-in default.
            version: "2.3000.1042742319".into(),
            reconnect_base_ms: 1_000,
            reconnect_max_ms: 300_000,
            media: DownloadConfig::default(),
        }
    }
}

impl WhatsAppConfig {
    fn settings(&self) -> anyhow::Result<Settings> {
        let parts: Vec<&str> = self.version.split('.').collect();
        let version = match parts.as_slice() {
            [a, b, c] => (a.parse()?, b.parse()?, c.parse()?),
            _ => anyhow::bail!(
                "[whatsapp] version `{}` must look like 2.3000.1042742319",
                self.version
            ),
        };
        if self.reconnect_base_ms == 0 || self.reconnect_max_ms < self.reconnect_base_ms {
            anyhow::bail!("[whatsapp] needs 0 < reconnect_base_ms <= reconnect_max_ms");
        }
        self.media.validate()?;
        let tls = crate::outbound::tls_connector()
            .map_err(|e| anyhow::anyhow!("media TLS setup: {e}"))?;
        // The encrypted file is the plaintext plus at most 16 bytes of padding and a
        // 10-byte MAC.
        let max_body = self.media.max_bytes.saturating_add(64);
        Ok(Settings {
            url: self.url.clone(),
            version,
            backoff: Backoff {
                base: Duration::from_millis(self.reconnect_base_ms),
                cap: Duration::from_millis(self.reconnect_max_ms),
            },
            media: Arc::new(self.media.clone()),
            http: MediaHttp::new(tls, max_body),
        })
    }
}

/// whatsapp-rust behind the [`Link`] trait: a registry of per-instance sessions.
pub struct WhatsAppLink {
    shared: Arc<Shared>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Serialises starting and stopping sessions (two connects of one instance must
    /// not build two clients on the same keys).
    lifecycle: tokio::sync::Mutex<()>,
    /// Every client ever built, weakly: the live ones are counted in `/metrics`, so a
    /// client kept alive after its session ended (a leak) shows.
    clients: Mutex<Vec<std::sync::Weak<whatsapp_rust::Client>>>,
    /// Instances deleted while this process runs. Instance ids are never reused, and a
    /// connect that authorised just before the delete and got `lifecycle` just after it
    /// must not start a session (and fresh keys) that nobody would ever stop.
    forgotten: Mutex<std::collections::HashSet<String>>,
}

impl WhatsAppLink {
    /// A link with no session yet, keeping session keys in `store` and reporting to
    /// `events`; fails on invalid `[whatsapp]` settings.
    pub fn new(
        store: Store,
        events: UnboundedSender<LinkEvent>,
        config: &WhatsAppConfig,
    ) -> anyhow::Result<Self> {
        Ok(WhatsAppLink {
            shared: Arc::new(Shared {
                store,
                events,
                settings: config.settings()?,
                tasks: TaskCounter::default(),
                media_choices: Arc::default(),
                full_history: Mutex::default(),
                proxies: Arc::default(),
            }),
            sessions: Mutex::default(),
            lifecycle: tokio::sync::Mutex::new(()),
            clients: Mutex::default(),
            forgotten: Mutex::default(),
        })
    }

    fn session(&self, instance_id: &str) -> Option<Arc<Session>> {
        self.sessions
            .lock()
            .expect("sessions lock")
            .get(instance_id)
            .cloned()
    }

    fn open(&self, instance_id: &str) -> Result<Arc<Session>, LinkError> {
        let session = self.session(instance_id).ok_or(LinkError::NotConnected)?;
        session.open_client()?;
        Ok(session)
    }

    /// The running session of the instance, started if there is none (or the last
    /// one ended). The caller holds `lifecycle`.
    async fn ensure_session(&self, instance_id: &str) -> Result<Arc<Session>, LinkError> {
        if self
            .forgotten
            .lock()
            .expect("forgotten lock")
            .contains(instance_id)
        {
            return Err(LinkError::Rejected("the instance was deleted".into()));
        }
        if let Some(s) = self.session(instance_id) {
            if !s.status().stopped {
                return Ok(s);
            }
            s.stop().await; // ended on WhatsApp's word: make way for a new one
        }
        let session = Session::start(&self.shared, instance_id)
            .await
            .map_err(|e| LinkError::Failed(format!("{e:#}")))?;
        {
            let mut clients = self.clients.lock().expect("clients lock");
            clients.retain(|c| c.strong_count() > 0);
            clients.push(Arc::downgrade(&session.client));
        }
        self.sessions
            .lock()
            .expect("sessions lock")
            .insert(instance_id.to_string(), session.clone());
        Ok(session)
    }

    /// Stops and removes the instance's session, waiting until its tasks ended.
    async fn stop_session(&self, instance_id: &str) -> Option<Arc<Session>> {
        let session = self
            .sessions
            .lock()
            .expect("sessions lock")
            .remove(instance_id);
        if let Some(s) = &session {
            s.stop().await;
        }
        session
    }

    /// Sessions whose supervisor still runs.
    pub fn running_sessions(&self) -> usize {
        let sessions = self.sessions.lock().expect("sessions lock");
        sessions.values().filter(|s| !s.status().stopped).count()
    }

    /// Live tasks of all sessions (the library's and the supervisors).
    pub fn live_tasks(&self) -> i64 {
        self.shared.tasks.live()
    }

    /// whatsapp-rust clients still in memory.
    pub fn live_clients(&self) -> usize {
        let mut clients = self.clients.lock().expect("clients lock");
        clients.retain(|c| c.strong_count() > 0);
        clients.len()
    }
}

impl Drop for WhatsAppLink {
    /// The gateway is shutting down: every supervisor disconnects its client.
    fn drop(&mut self) {
        if let Ok(sessions) = self.sessions.lock() {
            for s in sessions.values() {
                s.signal_stop();
            }
        }
    }
}

fn failed(what: &str) -> impl Fn(String) -> LinkError + '_ {
    move |e| LinkError::Failed(format!("{what}: {e}"))
}

#[async_trait]
impl Link for WhatsAppLink {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    async fn connect(&self, instance_id: &str, phone: Option<&str>) -> Result<Pairing, LinkError> {
        let session = {
            let _guard = self.lifecycle.lock().await;
            self.ensure_session(instance_id).await?
        };
        let status = session.status();
        if status.open || status.paired {
            return Ok(Pairing::default());
        }
        match phone {
            Some(phone) => Ok(Pairing {
                qr: None,
                pair_code: session.pair_code(phone, CONNECT_WAIT).await?,
            }),
            None => Ok(Pairing {
                qr: session.settle(CONNECT_WAIT).await.qr,
                pair_code: None,
            }),
        }
    }

    async fn resume(&self, instance_id: &str, _owner_jid: &str) -> Result<(), LinkError> {
        let _guard = self.lifecycle.lock().await;
        let paired = store::paired_jid(&self.shared.store, instance_id)
            .await
            .map_err(|e| LinkError::Failed(format!("reading the stored device: {e:#}")))?;
        if paired.is_none() {
            // The instance was paired (on this link before its keys were wiped, or on
            // another link) but no paired device is stored: resuming would only show
            // QR codes nobody asked for. It needs a new connect.
            tracing::info!(instance = %instance_id, "no paired WhatsApp device stored; not resuming");
            let _ = self.shared.events.send(LinkEvent::LoggedOut {
                instance_id: instance_id.to_string(),
            });
            return Ok(());
        }
        self.ensure_session(instance_id).await.map(|_| ())
    }

    fn state(&self, instance_id: &str) -> ConnectionState {
        self.session(instance_id)
            .map(|s| s.status().state())
            .unwrap_or(ConnectionState::Disconnected)
    }

    async fn send_text(&self, instance_id: &str, to: &str, text: &str) -> Result<Sent, LinkError> {
        let session = self.open(instance_id)?;
        let message = whatsapp_rust::waproto::whatsapp::Message {
            conversation: Some(text.to_string()),
            ..Default::default()
        };
        let result = session
            .client
            .send_message(jid(to)?, message)
            .await
            .map_err(|e| failed("sending the message")(e.to_string()))?;
        Ok(Sent::now(result.message_id))
    }

    async fn send_media(
        &self,
        instance_id: &str,
        to: &str,
        media: &OutboundMedia,
    ) -> Result<Sent, LinkError> {
        let session = self.open(instance_id)?;
        let to = jid(to)?;
        // whatsapp-rust encrypts (fresh media key, AES-CBC + HMAC) and uploads to
        // the hosts of the media connection, refreshing it on an auth error.
        let upload = session
            .client
            .upload(
                media.bytes.to_vec(),
                media::media_type(media.kind),
                whatsapp_rust::upload::UploadOptions::default(),
            )
            .await
            .map_err(|e| failed("uploading the media")(format!("{e:#}")))?;
        let result = session
            .client
            .send_message(to, media::message(upload, media))
            .await
            .map_err(|e| failed("sending the media message")(e.to_string()))?;
        Ok(Sent::now(result.message_id))
    }

    async fn edit_message(
        &self,
        instance_id: &str,
        chat: &str,
        message_id: &str,
        text: &str,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let content = whatsapp_rust::waproto::whatsapp::Message {
            conversation: Some(text.to_string()),
            ..Default::default()
        };
        session
            .client
            .edit_message(jid(chat)?, message_id, content)
            .await
            .map(|_| ())
            .map_err(|e| failed("editing the message")(e.to_string()))
    }

    async fn send_content(
        &self,
        instance_id: &str,
        to: &str,
        content: &Content,
    ) -> Result<Sent, LinkError> {
        use whatsapp_rust::waproto::whatsapp as wa;
        let session = self.open(instance_id)?;
        let to = jid(to)?;
        let card = |c: &ContactCard| wa::message::ContactMessage {
            display_name: Some(c.display_name.clone()),
            vcard: Some(c.vcard.clone()),
            ..Default::default()
        };
        let message = match content {
            Content::Poll(p) => {
                // The poll's secret goes back to core, which keeps it to decrypt
                // the votes (see `core::polls`).
                let (result, secret) = session
                    .client
                    .polls()
                    .create(to, &p.question, &p.options, p.selectable)
                    .await
                    .map_err(|e| failed("sending the poll")(e.to_string()))?;
                return Ok(Sent {
                    poll_secret: Some(secret),
                    ..Sent::now(result.message_id)
                });
            }
            Content::Location(l) => wa::Message {
                location_message: whatsapp_rust::waproto::buffa::MessageField::some(
                    wa::message::LocationMessage {
                        degrees_latitude: Some(l.latitude),
                        degrees_longitude: Some(l.longitude),
                        name: l.name.clone(),
                        address: l.address.clone(),
                        ..Default::default()
                    },
                ),
                ..Default::default()
            },
            Content::Contacts { contacts } if contacts.len() == 1 => wa::Message {
                contact_message: whatsapp_rust::waproto::buffa::MessageField::some(card(
                    &contacts[0],
                )),
                ..Default::default()
            },
            Content::Contacts { contacts } => wa::Message {
                contacts_array_message: whatsapp_rust::waproto::buffa::MessageField::some(
                    wa::message::ContactsArrayMessage {
                        display_name: Some(format!("{} contacts", contacts.len())),
                        contacts: contacts.iter().map(card).collect(),
                        ..Default::default()
                    },
                ),
                ..Default::default()
            },
            Content::Unsupported { .. } => {
                return Err(LinkError::Rejected(
                    "cannot send an unsupported message".into(),
                ));
            }
        };
        let result = session
            .client
            .send_message(to, message)
            .await
            .map_err(|e| failed("sending the message")(e.to_string()))?;
        Ok(Sent::now(result.message_id))
    }

    async fn send_status(
        &self,
        instance_id: &str,
        status: &crate::whatsapp::OutboundStatus,
        recipients: &[String],
    ) -> Result<Sent, LinkError> {
        use crate::whatsapp::OutboundStatus;
        use whatsapp_rust::waproto::whatsapp::message::extended_text_message::FontType;
        let session = self.open(instance_id)?;
        let recipients = recipients
            .iter()
            .map(|r| jid(r))
            .collect::<Result<Vec<_>, _>>()?;
        let options = whatsapp_rust::StatusSendOptions::default();
        let result = match status {
            OutboundStatus::Text {
                text,
                background_argb,
                font,
            } => {
                let font = match font {
                    1 => FontType::SYSTEM_TEXT,
                    2 => FontType::FB_SCRIPT,
                    6 => FontType::SYSTEM_BOLD,
                    7 => FontType::MORNINGBREEZE_REGULAR,
                    8 => FontType::CALISTOGA_REGULAR,
                    9 => FontType::EXO2_EXTRABOLD,
                    10 => FontType::COURIERPRIME_BOLD,
                    _ => FontType::SYSTEM,
                };
                session
                    .client
                    .status()
                    .send_text(text, *background_argb, font, &recipients, options)
                    .await
            }
            OutboundStatus::Media(media) => {
                // Uploaded as any media message, then sent to the status broadcast.
                let upload = session
                    .client
                    .upload(
                        media.bytes.to_vec(),
                        media::media_type(media.kind),
                        whatsapp_rust::upload::UploadOptions::default(),
                    )
                    .await
                    .map_err(|e| failed("uploading the status media")(format!("{e:#}")))?;
                session
                    .client
                    .status()
                    .send_raw(media::message(upload, media), &recipients, options)
                    .await
            }
        }
        .map_err(|e| failed("posting the status")(e.to_string()))?;
        Ok(Sent::now(result.message_id))
    }

    async fn send_reaction(
        &self,
        instance_id: &str,
        target: &MessageRef<'_>,
        emoji: &str,
    ) -> Result<Sent, LinkError> {
        let session = self.open(instance_id)?;
        let chat = jid(target.chat)?;
        // Groups attribute a reaction to the member whose message it is.
        let participant =
            (target.chat.ends_with("@g.us") && !target.from_me).then(|| target.sender.to_string());
        let key = whatsapp_rust::waproto::whatsapp::MessageKey {
            remote_jid: Some(target.chat.to_string()),
            from_me: Some(target.from_me),
            id: Some(target.id.to_string()),
            participant,
        };
        let result = session
            .client
            .send_reaction(chat, key, emoji)
            .await
            .map_err(|e| failed("sending the reaction")(e.to_string()))?;
        Ok(Sent::now(result.message_id))
    }

    async fn mark_read(
        &self,
        instance_id: &str,
        chat: &str,
        sender: &str,
        message_ids: &[String],
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let chat_jid = jid(chat)?;
        // A group's receipt (and a status update's) names the member whose messages
        // they are.
        let sender = if chat.ends_with("@g.us") || chat == "status@broadcast" {
            Some(jid(sender)?)
        } else {
            None
        };
        let ids: Vec<&str> = message_ids.iter().map(String::as_str).collect();
        session
            .client
            .mark_as_read(&chat_jid, sender.as_ref(), &ids)
            .await
            .map_err(|e| failed("sending read receipts")(format!("{e:#}")))
    }

    async fn mark_chat_unread(&self, instance_id: &str, chat: &str) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        session
            .client
            .chat_actions()
            .mark_chat_as_read(&jid(chat)?, false, None)
            .await
            .map_err(|e| failed("marking the chat unread")(e.to_string()))
    }

    async fn send_chat_presence(
        &self,
        instance_id: &str,
        chat: &str,
        presence: ChatPresence,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let to = jid(chat)?;
        let chatstate = session.client.chatstate();
        match presence {
            ChatPresence::Composing => chatstate.send_composing(&to).await,
            ChatPresence::Recording => chatstate.send_recording(&to).await,
            ChatPresence::Paused => chatstate.send_paused(&to).await,
        }
        .map_err(|e| failed("sending the chat state")(e.to_string()))
    }

    async fn set_presence(&self, instance_id: &str, available: bool) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let presence = session.client.presence();
        if available {
            presence.set_available().await
        } else {
            presence.set_unavailable().await
        }
        .map_err(|e| failed("setting the presence")(e.to_string()))
    }

    async fn revoke(
        &self,
        instance_id: &str,
        chat: &str,
        message_id: &str,
        from_me: bool,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        if !from_me {
            // Revoking another member's message needs the group-admin form with the
            // original sender, which the trait does not carry.
            return Err(LinkError::Rejected(
                "only messages sent by this account can be revoked".into(),
            ));
        }
        session
            .client
            .revoke_message(jid(chat)?, message_id, RevokeType::Sender)
            .await
            .map_err(|e| failed("revoking the message")(e.to_string()))
    }

    async fn delete_for_me(
        &self,
        instance_id: &str,
        chat: &str,
        message_id: &str,
        from_me: bool,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        session
            .client
            .chat_actions()
            .delete_message_for_me(&jid(chat)?, None, message_id, from_me, false, None)
            .await
            .map_err(|e| failed("deleting the message for me")(e.to_string()))
    }

    async fn delete_chat(&self, instance_id: &str, chat: &str) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        session
            .client
            .chat_actions()
            .delete_chat(&jid(chat)?, false, None)
            .await
            .map_err(|e| failed("deleting the chat")(e.to_string()))
    }

    async fn update_chat(
        &self,
        instance_id: &str,
        chat: &str,
        patch: &ChatPatch,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let actions = session.client.chat_actions();
        let chat = jid(chat)?;
        let err =
            |what: &'static str| move |e: whatsapp_rust::AppStateError| failed(what)(e.to_string());
        match patch.archived {
            Some(true) => actions
                .archive_chat(&chat, None)
                .await
                .map_err(err("archiving the chat"))?,
            Some(false) => actions
                .unarchive_chat(&chat, None)
                .await
                .map_err(err("unarchiving the chat"))?,
            None => {}
        }
        match patch.pinned {
            Some(true) => actions
                .pin_chat(&chat)
                .await
                .map_err(err("pinning the chat"))?,
            Some(false) => actions
                .unpin_chat(&chat)
                .await
                .map_err(err("unpinning the chat"))?,
            None => {}
        }
        if patch.unmute {
            actions
                .unmute_chat(&chat)
                .await
                .map_err(err("unmuting the chat"))?;
        } else if let Some(until) = patch.muted_until {
            let until = i64::try_from(until)
                .map_err(|_| LinkError::Rejected("muted_until is out of range".into()))?;
            actions
                .mute_chat_until(&chat, until)
                .await
                .map_err(|e| match e {
                    whatsapp_rust::AppStateError::InvalidRequest(m) => LinkError::Rejected(m),
                    other => failed("muting the chat")(other.to_string()),
                })?;
        }
        Ok(())
    }

    async fn label_chat(
        &self,
        instance_id: &str,
        chat: &str,
        label_id: &str,
        labeled: bool,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        let chat = jid(chat)?;
        let labels = session.client.labels();
        let sent = if labeled {
            labels.add_chat_label(label_id, &chat).await
        } else {
            labels.remove_chat_label(label_id, &chat).await
        };
        sent.map_err(|e| match e {
            whatsapp_rust::AppStateError::InvalidRequest(m) => LinkError::Rejected(m),
            other => failed("labelling the chat")(other.to_string()),
        })
    }

    async fn restart(&self, instance_id: &str) -> Result<(), LinkError> {
        let _guard = self.lifecycle.lock().await;
        // The old client goes with its socket; the new one logs in with the stored
        // keys (or, never paired, asks for a new QR code).
        if self.stop_session(instance_id).await.is_none() {
            return Err(LinkError::NotConnected);
        }
        tracing::info!(instance = %instance_id, "restarting the WhatsApp session");
        self.ensure_session(instance_id).await.map(|_| ())
    }

    async fn logout(&self, instance_id: &str) -> Result<(), LinkError> {
        let _guard = self.lifecycle.lock().await;
        if let Some(session) = self.session(instance_id) {
            session.logout().await;
        }
        self.stop_session(instance_id).await;
        store::wipe(&self.shared.store, instance_id)
            .await
            .map_err(|e| LinkError::Failed(format!("wiping the WhatsApp keys: {e:#}")))
    }

    fn set_media_download(
        &self,
        instance_id: &str,
        choice: Option<crate::whatsapp::MediaDownload>,
    ) {
        self.shared.media_choices.set(instance_id, choice);
    }

    fn set_full_history(&self, instance_id: &str, full: bool) {
        let mut set = self.shared.full_history.lock().expect("full history lock");
        if full {
            set.insert(instance_id.to_string());
        } else {
            set.remove(instance_id);
        }
    }

    fn set_proxy(&self, instance_id: &str, proxy: Option<crate::core::proxy::Proxy>) {
        let mut proxies = self.shared.proxies.lock().expect("proxy table lock");
        match proxy {
            Some(proxy) => proxies.insert(instance_id.to_string(), proxy),
            None => proxies.remove(instance_id),
        };
    }

    async fn reject_call(
        &self,
        instance_id: &str,
        call: &crate::whatsapp::IncomingCall,
    ) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        session
            .client
            .voip()
            .reject_call(&call.id, &jid(&call.from)?, &jid(&call.creator)?)
            .await
            .map_err(|e| failed("rejecting the call")(e.to_string()))
    }

    async fn forget(&self, instance_id: &str) {
        self.shared.media_choices.set(instance_id, None);
        self.set_full_history(instance_id, false);
        self.set_proxy(instance_id, None);
        let _guard = self.lifecycle.lock().await;
        self.forgotten
            .lock()
            .expect("forgotten lock")
            .insert(instance_id.to_string());
        self.stop_session(instance_id).await;
        if let Err(e) = store::wipe(&self.shared.store, instance_id).await {
            tracing::warn!(instance = %instance_id, error = %format!("{e:#}"), "wiping the WhatsApp keys of a deleted instance");
        }
    }

    async fn release(&self, instance_id: &str) {
        let _guard = self.lifecycle.lock().await;
        self.stop_session(instance_id).await;
    }

    async fn create_group(
        &self,
        instance_id: &str,
        subject: &str,
        participants: &[String],
    ) -> Result<Group, LinkError> {
        self.wa_create_group(instance_id, subject, participants)
            .await
    }

    async fn list_groups(&self, instance_id: &str) -> Result<Vec<Group>, LinkError> {
        self.wa_list_groups(instance_id).await
    }

    async fn group_info(&self, instance_id: &str, group: &str) -> Result<Group, LinkError> {
        self.wa_group_info(instance_id, group).await
    }

    async fn set_group_subject(
        &self,
        instance_id: &str,
        group: &str,
        subject: &str,
    ) -> Result<(), LinkError> {
        self.wa_set_group_subject(instance_id, group, subject).await
    }

    async fn set_group_description(
        &self,
        instance_id: &str,
        group: &str,
        description: Option<&str>,
    ) -> Result<(), LinkError> {
        self.wa_set_group_description(instance_id, group, description)
            .await
    }

    async fn set_group_setting(
        &self,
        instance_id: &str,
        group: &str,
        setting: GroupSetting,
    ) -> Result<(), LinkError> {
        self.wa_set_group_setting(instance_id, group, setting).await
    }

    async fn update_group_participants(
        &self,
        instance_id: &str,
        group: &str,
        action: ParticipantAction,
        participants: &[String],
    ) -> Result<Vec<ParticipantResult>, LinkError> {
        self.wa_update_group_participants(instance_id, group, action, participants)
            .await
    }

    async fn group_invite_code(
        &self,
        instance_id: &str,
        group: &str,
        revoke: bool,
    ) -> Result<String, LinkError> {
        self.wa_group_invite_code(instance_id, group, revoke).await
    }

    async fn group_invite_info(&self, instance_id: &str, code: &str) -> Result<Group, LinkError> {
        self.wa_group_invite_info(instance_id, code).await
    }

    async fn join_group(&self, instance_id: &str, code: &str) -> Result<String, LinkError> {
        self.wa_join_group(instance_id, code).await
    }

    async fn leave_group(&self, instance_id: &str, group: &str) -> Result<(), LinkError> {
        self.wa_leave_group(instance_id, group).await
    }

    async fn check_numbers(
        &self,
        instance_id: &str,
        jids: &[String],
    ) -> Result<Vec<crate::whatsapp::FoundNumber>, LinkError> {
        self.wa_check_numbers(instance_id, jids).await
    }

    async fn profile_picture_url(
        &self,
        instance_id: &str,
        jid: &str,
    ) -> Result<Option<String>, LinkError> {
        self.wa_profile_picture_url(instance_id, jid).await
    }

    async fn blocklist(&self, instance_id: &str) -> Result<Vec<String>, LinkError> {
        self.wa_blocklist(instance_id).await
    }

    async fn set_blocked(
        &self,
        instance_id: &str,
        jid: &str,
        blocked: bool,
    ) -> Result<(), LinkError> {
        self.wa_set_blocked(instance_id, jid, blocked).await
    }

    async fn set_picture(
        &self,
        instance_id: &str,
        target: &str,
        jpeg: Option<bytes::Bytes>,
    ) -> Result<(), LinkError> {
        self.wa_set_picture(instance_id, target, jpeg).await
    }

    async fn privacy_settings(
        &self,
        instance_id: &str,
    ) -> Result<Vec<crate::core::privacy::PrivacySetting>, LinkError> {
        self.wa_privacy_settings(instance_id).await
    }

    async fn set_privacy(
        &self,
        instance_id: &str,
        setting: crate::core::privacy::PrivacySetting,
    ) -> Result<(), LinkError> {
        self.wa_set_privacy(instance_id, setting).await
    }

    async fn business_profile(
        &self,
        instance_id: &str,
        jid: &str,
    ) -> Result<Option<crate::core::business::BusinessProfile>, LinkError> {
        self.wa_business_profile(instance_id, jid).await
    }

    async fn subscribe_presence(&self, instance_id: &str, jid: &str) -> Result<(), LinkError> {
        let session = self.open(instance_id)?;
        session
            .client
            .presence()
            .subscribe(session::jid(jid)?)
            .await
            .map_err(|e| failed("subscribing to a presence")(e.to_string()))
    }

    async fn fetch_profile(
        &self,
        instance_id: &str,
        jid: &str,
    ) -> Result<crate::whatsapp::LinkProfile, LinkError> {
        self.wa_fetch_profile(instance_id, jid).await
    }

    async fn set_profile_name(&self, instance_id: &str, name: &str) -> Result<(), LinkError> {
        self.wa_set_profile_name(instance_id, name).await
    }

    async fn set_profile_status(&self, instance_id: &str, status: &str) -> Result<(), LinkError> {
        self.wa_set_profile_status(instance_id, status).await
    }

    fn metrics_text(&self) -> String {
        format!(
            "# HELP wagate_whatsapp_sessions WhatsApp sessions whose supervisor runs.\n\
             # TYPE wagate_whatsapp_sessions gauge\n\
             wagate_whatsapp_sessions {}\n\
             # HELP wagate_whatsapp_tasks Live tasks of all WhatsApp sessions.\n\
             # TYPE wagate_whatsapp_tasks gauge\n\
             wagate_whatsapp_tasks {}\n\
             # HELP wagate_whatsapp_clients whatsapp-rust clients in memory.\n\
             # TYPE wagate_whatsapp_clients gauge\n\
             wagate_whatsapp_clients {}\n",
            self.running_sessions(),
            self.live_tasks(),
            self.live_clients()
        )
    }
}
