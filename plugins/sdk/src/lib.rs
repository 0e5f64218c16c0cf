//! The guest side of the wagate plugin contract.
//!
//! A plugin is a Rust crate built for `wasm32-wasip2` as a `cdylib`. It depends on this
//! crate with the feature of each world it implements (`auth`, `dialect`, `sink`),
//! implements that world's `Guest` trait and registers it with the world's export
//! macro:
//!
//! ```ignore
//! use wagate_plugin_sdk::dialect::{self, Guest};
//! use wagate_plugin_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Guest for Hello {
//!     fn handle(req: HttpRequest, caller: Option<Principal>) -> HttpResponse {
//!         Router::new()
//!             .get("/hello/{instance}", |req, params| {
//!                 let name = params.get("instance").unwrap_or_default();
//!                 match core::connection_state(&InstanceRef::Name(name.to_string())) {
//!                     Ok(state) => json(200, &serde_json::json!({ "state": state_name(state) })),
//!                     Err(e) => core_error(&e),
//!                 }
//!             })
//!             .handle(&Request::new(req, caller))
//!     }
//!     fn render_event(_ev: Event, _target: RenderTarget, _hook: Option<Webhook>) -> Option<Vec<u8>> { None }
//!     fn openapi() -> String { "{}".into() }
//! }
//!
//! wagate_plugin_sdk::export_dialect!(Hello);
//! ```
//!
//! The imported interfaces (`core`, `identity`, `http_out`, `config`, `cache`, `storage`,
//! `log`) are plain functions; a component only imports what it calls, and the host
//! refuses to load a plugin that calls an interface its manifest does not grant.

#![warn(missing_docs)]

extern crate self as wagate_plugin_sdk;

#[doc(hidden)]
pub use wit_bindgen;

pub mod base64;
pub mod http;
pub mod media;
pub mod multipart;
pub mod router;
// Also under `cfg(test)`, so the SDK's own `cargo test` exercises the fakes.
#[cfg(all(any(feature = "testing", test), not(target_arch = "wasm32")))]
pub mod testing;
pub mod time;
pub mod uploads;
pub mod url;
pub mod vcard;

/// Generated bindings of every interface a plugin may import (and the shared types).
#[allow(missing_docs, clippy::all)]
pub mod wit {
    wit_bindgen::generate!({
        path: "wit",
        inline: "
            package wagate:sdk;
            world imports {
                import wagate:plugin/types@0.2.0;
                import wagate:plugin/core@0.2.0;
                import wagate:plugin/identity@0.2.0;
                import wagate:plugin/http-out@0.2.0;
                import wagate:plugin/config@0.2.0;
                import wagate:plugin/cache@0.2.0;
                import wagate:plugin/storage@0.2.0;
                import wagate:plugin/log@0.2.0;
            }
        ",
        world: "wagate:sdk/imports",
        runtime_path: "wagate_plugin_sdk::wit_bindgen::rt",
        type_section_suffix: "wagate-sdk-imports",
        generate_unused_types: true,
        generate_all,
    });
}

/// The contract's shared types (`principal`, `http-request`, `instance`, `core-error`, ...).
pub mod types {
    pub use crate::wit::wagate::plugin::types::*;

    impl CoreError {
        /// What was not found, for a `not-found` error (`None` for any other error).
        /// Match on this instead of the message, which is for people:
        ///
        /// ```ignore
        /// match core::list_messages(&which, &jid, 50, None) {
        ///     Err(e) if e.not_found() == Some(ResourceKind::Chat) => empty_history(),
        ///     ...
        /// }
        /// ```
        pub fn not_found(&self) -> Option<ResourceKind> {
            match self {
                CoreError::NotFound(m) => Some(m.kind),
                _ => None,
            }
        }

        /// Whether this is `not-found` about a `kind`.
        pub fn is_not_found(&self, kind: ResourceKind) -> bool {
            self.not_found() == Some(kind)
        }
    }
}

/// Calls an imported function: the host's on wasm; with the `testing` feature on a
/// native target, the fakes installed for the current thread (`testing::install`).
macro_rules! import {
    ($iface:ident :: $name:ident ($($a:ident),*) via |$f:ident| $fake:expr) => {{
        #[cfg(all(any(feature = "testing", test), not(target_arch = "wasm32")))]
        {
            crate::testing::with(|$f| $fake)
        }
        #[cfg(not(all(any(feature = "testing", test), not(target_arch = "wasm32"))))]
        {
            crate::wit::wagate::plugin::$iface::$name($($a),*)
        }
    }};
}

