//! Real message brokers for the broker tests, started on loopback with throwaway data
//! folders (Debian's `nats-server` and `rabbitmq-server`, installed by `.ci/run`), and
//! consumers built on the same client crates the gateway publishes with.
//!
//! Each can be stopped (SIGKILL: no clean shutdown) and started again on the same data
//! folder and ports, as a broker outage; both are killed on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on 127.0.0.1:{port} within {within:?}");
}

/// Whether `program` is on the PATH (the broker tests need the Debian packages).
pub fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `nats-server -js` on a free port.
pub struct Nats {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// More `nats-server` flags (`--auth`, `--tls`, ...).
    extra: Vec<String>,
}

impl Nats {
    pub fn start() -> Nats {
        Self::start_with(&[])
    }

    /// A server started with `extra` flags as well.
    pub fn start_with(extra: &[&str]) -> Nats {
        assert!(
            installed("nats-server"),
            "nats-server is not installed (apt-get install -y nats-server; .ci/run does it)"
        );
        let mut n = Nats {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        n.resume();
        n
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same store and port.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("nats-server")
            .args(["-js", "-sd"])
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-a", "127.0.0.1"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nats-server");
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(20), "nats-server");
    }

    /// SIGKILL, as a crash or a cut cable.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One RabbitMQ node at a time: two nodes booting at once on this machine did not come
/// up within the deadline (the Erlang VMs and their port mappers compete), so the
/// tests that need one take turns.
static ONE_RABBIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `rabbitmq-server` as its own node (own name, ports, data, logs and Erlang cookie),
/// unprivileged, on free ports. Only the `guest` user exists (loopback only).
pub struct Rabbit {
    _turn: std::sync::MutexGuard<'static, ()>,
    pub port: u16,
    dist_port: u16,
    epmd_port: u16,
    node: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Rabbit {
    pub fn start() -> Rabbit {
        assert!(
            Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server").exists(),
            "rabbitmq-server is not installed (apt-get install -y rabbitmq-server; .ci/run does it)"
        );
        let turn = ONE_RABBIT.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("enabled_plugins"), "[].\n").unwrap();
        let port = free_port();
        let mut r = Rabbit {
            _turn: turn,
            port,
            dist_port: free_port(),
            epmd_port: free_port(),
            node: format!("wagate{port}@localhost"),
            dir,
            child: None,
        };
        r.resume();
        r
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    fn env(&self, cmd: &mut Command) {
        let d: PathBuf = self.dir.path().to_path_buf();
        cmd.env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", d.join("advanced.config"))
            .env("HOME", &d)
            // The script then `exec`s the Erlang VM instead of running it as a child
            // (what it does under systemd), so killing the child kills the broker.
            .env("RUNNING_UNDER_SYSTEMD", "true");
    }

    /// Starts it again on the same data folder and ports.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        // The unwrapped script: the packaged wrapper switches to the `rabbitmq` user,
        // which cannot write the test's folder.
        let mut cmd = Command::new("/usr/lib/rabbitmq/bin/rabbitmq-server");
        self.env(&mut cmd);
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting rabbitmq-server");
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(90), "rabbitmq-server");
    }

    /// SIGKILL of the broker's Erlang VM (the script's `exec`ed process).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        self.kill();
        // The Erlang port mapper the node started daemonizes; stop this one by its port.
        let mut cmd = Command::new("epmd");
        self.env(&mut cmd);
        let _ = cmd
            .arg("-kill")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// One message as a consumer got it.
#[derive(Clone, Debug)]
pub struct Got {
    /// NATS subject, or RabbitMQ `<exchange> <routing key>`.
    pub subject: String,
    /// The `Wagate-Event-Id` header (NATS), or the AMQP `message_id`.
    pub id: String,
    pub body: serde_json::Value,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Creates (or keeps) JetStream stream `name` capturing `subjects`.
pub fn nats_stream(url: &str, name: &str, subjects: &[&str]) {
    let subjects: Vec<String> = subjects.iter().map(|s| s.to_string()).collect();
    runtime().block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.get_or_create_stream(async_nats::jetstream::stream::Config {
            name: name.to_string(),
            subjects,
            ..Default::default()
        })
        .await
        .unwrap();
    });
}

/// Every message in stream `name`, in stream order (read until `want` or `within`;
/// the stream may appear meanwhile).
pub fn nats_read(url: &str, name: &str, want: usize, within: Duration) -> Vec<Got> {
    nats_read_as(async_nats::ConnectOptions::new(), url, name, want, within)
}

