//! The WhatsApp side: the [`Link`] trait core talks to, and its implementations.
//!
//! - [`sim`]: an in-process simulated network (demos, tests, benchmarks).
//! - [`real`]: the real network through whatsapp-rust (`--link whatsapp`, the default).
//! - [`cluster`]: either of them behind cluster mode's leases (several gateways on one
//!   PostgreSQL store; a session runs on the node holding its instance's lease).

pub mod cluster;
pub mod real;
pub mod sim;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::core::groups::{Group, GroupSetting, ParticipantAction, ParticipantResult};
use crate::core::model::{
    ChatPatch, ConnectionState, Content, DeliveryStatus, MediaInfo, MediaKind,
};

/// What `connect` hands back while pairing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairing {
    /// Raw QR payload (what the phone scans).
    pub qr: Option<String>,
    /// Phone pair code (`ABCD-EFGH`).
    pub pair_code: Option<String>,
}

/// A message accepted by WhatsApp.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sent {
    /// WhatsApp's message id, by which later receipts and revokes name it.
    pub id: String,
    /// Epoch ms WhatsApp gave the message.
    pub timestamp: u64,
    /// A poll's message secret, which its votes are encrypted with (core keeps it,
    /// see `core::polls`); `None` for anything else.
    pub poll_secret: Option<Vec<u8>>,
}

impl Sent {
    /// A message WhatsApp accepted with this id, now.
    pub fn now(id: String) -> Self {
        Sent {
            id,
            timestamp: crate::util::now_ms(),
            poll_secret: None,
        }
    }
}

/// Why a link operation failed; core maps each to its own error kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum LinkError {
    /// The instance has no open session (never paired, logged out, or reconnecting).
    #[error("instance is not connected to WhatsApp")]
    NotConnected,
    /// WhatsApp refused the action (unknown message, already revoked, ...).
    #[error("{0}")]
    Rejected(String),
    /// WhatsApp does not know the thing asked about (a group, an invite code).
    #[error("{0}")]
    NotFound(String),
    /// WhatsApp refused because of who this account is there (not a group admin, not
    /// a participant).
    #[error("{0}")]
    Forbidden(String),
    /// The link itself failed (network, protocol, storage): not the caller's fault.
    #[error("{0}")]
    Failed(String),
}

/// A message arriving from WhatsApp (from a contact, or from the paired phone itself).
#[derive(Clone, Debug)]
pub struct Inbound {
    /// WhatsApp's message id (unique within the instance).
    pub id: String,
    /// The chat it belongs to: the contact's JID, or the group's.
    pub chat_jid: String,
    /// Who wrote it (in a group, the member; else the chat's JID or our own).
    pub sender: String,
    /// The sender's other address when WhatsApp gave it: the phone JID behind a LID
    /// sender, or the LID of a phone sender. The core learns the pair from it.
    pub sender_alt: Option<String>,
    /// The chat's other address when WhatsApp gave it (a one-to-one chat only).
    pub chat_jid_alt: Option<String>,
    /// Written by this account (on the paired phone or another device).
    pub from_me: bool,
    /// Epoch ms WhatsApp gave the message.
    pub timestamp: u64,
    /// The text or caption, if it has one.
    pub text: Option<String>,
    /// The message's media, if it carries any.
    pub media: Option<InboundMedia>,
    /// The name the sender gave WhatsApp (its "push name"), when the message carried it.
    pub push_name: Option<String>,
    /// The message carried a verified business name: the sender is a WhatsApp
    /// Business account (`false` says nothing).
    pub sender_is_business: bool,
    /// A location, contact cards or a poll; or the type name of a message the link
    /// does not understand.
    pub content: Option<Content>,
    /// A poll's message secret (from its `messageContextInfo`), which its votes are
    /// encrypted with; `None` for anything else.
    pub poll_secret: Option<Vec<u8>>,
    /// The votes a history sync carries on a poll (the phone opened them already:
    /// WhatsApp's `pollUpdates`); empty for live messages, whose votes arrive alone.
    pub poll_votes: Vec<crate::core::model::PollVote>,
}

