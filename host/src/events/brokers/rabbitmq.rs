//! RabbitMQ: a message is delivered when the broker confirmed it (publisher confirms),
//! published persistent (`delivery_mode` 2) and `mandatory`, so a message no queue
//! takes comes back instead of vanishing. As Evolution does, the topic exchange and a
//! durable quorum queue per routing key are declared before the first publish to them
//! (unless the broker's `declare` is off: then they must exist). A broken connection
//! or channel is dropped and opened again on the next attempt.

use std::collections::HashSet;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;

use super::{BrokerSettings, Route};
use crate::core::model::Event;
use crate::events::dispatcher::Outcome;

/// How long connecting, opening the channel and declaring a route may take.
const SETUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a published message may wait for its publisher confirm.
const CONFIRM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) struct RabbitClient {
    uri: String,
    /// The largest frame asked for (Evolution's `RABBITMQ_FRAME_MAX`), as the URI's
    /// `frame_max` query would; `None`: the URI's, or the server's.
    frame_max: Option<u32>,
    declare: bool,
    state: Mutex<Option<Open>>,
}

/// A connection with its confirm-mode channel, and the (exchange, queue, key)
/// bindings declared on it.
struct Open {
    connection: Connection,
    channel: Channel,
    declared: HashSet<(String, String, String)>,
}

impl RabbitClient {
    pub(super) fn new(settings: &BrokerSettings) -> Self {
        RabbitClient {
            uri: settings.uri.clone(),
            frame_max: settings.frame_max,
            declare: settings.declare,
            state: Mutex::new(None),
        }
    }

    /// The open channel, having declared `route`'s topology once.
    async fn channel_for(&self, route: &Route) -> anyhow::Result<Channel> {
        let mut state = self.state.lock().await;
        if state
            .as_ref()
            .is_some_and(|o| !o.channel.status().connected())
        {
            close(state.take());
        }
        if state.is_none() {
            let mut uri: lapin::uri::AMQPUri = self.uri.parse().map_err(|e| {
                anyhow::anyhow!("connecting to RabbitMQ: the URI is not valid: {e}")
            })?;
            if let Some(n) = self.frame_max {
                uri.query.frame_max = Some(n);
            }
            let connection = Connection::connect_uri(uri, ConnectionProperties::default())
                .await
                .map_err(|e| anyhow::anyhow!("connecting to RabbitMQ: {e}"))?;
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            *state = Some(Open {
                connection,
                channel,
                declared: HashSet::new(),
            });
        }
        let open = state.as_mut().expect("opened above");
        let binding = (
            route.exchange.clone(),
            route.queue.clone(),
            route.key.clone(),
        );
        if self.declare && !open.declared.contains(&binding) {
            let declared = async {
                open.channel
                    .exchange_declare(
                        route.exchange.as_str().into(),
                        ExchangeKind::Topic,
                        ExchangeDeclareOptions {
                            durable: true,
                            ..Default::default()
                        },
                        FieldTable::default(),
                    )
                    .await?;
                let mut args = FieldTable::default();
                args.insert(
                    "x-queue-type".into(),
                    AMQPValue::LongString("quorum".into()),
                );
                open.channel
                    .queue_declare(
                        route.queue.as_str().into(),
                        QueueDeclareOptions {
                            durable: true,
                            ..Default::default()
                        },
                        args,
                    )
                    .await?;
                open.channel
                    .queue_bind(
                        route.queue.as_str().into(),
                        route.exchange.as_str().into(),
                        route.key.as_str().into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await
            };
            if let Err(e) = declared.await {
                close(state.take());
                anyhow::bail!(
                    "declaring exchange `{}` / queue `{}` on RabbitMQ: {e}",
                    route.exchange,
                    route.queue
                );
            }
            open.declared.insert(binding);
        }
        Ok(open.channel.clone())
    }

    pub(super) async fn publish(
        &self,
        route: &Route,
        event: &Event,
        body: Vec<u8>,
    ) -> anyhow::Result<Outcome> {
        // Bounded, as NATS's are: a black-holed connect or a broker that stops
        // confirming (a memory or disk alarm) must come back as a retry, not hold a
        // dispatcher slot (and the connection's lock) for ever.
        let channel = tokio::time::timeout(SETUP_TIMEOUT, self.channel_for(route))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "RabbitMQ did not answer within {SETUP_TIMEOUT:?} (connecting or declaring)"
                )
            })??;
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(event.id.as_str().into());
        let confirmed = async {
            channel
                .basic_publish(
                    route.exchange.as_str().into(),
                    route.key.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &body,
                    properties,
                )
                .await?
                .await
        };
        let confirmed = async {
            tokio::time::timeout(CONFIRM_TIMEOUT, confirmed)
                .await
                .map_err(|_| anyhow::anyhow!("no publisher confirm within {CONFIRM_TIMEOUT:?}"))?
                .map_err(anyhow::Error::from)
        };
        let confirmation = match confirmed.await {
            Ok(c) => c,
            Err(e) => {
                // A closed channel (a missing exchange closes it: 404 NOT_FOUND) is
                // opened again by the next attempt.
                close(self.state.lock().await.take());
                anyhow::bail!(
                    "publishing to RabbitMQ exchange `{}` with key `{}`: {e}",
                    route.exchange,
                    route.key
                );
            }
        };
        if confirmation.is_nack() {
            anyhow::bail!(
                "RabbitMQ refused (nack) the message for exchange `{}`",
                route.exchange
            );
        }
        if let Some(returned) = confirmation.take_message() {
            anyhow::bail!(
                "RabbitMQ returned the message: no queue is bound to exchange `{}` with key `{}` ({})",
                route.exchange,
                route.key,
                returned.reply_text
            );
        }
        Ok(Outcome::Delivered)
    }
}

/// Closes a dropped connection in the background (lapin keeps a connection open until
/// it is closed, even when its channel failed).
fn close(open: Option<Open>) {
    if let Some(open) = open {
        tokio::spawn(async move {
            let _ = open.connection.close(200, "reconnecting".into()).await;
        });
    }
}
