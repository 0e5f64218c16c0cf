//! Which brokers exist: `[brokers.<name>]` in wagate.toml, and the brokers a mounted
//! dialect declares from the environment (`[broker_env.<name>]` in its manifest:
//! Evolution's `RABBITMQ_ENABLED`, `RABBITMQ_URI`, ...). A wagate.toml broker wins over
//! a dialect's of the same name.
//!
//! ```toml
//! [brokers.events]
//! transport = "nats"                 # or "rabbitmq", "sqs", "kafka"
//! uri = "nats://127.0.0.1:4222"      # amqp://user:pass@host:5672/%2f for RabbitMQ;
//!                                    # SQS: an endpoint, empty for AWS's in `region`;
//!                                    # Kafka: bootstrap brokers, `host:9092,host2:9092`
//! exchange = "wagate"                # RabbitMQ: the exchange of global deliveries
//! frame_max = 131072                 # RabbitMQ: the largest frame asked for (>= 4096)
//! prefix = ""                        # global subjects / queue names: <prefix>.<event>
//! declare = true                     # create what is missing first (RabbitMQ exchanges and
//!                                    # queues as Evolution does, SQS queues, Kafka topics,
//!                                    # NATS JetStream streams `wagate_<token>`)
//! global = false                     # every instance's events, not only those set per instance
//! dialect = "core"                   # who renders global deliveries (a dialect's name)
//! events = []                        # core event kinds of global deliveries; empty: all
//! # SQS only:
//! region = "us-east-1"
//! access_key_id = "AKIA..."
//! secret_access_key = "..."
//! fifo = true                        # <queue>.fifo, grouped by instance, deduplicated by event id
//! single_queue = false               # global deliveries: one `<prefix>_singlequeue` queue
//! # NATS only (besides `user:password@` in the URI):
//! token = "..."                      # the server's authorization token
//! # Kafka and NATS: tls, tls_ca, tls_cert, tls_key, tls_verify (below)
//! # Kafka only (topics `<prefix>.<instance>.<event>`, global `<prefix>.global.<event>`):
//! client_id = "wagate"
//! partitions = 1                     # of the topics the gateway creates (declare)
//! replication_factor = 1
//! sasl_mechanism = "plain"           # or "scram-sha-256", "scram-sha-512"; unset: no SASL
//! sasl_username = "..."
//! sasl_password = "..."
//! tls = false                        # TLS to every broker (SASL_SSL with a mechanism)
//! tls_ca = "/path/ca.pem"            # PEM file or PEM text: the CA trusted besides
//!                                    # Mozilla's roots
//! tls_cert = "/path/client.pem"      # a client certificate and its key (mutual TLS)
//! tls_key = "/path/client.key"
//! tls_verify = true                  # false: accept any server certificate
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{bail, ensure};
use serde::Deserialize;

use super::tls::BrokerTls;
use crate::core::brokers::GlobalBroker;
use crate::core::model::{EventPayload, NATIVE_DIALECT};
use crate::plugin::manifest::BrokerEnv;

/// A broker's protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// NATS with JetStream: a stream must capture the subjects.
    Nats = 0,
    /// RabbitMQ (AMQP 0-9-1) with publisher confirms.
    Rabbitmq = 1,
    /// Amazon SQS (or a server speaking its protocol).
    Sqs = 2,
    /// Apache Kafka (or a server speaking its protocol).
    Kafka = 3,
}

impl Transport {
    /// Its name in configuration and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Nats => "nats",
            Transport::Rabbitmq => "rabbitmq",
            Transport::Sqs => "sqs",
            Transport::Kafka => "kafka",
        }
    }

    /// Every transport, in metrics order.
    pub const ALL: [Transport; 4] = [
        Transport::Nats,
        Transport::Rabbitmq,
        Transport::Sqs,
        Transport::Kafka,
    ];
}

/// What only Kafka needs.
#[derive(Clone, Debug)]
pub struct KafkaSettings {
    /// The client id the brokers see (Evolution's `KAFKA_CLIENT_ID`).
    pub client_id: String,
    /// Partitions of a topic the gateway creates.
    pub partitions: i32,
    /// Replication factor of a topic the gateway creates.
    pub replication: i16,
    /// The SASL login, if the brokers ask for one.
    pub sasl: Option<KafkaSasl>,
    /// TLS to the brokers, if on (its certificates read and checked at start).
    pub tls: Option<BrokerTls>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            client_id: "wagate".into(),
            partitions: 1,
            replication: 1,
            sasl: None,
            tls: None,
        }
    }
}

