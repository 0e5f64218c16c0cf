//! Message-broker destinations: an instance's events published to NATS JetStream or
//! RabbitMQ with the outbox's guarantees.
//!
//! # The split
//!
//! - **The host owns the connections.** A broker client is a long-lived TCP/TLS
//!   connection with its own heartbeats and reconnects, which a sandboxed sink plugin
//!   (one call per delivery, HTTP only through `http-out`) cannot hold. Brokers are
//!   named in the configuration (`[brokers.<name>]` in wagate.toml, or the variables a
//!   mounted dialect declares in `[broker_env.<name>]`: Evolution's `RABBITMQ_*` and
//!   `NATS_*`); `events::brokers` connects to them and publishes.
//! - **Dialects render, the host routes.** A broker destination is a delivery
//!   destination like a webhook: a record in `WEBHOOKS` with [`BrokerRoute`] set, whose
//!   `dialect` is the one that configured it. Its bodies are that dialect's
//!   `render-event` output, byte for byte what its webhooks get (Evolution's
//!   `messages.upsert` envelope). The host derives the subject / routing key from the
//!   instance and the rendered event name, by Evolution's scheme (see
//!   `events::brokers::route`).
//! - **One queue, one dispatcher.** Being a `WEBHOOKS` destination, a broker gets what
//!   webhooks have, with no second queue: fan-out into `DELIVERY_QUEUE` in the
//!   transaction of the change, head-of-line order per destination (so per instance),
//!   retries with backoff, dead letters with the broker's reason, replay, removal with
//!   the instance. The dispatcher's transport sends broker destinations to the host's
//!   broker client instead of a sink plugin; a delivery is done only when the broker
//!   acknowledged it (JetStream `PubAck`, RabbitMQ publisher confirm), and JetStream
//!   drops a redelivery by its `Nats-Msg-Id` (the subject and the event id).
//!
//! # Per instance and global
//!
//! One destination per (instance, broker), set by `set-broker` (a dialect's
//! `/rabbitmq/set`, the native `PUT /core/instances/{i}/brokers/{name}`); the dialect
//! that set it last renders it. A broker with `global` on gets a destination for every
//! instance, created by the fan-out itself the first time an instance has an event
//! (the `BROKER_GLOBALS` table, rewritten at every start from the configuration, says
//! which brokers are global): it lives in the same transaction, index and queue as the
//! rest, and goes with the instance (retired like a webhook: what is queued, the
//! deletion event among it, is still published).

use std::collections::BTreeMap;
use std::sync::RwLock;

use crate::store::kv::{ReadableMultimapTable, ReadableTable, WriteTx};
use serde::{Deserialize, Serialize};

use super::Core;
use super::model::{
    BrokerRoute, Capability, CoreError, CoreResult, EventPayload, InstanceRef, Principal, Webhook,
};
use super::webhooks::drop_queue;
use crate::store::{Store, decode, encode, get_json, internal, tables};
use crate::util::{new_secret, now_ms};

/// What a broker destination names as its sink: no plugin; the dispatcher's transport
/// hands these to the host's broker client.
pub const BROKER_SINK: &str = "broker";

/// The configured brokers core may name: broker name -> transport (`nats`, `rabbitmq`).
pub type BrokerNames = BTreeMap<String, String>;

/// A broker whose `global` switch is on, as stored in [`tables::BROKER_GLOBALS`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalBroker {
    /// Its name in the configuration.
    pub name: String,
    /// The dialect that renders its deliveries (`core` for the native JSON).
    pub dialect: String,
    /// Core event kinds delivered; empty: all (a dialect's own per-event switches are
    /// applied to the rendered name by the transport).
    pub events: Vec<String>,
}

/// An instance's setting for one broker, as a dialect or the native API gives it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSpec {
    /// The broker's configured name.
    pub broker: String,
    /// Core event kinds to publish; empty: all.
    #[serde(default)]
    pub events: Vec<String>,
    /// A disabled destination keeps its settings but gets no events.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A stored per-instance broker destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerDestination {
    /// `brk_<ulid>` (its id among the instance's destinations: deliveries, dead letters).
    pub id: String,
    /// The broker's configured name.
    pub broker: String,
    /// `nats` or `rabbitmq`; empty when the broker is no longer configured.
    pub transport: String,
    /// The dialect that renders its events.
    pub dialect: String,
    /// Core event kinds published; empty: all.
    pub events: Vec<String>,
    /// A disabled destination keeps its settings but gets no events.
    pub enabled: bool,
    /// Epoch ms.
    pub created_at: u64,
}

/// The configured broker names, set once the configuration and the dialects' variables
/// are read (see `run`).
#[derive(Default)]
pub(crate) struct BrokerDirectory(RwLock<BrokerNames>);

impl Core {
    /// Tells core which brokers the configuration names (what `set-broker` accepts).
    pub fn set_broker_names(&self, names: BrokerNames) {
        *self.brokers.0.write().unwrap_or_else(|e| e.into_inner()) = names;
    }

