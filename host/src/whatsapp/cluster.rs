//! Cluster mode's link: the configured link (sim or real) behind the leases of
//! `store::leases`, so that an instance's WhatsApp session runs on exactly one node,
//! and any node can still be asked to use it.
//!
//! - An operation on an instance whose lease this node holds goes to the inner link.
//! - One on an instance another node holds is **forwarded** to that node: its
//!   arguments go as JSON to the owner's `POST /_cluster/link` ([`FORWARD_PATH`]),
//!   authenticated by the secret the nodes share in the database, and the owner runs
//!   it on its own session ([`ClusterLink::serve_forwarded`]). The caller cannot tell
//!   which node it reached. Authorization happened on the node the caller reached (the
//!   link sits below core's checks), so the owner trusts a forwarded call as it trusts
//!   its own core.
//! - `connect` (pairing) takes the lease first if it is free; if another live node
//!   holds it, the pairing is forwarded there.
//! - `resume` at start only resumes what this node holds: the cluster coordinator
//!   (`crate::cluster`) takes leases and resumes their sessions.
//! - `logout` and `forget` end the session and drop the lease, so no node resumes it.
//! - The settings a session reads from its link's memory (media downloads, proxy, full
//!   history) are applied here and passed to the node running the session.
//!
//! Core does not know about any of this: it sees a [`Link`].

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{
    ChatPresence, Content, FoundNumber, IncomingCall, Link, LinkError, LinkProfile, MediaDownload,
    MessageRef, OutboundMedia, OutboundStatus, Pairing, Sent,
};
use crate::core::groups::{Group, GroupSetting, ParticipantAction, ParticipantResult};
use crate::core::model::{ChatPatch, ConnectionState};
use crate::store::Cluster;

/// The route a node serves forwarded link calls on.
pub const FORWARD_PATH: &str = "/_cluster/link";
/// The header a forwarded call carries the nodes' shared secret in.
pub const SECRET_HEADER: &str = "x-wagate-node-secret";

/// A link call one node forwards to the node running the session.
#[derive(Serialize, Deserialize)]
pub struct ForwardedCall {
    /// The instance whose session runs the call.
    pub instance: String,
    /// The [`Link`] method's name.
    pub op: String,
    /// Its arguments after the instance id, as a JSON array (`null` for none).
    pub args: serde_json::Value,
}

/// A [`MessageRef`] as a forwarded call carries it.
#[derive(Deserialize)]
struct WireMessageRef {
    chat: String,
    id: String,
    from_me: bool,
    sender: String,
}

impl WireMessageRef {
    fn as_ref(&self) -> MessageRef<'_> {
        MessageRef {
            chat: &self.chat,
            id: &self.id,
            from_me: self.from_me,
            sender: &self.sender,
        }
    }
}

/// The inner link behind this node's leases.
pub struct ClusterLink {
    inner: Arc<dyn Link>,
    cluster: Arc<Cluster>,
    forwarder: Forwarder,
}

/// Sends link calls to the node running a session.
#[derive(Clone)]
struct Forwarder {
    cluster: Arc<Cluster>,
    /// What forwarded calls carry, and what this node's forwarding route expects.
    secret: Arc<str>,
}

impl ClusterLink {
    /// `inner` behind the leases of `cluster`; calls between nodes carry `secret`.
    pub fn new(inner: Arc<dyn Link>, cluster: Arc<Cluster>, secret: String) -> Self {
        ClusterLink {
            inner,
            forwarder: Forwarder {
                cluster: cluster.clone(),
                secret: Arc::from(secret),
            },
            cluster,
        }
    }

    /// The link sessions actually run on.
    pub fn inner(&self) -> &Arc<dyn Link> {
        &self.inner
    }