/// A Kafka SASL mechanism (those Evolution's kafkajs offers; librdkafka speaks them too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    /// `PLAIN`: the password in the clear (use it over TLS).
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// Reads `plain`, `scram-sha-256` or `scram-sha-512` (any case).
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "plain" => Ok(SaslMechanism::Plain),
            "scram-sha-256" => Ok(SaslMechanism::ScramSha256),
            "scram-sha-512" => Ok(SaslMechanism::ScramSha512),
            other => bail!(
                "unsupported Kafka SASL mechanism `{other}` (plain, scram-sha-256 or scram-sha-512)"
            ),
        }
    }
}

/// A Kafka SASL login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaSasl {
    /// How it is exchanged.
    pub mechanism: SaslMechanism,
    /// Who logs in.
    pub username: String,
    /// Their password.
    pub password: String,
}

/// Kafka's login as written in wagate.toml or a dialect's variables, checked.
struct KafkaLogin {
    mechanism: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl KafkaLogin {
    fn resolve(self, broker: &str) -> anyhow::Result<Option<KafkaSasl>> {
        let Some(m) = self.mechanism.filter(|m| !m.trim().is_empty()) else {
            return Ok(None);
        };
        let sasl = KafkaSasl {
            mechanism: SaslMechanism::parse(&m)
                .map_err(|e| anyhow::anyhow!("broker `{broker}`: {e}"))?,
            username: self.username.unwrap_or_default(),
            password: self.password.unwrap_or_default(),
        };
        ensure!(
            !sasl.username.is_empty(),
            "broker `{broker}`: a SASL login needs a username"
        );
        Ok(Some(sasl))
    }
}

/// A broker's TLS as written in wagate.toml or a dialect's variables: the
/// certificates are read (PEM text, or a file path) and the whole checked now.
struct TlsAccess {
    on: bool,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    verify: bool,
}

impl TlsAccess {
    fn of(c: &BrokerConfig) -> TlsAccess {
        TlsAccess {
            on: c.tls,
            ca: c.tls_ca.clone(),
            cert: c.tls_cert.clone(),
            key: c.tls_key.clone(),
            verify: c.tls_verify,
        }
    }

    fn off() -> TlsAccess {
        TlsAccess {
            on: false,
            ca: None,
            cert: None,
            key: None,
            verify: true,
        }
    }

    /// The certificates, read, and the TLS client configuration built from them
    /// (which checks them: a certificate that cannot be used stops the start).
    fn resolve(self, broker: &str) -> anyhow::Result<Option<CheckedTls>> {
        if !self.on {
            return Ok(None);
        }
        let pem = |what: &str, v: Option<String>| -> anyhow::Result<Option<String>> {
            match v.filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(v) if v.trim_start().starts_with("-----BEGIN") => Ok(Some(v)),
                Some(path) => std::fs::read_to_string(path.trim()).map(Some).map_err(|e| {
                    anyhow::anyhow!("broker `{broker}`: reading its TLS {what} {path}: {e}")
                }),
            }
        };
        let tls = BrokerTls {
            ca: pem("CA", self.ca)?,
            cert: pem("certificate", self.cert)?,
            key: pem("key", self.key)?,
            verify: self.verify,
        };
        let rustls = super::tls::client_config(&tls)
            .map_err(|e| anyhow::anyhow!("broker `{broker}`: {e}"))?;
        Ok(Some(CheckedTls { pem: tls, rustls }))
    }
}

/// A broker's TLS, checked: the PEM texts (librdkafka, for Kafka, takes those) and the
/// rustls configuration (NATS's client takes that).
struct CheckedTls {
    pem: BrokerTls,
    rustls: Arc<rustls::ClientConfig>,
}

