//! `POST /rabbitmq/set/{instanceName}`, `GET /rabbitmq/find/{instanceName}` and the same
//! under `/nats`, `/sqs` and `/kafka`, on core's broker destinations (`core.set-broker`): the
//! instance's events go to the brokers the gateway configures as `rabbitmq`, `nats` and
//! `sqs` (Evolution's `RABBITMQ_*` / `NATS_*` / `SQS_*` variables, declared in
//! plugin.toml, or wagate.toml's `[brokers.rabbitmq]` ...), rendered by `render-event`
//! exactly as this dialect's webhooks are, and published by the host with its routing
//! (RabbitMQ: exchange `<instance>`, routing key `messages.upsert`, queue
//! `<instance>.messages.upsert`; NATS: subject `<instance>.messages.upsert`; SQS: FIFO
//! queue `<instance>_messages_upsert.fifo`; Kafka: topic
//! `evolution.<instance>.messages.upsert`, key `<instance>`). `/instance/create` takes the same blocks
//! (`{"rabbitmq": {"events": [...]}}`, or the flat `rabbitmqEnabled`/`rabbitmqEvents`):
//! a block that is there turns its broker on unless it says `enabled: false`, as
//! Evolution's `EventManager.setInstance` does.
//!
//! The body is Evolution's `EventDto`: `{"rabbitmq": {"enabled": true, "events":
//! ["MESSAGES_UPSERT"]}}`; enabled with no events means all (Evolution's
//! `EventController.set`), disabled stores no events. The answer is Evolution's stored
//! row `{id, enabled, events, createdAt, updatedAt, instanceId}`; find answers it or
//! `null`. A broker the gateway does not configure is a 400 saying which variables
//! turn it on (Evolution silently answers nothing).

use serde::Serialize;
use serde_json::Value;
use wagate_plugin_sdk::prelude::*;
use wagate_plugin_sdk::types::{BrokerDestination, BrokerSpec};

use crate::input::{self, bad};
use crate::shape::Style;
use crate::util::iso;
use crate::webhook::{kinds_of, names_of};
use crate::{Cap, Reply, core_error, guard};

/// Evolution's stored row of an event transport.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    id: String,
    enabled: bool,
    events: Vec<&'static str>,
    created_at: String,
    updated_at: String,
    instance_id: String,
}

fn row(d: BrokerDestination, instance_id: &str) -> Row {
    Row {
        events: names_of(d.enabled, &d.events),
        id: d.id,
        enabled: d.enabled,
        created_at: iso(d.created_at),
        updated_at: iso(d.created_at),
        instance_id: instance_id.to_string(),
    }
}

/// How the operator turns `broker` on.
fn not_configured(broker: &str) -> HttpResponse {
    let (label, vars) = match broker {
        "nats" => ("NATS", "NATS_ENABLED=true and NATS_URI"),
        "sqs" => ("SQS", "SQS_ENABLED=true and SQS_REGION"),
        "kafka" => ("Kafka", "KAFKA_ENABLED=true and KAFKA_BROKERS"),
        _ => ("RabbitMQ", "RABBITMQ_ENABLED=true and RABBITMQ_URI"),
    };
    bad(&format!(
        "{label} is not enabled on this gateway: set {vars} (or [brokers.{broker}] in wagate.toml)"
    ))
}

fn set(req: &Request, name: &str, broker: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let body = input::body(req)?;
    if body.get(broker).is_none_or(Value::is_null) {
        return Err(bad(&format!("instance requires property \"{broker}\"")));
    }
    let enabled = input::req_bool(&body, &format!("{broker}.enabled"))?;
    let events = kinds_of(
        body[broker].get("events").filter(|v| !v.is_null()),
        &format!("{broker}.events"),
    )?;
    let spec = BrokerSpec {
        broker: broker.to_string(),
        events,
        enabled,
    };
    let stored = apply(&instance.id, &spec)?;
    Ok(json(201, &row(stored, &instance.id)))
}

/// Stores `spec` for the instance; a broker the gateway does not configure is a 400
/// saying how to turn it on.
pub(crate) fn apply(
    instance_id: &str,
    spec: &BrokerSpec,
) -> Result<BrokerDestination, HttpResponse> {
    core::set_broker(&InstanceRef::Id(instance_id.to_string()), spec).map_err(|e| match &e {
        CoreError::Invalid(msg) if msg.starts_with("no broker named") => {
            not_configured(&spec.broker)
        }
        _ => core_error(&e),
    })
}

/// The brokers Evolution's `/instance/create` may turn on inline.
const INLINE: [&str; 3] = ["rabbitmq", "nats", "sqs"];

