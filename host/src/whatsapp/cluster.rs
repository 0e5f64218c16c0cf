//! Cluster mode's link: the configured link (sim or real) behind the leases of
//! `store::leases`, so that an instance's WhatsApp session runs on exactly one node.
//!
//! - An operation on an instance whose lease this node holds goes to the inner link.
//! - One on an instance this node does not hold is refused with a clear message: the
//!   session runs on another node. (Forwarding it to the owner, `docs/design/cluster.md`
//!   step 4, is not built yet.)
//! - `connect` (pairing a new session) takes the lease first; an instance another live
//!   node holds is refused.
//! - `resume` at start only resumes what this node holds: the cluster coordinator
//!   (`crate::cluster`) takes leases and resumes their sessions.
//! - `logout` and `forget` end the session and drop the lease, so no node resumes it.
//!
//! Core does not know about any of this: it sees a [`Link`].

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    ChatPresence, Content, FoundNumber, IncomingCall, Link, LinkError, LinkProfile, MediaDownload,
    MessageRef, OutboundMedia, OutboundStatus, Pairing, Sent,
};
use crate::core::groups::{Group, GroupSetting, ParticipantAction, ParticipantResult};
use crate::core::model::{ChatPatch, ConnectionState};
use crate::store::Cluster;

/// The inner link behind this node's leases.
pub struct ClusterLink {
    inner: Arc<dyn Link>,
    cluster: Arc<Cluster>,
}

impl ClusterLink {
    /// `inner` behind the leases of `cluster`.
    pub fn new(inner: Arc<dyn Link>, cluster: Arc<Cluster>) -> Self {
        ClusterLink { inner, cluster }
    }

    /// The link sessions actually run on.
    pub fn inner(&self) -> &Arc<dyn Link> {
        &self.inner
    }

    /// `Ok` when the instance's session runs here.
    fn here(&self, instance_id: &str) -> Result<(), LinkError> {
        if self.cluster.held.holds(instance_id) {
            Ok(())
        } else {
            Err(LinkError::Rejected(
                "this instance's WhatsApp session runs on another node of the cluster; send this request to that node (forwarding between nodes is not built yet)".into(),
            ))
        }
    }

    /// Takes the instance's lease for this node (pairing starts here).
    async fn take(&self, instance_id: &str) -> Result<(), LinkError> {
        if self.cluster.held.holds(instance_id) {
            return Ok(());
        }
        let leases = self.cluster.leases.clone();
        let node = self.cluster.held.node_id().to_string();
        let id = instance_id.to_string();
        let token = tokio::task::spawn_blocking(move || leases.claim(&node, &id))
            .await
            .map_err(|e| LinkError::Failed(e.to_string()))?
            .map_err(|e| LinkError::Failed(format!("taking the instance's lease: {e}")))?;
        match token {
            Some(token) => {
                self.cluster.held.insert(instance_id, token);
                Ok(())
            }
            None => Err(LinkError::Rejected(
                "this instance's WhatsApp session runs on another node of the cluster; connect it there (forwarding between nodes is not built yet)".into(),
            )),
        }
    }

    /// Ends the session for good: its lease goes, so no node resumes it.
    async fn drop_lease(&self, instance_id: &str) {
        self.cluster.held.remove(instance_id);
        let leases = self.cluster.leases.clone();
        let id = instance_id.to_string();
        match tokio::task::spawn_blocking(move || leases.forget(&id)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(instance = %instance_id, error = %e, "dropping a lease")
            }
            Err(e) => tracing::warn!(instance = %instance_id, error = %e, "dropping a lease"),
        }
    }
}