    /// Whether `presented` is the nodes' shared secret.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        crate::util::ct_eq(presented, self.forwarder.secret.as_bytes())
    }

    /// `Ok` when the instance's session runs here.
    fn here(&self, instance_id: &str) -> Result<(), LinkError> {
        if self.cluster.held.holds(instance_id) {
            Ok(())
        } else {
            Err(LinkError::NotConnected)
        }
    }

    /// Takes the instance's lease for this node (pairing starts here); `false` when
    /// another live node holds it.
    async fn take(&self, instance_id: &str) -> Result<bool, LinkError> {
        if self.cluster.held.holds(instance_id) {
            return Ok(true);
        }
        let leases = self.cluster.leases.clone();
        let node = self.cluster.held.node_id().to_string();
        let id = instance_id.to_string();
        let token = lease_call("taking the instance's lease", move || {
            leases.claim(&node, &id)
        })
        .await?;
        Ok(match token {
            Some(token) => {
                self.cluster.held.insert(instance_id, token);
                true
            }
            None => false,
        })
    }

    /// Ends the session for good: its lease goes, so no node resumes it.
    async fn drop_lease(&self, instance_id: &str) {
        self.cluster.held.remove(instance_id);
        let leases = self.cluster.leases.clone();
        let id = instance_id.to_string();
        if let Err(e) = lease_call("dropping a lease", move || leases.forget(&id)).await {
            tracing::warn!(instance = %instance_id, error = %e, "dropping a lease");
        }
    }

    /// Sends `op` to the node running the session (see [`Forwarder::call`]).
    async fn forward(
        &self,
        instance_id: &str,
        op: &'static str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, LinkError> {
        self.forwarder.call(instance_id, op, args).await
    }

    /// A setting the session reads from its link's memory: applied here, and sent to
    /// the node running the session when that is another one (in the background: a
    /// session resumed later reads it from the stored record anyway).
    fn set_everywhere(&self, instance_id: &str, op: &'static str, args: serde_json::Value) {
        if self.cluster.held.holds(instance_id) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (forwarder, id) = (self.forwarder.clone(), instance_id.to_string());
        runtime.spawn(async move {
            match forwarder.call(&id, op, args).await {
                Ok(_) | Err(LinkError::NotConnected) => {}
                Err(e) => {
                    tracing::warn!(instance = %id, op, error = %e, "passing a setting to the session's node")
                }
            }
        });
    }
}

impl Forwarder {
    /// Sends `op` to the node holding the instance's lease and returns its answer. No
    /// live owner (a session being taken over, or never paired) reads as not connected.
    async fn call(
        &self,
        instance_id: &str,
        op: &'static str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, LinkError> {
        let leases = self.cluster.leases.clone();
        let id = instance_id.to_string();
        let owner = lease_call("looking up the instance's node", move || leases.owner(&id)).await?;
        let Some((node, address)) = owner else {
            return Err(LinkError::NotConnected);
        };
        if node == self.cluster.held.node_id() {
            // This node holds the lease in the database but has not started the
            // session yet (the coordinator is taking it over right now).
            return Err(LinkError::NotConnected);
        }
        let body = serde_json::to_vec(&ForwardedCall {
            instance: instance_id.to_string(),
            op: op.to_string(),
            args,
        })
        .map_err(|e| LinkError::Failed(e.to_string()))?;
        let secret = self.secret.clone();
        let target = address.clone();
        let response = tokio::task::spawn_blocking(move || {
            crate::client::request(
                &target,
                "POST",
                FORWARD_PATH,
                &[
                    (SECRET_HEADER, &secret),
                    ("content-type", "application/json"),
                ],
                Some(&body),
            )
        })
        .await
        .map_err(|e| LinkError::Failed(e.to_string()))?
        .map_err(|e| {
            LinkError::Failed(format!(
                "forwarding to node {node} at {address}: {}",
                crate::util::error_chain(e.as_ref())
            ))
        })?;
        if response.status != 200 {
            return Err(LinkError::Failed(format!(
                "node {node} answered {} to a forwarded call",
                response.status
            )));
        }
        serde_json::from_slice::<Result<serde_json::Value, LinkError>>(&response.body).map_err(
            |e| LinkError::Failed(format!("node {node} answered a forwarded call with {e}")),
        )?
    }
}

/// Runs a call of the lease book (synchronous) off the async workers; its failure is
/// the link's, said with `what`.
async fn lease_call<T: Send + 'static>(
    what: &'static str,
    call: impl FnOnce() -> Result<T, crate::store::kv::PgError> + Send + 'static,
) -> Result<T, LinkError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| LinkError::Failed(e.to_string()))?
        .map_err(|e| LinkError::Failed(format!("{what}: {e}")))
}

