//! The `core` grant: a dialect calls the gateway's operations, always as the principal
//! the mount's auth plugins resolved for this request (a dialect cannot name another).
//! Each WIT function is one call of [`crate::core::Core`]; the type conversions live in
//! [`crate::plugin::convert`]. Only `dialect` calls carry its context.

use std::collections::BTreeSet;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use crate::core::Core;
use crate::core::model::{self, Principal};
use crate::plugin::bindings::{types as wit, wit_core};
use crate::plugin::state::{AuthCall, CallBase, CallState, DialectCall, SinkCall};

/// What a `core` call needs: the core, the request's caller (bound to every call; a
/// dialect cannot name another) and the loaded sinks (what `set-integration` accepts).
pub struct CoreCtx {
    /// The gateway's core.
    pub core: Arc<Core>,
    /// The request's principal; `None` outside `handle` or for anonymous requests.
    pub principal: Option<Principal>,
    /// Names of the loaded sink plugins.
    pub loaded_sinks: Arc<BTreeSet<String>>,
    /// Where `attach-media` keeps the files the answer carries; `None` outside
    /// `handle`, whose answer is the only body the host splices them into.
    pub attachments: Option<crate::plugin::attachments::Attachments>,
}

/// The grant's view of one call.
pub struct CoreView<'a> {
    ctx: Option<&'a CoreCtx>,
    base: &'a mut CallBase,
}

/// Store data that hands out the `core` view.
pub trait HasCore {
    /// This call's view (`ctx: None` where the world does not grant core).
    fn core(&mut self) -> CoreView<'_>;
}

impl HasCore for DialectCall {
    fn core(&mut self) -> CoreView<'_> {
        CoreView {
            ctx: Some(&self.core),
            base: &mut self.base,
        }
    }
}

macro_rules! no_core {
    ($($t:ty),*) => {$(
        impl HasCore for $t {
            fn core(&mut self) -> CoreView<'_> {
                CoreView { ctx: None, base: &mut self.base }
            }
        }
    )*};
}
no_core!(AuthCall, SinkCall);

struct Grant;

impl HasData for Grant {
    type Data<'a> = CoreView<'a>;
}

