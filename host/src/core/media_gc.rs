//! The media removal journal's collector: removes from the media store (data folder or
//! bucket) what committed deletes queued in `tables::MEDIA_GC`, and drops an entry only
//! once its removal is done.
//!
//! A delete commits its journal entries with the records it drops, then runs one pass
//! inline (bounded, so the caller is not held by an unreachable bucket). Whatever that
//! pass could not remove stays in the journal, and a background task retries it with
//! a doubling backoff (never a hot loop); it also runs a pass at start-up for removals
//! a crash or an outage left behind.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::store::kv::ReadableTable;
use tokio::sync::Notify;

use crate::media::store::MediaStore;
use crate::store::{Store, StoreError, StoreResult, internal, tables};

/// How long a caller's delete waits for its removals before leaving them to the
/// background task.
const INLINE_BUDGET: Duration = Duration::from_secs(3);
/// First and longest wait between background passes while removals keep failing.
const RETRY_BASE: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// How often an idle background task checks that the core still exists.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// Runs the removal journal against one media store.
pub struct MediaCollector {
    store: Store,
    media: Arc<dyn MediaStore>,
    /// Wakes the background task: a pass left entries behind.
    wake: Arc<Notify>,
}

impl MediaCollector {
    /// A collector of `store`'s journal over `media` (its task starts with [`Self::spawn`]).
    pub fn new(store: Store, media: Arc<dyn MediaStore>) -> Arc<Self> {
        Arc::new(MediaCollector {
            store,
            media,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Starts the background task (one pass now, then on demand and on retry). It
    /// holds the collector weakly: dropping the core ends it.
    pub fn spawn(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let wake = self.wake.clone();
        tokio::spawn(run(weak, wake));
    }

    /// One pass now, for a caller that just committed removals; what it cannot finish
    /// within [`INLINE_BUDGET`] is left to the background task.
    pub async fn collect_now(&self) {
        let finished = tokio::time::timeout(INLINE_BUDGET, self.pass())
            .await
            .unwrap_or(false);
        if !finished {
            self.wake.notify_one();
        }
    }

    /// Removes every journalled entry it can; true when the journal is empty after it.
    async fn pass(&self) -> bool {
        let pending = match self.pending() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "reading pending media removals");
                return false;
            }
        };
        if pending.is_empty() {
            return true;
        }
        let mut done = Vec::with_capacity(pending.len());
        let mut failed = 0usize;
        for entry in pending {
            match self.media.remove_entry(&entry).await {
                Ok(()) => done.push(entry),
                Err(e) => {
                    failed += 1;
                    tracing::warn!(entry, error = %e, "removing media (will retry)");
                }
            }
        }
        if !done.is_empty() {
            let dropped = self
                .store
                .write(move |tx| -> StoreResult<()> {
                    let mut t = tx.open_table(tables::MEDIA_GC).map_err(internal)?;
                    for entry in &done {
                        t.remove(entry.as_str()).map_err(internal)?;
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = dropped {
                tracing::warn!(error = %e, "clearing done media removals");
                return false;
            }
        }
        failed == 0
    }

    fn pending(&self) -> Result<Vec<String>, StoreError> {
        self.store.read(|tx| -> StoreResult<Vec<String>> {
            let table = tx.open_table(tables::MEDIA_GC).map_err(internal)?;
            let mut out = Vec::new();
            for row in table.iter().map_err(internal)? {
                out.push(row.map_err(internal)?.0.value().to_string());
            }
            Ok(out)
        })
    }
}

/// The background task: a pass at start, then one per wake-up; while passes fail,
/// another after a doubling delay (wake-ups meanwhile wait for it: callers deleting
/// while the bucket is down do not turn this into a hot loop).
async fn run(collector: Weak<MediaCollector>, wake: Arc<Notify>) {
    let mut retry_in = Some(Duration::ZERO);
    loop {
        match retry_in {
            Some(delay) => tokio::time::sleep(delay).await,
            None => {
                let woken = tokio::select! {
                    _ = wake.notified() => true,
                    _ = tokio::time::sleep(IDLE_CHECK) => false,
                };
                if !woken {
                    if collector.strong_count() == 0 {
                        return;
                    }
                    continue;
                }
            }
        }
        let Some(c) = collector.upgrade() else { return };
        let finished = c.pass().await;
        drop(c);
        retry_in = (!finished).then(|| {
            retry_in
                .filter(|d| !d.is_zero())
                .map_or(RETRY_BASE, |d| (d * 2).min(RETRY_MAX))
        });
    }
}
