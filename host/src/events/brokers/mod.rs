//! The host's message-broker clients: where the dispatcher's broker destinations
//! (`core::brokers`, whose doc comment gives the design) are published.
//!
//! One [`Brokers`] holds a client per configured broker ([`config`]); a client connects
//! on first use and again after a failure. [`Brokers::publish`] answers the
//! dispatcher's [`Outcome`]: `Delivered` only once the broker acknowledged the message
//! (JetStream `PubAck`, RabbitMQ publisher confirm); an error is a retry with the
//! broker's words (the dispatcher backs off and, after its last attempt, dead-letters
//! with them); a message the broker can never take (larger than its limit) is
//! `Permanent`.
//!
//! Routing ([`route`]) follows Evolution API's, so its consumers keep their bindings:
//! per-instance deliveries go to subject `<instance>.<event>` (NATS) or to exchange
//! `<instance>` with routing key `<event>` (RabbitMQ), global ones to
//! `[<prefix>.]<event>` or to the broker's exchange with key `<event>`; SQS deliveries
//! go to queue `<instance>_<event>` (global: `<prefix>_<event>`, or
//! `<prefix>_singlequeue`) with `.fifo` appended for FIFO queues; Kafka records to
//! topic `[<prefix>.]<instance>.<event>` (global: `[<prefix>.]global.<event>`) keyed by
//! the instance (global: `<instance>-<event>`); `<event>` is the
//! event's name as the destination's dialect rendered it, dotted and lower-case
//! (`MESSAGES_UPSERT` -> `messages.upsert`), or core's kind (`message.upsert`).

pub mod config;
mod kafka;
mod nats;
mod rabbitmq;
mod sqs;
pub mod tls;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::kv::ReadableTable;

use super::dispatcher::Outcome;
use crate::core::deliveries::DeliveryOutcome;
use crate::core::model::{Event, Webhook};
use crate::store::{Store, decode, tables};
pub use config::{BrokerSettings, Transport};

/// Where one message goes, and what it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// RabbitMQ: the exchange (NATS, SQS: unused).
    pub exchange: String,
    /// NATS: the subject; RabbitMQ: the routing key; SQS: the message group (the
    /// instance).
    pub key: String,
    /// RabbitMQ: the durable queue bound to `exchange` with `key` when the broker
    /// declares its topology (as Evolution does), so a message is kept even before a
    /// consumer binds one of its own. SQS: the queue (without `.fifo`); Kafka: the
    /// topic.
    pub queue: String,
    /// The event's name (dotted, lower-case), for transports that carry it beside the
    /// body (a Kafka header).
    pub event: String,
}

/// The event's name for routing: the `event` field of a rendered JSON envelope when
/// there is one (Evolution's `MESSAGES_UPSERT` or `messages.upsert`), else core's kind;
/// dotted and lower-case.
pub fn event_name(event: &Event, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Named {
        event: String,
    }
    let raw = serde_json::from_slice::<Named>(body)
        .ok()
        .map(|n| n.event)
        .filter(|n| !n.is_empty() && n.len() <= 100)
        .unwrap_or_else(|| event.payload.kind().to_string());
    let lower = raw.to_ascii_lowercase();
    if lower.contains('.') {
        lower
    } else {
        lower.replacen('_', ".", 1)
    }
}

/// Characters a subject token or AMQP name keeps; others become `_` (instance names
/// are letters, digits, `.`, `_`, `-` already; an event name from a plugin may not be).
fn token(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where `event` (named `name`) of a destination of `broker` goes.
pub fn route(broker: &BrokerSettings, global: bool, instance: &str, name: &str) -> Route {
    let name = token(name);
    let instance = token(instance);
    match broker.transport {
        Transport::Sqs => return sqs_route(broker, global, &instance, &name),
        Transport::Kafka => return kafka_route(broker, global, &instance, &name),
        _ => {}
    }
    if global {
        let key = match broker.prefix.as_deref().filter(|p| !p.is_empty()) {
            Some(prefix) => format!("{}.{name}", token(prefix)),
            None => name.clone(),
        };
        Route {
            exchange: broker.exchange.clone(),
            // Evolution binds the global queue with the plain event name and publishes
            // with it; the prefix names the queue (RabbitMQ) or the subject (NATS).
            key: if broker.transport == Transport::Nats {
                key.clone()
            } else {
                name.clone()
            },
            queue: key,
            event: name,
        }
    } else {
        Route {
            exchange: instance.clone(),
            key: match broker.transport {
                Transport::Nats => format!("{instance}.{name}"),
                _ => name.clone(),
            },
            queue: format!("{instance}.{name}"),
            event: name,
        }
    }
}

/// Evolution's Kafka topics: `<prefix>.<instance>.<event>` keyed by the instance,
/// global `<prefix>.global.<event>` keyed by `<instance>-<event>` (one topic per event,
/// so that key still keeps each instance's order within the topic).
fn kafka_route(broker: &BrokerSettings, global: bool, instance: &str, name: &str) -> Route {
    let prefix = match broker.prefix.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => format!("{}.", token(p)),
        None => String::new(),
    };
    let (owner, key) = if global {
        ("global", format!("{instance}-{name}"))
    } else {
        (instance, instance.to_string())
    };
    Route {
        exchange: String::new(),
        key,
        queue: format!("{prefix}{owner}.{name}"),
        event: name.to_string(),
    }
}

