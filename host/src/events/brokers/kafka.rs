//! Apache Kafka through librdkafka (the `rdkafka` crate): an **idempotent producer**
//! (`enable.idempotence`: the broker gets a producer id and a sequence number per
//! partition, so a batch librdkafka sends again after a lost acknowledgment is dropped
//! by the broker instead of written twice, and `acks = all`). A message is delivered
//! when librdkafka reports the partition leader's acknowledgment with an offset.
//!
//! The record's key is the instance (Evolution's: `<instance>` per instance,
//! `<instance>-<event>` global), and librdkafka's `murmur2_random` partitioner is
//! Kafka's own default (the Java client's murmur2), so one instance's events land in
//! one partition, in order, and a consumer that partitions the same way agrees. Order
//! also needs one record in flight per instance, which the dispatcher gives (one
//! delivery at a time per destination). What idempotence cannot cover: a delivery that
//! timed out here is produced again by the dispatcher's retry as a new record, so that
//! redelivery is a duplicate carrying the same `wagate-event-id` header (consumers
//! deduplicate by it).
//!
//! A SASL login (`PLAIN`, `SCRAM-SHA-256/512`) and TLS (the operator's CA, else the
//! system's roots; optionally a client certificate; a verify switch) are set per
//! broker (`config::KafkaSettings`). librdkafka reports a refused login or certificate
//! through its error callback, not the message's failure, so the context below keeps
//! the last one and a failed delivery's reason names it.
//!
//! As RabbitMQ's exchange is, a missing topic is created before the first record to it
//! (`declare`, with the broker's partition count and replication factor); with
//! `declare` off a missing topic is an error the dispatcher retries, and at the end a
//! dead letter naming the topic.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

use super::config::SaslMechanism;
use super::{BrokerSettings, Route};
use crate::core::model::Event;
use crate::events::dispatcher::Outcome;

/// How long a delivery may take (librdkafka's `message.timeout.ms`, its own retries
/// included) before the attempt is given back to the dispatcher as a retry.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a metadata lookup (does the topic exist?) may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) struct KafkaClient {
    config: ClientConfig,
    declare: bool,
    partitions: i32,
    replication: i32,
    state: tokio::sync::Mutex<Option<Open>>,
}

/// A producer, its last client error, and the topics it has seen exist.
struct Open {
    producer: FutureProducer<Context>,
    last_error: LastError,
    topics: HashSet<String>,
}

/// librdkafka's last client-level error (a refused login, a bad certificate, a broker
/// that cannot be reached), which a failed delivery only reports as a timeout.
#[derive(Clone, Default)]
struct LastError(Arc<Mutex<Option<String>>>);

impl LastError {
    /// ` (<reason>)`, or nothing when librdkafka reported no error.
    fn suffix(&self) -> String {
        let last = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        last.map(|r| format!(" ({r})")).unwrap_or_default()
    }
}

/// The producer's context: it records client errors into a [`LastError`].
struct Context(LastError);

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "Kafka client error");
        // "All brokers are down" follows the error that brought them down (a refused
        // login, a certificate): keep that one, it says why.
        if matches!(error, KafkaError::Global(RDKafkaErrorCode::AllBrokersDown)) {
            return;
        }
        *self.0.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.to_string());
    }
}

