//! Webhook destinations of an instance, and the fan-out of events to their queues.
//!
//! Each dialect manages its own webhooks (the host records which dialect set them, and
//! that dialect renders their bodies); the native API's are rendered as core JSON.

use crate::store::kv::{ReadableMultimapTable, ReadableTable, WriteTx};

use super::Core;
use super::model::{
    Capability, CoreError, CoreResult, Event, InstanceRef, Principal, Webhook, WebhookSpec,
};
use crate::store::{decode, encode, get_json, internal, tables};
use crate::util::{new_secret, now_ms};

/// Most webhooks one instance may have, over all dialects.
pub const MAX_WEBHOOKS_PER_INSTANCE: usize = 10;

/// A delivery waiting in `DELIVERY_QUEUE`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct QueuedDelivery {
    /// The event as the sink will receive it.
    pub event: Event,
    /// Tries so far; past the dispatcher's limit the delivery goes to the dead letters.
    pub attempts: u32,
    /// Epoch ms before which the dispatcher does not try again.
    pub next_attempt_at: u64,
    /// Why the last try failed, kept for an operator inspecting the queue.
    pub last_error: Option<String>,
}

impl Core {
    /// Every destination's id (webhooks, integrations, brokers; retired ones too, whose
    /// queues still drain): what cluster mode spreads over the nodes to deliver.
    pub fn webhook_ids(&self) -> CoreResult<Vec<String>> {
        self.store.read(|tx| {
            let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
            let mut ids = Vec::new();
            for row in hooks.iter().map_err(internal)? {
                ids.push(row.map_err(internal)?.0.value().to_string());
            }
            Ok(ids)
        })
    }

    /// The webhooks of `which` set through `dialect`.
    pub async fn list_webhooks(
        &self,
        p: &Principal,
        which: &InstanceRef,
        dialect: &str,
    ) -> CoreResult<Vec<Webhook>> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let mut out: Vec<Webhook> = self
            .destinations_of(&record.instance.id)?
            .into_iter()
            .filter(|w| w.is_webhook_of(dialect))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Every delivery destination of an instance: its webhooks of every dialect and its
    /// integrations.
    pub(crate) fn destinations_of(&self, instance_id: &str) -> CoreResult<Vec<Webhook>> {
        self.store.read(|tx| {
            let by_instance = tx
                .open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
                .map_err(internal)?;
            let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
            let mut out = Vec::new();
            for wid in by_instance.get(instance_id).map_err(internal)? {
                let wid = wid.map_err(internal)?;
                if let Some(w) = get_json::<_, Webhook>(&hooks, wid.value())? {
                    out.push(w);
                }
            }
            Ok(out)
        })
    }

