//! Fixed-window rate limits kept by the host, so they hold across plugin instances,
//! reloads and dialects; in cluster mode, across the nodes too (the windows live in
//! PostgreSQL, `store::counters`).

use std::collections::HashMap;
use std::sync::Mutex;

use super::model::RateDecision;
use crate::util::now_ms;

/// Counters per limit key, each in its current fixed window.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, Window>>,
    /// Cluster mode: the windows every node counts in.
    shared: Option<crate::store::counters::SharedCounters>,
}

struct Window {
    started: u64,
    len_ms: u64,
    count: u32,
}

/// Above this many buckets, expired windows are swept on the next hit.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    /// A limiter counting in `shared` when given (cluster mode), else in memory.
    pub fn new(shared: Option<crate::store::counters::SharedCounters>) -> Self {
        RateLimiter {
            windows: Mutex::default(),
            shared,
        }
    }

    /// Counts one hit against `bucket`: at most `limit` hits per `window_ms`.
    pub fn hit(&self, bucket: &str, limit: u32, window_ms: u64) -> RateDecision {
        if let Some(shared) = &self.shared {
            let len = i64::try_from(window_ms.max(1)).unwrap_or(i64::MAX);
            match shared.hit(bucket, len) {
                Ok(w) => {
                    return RateDecision {
                        allowed: w.hits <= i64::from(limit),
                        limit,
                        remaining: u32::try_from(i64::from(limit) - w.hits).unwrap_or(0),
                        reset_at: u64::try_from(w.resets_at_ms).unwrap_or(0),
                    };
                }
                // The database unreachable: this node's own count still limits.
                Err(e) => {
                    tracing::warn!(error = %e, "shared rate limit unavailable; counting on this node")
                }
            }
        }
        self.hit_here(bucket, limit, window_ms)
    }

    fn hit_here(&self, bucket: &str, limit: u32, window_ms: u64) -> RateDecision {
        let now = now_ms();
        let window_ms = window_ms.max(1);
        let mut map = self.windows.lock().expect("rate limiter lock");
        if map.len() > SWEEP_AT {
            map.retain(|_, w| now < w.started + w.len_ms);
        }
        let w = map.entry(bucket.to_string()).or_insert(Window {
            started: now,
            len_ms: window_ms,
            count: 0,
        });
        if now >= w.started + w.len_ms {
            *w = Window {
                started: now,
                len_ms: window_ms,
                count: 0,
            };
        }
        let allowed = w.count < limit;
        if allowed {
            w.count += 1;
        }
        RateDecision {
            allowed,
            limit,
            remaining: limit.saturating_sub(w.count),
            reset_at: w.started + w.len_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_then_refuses() {
        let rl = RateLimiter::default();
        for i in 0..3 {
            let d = rl.hit("k", 3, 60_000);
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i);
        }
        assert!(!rl.hit("k", 3, 60_000).allowed);
        assert!(rl.hit("other", 3, 60_000).allowed);
    }
}
