//! Events into Amazon SQS (issue 21), against a real SQS-protocol server: moto's
//! server (tests/common/moto.rs, installed by `.ci/run`), reached by the gateway
//! through a gate the test cuts as an outage, and consumed with the AWS SDK the gateway
//! sends with.
//!
//! - 1,000 events across 3 instances, through Evolution's `/sqs/set` and its `SQS_*`
//!   variables: the gateway creates each FIFO queue (`<instance>_messages_upsert.fifo`)
//!   and every event arrives once (SQS drops a redelivery by its deduplication id, the
//!   event id), in order per instance, although SQS is unreachable mid-stream and the
//!   gateway is SIGKILLed meanwhile.
//! - Evolution's global switch with one queue for all: instances' events interleave in
//!   `global_singlequeue.fifo`, each instance's in order (its own message group).
//! - `/instance/create` with an `sqs` block turns the broker on for the new instance.
//! - Bad configuration: an unset region is refused at start, an unconfigured broker at
//!   set time; an unreachable endpoint, refused credentials and a missing queue (with
//!   `declare = false`) end as dead letters with SQS's reason.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::brokers::{
    INSTANCES, KEY, PEER, check, config, config_failing_fast, dead_letter_of, drive, metric,
    outage_scenario,
};
use crate::common::Gateway;
use crate::common::brokers::{self, sqs_drain};
use crate::common::evolution::{evo_json, open_instance};
use crate::common::moto::Moto;