/// The `core` functions: one wrapper each (which plugins call), and with the `testing`
/// feature one method each of [`core::Fake`](crate::core::Fake), whose default panics
/// naming the operation a test did not fake.
macro_rules! core_ops {
    ($( $(#[$doc:meta])* fn $name:ident($($a:ident: $t:ty),*) -> $r:ty; )*) => {
        $(
            $(#[$doc])*
            pub fn $name($($a: $t),*) -> $r {
                import!(core::$name($($a),*) via |f| f.core_mut().$name($($a),*))
            }
        )*

        /// A fake of the gateway's operations for unit tests (`testing` feature):
        /// implement the operations the code under test calls; any other panics
        /// with its name, so a test never passes on an answer nobody wrote.
        #[cfg(all(any(feature = "testing", test), not(target_arch = "wasm32")))]
        #[allow(unused_variables)]
        pub trait Fake {
            $(
                #[doc = concat!("`core::", stringify!($name), "`.")]
                fn $name(&mut self, $($a: $t),*) -> $r {
                    panic!(concat!(
                        "sdk::testing: the test did not fake core::",
                        stringify!($name)
                    ))
                }
            )*
        }
    };
}

/// The gateway's operations (`wit/core.wit`, interface `core`), run as the request's
/// caller. Needs the `core` grant. See `wit/core.wit` for what each does and needs.
pub mod core {
    use crate::types::{
        Chat, ChatPatch, ChatPresence, ConnectInfo, ConnectionState, CoreError, CreateOptions,
        CreatedInstance, Instance, InstanceRef, InstanceSettings, InstanceStats, Integration,
        IntegrationSpec, MediaFile, MediaSend, Message, MessageContent, MessagePage, Profile,
        RateDecision, ReactionUpdate, Webhook, WebhookSpec,
    };
    // The S3 media store's presigned URLs, and media served without copying it in
    // (issue 15).
    use crate::types::{MediaAttachment, MediaEncoding, MediaUrl};
    // Socket.IO (issue 18).
    use crate::types::SocketioSettings;
    // Proxy per instance (issue 18).
    use crate::types::ProxySettings;
    // Groups (issue 16).
    use crate::types::{
        Group, GroupCreate, GroupPage, GroupSetting, ParticipantAction, ParticipantResult,
    };
    // Contacts (issue 16).
    use crate::types::{Contact, ContactPage, NumberCheck};
    // Account settings (issue 16).
    use crate::types::{BusinessProfile, MediaSource, PrivacySetting};
    // Message brokers (issue 21).
    use crate::types::{BrokerDestination, BrokerSpec};
    // Status updates (issue 17).
    use crate::types::StatusPost;
    // Labels (issue 18).
    use crate::types::{Label, LabelAssociation};

    core_ops! {
        /// Create an instance in the caller's organisation (`manage`).
        fn create_instance(name: &str) -> Result<CreatedInstance, CoreError>;
        /// Create an instance with options, e.g. a caller-chosen token (`manage`).
        fn create_instance_with(name: &str, options: &CreateOptions) -> Result<CreatedInstance, CoreError>;
        /// Drop the session's connection and connect again with the same keys (`manage`).
        fn restart_instance(which: &InstanceRef) -> Result<Instance, CoreError>;
        /// How many chats and messages are stored for the instance (`read`).
        fn get_instance_stats(which: &InstanceRef) -> Result<InstanceStats, CoreError>;
        /// One instance (`read`).
        fn get_instance(which: &InstanceRef) -> Result<Instance, CoreError>;
        /// Every instance the caller can see (`read`).
        fn list_instances() -> Result<Vec<Instance>, CoreError>;
        /// Start pairing: a QR payload, or a pair code for `phone` (`manage`).
        fn connect(which: &InstanceRef, phone: Option<&str>) -> Result<ConnectInfo, CoreError>;
        /// The live connection state (`read`).
        fn connection_state(which: &InstanceRef) -> Result<ConnectionState, CoreError>;
        /// Log the session out of WhatsApp (`manage`).
        fn logout(which: &InstanceRef) -> Result<Instance, CoreError>;
        /// Delete the instance and all its data (`manage`, org-wide credential).
        fn delete_instance(which: &InstanceRef) -> Result<Instance, CoreError>;
        /// Send a text message (`send`).
        fn send_text(which: &InstanceRef, to: &str, text: &str) -> Result<Message, CoreError>;
        /// Send media from bytes or a URL the host fetches (`send`).
        fn send_media(which: &InstanceRef, to: &str, media: &MediaSend) -> Result<Message, CoreError>;
        /// A stored message's media bytes and record (`read`).
        fn get_media(which: &InstanceRef, message_id: &str) -> Result<MediaFile, CoreError>;
        /// A stored message's media attached to this request's answer without entering the
        /// plugin: the host puts the bytes where the answer's body carries `reference`
        /// (`read`; see `media::download`).
        fn attach_media(which: &InstanceRef, message_id: &str, encoding: MediaEncoding) -> Result<MediaAttachment, CoreError>;
        /// A presigned URL of a stored message's media; `None` on the disk store (`read`).
        fn get_media_url(which: &InstanceRef, message_id: &str, expires_in_secs: Option<u32>) -> Result<Option<MediaUrl>, CoreError>;
        /// Revoke a message for everyone or delete it for me (`send`).
        fn delete_message(which: &InstanceRef, message_id: &str, for_everyone: bool) -> Result<Message, CoreError>;
        /// Remove a chat from the gateway's copy (`send`).
        fn delete_chat(which: &InstanceRef, chat: &str, media: bool) -> Result<String, CoreError>;
        /// Change archive/pin/mute of a chat (`send`).
        fn update_chat(which: &InstanceRef, chat: &str, patch: ChatPatch) -> Result<Chat, CoreError>;
        /// One stored chat (`read`).
        fn get_chat(which: &InstanceRef, chat: &str) -> Result<Chat, CoreError>;
        /// Stored chats, most recent first (`read`).
        fn list_chats(which: &InstanceRef) -> Result<Vec<Chat>, CoreError>;
        /// A page of a chat's messages, newest first (`read`).
        fn list_messages(which: &InstanceRef, chat: &str, limit: u32, cursor: Option<&str>) -> Result<MessagePage, CoreError>;
        /// One stored message by id, in whichever chat it is (`read`).
        fn get_message(which: &InstanceRef, message_id: &str) -> Result<Message, CoreError>;
        /// This dialect's webhooks of the instance (`manage`).
        fn get_webhooks(which: &InstanceRef) -> Result<Vec<Webhook>, CoreError>;
        /// Replace this dialect's webhooks of the instance (`manage`).
        fn set_webhooks(which: &InstanceRef, hooks: &[WebhookSpec]) -> Result<Vec<Webhook>, CoreError>;
        /// Which events the host's Socket.IO server emits on the instance's namespace (`read`).
        fn get_socketio(which: &InstanceRef) -> Result<Option<SocketioSettings>, CoreError>;
        /// Store the instance's Socket.IO settings (`manage`).
        fn set_socketio(which: &InstanceRef, settings: &SocketioSettings) -> Result<SocketioSettings, CoreError>;
        /// The instance's integration with the sink plugin `sink` (`manage`).
        fn get_integration(which: &InstanceRef, sink: &str) -> Result<Option<Integration>, CoreError>;
        /// Create or replace the instance's integration with `spec.sink` (`manage`).
        fn set_integration(which: &InstanceRef, spec: &IntegrationSpec) -> Result<Integration, CoreError>;
        /// Remove the instance's integration with `sink` (`manage`).
        fn delete_integration(which: &InstanceRef, sink: &str) -> Result<bool, CoreError>;
        /// The instance's destination for the configured broker `broker` (`manage`).
        fn get_broker(which: &InstanceRef, broker: &str) -> Result<Option<BrokerDestination>, CoreError>;
        /// Create or replace the instance's destination for `spec.broker`, rendered by this dialect (`manage`).
        fn set_broker(which: &InstanceRef, spec: &BrokerSpec) -> Result<BrokerDestination, CoreError>;
        /// Normalise a number or JID the way core does.
        fn normalize_jid(input: &str) -> Result<String, CoreError>;
        /// Count one hit against a host-kept rate-limit bucket.
        fn rate_limit(bucket: &str, limit: u32, window_ms: u64) -> RateDecision;

        // ---- Groups (issue 16) ----
        /// Create a group with this account as creator (`send`).
        fn create_group(which: &InstanceRef, spec: &GroupCreate) -> Result<Group, CoreError>;
        /// The groups the account is in (`read`).
        fn list_groups(which: &InstanceRef, limit: u32, cursor: Option<&str>) -> Result<GroupPage, CoreError>;
        /// One group's metadata (`read`).
        fn get_group(which: &InstanceRef, group: &str) -> Result<Group, CoreError>;
        /// Change a group's subject (`send`).
        fn set_group_subject(which: &InstanceRef, group: &str, subject: &str) -> Result<Group, CoreError>;
        /// Change or clear a group's description (`send`).
        fn set_group_description(which: &InstanceRef, group: &str, description: Option<&str>) -> Result<Group, CoreError>;
        /// Change one group setting (`send`, admins).
        fn set_group_setting(which: &InstanceRef, group: &str, setting: GroupSetting) -> Result<Group, CoreError>;
        /// Add/remove/promote/demote participants; WhatsApp's result for each (`send`, admins).
        fn update_group_participants(which: &InstanceRef, group: &str, action: ParticipantAction, participants: &[String]) -> Result<Vec<ParticipantResult>, CoreError>;
        /// A group's invite code; with `revoke`, a new one (`send`, admins).
        fn group_invite_code(which: &InstanceRef, group: &str, revoke: bool) -> Result<String, CoreError>;
        /// The group an invite code leads to (`read`).
        fn group_invite_info(which: &InstanceRef, code: &str) -> Result<Group, CoreError>;
        /// Join a group by invite code; its JID (`send`).
        fn join_group(which: &InstanceRef, code: &str) -> Result<String, CoreError>;
        /// Leave a group; its JID (`send`).
        fn leave_group(which: &InstanceRef, group: &str) -> Result<String, CoreError>;

        // ---- Contacts (issue 16) ----
        /// Which numbers are on WhatsApp, each answered or its error (`read`).
        fn check_numbers(which: &InstanceRef, numbers: &[String]) -> Result<Vec<NumberCheck>, CoreError>;
        /// The people the instance has heard from (`read`).
        fn list_contacts(which: &InstanceRef, limit: u32, cursor: Option<&str>) -> Result<ContactPage, CoreError>;
        /// A profile picture URL, if any (`read`).
        fn profile_picture_url(which: &InstanceRef, who: &str) -> Result<Option<String>, CoreError>;
        /// Block or unblock; the JID (`send`).
        fn set_blocked(which: &InstanceRef, who: &str, blocked: bool) -> Result<String, CoreError>;
        /// The JIDs this account blocked (`read`).
        fn list_blocked(which: &InstanceRef) -> Result<Vec<String>, CoreError>;
        /// React to a stored message, or take the reaction off with `""` (`send`).
        fn send_reaction(which: &InstanceRef, message_id: &str, emoji: &str) -> Result<ReactionUpdate, CoreError>;
        /// Send read receipts for stored messages (`send`).
        fn mark_read(which: &InstanceRef, message_ids: &[String]) -> Result<u32, CoreError>;
        /// Mark a stored chat unread (`send`).
        fn mark_chat_unread(which: &InstanceRef, chat: &str) -> Result<String, CoreError>;
        /// Show typing/recording/paused in a chat, `paused` after `delay_ms` (`send`).
        fn send_chat_presence(which: &InstanceRef, to: &str, presence: ChatPresence, delay_ms: u32) -> Result<String, CoreError>;
        /// Ask for a contact's presence updates (`send`).
        fn subscribe_presence(which: &InstanceRef, who: &str) -> Result<String, CoreError>;
        /// Set the account available or unavailable (`send`).
        fn set_presence(which: &InstanceRef, available: bool) -> Result<(), CoreError>;
        /// Send a location, contact cards or a poll (`send`).
        fn send_content(which: &InstanceRef, to: &str, content: &MessageContent) -> Result<Message, CoreError>;
        /// Post a status update for the contacts named (`send`).
        fn send_status(which: &InstanceRef, post: &StatusPost) -> Result<Message, CoreError>;
        /// Edit a text message this account sent, within 15 minutes (`send`).
        fn edit_message(which: &InstanceRef, message_id: &str, text: &str) -> Result<Message, CoreError>;
        /// The instance's behaviour switches (`read`).
        fn get_settings(which: &InstanceRef) -> Result<InstanceSettings, CoreError>;
        /// Replace the instance's behaviour switches (`manage`).
        fn set_settings(which: &InstanceRef, settings: &InstanceSettings) -> Result<InstanceSettings, CoreError>;
        /// The instance's proxy, password masked; `None` when none was set (`read`).
        fn get_proxy(which: &InstanceRef) -> Result<Option<ProxySettings>, CoreError>;
        /// Set (`None`: remove) the instance's proxy; used from its next connection (`manage`).
        fn set_proxy(which: &InstanceRef, proxy: Option<&ProxySettings>) -> Result<Option<ProxySettings>, CoreError>;
        /// A profile: this account's (`None`) as last seen, else `who`'s (`read`).
        fn get_profile(which: &InstanceRef, who: Option<&str>) -> Result<Profile, CoreError>;
        /// Change this account's name (`manage`).
        fn set_profile_name(which: &InstanceRef, name: &str) -> Result<Profile, CoreError>;
        /// Change this account's "about" text (`manage`).
        fn set_profile_status(which: &InstanceRef, status: &str) -> Result<Profile, CoreError>;
        /// Set (a JPEG) or remove (`None`) this account's picture (`manage`).
        fn set_profile_picture(which: &InstanceRef, image: Option<&MediaSource>) -> Result<(), CoreError>;
        /// Set (a JPEG) or remove (`None`) a group's picture (`send`).
        fn set_group_picture(which: &InstanceRef, group: &str, image: Option<&MediaSource>) -> Result<(), CoreError>;
        /// The account's privacy settings (`read`).
        fn get_privacy(which: &InstanceRef) -> Result<Vec<PrivacySetting>, CoreError>;
        /// Change privacy settings; all of them afterwards (`manage`).
        fn set_privacy(which: &InstanceRef, settings: &[PrivacySetting]) -> Result<Vec<PrivacySetting>, CoreError>;
        /// The account's chat labels (`read`).
        fn list_labels(which: &InstanceRef) -> Result<Vec<Label>, CoreError>;
        /// The labels on one chat (`read`).
        fn chat_labels(which: &InstanceRef, chat: &str) -> Result<Vec<Label>, CoreError>;
        /// Put a label on a chat, or take it off (`send`).
        fn label_chat(which: &InstanceRef, chat: &str, label_id: &str, labeled: bool) -> Result<LabelAssociation, CoreError>;
        /// A business account's profile; `None` when it is not one (`read`).
        fn get_business_profile(which: &InstanceRef, who: &str) -> Result<Option<BusinessProfile>, CoreError>;
    }

    /// Every group the account is in, walking [`list_groups`]'s pages (the first asks
    /// WhatsApp when connected).
    pub fn all_groups(which: &InstanceRef) -> Result<Vec<Group>, CoreError> {
        walk_pages(|cursor| list_groups(which, 200, cursor).map(|p| (p.groups, p.next_cursor)))
    }

    /// Every contact of an instance, walking [`list_contacts`]'s pages (for a dialect
    /// whose product answers them all at once, or filters them itself).
    pub fn all_contacts(which: &InstanceRef) -> Result<Vec<Contact>, CoreError> {
        walk_pages(|cursor| list_contacts(which, 1000, cursor).map(|p| (p.contacts, p.next_cursor)))
    }

    /// Everything a paged read lists: `page(cursor)` answers one page and the cursor
    /// of the next (`None` at the end), starting from `None`.
    fn walk_pages<T>(
        mut page: impl FnMut(Option<&str>) -> Result<(Vec<T>, Option<String>), CoreError>,
    ) -> Result<Vec<T>, CoreError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (items, next) = page(cursor.as_deref())?;
            all.extend(items);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }
}

/// Resolve a presented secret to a principal. Needs the `identity` grant.
pub mod identity {
    use crate::types::Principal;

    /// The principal whose credential matches `secret`, if any.
    pub fn resolve(secret: &str) -> Option<Principal> {
        import!(identity::resolve(secret) via |f| f.identity(secret))
    }
}

/// Outbound HTTP to the hosts the operator allowed. Needs the `http-out` grant.
pub mod http_out {
    pub use crate::wit::wagate::plugin::http_out::{HttpError, OutboundRequest, OutboundResponse};

    /// Send `req` and wait for the whole answer.
    pub fn fetch(req: &OutboundRequest) -> Result<OutboundResponse, HttpError> {
        import!(http_out::fetch(req) via |f| f.fetch(req))
    }
}

/// The plugin's configuration. Needs the `config` grant.
pub mod config {
    /// The value of `key`, if configured.
    pub fn get(key: &str) -> Option<String> {
        import!(config::get(key) via |f| f.config.get(key).cloned())
    }
}

/// A host-kept key-value cache that survives between requests. Needs the `cache` grant.
pub mod cache {
    pub use crate::wit::wagate::plugin::cache::Cached;

    /// The value stored under `key`, unless it expired or was evicted.
    pub fn get(key: &str) -> Option<Cached> {
        import!(cache::get(key) via |f| f.cache_get(key))
    }

    /// Store `value` under `key` for `ttl_ms` milliseconds (0: until evicted).
    pub fn set(key: &str, value: &[u8], ttl_ms: u64) -> bool {
        import!(cache::set(key, value, ttl_ms) via |f| f.cache_set(key, value, ttl_ms))
    }

    /// Remove `key`.
    pub fn delete(key: &str) {
        import!(cache::delete(key) via |f| {
            f.cache.remove(key);
        })
    }
}

/// Durable per-instance key-value storage kept in the gateway's database (never
/// evicted; removed with the instance or the plugin's integration of it). Needs the
/// `storage` grant.
pub mod storage {
    use crate::types::Integration;

    /// The value stored under `key` for `instance_id`.
    pub fn get(instance_id: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        import!(storage::get(instance_id, key) via |f| f.storage_get(instance_id, key))
    }

    /// Store `value` under `key` for `instance_id`.
    pub fn set(instance_id: &str, key: &str, value: &[u8]) -> Result<(), String> {
        import!(storage::set(instance_id, key, value) via |f| f.storage_set(instance_id, key, value))
    }

    /// Remove `key`.
    pub fn delete(instance_id: &str, key: &str) -> Result<(), String> {
        import!(storage::delete(instance_id, key) via |f| f.storage_delete(instance_id, key))
    }

    /// This plugin's integration of `instance_id`.
    pub fn integration(instance_id: &str) -> Option<Integration> {
        import!(storage::integration(instance_id) via |f| f.integrations.get(instance_id).cloned())
    }
}

/// Logging into the host's log. Needs the `log` grant.
pub mod log {
    pub use crate::wit::wagate::plugin::log::Level;

    /// Write one log line (the host truncates very long ones). Under `testing`, lines
    /// are kept in the fakes (`Fakes::logs`).
    pub fn log(level: Level, message: &str) {
        import!(log::log(level, message) via |f| f.logs.push((level, message.to_string())))
    }

    /// Log at `info`.
    pub fn info(msg: &str) {
        log(Level::Info, msg)
    }
    /// Log at `warn`.
    pub fn warn(msg: &str) {
        log(Level::Warn, msg)
    }
    /// Log at `error`.
    pub fn error(msg: &str) {
        log(Level::Error, msg)
    }
    /// Log at `debug`.
    pub fn debug(msg: &str) {
        log(Level::Debug, msg)
    }
}

/// The `auth` world: export `authenticate`. Register with [`export_auth!`].
#[cfg(feature = "auth")]
#[allow(missing_docs, clippy::all)]
pub mod auth {
    wit_bindgen::generate!({
        path: "wit",
        world: "wagate:plugin/auth@0.2.0",
        runtime_path: "wagate_plugin_sdk::wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "export_auth",
        default_bindings_module: "wagate_plugin_sdk::auth",
        with: {
            "wagate:plugin/types@0.2.0": crate::wit::wagate::plugin::types,
            "wagate:plugin/identity@0.2.0": crate::wit::wagate::plugin::identity,
            "wagate:plugin/http-out@0.2.0": crate::wit::wagate::plugin::http_out,
            "wagate:plugin/config@0.2.0": crate::wit::wagate::plugin::config,
            "wagate:plugin/cache@0.2.0": crate::wit::wagate::plugin::cache,
            "wagate:plugin/log@0.2.0": crate::wit::wagate::plugin::log,
        },
    });
}

/// The `dialect` world: export `handle`, `render-event`, `openapi`. Register with
/// [`export_dialect!`].
#[cfg(feature = "dialect")]
#[allow(missing_docs, clippy::all)]
pub mod dialect {
    wit_bindgen::generate!({
        path: "wit",
        world: "wagate:plugin/dialect@0.2.0",
        runtime_path: "wagate_plugin_sdk::wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "export_dialect",
        default_bindings_module: "wagate_plugin_sdk::dialect",
        with: {
            "wagate:plugin/types@0.2.0": crate::wit::wagate::plugin::types,
            "wagate:plugin/core@0.2.0": crate::wit::wagate::plugin::core,
            "wagate:plugin/http-out@0.2.0": crate::wit::wagate::plugin::http_out,
            "wagate:plugin/config@0.2.0": crate::wit::wagate::plugin::config,
            "wagate:plugin/cache@0.2.0": crate::wit::wagate::plugin::cache,
            "wagate:plugin/storage@0.2.0": crate::wit::wagate::plugin::storage,
            "wagate:plugin/log@0.2.0": crate::wit::wagate::plugin::log,
        },
    });
}

/// The `sink` world: export `deliver`. Register with [`export_sink!`].
#[cfg(feature = "sink")]
#[allow(missing_docs, clippy::all)]
pub mod sink {
    wit_bindgen::generate!({
        path: "wit",
        world: "wagate:plugin/sink@0.2.0",
        runtime_path: "wagate_plugin_sdk::wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "export_sink",
        default_bindings_module: "wagate_plugin_sdk::sink",
        with: {
            "wagate:plugin/types@0.2.0": crate::wit::wagate::plugin::types,
            "wagate:plugin/http-out@0.2.0": crate::wit::wagate::plugin::http_out,
            "wagate:plugin/config@0.2.0": crate::wit::wagate::plugin::config,
            "wagate:plugin/cache@0.2.0": crate::wit::wagate::plugin::cache,
            "wagate:plugin/storage@0.2.0": crate::wit::wagate::plugin::storage,
            "wagate:plugin/log@0.2.0": crate::wit::wagate::plugin::log,
        },
    });
}

#[cfg(feature = "auth")]
pub use auth::export_auth;
#[cfg(feature = "dialect")]
pub use dialect::export_dialect;
#[cfg(feature = "sink")]
pub use sink::export_sink;

/// Everything a typical plugin needs in scope.
pub mod prelude {
    pub use crate::core;
    pub use crate::http::{
        BodyError, Request, core_error, core_error_status, header, json, json_error, state_name,
        text,
    };
    pub use crate::router::{IntoResponse, Params, Router};
    pub use crate::types::{
        Capabilities, Chat, ConnectionState, CoreError, Event, Header, HttpRequest, HttpResponse,
        Instance, InstanceRef, MediaAttachment, MediaEncoding, MediaFile, MediaInfo, MediaKind,
        MediaSend, MediaSource, MediaUrl, Message, Missing, Principal, RenderTarget, ResourceKind,
        Webhook,
    };
}

/// A message's structured content (location, contact cards, poll, or the type name
/// of an unsupported kind) as plain JSON with camelCase fields, and the kind's short
/// name (`location`, `contacts`, `poll`, `unsupported`): the shape the bundled
/// dialects other than Evolution show it in.
pub fn content_json(content: &types::MessageContent) -> (&'static str, serde_json::Value) {
    use serde_json::json;
    use types::MessageContent as C;
    match content {
        C::Location(l) => (
            "location",
            json!({ "latitude": l.latitude, "longitude": l.longitude, "name": l.name, "address": l.address }),
        ),
        C::Contacts(cards) => (
            "contacts",
            json!(
                cards
                    .iter()
                    .map(|c| json!({ "displayName": c.display_name, "vcard": c.vcard }))
                    .collect::<Vec<_>>()
            ),
        ),
        C::Poll(p) => (
            "poll",
            json!({ "question": p.question, "options": p.options, "selectable": p.selectable }),
        ),
        C::Unsupported(type_name) => ("unsupported", json!({ "typeName": type_name })),
    }
}

/// How a call ended, by name: `missed`, `accepted_elsewhere`, `rejected_elsewhere`.
pub fn call_end_reason(reason: types::CallEndReason) -> &'static str {
    match reason {
        types::CallEndReason::Missed => "missed",
        types::CallEndReason::AcceptedElsewhere => "accepted_elsewhere",
        types::CallEndReason::RejectedElsewhere => "rejected_elsewhere",
    }
}

/// A poll's tally: each option in the poll's order with the voters (JIDs) whose latest
/// vote selects it, from the message's `poll-votes` (votes that could not be read
/// select nothing). Empty for a message that is not a poll.
pub fn poll_tally(m: &types::Message) -> Vec<(String, Vec<String>)> {
    let Some(types::MessageContent::Poll(p)) = &m.content else {
        return Vec::new();
    };
    p.options
        .iter()
        .map(|option| {
            let voters = m
                .poll_votes
                .iter()
                .filter(|v| v.options.contains(option))
                .map(|v| v.voter.clone())
                .collect();
            (option.clone(), voters)
        })
        .collect()
}

/// A poll's results as plain JSON, the shape the bundled dialects other than
/// Evolution show: `[{option, votes, voters}]` in the poll's order; `None` for a
/// message that is not a poll.
pub fn poll_results_json(m: &types::Message) -> Option<serde_json::Value> {
    if !matches!(m.content, Some(types::MessageContent::Poll(_))) {
        return None;
    }
    Some(
        poll_tally(m)
            .into_iter()
            .map(|(option, voters)| {
                serde_json::json!({ "option": option, "votes": voters.len(), "voters": voters })
            })
            .collect(),
    )
}

/// A group change's field name and new value as plain JSON (`subject`, `description`,
/// `announcement`, `locked`, `ephemeralSeconds`, `approval`): the shape the bundled
/// dialects other than Evolution show `group-update` events in.
pub fn group_change_json(change: &types::GroupInfoChange) -> (&'static str, serde_json::Value) {
    use serde_json::json;
    use types::{GroupInfoChange as C, GroupSetting as S};
    match change {
        C::Subject(s) => ("subject", json!(s)),
        C::Description(d) => ("description", json!(d)),
        C::Setting(S::Announcement(on)) => ("announcement", json!(on)),
        C::Setting(S::Locked(on)) => ("locked", json!(on)),
        C::Setting(S::Ephemeral(secs)) => ("ephemeralSeconds", json!(secs)),
        C::Setting(S::Approval(on)) => ("approval", json!(on)),
    }
}

/// Privacy values by the names the bundled dialects use on the wire.
pub const PRIVACY_VALUES: [(&str, types::PrivacyValue); 6] = [
    ("all", types::PrivacyValue::All),
    ("contacts", types::PrivacyValue::Contacts),
    ("contact_blacklist", types::PrivacyValue::ContactBlacklist),
    ("none", types::PrivacyValue::Nobody),
    ("match_last_seen", types::PrivacyValue::MatchLastSeen),
    ("known", types::PrivacyValue::Known),
];

/// Privacy categories by the camelCase field names of the bundled dialects other than
/// Evolution (which has its own six).
pub const PRIVACY_FIELDS: [(&str, types::PrivacyCategory); 8] = [
    ("lastSeen", types::PrivacyCategory::LastSeen),
    ("online", types::PrivacyCategory::Online),
    ("profilePicture", types::PrivacyCategory::ProfilePicture),
    ("about", types::PrivacyCategory::About),
    ("groupAdd", types::PrivacyCategory::GroupAdd),
    ("readReceipts", types::PrivacyCategory::ReadReceipts),
    ("callAdd", types::PrivacyCategory::CallAdd),
    ("messages", types::PrivacyCategory::Messages),
];

/// A privacy value's wire name (`none` for nobody).
pub fn privacy_value_name(value: types::PrivacyValue) -> &'static str {
    PRIVACY_VALUES
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("all", |(name, _)| name)
}

/// The privacy value a wire name stands for.
pub fn privacy_value_of(name: &str) -> Option<types::PrivacyValue> {
    PRIVACY_VALUES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// The settings as an object of `fields` (field name -> category) to value names; a
/// category WhatsApp did not report is null.
pub fn privacy_json(
    fields: &[(&str, types::PrivacyCategory)],
    settings: &[types::PrivacySetting],
) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (field, category) in fields {
        let value = settings
            .iter()
            .find(|s| s.category == *category)
            .map(|s| privacy_value_name(s.value));
        out.insert(field.to_string(), serde_json::json!(value));
    }
    serde_json::Value::Object(out)
}

/// A participants change's action as the bundled dialects name it (`add`, `remove`,
/// `promote`, `demote`).
pub fn participant_action_name(action: types::ParticipantAction) -> &'static str {
    use types::ParticipantAction as A;
    match action {
        A::Add => "add",
        A::Remove => "remove",
        A::Promote => "promote",
        A::Demote => "demote",
    }
}