    /// Replaces the webhooks of `which` that `dialect` manages with `specs`. Webhooks of
    /// other dialects stay. A spec whose URL matches one of the dialect's current
    /// webhooks updates it in place: it keeps its id, its queued deliveries and (unless a
    /// new one is given) its secret. Webhooks no spec matches are removed with their
    /// queued deliveries. Needs `manage`.
    pub async fn set_webhooks(
        &self,
        p: &Principal,
        which: &InstanceRef,
        dialect: &str,
        specs: Vec<WebhookSpec>,
    ) -> CoreResult<Vec<Webhook>> {
        let record = self.authorize(p, which, Capability::Manage)?;
        for spec in &specs {
            validate_spec(spec)?;
        }
        // Fresh ids and secrets are drawn here, not in the job, which may run twice.
        let fresh: Vec<(String, String)> = specs
            .iter()
            .map(|_| (format!("wh_{}", ulid::Ulid::new()), new_secret("whsec_")))
            .collect();
        let now = now_ms();
        let instance_id = record.instance.id;
        let dialect = dialect.to_string();
        self.store
            .write(move |tx| {
                let mut by_instance = tx
                    .open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
                    .map_err(internal)?;
                let mut table = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
                let mut current = Vec::new();
                let mut others = 0;
                for wid in by_instance.get(instance_id.as_str()).map_err(internal)? {
                    let wid = wid.map_err(internal)?.value().to_string();
                    match get_json::<_, Webhook>(&table, wid.as_str())? {
                        Some(w) if w.is_webhook_of(&dialect) => current.push(w),
                        // Integrations have their own limit (one per sink).
                        Some(w) if w.integration.is_none() && w.broker.is_none() => others += 1,
                        _ => {}
                    }
                }
                if others + specs.len() > MAX_WEBHOOKS_PER_INSTANCE {
                    return Err(CoreError::Invalid(format!(
                        "an instance has at most {MAX_WEBHOOKS_PER_INSTANCE} webhooks"
                    )));
                }
                let mut hooks = Vec::with_capacity(specs.len());
                for (spec, (fresh_id, fresh_secret)) in specs.iter().zip(&fresh) {
                    let kept = spec
                        .id
                        .as_ref()
                        .and_then(|id| current.iter().position(|w| &w.id == id))
                        .or_else(|| current.iter().position(|w| w.url == spec.url))
                        .map(|i| current.swap_remove(i));
                    let given = spec.secret.clone().filter(|s| !s.is_empty());
                    hooks.push(Webhook {
                        id: kept
                            .as_ref()
                            .map_or_else(|| fresh_id.clone(), |w| w.id.clone()),
                        instance_id: instance_id.clone(),
                        dialect: dialect.clone(),
                        url: spec.url.clone(),
                        events: spec.events.clone(),
                        headers: spec.headers.clone(),
                        enabled: spec.enabled,
                        secret: given
                            .or_else(|| kept.as_ref().map(|w| w.secret.clone()))
                            .unwrap_or_else(|| fresh_secret.clone()),
                        created_at: kept.as_ref().map_or(now, |w| w.created_at),
                        retired: false,
                        sink: super::model::WEBHOOK_SINK.to_string(),
                        integration: None,
                        broker: None,
                    });
                }
                for gone in &current {
                    by_instance
                        .remove(instance_id.as_str(), gone.id.as_str())
                        .map_err(internal)?;
                    table.remove(gone.id.as_str()).map_err(internal)?;
                    drop_queue(tx, &gone.id)?;
                }
                for w in &hooks {
                    table
                        .insert(w.id.as_str(), encode(w).as_slice())
                        .map_err(internal)?;
                    by_instance
                        .insert(instance_id.as_str(), w.id.as_str())
                        .map_err(internal)?;
                }
                Ok(hooks)
            })
            .await
    }
}

fn validate_spec(spec: &WebhookSpec) -> CoreResult<()> {
    validate_url("webhook", &spec.url)?;
    for kind in &spec.events {
        if !super::model::EventPayload::KINDS.contains(&kind.as_str()) {
            return Err(CoreError::Invalid(format!(
                "unknown event `{kind}`; known: {}",
                super::model::EventPayload::KINDS.join(", ")
            )));
        }
    }
    validate_headers("webhook", &spec.headers)
}

/// An absolute `http(s)://` URL with a host and no userinfo (`what` names it in errors).
pub(crate) fn validate_url(what: &str, url: &str) -> CoreResult<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            CoreError::Invalid(format!("{what} url must start with http:// or https://"))
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty()
        || host.contains('@')
        || url.len() > 2048
        || url.chars().any(char::is_whitespace)
    {
        return Err(CoreError::Invalid(format!(
            "{what} url must be an absolute URL with a host"
        )));
    }
    // A courtesy: a literal private address is refused now rather than at every
    // delivery (the guard itself checks the resolved address at connect time).
    crate::outbound::check_url(url).map_err(|why| CoreError::Invalid(format!("{what} url {why}")))
}

/// Headers the host sets itself when it sends a request: framing and hop-by-hop
/// headers (a custom `Content-Length: 0` would cut every delivery's body off) and
/// `Host`. Never taken from a caller.
const FRAMING_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// Whether `name` is a framing, hop-by-hop or `Proxy-*` header ([`FRAMING_HEADERS`]).
pub fn is_framing_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    FRAMING_HEADERS.contains(&lower.as_str()) || lower.starts_with("proxy-")
}

/// Whether a caller may not set header `name` on a webhook or integration: framing
/// headers, and the gateway's own `X-Wagate-*` (its signature, event id, timestamp),
/// which a custom header must not duplicate or override.
pub fn is_reserved_header(name: &str) -> bool {
    is_framing_header(name) || name.to_ascii_lowercase().starts_with("x-wagate-")
}

