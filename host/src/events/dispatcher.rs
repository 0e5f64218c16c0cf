//! The dispatcher: drains each webhook's delivery queue in order.
//!
//! Guarantees, and how:
//! - Nothing is lost: an event is queued in the same redb transaction as the change it
//!   describes (see `core::webhooks::fan_out`) and leaves the queue only after its
//!   receiver accepted it (or it was dead-lettered). A restart or `kill -9` resumes from
//!   the queue.
//! - At-least-once, with a stable event id (`evt_<ulid>`) for de-duplication: a crash
//!   between delivery and the queue update redelivers.
//! - Ordered per instance: a webhook belongs to one instance; its queue is keyed by
//!   the outbox sequence and only its head is ever in flight.
//! - A media message's upsert goes out with its bytes when the link is still
//!   downloading them: the delivery is not due until the download settles (bounded
//!   by `media_wait_ms`; see `core::pending_media`), and renders the message's media
//!   record as it is then. Only that destination's queue waits, so order holds, and
//!   a waiting queue holds no delivery slot.
//! - Retries: exponential backoff with jitter, at least the sink's `retry-after`; after
//!   `max_attempts` the delivery goes to the dead-letter table, where an operator can
//!   list and replay it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::store::kv::ReadableTable;
use async_trait::async_trait;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::core::deliveries::{DeliveryAttempt, DeliveryLog, DeliveryOutcome};
use crate::core::model::{CoreError, CoreResult, Event, EventPayload, MediaInfo, Webhook};
use crate::core::webhooks::QueuedDelivery;
use crate::store::{Store, decode, encode, get_json, internal, tables};
use crate::util::now_ms;

/// How often the outbox is compacted.
const COMPACT_EVERY: Duration = Duration::from_secs(30);

/// What a delivery attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted it: it leaves the queue.
    Delivered,
    /// Try again, not before this many milliseconds.
    RetryAfter(u64),
    /// Will never succeed (e.g. 410 Gone): dead-letter it.
    Permanent(String),
}

/// How the dispatcher renders and sends; implemented over the plugin host.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// The body for `event` to `hook`, in the envelope of the hook's dialect (which may
    /// render per destination); `None` when that dialect has no such event (the
    /// delivery is then skipped).
    async fn render(&self, hook: &Webhook, event: &Event) -> anyhow::Result<Option<Vec<u8>>>;
    /// Sends one rendered event to the webhook.
    async fn send(&self, hook: &Webhook, event: &Event, body: Vec<u8>) -> anyhow::Result<Outcome>;
    /// How an attempt to deliver to `hook` ended (for the transport's own counters).
    fn observe(&self, _hook: &Webhook, _outcome: DeliveryOutcome) {}
}

/// Which inbound files are still being downloaded; implemented over core.
#[async_trait]
pub trait MediaWait: Send + Sync + 'static {
    /// How much longer deliveries of message `message_id` wait for its file; `None`
    /// when they need not (no download in flight, or its bound passed).
    fn remaining(&self, instance_id: &str, message_id: &str) -> Option<Duration>;
    /// Changes whenever a download settles (so waiting deliveries become due).
    fn settles(&self) -> tokio::sync::watch::Receiver<u64>;
    /// The media record of stored message `message_id` now; `None` when it is gone.
    async fn current_media(&self, instance_id: &str, message_id: &str) -> Option<MediaInfo>;
}

/// Retry policy (`[events]` in wagate.toml).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchConfig {
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt (with jitter).
    pub base_backoff_ms: u64,
    /// Ceiling of the doubling retry delay.
    pub max_backoff_ms: u64,
    /// Webhooks delivered to at the same time.
    pub concurrency: usize,
    /// How long a media message's `message-upsert` waits, per destination, for the
    /// link to download its bytes (counted from when the message arrived; 0: never
    /// wait). Inlined bytes (`webhookBase64`), URLs and `stored: true` need them.
    pub media_wait_ms: u64,
}

