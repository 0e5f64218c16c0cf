//! The frozen contract `wagate:plugin@0.1.0` (`wit/0.1.0`), served on top of the
//! current one: every 0.1 host function converts its arguments to the current types,
//! calls the current implementation (whatever implements the current `Host` traits),
//! and converts the answer back; the exports of a 0.1 component are called the same
//! way in reverse. The two versions differ only in `core-error.not-found`, which 0.2
//! gave a resource kind (`missing`); a 0.1 plugin gets its message, as before.

use wasmtime::component::{HasData, Linker};

use crate::plugin::bindings as cur;
use crate::plugin::grants::core::{CoreView, HasCore};
use crate::plugin::grants::http_out::{HasHttpOut, HttpOutView};
use crate::plugin::grants::identity::{HasIdentity, IdentityView};
use crate::plugin::grants::storage::{HasStorage, StorageView};
use crate::plugin::state::{CallBase, CallState};

/// Bindings of the 0.1 worlds, generated from the frozen WIT (as `bindings.rs` does
/// for the current one).
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    /// The 0.1 `auth` world (and the interfaces the worlds share).
    pub mod auth {
        wasmtime::component::bindgen!({
            path: "../wit/0.1.0",
            world: "auth",
            imports: { default: async | trappable },
            exports: { default: async },
        });
    }

    /// The 0.1 `dialect` world.
    pub mod dialect {
        wasmtime::component::bindgen!({
            path: "../wit/0.1.0",
            world: "dialect",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "wagate:plugin/types": super::auth::wagate::plugin::types,
                "wagate:plugin/log": super::auth::wagate::plugin::log,
                "wagate:plugin/config": super::auth::wagate::plugin::config,
                "wagate:plugin/cache": super::auth::wagate::plugin::cache,
                "wagate:plugin/http-out": super::auth::wagate::plugin::http_out,
            },
        });
    }

    /// The 0.1 `sink` world.
    pub mod sink {
        wasmtime::component::bindgen!({
            path: "../wit/0.1.0",
            world: "sink",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "wagate:plugin/types": super::auth::wagate::plugin::types,
                "wagate:plugin/log": super::auth::wagate::plugin::log,
                "wagate:plugin/config": super::auth::wagate::plugin::config,
                "wagate:plugin/cache": super::auth::wagate::plugin::cache,
                "wagate:plugin/http-out": super::auth::wagate::plugin::http_out,
                "wagate:plugin/storage": super::dialect::wagate::plugin::storage,
            },
        });
    }
}

use bindings::auth::wagate::plugin::{
    cache as old_cache, config as old_config, http_out as old_http, identity as old_identity,
    log as old_log, types as old,
};
use bindings::dialect::wagate::plugin::{core as old_core, storage as old_storage};
use bindings::{auth as old_auth, sink as old_sink};
use cur::{
    auth as cur_auth, http_out as cur_http, sink as cur_sink, types as new, wit_cache as cur_cache,
    wit_log as cur_log,
};

/// A value of one contract version's type as the other version's type.
pub trait Conv<T> {
    /// Convert.
    fn conv(self) -> T;
}

macro_rules! identity {
    ($($t:ty),*) => { $(impl Conv<$t> for $t { fn conv(self) -> $t { self } })* };
}
identity!(String, bool, u8, u16, u32, u64);

impl<A: Conv<B>, B> Conv<Vec<B>> for Vec<A> {
    fn conv(self) -> Vec<B> {
        self.into_iter().map(Conv::conv).collect()
    }
}

impl<A: Conv<B>, B> Conv<Option<B>> for Option<A> {
    fn conv(self) -> Option<B> {
        self.map(Conv::conv)
    }
}

impl<A: Conv<B>, B, E: Conv<F>, F> Conv<Result<B, F>> for Result<A, E> {
    fn conv(self) -> Result<B, F> {
        self.map(Conv::conv).map_err(Conv::conv)
    }
}

/// A record that is the same in both versions: field by field, both ways.
macro_rules! record {
    ($old:ident / $new:ident :: $t:ident { $($f:ident),* $(,)? }) => {
        impl Conv<$new::$t> for $old::$t {
            fn conv(self) -> $new::$t { $new::$t { $($f: self.$f.conv()),* } }
        }
        impl Conv<$old::$t> for $new::$t {
            fn conv(self) -> $old::$t { $old::$t { $($f: self.$f.conv()),* } }
        }
    };
}

