//! The live event feed: every committed event, as soon as its commit is durable, to
//! whoever listens (WebSocket streams). Read from the outbox after each commit, so the
//! feed carries exactly what was committed, in outbox order.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::core::model::Event;
use crate::store::kv::ReadableTable;
use crate::store::{Store, internal, tables};

/// Events buffered for slow listeners before they start missing some (a listener that
/// lags is told so and dropped by the stream layer).
const CAPACITY: usize = 4096;

/// A cheap-to-clone handle on the feed; every clone sees the same events.
#[derive(Clone)]
pub struct LiveFeed {
    tx: broadcast::Sender<Arc<Event>>,
}

impl LiveFeed {
    /// Starts following the outbox from its current end.
    pub fn start(store: Store) -> LiveFeed {
        let (tx, _) = broadcast::channel(CAPACITY);
        let feed = LiveFeed { tx: tx.clone() };
        tokio::spawn(async move {
            let mut commits = store.commits();
            let mut last = current_seq(&store).unwrap_or(0);
            while commits.changed().await.is_ok() {
                if tx.receiver_count() == 0 {
                    last = current_seq(&store).unwrap_or(last);
                    continue;
                }
                match store.read(|t| crate::core::outbox::read_after(t, last, 10_000)) {
                    Ok(events) => {
                        for (seq, event) in events {
                            last = seq;
                            let _ = tx.send(Arc::new(event));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "reading the outbox for the live feed"),
                }
            }
        });
        feed
    }

    /// A new listener that receives events committed from now on (no backlog).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}

fn current_seq(store: &Store) -> crate::core::model::CoreResult<u64> {
    store.read(|tx| {
        let meta = tx.open_table(tables::META).map_err(internal)?;
        Ok(meta
            .get("outbox_seq")
            .map_err(internal)?
            .map(|v| v.value())
            .unwrap_or(0))
    })
}
