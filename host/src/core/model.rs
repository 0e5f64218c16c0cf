//! The domain types every layer shares: principals, instances, chats, messages,
//! events and the errors core operations return. They mirror `wit/types.wit`
//! one to one, so the plugin bindings convert field by field.

use serde::{Deserialize, Serialize};

/// What a principal may do; see `flags capabilities` in `wit/types.wit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// May list and read instances, chats and messages.
    pub read: bool,
    /// May send and delete messages.
    pub send: bool,
    /// May create, connect, configure and delete instances.
    pub manage: bool,
    /// The operator's own principal only; no minted credential holds it.
    pub admin: bool,
}

impl Capabilities {
    /// Every capability: the principal the admin token acts as inside an org.
    pub const ALL: Self = Self {
        read: true,
        send: true,
        manage: true,
        admin: true,
    };
    /// The fixed set of a script/service api key and of an instance token.
    pub const STANDARD: Self = Self {
        read: true,
        send: true,
        manage: true,
        admin: false,
    };

    /// Parses names like `["read","send"]`; unknown names are an error.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut caps = Self::default();
        for name in names {
            match name.as_ref() {
                "read" => caps.read = true,
                "send" => caps.send = true,
                "manage" => caps.manage = true,
                "admin" => caps.admin = true,
                other => {
                    return Err(format!(
                        "unknown capability `{other}` (expected read, send, manage, admin)"
                    ));
                }
            }
        }
        Ok(caps)
    }

    /// The names of the set capabilities (what `from_names` parses back).
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.read {
            out.push("read")
        }
        if self.send {
            out.push("send")
        }
        if self.manage {
            out.push("manage")
        }
        if self.admin {
            out.push("admin")
        }
        out
    }

    /// Whether the set includes `cap`.
    pub fn has(&self, cap: Capability) -> bool {
        match cap {
            Capability::Read => self.read,
            Capability::Send => self.send,
            Capability::Manage => self.manage,
            Capability::Admin => self.admin,
        }
    }
}

/// One capability, as an operation requires it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// See [`Capabilities::read`].
    Read,
    /// See [`Capabilities::send`].
    Send,
    /// See [`Capabilities::manage`].
    Manage,
    /// See [`Capabilities::admin`].
    Admin,
}

impl Capability {
    /// Its name as credentials and error messages spell it.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Read => "read",
            Capability::Send => "send",
            Capability::Manage => "manage",
            Capability::Admin => "admin",
        }
    }
}

/// Who is calling. Built only from a stored credential (or a verified JWT by an auth
/// plugin); every core operation takes one and checks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Credential id or person id, for logs and rate limits.
    pub subject: String,
    /// The org whose instances it can reach; nothing crosses orgs.
    pub org: String,
    /// What it may do.
    pub caps: Capabilities,
    /// Set for instance-bound credentials: only this instance id is visible.
    pub instance: Option<String>,
    /// For an instance-bound principal: it may delete its own instance. Set by the host
    /// from the resolving auth plugin's manifest (`instance_tokens_may_delete`), so each
    /// dialect's rule (Evolution: yes; RyzeAPI: no) is decided here, in core.
    #[serde(default)]
    pub may_delete_own_instance: bool,
}

/// How a caller names an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstanceRef {
    /// By ULID, as stored.
    Id(String),
    /// By the instance's unique name.
    Name(String),
}

impl std::fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstanceRef::Id(s) | InstanceRef::Name(s) => f.write_str(s),
        }
    }
}

/// An instance's link to WhatsApp, as every dialect reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Never paired, or logged out: needs pairing.
    Disconnected,
    /// Pairing in progress (QR or pair code pending).
    Connecting,
    /// Paired and online.
    Open,
    /// Paired but the link is down for now.
    Closed,
}

impl ConnectionState {
    /// The state's name in the native API and WIT (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Open => "open",
            ConnectionState::Closed => "closed",
        }
    }
}