/// Link `wagate:plugin/core`.
pub fn add_to_linker<T: CallState + HasCore>(linker: &mut Linker<T>) -> anyhow::Result<()> {
    wit_core::add_to_linker::<T, Grant>(linker, T::core)?;
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
        let timeout = $self.base.plugin.core_timeout;
        core_op!(@run_within $self, timeout, |$core, $p| $call)
    }};
    // The same with an explicit timeout (a media send, which may fetch a URL).
    (@run_within $self:ident, $timeout:expr, |$core:ident, $p:ident| $call:expr) => {{
        let Some(($core, $p)) = $self.caller() else {
            return Ok(Err(wit::CoreError::Forbidden(
                "no authenticated caller".into(),
            )));
        };
        let timeout: std::time::Duration = $timeout;
        match $self
            .base
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

impl CoreView<'_> {
    /// The core and the caller, when this call has both.
    fn caller(&self) -> Option<(Arc<Core>, Principal)> {
        let ctx = self.ctx?;
        Some((ctx.core.clone(), ctx.principal.clone()?))
    }

    /// The deadline of a call that may fetch a media URL: the fetch runs inside the
    /// call under `[media]`'s own timeouts, which the grant's usual timeout (10 s)
    /// must not cut.
    fn media_timeout(&self) -> std::time::Duration {
        match self.caller() {
            Some((core, _)) => self.base.plugin.core_timeout.max(core.media_send_timeout()),
            None => self.base.plugin.core_timeout,
        }
    }
}

impl wit_core::Host for CoreView<'_> {
    async fn get_webhooks(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<Vec<wit::Webhook>, wit::CoreError>> {
        let which = which.into();
        // The calling plugin is the dialect that owns these webhooks.
        let dialect = self.base.plugin.name.clone();
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
        let dialect = self.base.plugin.name.clone();
        let specs: Vec<model::WebhookSpec> = hooks.into_iter().map(Into::into).collect();
        core_op!(
            self,
            list | core,
            p | core.set_webhooks(&p, &which, &dialect, specs).await
        )
    }

    async fn get_socketio(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<Option<wit::SocketioSettings>, wit::CoreError>> {
        let which = which.into();
        let res = core_op!(@run self, |core, p| core.get_socketio(&p, &which).await);
        Ok(res.and_then(|r| r.map(|s| s.map(Into::into)).map_err(Into::into)))
    }

    async fn set_socketio(
        &mut self,
        which: wit::InstanceRef,
        settings: wit::SocketioSettings,
    ) -> wasmtime::Result<Result<wit::SocketioSettings, wit::CoreError>> {
        let which = which.into();
        let settings = settings.into();
        core_op!(self, |core, p| core
            .set_socketio(&p, &which, settings)
            .await)
    }

    async fn create_instance(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<wit::CreatedInstance, wit::CoreError>> {
        core_op!(self, |core, p| core.create_instance(&p, &name).await)
    }

    async fn create_instance_with(
        &mut self,
        name: String,
        options: wit::CreateOptions,
    ) -> wasmtime::Result<Result<wit::CreatedInstance, wit::CoreError>> {
        let options = options.into();
        core_op!(self, |core, p| core
            .create_instance_with(&p, &name, &options)
            .await)
    }

    async fn restart_instance(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<wit::Instance, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.restart_instance(&p, &which).await)
    }

    async fn get_instance_stats(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<wit::InstanceStats, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.instance_stats(&p, &which).await)
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
        let origin = self.base.plugin.name.clone();
        core_op!(self, |core, p| core
            .send_text_from(&p, &which, &to, &text, Some(&origin))
            .await)
    }

    async fn send_media(
        &mut self,
        which: wit::InstanceRef,
        to: String,
        media: wit::MediaSend,
    ) -> wasmtime::Result<Result<wit::Message, wit::CoreError>> {
        let which = which.into();
        let origin = self.base.plugin.name.clone();
        let req = media.into();
        let timeout = self.media_timeout();
        let res = core_op!(@run_within self, timeout, |core, p| core
            .send_media(&p, &which, &to, req, Some(&origin))
            .await);
        Ok(res.and_then(|r| r.map(Into::into).map_err(Into::into)))
    }

    async fn get_media(
        &mut self,
        which: wit::InstanceRef,
        message_id: String,
    ) -> wasmtime::Result<Result<wit::MediaFile, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .get_media(&p, &which, &message_id)
            .await)
    }

    async fn attach_media(
        &mut self,
        which: wit::InstanceRef,
        message_id: String,
        encoding: wit::MediaEncoding,
    ) -> wasmtime::Result<Result<wit::MediaAttachment, wit::CoreError>> {
        use crate::plugin::attachments::{Encoding, MAX_PER_CALL};
        let Some(attachments) = self.ctx.and_then(|c| c.attachments.clone()) else {
            return Ok(Err(wit::CoreError::Forbidden(
                "media is attached only to the answer of `handle`".into(),
            )));
        };
        let which = which.into();
        let encoding = match encoding {
            wit::MediaEncoding::Raw => Encoding::Raw,
            wit::MediaEncoding::Base64 => Encoding::Base64,
        };
        let got = core_op!(@run self, |core, p| core.get_media(&p, &which, &message_id).await);
        Ok(got.and_then(|r| {
            let (bytes, info) = r.map_err(wit::CoreError::from)?;
            let encoded_length = encoding.encoded_len(bytes.len()) as u64;
            let reference = attachments.attach(bytes, encoding).ok_or_else(|| {
                wit::CoreError::Invalid(format!(
                    "an answer carries at most {MAX_PER_CALL} attached media"
                ))
            })?;
            Ok(wit::MediaAttachment {
                info: info.into(),
                reference,
                encoded_length,
            })
        }))
    }

    async fn get_media_url(
        &mut self,
        which: wit::InstanceRef,
        message_id: String,
        expires_in_secs: Option<u32>,
    ) -> wasmtime::Result<Result<Option<wit::MediaUrl>, wit::CoreError>> {
        let which = which.into();
        let expires_in = expires_in_secs.map(|s| std::time::Duration::from_secs(s.into()));
        core_op!(self, |core, p| core
            .get_media_url(&p, &which, &message_id, expires_in)
            .await
            .map(|u| u.map(Into::into)))
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
        if !self
            .ctx
            .is_some_and(|c| c.loaded_sinks.contains(&spec.sink))
        {
            return Ok(Err(wit::CoreError::NotFound(wit::Missing {
                kind: wit::ResourceKind::Sink,
                message: format!("no sink plugin named `{}` is loaded", spec.sink),
            })));
        }
        let which = which.into();
        let spec: model::IntegrationSpec = spec.into();
        core_op!(self, |core, p| core.set_integration(&p, &which, spec).await)
    }

    async fn get_broker(
        &mut self,
        which: wit::InstanceRef,
        broker: String,
    ) -> wasmtime::Result<Result<Option<wit::BrokerDestination>, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .get_broker(&p, &which, &broker)
            .await
            .map(|d| d.map(Into::into)))
    }

    async fn set_broker(
        &mut self,
        which: wit::InstanceRef,
        spec: wit::BrokerSpec,
    ) -> wasmtime::Result<Result<wit::BrokerDestination, wit::CoreError>> {
        let which = which.into();
        // The destination renders through the dialect that sets it.
        let dialect = self.base.plugin.name.clone();
        let spec: crate::core::brokers::BrokerSpec = spec.into();
        core_op!(self, |core, p| core
            .set_broker(&p, &which, &dialect, spec)
            .await)
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

    async fn get_message(
        &mut self,
        which: wit::InstanceRef,
        message_id: String,
    ) -> wasmtime::Result<Result<wit::Message, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .get_message(&p, &which, &message_id)
            .await)
    }

    async fn normalize_jid(
        &mut self,
        input: String,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        Ok(crate::core::jid::normalize(&input).map_err(Into::into))
    }

    async fn rate_limit(
        &mut self,
        bucket: String,
        limit: u32,
        window_ms: u64,
    ) -> wasmtime::Result<wit::RateDecision> {
        // Scoped to this plugin and the caller, so plugins and callers never share a bucket.
        let Some(ctx) = self.ctx else {
            // No core in this world: nothing is allowed.
            return Ok(wit::RateDecision {
                allowed: false,
                limit,
                remaining: 0,
                reset_at: 0,
            });
        };
        let subject = ctx
            .principal
            .as_ref()
            .map(|p| p.subject.as_str())
            .unwrap_or("-");
        let scoped = format!("plugin:{}:{}:{}", self.base.plugin.name, subject, bucket);
        Ok(ctx.core.rate_limit(&scoped, limit, window_ms).into())
    }

    // ---- Groups (issue 16) ---------------------------------------------------------

    async fn create_group(
        &mut self,
        which: wit::InstanceRef,
        spec: wit::GroupCreate,
    ) -> wasmtime::Result<Result<wit::Group, wit::CoreError>> {
        let (which, spec) = (which.into(), spec.into());
        core_op!(self, |core, p| core.create_group(&p, &which, spec).await)
    }

    async fn list_groups(
        &mut self,
        which: wit::InstanceRef,
        limit: u32,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<wit::GroupPage, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .list_groups(&p, &which, limit, cursor.as_deref())
            .await)
    }

    async fn get_group(
        &mut self,
        which: wit::InstanceRef,
        group: String,
    ) -> wasmtime::Result<Result<wit::Group, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.get_group(&p, &which, &group).await)
    }

    async fn set_group_subject(
        &mut self,
        which: wit::InstanceRef,
        group: String,
        subject: String,
    ) -> wasmtime::Result<Result<wit::Group, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .set_group_subject(&p, &which, &group, &subject)
            .await)
    }

    async fn set_group_description(
        &mut self,
        which: wit::InstanceRef,
        group: String,
        description: Option<String>,
    ) -> wasmtime::Result<Result<wit::Group, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .set_group_description(&p, &which, &group, description)
            .await)
    }

    async fn set_group_setting(
        &mut self,
        which: wit::InstanceRef,
        group: String,
        setting: wit::GroupSetting,
    ) -> wasmtime::Result<Result<wit::Group, wit::CoreError>> {
        let (which, setting) = (which.into(), setting.into());
        core_op!(self, |core, p| core
            .set_group_setting(&p, &which, &group, setting)
            .await)
    }

    async fn update_group_participants(
        &mut self,
        which: wit::InstanceRef,
        group: String,
        action: wit::ParticipantAction,
        participants: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<wit::ParticipantResult>, wit::CoreError>> {
        let (which, action) = (which.into(), action.into());
        core_op!(
            self,
            list | core,
            p | core
                .update_group_participants(&p, &which, &group, action, &participants)
                .await
        )
    }

    async fn group_invite_code(
        &mut self,
        which: wit::InstanceRef,
        group: String,
        revoke: bool,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .group_invite_code(&p, &which, &group, revoke)
            .await)
    }

    async fn group_invite_info(
        &mut self,
        which: wit::InstanceRef,
        code: String,
    ) -> wasmtime::Result<Result<wit::Group, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .group_invite_info(&p, &which, &code)
            .await)
    }

    async fn join_group(
        &mut self,
        which: wit::InstanceRef,
        code: String,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.join_group(&p, &which, &code).await)
    }

    async fn leave_group(
        &mut self,
        which: wit::InstanceRef,
        group: String,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.leave_group(&p, &which, &group).await)
    }

    // ---- Contacts (issue 16) -------------------------------------------------------

    async fn check_numbers(
        &mut self,
        which: wit::InstanceRef,
        numbers: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<wit::NumberCheck>, wit::CoreError>> {
        let which = which.into();
        core_op!(
            self,
            list | core,
            p | core.check_numbers(&p, &which, &numbers).await
        )
    }

    async fn list_contacts(
        &mut self,
        which: wit::InstanceRef,
        limit: u32,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<wit::ContactPage, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .list_contacts(&p, &which, limit, cursor.as_deref())
            .await)
    }

    async fn profile_picture_url(
        &mut self,
        which: wit::InstanceRef,
        who: String,
    ) -> wasmtime::Result<Result<Option<String>, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .profile_picture_url(&p, &which, &who)
            .await)
    }

    async fn set_blocked(
        &mut self,
        which: wit::InstanceRef,
        who: String,
        blocked: bool,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .set_blocked(&p, &which, &who, blocked)
            .await)
    }

    async fn send_reaction(
        &mut self,
        which: wit::InstanceRef,
        message_id: String,
        emoji: String,
    ) -> wasmtime::Result<Result<wit::ReactionUpdate, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .send_reaction(&p, &which, &message_id, &emoji)
            .await)
    }

    async fn mark_read(
        &mut self,
        which: wit::InstanceRef,
        message_ids: Vec<String>,
    ) -> wasmtime::Result<Result<u32, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .mark_read(&p, &which, &message_ids)
            .await)
    }

    async fn mark_chat_unread(
        &mut self,
        which: wit::InstanceRef,
        chat: String,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .mark_chat_unread(&p, &which, &chat)
            .await)
    }

    async fn send_chat_presence(
        &mut self,
        which: wit::InstanceRef,
        to: String,
        presence: wit::ChatPresence,
        delay_ms: u32,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        let which = which.into();
        let presence = presence.into();
        core_op!(self, |core, p| core
            .send_chat_presence(&p, &which, &to, presence, delay_ms)
            .await)
    }

    async fn subscribe_presence(
        &mut self,
        which: wit::InstanceRef,
        who: String,
    ) -> wasmtime::Result<Result<String, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .subscribe_presence(&p, &which, &who)
            .await)
    }

    async fn set_presence(
        &mut self,
        which: wit::InstanceRef,
        available: bool,
    ) -> wasmtime::Result<Result<(), wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .set_presence(&p, &which, available)
            .await)
    }

    async fn get_settings(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<wit::InstanceSettings, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.instance_settings(&p, &which).await)
    }

    async fn set_settings(
        &mut self,
        which: wit::InstanceRef,
        settings: wit::InstanceSettings,
    ) -> wasmtime::Result<Result<wit::InstanceSettings, wit::CoreError>> {
        let which = which.into();
        let settings = settings.into();
        core_op!(self, |core, p| core
            .set_instance_settings(&p, &which, settings)
            .await)
    }

    async fn get_proxy(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<Option<wit::ProxySettings>, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .instance_proxy(&p, &which)
            .await
            .map(|proxy| proxy.map(wit::ProxySettings::from)))
    }

    async fn set_proxy(
        &mut self,
        which: wit::InstanceRef,
        proxy: Option<wit::ProxySettings>,
    ) -> wasmtime::Result<Result<Option<wit::ProxySettings>, wit::CoreError>> {
        let which = which.into();
        let proxy = proxy.map(crate::core::proxy::Proxy::from);
        core_op!(self, |core, p| core
            .set_instance_proxy(&p, &which, proxy)
            .await
            .map(|proxy| proxy.map(wit::ProxySettings::from)))
    }

    async fn get_profile(
        &mut self,
        which: wit::InstanceRef,
        who: Option<String>,
    ) -> wasmtime::Result<Result<wit::Profile, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .get_profile(&p, &which, who.as_deref())
            .await)
    }

    async fn set_profile_name(
        &mut self,
        which: wit::InstanceRef,
        name: String,
    ) -> wasmtime::Result<Result<wit::Profile, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .set_profile_name(&p, &which, &name)
            .await)
    }

    async fn set_profile_status(
        &mut self,
        which: wit::InstanceRef,
        status: String,
    ) -> wasmtime::Result<Result<wit::Profile, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .set_profile_status(&p, &which, &status)
            .await)
    }

    async fn set_profile_picture(
        &mut self,
        which: wit::InstanceRef,
        image: Option<wit::MediaSource>,
    ) -> wasmtime::Result<Result<(), wit::CoreError>> {
        let which = which.into();
        let image = image.map(Into::into);
        let timeout = self.media_timeout();
        let res = core_op!(@run_within self, timeout, |core, p| core
            .set_profile_picture(&p, &which, image)
            .await);
        Ok(res.and_then(|r| r.map_err(Into::into)))
    }

    async fn set_group_picture(
        &mut self,
        which: wit::InstanceRef,
        group: String,
        image: Option<wit::MediaSource>,
    ) -> wasmtime::Result<Result<(), wit::CoreError>> {
        let which = which.into();
        let image = image.map(Into::into);
        let timeout = self.media_timeout();
        let res = core_op!(@run_within self, timeout, |core, p| core
            .set_group_picture(&p, &which, &group, image)
            .await);
        Ok(res.and_then(|r| r.map_err(Into::into)))
    }

    async fn list_blocked(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<Vec<String>, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core.list_blocked(&p, &which).await)
    }

    async fn list_labels(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<Vec<wit::Label>, wit::CoreError>> {
        let which = which.into();
        core_op!(self, list | core, p | core.list_labels(&p, &which).await)
    }

    async fn chat_labels(
        &mut self,
        which: wit::InstanceRef,
        chat: String,
    ) -> wasmtime::Result<Result<Vec<wit::Label>, wit::CoreError>> {
        let which = which.into();
        core_op!(
            self,
            list | core,
            p | core.chat_labels(&p, &which, &chat).await
        )
    }

    async fn label_chat(
        &mut self,
        which: wit::InstanceRef,
        chat: String,
        label_id: String,
        labeled: bool,
    ) -> wasmtime::Result<Result<wit::LabelAssociation, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .label_chat(&p, &which, &chat, &label_id, labeled)
            .await)
    }

    async fn get_privacy(
        &mut self,
        which: wit::InstanceRef,
    ) -> wasmtime::Result<Result<Vec<wit::PrivacySetting>, wit::CoreError>> {
        let which = which.into();
        core_op!(self, list | core, p | core.get_privacy(&p, &which).await)
    }

    async fn set_privacy(
        &mut self,
        which: wit::InstanceRef,
        settings: Vec<wit::PrivacySetting>,
    ) -> wasmtime::Result<Result<Vec<wit::PrivacySetting>, wit::CoreError>> {
        let which = which.into();
        let settings: Vec<_> = settings.into_iter().map(Into::into).collect();
        core_op!(
            self,
            list | core,
            p | core.set_privacy(&p, &which, &settings).await
        )
    }

    async fn get_business_profile(
        &mut self,
        which: wit::InstanceRef,
        who: String,
    ) -> wasmtime::Result<Result<Option<wit::BusinessProfile>, wit::CoreError>> {
        let which = which.into();
        let res = core_op!(@run self, |core, p| core.business_profile(&p, &which, &who).await);
        Ok(res.and_then(|r| r.map(|o| o.map(Into::into)).map_err(Into::into)))
    }

    async fn edit_message(
        &mut self,
        which: wit::InstanceRef,
        message_id: String,
        text: String,
    ) -> wasmtime::Result<Result<wit::Message, wit::CoreError>> {
        let which = which.into();
        core_op!(self, |core, p| core
            .edit_message(&p, &which, &message_id, &text)
            .await)
    }

    async fn send_content(
        &mut self,
        which: wit::InstanceRef,
        to: String,
        content: wit::MessageContent,
    ) -> wasmtime::Result<Result<wit::Message, wit::CoreError>> {
        let which = which.into();
        let content = content.into();
        let origin = self.base.plugin.name.clone();
        core_op!(self, |core, p| core
            .send_content(&p, &which, &to, content, Some(&origin))
            .await)
    }

    async fn send_status(
        &mut self,
        which: wit::InstanceRef,
        post: wit::StatusPost,
    ) -> wasmtime::Result<Result<wit::Message, wit::CoreError>> {
        let which = which.into();
        let origin = self.base.plugin.name.clone();
        let post = post.into();
        // A media status fetches its media as `send-media` does.
        let timeout = self.media_timeout();
        let res = core_op!(@run_within self, timeout, |core, p| core
            .send_status(&p, &which, post, Some(&origin))
            .await);
        Ok(res.and_then(|r| r.map(Into::into).map_err(Into::into)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::bindings::wit_core::Host;

    #[tokio::test]
    async fn calls_run_as_the_bound_caller_and_nowhere_else() {
        let (core, _dir) = super::super::tests::core().await;
        let (_, caller) = super::super::tests::api_key(&core, "acme").await;
        let mut base = super::super::tests::base("");

        let ctx = CoreCtx {
            core: core.clone(),
            principal: Some(caller),
            loaded_sinks: Arc::default(),
            attachments: None,
        };
        let mut view = CoreView {
            ctx: Some(&ctx),
            base: &mut base,
        };
        let created = view.create_instance("shop".into()).await.unwrap().unwrap();
        assert_eq!(created.instance.name, "shop");
        let listed = view.list_instances().await.unwrap().unwrap();
        assert_eq!(listed.len(), 1);
        // A sink that is not loaded cannot be named in an integration.
        let spec = wit::IntegrationSpec {
            sink: "nope".into(),
            url: "https://example.com".into(),
            settings: String::new(),
            secret_headers: None,
            enabled: true,
        };
        let which = wit::InstanceRef::Name("shop".into());
        assert!(matches!(
            view.set_integration(which, spec).await.unwrap(),
            Err(wit::CoreError::NotFound(m)) if m.kind == wit::ResourceKind::Sink
        ));

        // No caller (render-event, openapi, anonymous requests): refused.
        let anonymous = CoreCtx {
            principal: None,
            ..ctx
        };
        let mut view = CoreView {
            ctx: Some(&anonymous),
            base: &mut base,
        };
        assert!(matches!(
            view.list_instances().await.unwrap(),
            Err(wit::CoreError::Forbidden(_))
        ));

        // A world without the grant (a sink's deliver): refused, and rate limits deny.
        let mut view = CoreView {
            ctx: None,
            base: &mut base,
        };
        assert!(matches!(
            view.list_instances().await.unwrap(),
            Err(wit::CoreError::Forbidden(_))
        ));
        assert!(!view.rate_limit("b".into(), 5, 1000).await.unwrap().allowed);
    }
}