/// What only NATS needs beyond its URI (which may carry `user:password@`).
#[derive(Clone, Debug, Default)]
pub struct NatsSettings {
    /// A token the server asks for (`authorization { token }`).
    pub token: Option<String>,
    /// TLS to the server, with a private CA or a client certificate; `None`: as the
    /// URI says (`tls://` with Mozilla's roots, or plain).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// What only SQS needs: where its queues are and who sends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SqsSettings {
    /// The AWS region (`us-east-1`); it also names AWS's endpoint when `uri` is empty.
    pub region: String,
    /// The access key the SigV4 signatures are made with.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// FIFO queues (`.fifo`, group = instance, deduplication id = event id); `false`:
    /// standard queues, unordered.
    pub fifo: bool,
    /// Global deliveries all go to `<prefix>_singlequeue` (Evolution's
    /// `SQS_GLOBAL_FORCE_SINGLE_QUEUE`) instead of a queue per event.
    pub single_queue: bool,
}

/// `[brokers.<name>]` in wagate.toml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// `nats`, `rabbitmq`, `sqs` or `kafka`.
    pub transport: Transport,
    /// The server: `nats://host:4222`, `amqp://user:pass@host:5672/%2f` (`tls://`,
    /// `amqps://` for TLS); SQS: an endpoint URL, or empty for AWS's of `region`;
    /// Kafka: bootstrap brokers, `host:9092,host2:9092`.
    #[serde(default)]
    pub uri: String,
    /// RabbitMQ: the exchange of global deliveries (default `wagate`).
    #[serde(default)]
    pub exchange: Option<String>,
    /// Global subjects / queue names are `<prefix>.<event>`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// RabbitMQ: declare exchanges and queues before the first publish (default on).
    #[serde(default = "yes")]
    pub declare: bool,
    /// Every instance's events, without a per-instance set.
    #[serde(default)]
    pub global: bool,
    /// The dialect that renders global deliveries (default: the native JSON).
    #[serde(default)]
    pub dialect: Option<String>,
    /// Core event kinds of global deliveries; empty: all.
    #[serde(default)]
    pub events: Vec<String>,
    /// SQS: the AWS region.
    #[serde(default)]
    pub region: Option<String>,
    /// SQS: the access key.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// SQS: the secret key.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// SQS: FIFO queues (default on).
    #[serde(default = "yes")]
    pub fifo: bool,
    /// SQS: global deliveries into one queue.
    #[serde(default)]
    pub single_queue: bool,
    /// RabbitMQ: the largest frame the connection asks for (AMQP's `frame_max`, at
    /// least 4096; default: the server's).
    #[serde(default)]
    pub frame_max: Option<u32>,
    /// Kafka: the client id (default `wagate`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Kafka: partitions of created topics (default 1).
    #[serde(default)]
    pub partitions: Option<i32>,
    /// Kafka: replication factor of created topics (default 1).
    #[serde(default)]
    pub replication_factor: Option<i16>,
    /// NATS: the server's token.
    #[serde(default)]
    pub token: Option<String>,
    /// Kafka: `plain`, `scram-sha-256` or `scram-sha-512`; unset: no SASL.
    #[serde(default)]
    pub sasl_mechanism: Option<String>,
    /// Kafka: the SASL username.
    #[serde(default)]
    pub sasl_username: Option<String>,
    /// Kafka: the SASL password.
    #[serde(default)]
    pub sasl_password: Option<String>,
    /// Kafka, NATS: TLS to the brokers.
    #[serde(default)]
    pub tls: bool,
    /// Kafka, NATS: a CA to trust (PEM file or text).
    #[serde(default)]
    pub tls_ca: Option<String>,
    /// Kafka, NATS: a client certificate (PEM file or text).
    #[serde(default)]
    pub tls_cert: Option<String>,
    /// Kafka, NATS: the client certificate's key (PEM file or text).
    #[serde(default)]
    pub tls_key: Option<String>,
    /// Kafka, NATS: check the brokers' certificates (default on).
    #[serde(default = "yes")]
    pub tls_verify: bool,
}

fn yes() -> bool {
    true
}