/// Header names of letters, digits, `-` and `_` (Chatwoot's `api_access_token`); values
/// without control characters.
pub(crate) fn validate_headers(what: &str, headers: &[(String, String)]) -> CoreResult<()> {
    for (name, value) in headers {
        let ok_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok_name || value.chars().any(|c| c.is_control()) {
            return Err(CoreError::Invalid(format!(
                "invalid {what} header `{name}`"
            )));
        }
        if is_reserved_header(name) {
            return Err(CoreError::Invalid(format!(
                "{what} header `{name}` cannot be set: the gateway sets framing, hop-by-hop and X-Wagate-* headers itself"
            )));
        }
    }
    Ok(())
}

/// Queues `event` (already in the outbox at `seq`) for every live, enabled webhook of
/// its instance whose filter matches. Runs inside the transaction of the change.
pub(crate) fn fan_out(tx: &WriteTx, seq: u64, event: &Event) -> CoreResult<usize> {
    // Global brokers' destinations are created here, on an instance's first event.
    let global_brokers = super::brokers::ensure_global_destinations(tx, &event.instance_id)?;
    let by_instance = tx
        .open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
        .map_err(internal)?;
    let ids: Vec<String> = by_instance
        .get(event.instance_id.as_str())
        .map_err(internal)?
        .map(|r| r.map(|v| v.value().to_string()).map_err(internal))
        .collect::<crate::store::StoreResult<_>>()?;
    drop(by_instance);
    if ids.is_empty() {
        return Ok(0);
    }
    let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
    let mut queue = tx.open_table(tables::DELIVERY_QUEUE).map_err(internal)?;
    let kind = event.payload.kind();
    let mut queued = 0;
    for wid in ids {
        let Some(w) = get_json::<_, Webhook>(&hooks, wid.as_str())? else {
            continue;
        };
        if !w.enabled || w.retired || !(w.events.is_empty() || w.events.iter().any(|k| k == kind)) {
            continue;
        }
        // A broker whose `global` switch was turned off keeps its destinations (they
        // go with their instances) but gets nothing more.
        if w.broker
            .as_ref()
            .is_some_and(|r| r.global && !global_brokers.contains(&r.name))
        {
            continue;
        }
        let item = QueuedDelivery {
            event: event.clone(),
            attempts: 0,
            next_attempt_at: 0,
            last_error: None,
        };
        queue
            .insert(
                tables::delivery_key(&w.id, seq).as_slice(),
                encode(&item).as_slice(),
            )
            .map_err(internal)?;
        queued += 1;
    }
    Ok(queued)
}

/// On instance deletion: its webhooks leave the instance index and become retired, so
/// the deliveries already queued (the deletion event among them) still go out; the
/// dispatcher removes a retired webhook once its queue is empty. Integrations go at
/// once with their queues: their sink's stored state for the instance is wiped in the
/// same transaction, so there is nothing left for late deliveries to act on (and their
/// secret headers must not outlive the instance).
pub(crate) fn retire_instance_webhooks(tx: &WriteTx, instance_id: &str) -> CoreResult<()> {
    let mut by_instance = tx
        .open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)
        .map_err(internal)?;
    let ids: Vec<String> = by_instance
        .remove_all(instance_id)
        .map_err(internal)?
        .map(|r| r.map(|v| v.value().to_string()).map_err(internal))
        .collect::<crate::store::StoreResult<_>>()?;
    let mut hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
    for wid in ids {
        let existing = hooks
            .get(wid.as_str())
            .map_err(internal)?
            .map(|v| v.value().to_vec());
        if let Some(bytes) = existing {
            let mut w: Webhook = decode(&bytes)?;
            if w.integration.is_some() {
                hooks.remove(wid.as_str()).map_err(internal)?;
                drop_queue(tx, &w.id)?;
                continue;
            }
            w.retired = true;
            hooks
                .insert(wid.as_str(), encode(&w).as_slice())
                .map_err(internal)?;
        }
    }
    Ok(())
}

/// Removes every queued delivery of destination `webhook_id`.
pub(crate) fn drop_queue(tx: &WriteTx, webhook_id: &str) -> CoreResult<()> {
    let prefix = tables::instance_prefix(webhook_id);
    let end = tables::prefix_end(&prefix);
    tx.open_table(tables::DELIVERY_QUEUE)
        .map_err(internal)?
        .retain_in(prefix.as_slice()..end.as_slice(), |_, _| false)
        .map_err(internal)?;
    Ok(())
}