/// Create's broker blocks (`{"sqs": {"enabled"?, "events"?}}`, or the flat
/// `sqsEnabled` / `sqsEvents`), checked before anything is made: a block that is there
/// turns its broker on unless it says `enabled: false`.
pub(crate) fn inline(body: &Value) -> Result<Vec<BrokerSpec>, HttpResponse> {
    let mut out = Vec::new();
    for broker in INLINE {
        let block = body.get(broker).filter(|v| !v.is_null());
        let flat_on = input::opt_bool(body, &format!("{broker}Enabled"))?;
        let (enabled, events) = match block {
            Some(b) if b.is_object() => (
                input::opt_bool(body, &format!("{broker}.enabled"))?.unwrap_or(true),
                b.get("events").filter(|v| !v.is_null()),
            ),
            Some(_) => return Err(bad(&format!("{broker} is not of a type(s) object"))),
            None => (
                flat_on.unwrap_or(false),
                body.get(format!("{broker}Events")).filter(|v| !v.is_null()),
            ),
        };
        if !enabled {
            continue;
        }
        out.push(BrokerSpec {
            broker: broker.to_string(),
            events: kinds_of(events, &format!("{broker}.events"))?,
            enabled,
        });
    }
    Ok(out)
}

fn find(req: &Request, name: &str, broker: &str) -> Reply {
    let instance = guard(req, name, Style::Evolution, Cap::Manage)?;
    let stored = core::get_broker(&InstanceRef::Id(instance.id.clone()), broker)
        .map_err(|e| core_error(&e))?;
    Ok(match stored {
        Some(d) => json(200, &row(d, &instance.id)),
        None => json(200, &Value::Null),
    })
}

pub(crate) fn rabbitmq_set(req: &Request, name: &str) -> Reply {
    set(req, name, "rabbitmq")
}

pub(crate) fn rabbitmq_find(req: &Request, name: &str) -> Reply {
    find(req, name, "rabbitmq")
}

pub(crate) fn nats_set(req: &Request, name: &str) -> Reply {
    set(req, name, "nats")
}

pub(crate) fn nats_find(req: &Request, name: &str) -> Reply {
    find(req, name, "nats")
}

pub(crate) fn sqs_set(req: &Request, name: &str) -> Reply {
    set(req, name, "sqs")
}

pub(crate) fn sqs_find(req: &Request, name: &str) -> Reply {
    find(req, name, "sqs")
}

pub(crate) fn kafka_set(req: &Request, name: &str) -> Reply {
    set(req, name, "kafka")
}

pub(crate) fn kafka_find(req: &Request, name: &str) -> Reply {
    find(req, name, "kafka")
}

/// The broker routes in the OpenAPI document, with their operation ids.
pub(crate) fn openapi_paths() -> Vec<(&'static str, Value)> {
    use crate::openapi::{body, ok, op};
    use serde_json::json;
    let row = json!({
        "type": "object", "required": ["id", "enabled", "events", "instanceId"],
        "properties": {
            "id": { "type": "string" }, "enabled": { "type": "boolean" },
            "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS } },
            "createdAt": { "type": "string" }, "updatedAt": { "type": "string" },
            "instanceId": { "type": "string" }
        }
    });
    let mut out = Vec::new();
    for (broker, label, set_path, find_path, set_id, find_id) in [
        (
            "rabbitmq",
            "RabbitMQ",
            "/rabbitmq/set/{instanceName}",
            "/rabbitmq/find/{instanceName}",
            "setRabbitmq",
            "findRabbitmq",
        ),
        (
            "nats",
            "NATS",
            "/nats/set/{instanceName}",
            "/nats/find/{instanceName}",
            "setNats",
            "findNats",
        ),
        (
            "sqs",
            "SQS",
            "/sqs/set/{instanceName}",
            "/sqs/find/{instanceName}",
            "setSqs",
            "findSqs",
        ),
        (
            "kafka",
            "Kafka",
            "/kafka/set/{instanceName}",
            "/kafka/find/{instanceName}",
            "setKafka",
            "findKafka",
        ),
    ] {
        let request = body(json!({
            "type": "object", "required": [broker],
            "properties": { broker: {
                "type": "object", "required": ["enabled"],
                "properties": {
                    "enabled": { "type": "boolean" },
                    "events": { "type": "array", "items": { "enum": crate::webhook::EVOLUTION_EVENTS }, "description": "empty or absent: all" }
                }
            } }
        }));
        let mut set = op(
            &format!("Publish the instance's events to {label}"),
            label,
            true,
            Some(request),
            ok(
                "201",
                &format!("The stored setting; 400 when the gateway configures no {label} broker"),
                row.clone(),
            ),
        );
        set["operationId"] = json!(set_id);
        let mut find = op(
            &format!("The instance's {label} setting"),
            label,
            true,
            None,
            ok(
                "200",
                "The stored setting, or null",
                json!({ "oneOf": [row.clone(), { "type": "null" }] }),
            ),
        );
        find["operationId"] = json!(find_id);
        out.push((set_path, json!({ "post": set })));
        out.push((find_path, json!({ "get": find })));
    }
    out
}