fn to_wire<T: Serialize>(value: &T) -> Result<serde_json::Value, LinkError> {
    serde_json::to_value(value).map_err(|e| LinkError::Failed(format!("encoding a call: {e}")))
}

fn from_wire<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, LinkError> {
    serde_json::from_value(value)
        .map_err(|e| LinkError::Failed(format!("decoding a forwarded call: {e}")))
}

/// Writes the `Link` impl and the forwarded calls' dispatcher: the methods given in
/// full, then for each signature listed one that runs on the inner link when the
/// session runs here and is forwarded to its node otherwise. Each argument says how it
/// travels: `name: Type [Owned => how the owned value is passed]`.
macro_rules! link_behind_leases {
    (
        own { $($own:item)* }
        forwarded { $(
            async fn $name:ident(&self, instance_id: &str $(, $arg:ident : $ty:ty [$owned:ty => $pass:expr])* $(,)?) -> Result<$ok:ty, LinkError>;
        )* }
    ) => {
        #[async_trait]
        impl Link for ClusterLink {
            $($own)*
            $(
                async fn $name(&self, instance_id: &str $(, $arg: $ty)*) -> Result<$ok, LinkError> {
                    if self.cluster.held.holds(instance_id) {
                        return self.inner.$name(instance_id $(, $arg)*).await;
                    }
                    let args = to_wire(&($($arg,)*))?;
                    from_wire(self.forward(instance_id, stringify!($name), args).await?)
                }
            )*
        }

        impl ClusterLink {
            /// Runs a call another node forwarded, on this node's session (never
            /// forwarded again: a session that moved meanwhile is not connected here).
            pub async fn serve_forwarded(
                &self,
                call: ForwardedCall,
            ) -> Result<serde_json::Value, LinkError> {
                let instance_id = call.instance.as_str();
                match call.op.as_str() {
                    "connect" => {
                        let (phone,): (Option<String>,) = from_wire(call.args)?;
                        self.here(instance_id)?;
                        to_wire(&self.inner.connect(instance_id, phone.as_deref()).await?)
                    }
                    "logout" => {
                        self.here(instance_id)?;
                        self.inner.logout(instance_id).await?;
                        self.drop_lease(instance_id).await;
                        to_wire(&())
                    }
                    "set_media_download" => {
                        let (choice,): (Option<MediaDownload>,) = from_wire(call.args)?;
                        self.here(instance_id)?;
                        self.inner.set_media_download(instance_id, choice);
                        to_wire(&())
                    }
                    "set_full_history" => {
                        let (full,): (bool,) = from_wire(call.args)?;
                        self.here(instance_id)?;
                        self.inner.set_full_history(instance_id, full);
                        to_wire(&())
                    }
                    "set_proxy" => {
                        let (proxy,): (Option<crate::core::proxy::Proxy>,) = from_wire(call.args)?;
                        self.here(instance_id)?;
                        self.inner.set_proxy(instance_id, proxy);
                        to_wire(&())
                    }
                    $(
                        stringify!($name) => {
                            #[allow(unused_parens)]
                            let ($($arg,)*): ($($owned,)*) = from_wire(call.args)?;
                            self.here(instance_id)?;
                            to_wire(&self.inner.$name(instance_id $(, $pass)*).await?)
                        }
                    )*
                    other => Err(LinkError::Failed(format!("unknown forwarded link call `{other}`"))),
                }
            }
        }
    };
}

