//! Apache Kafka: a message is delivered when the partition leader answered the produce
//! request with the record's offset (rskafka asks for `acks = all`: every in-sync
//! replica has it).
//!
//! The record's key is the instance (Evolution's: `<instance>` per instance,
//! `<instance>-<event>` global), and the partition is chosen from the key with Kafka's
//! own default partitioner (murmur2, as the Java client and librdkafka's
//! `murmur2_random` do), so one instance's events land in one partition, in order, and
//! a consumer that partitions the same way agrees. Order also needs one record in
//! flight per instance, which the dispatcher gives (one delivery at a time per
//! destination). rskafka has no idempotent producer: a record whose acknowledgment was
//! lost is produced again on retry, so a redelivery is a duplicate carrying the same
//! `wagate-event-id` header (consumers deduplicate by it).
//!
//! A SASL login (`PLAIN`, `SCRAM-SHA-256/512`, through rskafka's rsasl) and TLS (rustls
//! on ring, Mozilla's roots plus the operator's CA, optionally a client certificate)
//! are set per broker (`config::KafkaSettings`); the TLS configuration is built once, at start.
//!
//! As RabbitMQ's exchange is, a missing topic is created before the first record to it
//! (`declare`, with the broker's partition count and replication factor); with
//! `declare` off a missing topic is an error the dispatcher retries, and at the end a
//! dead letter naming the topic.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use rskafka::BackoffConfig;
use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder, Credentials, SaslConfig};
use rskafka::record::Record;
use tokio::sync::Mutex;

use super::config::SaslMechanism;
use super::{BrokerSettings, Route};
use crate::core::model::Event;
use crate::events::dispatcher::Outcome;

/// How long connecting, a metadata lookup or a produce may take before the attempt is
/// given back to the dispatcher as a retry.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct KafkaClient {
    brokers: Vec<String>,
    client_id: String,
    sasl: Option<SaslConfig>,
    tls: Option<Arc<rustls::ClientConfig>>,
    declare: bool,
    partitions: i32,
    replication: i16,
    state: Mutex<Option<Open>>,
}

/// A connected client, the partition counts of the topics it met, and a client per
/// partition it produced to (making one looks the partition's leader up: kept, so a
/// record costs one produce round trip, not a metadata lookup as well).
struct Open {
    client: Client,
    partitions: HashMap<String, i32>,
    leaders: HashMap<(String, i32), PartitionClient>,
}

impl KafkaClient {
    pub(super) fn new(settings: &BrokerSettings) -> Self {
        KafkaClient {
            brokers: settings
                .uri
                .split(',')
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(str::to_string)
                .collect(),
            client_id: settings.kafka.client_id.clone(),
            sasl: settings.kafka.sasl.as_ref().map(|s| {
                let login = Credentials::new(s.username.clone(), s.password.clone());
                match s.mechanism {
                    SaslMechanism::Plain => SaslConfig::Plain(login),
                    SaslMechanism::ScramSha256 => SaslConfig::ScramSha256(login),
                    SaslMechanism::ScramSha512 => SaslConfig::ScramSha512(login),
                }
            }),
            tls: settings.kafka.tls.clone(),
            declare: settings.declare,
            partitions: settings.kafka.partitions,
            replication: settings.kafka.replication,
            state: Mutex::new(None),
        }
    }

