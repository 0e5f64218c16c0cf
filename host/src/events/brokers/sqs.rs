//! Amazon SQS (and SQS-compatible servers): a message is delivered when `SendMessage`
//! answered with its message id, which SQS gives only once the message is stored.
//!
//! Queues are FIFO by default, named as Evolution names them (`<instance>_<event>.fifo`,
//! see `route`): the instance is the message group, so one instance's events are
//! received in order while instances are consumed in parallel, and the event id is the
//! deduplication id, so a redelivery within SQS's five-minute window (after a lost
//! answer or a gateway crash) is dropped by SQS itself. A broker with `fifo = false`
//! sends to standard queues: no group and no deduplication, so order is not kept and a
//! redelivery is a duplicate carrying the same `wagate-event-id` attribute.
//!
//! As RabbitMQ's exchange and queues are, a missing queue is created before the first
//! send to it (unless `declare` is off: then a missing queue is an error the dispatcher
//! retries, and after its last attempt a dead letter saying which queue is missing).
//! Queue URLs are looked up once per queue and kept.

use std::collections::HashMap;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::config::{BehaviorVersion, Region};
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use tokio::sync::Mutex;

use super::{BrokerSettings, Route};
use crate::core::model::Event;
use crate::events::dispatcher::Outcome;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one call (queue lookup, creation, send) may take in all.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct SqsClient {
    client: aws_sdk_sqs::Client,
    fifo: bool,
    declare: bool,
    /// Queue name -> its URL, once looked up (or created).
    urls: Mutex<HashMap<String, String>>,
}

impl SqsClient {
    pub(super) fn new(settings: &BrokerSettings) -> Self {
        let sqs = &settings.sqs;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(sqs.region.clone()))
            .credentials_provider(Credentials::from_keys(
                sqs.access_key_id.clone(),
                sqs.secret_access_key.clone(),
                None,
            ))
            .http_client(http)
            // The dispatcher retries with its own backoff and keeps the order; the SDK
            // retrying inside one attempt would only hold the destination longer.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_timeout(CALL_TIMEOUT)
                    .build(),
            );
        if !settings.uri.is_empty() {
            config = config.endpoint_url(settings.uri.clone());
        }
        SqsClient {
            client: aws_sdk_sqs::Client::from_conf(config.build()),
            fifo: sqs.fifo,
            declare: settings.declare,
            urls: Mutex::new(HashMap::new()),
        }
    }

    /// The URL of queue `name`, created first when it is missing and `declare` is on.
    async fn queue_url(&self, name: &str) -> anyhow::Result<String> {
        if let Some(url) = self.urls.lock().await.get(name) {
            return Ok(url.clone());
        }
        let url = match self.client.get_queue_url().queue_name(name).send().await {
            Ok(out) => out.queue_url.unwrap_or_default(),
            Err(e)
                if self.declare
                    && e.as_service_error()
                        .is_some_and(|s| s.is_queue_does_not_exist()) =>
            {
                let mut create = self.client.create_queue().queue_name(name);
                if self.fifo {
                    create = create.attributes(QueueAttributeName::FifoQueue, "true");
                }
                create
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("creating SQS queue `{name}`: {}", DisplayErrorContext(&e))
                    })?
                    .queue_url
                    .unwrap_or_default()
            }
            Err(e) => {
                let missing = e
                    .as_service_error()
                    .is_some_and(|s| s.is_queue_does_not_exist());
                if missing {
                    anyhow::bail!(
                        "SQS queue `{name}` does not exist (create it, or let the gateway: `declare = true`)"
                    );
                }
                anyhow::bail!("looking up SQS queue `{name}`: {}", DisplayErrorContext(&e));
            }
        };
        anyhow::ensure!(!url.is_empty(), "SQS answered no URL for queue `{name}`");
        self.urls.lock().await.insert(name.to_string(), url.clone());
        Ok(url)
    }

    pub(super) async fn publish(
        &self,
        route: &Route,
        event: &Event,
        body: Vec<u8>,
    ) -> anyhow::Result<Outcome> {
        let queue = if self.fifo {
            format!("{}.fifo", route.queue)
        } else {
            route.queue.clone()
        };
        let url = self.queue_url(&queue).await?;
        let Ok(body) = String::from_utf8(body) else {
            // SQS carries text only; every dialect renders JSON, so this is a plugin
            // bug no retry can fix.
            return Ok(Outcome::Permanent(
                "the rendered event is not UTF-8 text, which SQS cannot carry".into(),
            ));
        };
        let attribute = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .expect("data type is set")
        };
        let mut send = self
            .client
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .message_attributes("wagate-event-id", attribute(&event.id))
            .message_attributes("wagate-instance-id", attribute(&event.instance_id));
        if self.fifo {
            send = send
                .message_group_id(route.key.clone())
                .message_deduplication_id(event.id.clone());
        }
        match send.send().await {
            Ok(_) => Ok(Outcome::Delivered),
            Err(e) => {
                let service = e.as_service_error();
                if service.is_some_and(|s| s.is_queue_does_not_exist()) {
                    // Deleted since it was looked up: look it up (or create it) again.
                    self.urls.lock().await.remove(&queue);
                }
                let code = service.and_then(|s| s.code()).unwrap_or_default();
                let refused_for_good = service.is_some_and(|s| s.is_invalid_message_contents())
                    || code == "InvalidParameterValue";
                if refused_for_good {
                    return Ok(Outcome::Permanent(format!(
                        "SQS refused the message for good: {}",
                        DisplayErrorContext(&e)
                    )));
                }
                anyhow::bail!(
                    "sending to SQS queue `{queue}`: {}",
                    DisplayErrorContext(&e)
                )
            }
        }
    }
}