/// A WhatsApp account connection, as callers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// ULID, immutable.
    pub id: String,
    /// Unique within its org (another org may use the same name);
    /// `[A-Za-z0-9._-]{1,64}`.
    pub name: String,
    /// The org that owns it.
    pub org: String,
    /// Its link state as last recorded.
    pub state: ConnectionState,
    /// The paired account's JID; absent until the first pairing.
    pub owner_jid: Option<String>,
    /// Epoch ms.
    pub created_at: u64,
}

/// What create-instance returns: the instance and, once, its token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreatedInstance {
    /// The created instance.
    pub instance: Instance,
    /// The instance token, shown once (only its hash is stored).
    pub token: String,
}

/// Options of [`crate::core::Core::create_instance_with`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// The instance token the caller chose (stored hashed); `None`: one is minted.
    pub token: Option<String>,
    /// The instance's behaviour switches from its first moment; `None`: all off.
    pub settings: Option<super::settings::InstanceSettings>,
}

/// What the gateway stores for an instance, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStats {
    /// Stored chats.
    pub chats: u64,
    /// Stored messages, all chats.
    pub messages: u64,
}

/// What connect returns: the state and any pairing code to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectInfo {
    /// The state after the call.
    pub state: ConnectionState,
    /// QR payload to show while pairing.
    pub qr: Option<String>,
    /// Phone pair code, when connect was given a number.
    pub pair_code: Option<String>,
}

/// A chat as stored: one per contact or group the instance has talked to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    /// The contact's or group's JID.
    pub jid: String,
    /// The contact's other address, when known: the phone JID of a LID chat, or the
    /// LID of a phone chat (`core::lid_map`; filled on reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid_alt: Option<String>,
    /// Display name, when WhatsApp told us one.
    pub name: Option<String>,
    /// Archived on the account.
    pub archived: bool,
    /// Pinned on the account.
    pub pinned: bool,
    /// Muted until this epoch ms; absent: not muted.
    pub muted_until: Option<u64>,
    /// Epoch ms of the newest message or change.
    pub last_activity: u64,
}

/// A partial chat update: absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPatch {
    /// Set or clear the archive flag.
    pub archived: Option<bool>,
    /// Set or clear the pin.
    pub pinned: Option<bool>,
    /// Mute until this epoch ms.
    pub muted_until: Option<u64>,
    /// Clears the mute; wins over `muted_until`.
    #[serde(default)]
    pub unmute: bool,
}

/// A stored message, incoming or sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// WhatsApp's message id.
    pub id: String,
    /// The chat it belongs to.
    pub chat_jid: String,
    /// The chat's other address, when known: the phone JID of a LID chat, or the LID
    /// of a phone chat (`core::lid_map`; filled on reads, so older records pick it up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_jid_alt: Option<String>,
    /// Written by this account.
    pub from_me: bool,
    /// Who wrote it (in a group, the member).
    pub sender: String,
    /// The author's other address, when known (as `chat_jid_alt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_alt: Option<String>,
    /// Epoch ms.
    pub timestamp: u64,
    /// Text or caption, if any.
    pub text: Option<String>,
    /// The message's media (its bytes live in the media store under a key derived from
    /// instance, chat and message id, so the record holds no path). Records stored
    /// before schema 4 held a relative path here; they still decode (see
    /// [`legacy_media`]).
    #[serde(default, deserialize_with = "legacy_media")]
    pub media: Option<MediaInfo>,
    /// Revoked for everyone.
    pub revoked: bool,
    /// Deleted on this account's devices only.
    pub deleted_for_me: bool,
    /// The plugin whose request created the message (a dialect's `core.send-text`), so
    /// a sink can skip its own echoes; absent for messages from the phone, the native
    /// API and contacts (and for records stored before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The furthest delivery receipt WhatsApp reported for it; absent until one arrives
    /// (the sim link reports them through its admin route `/admin/sim/{i}/receipt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeliveryStatus>,
    /// The text arrived longer than the gateway stores (65,536 characters, WhatsApp's
    /// own cap on what a client sends) and `text` is its beginning; the rest was not
    /// kept. Absent when the whole text was stored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The reactions on it: the latest of each account that reacted (a removed
    /// reaction is dropped). Absent while there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// What a message that is neither text nor media carries (a location, contact
    /// cards, a poll), or the type name of one the gateway does not understand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// On a poll: the votes on it, the latest of each voter (see `core::polls`).
    /// Absent while there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poll_votes: Vec<PollVote>,
}