/// Evolution's SQS queue names: `<instance>_<event>` (`b0_messages_upsert`), global
/// `<prefix>_<event>` or `<prefix>_singlequeue`; SQS allows no `.` in a name (but its
/// `.fifo` suffix). The message group is the instance, so its order holds.
fn sqs_route(broker: &BrokerSettings, global: bool, instance: &str, name: &str) -> Route {
    let event = name.replace('.', "_");
    let owner = if global {
        broker
            .prefix
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("global")
    } else {
        instance
    };
    let tail = if global && broker.sqs.single_queue {
        "singlequeue"
    } else {
        event.as_str()
    };
    Route {
        exchange: String::new(),
        key: instance.to_string(),
        queue: format!("{owner}_{tail}").replace('.', "_"),
        event: name.to_string(),
    }
}

/// Upper bounds of the commit-to-ack histogram's buckets, in seconds.
const ACK_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Counters of one transport, served on `/metrics`.
#[derive(Default)]
pub struct TransportCounters {
    published: AtomicU64,
    acknowledged: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    /// Time from the event's commit (its timestamp) to the broker's acknowledgment:
    /// per bucket (the last is +Inf), and the sum in milliseconds.
    ack_buckets: [AtomicU64; ACK_BUCKETS.len() + 1],
    ack_sum_ms: AtomicU64,
}

/// A connected (or connecting) client of one broker.
enum Client {
    Nats(nats::NatsClient),
    Rabbitmq(rabbitmq::RabbitClient),
    Sqs(sqs::SqsClient),
    Kafka(kafka::KafkaClient),
}

/// The configured brokers' clients and counters.
pub struct Brokers {
    clients: BTreeMap<String, (BrokerSettings, Client)>,
    counters: [TransportCounters; Transport::ALL.len()],
}

impl Brokers {
    /// Clients for `settings` (none connects before its first message).
    pub fn new(settings: Vec<BrokerSettings>) -> Arc<Self> {
        let clients = settings
            .into_iter()
            .map(|s| {
                let client = match s.transport {
                    Transport::Nats => Client::Nats(nats::NatsClient::new(&s)),
                    Transport::Rabbitmq => Client::Rabbitmq(rabbitmq::RabbitClient::new(&s)),
                    Transport::Sqs => Client::Sqs(sqs::SqsClient::new(&s)),
                    Transport::Kafka => Client::Kafka(kafka::KafkaClient::new(&s)),
                };
                (s.name.clone(), (s, client))
            })
            .collect();
        Arc::new(Brokers {
            clients,
            counters: Default::default(),
        })
    }

    /// No brokers (tests and commands that deliver nothing).
    pub fn none() -> Arc<Self> {
        Self::new(Vec::new())
    }

    fn counters(&self, t: Transport) -> &TransportCounters {
        &self.counters[t as usize]
    }

    fn transport_of(&self, hook: &Webhook) -> Option<Transport> {
        let route = hook.broker.as_ref()?;
        self.clients.get(&route.name).map(|(s, _)| s.transport)
    }