/// Media arriving with a message.
#[derive(Clone, Debug)]
pub struct InboundMedia {
    /// What WhatsApp said about it (`stored` is core's to set).
    pub info: MediaInfo,
    /// The bytes, when the link has them at once (the sim). The real link hands `None`
    /// and downloads them in the background, then reports
    /// [`LinkEvent::MediaDownloaded`] or [`LinkEvent::MediaFailed`].
    pub bytes: Option<bytes::Bytes>,
    /// The link is downloading the bytes and will report either event (the real
    /// link, when the deployment's and the instance's choices want the file).
    pub downloading: bool,
}

/// Media to send: the bytes (already fetched and checked by core) and what WhatsApp
/// shows with them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboundMedia {
    /// How WhatsApp shows it.
    pub kind: MediaKind,
    /// The bytes (base64 when serialized: cluster mode forwards sends between nodes).
    #[serde(with = "base64_bytes")]
    pub bytes: bytes::Bytes,
    /// Their MIME type.
    pub mimetype: String,
    /// The file name (documents show it).
    pub file_name: Option<String>,
    /// A caption (not for audio, voice notes and stickers).
    pub caption: Option<String>,
    /// Length of audio or video, in seconds, when the caller knows it.
    pub duration_secs: Option<u32>,
    /// Width of an image or video, when the caller knows it.
    pub width: Option<u32>,
    /// Height of an image or video, when the caller knows it.
    pub height: Option<u32>,
    /// The id of a message this one quotes (replies to).
    pub quoted: Option<String>,
    /// JIDs mentioned in the caption.
    pub mentions: Vec<String>,
}

/// A status update to post (see `core::status`), checked by core.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum OutboundStatus {
    /// A text on a background.
    Text {
        /// The text.
        text: String,
        /// The background, `0xAARRGGBB`.
        background_argb: u32,
        /// One of WhatsApp's status fonts (0-2, 6-10).
        font: u32,
    },
    /// An image, a video or audio.
    Media(OutboundMedia),
}

/// A stored message as a reaction (or another add-on) names it on the wire.
#[derive(Clone, Debug, Serialize)]
pub struct MessageRef<'a> {
    /// The chat it is in.
    pub chat: &'a str,
    /// Its WhatsApp id.
    pub id: &'a str,
    /// This account wrote it.
    pub from_me: bool,
    /// Who wrote it (groups need it to attribute the add-on).
    pub sender: &'a str,
}

/// What this account shows a chat it is typing in (WhatsApp's chat states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChatPresence {
    /// "typing...".
    Composing,
    /// "recording audio...".
    Recording,
    /// Stopped typing or recording.
    Paused,
}

impl ChatPresence {
    /// Its name (`composing`, `recording`, `paused`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChatPresence::Composing => "composing",
            ChatPresence::Recording => "recording",
            ChatPresence::Paused => "paused",
        }
    }
}

/// A contact's presence as WhatsApp reports it: online state, or what they do in a
/// chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    /// Online.
    Available,
    /// Offline (with when they were last seen, if they show it).
    Unavailable,
    /// Typing in a chat.
    Composing,
    /// Recording audio in a chat.
    Recording,
    /// Stopped typing or recording.
    Paused,
}

/// A contact's presence changed (WhatsApp reports it for contacts this account
/// subscribed to, and for the chats it is in).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceUpdate {
    /// Whose presence.
    pub jid: String,
    /// The chat a chat state is in (a group, or the contact's own chat); `None` for an
    /// online/offline change.
    pub chat: Option<String>,
    /// What it is now.
    pub presence: PresenceState,
    /// Epoch ms they were last seen, when offline and they show it.
    pub last_seen: Option<u64>,
}

/// A reaction arriving from WhatsApp, on a message the link names by id.
#[derive(Clone, Debug)]
pub struct InboundReaction {
    /// The reaction message's own id.
    pub id: String,
    /// The chat of the message reacted to.
    pub chat_jid: String,
    /// The id of the message reacted to.
    pub target_id: String,
    /// Who reacted.
    pub sender: String,
    /// Reacted from this account (on the phone or another device).
    pub from_me: bool,
    /// The emoji; empty when the reaction was taken off.
    pub emoji: String,
    /// Epoch ms.
    pub timestamp: u64,
}

