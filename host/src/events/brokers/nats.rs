//! NATS JetStream: a message is delivered when the stream that captures its subject
//! answered a `PubAck`. The event id travels as `Wagate-Event-Id`, and with the
//! subject as `Nats-Msg-Id`, so JetStream drops a
//! redelivery (after a lost ack or a crash) within its duplicate window. The client
//! reconnects by itself; a publish while disconnected times out and is retried.
//!
//! With `declare` on (the default, as for RabbitMQ's exchanges), a subject no stream
//! captures gets one: `wagate_<token>` capturing `<token>.>`, where the token is the
//! subject's first (the instance, or a global prefix), file-backed and keeping
//! [`CREATED_MAX_AGE`] of messages. With it off, or when the server refuses (no
//! JetStream, a stream already claiming those subjects), the delivery is retried and
//! dead-lettered with the reason.

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
/// How long a stream the gateway creates keeps a message (an operator who wants
/// otherwise creates the stream, or edits it: `nats stream edit`).
pub(super) const CREATED_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

pub(super) struct NatsClient {
    uri: String,
    declare: bool,
    token: Option<String>,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    context: Mutex<Option<jetstream::Context>>,
}

impl NatsClient {
    pub(super) fn new(settings: &BrokerSettings) -> Self {
        NatsClient {
            uri: settings.uri.clone(),
            declare: settings.declare,
            token: settings.nats.token.clone(),
            tls: settings.nats.tls.clone(),
            context: Mutex::new(None),
        }
    }

    /// Creates the stream that captures `subject`'s first token (see the module
    /// comment); an existing one of that name is kept as it is.
    async fn declare_stream(
        &self,
        context: &jetstream::Context,
        subject: &str,
    ) -> anyhow::Result<()> {
        let token = subject.split('.').next().unwrap_or(subject);
        let name: String = format!("wagate_{token}")
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c,
                _ => '_',
            })
            .collect();
        context
            .get_or_create_stream(jetstream::stream::Config {
                name: name.clone(),
                subjects: vec![format!("{token}.>")],
                max_age: CREATED_MAX_AGE,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                anyhow::anyhow!("creating JetStream stream `{name}` for subjects `{token}.>`: {e}")
            })?;
        tracing::info!(stream = %name, subjects = %format!("{token}.>"), "created a JetStream stream");
        Ok(())
    }

    async fn context(&self) -> anyhow::Result<jetstream::Context> {
        let mut slot = self.context.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let mut options = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .name("wagate");
        if let Some(token) = &self.token {
            options = options.token(token.clone());
        }
        if let Some(tls) = &self.tls {
            options = options.tls_client_config((**tls).clone()).require_tls(true);
        }
        let client = options
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
        let body = bytes::Bytes::from(body);
        let publish = || async {
            context
                .publish_with_headers(route.key.clone(), headers.clone(), body.clone())
                .await?
                .await
        };
        let mut result = publish().await;
        if let Err(e) = &result
            && e.kind() == PublishErrorKind::StreamNotFound
            && self.declare
        {
            self.declare_stream(&context, &route.key).await?;
            result = publish().await;
        }
        match result {
            Ok(_ack) => Ok(Outcome::Delivered),
            Err(e) => match e.kind() {
                PublishErrorKind::MaxPayloadExceeded => Ok(Outcome::Permanent(format!(
                    "NATS refused the message for good: {e}"
                ))),
                PublishErrorKind::StreamNotFound => Err(anyhow::anyhow!(
                    "no JetStream stream captures subject `{}` (create one, e.g. `nats stream add --subjects '{}'`, or let the gateway: `declare = true`)",
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
