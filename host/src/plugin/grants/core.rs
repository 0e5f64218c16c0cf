//! The `core` grant: a dialect calls the gateway's operations, always as the principal
//! the mount's auth plugins resolved for this request (a dialect cannot name another).
//! Also holds the conversions between the WIT types and `core::model`.

use wasmtime::component::{HasSelf, Linker};

use crate::core::model;
use crate::plugin::bindings::{types as wit, wit_core};
use crate::plugin::state::PluginState;

/// Link `wagate:plugin/core`.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    wit_core::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    Ok(())
}

/// Run one core operation as the request's principal, with the grant's timeout, and
/// convert its result to the WIT types (`list` converts each element of a list).
macro_rules! core_op {
    ($self:ident, list |$core:ident, $p:ident| $call:expr) => {{
        let res = core_op!(@run $self, |$core, $p| $call);
        Ok(res.and_then(|r| r.map(|v| v.into_iter().map(Into::into).collect()).map_err(Into::into)))
    }};
    ($self:ident, |$core:ident, $p:ident| $call:expr) => {{
        let res = core_op!(@run $self, |$core, $p| $call);
        Ok(res.and_then(|r| r.map(Into::into).map_err(Into::into)))
    }};
    // The call itself: `Ok(core result)`, or `Err(wit error)` when there is no caller
    // or the call timed out.
    (@run $self:ident, |$core:ident, $p:ident| $call:expr) => {{
        let Some($p) = $self.principal.clone() else {
            return Ok(Err(wit::CoreError::Forbidden(
                "no authenticated caller".into(),
            )));
        };
        let $core = $self.core.clone();
        let timeout = $self.plugin.core_timeout;
        match $self
            .host_call(async move { tokio::time::timeout(timeout, async { $call }).await })
            .await
        {
            Ok(r) => Ok(r),
            Err(_) => Err(wit::CoreError::Internal(format!(
                "core call timed out after {timeout:?}"
            ))),
        }
    }};
}