fn sqs_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AUTHENTICATION_API_KEY", KEY.to_string()),
        ("SQS_ENABLED", "true".into()),
        ("SQS_REGION", "us-east-1".into()),
        ("SQS_ACCESS_KEY_ID", "test".into()),
        ("SQS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_ENDPOINT_URL_SQS", endpoint.to_string()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn sqs_gets_every_event_once_in_order_across_an_outage_and_a_sigkill() {
    let moto = Moto::start();
    let env = sqs_env(&moto.endpoint());
    let (_tmp, sent, gw) = outage_scenario(
        &as_refs(&env),
        "/sqs/set",
        json!({"sqs": {"enabled": true, "events": ["MESSAGES_UPSERT"]}}),
        &mut || moto.gate.cut(),
        &mut || moto.gate.restore(),
    );
    let queues: Vec<String> = INSTANCES
        .iter()
        .map(|i| format!("{i}_messages_upsert.fifo"))
        .collect();
    let got = sqs_drain(&moto.direct, &queues, 1000, Duration::from_secs(180));
    let duplicates = check(&got, &sent, |i| format!("{i}_messages_upsert.fifo"));
    assert_eq!(duplicates, 0, "SQS drops redeliveries by deduplication id");
    assert_eq!(got.len(), 1000);
    let (s, v) = evo_json(&gw, "GET", "/sqs/find/b1", Some(KEY), None);
    assert_eq!(s, 200);
    assert_eq!(v["enabled"], true);
    assert_eq!(v["events"], json!(["MESSAGES_UPSERT"]));
    assert!(metric(&gw, "wagate_broker_acknowledged_total", "sqs") >= 400);
    assert!(metric(&gw, "wagate_broker_retried_total", "sqs") > 0);
    assert_eq!(metric(&gw, "wagate_broker_dead_lettered_total", "sqs"), 0);
    assert_eq!(metric(&gw, "wagate_broker_queue_depth", "sqs"), 0);
    let (_, dead) = gw.admin("GET", "/admin/events/dead-letters", None);
    assert_eq!(dead, json!([]));
}

#[test]
fn evolutions_global_sqs_single_queue_keeps_each_instances_order() {
    let moto = Moto::start();
    let mut env = sqs_env(&moto.endpoint());
    env.extend([
        ("SQS_GLOBAL_ENABLED", "true".to_string()),
        ("SQS_GLOBAL_FORCE_SINGLE_QUEUE", "true".into()),
        ("SQS_GLOBAL_MESSAGES_UPSERT", "true".into()),
        ("SQS_GLOBAL_CHATS_UPSERT", "false".into()),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "");
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--config", cfg.as_str()],
        &as_refs(&env),
    );
    for name in INSTANCES {
        open_instance(&gw, KEY, name);
    }
    let mut sent = HashMap::new();
    drive(&gw, 0..60, &mut sent);
    let queue = "global_singlequeue.fifo".to_string();
    let got = sqs_drain(
        &moto.direct,
        std::slice::from_ref(&queue),
        60,
        Duration::from_secs(60),
    );
    // Only the selected event: no chats.upsert although each first message makes a chat.
    let duplicates = check(&got, &sent, |_| queue.clone());
    assert_eq!(duplicates, 0);
    assert_eq!(got.len(), 60);
}

#[test]
fn create_with_an_sqs_block_and_bad_sqs_configuration() {
    let moto = Moto::start();
    let checking = Moto::start_checking_credentials();
    let closed = brokers::free_port();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config_failing_fast(
        tmp.path(),
        &format!(
            r#"
[brokers.sqs]
transport = "sqs"
uri = "{moto}"
region = "us-east-1"
access_key_id = "test"
secret_access_key = "test"

[brokers.unreachable]
transport = "sqs"
uri = "http://127.0.0.1:{closed}"
region = "us-east-1"

[brokers.badcreds]
transport = "sqs"
uri = "{checking}"
region = "us-east-1"
access_key_id = "AKIANOTAKEY"
secret_access_key = "wrong"

[brokers.noqueue]
transport = "sqs"
uri = "{moto}"
region = "us-east-1"
declare = false
"#,
            moto = moto.endpoint(),
            checking = checking.endpoint(),
        ),
    );
    // Few attempts, so the bad ones dead-letter soon.
    let gw = Gateway::start_on_with_env(
        &tmp.path().join("data"),
        &["--config", cfg.as_str()],
        &[("AUTHENTICATION_API_KEY", KEY)],
    );

    // Create's `sqs` block turns the broker on, as /sqs/set would.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/instance/create",
        Some(KEY),
        Some(json!({"instanceName": "made", "sqs": {"events": ["MESSAGES_UPSERT"]}})),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["sqs"]["enabled"], Value::Null, "echoed as given");
    let (s, v) = evo_json(&gw, "GET", "/sqs/find/made", Some(KEY), None);
    assert_eq!(s, 200);
    assert_eq!(
        (v["enabled"].clone(), v["events"].clone()),
        (json!(true), json!(["MESSAGES_UPSERT"]))
    );
    // Bad events are refused before anything is made.
    let (s, v) = evo_json(
        &gw,
        "POST",
        "/instance/create",
        Some(KEY),
        Some(json!({"instanceName": "never", "sqs": {"events": ["NOPE"]}})),
    );
    assert_eq!(s, 400, "{v}");
    let (s, _) = evo_json(&gw, "GET", "/sqs/find/never", Some(KEY), None);
    assert_eq!(s, 404);

    // Configured but wrong: each ends as a dead letter saying why.
    let key = gw.org_with_key("acme", None);
    gw.connected_instance(&key, "bad");
    for name in ["unreachable", "badcreds", "noqueue"] {
        let (s, v) = gw.call(
            "PUT",
            &format!("/core/instances/bad/brokers/{name}"),
            Some(&key),
            Some(json!({"events": ["message_upsert"]})),
        );
        assert_eq!(s, 200, "{name}: {v}");
        assert_eq!(v["transport"], "sqs");
    }
    gw.inbound("bad", PEER, "hello", false);
    for (name, want) in [
        (
            "unreachable",
            "looking up SQS queue `bad_message_upsert.fifo`",
        ),
        ("badcreds", "InvalidClientTokenId"),
        (
            "noqueue",
            "SQS queue `bad_message_upsert.fifo` does not exist",
        ),
    ] {
        let reason = dead_letter_of(&gw, &format!("broker:{name}"));
        assert!(reason.contains(want), "{name}: {reason} lacks {want}");
    }
    assert_eq!(metric(&gw, "wagate_broker_dead_lettered_total", "sqs"), 3);
}

#[test]
fn an_sqs_broker_without_a_region_is_refused_at_start() {
    let err =
        crate::common::refused_start(&[("SQS_ENABLED", "true"), ("AUTHENTICATION_API_KEY", KEY)]);
    assert!(
        err.contains("SQS_ENABLED is true but SQS_REGION is empty"),
        "{err}"
    );
}