/// Writes the `Link` impl: the methods given in full, then one that goes to the inner
/// link when the session runs here and is refused otherwise for each signature listed
/// (every such method's first argument is the instance id).
macro_rules! link_behind_leases {
    (
        own { $($own:item)* }
        here_only { $(
            async fn $name:ident(&self, instance_id: &str $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty;
        )* }
    ) => {
        #[async_trait]
        impl Link for ClusterLink {
            $($own)*
            $(
                async fn $name(&self, instance_id: &str $(, $arg: $ty)*) -> $ret {
                    self.here(instance_id)?;
                    self.inner.$name(instance_id $(, $arg)*).await
                }
            )*
        }
    };
}

link_behind_leases! {
    own {
        fn name(&self) -> &'static str {
            self.inner.name()
        }

        async fn connect(&self, instance_id: &str, phone: Option<&str>) -> Result<Pairing, LinkError> {
            self.take(instance_id).await?;
            self.inner.connect(instance_id, phone).await
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
            self.here(instance_id)?;
            self.inner.logout(instance_id).await?;
            self.drop_lease(instance_id).await;
            Ok(())
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
            self.inner.set_media_download(instance_id, choice)
        }

        fn set_full_history(&self, instance_id: &str, full: bool) {
            self.inner.set_full_history(instance_id, full)
        }

        fn set_proxy(&self, instance_id: &str, proxy: Option<crate::core::proxy::Proxy>) {
            self.inner.set_proxy(instance_id, proxy)
        }

        fn metrics_text(&self) -> String {
            self.inner.metrics_text()
        }
    }
    here_only {
        async fn send_text(&self, instance_id: &str, to: &str, text: &str) -> Result<Sent, LinkError>;
        async fn send_media(&self, instance_id: &str, to: &str, media: &OutboundMedia) -> Result<Sent, LinkError>;
        async fn send_content(&self, instance_id: &str, to: &str, content: &Content) -> Result<Sent, LinkError>;
        async fn edit_message(&self, instance_id: &str, chat: &str, message_id: &str, text: &str) -> Result<(), LinkError>;
        async fn send_reaction(&self, instance_id: &str, target: &MessageRef<'_>, emoji: &str) -> Result<Sent, LinkError>;
        async fn mark_read(&self, instance_id: &str, chat: &str, sender: &str, message_ids: &[String]) -> Result<(), LinkError>;
        async fn mark_chat_unread(&self, instance_id: &str, chat: &str) -> Result<(), LinkError>;
        async fn send_chat_presence(&self, instance_id: &str, chat: &str, presence: ChatPresence) -> Result<(), LinkError>;
        async fn set_presence(&self, instance_id: &str, available: bool) -> Result<(), LinkError>;
        async fn revoke(&self, instance_id: &str, chat: &str, message_id: &str, from_me: bool) -> Result<(), LinkError>;
        async fn delete_for_me(&self, instance_id: &str, chat: &str, message_id: &str, from_me: bool) -> Result<(), LinkError>;
        async fn delete_chat(&self, instance_id: &str, chat: &str) -> Result<(), LinkError>;
        async fn update_chat(&self, instance_id: &str, chat: &str, patch: &ChatPatch) -> Result<(), LinkError>;
        async fn restart(&self, instance_id: &str) -> Result<(), LinkError>;
        async fn send_status(&self, instance_id: &str, status: &OutboundStatus, recipients: &[String]) -> Result<Sent, LinkError>;
        async fn subscribe_presence(&self, instance_id: &str, jid: &str) -> Result<(), LinkError>;
        async fn fetch_profile(&self, instance_id: &str, jid: &str) -> Result<LinkProfile, LinkError>;
        async fn set_profile_name(&self, instance_id: &str, name: &str) -> Result<(), LinkError>;
        async fn set_profile_status(&self, instance_id: &str, status: &str) -> Result<(), LinkError>;
        async fn reject_call(&self, instance_id: &str, call: &IncomingCall) -> Result<(), LinkError>;
        async fn label_chat(&self, instance_id: &str, chat: &str, label_id: &str, labeled: bool) -> Result<(), LinkError>;
        async fn create_group(&self, instance_id: &str, subject: &str, participants: &[String]) -> Result<Group, LinkError>;
        async fn list_groups(&self, instance_id: &str) -> Result<Vec<Group>, LinkError>;
        async fn group_info(&self, instance_id: &str, group: &str) -> Result<Group, LinkError>;
        async fn set_group_subject(&self, instance_id: &str, group: &str, subject: &str) -> Result<(), LinkError>;
        async fn set_group_description(&self, instance_id: &str, group: &str, description: Option<&str>) -> Result<(), LinkError>;
        async fn set_group_setting(&self, instance_id: &str, group: &str, setting: GroupSetting) -> Result<(), LinkError>;
        async fn update_group_participants(&self, instance_id: &str, group: &str, action: ParticipantAction, participants: &[String]) -> Result<Vec<ParticipantResult>, LinkError>;
        async fn group_invite_code(&self, instance_id: &str, group: &str, revoke: bool) -> Result<String, LinkError>;
        async fn group_invite_info(&self, instance_id: &str, code: &str) -> Result<Group, LinkError>;
        async fn join_group(&self, instance_id: &str, code: &str) -> Result<String, LinkError>;
        async fn leave_group(&self, instance_id: &str, group: &str) -> Result<(), LinkError>;
        async fn check_numbers(&self, instance_id: &str, jids: &[String]) -> Result<Vec<FoundNumber>, LinkError>;
        async fn profile_picture_url(&self, instance_id: &str, jid: &str) -> Result<Option<String>, LinkError>;
        async fn set_picture(&self, instance_id: &str, target: &str, jpeg: Option<bytes::Bytes>) -> Result<(), LinkError>;
        async fn privacy_settings(&self, instance_id: &str) -> Result<Vec<crate::core::privacy::PrivacySetting>, LinkError>;
        async fn set_privacy(&self, instance_id: &str, setting: crate::core::privacy::PrivacySetting) -> Result<(), LinkError>;
        async fn business_profile(&self, instance_id: &str, jid: &str) -> Result<Option<crate::core::business::BusinessProfile>, LinkError>;
        async fn blocklist(&self, instance_id: &str) -> Result<Vec<String>, LinkError>;
        async fn set_blocked(&self, instance_id: &str, jid: &str, blocked: bool) -> Result<(), LinkError>;
    }
}