/// [`nats_read`] connecting with `options` (a token, TLS).
pub fn nats_read_as(
    options: async_nats::ConnectOptions,
    url: &str,
    name: &str,
    want: usize,
    within: Duration,
) -> Vec<Got> {
    use futures_util::StreamExt;
    runtime().block_on(async {
        let client = options.connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let deadline = tokio::time::Instant::now() + within;
        // The stream may be the gateway's to create: wait for it as for its messages.
        let stream = loop {
            match js.get_stream(name).await {
                Ok(stream) => break stream,
                Err(e) if tokio::time::Instant::now() > deadline => {
                    panic!("no stream {name}: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
            .await
            .unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let mut out = Vec::new();
        while out.len() < want {
            let next = tokio::time::timeout_at(deadline, messages.next()).await;
            let Ok(Some(Ok(m))) = next else { break };
            let id = m
                .headers
                .as_ref()
                .and_then(|h| h.get("Wagate-Event-Id"))
                .map(|v| v.to_string())
                .unwrap_or_default();
            out.push(Got {
                subject: m.subject.to_string(),
                id,
                body: serde_json::from_slice(&m.payload).unwrap_or_default(),
            });
        }
        out
    })
}

/// Takes every message off RabbitMQ queues `queues` (acknowledging each) until `want`
/// distinct ids came or `within` passed; queue by queue, in queue order.
pub fn rabbit_drain(url: &str, queues: &[String], want: usize, within: Duration) -> Vec<Got> {
    use lapin::options::{BasicAckOptions, BasicGetOptions};
    runtime().block_on(async {
        let conn = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let channel = conn.create_channel().await.unwrap();
        let deadline = Instant::now() + within;
        let mut out: Vec<Got> = Vec::new();
        let mut ids = std::collections::HashSet::new();
        while ids.len() < want && Instant::now() < deadline {
            let mut took = false;
            for q in queues {
                // A queue the gateway has not declared yet is "not found": the channel
                // closes, so open a new one and try later.
                match channel
                    .basic_get(q.as_str().into(), BasicGetOptions::default())
                    .await
                {
                    Ok(Some(m)) => {
                        took = true;
                        let id = m
                            .delivery
                            .properties
                            .message_id()
                            .as_ref()
                            .map(|s| s.to_string())
                            .unwrap_or_default();
                        ids.insert(id.clone());
                        out.push(Got {
                            subject: format!("{} {}", m.delivery.exchange, m.delivery.routing_key),
                            id,
                            body: serde_json::from_slice(&m.delivery.data).unwrap_or_default(),
                        });
                        m.delivery.ack(BasicAckOptions::default()).await.unwrap();
                    }
                    Ok(None) => {}
                    Err(e) => panic!("basic.get on {q}: {e}"),
                }
            }
            if !took {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        out
    })
}

/// Declares what the gateway declares before its first publish (Evolution's
/// topology: a durable topic exchange, a durable quorum queue bound with `key`), so a
/// consumer can read the queue before the gateway's first message.
pub fn rabbit_declare(url: &str, exchange: &str, queue: &str, key: &str) {
    use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
    use lapin::types::{AMQPValue, FieldTable};
    runtime().block_on(async {
        let conn = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let channel = conn.create_channel().await.unwrap();
        channel
            .exchange_declare(
                exchange.into(),
                lapin::ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                args,
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                queue.into(),
                exchange.into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
    });
}

/// An SQS client of `endpoint` (moto: any keys, region `us-east-1`).
fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::from_keys(
            "test", "test", None,
        ))
        .endpoint_url(endpoint)
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// Receives (and deletes) every message of SQS queues `queues` until `want` distinct
/// ids came or `within` passed; queue by queue, in receive order (a FIFO queue hands
/// out a group's next message only once the one before is deleted). A queue the
/// gateway has not created yet is tried again later.
pub fn sqs_drain(endpoint: &str, queues: &[String], want: usize, within: Duration) -> Vec<Got> {
    runtime().block_on(async {
        let client = sqs_client(endpoint);
        let deadline = Instant::now() + within;
        let mut out: Vec<Got> = Vec::new();
        let mut ids = std::collections::HashSet::new();
        let mut urls = std::collections::HashMap::new();
        while ids.len() < want && Instant::now() < deadline {
            let mut took = false;
            for q in queues {
                if !urls.contains_key(q) {
                    match client.get_queue_url().queue_name(q).send().await {
                        Ok(o) => {
                            urls.insert(q.clone(), o.queue_url.unwrap());
                        }
                        Err(e)
                            if e.as_service_error()
                                .is_some_and(|s| s.is_queue_does_not_exist()) =>
                        {
                            continue;
                        }
                        Err(e) => panic!("looking up {q}: {e:?}"),
                    }
                }
                let url = &urls[q];
                let got = client
                    .receive_message()
                    .queue_url(url)
                    .max_number_of_messages(10)
                    .message_attribute_names("All")
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("receiving from {q}: {e:?}"));
                for m in got.messages.unwrap_or_default() {
                    took = true;
                    let id = m
                        .message_attributes
                        .as_ref()
                        .and_then(|a| a.get("wagate-event-id"))
                        .and_then(|v| v.string_value.clone())
                        .unwrap_or_default();
                    ids.insert(id.clone());
                    out.push(Got {
                        subject: q.clone(),
                        id,
                        body: serde_json::from_str(m.body.as_deref().unwrap_or(""))
                            .unwrap_or_default(),
                    });
                    client
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(m.receipt_handle.unwrap())
                        .send()
                        .await
                        .unwrap();
                }
            }
            if !took {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        out
    })
}