link_behind_leases! {
    own {
        fn name(&self) -> &'static str {
            self.inner.name()
        }

        async fn connect(&self, instance_id: &str, phone: Option<&str>) -> Result<Pairing, LinkError> {
            if self.take(instance_id).await? {
                return self.inner.connect(instance_id, phone).await;
            }
            // Another live node runs the session: it pairs it again there.
            let reply = self.forward(instance_id, "connect", to_wire(&(phone,))?).await?;
            from_wire(reply)
        }

        async fn resume(&self, instance_id: &str, owner_jid: &str) -> Result<(), LinkError> {
            // At start every paired instance is offered; only those held run here.
            if self.cluster.held.holds(instance_id) {
                self.inner.resume(instance_id, owner_jid).await
            } else {
                Ok(())
            }
        }

        fn state(&self, instance_id: &str) -> ConnectionState {
            self.inner.state(instance_id)
        }

        fn runs_here(&self, instance_id: &str) -> bool {
            self.cluster.held.holds(instance_id)
        }

        async fn logout(&self, instance_id: &str) -> Result<(), LinkError> {
            if self.cluster.held.holds(instance_id) {
                self.inner.logout(instance_id).await?;
                self.drop_lease(instance_id).await;
                return Ok(());
            }
            let reply = self.forward(instance_id, "logout", to_wire(&())?).await?;
            from_wire(reply)
        }

        async fn forget(&self, instance_id: &str) {
            // The keys go whichever node deletes the instance; the session stops where
            // it runs when that node's next renewal finds the lease gone.
            self.inner.forget(instance_id).await;
            self.drop_lease(instance_id).await;
        }

        async fn release(&self, instance_id: &str) {
            self.inner.release(instance_id).await;
        }

        fn set_media_download(&self, instance_id: &str, choice: Option<MediaDownload>) {
            if let Ok(args) = to_wire(&(&choice,)) {
                self.set_everywhere(instance_id, "set_media_download", args);
            }
            self.inner.set_media_download(instance_id, choice)
        }

        fn set_full_history(&self, instance_id: &str, full: bool) {
            if let Ok(args) = to_wire(&(full,)) {
                self.set_everywhere(instance_id, "set_full_history", args);
            }
            self.inner.set_full_history(instance_id, full)
        }

        fn set_proxy(&self, instance_id: &str, proxy: Option<crate::core::proxy::Proxy>) {
            if let Ok(args) = to_wire(&(&proxy,)) {
                self.set_everywhere(instance_id, "set_proxy", args);
            }
            self.inner.set_proxy(instance_id, proxy)
        }

        fn metrics_text(&self) -> String {
            self.inner.metrics_text()
        }
    }
    forwarded {
        async fn send_text(&self, instance_id: &str, to: &str [String => &to], text: &str [String => &text]) -> Result<Sent, LinkError>;
        async fn send_media(&self, instance_id: &str, to: &str [String => &to], media: &OutboundMedia [OutboundMedia => &media]) -> Result<Sent, LinkError>;
        async fn send_content(&self, instance_id: &str, to: &str [String => &to], content: &Content [Content => &content]) -> Result<Sent, LinkError>;
        async fn edit_message(&self, instance_id: &str, chat: &str [String => &chat], message_id: &str [String => &message_id], text: &str [String => &text]) -> Result<(), LinkError>;
        async fn send_reaction(&self, instance_id: &str, target: &MessageRef<'_> [WireMessageRef => &target.as_ref()], emoji: &str [String => &emoji]) -> Result<Sent, LinkError>;
        async fn mark_read(&self, instance_id: &str, chat: &str [String => &chat], sender: &str [String => &sender], message_ids: &[String] [Vec<String> => &message_ids]) -> Result<(), LinkError>;
        async fn mark_chat_unread(&self, instance_id: &str, chat: &str [String => &chat]) -> Result<(), LinkError>;
        async fn send_chat_presence(&self, instance_id: &str, chat: &str [String => &chat], presence: ChatPresence [ChatPresence => presence]) -> Result<(), LinkError>;
        async fn set_presence(&self, instance_id: &str, available: bool [bool => available]) -> Result<(), LinkError>;
        async fn revoke(&self, instance_id: &str, chat: &str [String => &chat], message_id: &str [String => &message_id], from_me: bool [bool => from_me]) -> Result<(), LinkError>;
        async fn delete_for_me(&self, instance_id: &str, chat: &str [String => &chat], message_id: &str [String => &message_id], from_me: bool [bool => from_me]) -> Result<(), LinkError>;
        async fn delete_chat(&self, instance_id: &str, chat: &str [String => &chat]) -> Result<(), LinkError>;
        async fn update_chat(&self, instance_id: &str, chat: &str [String => &chat], patch: &ChatPatch [ChatPatch => &patch]) -> Result<(), LinkError>;
        async fn restart(&self, instance_id: &str) -> Result<(), LinkError>;
        async fn send_status(&self, instance_id: &str, status: &OutboundStatus [OutboundStatus => &status], recipients: &[String] [Vec<String> => &recipients]) -> Result<Sent, LinkError>;
        async fn subscribe_presence(&self, instance_id: &str, jid: &str [String => &jid]) -> Result<(), LinkError>;
        async fn fetch_profile(&self, instance_id: &str, jid: &str [String => &jid]) -> Result<LinkProfile, LinkError>;
        async fn set_profile_name(&self, instance_id: &str, name: &str [String => &name]) -> Result<(), LinkError>;
        async fn set_profile_status(&self, instance_id: &str, status: &str [String => &status]) -> Result<(), LinkError>;
        async fn reject_call(&self, instance_id: &str, call: &IncomingCall [IncomingCall => &call]) -> Result<(), LinkError>;
        async fn label_chat(&self, instance_id: &str, chat: &str [String => &chat], label_id: &str [String => &label_id], labeled: bool [bool => labeled]) -> Result<(), LinkError>;
        async fn create_group(&self, instance_id: &str, subject: &str [String => &subject], participants: &[String] [Vec<String> => &participants]) -> Result<Group, LinkError>;
        async fn list_groups(&self, instance_id: &str) -> Result<Vec<Group>, LinkError>;
        async fn group_info(&self, instance_id: &str, group: &str [String => &group]) -> Result<Group, LinkError>;
        async fn set_group_subject(&self, instance_id: &str, group: &str [String => &group], subject: &str [String => &subject]) -> Result<(), LinkError>;
        async fn set_group_description(&self, instance_id: &str, group: &str [String => &group], description: Option<&str> [Option<String> => description.as_deref()]) -> Result<(), LinkError>;
        async fn set_group_setting(&self, instance_id: &str, group: &str [String => &group], setting: GroupSetting [GroupSetting => setting]) -> Result<(), LinkError>;
        async fn update_group_participants(&self, instance_id: &str, group: &str [String => &group], action: ParticipantAction [ParticipantAction => action], participants: &[String] [Vec<String> => &participants]) -> Result<Vec<ParticipantResult>, LinkError>;
        async fn group_invite_code(&self, instance_id: &str, group: &str [String => &group], revoke: bool [bool => revoke]) -> Result<String, LinkError>;
        async fn group_invite_info(&self, instance_id: &str, code: &str [String => &code]) -> Result<Group, LinkError>;
        async fn join_group(&self, instance_id: &str, code: &str [String => &code]) -> Result<String, LinkError>;
        async fn leave_group(&self, instance_id: &str, group: &str [String => &group]) -> Result<(), LinkError>;
        async fn check_numbers(&self, instance_id: &str, jids: &[String] [Vec<String> => &jids]) -> Result<Vec<FoundNumber>, LinkError>;
        async fn profile_picture_url(&self, instance_id: &str, jid: &str [String => &jid]) -> Result<Option<String>, LinkError>;
        async fn set_picture(&self, instance_id: &str, target: &str [String => &target], jpeg: Option<bytes::Bytes> [Option<bytes::Bytes> => jpeg]) -> Result<(), LinkError>;
        async fn privacy_settings(&self, instance_id: &str) -> Result<Vec<crate::core::privacy::PrivacySetting>, LinkError>;
        async fn set_privacy(&self, instance_id: &str, setting: crate::core::privacy::PrivacySetting [crate::core::privacy::PrivacySetting => setting]) -> Result<(), LinkError>;
        async fn business_profile(&self, instance_id: &str, jid: &str [String => &jid]) -> Result<Option<crate::core::business::BusinessProfile>, LinkError>;
        async fn blocklist(&self, instance_id: &str) -> Result<Vec<String>, LinkError>;
        async fn set_blocked(&self, instance_id: &str, jid: &str [String => &jid], blocked: bool [bool => blocked]) -> Result<(), LinkError>;
    }
}