impl wit_core::Host for PluginState {
    async fn get_webhooks(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<Vec<wit::Webhook>, wit::CoreError>> {
        let which = which.into();
        // The calling plugin is the dialect that owns these webhooks.
        let dialect = self.plugin.name.clone();
        core_op!(
            self,
            list | core,
            p | core.list_webhooks(&p, &which, &dialect).await
        )
    }

    async fn set_webhooks(
        &mut self,
        which: wit::InstanceRef,
        hooks: Vec<wit::WebhookSpec>,
    ) -> wasmtime::Result<Result<Vec<wit::Webhook>, wit::CoreError>> {
        let which = which.into();
        let dialect = self.plugin.name.clone();
        let specs: Vec<model::WebhookSpec> = hooks.into_iter().map(Into::into).collect();
        core_op!(
            self,
            list | core,
            p | core.set_webhooks(&p, &which, &dialect, specs).await
        )
    }
    async fn create_instance(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<wit::CreatedInstance, wit::CoreError>> {
        core_op!(self, |core, p| core.create_instance(&p, &name).await)
    }

    async fn get_instance(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<wit::Instance, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.get_instance(&p, &which).await)
    }

    async fn list_instances(
        &mut self,
    ) -> wasmtime::Result<Result<Vec<wit::Instance>, wit::CoreError>> {
        core_op!(self, list | core, p | core.list_instances(&p).await)
    }

    async fn connect(
        &mut self,
        which: wit::InstanceRef,
        phone: Option<String>,
    ) -> wasmtime::Result<Result<wit::ConnectInfo, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .connect(&p, &which, phone.as_deref())
            .await)
    }

    async fn connection_state(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<wit::ConnectionState, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.connection_state(&p, &which).await)
    }

    async fn logout(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<wit::Instance, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.logout(&p, &which).await)
    }

    async fn delete_instance(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<wit::Instance, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.delete_instance(&p, &which).await)
    }

    async fn send_text(
        &mut self,
        which: wit::InstanceRef,
        to: String,
        text: String,
    ) -> wasmtime::Result<Result<wit::Message, wit::CoreError>> {
        let which = which.into();
        // Stamped with this dialect's name, so a sink can tell its own sends apart.
        let origin = self.plugin.name.clone();
        core_op!(self, |core, p| core
            .send_text_from(&p, &which, &to, &text, &origin)
            .await)
    }

    async fn get_integration(
        &mut self,
        which: wit::InstanceRef,
        sink: String,
    ) -> wasmtime::Result<Result<Option<wit::Integration>, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .get_integration(&p, &which, &sink)
            .await
            .map(|i| i.map(Into::into)))
    }

    async fn set_integration(
        &mut self,
        which: wit::InstanceRef,
        spec: wit::IntegrationSpec,
    ) -> wasmtime::Result<Result<wit::Integration, wit::CoreError>> {
        // Only the runtime knows which plugins are loaded sinks; core trusts this check.
        if !self.loaded_sinks.contains(&spec.sink) {
            return Ok(Err(wit::CoreError::NotFound(wit::Missing {
                kind: wit::ResourceKind::Sink,
                message: format!("no sink plugin named `{}` is loaded", spec.sink),
            })));
        }
        let which = which.into();
        let spec: model::IntegrationSpec = spec.into();
        core_op!(self, |core, p| core.set_integration(&p, &which, spec).await)
    }

    async fn delete_integration(
        &mut self,
        which: wit::InstanceRef,
        sink: String,
    ) -> wasmtime::Result<Result<bool, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .delete_integration(&p, &which, &sink)
            .await)
    }

    async fn delete_message(
        &mut self,
        which: wit::InstanceRef,
        message_id: String,
        for_everyone: bool,
    ) -> wasmtime::Result<Result<wit::Message, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .delete_message(&p, &which, &message_id, for_everyone)
            .await)
    }

    async fn delete_chat(
        &mut self,
        which: wit::InstanceRef,
        chat: String,
        media: bool,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .delete_chat(&p, &which, &chat, media)
            .await)
    }

    async fn update_chat(
        &mut self,
        which: wit::InstanceRef,
        chat: String,
        patch: wit::ChatPatch,
    ) -> wasmtime::Result<Result<wit::Chat, wit::CoreError>> {
        let which = which.into();
        let patch = patch.into();
        core_op!(self, |core, p| core
            .update_chat(&p, &which, &chat, patch)
            .await)
    }

    async fn get_chat(
        &mut self,
        which: wit::InstanceRef,
        chat: String,
    ) -> wasmtime::Result<Result<wit::Chat, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.get_chat(&p, &which, &chat).await)
    }

    async fn list_chats(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<Vec<wit::Chat>, wit::CoreError>> {
        let which = which.into();
        core_op!(self, list | core, p | core.list_chats(&p, &which).await)
    }

    async fn list_messages(
        &mut self,
        which: wit::InstanceRef,
        chat: String,
        limit: u32,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<wit::MessagePage, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .list_messages(&p, &which, &chat, limit, cursor.as_deref())
            .await)
    }

    async fn normalize_jid(
        &mut self,
        input: String,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        Ok(self.core.normalize_jid(&input).map_err(Into::into))
    }

    async fn rate_limit(
        &mut self,
        bucket: String,
        limit: u32,
        window_ms: u64,
    ) -> wasmtime::Result<wit::RateDecision> {
        // Scoped to this plugin and the caller, so plugins and callers never share a bucket.
        let subject = self
            .principal
            .as_ref()
            .map(|p| p.subject.as_str())
            .unwrap_or("-");
        let scoped = format!("plugin:{}:{}:{}", self.plugin.name, subject, bucket);
        Ok(self.core.rate_limit(&scoped, limit, window_ms).into())
    }
}

// ---- conversions between core::model and the WIT types ------------------------------

impl From<wit::WebhookSpec> for model::WebhookSpec {
    fn from(w: wit::WebhookSpec) -> Self {
        model::WebhookSpec {
            url: w.url,
            events: w.events,
            headers: w.headers.into_iter().map(|h| (h.name, h.value)).collect(),
            enabled: w.enabled,
            secret: w.secret,
        }
    }
}

