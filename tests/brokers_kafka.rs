//! Events into Apache Kafka (issue 21). No Kafka server installs from this project's
//! registries, so the broker is a fake speaking Kafka's wire protocol
//! (tests/common/fake_kafka.rs); the gateway's side is the real client (rskafka) and
//! the real dispatcher.
//!
//! - 1,000 events across 3 instances, through Evolution's `/kafka/set` and its
//!   `KAFKA_*` variables: the gateway creates each topic
//!   (`evolution.<instance>.messages.upsert`, `KAFKA_NUM_PARTITIONS` partitions), keys
//!   every record by the instance so one instance stays in one partition, and every
//!   event arrives (duplicates only with the same id: rskafka has no idempotent
//!   producer) in order per instance, although the broker is down mid-stream and the
//!   gateway SIGKILLed meanwhile.
//! - Evolution's global topics (`evolution.global.<event>`, key `<instance>-<event>`),
//!   only the selected events.
//! - Bad configuration: a missing topic with `declare = false` and an unreachable broker
//!   end as dead letters with the reason; `KAFKA_SASL_ENABLED=true` refuses the start.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::json;

use crate::brokers::{
    INSTANCES, KEY, PEER, check, config, dead_letter_of, drive, metric, outage_scenario,
};
use crate::common::Gateway;
use crate::common::brokers;
use crate::common::evolution::open_instance;
use crate::common::fake_kafka::FakeKafka;

#[test]
fn kafka_gets_every_event_in_order_across_an_outage_and_a_sigkill() {
    let kafka = FakeKafka::start();
    let url = kafka.url();
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
        &mut || kafka.kill(),
        &mut || kafka.resume(),
    );
    let topics: Vec<String> = INSTANCES
        .iter()
        .map(|i| format!("evolution.{i}.messages.upsert"))
        .collect();
    let got = kafka.read(&topics, 1000, Duration::from_secs(120));
    let duplicates = check(&got, &sent, |i| {
        format!("evolution.{i}.messages.upsert {i}")
    });
    eprintln!("kafka: {} records, {duplicates} duplicates", got.len());
    for t in &topics {
        assert_eq!(kafka.topics()[t], 3, "{t} made with KAFKA_NUM_PARTITIONS");
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
    // (No count of dispatcher retries: rskafka itself retries a call for up to 5 s,
    // which can cover the short outage after the restart.)
    assert_eq!(metric(&gw, "wagate_broker_dead_lettered_total", "kafka"), 0);
    let (_, dead) = gw.admin("GET", "/admin/events/dead-letters", None);
    assert_eq!(dead, json!([]));
}

#[test]
fn kafka_global_topics_and_bad_configuration() {
    let kafka = FakeKafka::start();
    let closed = brokers::free_port();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
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
    let cfg_text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("max_attempts = 100000", "max_attempts = 3");
    std::fs::write(&cfg, cfg_text).unwrap();
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

#[test]
fn kafkas_sasl_switch_refuses_the_start_rather_than_connecting_without_it() {
    let err = crate::common::refused_start(&[
        ("KAFKA_ENABLED", "true"),
        ("KAFKA_SASL_ENABLED", "true"),
        ("AUTHENTICATION_API_KEY", KEY),
    ]);
    assert!(
        err.contains("KAFKA_SASL_ENABLED=true is not supported"),
        "{err}"
    );
}