/// One broker as the clients use it.
#[derive(Clone, Debug)]
pub struct BrokerSettings {
    /// Its name (`[brokers.<name>]`, or the dialect's `[broker_env.<name>]`).
    pub name: String,
    /// Its protocol.
    pub transport: Transport,
    /// The server's URI.
    pub uri: String,
    /// RabbitMQ: the exchange of global deliveries.
    pub exchange: String,
    /// Global subjects / queue names: `<prefix>.<event>`.
    pub prefix: Option<String>,
    /// RabbitMQ: declare the exchange and a durable queue per routing key before the
    /// first publish to them; `false`: they must exist (a missing exchange is an error).
    pub declare: bool,
    /// Every instance's events go to it.
    pub global: bool,
    /// Renders global deliveries.
    pub dialect: String,
    /// Core kinds of global deliveries; empty: all.
    pub events: Vec<String>,
    /// Global deliveries: the rendered event names selected by a dialect's per-event
    /// variables (`MESSAGES_UPSERT`), `None`: every name.
    pub rendered_events: Option<BTreeSet<String>>,
    /// RabbitMQ: the largest frame the connection asks for; `None`: the server's.
    pub frame_max: Option<u32>,
    /// SQS: region, credentials and queue kind (default for other transports).
    pub sqs: SqsSettings,
    /// Kafka: client id and the shape of created topics.
    pub kafka: KafkaSettings,
    /// NATS: a token and TLS beyond the URI.
    pub nats: NatsSettings,
}

impl BrokerSettings {
    /// Whether a global delivery of the event rendered as `name` (dotted) is selected.
    pub fn rendered_events_allow(&self, name: &str) -> bool {
        self.rendered_events.as_ref().is_none_or(|set| {
            let upper: String = name
                .chars()
                .map(|c| match c {
                    '.' | '-' => '_',
                    c => c.to_ascii_uppercase(),
                })
                .collect();
            set.contains(&upper)
        })
    }

    /// What the fan-out needs to know of a global broker.
    pub fn global_broker(&self) -> Option<GlobalBroker> {
        self.global.then(|| GlobalBroker {
            name: self.name.clone(),
            dialect: self.dialect.clone(),
            events: self.events.clone(),
        })
    }
}