impl From<model::Webhook> for wit::Webhook {
    fn from(w: model::Webhook) -> Self {
        wit::Webhook {
            id: w.id,
            url: w.url,
            events: w.events,
            headers: w
                .headers
                .into_iter()
                .map(|(name, value)| wit::Header { name, value })
                .collect(),
            enabled: w.enabled,
            secret: w.secret,
            created_at: w.created_at,
        }
    }
}

impl From<wit::IntegrationSpec> for model::IntegrationSpec {
    fn from(i: wit::IntegrationSpec) -> Self {
        model::IntegrationSpec {
            sink: i.sink,
            url: i.url,
            settings: i.settings,
            secret_headers: i
                .secret_headers
                .map(|hs| hs.into_iter().map(|h| (h.name, h.value)).collect()),
            enabled: i.enabled,
        }
    }
}

impl From<model::Integration> for wit::Integration {
    fn from(i: model::Integration) -> Self {
        wit::Integration {
            sink: i.sink,
            url: i.url,
            settings: i.settings,
            enabled: i.enabled,
            secret_header_names: i.secret_header_names,
            inbound_secret: i.inbound_secret,
            created_at: i.created_at,
        }
    }
}

impl From<model::CoreError> for wit::CoreError {
    fn from(e: model::CoreError) -> Self {
        use model::CoreError as E;
        match e {
            E::NotFound(kind, message) => wit::CoreError::NotFound(wit::Missing {
                kind: kind.into(),
                message,
            }),
            E::Forbidden(m) => wit::CoreError::Forbidden(m),
            E::Invalid(m) => wit::CoreError::Invalid(m),
            E::Conflict(m) => wit::CoreError::Conflict(m),
            E::NotConnected(m) => wit::CoreError::NotConnected(m),
            E::RateLimited(ms) => wit::CoreError::RateLimited(ms),
            E::Internal(m) => wit::CoreError::Internal(m),
        }
    }
}

impl From<model::Resource> for wit::ResourceKind {
    fn from(r: model::Resource) -> Self {
        use model::Resource as R;
        match r {
            R::Instance => wit::ResourceKind::Instance,
            R::Chat => wit::ResourceKind::Chat,
            R::Message => wit::ResourceKind::Message,
            R::Webhook => wit::ResourceKind::Webhook,
            R::Integration => wit::ResourceKind::Integration,
            R::Sink => wit::ResourceKind::Sink,
            R::Org => wit::ResourceKind::Org,
            R::DeadLetter => wit::ResourceKind::DeadLetter,
        }
    }
}

impl From<wit::InstanceRef> for model::InstanceRef {
    fn from(r: wit::InstanceRef) -> Self {
        match r {
            wit::InstanceRef::Id(s) => model::InstanceRef::Id(s),
            wit::InstanceRef::Name(s) => model::InstanceRef::Name(s),
        }
    }
}

impl From<model::Capabilities> for wit::Capabilities {
    fn from(c: model::Capabilities) -> Self {
        let mut out = wit::Capabilities::empty();
        if c.read {
            out |= wit::Capabilities::READ;
        }
        if c.send {
            out |= wit::Capabilities::SEND;
        }
        if c.manage {
            out |= wit::Capabilities::MANAGE;
        }
        if c.admin {
            out |= wit::Capabilities::ADMIN;
        }
        out
    }
}

impl From<wit::Capabilities> for model::Capabilities {
    fn from(c: wit::Capabilities) -> Self {
        model::Capabilities {
            read: c.contains(wit::Capabilities::READ),
            send: c.contains(wit::Capabilities::SEND),
            manage: c.contains(wit::Capabilities::MANAGE),
            admin: c.contains(wit::Capabilities::ADMIN),
        }
    }
}

impl From<model::Principal> for wit::Principal {
    fn from(p: model::Principal) -> Self {
        wit::Principal {
            subject: p.subject,
            org: p.org,
            capabilities: p.caps.into(),
            instance: p.instance,
        }
    }
}

impl From<wit::Principal> for model::Principal {
    fn from(p: wit::Principal) -> Self {
        model::Principal {
            subject: p.subject,
            org: p.org,
            caps: p.capabilities.into(),
            instance: p.instance,
        }
    }
}