/// One account's vote on a poll, as its latest vote message said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollVote {
    /// The vote message's own WhatsApp id.
    pub id: String,
    /// Who voted (this account's JID for its own).
    pub voter: String,
    /// The options selected, by name, in the poll's order; empty when the voter
    /// took their vote back (or when it could not be read, see `error`).
    pub options: Vec<String>,
    /// Epoch ms.
    pub timestamp: u64,
    /// Why the vote could not be read (the poll's secret unknown, decryption failed,
    /// an option the poll does not have): kept, so no vote vanishes silently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A vote put on a stored poll: the poll with its votes after the change, and the
/// vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollVoteUpdate {
    /// The poll, as stored after the change.
    pub message: Message,
    /// The vote that changed.
    pub vote: PollVote,
}

/// A message's structured content, besides text and media.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// A location pin.
    Location(Location),
    /// One or several contact cards.
    Contacts {
        /// The cards, in order.
        contacts: Vec<ContactCard>,
    },
    /// A poll.
    Poll(Poll),
    /// A message kind the gateway does not understand, kept by its WhatsApp type name
    /// (`eventMessage`, ...) so nothing arrives silently dropped.
    Unsupported {
        /// WhatsApp's name of the message type.
        type_name: String,
    },
}

/// A location pin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Degrees, -90..=90.
    pub latitude: f64,
    /// Degrees, -180..=180.
    pub longitude: f64,
    /// The place's name, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its address, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

// Coordinates are checked finite and in range before they are stored, so equality is
// an equivalence (no NaN) and messages stay `Eq`.
impl Eq for Location {}

/// One contact card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    /// The name shown.
    pub display_name: String,
    /// The vCard (3.0) text.
    pub vcard: String,
}

/// A poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    /// The question.
    pub question: String,
    /// The options, 2 to 12.
    pub options: Vec<String>,
    /// How many options a voter may pick (1..=options).
    pub selectable: u32,
}

/// One account's reaction on a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The reaction message's own WhatsApp id.
    pub id: String,
    /// Who reacted (this account's JID for its own).
    pub sender: String,
    /// The emoji; empty when the reaction was removed (only in events: a stored
    /// message keeps no removed reactions).
    pub emoji: String,
    /// This account reacted.
    pub from_me: bool,
    /// Epoch ms.
    pub timestamp: u64,
}

/// A reaction put on (or, with an empty emoji, taken off) a stored message: the
/// message with its reactions after the change, and the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionUpdate {
    /// The message reacted to, as stored after the change.
    pub message: Message,
    /// The reaction that changed.
    pub reaction: Reaction,
}

/// What kind of media a message carries: WhatsApp's message types for media.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A photo (JPEG, PNG, WebP).
    Image,
    /// A video (MP4).
    Video,
    /// An audio file, shown as a player.
    Audio,
    /// A push-to-talk voice note (Opus in Ogg), shown as a waveform.
    Voice,
    /// Any file, shown with its name.
    Document,
    /// A sticker (WebP).
    Sticker,
    /// A round video note (push-to-talk video).
    VideoNote,
}

impl MediaKind {
    /// Every kind, in the order of the WIT enum.
    pub const ALL: [MediaKind; 7] = [
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Audio,
        MediaKind::Voice,
        MediaKind::Document,
        MediaKind::Sticker,
        MediaKind::VideoNote,
    ];