/// A vote on a poll, as it arrives: still encrypted with the poll's message secret,
/// which core keeps (see `core::polls`).
#[derive(Clone, Debug)]
pub struct InboundPollVote {
    /// The vote message's own id.
    pub id: String,
    /// The chat the poll is in.
    pub chat_jid: String,
    /// The id of the poll voted on.
    pub poll_id: String,
    /// The poll's author as the vote names it (keys the decryption).
    pub poll_creator: String,
    /// Who voted (keys the decryption).
    pub voter: String,
    /// Voted from this account (on the phone or another device).
    pub from_me: bool,
    /// The encrypted selection (AES-GCM, tag included).
    pub enc_payload: Vec<u8>,
    /// Its IV.
    pub enc_iv: Vec<u8>,
    /// The same two JIDs in the other namespace (LID <-> phone), when the link knows
    /// both: a vote authored across WhatsApp's LID migration opens only under them.
    pub alternate: Option<(String, String)>,
    /// Epoch ms.
    pub timestamp: u64,
}

/// A call offered to the account (WhatsApp Web cannot take it: the gateway can only
/// report it and, when the instance says so, reject it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingCall {
    /// The call's id (what a reject names).
    pub id: String,
    /// Who calls, as the call is addressed (a phone JID or a LID).
    pub from: String,
    /// The caller's phone JID, when WhatsApp gives it besides a LID `from`.
    pub phone: Option<String>,
    /// The caller's device that created the call (what a reject names besides the
    /// id); the caller's own JID when WhatsApp does not say.
    pub creator: String,
    /// A video call.
    pub video: bool,
    /// The group the call is in, for group calls.
    pub group_jid: Option<String>,
    /// Epoch ms of the offer.
    pub timestamp: u64,
    /// Delivered late, while the session was offline (the caller has hung up).
    pub offline: bool,
}

/// How a call the account was offered ended, as WhatsApp tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEndReason {
    /// Nobody answered (the caller hung up, or it timed out).
    Missed,
    /// Another of the account's devices (the phone) took it.
    AcceptedElsewhere,
    /// Another of the account's devices declined it.
    RejectedElsewhere,
}

/// A call that ended (WhatsApp's `terminate`), after its offer was reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEnded {
    /// The call's id (the offer's).
    pub id: String,
    /// Who called, as the call is addressed.
    pub from: String,
    /// How it ended.
    pub reason: CallEndReason,
    /// Epoch ms of the end.
    pub timestamp: u64,
}

/// A number (or LID) a check found on WhatsApp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundNumber {
    /// The JID as it was asked.
    pub jid: String,
    /// Its other address when WhatsApp gave it: the LID of a phone number, or the
    /// phone JID of a LID.
    pub alt: Option<String>,
    /// A WhatsApp Business account.
    pub is_business: bool,
}

/// What WhatsApp tells about an account's profile (this account's or a contact's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkProfile {
    /// The name the account gave WhatsApp: known for this account only (a contact's
    /// push name arrives with their messages, see `core::contacts`).
    pub name: Option<String>,
    /// The "about" text, when the account's privacy lets this account see it.
    pub status: Option<String>,
    /// A URL of the profile picture, when there is one this account may see.
    pub picture_url: Option<String>,
    /// A WhatsApp Business account.
    pub is_business: bool,
}

