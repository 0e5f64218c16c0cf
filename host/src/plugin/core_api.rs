//! The operations plugins reach, as a trait: implemented by [`crate::core::Core`], and
//! by test doubles, so the plugin runtime can be exercised without a store.

use async_trait::async_trait;

use crate::core::model::{
    Chat, ChatPatch, ConnectInfo, ConnectionState, CoreResult, CreatedInstance, Instance,
    InstanceRef, Integration, IntegrationSpec, Message, MessagePage, Principal, RateDecision,
    Webhook, WebhookSpec,
};

/// What the `core` and `identity` grants call. Every principal-taking method checks the
/// principal itself (core's authorization); the plugin runtime only binds it.
#[async_trait]
#[allow(missing_docs)]
pub trait CoreApi: Send + Sync + 'static {
    async fn create_instance(&self, p: &Principal, name: &str) -> CoreResult<CreatedInstance>;
    async fn get_instance(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Instance>;
    async fn list_instances(&self, p: &Principal) -> CoreResult<Vec<Instance>>;
    async fn connect(
        &self,
        p: &Principal,
        which: &InstanceRef,
        phone: Option<&str>,
    ) -> CoreResult<ConnectInfo>;
    async fn connection_state(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<ConnectionState>;
    async fn logout(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Instance>;
    async fn delete_instance(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Instance>;
    async fn send_text(
        &self,
        p: &Principal,
        which: &InstanceRef,
        to: &str,
        text: &str,
    ) -> CoreResult<Message>;
    async fn delete_message(
        &self,
        p: &Principal,
        which: &InstanceRef,
        id: &str,
        for_everyone: bool,
    ) -> CoreResult<Message>;
    async fn delete_chat(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        media: bool,
    ) -> CoreResult<String>;
    async fn update_chat(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        patch: ChatPatch,
    ) -> CoreResult<Chat>;
    async fn get_chat(&self, p: &Principal, which: &InstanceRef, chat: &str) -> CoreResult<Chat>;
    async fn list_chats(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Vec<Chat>>;
    async fn list_messages(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> CoreResult<MessagePage>;
    /// The webhooks of `which` that `dialect` set.
    async fn list_webhooks(
        &self,
        p: &Principal,
        which: &InstanceRef,
        dialect: &str,
    ) -> CoreResult<Vec<Webhook>>;
    /// Replace the webhooks of `which` that `dialect` set.
    async fn set_webhooks(
        &self,
        p: &Principal,
        which: &InstanceRef,
        dialect: &str,
        specs: Vec<WebhookSpec>,
    ) -> CoreResult<Vec<Webhook>>;
    /// [`CoreApi::send_text`] on behalf of plugin `origin` (stamped on the message).
    /// Doubles without origins fall back to `send_text`.
    async fn send_text_from(
        &self,
        p: &Principal,
        which: &InstanceRef,
        to: &str,
        text: &str,
        _origin: &str,
    ) -> CoreResult<Message> {
        self.send_text(p, which, to, text).await
    }
    /// The integration of `which` with `sink`.
    async fn get_integration(
        &self,
        _p: &Principal,
        _which: &InstanceRef,
        _sink: &str,
    ) -> CoreResult<Option<Integration>> {
        Err(unsupported())
    }
    /// Create or replace an integration (`spec.sink` already checked to be a loaded sink).
    async fn set_integration(
        &self,
        _p: &Principal,
        _which: &InstanceRef,
        _spec: IntegrationSpec,
    ) -> CoreResult<Integration> {
        Err(unsupported())
    }
    /// Remove an integration and everything that hangs on it.
    async fn delete_integration(
        &self,
        _p: &Principal,
        _which: &InstanceRef,
        _sink: &str,
    ) -> CoreResult<bool> {
        Err(unsupported())
    }
    /// Whether `p` can see instance `instance_id` (the `storage` grant's scope in `handle`).
    fn can_reach(&self, _p: &Principal, _instance_id: &str) -> bool {
        false
    }
    /// The integration of an instance with `sink`, unauthorized (the grant scopes).
    fn integration_of(&self, _instance_id: &str, _sink: &str) -> CoreResult<Option<Integration>> {
        Err(unsupported())
    }
    /// `plugin`'s stored value under `key` for an instance (the grant scopes).
    fn storage_get(
        &self,
        _plugin: &str,
        _instance_id: &str,
        _key: &str,
    ) -> CoreResult<Option<Vec<u8>>> {
        Err(unsupported())
    }
    /// Store a value durably.
    async fn storage_set(
        &self,
        _plugin: &str,
        _instance_id: &str,
        _key: &str,
        _value: Vec<u8>,
    ) -> CoreResult<()> {
        Err(unsupported())
    }
    /// Remove a stored value.
    async fn storage_delete(
        &self,
        _plugin: &str,
        _instance_id: &str,
        _key: &str,
    ) -> CoreResult<()> {
        Err(unsupported())
    }
    /// Count a hit on a host-kept bucket (already scoped by the caller).
    fn rate_limit(&self, bucket: &str, limit: u32, window_ms: u64) -> RateDecision;
    /// The principal of a stored credential matching `secret` (never an integration's
    /// inbound secret).
    async fn resolve_credential(&self, secret: &str) -> Option<Principal>;
    /// The principal of an integration's inbound secret matching `secret` (nothing
    /// else).
    async fn resolve_inbound_credential(&self, _secret: &str) -> Option<Principal> {
        None
    }
    /// Normalise a number or JID.
    fn normalize_jid(&self, input: &str) -> CoreResult<String>;
}

/// What the defaults of the newer methods answer (test doubles without a store).
fn unsupported() -> crate::core::model::CoreError {
    crate::core::model::CoreError::Internal("not supported by this core".into())
}

#[async_trait]
impl CoreApi for crate::core::Core {
    async fn send_text_from(
        &self,
        p: &Principal,
        which: &InstanceRef,
        to: &str,
        text: &str,
        origin: &str,
    ) -> CoreResult<Message> {
        crate::core::Core::send_text_from(self, p, which, to, text, Some(origin)).await
    }
    async fn get_integration(
        &self,
        p: &Principal,
        which: &InstanceRef,
        sink: &str,
    ) -> CoreResult<Option<Integration>> {
        crate::core::Core::get_integration(self, p, which, sink).await
    }
    async fn set_integration(
        &self,
        p: &Principal,
        which: &InstanceRef,
        spec: IntegrationSpec,
    ) -> CoreResult<Integration> {
        crate::core::Core::set_integration(self, p, which, spec).await
    }
    async fn delete_integration(
        &self,
        p: &Principal,
        which: &InstanceRef,
        sink: &str,
    ) -> CoreResult<bool> {
        crate::core::Core::delete_integration(self, p, which, sink).await
    }
    fn can_reach(&self, p: &Principal, instance_id: &str) -> bool {
        crate::core::Core::can_reach(self, p, instance_id)
    }
    fn integration_of(&self, instance_id: &str, sink: &str) -> CoreResult<Option<Integration>> {
        crate::core::Core::integration_of(self, instance_id, sink)
    }
    fn storage_get(
        &self,
        plugin: &str,
        instance_id: &str,
        key: &str,
    ) -> CoreResult<Option<Vec<u8>>> {
        crate::core::Core::storage_get(self, plugin, instance_id, key)
    }
    async fn storage_set(
        &self,
        plugin: &str,
        instance_id: &str,
        key: &str,
        value: Vec<u8>,
    ) -> CoreResult<()> {
        crate::core::Core::storage_set(self, plugin, instance_id, key, value).await
    }
    async fn storage_delete(&self, plugin: &str, instance_id: &str, key: &str) -> CoreResult<()> {
        crate::core::Core::storage_delete(self, plugin, instance_id, key).await
    }
    async fn create_instance(&self, p: &Principal, name: &str) -> CoreResult<CreatedInstance> {
        crate::core::Core::create_instance(self, p, name).await
    }
    async fn get_instance(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Instance> {
        crate::core::Core::get_instance(self, p, which).await
    }
    async fn list_instances(&self, p: &Principal) -> CoreResult<Vec<Instance>> {
        crate::core::Core::list_instances(self, p).await
    }
    async fn connect(
        &self,
        p: &Principal,
        which: &InstanceRef,
        phone: Option<&str>,
    ) -> CoreResult<ConnectInfo> {
        crate::core::Core::connect(self, p, which, phone).await
    }
    async fn connection_state(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<ConnectionState> {
        crate::core::Core::connection_state(self, p, which).await
    }
    async fn logout(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Instance> {
        crate::core::Core::logout(self, p, which).await
    }
    async fn delete_instance(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Instance> {
        crate::core::Core::delete_instance(self, p, which).await
    }
    async fn send_text(
        &self,
        p: &Principal,
        which: &InstanceRef,
        to: &str,
        text: &str,
    ) -> CoreResult<Message> {
        crate::core::Core::send_text(self, p, which, to, text).await
    }
    async fn delete_message(
        &self,
        p: &Principal,
        which: &InstanceRef,
        id: &str,
        for_everyone: bool,
    ) -> CoreResult<Message> {
        crate::core::Core::delete_message(self, p, which, id, for_everyone).await
    }
    async fn delete_chat(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        media: bool,
    ) -> CoreResult<String> {
        crate::core::Core::delete_chat(self, p, which, chat, media).await
    }
    async fn update_chat(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        patch: ChatPatch,
    ) -> CoreResult<Chat> {
        crate::core::Core::update_chat(self, p, which, chat, patch).await
    }
    async fn get_chat(&self, p: &Principal, which: &InstanceRef, chat: &str) -> CoreResult<Chat> {
        crate::core::Core::get_chat(self, p, which, chat).await
    }
    async fn list_chats(&self, p: &Principal, which: &InstanceRef) -> CoreResult<Vec<Chat>> {
        crate::core::Core::list_chats(self, p, which).await
    }
    async fn list_messages(
        &self,
        p: &Principal,
        which: &InstanceRef,
        chat: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> CoreResult<MessagePage> {
        crate::core::Core::list_messages(self, p, which, chat, limit, cursor).await
    }
    async fn list_webhooks(
        &self,
        p: &Principal,
        which: &InstanceRef,
        dialect: &str,
    ) -> CoreResult<Vec<Webhook>> {
        crate::core::Core::list_webhooks(self, p, which, dialect).await
    }
    async fn set_webhooks(
        &self,
        p: &Principal,
        which: &InstanceRef,
        dialect: &str,
        specs: Vec<WebhookSpec>,
    ) -> CoreResult<Vec<Webhook>> {
        crate::core::Core::set_webhooks(self, p, which, dialect, specs).await
    }

    fn rate_limit(&self, bucket: &str, limit: u32, window_ms: u64) -> RateDecision {
        crate::core::Core::rate_limit(self, bucket, limit, window_ms)
    }
    async fn resolve_credential(&self, secret: &str) -> Option<Principal> {
        crate::core::Core::resolve_credential(self, secret).await
    }
    async fn resolve_inbound_credential(&self, secret: &str) -> Option<Principal> {
        crate::core::Core::resolve_inbound_credential(self, secret).await
    }
    fn normalize_jid(&self, input: &str) -> CoreResult<String> {
        crate::core::jid::normalize(input)
    }
}