impl From<model::ConnectionState> for wit::ConnectionState {
    fn from(s: model::ConnectionState) -> Self {
        match s {
            model::ConnectionState::Disconnected => wit::ConnectionState::Disconnected,
            model::ConnectionState::Connecting => wit::ConnectionState::Connecting,
            model::ConnectionState::Open => wit::ConnectionState::Open,
            model::ConnectionState::Closed => wit::ConnectionState::Closed,
        }
    }
}

impl From<model::Instance> for wit::Instance {
    fn from(i: model::Instance) -> Self {
        wit::Instance {
            id: i.id,
            name: i.name,
            org: i.org,
            state: i.state.into(),
            owner_jid: i.owner_jid,
            created_at: i.created_at,
        }
    }
}

impl From<model::CreatedInstance> for wit::CreatedInstance {
    fn from(c: model::CreatedInstance) -> Self {
        wit::CreatedInstance {
            instance: c.instance.into(),
            token: c.token,
        }
    }
}

impl From<model::ConnectInfo> for wit::ConnectInfo {
    fn from(c: model::ConnectInfo) -> Self {
        wit::ConnectInfo {
            state: c.state.into(),
            qr: c.qr,
            pair_code: c.pair_code,
        }
    }
}

impl From<model::Chat> for wit::Chat {
    fn from(c: model::Chat) -> Self {
        wit::Chat {
            jid: c.jid,
            name: c.name,
            archived: c.archived,
            pinned: c.pinned,
            muted_until: c.muted_until,
            last_activity: c.last_activity,
        }
    }
}

impl From<wit::ChatPatch> for model::ChatPatch {
    fn from(p: wit::ChatPatch) -> Self {
        model::ChatPatch {
            archived: p.archived,
            pinned: p.pinned,
            muted_until: p.muted_until,
            unmute: p.unmute,
        }
    }
}

impl From<model::Message> for wit::Message {
    fn from(m: model::Message) -> Self {
        wit::Message {
            id: m.id,
            chat_jid: m.chat_jid,
            from_me: m.from_me,
            sender: m.sender,
            timestamp: m.timestamp,
            text: m.text,
            media: m.media,
            revoked: m.revoked,
            deleted_for_me: m.deleted_for_me,
        }
    }
}

impl From<model::MessagePage> for wit::MessagePage {
    fn from(p: model::MessagePage) -> Self {
        wit::MessagePage {
            messages: p.messages.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

impl From<model::RateDecision> for wit::RateDecision {
    fn from(d: model::RateDecision) -> Self {
        wit::RateDecision {
            allowed: d.allowed,
            limit: d.limit,
            remaining: d.remaining,
            reset_at: d.reset_at,
        }
    }
}

impl From<model::EventPayload> for wit::EventPayload {
    fn from(p: model::EventPayload) -> Self {
        use model::EventPayload as P;
        match p {
            P::MessageUpsert(m) => wit::EventPayload::MessageUpsert(m.into()),
            P::MessageRevoked(m) => wit::EventPayload::MessageRevoked(m.into()),
            P::MessageDeleted(m) => wit::EventPayload::MessageDeleted(m.into()),
            P::ChatDeleted(j) => wit::EventPayload::ChatDeleted(j),
            P::ChatUpdated(c) => wit::EventPayload::ChatUpdated(c.into()),
            P::ConnectionUpdate(s) => wit::EventPayload::ConnectionUpdate(s.into()),
            P::QrUpdated(q) => wit::EventPayload::QrUpdated(q),
            P::InstanceDeleted(i) => wit::EventPayload::InstanceDeleted(i.into()),
            P::InstanceCreated(i) => wit::EventPayload::InstanceCreated(i.into()),
        }
    }
}

impl From<model::Event> for wit::Event {
    fn from(e: model::Event) -> Self {
        wit::Event {
            id: e.id,
            instance_id: e.instance_id,
            instance_name: e.instance_name,
            org: e.org,
            timestamp: e.timestamp,
            payload: e.payload.into(),
        }
    }
}
