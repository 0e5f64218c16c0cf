//! The domain types every layer shares: principals, instances, chats, messages,
//! events and the errors core operations return. They mirror `wit/types.wit`
//! one to one, so the plugin bindings convert field by field.

use serde::{Deserialize, Serialize};

/// What a principal may do; see `flags capabilities` in `wit/types.wit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub read: bool,
    pub send: bool,
    pub manage: bool,
    pub admin: bool,
}

impl Capabilities {
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
    Read,
    Send,
    Manage,
    Admin,
}

impl Capability {
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
    pub org: String,
    pub caps: Capabilities,
    /// Set for instance-bound credentials: only this instance id is visible.
    pub instance: Option<String>,
}

/// How a caller names an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstanceRef {
    Id(String),
    Name(String),
}

impl std::fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstanceRef::Id(s) | InstanceRef::Name(s) => f.write_str(s),
        }
    }
}

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
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Open => "open",
            ConnectionState::Closed => "closed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// ULID, immutable.
    pub id: String,
    /// Unique within its org (another org may use the same name);
    /// `[A-Za-z0-9._-]{1,64}`.
    pub name: String,
    pub org: String,
    pub state: ConnectionState,
    pub owner_jid: Option<String>,
    /// Epoch ms.
    pub created_at: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreatedInstance {
    pub instance: Instance,
    /// The instance token, shown once (only its hash is stored).
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectInfo {
    pub state: ConnectionState,
    pub qr: Option<String>,
    pub pair_code: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    pub jid: String,
    pub name: Option<String>,
    pub archived: bool,
    pub pinned: bool,
    pub muted_until: Option<u64>,
    pub last_activity: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPatch {
    pub archived: Option<bool>,
    pub pinned: Option<bool>,
    pub muted_until: Option<u64>,
    /// Clears the mute; wins over `muted_until`.
    #[serde(default)]
    pub unmute: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub chat_jid: String,
    pub from_me: bool,
    pub sender: String,
    /// Epoch ms.
    pub timestamp: u64,
    pub text: Option<String>,
    /// Media file path relative to the data folder.
    pub media: Option<String>,
    pub revoked: bool,
    pub deleted_for_me: bool,
    /// The plugin whose request created the message (a dialect's `core.send-text`), so
    /// a sink can skip its own echoes; absent for messages from the phone, the native
    /// API and contacts (and for records stored before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The furthest delivery receipt WhatsApp reported for it; absent until one arrives
    /// (the sim link reports none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeliveryStatus>,
    /// The text arrived longer than the gateway stores (65,536 characters, WhatsApp's
    /// own cap on what a client sends) and `text` is its beginning; the rest was not
    /// kept. Absent when the whole text was stored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// How far a message got, from WhatsApp's receipts. Ordered: a receipt only ever moves
/// a message forward (a late `delivered` after `read` changes nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Played,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Epoch ms when the window resets.
    pub reset_at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EventPayload {
    MessageUpsert(Message),
    MessageRevoked(Message),
    MessageDeleted(Message),
    ChatDeleted(String),
    ChatUpdated(Chat),
    ConnectionUpdate(ConnectionState),
    QrUpdated(String),
    InstanceDeleted(Instance),
    InstanceCreated(Instance),
}

impl EventPayload {
    /// Every event kind, as webhook filters name them.
    pub const KINDS: [&'static str; 9] = [
        "message_upsert",
        "message_revoked",
        "message_deleted",
        "chat_deleted",
        "chat_updated",
        "connection_update",
        "qr_updated",
        "instance_deleted",
        "instance_created",
    ];

    /// The kind of this event (one of [`Self::KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::MessageUpsert(_) => "message_upsert",
            EventPayload::MessageRevoked(_) => "message_revoked",
            EventPayload::MessageDeleted(_) => "message_deleted",
            EventPayload::ChatDeleted(_) => "chat_deleted",
            EventPayload::ChatUpdated(_) => "chat_updated",
            EventPayload::ConnectionUpdate(_) => "connection_update",
            EventPayload::QrUpdated(_) => "qr_updated",
            EventPayload::InstanceDeleted(_) => "instance_deleted",
            EventPayload::InstanceCreated(_) => "instance_created",
        }
    }
}

/// A webhook destination as a caller describes it (`set-webhooks`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Event kinds to deliver (see [`EventPayload::KINDS`]); empty: all.
    #[serde(default)]
    pub events: Vec<String>,
    /// Extra headers sent with every delivery.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
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
    pub instance_id: String,
    /// Which dialect renders its bodies (the one whose endpoint set it), or `core`.
    pub dialect: String,
    pub url: String,
    pub events: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub enabled: bool,
    pub secret: String,
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
        self.integration.is_none() && self.dialect == dialect
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
    pub sink: String,
    pub url: String,
    pub settings: String,
    /// `None` keeps the current ones.
    pub secret_headers: Option<Vec<(String, String)>>,
    pub enabled: bool,
}

/// A stored integration, as callers see it (secret header values masked out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub sink: String,
    pub url: String,
    pub settings: String,
    pub enabled: bool,
    pub secret_header_names: Vec<String>,
    pub inbound_secret: String,
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
    pub id: String,
    pub instance_id: String,
    pub instance_name: String,
    pub org: String,
    pub timestamp: u64,
    pub payload: EventPayload,
}

/// What a [`CoreError::NotFound`] is about (WIT `resource-kind`): dialects answer
/// "chat not found" and "instance not found" differently without reading messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Instance,
    Chat,
    Message,
    Webhook,
    Integration,
    /// A sink plugin that is not loaded.
    Sink,
    Org,
    DeadLetter,
}

/// Why a core operation failed. Each dialect maps these onto its own shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The resource does not exist or is not visible to the caller; the message names it.
    #[error("{1}")]
    NotFound(Resource, String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotConnected(String),
    #[error("rate limited, retry after {0} ms")]
    RateLimited(u64),
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

pub type CoreResult<T> = Result<T, CoreError>;
