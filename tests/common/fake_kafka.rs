//! A fake Kafka broker for the Kafka transport's `SASL_SSL` test only: the real broker
//! the other Kafka tests run (Tansu, tests/common/kafka.rs) did not get through a
//! `PLAIN`/SCRAM login over TLS here, so that one test talks to this fake speaking the
//! real wire protocol. Requests are decoded and responses encoded with the
//! `kafka-protocol` crate; the gateway's client (librdkafka) negotiates versions with
//! it through `ApiVersions` as with a real broker.
//!
//! One node (id 0) that leads every partition. It answers `ApiVersions`, `Metadata`,
//! `CreateTopics`, `InitProducerId` and `Produce` (record batches decoded and kept per
//! partition, in order); anything else closes the connection. It can be killed
//! (the port refuses, open connections are cut) and resumed on the same port with what
//! it had stored, as a broker outage.
//!
//! [`FakeKafka::start_secured`] makes it a `SASL_SSL` (or `SASL_PLAINTEXT`) listener:
//! TLS with a self-signed certificate for `127.0.0.1` made at start
//! ([`FakeKafka::ca_pem`]), and a `PLAIN` login (`SaslHandshake`, `SaslAuthenticate`)
//! before anything but `ApiVersions` is answered; a wrong password is refused with
//! Kafka's `SASL_AUTHENTICATION_FAILED` and the connection closed, as a broker does.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;

use super::brokers::{Got, free_port};
use super::kafka::Stored;

#[derive(Default)]
struct State {
    /// topic -> partitions -> records in offset order.
    topics: BTreeMap<String, Vec<Vec<Stored>>>,
    /// Produce requests answered (the test checks the gateway's retries arrived).
    produced: u64,
}

/// What a connection must go through before it is served.
#[derive(Clone, Default)]
struct Security {
    /// The one `PLAIN` login accepted (username, password).
    login: Option<(String, String)>,
    /// TLS, with the certificate made at start.
    tls: Option<Arc<rustls::ServerConfig>>,
}

pub struct FakeKafka {
    pub port: u16,
    state: Arc<Mutex<State>>,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    security: Security,
    ca_pem: Option<String>,
}

impl FakeKafka {
    pub fn start() -> FakeKafka {
        Self::with_security(Security::default(), None)
    }

    /// A broker asking for the `PLAIN` login `(username, password)`, over TLS when
    /// `tls`.
    pub fn start_secured(login: (&str, &str), tls: bool) -> FakeKafka {
        let (tls, ca_pem) = if tls {
            let (config, pem) = crate::common::tls::self_signed(&["127.0.0.1", "localhost"]);
            (Some(config), Some(pem))
        } else {
            (None, None)
        };
        let security = Security {
            login: Some((login.0.to_string(), login.1.to_string())),
            tls,
        };
        Self::with_security(security, ca_pem)
    }

    fn with_security(security: Security, ca_pem: Option<String>) -> FakeKafka {
        let fake = FakeKafka {
            port: free_port(),
            state: Arc::default(),
            up: Arc::new(AtomicBool::new(false)),
            conns: Arc::default(),
            security,
            ca_pem,
        };
        fake.resume();
        fake
    }