/// A variant or enum that is the same in both versions: case by case, both ways.
macro_rules! variant {
    ($old:ident / $new:ident :: $t:ident { $($case:ident $(($x:ident))?),* $(,)? }) => {
        impl Conv<$new::$t> for $old::$t {
            fn conv(self) -> $new::$t {
                match self { $($old::$t::$case $(($x))? => $new::$t::$case $(($x.conv()))?),* }
            }
        }
        impl Conv<$old::$t> for $new::$t {
            fn conv(self) -> $old::$t {
                match self { $($new::$t::$case $(($x))? => $old::$t::$case $(($x.conv()))?),* }
            }
        }
    };
}

record!(
    old / new::Principal {
        subject,
        org,
        capabilities,
        instance
    }
);
record!(old / new::Header { name, value });
record!(
    old / new::HttpRequest {
        method,
        path,
        mount,
        query,
        headers,
        body
    }
);
record!(
    old / new::HttpResponse {
        status,
        headers,
        body
    }
);
variant!(old / new::InstanceRef { Id(x), Name(x) });
variant!(
    old / new::ConnectionState {
        Disconnected,
        Connecting,
        Open,
        Closed
    }
);
record!(
    old / new::Instance {
        id,
        name,
        org,
        state,
        owner_jid,
        created_at
    }
);
record!(old / new::CreatedInstance { instance, token });
record!(
    old / new::ConnectInfo {
        state,
        qr,
        pair_code
    }
);
/// 0.1 knew no LID <-> phone pairs: a chat from a 0.1 plugin names none.
impl Conv<new::Chat> for old::Chat {
    fn conv(self) -> new::Chat {
        new::Chat {
            jid: self.jid,
            jid_alt: None,
            name: self.name,
            archived: self.archived,
            pinned: self.pinned,
            muted_until: self.muted_until,
            last_activity: self.last_activity,
        }
    }
}
impl Conv<old::Chat> for new::Chat {
    fn conv(self) -> old::Chat {
        old::Chat {
            jid: self.jid,
            name: self.name,
            archived: self.archived,
            pinned: self.pinned,
            muted_until: self.muted_until,
            last_activity: self.last_activity,
        }
    }
}
record!(
    old / new::ChatPatch {
        archived,
        pinned,
        muted_until,
        unmute
    }
);
/// 0.1's `media` was the path of the stored file; a 0.1 plugin only ever tested it for
/// presence, so it gets the media's MIME type (and an 0.1 plugin never hands a message
/// back to the host, so the other direction only keeps presence).
impl Conv<new::Message> for old::Message {
    fn conv(self) -> new::Message {
        new::Message {
            id: self.id,
            chat_jid: self.chat_jid,
            chat_jid_alt: None,
            from_me: self.from_me,
            sender: self.sender,
            sender_alt: None,
            timestamp: self.timestamp,
            text: self.text,
            media: self.media.map(|mimetype| new::MediaInfo {
                kind: new::MediaKind::Document,
                mimetype,
                size: 0,
                sha256: String::new(),
                file_name: None,
                duration_secs: None,
                width: None,
                height: None,
                stored: false,
            }),
            revoked: self.revoked,
            deleted_for_me: self.deleted_for_me,
            status: None,
            reactions: Vec::new(),
            poll_votes: Vec::new(),
            content: None,
        }
    }
}
impl Conv<old::Message> for new::Message {
    fn conv(self) -> old::Message {
        old::Message {
            id: self.id,
            chat_jid: self.chat_jid,
            from_me: self.from_me,
            sender: self.sender,
            timestamp: self.timestamp,
            text: self.text,
            media: self.media.map(|m| m.mimetype),
            revoked: self.revoked,
            deleted_for_me: self.deleted_for_me,
        }
    }
}
record!(
    old / new::MessagePage {
        messages,
        next_cursor
    }
);
record!(
    old / new::RateDecision {
        allowed,
        limit,
        remaining,
        reset_at
    }
);
record!(
    old / new::WebhookSpec {
        url,
        events,
        headers,
        enabled,
        secret
    }
);
record!(
    old / new::Webhook {
        id,
        url,
        events,
        headers,
        enabled,
        secret,
        created_at
    }
);
record!(
    old / new::IntegrationSpec {
        sink,
        url,
        settings,
        secret_headers,
        enabled
    }
);
record!(
    old / new::Integration {
        sink,
        url,
        settings,
        enabled,
        secret_header_names,
        inbound_secret,
        created_at
    }
);
/// The event payloads both versions have, case by case; 0.2's `message-media` (the
/// media of a stored message arrived) reaches a 0.1 plugin as a `message-upsert` of the
/// updated message, the only way 0.1 has to say a message changed.
impl Conv<new::EventPayload> for old::EventPayload {
    fn conv(self) -> new::EventPayload {
        use new::EventPayload as N;
        use old::EventPayload as O;
        match self {
            O::MessageUpsert(x) => N::MessageUpsert(x.conv()),
            O::MessageRevoked(x) => N::MessageRevoked(x.conv()),
            O::MessageDeleted(x) => N::MessageDeleted(x.conv()),
            O::ChatDeleted(x) => N::ChatDeleted(x.conv()),
            O::ChatUpdated(x) => N::ChatUpdated(x.conv()),
            O::ConnectionUpdate(x) => N::ConnectionUpdate(x.conv()),
            O::QrUpdated(x) => N::QrUpdated(x.conv()),
            O::InstanceDeleted(x) => N::InstanceDeleted(x.conv()),
            O::InstanceCreated(x) => N::InstanceCreated(x.conv()),
        }
    }
}
impl Conv<old::EventPayload> for new::EventPayload {
    fn conv(self) -> old::EventPayload {
        use new::EventPayload as N;
        use old::EventPayload as O;
        match self {
            // 0.1 has no media, status or reaction events: each says "this message, as
            // it is now", which 0.1 plugins take as an upsert of an id they have seen
            // (`render-event` skips status and reaction events, see
            // `compat::render_event`).
            N::MessageUpsert(x) | N::MessageMedia(x) | N::MessageStatus(x) => {
                O::MessageUpsert(x.conv())
            }
            N::MessageReaction(x) => O::MessageUpsert(x.message.conv()),
            N::MessageEdited(x) => O::MessageUpsert(x.conv()),
            // Filtered out before any 0.1 conversion (`compat::known_to_v0_1`).
            N::Call(_)
            | N::CallEnded(_)
            | N::PollVote(_)
            | N::PresenceUpdate(_)
            | N::HistorySync(_)
            | N::HistoryChats(_)
            | N::GroupUpsert(_)
            | N::GroupUpdate(_)
            | N::GroupParticipants(_)
            | N::ContactUpsert(_)
            | N::ContactUpdate(_)
            | N::LabelEdit(_)
            | N::LabelAssociation(_) => {
                unreachable!("an event 0.1 has no type for reached a 0.1 plugin")
            }
            N::MessageRevoked(x) => O::MessageRevoked(x.conv()),
            N::MessageDeleted(x) => O::MessageDeleted(x.conv()),
            N::ChatDeleted(x) => O::ChatDeleted(x.conv()),
            N::ChatUpdated(x) => O::ChatUpdated(x.conv()),
            N::ConnectionUpdate(x) => O::ConnectionUpdate(x.conv()),
            N::QrUpdated(x) => O::QrUpdated(x.conv()),
            N::InstanceDeleted(x) => O::InstanceDeleted(x.conv()),
            N::InstanceCreated(x) => O::InstanceCreated(x.conv()),
        }
    }
}
record!(
    old / new::Event {
        id,
        instance_id,
        instance_name,
        org,
        timestamp,
        payload
    }
);
record!(
    old_http
        / cur_http::OutboundRequest {
            method,
            url,
            headers,
            body,
            timeout_ms
        }
);
record!(
    old_http
        / cur_http::OutboundResponse {
            status,
            headers,
            body
        }
);
variant!(old_http / cur_http::HttpError { Denied(x), Timeout, Failed(x) });
record!(old_cache / cur_cache::Cached { value, stored_at });
variant!(
    old_log
        / cur_log::Level {
            Trace,
            Debug,
            Info,
            Warn,
            Error
        }
);
variant!(old_auth / cur_auth::AuthOutcome { Allow(x), Deny(x), Skip });
record!(
    old_sink
        / cur_sink::Destination {
            id,
            url,
            headers,
            secret
        }
);
record!(old_sink / cur_sink::Outgoing { event, body });
variant!(old_sink / cur_sink::Delivery { Ok, RetryAfter(x), Permanent(x) });

