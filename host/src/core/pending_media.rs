//! Inbound media the link is still downloading, so a message's event deliveries can
//! wait for its bytes (see `events::dispatcher`).
//!
//! On the `whatsapp` link a message is stored as soon as it arrives and its file is
//! fetched afterwards, off the event path. A webhook that inlines the bytes
//! (Evolution's `webhookBase64`, RyzeAPI's `mediaBase64`), names them by URL (S3), or
//! whose receiver reads them at once would otherwise get the message before the bytes
//! exist. Core notes each download here when it stores the message and settles it
//! when the link reports the file stored or failed; until then (or until a bound
//! passes) the dispatcher treats the message's upsert as not yet due for delivery,
//! so a waiting destination holds no delivery slot.
//!
//! Kept in memory only: after a restart no download is in flight (the link starts
//! afresh), so there is nothing to wait for.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// How long deliveries wait by default (`[events] media_wait_ms`).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(20);

/// Entries kept before the expired ones are swept (a session that stops mid-download
/// never settles its files).
const SWEEP_ABOVE: usize = 1024;

/// The downloads in flight, by instance and message id.
pub struct PendingMedia {
    /// How long after a download began deliveries stop waiting for it, in ms.
    bound_ms: AtomicU64,
    /// When each download's wait ends at the latest.
    downloads: Mutex<HashMap<(String, String), Instant>>,
    /// Bumped at every settle, so a waiting dispatcher looks again.
    settles: watch::Sender<u64>,
}

impl PendingMedia {
    /// Waits end at most `bound` after their download began (zero: never wait).
    pub fn new(bound: Duration) -> Self {
        let pending = PendingMedia {
            bound_ms: AtomicU64::new(0),
            downloads: Mutex::default(),
            settles: watch::channel(0).0,
        };
        pending.set_bound(bound);
        pending
    }

    /// Sets the bound (the deployment's `[events] media_wait_ms`) for downloads that
    /// begin from now on.
    pub fn set_bound(&self, bound: Duration) {
        let ms = bound.as_millis().try_into().unwrap_or(u64::MAX);
        self.bound_ms.store(ms, Ordering::Relaxed);
    }

    /// The link is fetching the media of `message_id`.
    pub fn began(&self, instance_id: &str, message_id: &str) {
        let bound = Duration::from_millis(self.bound_ms.load(Ordering::Relaxed));
        if bound.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut downloads = self.downloads.lock().expect("pending media lock");
        if downloads.len() >= SWEEP_ABOVE {
            downloads.retain(|_, until| *until > now);
        }
        downloads.insert(
            (instance_id.to_string(), message_id.to_string()),
            now + bound,
        );
    }

    /// The media of `message_id` is stored, or will not be: deliveries go on.
    pub fn settled(&self, instance_id: &str, message_id: &str) {
        let key = (instance_id.to_string(), message_id.to_string());
        let removed = self
            .downloads
            .lock()
            .expect("pending media lock")
            .remove(&key);
        if removed.is_some() {
            self.settles.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// How much longer deliveries of `message_id` wait: `None` when no download of
    /// it is in flight or its bound has passed.
    pub fn remaining(&self, instance_id: &str, message_id: &str) -> Option<Duration> {
        let key = (instance_id.to_string(), message_id.to_string());
        let mut downloads = self.downloads.lock().expect("pending media lock");
        let until = *downloads.get(&key)?;
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            downloads.remove(&key);
            return None;
        }
        Some(left)
    }

    /// Changes at every settle.
    pub fn settles(&self) -> watch::Receiver<u64> {
        self.settles.subscribe()
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
    async fn a_download_is_waited_for_until_it_settles() {
        let pending = PendingMedia::new(Duration::from_secs(30));
        let mut settles = pending.settles();
        assert_eq!(pending.remaining("i", "m"), None, "nothing in flight");
        pending.began("i", "m");
        let left = pending.remaining("i", "m").expect("in flight");
        assert!(left > Duration::from_secs(29) && left <= Duration::from_secs(30));
        assert!(!settles.has_changed().unwrap());
        pending.settled("i", "m");
        assert!(settles.has_changed().unwrap(), "a settle is announced");
        settles.mark_unchanged();
        assert_eq!(pending.remaining("i", "m"), None);
        assert_eq!(pending.in_flight(), 0);
        // Settling what is not in flight announces nothing.
        pending.settled("i", "other");
        assert!(!settles.has_changed().unwrap());
    }

    #[tokio::test]
    async fn a_wait_ends_at_the_bound_and_zero_never_waits() {
        let pending = PendingMedia::new(Duration::from_millis(30));
        pending.began("i", "m");
        assert!(pending.remaining("i", "m").is_some());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(pending.remaining("i", "m"), None, "past the bound");
        assert_eq!(pending.in_flight(), 0, "and forgotten");
        pending.set_bound(Duration::ZERO);
        pending.began("i", "m");
        assert_eq!(pending.in_flight(), 0);
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