impl DispatchConfig {
    /// [`DispatchConfig::media_wait_ms`] as a duration.
    pub fn media_wait(&self) -> Duration {
        Duration::from_millis(self.media_wait_ms)
    }
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            max_attempts: 12,
            base_backoff_ms: 500,
            max_backoff_ms: 300_000,
            concurrency: 32,
            media_wait_ms: crate::core::pending_media::DEFAULT_WAIT.as_millis() as u64,
        }
    }
}

/// A delivery that failed for good.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeadLetter {
    /// `dl_<ulid>`, what an operator names to replay it.
    pub id: String,
    /// Its place in the webhook's delivery order, kept so a replay re-queues it there.
    pub seq: u64,
    /// The webhook as it was (replay needs it even after the instance is gone).
    pub webhook: Webhook,
    /// The event that was not delivered.
    pub event: Event,
    /// Tries made before giving up.
    pub attempts: u32,
    /// Why the last try failed.
    pub error: String,
    /// Epoch ms when it was dead-lettered.
    pub failed_at: u64,
}

/// Delivers queued events to each webhook in order, retrying with backoff and
/// dead-lettering what cannot be delivered.
pub struct Dispatcher {
    store: Store,
    transport: Arc<dyn Transport>,
    config: DispatchConfig,
    /// Deliveries the receiver accepted whose removal from the queue is not committed
    /// yet. The next head is taken past them, so a webhook's deliveries do not wait on
    /// each removal's fsync; a crash before the removal commits redelivers (at least
    /// once, as promised).
    removing: Arc<std::sync::Mutex<HashSet<Vec<u8>>>>,
    /// Where each attempt's outcome is shown to operators (core's recent-attempts window).
    log: Arc<DeliveryLog>,
    /// Media downloads a message's upsert waits for; `None`: never wait.
    media: Option<Arc<dyn MediaWait>>,
    /// Cluster mode (see [`Dispatcher::in_cluster`]); `None`: one gateway, which
    /// delivers every destination and keeps the outbox.
    cluster: Option<ClusterShare>,
}

/// A cluster node's share of the dispatching.
struct ClusterShare {
    /// Whether this node keeps the outbox (compacts it) now.
    housekeeping: tokio::sync::watch::Receiver<bool>,
    /// Whether this node delivers a destination's queue now, by its id.
    delivers: Arc<dyn Fn(&str) -> bool + Send + Sync>,
}

/// The head of one webhook's queue.
struct Head {
    webhook: Webhook,
    key: Vec<u8>,
    seq: u64,
    item: QueuedDelivery,
}

impl Dispatcher {
    /// A dispatcher over the store's delivery queue; it does nothing until [`Dispatcher::spawn`].
    pub fn new(
        store: Store,
        transport: Arc<dyn Transport>,
        config: DispatchConfig,
        log: Arc<DeliveryLog>,
    ) -> Arc<Self> {
        Arc::new(Dispatcher {
            store,
            transport,
            config,
            removing: Default::default(),
            log,
            media: None,
            cluster: None,
        })
    }

    /// A dispatcher whose media upserts wait for their downloads through `media`.
    pub fn with_media_wait(mut self: Arc<Self>, media: Arc<dyn MediaWait>) -> Arc<Self> {
        Arc::get_mut(&mut self)
            .expect("configured before it is shared")
            .media = Some(media);
        self
    }

    /// Cluster mode: this node delivers only the destinations `delivers` names (those
    /// whose lease it holds) and compacts the outbox only while `housekeeping` reads
    /// `true`. Another node's commits wake it as its own do (PostgreSQL `NOTIFY`).
    pub fn in_cluster(
        mut self: Arc<Self>,
        housekeeping: tokio::sync::watch::Receiver<bool>,
        delivers: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    ) -> Arc<Self> {
        Arc::get_mut(&mut self)
            .expect("configured before it is shared")
            .cluster = Some(ClusterShare {
            housekeeping,
            delivers,
        });
        self
    }

    /// Whether this node compacts the outbox now.
    fn keeps_outbox(&self) -> bool {
        self.cluster
            .as_ref()
            .is_none_or(|c| *c.housekeeping.borrow())
    }