impl Conv<new::Capabilities> for old::Capabilities {
    fn conv(self) -> new::Capabilities {
        let mut out = new::Capabilities::empty();
        for (o, n) in CAPABILITIES {
            if self.contains(o) {
                out |= n;
            }
        }
        out
    }
}

impl Conv<old::Capabilities> for new::Capabilities {
    fn conv(self) -> old::Capabilities {
        let mut out = old::Capabilities::empty();
        for (o, n) in CAPABILITIES {
            if self.contains(n) {
                out |= o;
            }
        }
        out
    }
}

const CAPABILITIES: [(old::Capabilities, new::Capabilities); 4] = [
    (old::Capabilities::READ, new::Capabilities::READ),
    (old::Capabilities::SEND, new::Capabilities::SEND),
    (old::Capabilities::MANAGE, new::Capabilities::MANAGE),
    (old::Capabilities::ADMIN, new::Capabilities::ADMIN),
];

/// The one difference: 0.1's `not-found` carried only the message.
impl Conv<old::CoreError> for new::CoreError {
    fn conv(self) -> old::CoreError {
        match self {
            new::CoreError::NotFound(m) => old::CoreError::NotFound(m.message),
            new::CoreError::Forbidden(m) => old::CoreError::Forbidden(m),
            new::CoreError::Invalid(m) => old::CoreError::Invalid(m),
            new::CoreError::Conflict(m) => old::CoreError::Conflict(m),
            new::CoreError::NotConnected(m) => old::CoreError::NotConnected(m),
            // 0.1 has no such case: the nearest is the caller's error.
            new::CoreError::TooLarge(m) => old::CoreError::Invalid(m),
            new::CoreError::RateLimited(ms) => old::CoreError::RateLimited(ms),
            new::CoreError::Internal(m) => old::CoreError::Internal(m),
        }
    }
}

