//! NATS JetStream: a message is delivered when the stream that captures its subject
//! answered a `PubAck`. The event id travels as `Wagate-Event-Id`, and with the
//! subject as `Nats-Msg-Id`, so JetStream drops a
//! redelivery (after a lost ack or a crash) within its duplicate window. The client
//! reconnects by itself; a publish while disconnected times out and is retried.

use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind};
use tokio::sync::Mutex;

use super::{BrokerSettings, Route};
use crate::core::model::Event;
use crate::events::dispatcher::Outcome;

/// How long a publish waits for its `PubAck`.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the first connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) struct NatsClient {
    uri: String,
    context: Mutex<Option<jetstream::Context>>,
}

impl NatsClient {
    pub(super) fn new(settings: &BrokerSettings) -> Self {
        NatsClient {
            uri: settings.uri.clone(),
            context: Mutex::new(None),
        }
    }

    async fn context(&self) -> anyhow::Result<jetstream::Context> {
        let mut slot = self.context.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .name("wagate")
            .connect(self.uri.as_str())
            .await
            .map_err(|e| anyhow::anyhow!("connecting to NATS: {e}"))?;
        let mut context = jetstream::new(client);
        context.set_timeout(ACK_TIMEOUT);
        *slot = Some(context.clone());
        Ok(context)
    }

    pub(super) async fn publish(
        &self,
        route: &Route,
        event: &Event,
        body: Vec<u8>,
    ) -> anyhow::Result<Outcome> {
        let context = self.context().await?;
        let mut headers = async_nats::HeaderMap::new();
        // Per subject: JetStream deduplicates per stream, and one stream may capture
        // both an instance's own subject and a global one the same event goes to.
        headers.insert(
            "Nats-Msg-Id",
            format!("{}:{}", route.key, event.id).as_str(),
        );
        headers.insert("Wagate-Event-Id", event.id.as_str());
        headers.insert("Wagate-Instance-Id", event.instance_id.as_str());
        let publish = async {
            context
                .publish_with_headers(route.key.clone(), headers, body.into())
                .await?
                .await
        };
        match publish.await {
            Ok(_ack) => Ok(Outcome::Delivered),
            Err(e) => match e.kind() {
                PublishErrorKind::MaxPayloadExceeded => Ok(Outcome::Permanent(format!(
                    "NATS refused the message for good: {e}"
                ))),
                PublishErrorKind::StreamNotFound => Err(anyhow::anyhow!(
                    "no JetStream stream captures subject `{}` (create one, e.g. `nats stream add --subjects '{}'`)",
                    route.key,
                    route.key
                )),
                _ => Err(anyhow::anyhow!(
                    "publishing to NATS subject `{}`: {e}",
                    route.key
                )),
            },
        }
    }
}