    fn broker_transport(&self, name: &str) -> Option<String> {
        self.brokers
            .0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    fn destination(&self, w: &Webhook) -> Option<BrokerDestination> {
        let route = w.broker.as_ref().filter(|r| !r.global)?;
        Some(BrokerDestination {
            id: w.id.clone(),
            broker: route.name.clone(),
            transport: self.broker_transport(&route.name).unwrap_or_default(),
            dialect: w.dialect.clone(),
            events: w.events.clone(),
            enabled: w.enabled,
            created_at: w.created_at,
        })
    }

    /// The instance's per-instance broker destinations, by broker name. Needs `manage`.
    pub async fn list_brokers(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Vec<BrokerDestination>> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let mut out: Vec<BrokerDestination> = self
            .destinations_of(&record.instance.id)?
            .iter()
            .filter_map(|w| self.destination(w))
            .collect();
        out.sort_by(|a, b| a.broker.cmp(&b.broker));
        Ok(out)
    }

    /// The instance's destination for broker `name`, if set. Needs `manage`.
    pub async fn get_broker(
        &self,
        p: &Principal,
        which: &InstanceRef,
        name: &str,
    ) -> CoreResult<Option<BrokerDestination>> {
        Ok(self
            .list_brokers(p, which)
            .await?
            .into_iter()
            .find(|d| d.broker == name))
    }

    /// Creates or replaces the instance's destination for `spec.broker`, rendered by
    /// `dialect` from the next event on. A broker the configuration does not name is
    /// refused here (a broker that is configured but unreachable, refuses the
    /// credentials or lacks the stream / exchange shows in the deliveries and, after
    /// the retries, in the dead letters with the broker's reason). Needs `manage`.
    pub async fn set_broker(
        &self,
        p: &Principal,
        which: &InstanceRef,
        dialect: &str,
        spec: BrokerSpec,
    ) -> CoreResult<BrokerDestination> {
        let record = self.authorize(p, which, Capability::Manage)?;
        if self.broker_transport(&spec.broker).is_none() {
            let known: Vec<String> = self
                .brokers
                .0
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .keys()
                .cloned()
                .collect();
            return Err(CoreError::Invalid(format!(
                "no broker named `{}` is configured (configured: {})",
                spec.broker,
                if known.is_empty() {
                    "none; see [brokers] in wagate.toml".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        for kind in &spec.events {
            if !EventPayload::KINDS.contains(&kind.as_str()) {
                return Err(CoreError::Invalid(format!(
                    "unknown event `{kind}`; known: {}",
                    EventPayload::KINDS.join(", ")
                )));
            }
        }
        let fresh_id = format!("brk_{}", ulid::Ulid::new());
        let fresh_secret = new_secret("whsec_");
        let now = now_ms();
        let instance_id = record.instance.id;
        let instance_name = record.instance.name;
        let dialect = dialect.to_string();
        let hook = self
            .store
            .write(move |tx| {
                // Per-instance routes are named after the instance (Evolution's scheme),
                // and names are unique per org only: an instance of another org with the
                // same name on the same broker would share its subject / exchange.
                if named_alike_elsewhere(tx, &instance_id, &instance_name, &spec.broker)? {
                    return Err(CoreError::Conflict(format!(
                        "another instance named `{instance_name}` already publishes to broker `{}` \
                         (its routes are named after the instance); rename this instance",
                        spec.broker
                    )));
                }
                let current = find(tx, &instance_id, &spec.broker)?;
                let hook = Webhook {
                    id: current
                        .as_ref()
                        .map_or_else(|| fresh_id.clone(), |w| w.id.clone()),
                    instance_id: instance_id.clone(),
                    dialect: dialect.clone(),
                    url: format!("broker:{}", spec.broker),
                    events: spec.events.clone(),
                    headers: Vec::new(),
                    enabled: spec.enabled,
                    secret: current
                        .as_ref()
                        .map_or_else(|| fresh_secret.clone(), |w| w.secret.clone()),
                    created_at: current.as_ref().map_or(now, |w| w.created_at),
                    retired: false,
                    sink: BROKER_SINK.to_string(),
                    integration: None,
                    broker: Some(BrokerRoute {
                        name: spec.broker.clone(),
                        global: false,
                    }),
                };
                if current.is_none() {
                    tx.open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
                        .map_err(internal)?
                        .insert(instance_id.as_str(), hook.id.as_str())
                        .map_err(internal)?;
                }
                tx.open_table(tables::WEBHOOKS)
                    .map_err(internal)?
                    .insert(hook.id.as_str(), encode(&hook).as_slice())
                    .map_err(internal)?;
                Ok::<_, CoreError>(hook)
            })
            .await?;
        self.destination(&hook)
            .ok_or_else(|| CoreError::Internal("broker destination lost".into()))
    }

    /// Removes the instance's destination for broker `name` with its queued deliveries;
    /// false when there was none. Needs `manage`.
    pub async fn delete_broker(
        &self,
        p: &Principal,
        which: &InstanceRef,
        name: &str,
    ) -> CoreResult<bool> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let instance_id = record.instance.id;
        let name = name.to_string();
        self.store
            .write(move |tx| {
                let Some(w) = find(tx, &instance_id, &name)? else {
                    return Ok(false);
                };
                tx.open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
                    .map_err(internal)?
                    .remove(instance_id.as_str(), w.id.as_str())
                    .map_err(internal)?;
                tx.open_table(tables::WEBHOOKS)
                    .map_err(internal)?
                    .remove(w.id.as_str())
                    .map_err(internal)?;
                drop_queue(tx, &w.id)?;
                Ok(true)
            })
            .await
    }
}

/// The instance's per-instance destination for broker `name`, inside a write.
fn find(tx: &WriteTx, instance_id: &str, name: &str) -> CoreResult<Option<Webhook>> {
    let by_instance = tx
        .open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
        .map_err(internal)?;
    let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
    for wid in by_instance.get(instance_id).map_err(internal)? {
        let wid = wid.map_err(internal)?;
        if let Some(w) = get_json::<_, Webhook>(&hooks, wid.value())?
            && w.broker
                .as_ref()
                .is_some_and(|r| !r.global && r.name == name)
        {
            return Ok(Some(w));
        }
    }
    Ok(None)
}

/// Whether an instance other than `instance_id`, of any org, named `name`, has a
/// per-instance destination on broker `broker` (their routes would be the same).
fn named_alike_elsewhere(
    tx: &WriteTx,
    instance_id: &str,
    name: &str,
    broker: &str,
) -> CoreResult<bool> {
    let instances = tx.open_table(tables::INSTANCES).map_err(internal)?;
    let mut others = Vec::new();
    for row in instances.iter().map_err(internal)? {
        let (id, value) = row.map_err(internal)?;
        if id.value() != instance_id {
            let rec: crate::core::records::InstanceRecord = decode(value.value())?;
            if rec.instance.name == name {
                others.push(rec.instance.id);
            }
        }
    }
    drop(instances);
    for other in others {
        if find(tx, &other, broker)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Records which brokers are global this run (called at start, before any event).
pub async fn store_globals(store: &Store, globals: Vec<GlobalBroker>) -> CoreResult<()> {
    store
        .write(move |tx| {
            let mut t = tx.open_table(tables::BROKER_GLOBALS).map_err(internal)?;
            t.retain(|_, _| false).map_err(internal)?;
            for g in &globals {
                t.insert(g.name.as_str(), encode(g).as_slice())
                    .map_err(internal)?;
            }
            Ok(())
        })
        .await
}

/// Inside the fan-out of an event of `instance_id`: makes sure each global broker has
/// its destination for the instance (created, or brought in line with the current
/// configuration), and returns the names of the global brokers, so destinations of
/// brokers no longer global are skipped.
pub(crate) fn ensure_global_destinations(
    tx: &WriteTx,
    instance_id: &str,
) -> CoreResult<Vec<String>> {
    let globals: Vec<GlobalBroker> = {
        let t = tx.open_table(tables::BROKER_GLOBALS).map_err(internal)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(internal)? {
            out.push(decode::<GlobalBroker>(row.map_err(internal)?.1.value())?);
        }
        out
    };
    if globals.is_empty() {
        return Ok(Vec::new());
    }
    let mut hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
    let mut by_instance = tx
        .open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
        .map_err(internal)?;
    // The instance's global destinations, by broker name.
    let mut existing: BTreeMap<String, Webhook> = BTreeMap::new();
    for wid in by_instance.get(instance_id).map_err(internal)? {
        let wid = wid.map_err(internal)?;
        if let Some(w) = get_json::<_, Webhook>(&hooks, wid.value())?
            && let Some(name) = w
                .broker
                .as_ref()
                .filter(|r| r.global)
                .map(|r| r.name.clone())
        {
            existing.insert(name, w);
        }
    }
    for g in &globals {
        match existing.remove(&g.name) {
            Some(w) if w.dialect == g.dialect && w.events == g.events => {}
            Some(mut w) => {
                w.dialect = g.dialect.clone();
                w.events = g.events.clone();
                hooks
                    .insert(w.id.as_str(), encode(&w).as_slice())
                    .map_err(internal)?;
            }
            None => {
                let w = Webhook {
                    id: format!("brk_{}", ulid::Ulid::new()),
                    instance_id: instance_id.to_string(),
                    dialect: g.dialect.clone(),
                    url: format!("broker:{}", g.name),
                    events: g.events.clone(),
                    headers: Vec::new(),
                    enabled: true,
                    secret: new_secret("whsec_"),
                    created_at: now_ms(),
                    retired: false,
                    sink: BROKER_SINK.to_string(),
                    integration: None,
                    broker: Some(BrokerRoute {
                        name: g.name.clone(),
                        global: true,
                    }),
                };
                hooks
                    .insert(w.id.as_str(), encode(&w).as_slice())
                    .map_err(internal)?;
                by_instance
                    .insert(instance_id, w.id.as_str())
                    .map_err(internal)?;
            }
        }
    }
    Ok(globals.into_iter().map(|g| g.name).collect())
}