    /// Whether this node delivers destination `id`'s queue now.
    fn delivers(&self, id: &str) -> bool {
        self.cluster.as_ref().is_none_or(|c| (c.delivers)(id))
    }

    /// Runs until the process ends.
    pub fn spawn(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move { me.run().await });
    }

    async fn run(self: Arc<Self>) {
        let mut commits = self.store.commits();
        let mut settles = self.media.as_ref().map(|m| m.settles());
        let mut in_flight: HashSet<String> = HashSet::new();
        let mut tasks: JoinSet<String> = JoinSet::new();
        let mut last_compaction = std::time::Instant::now();
        loop {
            if last_compaction.elapsed() > COMPACT_EVERY && self.keeps_outbox() {
                last_compaction = std::time::Instant::now();
                match crate::core::outbox::compact(&self.store).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(removed = n, "outbox compacted"),
                    Err(e) => tracing::warn!(error = %e, "compacting the outbox"),
                }
            }
            let mut wait = Duration::from_secs(1);
            match self.due_heads(&in_flight) {
                Ok((heads, next_due)) => {
                    for head in heads {
                        if in_flight.len() >= self.config.concurrency {
                            break;
                        }
                        in_flight.insert(head.webhook.id.clone());
                        let me = self.clone();
                        tasks.spawn(async move {
                            let id = head.webhook.id.clone();
                            me.attempt(head).await;
                            id
                        });
                    }
                    if let Some(due) = next_due {
                        wait = wait.min(Duration::from_millis(due.saturating_sub(now_ms())));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading delivery queues"),
            }
            tokio::select! {
                _ = commits.changed() => {}
                _ = settled(&mut settles) => {}
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(id) = done { in_flight.remove(&id); }
                }
                _ = tokio::time::sleep(wait) => {}
            }
            // Collect every other finished task without waiting.
            while let Some(done) = tasks.try_join_next() {
                if let Ok(id) = done {
                    in_flight.remove(&id);
                }
            }
        }
    }

    /// Heads that are due now, and the earliest time a waiting head becomes due.
    /// Retired webhooks with an empty queue are removed on the way.
    fn due_heads(&self, in_flight: &HashSet<String>) -> CoreResult<(Vec<Head>, Option<u64>)> {
        let now = now_ms();
        let mut drained_retired = Vec::new();
        // Snapshot the in-progress removals *before* the read transaction begins: a key
        // leaves `removing` only after its removal committed, so a key missing from this
        // snapshot is either undelivered or already gone from the transaction's view.
        // (Taken the other way round, a removal committing in between would make a
        // delivered event look due again.)
        let removing = self.removing.lock().expect("removing lock").clone();
        let (heads, next) = self.store.read(|tx| -> CoreResult<_> {
            let hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
            let queue = tx.open_table(tables::DELIVERY_QUEUE).map_err(internal)?;
            let mut heads = Vec::new();
            let mut next: Option<u64> = None;
            for row in hooks.iter().map_err(internal)? {
                let (_, v) = row.map_err(internal)?;
                let webhook: Webhook = decode(v.value())?;
                // In cluster mode another node may deliver this one: a delivery in
                // flight here when its lease moved finishes, and if the new node sends
                // the same event again it carries the same id.
                if in_flight.contains(&webhook.id) || !self.delivers(&webhook.id) {
                    continue;
                }
                let prefix = tables::instance_prefix(&webhook.id);
                let end = tables::prefix_end(&prefix);
                let mut range = queue
                    .range::<&[u8]>(prefix.as_slice()..end.as_slice())
                    .map_err(internal)?;
                let first = loop {
                    match range.next() {
                        Some(Ok((k, _))) if removing.contains(k.value()) => continue,
                        other => break other,
                    }
                };
                let Some(first) = first else {
                    if webhook.retired && removing.is_empty() {
                        drained_retired.push(webhook.id);
                    }
                    continue;
                };
                let (k, v) = first.map_err(internal)?;
                let key = k.value().to_vec();
                let seq = u64::from_be_bytes(
                    key[prefix.len()..prefix.len() + 8]
                        .try_into()
                        .map_err(internal)?,
                );
                let item: QueuedDelivery = decode(v.value())?;
                // A retry's backoff and a media wait both hold the head; the later wins.
                let due = match self.media_wait(&item.event) {
                    Some(left) => item
                        .next_attempt_at
                        .max(now.saturating_add(left.as_millis() as u64)),
                    None => item.next_attempt_at,
                };
                if due <= now {
                    heads.push(Head {
                        webhook,
                        key,
                        seq,
                        item,
                    });
                } else {
                    next = Some(next.map_or(due, |n: u64| n.min(due)));
                }
            }
            Ok((heads, next))
        })?;
        if !drained_retired.is_empty() {
            let store = self.store.clone();
            tokio::spawn(async move {
                let _ = store
                    .write(move |tx| -> CoreResult<()> {
                        let mut hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
                        let queue = tx.open_table(tables::DELIVERY_QUEUE).map_err(internal)?;
                        for id in &drained_retired {
                            let prefix = tables::instance_prefix(id);
                            let end = tables::prefix_end(&prefix);
                            // Only if nothing was replayed into it meanwhile.
                            if queue
                                .range::<&[u8]>(prefix.as_slice()..end.as_slice())
                                .map_err(internal)?
                                .next()
                                .is_none()
                            {
                                hooks.remove(id.as_str()).map_err(internal)?;
                            }
                        }
                        Ok(())
                    })
                    .await;
            });
        }
        Ok((heads, next))
    }

    /// How much longer `event` waits for its message's file: a media message's
    /// upsert whose bytes the link is still downloading.
    fn media_wait(&self, event: &Event) -> Option<Duration> {
        let (media, id) = self.unstored_upsert(event)?;
        media.remaining(&event.instance_id, id)
    }

    /// The media source and the message id of `event` when it is the upsert of a
    /// media message whose bytes were not stored when it was queued.
    fn unstored_upsert<'e>(&'e self, event: &'e Event) -> Option<(&'e dyn MediaWait, &'e str)> {
        let (Some(media), EventPayload::MessageUpsert(m)) = (&self.media, &event.payload) else {
            return None;
        };
        let unstored = m.media.as_ref().is_some_and(|info| !info.stored);
        unstored.then_some((media.as_ref(), m.id.as_str()))
    }

    /// `event`, with the media record of a message upsert whose bytes were not
    /// stored when it was queued as it is now (see [`MediaWait`]).
    async fn with_current_media<'e>(&self, event: &'e Event) -> std::borrow::Cow<'e, Event> {
        use std::borrow::Cow;
        let Some((media, id)) = self.unstored_upsert(event) else {
            return Cow::Borrowed(event);
        };
        let Some(now) = media.current_media(&event.instance_id, id).await else {
            return Cow::Borrowed(event); // deleted meanwhile: as it was queued
        };
        if matches!(&event.payload, EventPayload::MessageUpsert(m) if m.media.as_ref() == Some(&now))
        {
            return Cow::Borrowed(event);
        }
        let mut changed = event.clone();
        if let EventPayload::MessageUpsert(m) = &mut changed.payload {
            m.media = Some(now);
        }
        Cow::Owned(changed)
    }

    /// One delivery attempt of a queue head, and its bookkeeping.
    async fn attempt(&self, head: Head) {
        let event = self.with_current_media(&head.item.event).await;
        let (outcome, error) = match self.transport.render(&head.webhook, &event).await {
            Ok(None) => (Outcome::Delivered, None), // the dialect has no such event
            Ok(Some(body)) => match self.transport.send(&head.webhook, &event, body).await {
                Ok(outcome) => (outcome, None),
                Err(e) => (Outcome::RetryAfter(0), Some(format!("{e:#}"))),
            },
            Err(e) => (Outcome::RetryAfter(0), Some(format!("rendering: {e:#}"))),
        };
        self.log_attempt(&head, &outcome, error.as_deref());
        let result = match outcome {
            Outcome::Delivered => {
                // Take the next head at once; the removal commits in the background.
                self.removing
                    .lock()
                    .expect("removing lock")
                    .insert(head.key.clone());
                let (store, removing, key) = (self.store.clone(), self.removing.clone(), head.key);
                tokio::spawn(async move {
                    if let Err(e) = remove(&store, key.clone()).await {
                        tracing::warn!(error = %e, "removing a delivered event from its queue");
                    }
                    removing.lock().expect("removing lock").remove(&key);
                });
                Ok(())
            }
            Outcome::RetryAfter(ms) => {
                let attempts = head.item.attempts + 1;
                let error = error
                    .unwrap_or_else(|| format!("receiver asked to retry (attempt {attempts})"));
                if attempts >= self.config.max_attempts {
                    self.dead_letter(
                        head,
                        attempts,
                        format!("gave up after {attempts} attempts: {error}"),
                    )
                    .await
                } else {
                    let delay = self.backoff(attempts).max(ms);
                    let mut item = head.item;
                    item.attempts = attempts;
                    item.next_attempt_at = now_ms() + delay;
                    item.last_error = Some(error);
                    self.update(head.key, item).await
                }
            }
            Outcome::Permanent(reason) => self.dead_letter(head, 0, reason).await,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "recording a delivery outcome");
        }
    }

    fn log_attempt(&self, head: &Head, outcome: &Outcome, error: Option<&str>) {
        let attempt = head.item.attempts + 1;
        let (outcome, error) = match outcome {
            Outcome::Delivered => (DeliveryOutcome::Delivered, None),
            Outcome::RetryAfter(_) if attempt >= self.config.max_attempts => (
                DeliveryOutcome::DeadLettered,
                Some(error.unwrap_or("the receiver asked to retry").to_string()),
            ),
            Outcome::RetryAfter(_) => (
                DeliveryOutcome::Retrying,
                Some(error.unwrap_or("the receiver asked to retry").to_string()),
            ),
            Outcome::Permanent(reason) => (DeliveryOutcome::DeadLettered, Some(reason.clone())),
        };
        self.transport.observe(&head.webhook, outcome);
        self.log.record(
            &head.webhook.id,
            DeliveryAttempt {
                event_id: head.item.event.id.clone(),
                event_type: head.item.event.payload.kind().to_string(),
                at: now_ms(),
                attempt,
                outcome,
                error,
            },
        );
    }

    /// `base * 2^(attempts-1)`, capped, with ±25% jitter so receivers are not stampeded.
    fn backoff(&self, attempts: u32) -> u64 {
        let exp = self
            .config
            .base_backoff_ms
            .saturating_mul(1u64 << attempts.saturating_sub(1).min(30));
        let capped = exp.min(self.config.max_backoff_ms) as f64;
        (capped * rand::rng().random_range(0.75..1.25)) as u64
    }

    async fn update(&self, key: Vec<u8>, item: QueuedDelivery) -> CoreResult<()> {
        self.store
            .write(move |tx| {
                let mut queue = tx.open_table(tables::DELIVERY_QUEUE).map_err(internal)?;
                // Only if still queued (a replacement of the webhook may have dropped it).
                if queue.get(key.as_slice()).map_err(internal)?.is_some() {
                    queue
                        .insert(key.as_slice(), encode(&item).as_slice())
                        .map_err(internal)?;
                }
                Ok(())
            })
            .await
    }

    async fn dead_letter(&self, head: Head, attempts: u32, error: String) -> CoreResult<()> {
        tracing::warn!(webhook = %head.webhook.id, event = %head.item.event.id, %error, "delivery dead-lettered");
        let mut webhook = head.webhook;
        // Dead letters are listed to operators: an integration's secret values stay in
        // its live record only (a replay delivers through that record while it exists).
        if let Some(data) = webhook.integration.as_mut() {
            data.secret_headers.iter_mut().for_each(|(_, v)| v.clear());
            data.inbound_secret.clear();
        }
        let letter = DeadLetter {
            id: format!("dl_{}", ulid::Ulid::new()),
            seq: head.seq,
            webhook,
            event: head.item.event,
            attempts: attempts.max(head.item.attempts + 1),
            error,
            failed_at: now_ms(),
        };
        let key = head.key;
        self.store
            .write(move |tx| {
                let mut queue = tx.open_table(tables::DELIVERY_QUEUE).map_err(internal)?;
                if queue.remove(key.as_slice()).map_err(internal)?.is_some() {
                    tx.open_table(tables::DEAD_LETTERS)
                        .map_err(internal)?
                        .insert(letter.id.as_str(), encode(&letter).as_slice())
                        .map_err(internal)?;
                }
                Ok(())
            })
            .await
    }
}