/// Reads wagate.toml's brokers and the dialects' variables (`env` reads one).
pub fn resolve(
    toml: &BTreeMap<String, BrokerConfig>,
    dialects: &[(String, String, BrokerEnv)],
    env: impl Fn(&str) -> Option<String>,
    env_vars: impl Fn() -> Vec<(String, String)>,
) -> anyhow::Result<Vec<BrokerSettings>> {
    let mut out: BTreeMap<String, BrokerSettings> = BTreeMap::new();
    for (name, c) in toml {
        ensure!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "[brokers.{name}]: a broker name is letters, digits, `-` and `_`"
        );
        if c.transport == Transport::Sqs {
            ensure!(
                c.region.as_deref().is_some_and(|r| !r.is_empty()),
                "[brokers.{name}]: an SQS broker needs `region`"
            );
        } else {
            ensure!(!c.uri.is_empty(), "[brokers.{name}]: uri is empty");
        }
        for kind in &c.events {
            ensure!(
                EventPayload::KINDS.contains(&kind.as_str()),
                "[brokers.{name}]: unknown event `{kind}`; known: {}",
                EventPayload::KINDS.join(", ")
            );
        }
        out.insert(
            name.clone(),
            BrokerSettings {
                name: name.clone(),
                transport: c.transport,
                uri: c.uri.clone(),
                exchange: c.exchange.clone().unwrap_or_else(|| "wagate".into()),
                prefix: c.prefix.clone(),
                declare: c.declare,
                global: c.global,
                dialect: c
                    .dialect
                    .clone()
                    .unwrap_or_else(|| NATIVE_DIALECT.to_string()),
                events: c.events.clone(),
                rendered_events: None,
                frame_max: frame_max(c.frame_max, name)?,
                sqs: SqsSettings {
                    region: c.region.clone().unwrap_or_default(),
                    access_key_id: c.access_key_id.clone().unwrap_or_default(),
                    secret_access_key: c.secret_access_key.clone().unwrap_or_default(),
                    fifo: c.fifo,
                    single_queue: c.single_queue,
                },
                kafka: kafka_settings(
                    c.client_id.clone(),
                    c.partitions,
                    c.replication_factor,
                    KafkaLogin {
                        mechanism: c.sasl_mechanism.clone(),
                        username: c.sasl_username.clone(),
                        password: c.sasl_password.clone(),
                    },
                    match c.transport {
                        Transport::Kafka => TlsAccess::of(c),
                        _ => TlsAccess::off(),
                    },
                    name,
                )?,
                nats: NatsSettings {
                    token: c.token.clone().filter(|t| !t.is_empty()),
                    tls: match c.transport {
                        Transport::Nats => TlsAccess::of(c).resolve(name)?.map(|t| t.rustls),
                        _ => None,
                    },
                },
            },
        );
    }
    for (dialect, name, decl) in dialects {
        let var = |v: &Option<String>| v.as_deref().and_then(&env).filter(|s| !s.is_empty());
        if env(&decl.enabled).as_deref() != Some("true") {
            continue;
        }
        if out.contains_key(name) {
            tracing::info!(broker = %name, %dialect, "wagate.toml configures this broker; the dialect's variables are ignored");
            continue;
        }
        let transport = match decl.transport.as_str() {
            "nats" => Transport::Nats,
            "sqs" => Transport::Sqs,
            "kafka" => Transport::Kafka,
            _ => Transport::Rabbitmq,
        };
        // Variables of the dialect's product that wagate does not honour yet: on, they
        // would be silently ignored (a Kafka without its SASL login), so refuse.
        if let Some(on) = decl
            .refuse_when_true
            .iter()
            .find(|v| env(v).as_deref() == Some("true"))
        {
            bail!(
                "{on}=true is not supported by this gateway yet (broker `{name}` of the {dialect} dialect)"
            );
        }
        let uri = env(&decl.uri)
            .filter(|u| !u.is_empty())
            .or_else(|| decl.default_uri.clone());
        // SQS's endpoint follows from its region; the others need their server.
        let required = match transport {
            Transport::Sqs => decl.region.as_ref(),
            _ if decl.default_uri.is_some() => None,
            _ => Some(&decl.uri),
        };
        if let Some(required) = required
            && env(required).is_none_or(|v| v.is_empty())
        {
            bail!(
                "{} is true but {required} is empty (broker `{name}` of the {dialect} dialect)",
                decl.enabled,
            );
        }
        let rendered_events = decl.events_prefix.as_deref().map(|prefix| {
            env_vars()
                .into_iter()
                .filter(|(_, v)| v == "true")
                .filter_map(|(k, _)| k.strip_prefix(prefix).map(str::to_string))
                .collect()
        });
        out.insert(
            name.clone(),
            BrokerSettings {
                name: name.clone(),
                transport,
                uri: uri.unwrap_or_default(),
                exchange: var(&decl.exchange)
                    .or_else(|| decl.default_exchange.clone())
                    .unwrap_or_else(|| "wagate".into()),
                prefix: var(&decl.prefix).or_else(|| decl.default_prefix.clone()),
                declare: true,
                global: var(&decl.global_enabled).as_deref() == Some("true"),
                dialect: dialect.clone(),
                events: Vec::new(),
                rendered_events,
                frame_max: frame_max(number(&decl.frame_max, var)?, name)?,
                sqs: SqsSettings {
                    region: var(&decl.region).unwrap_or_default(),
                    access_key_id: var(&decl.access_key_id).unwrap_or_default(),
                    secret_access_key: var(&decl.secret_access_key).unwrap_or_default(),
                    fifo: true,
                    single_queue: var(&decl.single_queue).as_deref() == Some("true"),
                },
                kafka: kafka_settings(
                    var(&decl.client_id),
                    number(&decl.partitions, var)?,
                    number(&decl.replication_factor, var)?,
                    KafkaLogin {
                        // The mechanism counts only with the switch on (Evolution's
                        // `.env.example` sets `KAFKA_SASL_MECHANISM=plain` either way).
                        mechanism: (var(&decl.sasl_enabled).as_deref() == Some("true"))
                            .then(|| var(&decl.sasl_mechanism).unwrap_or_else(|| "plain".into())),
                        username: var(&decl.sasl_username),
                        password: var(&decl.sasl_password),
                    },
                    TlsAccess {
                        on: var(&decl.tls_enabled).as_deref() == Some("true"),
                        ca: var(&decl.tls_ca),
                        cert: var(&decl.tls_cert),
                        key: var(&decl.tls_key),
                        verify: var(&decl.tls_verify).as_deref() != Some("false"),
                    },
                    name,
                )?,
                nats: NatsSettings::default(),
            },
        );
    }
    Ok(out.into_values().collect())
}

/// AMQP's smallest allowed `frame_max` is 4096 (RabbitMQ refuses less): a smaller
/// value stops the start instead of failing every connection.
fn frame_max(v: Option<u32>, broker: &str) -> anyhow::Result<Option<u32>> {
    ensure!(
        v.is_none_or(|n| n >= 4096),
        "broker `{broker}`: frame_max is at least 4096 (AMQP's minimum)"
    );
    Ok(v)
}

