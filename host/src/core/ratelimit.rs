//! Fixed-window rate limits kept by the host, so they hold across plugin instances,
//! reloads and dialects.

use std::collections::HashMap;
use std::sync::Mutex;

use super::model::RateDecision;
use crate::util::now_ms;

/// Counters per limit key, each in its current fixed window.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, Window>>,
}

struct Window {
    started: u64,
    len_ms: u64,
    count: u32,
}

/// Above this many buckets, expired windows are swept on the next hit.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    /// Counts one hit against `bucket`: at most `limit` hits per `window_ms`.
    pub fn hit(&self, bucket: &str, limit: u32, window_ms: u64) -> RateDecision {
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