/// Host functions of a 0.1 interface that call the current interface's: arguments
/// and answers converted with [`Conv`].
macro_rules! forward {
    ($cur:path; $(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(
            async fn $name(&mut self, $($arg: $ty),*) -> wasmtime::Result<$ret> {
                Ok(<V as $cur>::$name(&mut self.0, $($arg.conv()),*).await?.conv())
            }
        )*
    };
}

/// A current grant's view of a call, as the 0.1 interfaces see it: every 0.1 function
/// forwards to the view's current implementation. (A wrapper, because the generated
/// bindings already implement each `Host` for `&mut impl Host`.)
pub struct V01<V>(V);

impl<V: Send> old::Host for V01<V> {}

impl<V: cur::wit_core::Host> old_core::Host for V01<V> {
    forward! { cur::wit_core::Host;
        fn create_instance(name: String) -> Result<old::CreatedInstance, old::CoreError>;
        fn get_instance(which: old::InstanceRef) -> Result<old::Instance, old::CoreError>;
        fn list_instances() -> Result<Vec<old::Instance>, old::CoreError>;
        fn connect(which: old::InstanceRef, phone: Option<String>) -> Result<old::ConnectInfo, old::CoreError>;
        fn connection_state(which: old::InstanceRef) -> Result<old::ConnectionState, old::CoreError>;
        fn logout(which: old::InstanceRef) -> Result<old::Instance, old::CoreError>;
        fn delete_instance(which: old::InstanceRef) -> Result<old::Instance, old::CoreError>;
        fn send_text(which: old::InstanceRef, to: String, text: String) -> Result<old::Message, old::CoreError>;
        fn delete_message(which: old::InstanceRef, message_id: String, for_everyone: bool) -> Result<old::Message, old::CoreError>;
        fn delete_chat(which: old::InstanceRef, chat: String, media: bool) -> Result<String, old::CoreError>;
        fn update_chat(which: old::InstanceRef, chat: String, patch: old::ChatPatch) -> Result<old::Chat, old::CoreError>;
        fn get_chat(which: old::InstanceRef, chat: String) -> Result<old::Chat, old::CoreError>;
        fn list_chats(which: old::InstanceRef) -> Result<Vec<old::Chat>, old::CoreError>;
        fn list_messages(which: old::InstanceRef, chat: String, limit: u32, cursor: Option<String>) -> Result<old::MessagePage, old::CoreError>;
        fn get_webhooks(which: old::InstanceRef) -> Result<Vec<old::Webhook>, old::CoreError>;
        fn set_webhooks(which: old::InstanceRef, hooks: Vec<old::WebhookSpec>) -> Result<Vec<old::Webhook>, old::CoreError>;
        fn get_integration(which: old::InstanceRef, sink: String) -> Result<Option<old::Integration>, old::CoreError>;
        fn set_integration(which: old::InstanceRef, spec: old::IntegrationSpec) -> Result<old::Integration, old::CoreError>;
        fn delete_integration(which: old::InstanceRef, sink: String) -> Result<bool, old::CoreError>;
        fn normalize_jid(input: String) -> Result<String, old::CoreError>;
        fn rate_limit(bucket: String, limit: u32, window_ms: u64) -> old::RateDecision;
    }
}

impl<V: cur::identity::Host> old_identity::Host for V01<V> {
    forward! { cur::identity::Host;
        fn resolve(secret: String) -> Option<old::Principal>;
    }
}

impl<V: cur::http_out::Host> old_http::Host for V01<V> {
    forward! { cur::http_out::Host;
        fn fetch(req: old_http::OutboundRequest) -> Result<old_http::OutboundResponse, old_http::HttpError>;
    }
}

impl<V: cur::wit_config::Host> old_config::Host for V01<V> {
    forward! { cur::wit_config::Host;
        fn get(key: String) -> Option<String>;
    }
}

impl<V: cur::wit_cache::Host> old_cache::Host for V01<V> {
    forward! { cur::wit_cache::Host;
        fn get(key: String) -> Option<old_cache::Cached>;
        fn set(key: String, value: Vec<u8>, ttl_ms: u64) -> bool;
        fn delete(key: String) -> ();
    }
}

impl<V: cur::wit_storage::Host> old_storage::Host for V01<V> {
    forward! { cur::wit_storage::Host;
        fn get(instance_id: String, key: String) -> Result<Option<Vec<u8>>, String>;
        fn set(instance_id: String, key: String, value: Vec<u8>) -> Result<(), String>;
        fn delete(instance_id: String, key: String) -> Result<(), String>;
        fn integration(instance_id: String) -> Option<old::Integration>;
    }
}

impl<V: cur::wit_log::Host> old_log::Host for V01<V> {
    forward! { cur::wit_log::Host;
        fn log(level: old_log::Level, message: String) -> ();
    }
}

identity!(());

/// [`HasData`] markers: which grant view each 0.1 interface runs on, as the generated
/// `add_to_linker` functions want it.
macro_rules! views {
    ($($marker:ident => $view:ty;)*) => {$(
        struct $marker;
        impl HasData for $marker {
            type Data<'a> = V01<$view>;
        }
    )*};
}
views! {
    OnBase => &'a mut CallBase;
    OnCore => CoreView<'a>;
    OnIdentity => IdentityView<'a>;
    OnHttpOut => HttpOutView<'a>;
    OnStorage => StorageView<'a>;
}

/// Link every 0.1 interface (`wagate:plugin/...@0.1.0`) into a world's `linker`, each
/// served by the same grant view as its current counterpart (`grants::add_to_linker`).
pub fn add_to_linker<T>(linker: &mut Linker<T>) -> anyhow::Result<()>
where
    T: CallState + HasCore + HasIdentity + HasHttpOut + HasStorage,
{
    old::add_to_linker::<T, OnBase>(linker, |s| V01(s.base()))?;
    old_core::add_to_linker::<T, OnCore>(linker, |s| V01(s.core()))?;
    old_identity::add_to_linker::<T, OnIdentity>(linker, |s| V01(s.identity()))?;
    old_http::add_to_linker::<T, OnHttpOut>(linker, |s| V01(s.http_out()))?;
    old_config::add_to_linker::<T, OnBase>(linker, |s| V01(s.base()))?;
    old_cache::add_to_linker::<T, OnBase>(linker, |s| V01(s.base()))?;
    old_storage::add_to_linker::<T, OnStorage>(linker, |s| V01(s.storage()))?;
    old_log::add_to_linker::<T, OnBase>(linker, |s| V01(s.base()))?;
    Ok(())
}