    /// Its name in the native API and stored records (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Voice => "voice",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
            MediaKind::VideoNote => "video_note",
        }
    }

    /// The kind a file of `mimetype` is shown as when the caller names none: images,
    /// videos and audio as such, anything else as a document.
    pub fn for_mimetype(mimetype: &str) -> MediaKind {
        match mimetype.split('/').next().unwrap_or("") {
            "image" => MediaKind::Image,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            _ => MediaKind::Document,
        }
    }

    /// Parses [`MediaKind::as_str`]'s names.
    pub fn parse(s: &str) -> Option<MediaKind> {
        MediaKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A message's media, as every message record carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// What kind of media it is.
    pub kind: MediaKind,
    /// Its MIME type (`image/jpeg`, ...).
    pub mimetype: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex (empty when not known).
    pub sha256: String,
    /// The file name it was sent with (documents), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Length of audio or video, in seconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u32>,
    /// Width of an image or video, in pixels, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height of an image or video, in pixels, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// The bytes are in the media store (an inbound download can still be pending or
    /// have failed; a revoked message's bytes are gone).
    pub stored: bool,
}

/// Reads `Message.media` as stored now (a [`MediaInfo`]) or before schema 4 (a path
/// `media/<instance>/<chat>/<id>.<ext>` relative to the data folder). Schema 4 rewrites
/// stored messages, but outbox events keep the old shape until they are delivered.
fn legacy_media<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<MediaInfo>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Field {
        Info(MediaInfo),
        Path(String),
    }
    Ok(match Option::<Field>::deserialize(d)? {
        None => None,
        Some(Field::Info(info)) => Some(info),
        Some(Field::Path(path)) => {
            let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
            let mimetype = crate::media::sniff::from_extension(ext);
            Some(MediaInfo {
                kind: MediaKind::for_mimetype(mimetype),
                mimetype: mimetype.to_string(),
                size: 0,
                sha256: String::new(),
                file_name: None,
                duration_secs: None,
                width: None,
                height: None,
                stored: false,
            })
        }
    })
}

/// How far a message got, from WhatsApp's receipts. Ordered: a receipt only ever moves
/// a message forward (a late `delivered` after `read` changes nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Accepted by WhatsApp's server.
    Sent,
    /// Reached the recipient's device.
    Delivered,
    /// Read by the recipient.
    Read,
    /// A voice or video message was played.
    Played,
}

impl DeliveryStatus {
    /// Every status, lowest first.
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
        DeliveryStatus::Played,
    ];

    /// Its name in the native API and stored records (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Played => "played",
        }
    }

    /// Parses [`DeliveryStatus::as_str`]'s names.
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One page of a chat's messages, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePage {
    /// The messages of this page.
    pub messages: Vec<Message>,
    /// Pass back to get the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The outcome of one rate-limit check, with what the caller needs for its headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateDecision {
    /// Whether the call may go ahead.
    pub allowed: bool,
    /// Calls allowed per window.
    pub limit: u32,
    /// Calls left in the current window.
    pub remaining: u32,
    /// Epoch ms when the window resets.
    pub reset_at: u64,
}