    /// rskafka retries inside a call until its deadline; ours is shorter than the
    /// call's timeout, so a broker that is down comes back as an error with its reason.
    fn backoff() -> BackoffConfig {
        BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
            deadline: Some(CALL_TIMEOUT / 2),
        }
    }

    /// The partition `key` goes to in `topic`, creating the topic first when it is
    /// missing and `declare` is on.
    async fn partition_of(&self, open: &mut Open, topic: &str, key: &[u8]) -> anyhow::Result<i32> {
        let count = match open.partitions.get(topic) {
            Some(n) => *n,
            None => {
                let listed = open
                    .client
                    .list_topics()
                    .await
                    .map_err(|e| anyhow::anyhow!("listing Kafka topics: {e}"))?;
                let mut n = listed
                    .iter()
                    .find(|t| t.name == topic)
                    .map(|t| t.partitions.len() as i32);
                if n.is_none() && self.declare {
                    let created = open
                        .client
                        .controller_client()?
                        .create_topic(topic, self.partitions, self.replication, 5_000)
                        .await;
                    match created {
                        Ok(()) => {}
                        // Another producer made it meanwhile.
                        Err(KafkaError::ServerError {
                            protocol_error: ProtocolError::TopicAlreadyExists,
                            ..
                        }) => {}
                        Err(e) => anyhow::bail!("creating Kafka topic `{topic}`: {e}"),
                    }
                    n = Some(self.partitions);
                }
                let Some(n) = n.filter(|n| *n > 0) else {
                    anyhow::bail!(
                        "Kafka topic `{topic}` does not exist (create it, or let the gateway: `declare = true`)"
                    );
                };
                open.partitions.insert(topic.to_string(), n);
                n
            }
        };
        Ok(partition_for(key, count))
    }

    async fn produce(&self, route: &Route, record: Record) -> anyhow::Result<()> {
        let mut state = self.state.lock().await;
        if state.is_none() {
            let mut builder = ClientBuilder::new(self.brokers.clone())
                .client_id(self.client_id.as_str())
                .backoff_config(Self::backoff());
            if let Some(sasl) = &self.sasl {
                builder = builder.sasl_config(sasl.clone());
            }
            if let Some(tls) = &self.tls {
                builder = builder.tls_config(tls.clone());
            }
            let client = builder
                .build()
                .await
                .map_err(|e| anyhow::anyhow!("connecting to Kafka: {}", reason(&e)))?;
            *state = Some(Open {
                client,
                partitions: HashMap::new(),
                leaders: HashMap::new(),
            });
        }
        let open = state.as_mut().expect("opened above");
        let key = record.key.clone().unwrap_or_default();
        let partition = self.partition_of(open, &route.queue, &key).await?;
        let slot = (route.queue.clone(), partition);
        if !open.leaders.contains_key(&slot) {
            let client = open
                .client
                .partition_client(route.queue.as_str(), partition, UnknownTopicHandling::Error)
                .await
                .map_err(|e| {
                    anyhow::anyhow!("reaching partition {partition} of `{}`: {e}", route.queue)
                })?;
            open.leaders.insert(slot.clone(), client);
        }
        let client = &open.leaders[&slot];
        client
            .produce(vec![record], Compression::NoCompression)
            .await
            .map_err(|e| anyhow::anyhow!("producing to Kafka topic `{}`: {e}", route.queue))?;
        Ok(())
    }

    pub(super) async fn publish(
        &self,
        route: &Route,
        event: &Event,
        body: Vec<u8>,
    ) -> anyhow::Result<Outcome> {
        let name = route.event.clone();
        let headers = BTreeMap::from([
            ("event".to_string(), name.into_bytes()),
            (
                "instance".to_string(),
                event.instance_name.clone().into_bytes(),
            ),
            ("wagate-event-id".to_string(), event.id.clone().into_bytes()),
            (
                "wagate-instance-id".to_string(),
                event.instance_id.clone().into_bytes(),
            ),
        ]);
        let record = Record {
            key: Some(route.key.clone().into_bytes()),
            value: Some(body),
            headers,
            timestamp: chrono_now(),
        };
        match tokio::time::timeout(CALL_TIMEOUT, self.produce(route, record)).await {
            Ok(Ok(())) => Ok(Outcome::Delivered),
            Ok(Err(e)) => {
                if too_large(&e) {
                    return Ok(Outcome::Permanent(format!(
                        "Kafka refused the record for good: {e}"
                    )));
                }
                // The connection may be what failed: open a new one next time.
                *self.state.lock().await = None;
                Err(e)
            }
            Err(_) => {
                *self.state.lock().await = None;
                anyhow::bail!("Kafka did not answer within {CALL_TIMEOUT:?}")
            }
        }
    }
}

fn too_large(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<KafkaError>(),
            Some(KafkaError::ServerError {
                protocol_error: ProtocolError::MessageTooLarge
                    | ProtocolError::RecordListTooLarge
                    | ProtocolError::InvalidRecord,
                ..
            })
        )
    })
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(crate::util::now_ms() as i64).unwrap_or_default()
}

/// Kafka's default partitioner for a keyed record: `toPositive(murmur2(key)) %
/// partitions`.
pub(super) fn partition_for(key: &[u8], partitions: i32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) % partitions.max(1) as u32) as i32
}

/// MurmurHash2 with Kafka's seed (`org.apache.kafka.common.utils.Utils.murmur2`).
fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// An rskafka error with its cause: a refused SASL login shows as the broker's error
/// code behind a generic "SASL" line otherwise.
fn reason(e: &KafkaError) -> String {
    crate::util::error_chain(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_match_kafkas_default_partitioner() {
        // Values of the Java client's `Utils.murmur2` (its own unit test vectors).
        assert_eq!(murmur2(b"21") as i32, -973932308);
        assert_eq!(murmur2(b"foobar") as i32, -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string") as i32, -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") as i32,
            -58897971
        );
        assert_eq!(murmur2(b"abc") as i32, 479470107);
        // Always within range, and stable for a key.
        for n in 1..20 {
            let p = partition_for(b"sales", n);
            assert!((0..n).contains(&p));
            assert_eq!(p, partition_for(b"sales", n));
        }
    }
}
