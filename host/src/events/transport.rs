//! The dispatcher's transport over the plugin host: dialect plugins render (integrations
//! get the native `/core` JSON), and the destination's sink plugin sends through
//! http-out: `webhook` for plain webhooks, the integration's sink (`chatwoot`) else.
//! Broker destinations are published by the host's broker clients ([`super::brokers`]).

use async_trait::async_trait;

use super::brokers::Brokers;
use super::dispatcher::{MediaWait, Outcome, Transport};
use crate::core::deliveries::DeliveryOutcome;
use crate::core::model::NATIVE_DIALECT;
use crate::core::model::{Event, Webhook};
use crate::plugin::{Delivery, PluginHost};

/// The bundled sink that POSTs to webhooks.
pub use crate::core::model::WEBHOOK_SINK;

/// The dispatcher's [`Transport`] in production: renders and sends through plugins.
pub struct PluginTransport {
    /// The loaded dialects (to render) and sinks (to send).
    pub plugins: PluginHost,
    /// The configured message brokers.
    pub brokers: std::sync::Arc<Brokers>,
}

#[async_trait]
impl Transport for PluginTransport {
    async fn render(&self, hook: &Webhook, event: &Event) -> anyhow::Result<Option<Vec<u8>>> {
        if hook.dialect == NATIVE_DIALECT {
            return Ok(Some(serde_json::to_vec(event)?));
        }
        self.plugins
            .render_event(
                &hook.dialect,
                event,
                crate::plugin::RenderTarget::Webhook,
                Some(hook),
            )
            .await
    }

    async fn send(&self, hook: &Webhook, event: &Event, body: Vec<u8>) -> anyhow::Result<Outcome> {
        if hook.broker.is_some() {
            return self.brokers.publish(hook, event, body).await;
        }
        let outcome = self
            .plugins
            .deliver(&hook.sink, Some(hook), &[(event.clone(), body)])
            .await?;
        Ok(match outcome {
            Delivery::Ok => Outcome::Delivered,
            Delivery::RetryAfter(ms) => Outcome::RetryAfter(ms),
            Delivery::Permanent(reason) => Outcome::Permanent(reason),
        })
    }

    fn observe(&self, hook: &Webhook, outcome: DeliveryOutcome) {
        if hook.broker.is_some() {
            self.brokers.observe(hook, outcome);
        }
    }
}

#[async_trait]
impl MediaWait for crate::core::Core {
    fn remaining(&self, instance_id: &str, message_id: &str) -> Option<std::time::Duration> {
        self.pending_media().remaining(instance_id, message_id)
    }

    fn settles(&self) -> tokio::sync::watch::Receiver<u64> {
        self.pending_media().settles()
    }

    async fn current_media(
        &self,
        instance_id: &str,
        message_id: &str,
    ) -> Option<crate::core::model::MediaInfo> {
        match self.find_message(instance_id, message_id) {
            Ok(m) => m.and_then(|m| m.media),
            Err(e) => {
                tracing::warn!(instance = %instance_id, message = %message_id, error = %e, "reading a message's media");
                None
            }
        }
    }
}