    /// The certificate a TLS broker presents, PEM (what `KAFKA_SSL_CA` trusts).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The bootstrap address (`KAFKA_BROKERS`).
    pub fn url(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Makes `topic` with `partitions` (as an operator would before the gateway runs).
    pub fn create_topic(&self, topic: &str, partitions: usize) {
        self.state
            .lock()
            .unwrap()
            .topics
            .entry(topic.to_string())
            .or_insert_with(|| vec![Vec::new(); partitions]);
    }

    /// Partition counts of the topics that exist.
    pub fn topics(&self) -> BTreeMap<String, usize> {
        let state = self.state.lock().unwrap();
        state
            .topics
            .iter()
            .map(|(t, p)| (t.clone(), p.len()))
            .collect()
    }

    /// Every record of `topic`, partition by partition, each in offset order.
    pub fn records(&self, topic: &str) -> Vec<Stored> {
        let state = self.state.lock().unwrap();
        state
            .topics
            .get(topic)
            .map(|ps| ps.iter().flatten().cloned().collect())
            .unwrap_or_default()
    }

    /// The records of `topics` as consumers see them.
    pub fn read(&self, topics: &[String], want: usize, within: Duration) -> Vec<Got> {
        super::kafka::read_records(topics, want, within, |t| self.records(t))
    }

    /// Produce requests answered so far.
    pub fn produced(&self) -> u64 {
        self.state.lock().unwrap().produced
    }

    /// The broker goes away: its port refuses and open connections are cut; what it
    /// stored is kept for [`FakeKafka::resume`].
    pub fn kill(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "the fake broker did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Listens again on the same port.
    pub fn resume(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("fake kafka port");
        listener.set_nonblocking(true).unwrap();
        self.up.store(true, Ordering::SeqCst);
        let (up, conns, state, port, security) = (
            self.up.clone(),
            self.conns.clone(),
            self.state.clone(),
            self.port,
            self.security.clone(),
        );
        std::thread::spawn(move || {
            while up.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        conns.lock().unwrap().push(conn.try_clone().unwrap());
                        let (state, security) = (state.clone(), security.clone());
                        std::thread::spawn(move || match security.tls.clone() {
                            Some(tls) => {
                                let Ok(session) = rustls::ServerConnection::new(tls) else {
                                    return;
                                };
                                let stream = rustls::StreamOwned::new(session, conn);
                                serve(stream, state, port, security.login)
                            }
                            None => serve(conn, state, port, security.login),
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
    }
}

impl Drop for FakeKafka {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Answers one connection's requests until it closes or asks for something unknown;
/// with a `login`, only `ApiVersions` and the SASL exchange until it is given.
fn serve(
    mut conn: impl Read + Write,
    state: Arc<Mutex<State>>,
    port: u16,
    login: Option<(String, String)>,
) {
    let mut session = Session {
        login,
        authenticated: false,
        failed: false,
    };
    loop {
        let mut len = [0u8; 4];
        if conn.read_exact(&mut len).is_err() {
            return;
        }
        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
        if conn.read_exact(&mut frame).is_err() {
            return;
        }
        let Some(reply) = answer(Bytes::from(frame), &state, port, &mut session) else {
            return;
        };
        let mut out = BytesMut::new();
        out.put_u32(reply.len() as u32);
        out.extend_from_slice(&reply);
        if conn.write_all(&out).and_then(|_| conn.flush()).is_err() {
            return;
        }
        if session.refused() {
            return; // a failed login ends the connection
        }
    }
}

/// One connection's login.
struct Session {
    login: Option<(String, String)>,
    authenticated: bool,
    /// A login was tried and refused: the connection ends after the answer.
    failed: bool,
}

impl Session {
    fn open(&self) -> bool {
        self.login.is_none() || self.authenticated
    }

    fn refused(&self) -> bool {
        self.failed
    }
}

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn versions<M: Message>(key: ApiKey) -> ApiVersion {
    ApiVersion::default()
        .with_api_key(key as i16)
        .with_min_version(M::VERSIONS.min)
        .with_max_version(M::VERSIONS.max)
}

/// The encoded response (header and body) to one request frame.
fn answer(
    mut frame: Bytes,
    state: &Mutex<State>,
    port: u16,
    session: &mut Session,
) -> Option<BytesMut> {
    let key = ApiKey::try_from(i16::from_be_bytes([frame[0], frame[1]])).ok()?;
    let before_login = matches!(
        key,
        ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
    );
    if !session.open() && !before_login {
        return None; // a broker closes an unauthenticated connection
    }
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let header = RequestHeader::decode(&mut frame, key.request_header_version(version)).ok()?;
    let mut out = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(header.correlation_id)
        .encode(&mut out, key.response_header_version(version))
        .ok()?;
    match key {
        ApiKey::ApiVersions => ApiVersionsResponse::default()
            .with_api_keys(vec![
                versions::<ApiVersionsRequest>(ApiKey::ApiVersions),
                versions::<MetadataRequest>(ApiKey::Metadata),
                versions::<ProduceRequest>(ApiKey::Produce),
                versions::<CreateTopicsRequest>(ApiKey::CreateTopics),
                versions::<SaslHandshakeRequest>(ApiKey::SaslHandshake),
                versions::<SaslAuthenticateRequest>(ApiKey::SaslAuthenticate),
                versions::<InitProducerIdRequest>(ApiKey::InitProducerId),
                // Never asked for: librdkafka writes record batches v2 (with headers)
                // only to a broker that also lists Fetch v4+, as every real one does.
                versions::<FetchRequest>(ApiKey::Fetch),
            ])
            .encode(&mut out, version)
            .ok()?,
        // An idempotent producer's id (librdkafka asks before its first record); the
        // fake keeps no sequence numbers, so it drops no duplicates.
        ApiKey::InitProducerId => {
            InitProducerIdRequest::decode(&mut frame, version).ok()?;
            InitProducerIdResponse::default()
                .with_producer_id(ProducerId(1))
                .with_producer_epoch(0)
                .encode(&mut out, version)
                .ok()?
        }
        ApiKey::SaslHandshake => {
            let req = SaslHandshakeRequest::decode(&mut frame, version).ok()?;
            // UNSUPPORTED_SASL_MECHANISM
            let error = if req.mechanism.as_str() == "PLAIN" {
                0
            } else {
                33
            };
            SaslHandshakeResponse::default()
                .with_error_code(error)
                .with_mechanisms(vec![StrBytes::from_static_str("PLAIN")])
                .encode(&mut out, version)
                .ok()?
        }
        ApiKey::SaslAuthenticate => {
            let req = SaslAuthenticateRequest::decode(&mut frame, version).ok()?;
            // PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd
            let fields: Vec<&[u8]> = req.auth_bytes.split(|b| *b == 0).collect();
            let given = match fields.as_slice() {
                [_, user, pass] => Some((user.to_vec(), pass.to_vec())),
                _ => None,
            };
            let wanted = session
                .login
                .as_ref()
                .map(|(u, p)| (u.as_bytes().to_vec(), p.as_bytes().to_vec()));
            let ok = given.is_some() && given == wanted;
            session.authenticated = ok;
            session.failed = !ok;
            let mut resp = SaslAuthenticateResponse::default();
            if !ok {
                // SASL_AUTHENTICATION_FAILED
                resp =
                    resp.with_error_code(58)
                        .with_error_message(Some(StrBytes::from_static_str(
                            "Authentication failed: Invalid username or password",
                        )));
            }
            resp.encode(&mut out, version).ok()?
        }
        ApiKey::Metadata => {
            let req = MetadataRequest::decode(&mut frame, version).ok()?;
            let state = state.lock().unwrap();
            let names: Vec<String> = match req.topics {
                None => state.topics.keys().cloned().collect(),
                Some(ts) => ts
                    .into_iter()
                    .filter_map(|t| t.name.map(|n| n.0.to_string()))
                    .collect(),
            };
            let topics = names
                .into_iter()
                .map(|name| match state.topics.get(&name) {
                    Some(ps) => MetadataResponseTopic::default()
                        .with_name(Some(topic_name(&name)))
                        .with_partitions(
                            (0..ps.len() as i32)
                                .map(|i| {
                                    MetadataResponsePartition::default()
                                        .with_partition_index(i)
                                        .with_leader_id(BrokerId(0))
                                        .with_replica_nodes(vec![BrokerId(0)])
                                        .with_isr_nodes(vec![BrokerId(0)])
                                })
                                .collect(),
                        ),
                    // UNKNOWN_TOPIC_OR_PARTITION
                    None => MetadataResponseTopic::default()
                        .with_name(Some(topic_name(&name)))
                        .with_error_code(3),
                })
                .collect();
            MetadataResponse::default()
                .with_brokers(vec![
                    MetadataResponseBroker::default()
                        .with_node_id(BrokerId(0))
                        .with_host(StrBytes::from_static_str("127.0.0.1"))
                        .with_port(i32::from(port)),
                ])
                .with_controller_id(BrokerId(0))
                .with_topics(topics)
                .encode(&mut out, version)
                .ok()?
        }
        ApiKey::CreateTopics => {
            let req = CreateTopicsRequest::decode(&mut frame, version).ok()?;
            let mut state = state.lock().unwrap();
            let results = req
                .topics
                .into_iter()
                .map(|t| {
                    let name = t.name.0.to_string();
                    let exists = state.topics.contains_key(&name);
                    if !exists {
                        let n = t.num_partitions.max(1) as usize;
                        state.topics.insert(name.clone(), vec![Vec::new(); n]);
                    }
                    // TOPIC_ALREADY_EXISTS
                    CreatableTopicResult::default()
                        .with_name(topic_name(&name))
                        .with_error_code(if exists { 36 } else { 0 })
                })
                .collect();
            CreateTopicsResponse::default()
                .with_topics(results)
                .encode(&mut out, version)
                .ok()?
        }
        ApiKey::Produce => {
            let req = ProduceRequest::decode(&mut frame, version).ok()?;
            let mut state = state.lock().unwrap();
            state.produced += 1;
            let mut responses = Vec::new();
            for t in req.topic_data {
                let name = t.name.0.to_string();
                let mut parts = Vec::new();
                for p in t.partition_data {
                    let Some(partition) = state
                        .topics
                        .get_mut(&name)
                        .and_then(|ps| ps.get_mut(p.index as usize))
                    else {
                        parts.push(
                            PartitionProduceResponse::default()
                                .with_index(p.index)
                                .with_error_code(3),
                        );
                        continue;
                    };
                    let base = partition.len() as i64;
                    let mut records = p.records.unwrap_or_default();
                    while records.has_remaining() {
                        let set = RecordBatchDecoder::decode(&mut records).ok()?;
                        for r in set.records {
                            partition.push(Stored {
                                partition: p.index,
                                key: r.key.map(|k| k.to_vec()).unwrap_or_default(),
                                value: r.value.map(|v| v.to_vec()).unwrap_or_default(),
                                headers: r
                                    .headers
                                    .into_iter()
                                    .map(|(k, v)| {
                                        (k.to_string(), v.map(|v| v.to_vec()).unwrap_or_default())
                                    })
                                    .collect(),
                            });
                        }
                    }
                    parts.push(
                        PartitionProduceResponse::default()
                            .with_index(p.index)
                            .with_base_offset(base),
                    );
                }
                responses.push(
                    TopicProduceResponse::default()
                        .with_name(t.name)
                        .with_partition_responses(parts),
                );
            }
            ProduceResponse::default()
                .with_responses(responses)
                .encode(&mut out, version)
                .ok()?
        }
        _ => return None,
    }
    Some(out)
}
