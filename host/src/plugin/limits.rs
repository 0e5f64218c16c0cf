//! Per-call limits: the linear-memory cap and the guest-time deadline.
//!
//! The deadline counts guest time: wall time from the start of the call minus the time
//! spent waiting in the grants' host calls (`core`, `identity`, `http-out`, which have
//! their own timeouts) and minus the time spent queued after yielding the executor
//! thread (a plugin yields every [`YIELD_SLICE_TICKS`] ticks so it never holds a worker
//! for its whole budget). So a slow disk or WhatsApp round trip does not kill a
//! well-behaved plugin, while one that loops is stopped about one tick after its
//! budget. What still counts: waits inside WASI (a guest `sleep`) and the OS not
//! scheduling the process at all (a starved machine). A hard wall-clock cap
//! ([`WALL_CAP`]) bounds a call in any case.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{ResourceLimiter, StoreContextMut, UpdateDeadline};

use super::engine::{YIELD_SLICE_TICKS, ticks_for};
use super::state::CallState;

/// No call may take longer than this, host calls included.
pub const WALL_CAP: Duration = Duration::from_secs(60);

/// Most table elements a plugin may grow a table to.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Caps linear memory and remembers whether the cap was what stopped the plugin.
pub struct MemoryLimiter {
    cap: usize,
    /// The size a refused growth asked for.
    pub hit: Option<usize>,
}

impl MemoryLimiter {
    /// A limiter allowing `cap` bytes per memory.
    pub fn new(cap: usize) -> Self {
        Self { cap, hit: None }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.hit = Some(desired);
            wasmtime::bail!(
                "memory cap of {} bytes exceeded (growing to {desired} bytes)",
                self.cap
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        32
    }

    fn memories(&self) -> usize {
        4
    }

    fn tables(&self) -> usize {
        64
    }
}

/// Guest-time accounting of one call.
pub struct CallClock {
    started: Instant,
    host_time: Duration,
    /// Time spent waiting to be polled again after yielding the executor thread (shared
    /// with the yield future; created on the first yield).
    yield_wait: Option<Arc<AtomicU64>>,
    budget: Duration,
    /// Set when the deadline (or the wall cap) stopped the plugin.
    pub expired: bool,
}

/// Error raised inside the guest when its deadline passes.
#[derive(Debug, thiserror::Error)]
#[error("plugin exceeded its deadline of {0:?} of guest time")]
pub struct DeadlineExceeded(pub Duration);

impl CallClock {
    /// A clock with `budget` of guest time, starting now.
    pub fn new(budget: Duration) -> Self {
        Self {
            started: Instant::now(),
            host_time: Duration::ZERO,
            yield_wait: None,
            budget,
            expired: false,
        }
    }

    /// Add time spent in a host call (not counted against the budget).
    pub fn add_host_time(&mut self, d: Duration) {
        self.host_time += d;
    }

    /// Guest time used so far.
    pub fn guest_time(&self) -> Duration {
        let waited = self
            .yield_wait
            .as_ref()
            .map_or(0, |w| w.load(Ordering::Relaxed));
        self.started
            .elapsed()
            .saturating_sub(self.host_time)
            .saturating_sub(Duration::from_nanos(waited))
    }

    /// Ticks until the next check: the rest of the budget, at most one yield slice.
    pub fn next_ticks(&self) -> u64 {
        ticks_for(self.budget.saturating_sub(self.guest_time())).min(YIELD_SLICE_TICKS)
    }
}

/// The epoch-deadline callback: stop the guest when its guest time is spent, else yield
/// the executor thread and check again a slice later.
pub fn on_epoch<T: CallState>(
    mut store: StoreContextMut<'_, T>,
) -> wasmtime::Result<UpdateDeadline> {
    let clock = &mut store.data_mut().base().clock;
    if clock.guest_time() >= clock.budget || clock.started.elapsed() >= WALL_CAP {
        clock.expired = true;
        return Err(wasmtime::Error::new(DeadlineExceeded(clock.budget)));
    }
    // Yield the executor thread; the time until this task is polled again (other tasks
    // running) is not the plugin's.
    let waited = clock
        .yield_wait
        .get_or_insert_with(Default::default)
        .clone();
    let ticks = clock.next_ticks();
    Ok(UpdateDeadline::YieldCustom(
        ticks,
        Box::pin(async move {
            let t = Instant::now();
            tokio::task::yield_now().await;
            waited.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }),
    ))
}
