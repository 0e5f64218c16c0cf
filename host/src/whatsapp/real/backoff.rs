//! Reconnect delays: exponential with "equal jitter", capped.
//!
//! whatsapp-rust's own loop retries with a Fibonacci backoff up to 15 minutes that
//! cannot be configured, and reconnects at once after "expected" disconnects; the
//! gateway runs its own supervisor instead (see [`super::session`]) so an offline
//! gateway never spins: attempt `n` waits a uniformly random time in
//! `[c/2, c]` with `c = min(cap, base * 2^n)` (the jitter spreads many instances
//! reconnecting after one outage; see [`Backoff::delay`] for why not `[0, c]`).

use std::time::Duration;

use rand::Rng;

/// Reconnect policy of every session of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// The largest ceiling any retry reaches.
    pub cap: Duration,
}

impl Backoff {
    /// The ceiling for retry number `attempt` (0-based): `min(cap, base * 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A random delay for retry number `attempt`, uniform in `[ceiling/2, ceiling]`.
    ///
    /// Not `[0, ceiling]`: pure full jitter lets a retry land right after the
    /// previous one, which an offline gateway would turn into bursts of attempts.
    /// Keeping the lower half ("equal jitter") still spreads instances apart while
    /// every gap stays at least half its ceiling, so gaps grow with the attempt.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let spread = ceiling.saturating_sub(half).as_millis() as u64;
        half + Duration::from_millis(rand::rng().random_range(0..=spread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy of a default `[whatsapp]` config.
    fn default_policy() -> Backoff {
        super::super::WhatsAppConfig::default()
            .settings()
            .unwrap()
            .backoff
    }

    #[test]
    fn ceilings_double_then_stop_at_the_cap() {
        let b = default_policy();
        let secs: Vec<u64> = (0..12).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(b.ceiling(u32::MAX), b.cap, "no overflow on huge attempts");
    }

    #[test]
    fn delays_stay_between_half_the_ceiling_and_the_ceiling() {
        let b = default_policy();
        for attempt in 0..20 {
            for _ in 0..50 {
                let d = b.delay(attempt);
                assert!(d <= b.ceiling(attempt), "{d:?} above ceiling");
                assert!(d >= b.ceiling(attempt) / 2, "{d:?} below half the ceiling");
            }
        }
    }
}