/// A numeric variable, if set.
fn number<T: std::str::FromStr>(
    name: &Option<String>,
    var: impl Fn(&Option<String>) -> Option<String>,
) -> anyhow::Result<Option<T>> {
    match var(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            anyhow::anyhow!(
                "{} is not a number: {v:?}",
                name.as_deref().unwrap_or_default()
            )
        }),
    }
}

fn kafka_settings(
    client_id: Option<String>,
    partitions: Option<i32>,
    replication: Option<i16>,
    login: KafkaLogin,
    tls: TlsAccess,
    broker: &str,
) -> anyhow::Result<KafkaSettings> {
    let d = KafkaSettings::default();
    let (sasl, tls) = (login.resolve(broker)?, tls.resolve(broker)?.map(|t| t.pem));
    let s = KafkaSettings {
        client_id: client_id.filter(|c| !c.is_empty()).unwrap_or(d.client_id),
        partitions: partitions.unwrap_or(d.partitions),
        replication: replication.unwrap_or(d.replication),
        sasl,
        tls,
    };
    ensure!(
        s.partitions >= 1 && s.replication >= 1,
        "broker `{broker}`: partitions and replication factor are at least 1"
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evolution_rabbit() -> BrokerEnv {
        BrokerEnv {
            transport: "rabbitmq".into(),
            enabled: "RABBITMQ_ENABLED".into(),
            uri: "RABBITMQ_URI".into(),
            exchange: Some("RABBITMQ_EXCHANGE_NAME".into()),
            default_exchange: Some("evolution_exchange".into()),
            global_enabled: Some("RABBITMQ_GLOBAL_ENABLED".into()),
            prefix: Some("RABBITMQ_PREFIX_KEY".into()),
            events_prefix: Some("RABBITMQ_EVENTS_".into()),
            frame_max: Some("RABBITMQ_FRAME_MAX".into()),
            ..Default::default()
        }
    }

    #[test]
    fn evolution_variables_make_a_broker() {
        let vars = [
            ("RABBITMQ_ENABLED", "true"),
            ("RABBITMQ_URI", "amqp://localhost"),
            ("RABBITMQ_GLOBAL_ENABLED", "true"),
            ("RABBITMQ_EVENTS_MESSAGES_UPSERT", "true"),
            ("RABBITMQ_EVENTS_CHATS_UPDATE", "false"),
            ("RABBITMQ_FRAME_MAX", "8192"),
        ];
        let env = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        let all = || {
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let dialects = [("evolution".into(), "rabbitmq".into(), evolution_rabbit())];
        let got = resolve(&BTreeMap::new(), &dialects, env, all).unwrap();
        assert_eq!(got.len(), 1);
        let b = &got[0];
        assert_eq!(
            (b.name.as_str(), b.transport, b.exchange.as_str(), b.global),
            ("rabbitmq", Transport::Rabbitmq, "evolution_exchange", true)
        );
        assert!(b.rendered_events_allow("messages.upsert"));
        assert!(!b.rendered_events_allow("chats.update"));
        assert_eq!(b.frame_max, Some(8192));
        // A frame smaller than AMQP allows stops the start.
        let small = |k: &str| match k {
            "RABBITMQ_FRAME_MAX" => Some("100".to_string()),
            _ => env(k),
        };
        let err = resolve(&BTreeMap::new(), &dialects, small, all).unwrap_err();
        assert!(err.to_string().contains("at least 4096"), "{err}");
        // Not enabled: no broker.
        let off = |k: &str| {
            if k == "RABBITMQ_URI" {
                Some("amqp://x".into())
            } else {
                None
            }
        };
        assert!(
            resolve(&BTreeMap::new(), &dialects, off, Vec::new)
                .unwrap()
                .is_empty()
        );
        // Enabled without a URI: a clear error.
        let no_uri = |k: &str| (k == "RABBITMQ_ENABLED").then(|| "true".to_string());
        let err = resolve(&BTreeMap::new(), &dialects, no_uri, Vec::new).unwrap_err();
        assert!(err.to_string().contains("RABBITMQ_URI is empty"), "{err}");
    }
}