/// What happened, as one outbox event carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EventPayload {
    /// A message was stored (received, sent, or synced from another device).
    MessageUpsert(Message),
    /// A message was revoked for everyone.
    MessageRevoked(Message),
    /// The bytes of a stored message's media arrived after the message (the real link
    /// downloads inbound media in the background): the message, `media.stored` true.
    MessageMedia(Message),
    /// A message was deleted for this account.
    MessageDeleted(Message),
    /// A chat was deleted (its JID).
    ChatDeleted(String),
    /// A chat's flags changed.
    ChatUpdated(Chat),
    /// The instance's link state changed.
    ConnectionUpdate(ConnectionState),
    /// A new QR payload to show while pairing.
    QrUpdated(String),
    /// An instance was deleted.
    InstanceDeleted(Instance),
    /// An instance was created.
    InstanceCreated(Instance),
    /// A receipt raised a stored message's delivery status: the message, with its new
    /// `status`. One event per message and step, in the order WhatsApp reported them.
    MessageStatus(Message),
    /// A reaction was put on or taken off a stored message (by a contact or by this
    /// account).
    MessageReaction(ReactionUpdate),
    /// A message's text was edited (by this account or, inbound, by its author): the
    /// message with its new text.
    MessageEdited(Message),
    /// A vote on a stored poll arrived (decrypted, or kept with why it could not be).
    PollVote(PollVoteUpdate),
    /// Someone called the account: the call, and whether the gateway declined it.
    Call(super::calls::CallReport),
    /// A call the account was offered ended: missed, or taken or declined on another
    /// device.
    CallEnded(crate::whatsapp::CallEnded),
    /// A contact's presence or chat state changed (not stored).
    PresenceUpdate(crate::whatsapp::PresenceUpdate),
    /// Older messages WhatsApp sent after pairing (history sync), newly stored: one
    /// event per batch of at most [`super::ingest::HISTORY_EVENT_BATCH`], oldest chunk
    /// first. Kept apart from `message_upsert` so the backlog is not new traffic.
    HistorySync(Vec<Message>),
    /// The chats a history-sync chunk brought that the gateway did not have yet, in
    /// the commit that stored them: one event per batch of at most
    /// [`super::ingest::HISTORY_EVENT_BATCH`], before the chunk's `history_sync`.
    HistoryChats(Vec<Chat>),
    /// The account created or joined a group: its metadata.
    GroupUpsert(super::groups::Group),
    /// A group's subject, description or a setting changed.
    GroupUpdate(super::group_events::GroupUpdate),
    /// Members were added to, removed from, promoted or demoted in a group.
    GroupParticipants(super::group_events::GroupParticipantsUpdate),
    /// Someone wrote to the instance for the first time.
    ContactUpsert(super::contacts::Contact),
    /// A known contact's name changed.
    ContactUpdate(super::contacts::Contact),
    /// A label was created, changed or (`deleted`) deleted on the account.
    LabelEdit(super::labels::Label),
    /// A label was put on a chat or taken off it.
    LabelAssociation(super::labels::LabelAssociation),
}

impl EventPayload {
    /// Every event kind, as webhook filters name them.
    pub const KINDS: [&'static str; 26] = [
        "message_upsert",
        "message_revoked",
        "message_media",
        "message_deleted",
        "chat_deleted",
        "chat_updated",
        "connection_update",
        "qr_updated",
        "instance_deleted",
        "instance_created",
        "message_status",
        "message_reaction",
        "message_edited",
        "poll_vote",
        "call",
        "call_ended",
        "presence_update",
        "history_sync",
        "history_chats",
        "group_upsert",
        "group_update",
        "group_participants",
        "contact_upsert",
        "contact_update",
        "label_edit",
        "label_association",
    ];

    /// The kind of this event (one of [`Self::KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::MessageUpsert(_) => "message_upsert",
            EventPayload::MessageRevoked(_) => "message_revoked",
            EventPayload::MessageMedia(_) => "message_media",
            EventPayload::MessageDeleted(_) => "message_deleted",
            EventPayload::ChatDeleted(_) => "chat_deleted",
            EventPayload::ChatUpdated(_) => "chat_updated",
            EventPayload::ConnectionUpdate(_) => "connection_update",
            EventPayload::QrUpdated(_) => "qr_updated",
            EventPayload::InstanceDeleted(_) => "instance_deleted",
            EventPayload::InstanceCreated(_) => "instance_created",
            EventPayload::MessageStatus(_) => "message_status",
            EventPayload::MessageReaction(_) => "message_reaction",
            EventPayload::MessageEdited(_) => "message_edited",
            EventPayload::PollVote(_) => "poll_vote",
            EventPayload::Call(_) => "call",
            EventPayload::CallEnded(_) => "call_ended",
            EventPayload::PresenceUpdate(_) => "presence_update",
            EventPayload::HistorySync(_) => "history_sync",
            EventPayload::HistoryChats(_) => "history_chats",
            EventPayload::GroupUpsert(_) => "group_upsert",
            EventPayload::GroupUpdate(_) => "group_update",
            EventPayload::GroupParticipants(_) => "group_participants",
            EventPayload::ContactUpsert(_) => "contact_upsert",
            EventPayload::ContactUpdate(_) => "contact_update",
            EventPayload::LabelEdit(_) => "label_edit",
            EventPayload::LabelAssociation(_) => "label_association",
        }
    }
}