/// Removes one delivered event from its queue.
async fn remove(store: &Store, key: Vec<u8>) -> CoreResult<()> {
    store
        .write(move |tx| {
            tx.open_table(tables::DELIVERY_QUEUE)
                .map_err(internal)?
                .remove(key.as_slice())
                .map_err(internal)?;
            Ok(())
        })
        .await
}

/// Dead letters, oldest first.
pub fn list_dead_letters(store: &Store) -> CoreResult<Vec<DeadLetter>> {
    store.read(|tx| {
        let t = tx.open_table(tables::DEAD_LETTERS).map_err(internal)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(internal)? {
            out.push(decode::<DeadLetter>(row.map_err(internal)?.1.value())?);
        }
        Ok(out)
    })
}

/// Puts dead letters back at the head of their webhook's queue (all of them when `ids`
/// is empty). Returns how many were replayed.
pub async fn replay_dead_letters(store: &Store, ids: Vec<String>) -> CoreResult<usize> {
    store
        .write(move |tx| {
            let mut letters = tx.open_table(tables::DEAD_LETTERS).map_err(internal)?;
            let wanted: Vec<DeadLetter> = if ids.is_empty() {
                let mut all = Vec::new();
                for row in letters.iter().map_err(internal)? {
                    all.push(decode::<DeadLetter>(row.map_err(internal)?.1.value())?);
                }
                all
            } else {
                let mut some = Vec::new();
                for id in &ids {
                    match get_json::<_, DeadLetter>(&letters, id.as_str())? {
                        Some(l) => some.push(l),
                        None => {
                            return Err(CoreError::NotFound(
                                crate::core::model::Resource::DeadLetter,
                                format!("dead letter `{id}` not found"),
                            ));
                        }
                    }
                }
                some
            };
            let mut hooks = tx.open_table(tables::WEBHOOKS).map_err(internal)?;
            let mut queue = tx.open_table(tables::DELIVERY_QUEUE).map_err(internal)?;
            let mut replayed = 0;
            for letter in &wanted {
                let gone = hooks
                    .get(letter.webhook.id.as_str())
                    .map_err(internal)?
                    .is_none();
                if gone && letter.webhook.integration.is_some() {
                    // A deleted integration cannot be brought back: its secrets were not
                    // kept in the letter, and its sink's state is gone. It stays listed.
                    continue;
                }
                if gone {
                    // The webhook is gone (instance deleted, or replaced): bring it back
                    // retired, just long enough to deliver what is replayed.
                    let mut w = letter.webhook.clone();
                    w.retired = true;
                    hooks
                        .insert(w.id.as_str(), encode(&w).as_slice())
                        .map_err(internal)?;
                }
                let item = QueuedDelivery {
                    event: letter.event.clone(),
                    attempts: 0,
                    next_attempt_at: 0,
                    last_error: None,
                };
                queue
                    .insert(
                        tables::delivery_key(&letter.webhook.id, letter.seq).as_slice(),
                        encode(&item).as_slice(),
                    )
                    .map_err(internal)?;
                letters.remove(letter.id.as_str()).map_err(internal)?;
                replayed += 1;
            }
            Ok(replayed)
        })
        .await
}
/// Returns when a download settles; never without a [`MediaWait`].
async fn settled(settles: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    if let Some(rx) = settles
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}