impl KafkaClient {
    pub(super) fn new(settings: &BrokerSettings) -> Self {
        let kafka = &settings.kafka;
        let brokers: Vec<&str> = settings
            .uri
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .collect();
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", brokers.join(","))
            .set("client.id", &kafka.client_id)
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            // A producer's metadata requests would otherwise let the broker create a
            // missing topic with its own defaults; `declare` decides that here.
            .set("allow.auto.create.topics", "false")
            .set("message.timeout.ms", CALL_TIMEOUT.as_millis().to_string())
            // Records from several instances' deliveries share a request when they
            // meet within a millisecond; one instance has one in flight anyway.
            .set("linger.ms", "1")
            // Its own log lines would go to stderr; the reasons reach the dead letters.
            .set("log_level", "3");
        let protocol = match (&kafka.sasl, &kafka.tls) {
            (None, None) => "plaintext",
            (None, Some(_)) => "ssl",
            (Some(_), None) => "sasl_plaintext",
            (Some(_), Some(_)) => "sasl_ssl",
        };
        config.set("security.protocol", protocol);
        if let Some(sasl) = &kafka.sasl {
            let mechanism = match sasl.mechanism {
                SaslMechanism::Plain => "PLAIN",
                SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
                SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            };
            config
                .set("sasl.mechanisms", mechanism)
                .set("sasl.username", &sasl.username)
                .set("sasl.password", &sasl.password);
        }
        if let Some(tls) = &kafka.tls {
            if let Some(ca) = &tls.ca {
                config.set("ssl.ca.pem", ca);
            }
            if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
                config
                    .set("ssl.certificate.pem", cert)
                    .set("ssl.key.pem", key);
            }
            if !tls.verify {
                config
                    .set("enable.ssl.certificate.verification", "false")
                    .set("ssl.endpoint.identification.algorithm", "none");
            }
        }
        KafkaClient {
            config,
            declare: settings.declare,
            partitions: kafka.partitions,
            replication: i32::from(kafka.replication),
            state: tokio::sync::Mutex::new(None),
        }
    }

    /// Makes sure `topic` exists, creating it when it is missing and `declare` is on.
    async fn ensure_topic(&self, open: &mut Open, topic: &str) -> anyhow::Result<()> {
        if open.topics.contains(topic) {
            return Ok(());
        }
        let exists = self
            .topic_exists(open.producer.clone(), &open.last_error, topic)
            .await?;
        if !exists {
            anyhow::ensure!(
                self.declare,
                "Kafka topic `{topic}` does not exist (create it, or let the gateway: `declare = true`)"
            );
            self.create_topic(topic).await?;
        }
        open.topics.insert(topic.to_string());
        Ok(())
    }

    async fn topic_exists(
        &self,
        producer: FutureProducer<Context>,
        last_error: &LastError,
        topic: &str,
    ) -> anyhow::Result<bool> {
        // librdkafka's metadata call blocks its caller: off the async workers.
        let wanted = topic.to_string();
        let lookup = tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(Some(&wanted), Timeout::After(METADATA_TIMEOUT))
        })
        .await?;
        let metadata = lookup
            .map_err(|e| anyhow::anyhow!("connecting to Kafka: {e}{}", last_error.suffix()))?;
        Ok(metadata
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty()))
    }

    async fn create_topic(&self, topic: &str) -> anyhow::Result<()> {
        let admin: AdminClient<DefaultClientContext> = self
            .config
            .create()
            .map_err(|e| anyhow::anyhow!("configuring the Kafka admin client: {e}"))?;
        let new = NewTopic::new(
            topic,
            self.partitions,
            TopicReplication::Fixed(self.replication),
        );
        let options = AdminOptions::new().operation_timeout(Some(Timeout::After(METADATA_TIMEOUT)));
        let results = admin
            .create_topics([&new], &options)
            .await
            .map_err(|e| anyhow::anyhow!("creating Kafka topic `{topic}`: {e}"))?;
        for result in results {
            match result {
                Ok(_) => {}
                // Another producer made it meanwhile.
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => anyhow::bail!("creating Kafka topic `{topic}`: {code}"),
            }
        }
        Ok(())
    }

    async fn produce(
        &self,
        route: &Route,
        event: &Event,
        headers: OwnedHeaders,
        body: &[u8],
    ) -> anyhow::Result<Outcome> {
        let mut state = self.state.lock().await;
        // After a fatal error (the idempotent producer's state is broken, for example
        // the broker lost its sequence numbers) only a new producer can go on.
        if state
            .as_ref()
            .is_some_and(|o| o.producer.client().fatal_error().is_some())
        {
            *state = None;
        }
        if state.is_none() {
            let last_error = LastError::default();
            let producer = self
                .config
                .create_with_context(Context(last_error.clone()))
                .map_err(|e| anyhow::anyhow!("configuring the Kafka producer: {e}"))?;
            *state = Some(Open {
                producer,
                last_error,
                topics: HashSet::new(),
            });
        }
        let open = state.as_mut().expect("opened above");
        self.ensure_topic(open, &route.queue).await?;
        let (producer, last_error) = (open.producer.clone(), open.last_error.clone());
        drop(state);
        let record = FutureRecord::to(&route.queue)
            .key(route.key.as_bytes())
            .payload(body)
            .headers(headers)
            .timestamp(event.timestamp as i64);
        match producer.send(record, Timeout::After(CALL_TIMEOUT)).await {
            Ok(_) => Ok(Outcome::Delivered),
            Err((KafkaError::MessageProduction(code), _)) if refused_for_good(code) => Ok(
                Outcome::Permanent(format!("Kafka refused the record for good: {code}")),
            ),
            Err((e, _)) => anyhow::bail!(
                "producing to Kafka topic `{}`: {e}{}",
                route.queue,
                last_error.suffix()
            ),
        }
    }

    pub(super) async fn publish(
        &self,
        route: &Route,
        event: &Event,
        body: Vec<u8>,
    ) -> anyhow::Result<Outcome> {
        let headers = OwnedHeaders::new_with_capacity(4)
            .insert(header("event", &route.event))
            .insert(header("instance", &event.instance_name))
            .insert(header("wagate-event-id", &event.id))
            .insert(header("wagate-instance-id", &event.instance_id));
        // The metadata lookup and the delivery each have their own bound; this one
        // covers both, so a call never outlives the dispatcher's patience.
        match tokio::time::timeout(
            CALL_TIMEOUT + METADATA_TIMEOUT * 2,
            self.produce(route, event, headers, &body),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => anyhow::bail!("Kafka did not answer within {CALL_TIMEOUT:?}"),
        }
    }
}

/// A record header with a text value.
fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

/// Errors a retry cannot mend: the record is too large or malformed for the broker.
fn refused_for_good(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::InvalidMessage
            | RDKafkaErrorCode::InvalidRecord
    )
}