/// Things the link reports on its own; core ingests them into the store + outbox.
#[derive(Clone, Debug)]
pub enum LinkEvent {
    /// A new QR code to show while pairing (WhatsApp rotates them).
    Qr {
        /// The instance whose session reported it.
        instance_id: String,
        /// The raw QR payload.
        code: String,
    },
    /// The session is open: paired, or reconnected after a drop or restart.
    Connected {
        /// The instance whose session reported it.
        instance_id: String,
        /// The account's own JID.
        owner_jid: String,
    },
    /// The connection dropped (the instance stays paired).
    Disconnected {
        /// The instance whose session reported it.
        instance_id: String,
    },
    /// The phone unlinked this device: the session keys are void and pairing starts over.
    LoggedOut {
        /// The instance whose session reported it.
        instance_id: String,
    },
    /// A new message, incoming or sent from another of the account's devices.
    Message {
        /// The instance whose session reported it.
        instance_id: String,
        /// The message (boxed: it is by far the largest event, and the link's channel
        /// holds every event at the size of the largest).
        message: Box<Inbound>,
    },
    /// Older messages WhatsApp sends after pairing (history sync), one chunk at a time.
    /// Stored as a backfill: one commit per chunk, reported as `history-sync` events
    /// and not `message-upsert`, so webhooks and the Chatwoot sync do not see the
    /// backlog as new traffic.
    History {
        /// The instance whose session reported it.
        instance_id: String,
        /// The chunk's messages.
        messages: Vec<Inbound>,
    },
    /// WhatsApp closed the session because another client connected with the same
    /// keys; the link stops it (no reconnect fight). Recorded as `closed`.
    Replaced {
        /// The instance whose session reported it.
        instance_id: String,
    },
    /// WhatsApp banned the account until `until_ms`; the link reconnects after it.
    /// Recorded as `closed`.
    Banned {
        /// The instance whose session reported it.
        instance_id: String,
        /// Epoch ms when the ban ends.
        until_ms: u64,
        /// WhatsApp's stated reason.
        reason: String,
    },
    /// No pairing code was used before WhatsApp stopped issuing them; the instance
    /// needs a new connect. Recorded as `disconnected`.
    PairingExpired {
        /// The instance whose session reported it.
        instance_id: String,
    },
    /// The bytes of an inbound message's media, downloaded after the message was
    /// reported (the real link downloads off the event path).
    MediaDownloaded {
        /// The instance whose session reported it.
        instance_id: String,
        /// The chat of the message.
        chat_jid: String,
        /// The message whose media this is.
        message_id: String,
        /// The decrypted bytes.
        bytes: bytes::Bytes,
    },
    /// An inbound message's media could not be downloaded (expired, gone, failed
    /// after retries); the message keeps `stored: false`.
    MediaFailed {
        /// The instance whose session reported it.
        instance_id: String,
        /// The chat of the message.
        chat_jid: String,
        /// The message whose media failed.
        message_id: String,
        /// Why, for logs and the event.
        reason: String,
    },
    /// Delivery/read receipts for messages of a chat, as the status they raise the
    /// messages to (receipts that say nothing about delivery are not reported).
    Receipt {
        /// The instance whose session reported it.
        instance_id: String,
        /// The chat of the messages.
        chat_jid: String,
        /// The messages the receipt covers.
        message_ids: Vec<String>,
        /// The status the messages reach (never lowered by core).
        status: DeliveryStatus,
        /// Epoch ms of the receipt.
        timestamp: u64,
    },
    /// A message's text was edited by its author.
    Edit {
        /// The instance whose session reported it.
        instance_id: String,
        /// The edited message.
        message_id: String,
        /// Its new text.
        text: String,
    },
    /// A reaction was put on (or taken off) a message.
    Reaction {
        /// The instance whose session reported it.
        instance_id: String,
        /// The reaction.
        reaction: InboundReaction,
    },
    /// A vote on a poll (still encrypted).
    PollVote {
        /// The instance whose session reported it.
        instance_id: String,
        /// The vote.
        vote: InboundPollVote,
    },
    /// A contact's presence or chat state changed.
    Presence {
        /// The instance whose session reported it.
        instance_id: String,
        /// The change.
        update: PresenceUpdate,
    },
    /// Someone is calling the account.
    Call {
        /// The instance whose session reported it.
        instance_id: String,
        /// The call.
        call: IncomingCall,
    },
    /// The account's address book named a contact (WhatsApp syncs the phone's saved
    /// contacts to linked devices), with the LID <-> phone pair it files them under.
    ContactSaved {
        /// The instance whose session reported it.
        instance_id: String,
        /// The contact as the address book entry is keyed (phone JID or LID).
        jid: String,
        /// The name saved on the phone (full name, else first name); `None` when the
        /// entry was cleared.
        name: Option<String>,
        /// The entry's LID, when WhatsApp gave it.
        lid: Option<String>,
        /// The entry's phone JID, when WhatsApp gave it.
        phone: Option<String>,
    },
    /// A call the account was offered ended.
    CallEnded {
        /// The instance whose session reported it.
        instance_id: String,
        /// How it ended.
        call: CallEnded,
    },
    /// A label was created, changed or deleted on the account's devices (app state).
    LabelEdit {
        /// The instance whose session reported it.
        instance_id: String,
        /// The fields the change carried.
        edit: crate::core::labels::LabelEdit,
    },
    /// A label was put on a chat or taken off it on the account's devices (app state).
    LabelAssociation {
        /// The instance whose session reported it.
        instance_id: String,
        /// The change.
        association: crate::core::labels::LabelAssociation,
    },
    /// WhatsApp announced a change to a group the account is in (made by anyone,
    /// this account included).
    Group {
        /// The instance whose session reported it.
        instance_id: String,
        /// The change.
        change: crate::core::group_events::GroupChange,
    },
}

