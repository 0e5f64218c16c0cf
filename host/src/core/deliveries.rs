//! What happened to a webhook's recent deliveries: the last [`PER_WEBHOOK`] attempts of
//! each webhook (delivered, to be retried, dead-lettered), newest first, for operators
//! asking "is my receiver getting anything?" (the console's webhook panel,
//! `GET /core/instances/{i}/webhooks/{id}/deliveries`).
//!
//! Kept in memory and bounded, not stored: it is a window on the dispatcher's work,
//! not a record (the outbox, the queues and the dead letters are the durable part). A
//! restart starts it empty.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use super::Core;
use super::model::{
    Capability, CoreError, CoreResult, EventPayload, InstanceRef, Principal, Resource, Webhook,
};
use super::webhooks::QueuedDelivery;
use crate::store::{encode, get_json, internal, tables};

/// Attempts kept per webhook.
pub const PER_WEBHOOK: usize = 20;

/// Webhooks tracked at once; past it the least recently active one is forgotten.
const MAX_WEBHOOKS: usize = 10_000;

/// How one delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// The receiver accepted it.
    Delivered,
    /// It failed and is queued again.
    Retrying,
    /// It failed for good and went to the dead letters.
    DeadLettered,
}

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    /// The event's id (`evt_...`), as the receiver saw it.
    pub event_id: String,
    /// The event's kind (`message_upsert`, ...).
    pub event_type: String,
    /// Epoch ms of the attempt's end.
    pub at: u64,
    /// Which attempt of this event it was (1 = first).
    pub attempt: u32,
    /// How it ended.
    pub outcome: DeliveryOutcome,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The recent attempts of every webhook (see the module docs).
#[derive(Default)]
pub struct DeliveryLog {
    by_webhook: Mutex<HashMap<String, (u64, VecDeque<DeliveryAttempt>)>>,
}

impl DeliveryLog {
    /// Records an attempt of `webhook_id`'s delivery.
    pub fn record(&self, webhook_id: &str, attempt: DeliveryAttempt) {
        let mut map = self.by_webhook.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(webhook_id)
            && map.len() >= MAX_WEBHOOKS
            && let Some(stalest) = map
                .iter()
                .min_by_key(|(_, (last, _))| *last)
                .map(|(k, _)| k.clone())
        {
            map.remove(&stalest);
        }
        let (last, attempts) = map.entry(webhook_id.to_string()).or_default();
        *last = attempt.at;
        if attempts.len() == PER_WEBHOOK {
            attempts.pop_back();
        }
        attempts.push_front(attempt);
    }

    /// `webhook_id`'s recent attempts, newest first.
    pub fn recent(&self, webhook_id: &str) -> Vec<DeliveryAttempt> {
        let map = self.by_webhook.lock().unwrap_or_else(|e| e.into_inner());
        map.get(webhook_id)
            .map(|(_, a)| a.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Core {
    /// The recent delivery attempts of one of the instance's webhooks (any dialect's),
    /// newest first. Needs what listing webhooks needs (`manage`).
    pub async fn webhook_deliveries(
        &self,
        p: &Principal,
        which: &InstanceRef,
        webhook_id: &str,
    ) -> CoreResult<Vec<DeliveryAttempt>> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let hook = self.store.read(|tx| {
            let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
            get_json::<_, Webhook>(&hooks, webhook_id)
        })?;
        match hook {
            Some(h) if h.instance_id == record.instance.id => {
                Ok(self.deliveries.recent(webhook_id))
            }
            _ => Err(CoreError::NotFound(
                Resource::Webhook,
                format!("webhook {webhook_id} not found"),
            )),
        }
    }

    /// Queues a test delivery to one of the instance's webhooks (any dialect's): the
    /// instance's current connection state as a `connection_update` event, rendered by
    /// the webhook's dialect like any other, behind what is already queued for it and
    /// to it alone (it does not enter the outbox, so no stream or other webhook sees
    /// it; its event filter is not applied: the operator asked for it). Answers the
    /// event's id; the attempt shows in [`Core::webhook_deliveries`].
    pub async fn test_webhook(
        &self,
        p: &Principal,
        which: &InstanceRef,
        webhook_id: &str,
    ) -> CoreResult<String> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let event = super::outbox::event_for(
            &record.instance,
            EventPayload::ConnectionUpdate(self.live_state(&record.instance)),
        );
        let (instance_id, webhook_id, event_id) = (
            record.instance.id.clone(),
            webhook_id.to_string(),
            event.id.clone(),
        );
        self.store
            .write(move |tx| {
                let hook = {
                    let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
                    get_json::<_, Webhook>(&hooks, webhook_id.as_str())?
                };
                let hook = match hook {
                    Some(h) if h.instance_id == instance_id && !h.retired => h,
                    _ => {
                        return Err(CoreError::NotFound(
                            Resource::Webhook,
                            format!("webhook {webhook_id} not found"),
                        ));
                    }
                };
                if !hook.enabled {
                    return Err(CoreError::Invalid(
                        "the webhook is disabled: enable it to test it".into(),
                    ));
                }
                let seq = super::outbox::next_seq(tx)?;
                let item = QueuedDelivery {
                    event: event.clone(),
                    attempts: 0,
                    next_attempt_at: 0,
                    last_error: None,
                };
                tx.open_table(tables::DELIVERY_QUEUE)
                    .map_err(internal)?
                    .insert(
                        tables::delivery_key(&hook.id, seq).as_slice(),
                        encode(&item).as_slice(),
                    )
                    .map_err(internal)?;
                Ok(())
            })
            .await?;
        Ok(event_id)
    }

    /// The log the dispatcher records its attempts in.
    pub fn delivery_log(&self) -> std::sync::Arc<DeliveryLog> {
        self.deliveries.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(n: u32) -> DeliveryAttempt {
        DeliveryAttempt {
            event_id: format!("evt_{n}"),
            event_type: "message_upsert".into(),
            at: u64::from(n),
            attempt: 1,
            outcome: DeliveryOutcome::Delivered,
            error: None,
        }
    }

    #[test]
    fn keeps_the_newest_attempts_first_and_bounded() {
        let log = DeliveryLog::default();
        for n in 0..(PER_WEBHOOK as u32 + 5) {
            log.record("wh_a", attempt(n));
        }
        let recent = log.recent("wh_a");
        assert_eq!(recent.len(), PER_WEBHOOK);
        assert_eq!(recent[0].event_id, format!("evt_{}", PER_WEBHOOK + 4));
        assert_eq!(recent.last().unwrap().event_id, "evt_5");
        assert!(log.recent("wh_b").is_empty());
    }
}