/// A webhook destination as a caller describes it (`set-webhooks`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// The webhook this spec edits (native API): it keeps its id, secret, creation time
    /// and delivery history even when its URL changes. Absent: the current webhook
    /// with the same URL, if any, is the one kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `http://` or `https://` URL.
    pub url: String,
    /// Event kinds to deliver (see [`EventPayload::KINDS`]); empty: all.
    #[serde(default)]
    pub events: Vec<String>,
    /// Extra headers sent with every delivery.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Disabled webhooks keep their settings but get no deliveries.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// HMAC-SHA256 signing secret; generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
}

fn yes() -> bool {
    true
}

/// A stored webhook. Invariant: `url` was validated; `secret` is never empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// `wh_<ulid>`.
    pub id: String,
    /// The instance whose events it receives.
    pub instance_id: String,
    /// Which dialect renders its bodies (the one whose endpoint set it), or `core`.
    pub dialect: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Event kinds delivered; empty: all.
    pub events: Vec<String>,
    /// Extra headers sent with every delivery.
    pub headers: Vec<(String, String)>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// HMAC-SHA256 signing secret of the deliveries.
    pub secret: String,
    /// Epoch ms of creation.
    pub created_at: u64,
    /// The instance was deleted: kept only until its queued deliveries are done.
    #[serde(default)]
    pub retired: bool,
    /// The sink plugin that delivers to it (`webhook` for every plain webhook, and for
    /// records stored before the field existed).
    #[serde(default = "webhook_sink", skip_serializing_if = "is_webhook_sink")]
    pub sink: String,
    /// Set when this destination is an instance's integration with `sink` (see
    /// `core::integrations`): then it is managed by the integration calls only, never
    /// listed or replaced as a webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<IntegrationData>,
    /// Set when this destination is a message broker (see `core::brokers`): its
    /// deliveries are published by the host's broker client, not a sink plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerRoute>,
}

/// Which configured broker a broker destination publishes to (see `core::brokers`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRoute {
    /// The broker's name in the configuration (`[brokers.<name>]`, or the name a
    /// dialect's `[broker_env.<name>]` gives it).
    pub name: String,
    /// `true`: created by the broker's `global` switch, not by a per-instance set.
    /// Global deliveries go to the broker's shared exchange / subject prefix.
    #[serde(default)]
    pub global: bool,
}

/// The bundled sink of plain webhooks.
pub const WEBHOOK_SINK: &str = "webhook";

/// The "dialect" of webhooks set through the native API (`/core`): their events are
/// rendered as core JSON by the host instead of by a dialect plugin.
pub const NATIVE_DIALECT: &str = "core";

fn webhook_sink() -> String {
    WEBHOOK_SINK.into()
}

fn is_webhook_sink(sink: &str) -> bool {
    sink == WEBHOOK_SINK
}

impl Webhook {
    /// Whether this is a plain webhook that `dialect` set (not an integration).
    pub fn is_webhook_of(&self, dialect: &str) -> bool {
        self.integration.is_none() && self.broker.is_none() && self.dialect == dialect
    }
}

/// What an integration destination holds beyond a webhook's fields. The secret values
/// (`secret_headers`, `inbound_secret`) stay in the host: a sink's `destination` and
/// dead letters never carry them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationData {
    /// The sink's settings, a JSON object (as text, the sink documents its schema).
    pub settings: String,
    /// Added by http-out to the sink's requests to the URL's host during `deliver`.
    pub secret_headers: Vec<(String, String)>,
    /// The instance-bound credential (read + send) the sink's inbound route accepts.
    pub inbound_secret: String,
    /// sha256 of `inbound_secret`: its key in `CREDENTIALS`.
    pub inbound_hash: Vec<u8>,
    /// The credential's id (what logs and principals show).
    pub inbound_credential_id: String,
}

/// An integration as a caller describes it (`set-integration`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrationSpec {
    /// The sink plugin that serves it (`chatwoot`, say).
    pub sink: String,
    /// The sink's destination URL.
    pub url: String,
    /// The sink's settings, a JSON object as text.
    pub settings: String,
    /// `None` keeps the current ones.
    pub secret_headers: Option<Vec<(String, String)>>,
    /// Disabled integrations get no deliveries.
    pub enabled: bool,
}