    /// Publishes one rendered event of a broker destination and waits for the broker's
    /// acknowledgment.
    pub async fn publish(
        &self,
        hook: &Webhook,
        event: &Event,
        body: Vec<u8>,
    ) -> anyhow::Result<Outcome> {
        let Some(route_of) = hook.broker.as_ref() else {
            anyhow::bail!("destination {} is not a broker", hook.id);
        };
        let Some((settings, client)) = self.clients.get(&route_of.name) else {
            // Configuration is read at start: a destination naming a broker that is no
            // longer configured can only wait for a restart with it back.
            anyhow::bail!(
                "no broker named `{}` is configured (anymore); its deliveries wait for it",
                route_of.name
            );
        };
        let name = event_name(event, &body);
        if route_of.global && !settings.rendered_events_allow(&name) {
            // Not one of the events the dialect's per-event switches select.
            return Ok(Outcome::Delivered);
        }
        let route = route(settings, route_of.global, &event.instance_name, &name);
        let counters = self.counters(settings.transport);
        counters.published.fetch_add(1, Ordering::Relaxed);
        let outcome = match client {
            Client::Nats(c) => c.publish(&route, event, body).await,
            Client::Rabbitmq(c) => c.publish(&route, event, body).await,
            Client::Sqs(c) => c.publish(&route, event, body).await,
            Client::Kafka(c) => c.publish(&route, event, body).await,
        };
        if let Ok(Outcome::Delivered) = outcome {
            let ms = crate::util::now_ms().saturating_sub(event.timestamp);
            let secs = ms as f64 / 1000.0;
            let i = ACK_BUCKETS
                .iter()
                .position(|b| secs <= *b)
                .unwrap_or(ACK_BUCKETS.len());
            counters.ack_buckets[i].fetch_add(1, Ordering::Relaxed);
            counters.ack_sum_ms.fetch_add(ms, Ordering::Relaxed);
        }
        outcome
    }

    /// Counts how a broker destination's delivery attempt ended (the dispatcher knows
    /// whether a failure is retried or dead-lettered).
    pub fn observe(&self, hook: &Webhook, outcome: DeliveryOutcome) {
        let Some(t) = self.transport_of(hook) else {
            return;
        };
        let c = self.counters(t);
        match outcome {
            DeliveryOutcome::Delivered => &c.acknowledged,
            DeliveryOutcome::Retrying => &c.retried,
            DeliveryOutcome::DeadLettered => &c.dead_lettered,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// The per-transport counters and queue depths, in Prometheus text.
    pub fn metrics_text(&self, store: &Store) -> String {
        let depth = self.queue_depths(store).unwrap_or_default();
        let mut out = String::new();
        for (metric, help, kind) in [
            (
                "wagate_broker_published_total",
                "Messages published to a broker (each attempt).",
                "counter",
            ),
            (
                "wagate_broker_acknowledged_total",
                "Messages the broker acknowledged (JetStream PubAck, RabbitMQ confirm, SQS message id, Kafka offset).",
                "counter",
            ),
            (
                "wagate_broker_retried_total",
                "Broker deliveries that failed and are queued again.",
                "counter",
            ),
            (
                "wagate_broker_dead_lettered_total",
                "Broker deliveries that went to the dead letters.",
                "counter",
            ),
            (
                "wagate_broker_queue_depth",
                "Events queued for broker destinations.",
                "gauge",
            ),
        ] {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} {kind}");
            for t in Transport::ALL {
                let c = self.counters(t);
                let v = match metric {
                    "wagate_broker_published_total" => c.published.load(Ordering::Relaxed),
                    "wagate_broker_acknowledged_total" => c.acknowledged.load(Ordering::Relaxed),
                    "wagate_broker_retried_total" => c.retried.load(Ordering::Relaxed),
                    "wagate_broker_dead_lettered_total" => c.dead_lettered.load(Ordering::Relaxed),
                    _ => depth[t as usize],
                };
                let _ = writeln!(out, "{metric}{{transport=\"{}\"}} {v}", t.as_str());
            }
        }
        let metric = "wagate_broker_commit_to_ack_seconds";
        let _ = writeln!(
            out,
            "# HELP {metric} Time from an event's commit to the broker's acknowledgment of it.\n# TYPE {metric} histogram"
        );
        for t in Transport::ALL {
            let c = self.counters(t);
            let mut cumulative = 0;
            for (i, bound) in ACK_BUCKETS.iter().enumerate() {
                cumulative += c.ack_buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "{metric}_bucket{{transport=\"{}\",le=\"{bound}\"}} {cumulative}",
                    t.as_str()
                );
            }
            cumulative += c.ack_buckets[ACK_BUCKETS.len()].load(Ordering::Relaxed);
            let t = t.as_str();
            let _ = writeln!(
                out,
                "{metric}_bucket{{transport=\"{t}\",le=\"+Inf\"}} {cumulative}"
            );
            let sum = c.ack_sum_ms.load(Ordering::Relaxed) as f64 / 1000.0;
            let _ = writeln!(out, "{metric}_sum{{transport=\"{t}\"}} {sum}");
            let _ = writeln!(out, "{metric}_count{{transport=\"{t}\"}} {cumulative}");
        }
        out
    }

