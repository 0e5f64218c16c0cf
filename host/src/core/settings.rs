//! The per-instance behaviour switches Evolution users set on every instance (its
//! `/settings/set`): reject calls, ignore groups, always online, read messages and
//! status, full history. Stored with the instance and acted on where the behaviour
//! happens: calls in `calls.rs`, groups and reads in `ingest.rs`, presence when the
//! session opens, history when it pairs.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Core;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal};

/// The longest reply a rejected caller gets.
pub const MAX_CALL_REPLY_CHARS: usize = 4_096;

/// An instance's behaviour switches; every one is off on a new instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstanceSettings {
    /// Decline every incoming call.
    pub reject_calls: bool,
    /// Sent as a text to whoever calls (whether or not the call is declined, as
    /// Evolution does); `None` or empty: nothing is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_reply: Option<String>,
    /// Group messages are neither stored nor reported.
    pub ignore_groups: bool,
    /// Show the account online whenever its session opens (otherwise unavailable, so
    /// the phone keeps getting notifications).
    pub always_online: bool,
    /// Send read receipts for every incoming message as it arrives.
    pub read_messages: bool,
    /// Send read receipts for contacts' status updates as they arrive.
    pub read_status: bool,
    /// Ask WhatsApp for the full history, not the recent messages only, when the
    /// instance pairs (WhatsApp reads this at pairing only).
    pub sync_full_history: bool,
}

impl InstanceSettings {
    /// Refuses what the link could not act on.
    pub fn validate(&self) -> CoreResult<()> {
        if let Some(reply) = &self.call_reply
            && reply.chars().count() > MAX_CALL_REPLY_CHARS
        {
            return Err(CoreError::Invalid(format!(
                "the call reply is longer than {MAX_CALL_REPLY_CHARS} characters"
            )));
        }
        Ok(())
    }

    /// The reply to send a caller, if any.
    pub fn call_reply(&self) -> Option<&str> {
        self.call_reply
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }
}

impl Core {
    /// The instance's settings. Needs `read`.
    pub async fn instance_settings(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<InstanceSettings> {
        Ok(self.authorize(p, which, Capability::Read)?.behaviour)
    }

    /// Replaces the instance's settings; they apply from the next call, message or
    /// session start on (presence at once when the session is open). Needs `manage`.
    pub async fn set_instance_settings(
        self: &Arc<Self>,
        p: &Principal,
        which: &InstanceRef,
        settings: InstanceSettings,
    ) -> CoreResult<InstanceSettings> {
        settings.validate()?;
        let record = self.authorize(p, which, Capability::Manage)?;
        let stored = settings.clone();
        self.update_record(&record.instance.id, move |rec| {
            rec.behaviour = stored.clone()
        })
        .await?;
        self.apply_settings(&record.instance, &record.behaviour, &settings)
            .await;
        Ok(settings)
    }

    /// Hands the link what it acts on itself, and shows a changed presence at once.
    async fn apply_settings(
        self: &Arc<Self>,
        instance: &super::model::Instance,
        was: &InstanceSettings,
        now: &InstanceSettings,
    ) {
        self.link
            .set_full_history(&instance.id, now.sync_full_history);
        if was.always_online != now.always_online
            && self.live_state(instance) == super::model::ConnectionState::Open
        {
            self.show_presence(&instance.id, now.always_online);
        }
    }

    /// Shows the account online (or not) by the instance's `always_online`, off the
    /// caller's path (the ingest loop must not wait on one session's socket).
    pub(crate) fn show_presence(self: &Arc<Self>, instance_id: &str, always_online: bool) {
        let (core, id) = (self.clone(), instance_id.to_string());
        tokio::spawn(async move {
            if let Err(e) = core.link.set_presence(&id, always_online).await {
                tracing::warn!(instance = %id, error = %e, "setting the presence");
            }
        });
    }
}