/// One instance's choice of which inbound media the link downloads, over the
/// deployment's default (`[whatsapp.media]` on the real link; everything on the sim).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaDownload {
    /// `false`: no media bytes at all (messages keep their metadata, `stored: false`).
    #[serde(default = "download_by_default")]
    pub enabled: bool,
    /// Only these kinds; empty: every kind.
    #[serde(default)]
    pub kinds: Vec<MediaKind>,
    /// Nothing larger (as the message declares it); `None`: the deployment's cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

fn download_by_default() -> bool {
    true
}

impl MediaDownload {
    /// Whether this choice lets the link download media of `kind` and `size` (the
    /// deployment's own cap applies too).
    pub fn wants(&self, kind: MediaKind, size: u64) -> bool {
        self.enabled
            && (self.kinds.is_empty() || self.kinds.contains(&kind))
            && self.max_bytes.is_none_or(|max| size <= max)
    }
}

/// The instances' [`MediaDownload`] choices, shared by a link and its sessions.
#[derive(Default)]
pub struct MediaDownloads(std::sync::RwLock<std::collections::HashMap<String, MediaDownload>>);

impl MediaDownloads {
    /// Sets (or, with `None`, clears) an instance's choice.
    pub fn set(&self, instance_id: &str, choice: Option<MediaDownload>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        match choice {
            Some(c) => map.insert(instance_id.to_string(), c),
            None => map.remove(instance_id),
        };
    }

    /// Whether the instance's choice (if it made one) lets media of `kind` and `size`
    /// be downloaded.
    pub fn allows(&self, instance_id: &str, kind: MediaKind, size: u64) -> bool {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(instance_id).is_none_or(|c| c.wants(kind, size))
    }
}