    /// Queued deliveries of broker destinations, per transport.
    fn queue_depths(
        &self,
        store: &Store,
    ) -> crate::core::model::CoreResult<[u64; Transport::ALL.len()]> {
        use crate::store::internal;
        store.read(|tx| {
            let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
            let queue = tx.open_table(tables::DELIVERY_QUEUE).map_err(internal)?;
            let mut depth = [0u64; Transport::ALL.len()];
            for row in hooks.iter().map_err(internal)? {
                let (_, v) = row.map_err(internal)?;
                let w: Webhook = decode(v.value())?;
                let Some(t) = self.transport_of(&w) else {
                    continue;
                };
                let prefix = tables::instance_prefix(&w.id);
                let end = tables::prefix_end(&prefix);
                depth[t as usize] += queue
                    .range::<&[u8]>(prefix.as_slice()..end.as_slice())
                    .map_err(internal)?
                    .count() as u64;
            }
            Ok(depth)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(t: Transport, prefix: Option<&str>) -> BrokerSettings {
        BrokerSettings {
            name: "b".into(),
            transport: t,
            uri: String::new(),
            exchange: "evolution_exchange".into(),
            prefix: prefix.map(str::to_string),
            declare: true,
            global: false,
            dialect: "evolution".into(),
            events: Vec::new(),
            rendered_events: None,
            frame_max: None,
            sqs: Default::default(),
            kafka: Default::default(),
            nats: Default::default(),
        }
    }

    #[test]
    fn routes_follow_evolution() {
        let nats = settings(Transport::Nats, None);
        assert_eq!(
            route(&nats, false, "sales", "messages.upsert").key,
            "sales.messages.upsert"
        );
        assert_eq!(
            route(&nats, true, "sales", "messages.upsert").key,
            "messages.upsert"
        );
        let prefixed = settings(Transport::Nats, Some("wa"));
        assert_eq!(
            route(&prefixed, true, "sales", "messages.upsert").key,
            "wa.messages.upsert"
        );
        let amqp = settings(Transport::Rabbitmq, Some("wa"));
        let local = route(&amqp, false, "sales", "messages.upsert");
        assert_eq!(
            (
                local.exchange.as_str(),
                local.key.as_str(),
                local.queue.as_str()
            ),
            ("sales", "messages.upsert", "sales.messages.upsert")
        );
        let global = route(&amqp, true, "sales", "messages.upsert");
        assert_eq!(
            (
                global.exchange.as_str(),
                global.key.as_str(),
                global.queue.as_str()
            ),
            (
                "evolution_exchange",
                "messages.upsert",
                "wa.messages.upsert"
            )
        );
        // A hostile event name cannot add subject wildcards.
        assert_eq!(route(&nats, false, "s", "a b>*").key, "s.a_b__");
    }

    #[test]
    fn kafka_topics_follow_evolution() {
        let mut kafka = settings(Transport::Kafka, Some("evolution"));
        let local = route(&kafka, false, "sales", "messages.upsert");
        assert_eq!(
            (local.queue.as_str(), local.key.as_str()),
            ("evolution.sales.messages.upsert", "sales")
        );
        let global = route(&kafka, true, "sales", "messages.upsert");
        assert_eq!(
            (global.queue.as_str(), global.key.as_str()),
            ("evolution.global.messages.upsert", "sales-messages.upsert")
        );
        kafka.prefix = None;
        assert_eq!(
            route(&kafka, false, "sales", "chats.update").queue,
            "sales.chats.update"
        );
    }

    #[test]
    fn sqs_queues_follow_evolution() {
        let mut sqs = settings(Transport::Sqs, None);
        let local = route(&sqs, false, "sales", "messages.upsert");
        assert_eq!(
            (local.queue.as_str(), local.key.as_str()),
            ("sales_messages_upsert", "sales")
        );
        let global = route(&sqs, true, "sales", "messages.upsert");
        assert_eq!(
            (global.queue.as_str(), global.key.as_str()),
            ("global_messages_upsert", "sales")
        );
        sqs.prefix = Some("wa".into());
        sqs.sqs.single_queue = true;
        assert_eq!(
            route(&sqs, true, "sales", "messages.upsert").queue,
            "wa_singlequeue"
        );
        // Instance names may hold dots; SQS names may not.
        assert_eq!(
            route(&sqs, false, "a.b", "chats.update").queue,
            "a_b_chats_update"
        );
    }
}
