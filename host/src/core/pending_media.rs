//! Inbound media the link is still downloading, so a message's event deliveries can
//! wait for its bytes (see `events::dispatcher`).
//!
//! On the `whatsapp` link a message is stored as soon as it arrives and its file is
//! fetched afterwards, off the event path. A webhook that inlines the bytes
//! (Evolution's `webhookBase64`, RyzeAPI's `mediaBase64`), names them by URL (S3), or
//! whose receiver reads them at once would otherwise get the message before the bytes
//! exist. Core notes each download here when it stores the message and settles it
//! when the link reports the file stored or failed; the dispatcher waits on it,
//! bounded, before it renders the message's upsert.
//!
//! Kept in memory only: after a restart no download is in flight (the link starts
//! afresh), so there is nothing to wait for.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// How long waits last by default (`[events] media_wait_ms`).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(20);

/// Entries kept before the expired ones are swept (a session that stops mid-download
/// never settles its files).
const SWEEP_ABOVE: usize = 1024;

/// The downloads in flight, by instance and message id.
pub struct PendingMedia {
    /// How long after a download began its waiters give up on it, in ms.
    bound_ms: AtomicU64,
    downloads: Mutex<HashMap<(String, String), Download>>,
}

struct Download {
    began: Instant,
    /// The bound when it began.
    bound: Duration,
    /// Turns `true` when the download settles; waiters watch it.
    settled: watch::Sender<bool>,
}

impl PendingMedia {
    /// Waits end at most `bound` after their download began (zero: never wait).
    pub fn new(bound: Duration) -> Self {
        PendingMedia {
            bound_ms: AtomicU64::new(bound.as_millis().try_into().unwrap_or(u64::MAX)),
            downloads: Mutex::default(),
        }
    }

    /// Sets the bound (the deployment's `[events] media_wait_ms`) for downloads that
    /// begin from now on.
    pub fn set_bound(&self, bound: Duration) {
        let ms = bound.as_millis().try_into().unwrap_or(u64::MAX);
        self.bound_ms.store(ms, Ordering::Relaxed);
    }

    fn bound(&self) -> Duration {
        Duration::from_millis(self.bound_ms.load(Ordering::Relaxed))
    }

    /// The link is fetching the media of `message_id`.
    pub fn began(&self, instance_id: &str, message_id: &str) {
        let bound = self.bound();
        if bound.is_zero() {
            return;
        }
        let mut downloads = self.downloads.lock().expect("pending media lock");
        if downloads.len() >= SWEEP_ABOVE {
            downloads.retain(|_, d| d.began.elapsed() < d.bound);
        }
        downloads.insert(
            (instance_id.to_string(), message_id.to_string()),
            Download {
                began: Instant::now(),
                bound,
                settled: watch::channel(false).0,
            },
        );
    }

    /// The media of `message_id` is stored, or will not be: its waiters go on.
    pub fn settled(&self, instance_id: &str, message_id: &str) {
        let key = (instance_id.to_string(), message_id.to_string());
        let removed = self
            .downloads
            .lock()
            .expect("pending media lock")
            .remove(&key);
        if let Some(d) = removed {
            d.settled.send_replace(true);
        }
    }

    /// Returns once the media of `message_id` settled, or at once when no download of
    /// it is in flight, or when the bound since it began has passed.
    pub async fn wait(&self, instance_id: &str, message_id: &str) {
        let key = (instance_id.to_string(), message_id.to_string());
        let (mut settled, left) = {
            let downloads = self.downloads.lock().expect("pending media lock");
            let Some(d) = downloads.get(&key) else {
                return;
            };
            (
                d.settled.subscribe(),
                d.bound.saturating_sub(d.began.elapsed()),
            )
        };
        // A dropped sender (swept) ends the wait as well.
        let _ = tokio::time::timeout(left, settled.wait_for(|s| *s)).await;
    }

    /// Downloads being waited for now (for tests and diagnostics).
    pub fn in_flight(&self) -> usize {
        self.downloads.lock().expect("pending media lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_ends_when_the_download_settles() {
        let pending = std::sync::Arc::new(PendingMedia::new(Duration::from_secs(30)));
        pending.began("i", "m");
        let waiter = {
            let pending = pending.clone();
            tokio::spawn(async move { pending.wait("i", "m").await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "waits while the download runs");
        pending.settled("i", "m");
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the wait ends on settle")
            .unwrap();
        assert_eq!(pending.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_wait_ends_at_the_bound_and_without_a_download_at_once() {
        let pending = PendingMedia::new(Duration::from_millis(50));
        let started = Instant::now();
        pending.wait("i", "unknown").await;
        pending.began("i", "m");
        pending.wait("i", "m").await;
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(started.elapsed() < Duration::from_secs(5));
        // Zero disables waiting altogether.
        let never = PendingMedia::new(Duration::ZERO);
        never.began("i", "m");
        assert_eq!(never.in_flight(), 0);
    }

    #[tokio::test]
    async fn downloads_that_never_settle_are_swept() {
        let pending = PendingMedia::new(Duration::from_millis(1));
        for n in 0..SWEEP_ABOVE {
            pending.began("i", &n.to_string());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        pending.began("i", "last");
        assert_eq!(pending.in_flight(), 1);
    }
}