/// A stored integration, as callers see it (secret header values masked out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    /// The sink plugin that serves it.
    pub sink: String,
    /// The sink's destination URL.
    pub url: String,
    /// The sink's settings, a JSON object as text.
    pub settings: String,
    /// Whether it gets deliveries.
    pub enabled: bool,
    /// Names of the secret headers set; their values are never shown.
    pub secret_header_names: Vec<String>,
    /// The credential the sink's inbound route accepts (for the remote side to call back).
    pub inbound_secret: String,
    /// Epoch ms of creation.
    pub created_at: u64,
}

impl Integration {
    /// The caller's view of an integration destination; `None` for a plain webhook.
    pub fn of(w: &Webhook) -> Option<Integration> {
        let data = w.integration.as_ref()?;
        Some(Integration {
            sink: w.sink.clone(),
            url: w.url.clone(),
            settings: data.settings.clone(),
            enabled: w.enabled,
            secret_header_names: data.secret_headers.iter().map(|(n, _)| n.clone()).collect(),
            inbound_secret: data.inbound_secret.clone(),
            created_at: w.created_at,
        })
    }
}

/// One outbox event. `id` is stable across redeliveries (`evt_<ulid>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_<ulid>`, for receivers to drop duplicates.
    pub id: String,
    /// The instance it happened on.
    pub instance_id: String,
    /// The instance's name when it happened.
    pub instance_name: String,
    /// The instance's org.
    pub org: String,
    /// Epoch ms it was committed.
    pub timestamp: u64,
    /// What happened.
    pub payload: EventPayload,
}

/// What a [`CoreError::NotFound`] is about (WIT `resource-kind`): dialects answer
/// "chat not found" and "instance not found" differently without reading messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// An instance (by id or name, within the caller's org).
    Instance,
    /// A chat the instance has not stored.
    Chat,
    /// A message id the instance has not stored.
    Message,
    /// A webhook id.
    Webhook,
    /// An instance's integration with a sink.
    Integration,
    /// A sink plugin that is not loaded.
    Sink,
    /// An organisation.
    Org,
    /// A dead letter id.
    DeadLetter,
    /// A group the account is not in or WhatsApp does not know, or an invite code
    /// that leads nowhere.
    Group,
    /// A label the instance does not have.
    Label,
}

/// Why a core operation failed. Each dialect maps these onto its own shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The resource does not exist or is not visible to the caller; the message names it.
    #[error("{1}")]
    NotFound(Resource, String),
    /// The credential lacks a capability.
    #[error("{0}")]
    Forbidden(String),
    /// The input is malformed; the message says what was expected.
    #[error("{0}")]
    Invalid(String),
    /// The request clashes with current state (a taken name, say).
    #[error("{0}")]
    Conflict(String),
    /// The instance has no open WhatsApp session.
    #[error("{0}")]
    NotConnected(String),
    /// The input is larger than the gateway accepts (a media file over `[media]
    /// max_bytes`); dialects answer 413 where their product has it.
    #[error("{0}")]
    TooLarge(String),
    /// Too many calls: retry after this many milliseconds.
    #[error("rate limited, retry after {0} ms")]
    RateLimited(u64),
    /// A failure of the gateway itself; details are in its log.
    #[error("{0}")]
    Internal(String),
}

impl CoreError {
    /// The stable machine code (`not_found`, ...), as the native API reports it.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::NotFound(..) => "not_found",
            CoreError::Forbidden(_) => "forbidden",
            CoreError::Invalid(_) => "invalid",
            CoreError::Conflict(_) => "conflict",
            CoreError::NotConnected(_) => "not_connected",
            CoreError::TooLarge(_) => "too_large",
            CoreError::RateLimited(_) => "rate_limited",
            CoreError::Internal(_) => "internal",
        }
    }
}

/// A store failure reads as an internal error (the store logged the detail).
impl From<crate::store::StoreError> for CoreError {
    fn from(e: crate::store::StoreError) -> Self {
        CoreError::Internal(e.to_string())
    }
}

/// What every core operation returns.
pub type CoreResult<T> = Result<T, CoreError>;