/// One WhatsApp account connection per instance, addressed by instance id.
#[async_trait]
pub trait Link: Send + Sync + 'static {
    /// `sim` or `whatsapp`.
    fn name(&self) -> &'static str;

    /// Starts pairing (QR, or a pair code for `phone`). Progress arrives as events.
    async fn connect(&self, instance_id: &str, phone: Option<&str>) -> Result<Pairing, LinkError>;

    /// Reconnects a session paired before a restart.
    async fn resume(&self, instance_id: &str, owner_jid: &str) -> Result<(), LinkError>;

    /// The live state; `Disconnected` for an instance the link does not know.
    fn state(&self, instance_id: &str) -> ConnectionState;

    /// Sends a text message to a normalised JID; returns once WhatsApp accepted it.
    async fn send_text(&self, instance_id: &str, to: &str, text: &str) -> Result<Sent, LinkError>;

    /// Sends media to a normalised JID; returns once WhatsApp accepted it.
    async fn send_media(
        &self,
        instance_id: &str,
        to: &str,
        media: &OutboundMedia,
    ) -> Result<Sent, LinkError>;

    /// Sends a location, contact cards or a poll (never `Unsupported`) to a
    /// normalised JID; returns once WhatsApp accepted it.
    async fn send_content(
        &self,
        instance_id: &str,
        to: &str,
        content: &Content,
    ) -> Result<Sent, LinkError>;

    /// Replaces the text of this account's message `message_id` in `chat`.
    async fn edit_message(
        &self,
        instance_id: &str,
        chat: &str,
        message_id: &str,
        text: &str,
    ) -> Result<(), LinkError>;

    /// Reacts to `target` with `emoji` (empty: takes this account's reaction off);
    /// returns once WhatsApp accepted the reaction message.
    async fn send_reaction(
        &self,
        instance_id: &str,
        target: &MessageRef<'_>,
        emoji: &str,
    ) -> Result<Sent, LinkError>;

    /// Sends read receipts for messages of `chat` written by `sender` (the chat itself
    /// in a direct chat, the member in a group).
    async fn mark_read(
        &self,
        instance_id: &str,
        chat: &str,
        sender: &str,
        message_ids: &[String],
    ) -> Result<(), LinkError>;

    /// Marks a chat unread on this account's devices (app state).
    async fn mark_chat_unread(&self, instance_id: &str, chat: &str) -> Result<(), LinkError>;

    /// Shows `presence` ("typing...", ...) in `chat`.
    async fn send_chat_presence(
        &self,
        instance_id: &str,
        chat: &str,
        presence: ChatPresence,
    ) -> Result<(), LinkError>;

    /// Sets the account available (online) or unavailable.
    async fn set_presence(&self, instance_id: &str, available: bool) -> Result<(), LinkError>;

    /// Revokes a message for everyone.
    async fn revoke(
        &self,
        instance_id: &str,
        chat: &str,
        message_id: &str,
        from_me: bool,
    ) -> Result<(), LinkError>;

    /// Deletes a message on this account's devices only (app state).
    async fn delete_for_me(
        &self,
        instance_id: &str,
        chat: &str,
        message_id: &str,
        from_me: bool,
    ) -> Result<(), LinkError>;

    /// Deletes a chat on this account's devices (app state).
    async fn delete_chat(&self, instance_id: &str, chat: &str) -> Result<(), LinkError>;

    /// Archive/pin/mute through app state.
    async fn update_chat(
        &self,
        instance_id: &str,
        chat: &str,
        patch: &ChatPatch,
    ) -> Result<(), LinkError>;

    /// Drops the instance's connection and connects again with the same keys (a
    /// session still pairing starts over with a new code). Progress arrives as events.
    async fn restart(&self, instance_id: &str) -> Result<(), LinkError>;

    /// Logs out (the device leaves the phone's linked devices) and drops its keys.
    async fn logout(&self, instance_id: &str) -> Result<(), LinkError>;

    /// Forgets everything about the instance (after delete).
    async fn forget(&self, instance_id: &str);

    /// Stops the instance's session on this gateway and keeps its keys: in cluster
    /// mode another node takes the session over. Nothing to stop is fine.
    async fn release(&self, instance_id: &str);

    /// Whether the instance's session runs on this gateway (in cluster mode it may run
    /// on another node: its live state is then the one stored).
    fn runs_here(&self, _instance_id: &str) -> bool {
        true
    }

    /// The instance's choice of inbound media to download (`None`: the default), for
    /// the messages that arrive from now on.
    fn set_media_download(&self, instance_id: &str, choice: Option<MediaDownload>);

    /// Whether the instance asks WhatsApp for its full history (rather than the recent
    /// messages only) when it next pairs; WhatsApp reads the choice at pairing only.
    fn set_full_history(&self, _instance_id: &str, _full: bool) {}

    /// Posts a status update for `recipients` (JIDs of contacts); returns once
    /// WhatsApp accepted it.
    async fn send_status(
        &self,
        _instance_id: &str,
        _status: &OutboundStatus,
        _recipients: &[String],
    ) -> Result<Sent, LinkError> {
        Err(unsupported(self.name()))
    }

    /// The proxy the instance's connection and media transfers go through from its
    /// next connection on (`None`: direct). A link that dials nothing ignores it.
    fn set_proxy(&self, _instance_id: &str, _proxy: Option<crate::core::proxy::Proxy>) {}

    /// Asks WhatsApp for `jid`'s presence updates (online, last seen, typing).
    async fn subscribe_presence(&self, _instance_id: &str, _jid: &str) -> Result<(), LinkError> {
        Err(unsupported(self.name()))
    }

    /// The profile of `jid` (this account's own when it is the owner's JID).
    async fn fetch_profile(
        &self,
        _instance_id: &str,
        _jid: &str,
    ) -> Result<LinkProfile, LinkError> {
        Err(unsupported(self.name()))
    }

    /// Changes this account's name (its push name).
    async fn set_profile_name(&self, _instance_id: &str, _name: &str) -> Result<(), LinkError> {
        Err(unsupported(self.name()))
    }

    /// Changes this account's "about" text.
    async fn set_profile_status(&self, _instance_id: &str, _status: &str) -> Result<(), LinkError> {
        Err(unsupported(self.name()))
    }

    /// Declines an incoming call (the caller sees it rejected).
    async fn reject_call(&self, _instance_id: &str, _call: &IncomingCall) -> Result<(), LinkError> {
        Err(unsupported(self.name()))
    }

    /// Puts label `label_id` on `chat` (`labeled`) or takes it off, through app state.
    async fn label_chat(
        &self,
        _instance_id: &str,
        _chat: &str,
        _label_id: &str,
        _labeled: bool,
    ) -> Result<(), LinkError> {
        Err(unsupported(self.name()))
    }

    /// Prometheus lines the link adds to `/metrics` (sessions, tasks).
    fn metrics_text(&self) -> String {
        String::new()
    }

    // ---- Groups. A link that does not speak them yet answers `unsupported`. -----
    // Errors: `NotFound` for an unknown group or invite code, `Forbidden` when this
    // account may not do it (not an admin, not a participant).

    /// Creates a group with this account as creator; answers its metadata.
    async fn create_group(
        &self,
        instance_id: &str,
        subject: &str,
        participants: &[String],
    ) -> Result<Group, LinkError> {
        let _ = (instance_id, subject, participants);
        Err(unsupported(self.name()))
    }

    /// Every group this account participates in.
    async fn list_groups(&self, instance_id: &str) -> Result<Vec<Group>, LinkError> {
        let _ = instance_id;
        Err(unsupported(self.name()))
    }

    /// One group's metadata (this account must be a participant).
    async fn group_info(&self, instance_id: &str, group: &str) -> Result<Group, LinkError> {
        let _ = (instance_id, group);
        Err(unsupported(self.name()))
    }

    /// Changes the subject.
    async fn set_group_subject(
        &self,
        instance_id: &str,
        group: &str,
        subject: &str,
    ) -> Result<(), LinkError> {
        let _ = (instance_id, group, subject);
        Err(unsupported(self.name()))
    }

    /// Changes or (`None`) clears the description.
    async fn set_group_description(
        &self,
        instance_id: &str,
        group: &str,
        description: Option<&str>,
    ) -> Result<(), LinkError> {
        let _ = (instance_id, group, description);
        Err(unsupported(self.name()))
    }

    /// Changes one setting.
    async fn set_group_setting(
        &self,
        instance_id: &str,
        group: &str,
        setting: GroupSetting,
    ) -> Result<(), LinkError> {
        let _ = (instance_id, group, setting);
        Err(unsupported(self.name()))
    }

    /// Adds/removes/promotes/demotes; WhatsApp's answer per participant.
    async fn update_group_participants(
        &self,
        instance_id: &str,
        group: &str,
        action: ParticipantAction,
        participants: &[String],
    ) -> Result<Vec<ParticipantResult>, LinkError> {
        let _ = (instance_id, group, action, participants);
        Err(unsupported(self.name()))
    }

    /// The invite code; with `revoke`, a fresh one replacing it.
    async fn group_invite_code(
        &self,
        instance_id: &str,
        group: &str,
        revoke: bool,
    ) -> Result<String, LinkError> {
        let _ = (instance_id, group, revoke);
        Err(unsupported(self.name()))
    }

    /// The group an invite code leads to.
    async fn group_invite_info(&self, instance_id: &str, code: &str) -> Result<Group, LinkError> {
        let _ = (instance_id, code);
        Err(unsupported(self.name()))
    }

    /// Joins by invite code; answers the group's JID.
    async fn join_group(&self, instance_id: &str, code: &str) -> Result<String, LinkError> {
        let _ = (instance_id, code);
        Err(unsupported(self.name()))
    }

    /// Leaves a group.
    async fn leave_group(&self, instance_id: &str, group: &str) -> Result<(), LinkError> {
        let _ = (instance_id, group);
        Err(unsupported(self.name()))
    }

    // ---- Contacts (issue 16), likewise. --------------------------------------------

    /// Which of `jids` (normalised person JIDs) WhatsApp has an account for: one
    /// answer per registered JID, keyed by the JID as asked.
    async fn check_numbers(
        &self,
        instance_id: &str,
        jids: &[String],
    ) -> Result<Vec<FoundNumber>, LinkError> {
        let _ = (instance_id, jids);
        Err(unsupported(self.name()))
    }

    /// The profile picture URL of `jid`; `None` when there is none this account may see.
    async fn profile_picture_url(
        &self,
        instance_id: &str,
        jid: &str,
    ) -> Result<Option<String>, LinkError> {
        let _ = (instance_id, jid);
        Err(unsupported(self.name()))
    }

    /// Sets the picture of the account itself (`target` is its own JID) or of a group
    /// it may change; `None` removes it. The bytes are a JPEG (core checked).
    async fn set_picture(
        &self,
        instance_id: &str,
        target: &str,
        jpeg: Option<bytes::Bytes>,
    ) -> Result<(), LinkError> {
        let _ = (instance_id, target, jpeg);
        Err(unsupported(self.name()))
    }

    /// The account's privacy settings.
    async fn privacy_settings(
        &self,
        instance_id: &str,
    ) -> Result<Vec<crate::core::privacy::PrivacySetting>, LinkError> {
        let _ = instance_id;
        Err(unsupported(self.name()))
    }

    /// Changes one privacy setting.
    async fn set_privacy(
        &self,
        instance_id: &str,
        setting: crate::core::privacy::PrivacySetting,
    ) -> Result<(), LinkError> {
        let _ = (instance_id, setting);
        Err(unsupported(self.name()))
    }

    /// The business profile of `jid`; `None` when it is not a business account,
    /// `NotFound` when it is not on WhatsApp.
    async fn business_profile(
        &self,
        instance_id: &str,
        jid: &str,
    ) -> Result<Option<crate::core::business::BusinessProfile>, LinkError> {
        let _ = (instance_id, jid);
        Err(unsupported(self.name()))
    }

    /// The JIDs this account blocked.
    async fn blocklist(&self, instance_id: &str) -> Result<Vec<String>, LinkError> {
        let _ = instance_id;
        Err(unsupported(self.name()))
    }

    /// Blocks (`true`) or unblocks `jid`.
    async fn set_blocked(
        &self,
        instance_id: &str,
        jid: &str,
        blocked: bool,
    ) -> Result<(), LinkError> {
        let _ = (instance_id, jid, blocked);
        Err(unsupported(self.name()))
    }
}

/// What a link answers for an operation it does not implement yet: the caller's
/// request was fine, this gateway's link cannot do it (a `conflict` to the caller).
/// Bytes as a base64 string in serialized form.
mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bytes::Bytes, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(bytes::Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

fn unsupported(link: &str) -> LinkError {
    LinkError::Rejected(format!(
        "this operation is not supported by the `{link}` WhatsApp link yet"
    ))
}
