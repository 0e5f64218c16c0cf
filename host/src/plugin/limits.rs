//! Per-call limits: the linear-memory cap and the guest-time deadline.
//!
//! The deadline counts guest time only: time the plugin spends waiting in host calls
//! (`core`, `identity`, `http-out`, which have their own timeouts) is subtracted, so a
//! slow disk or WhatsApp round trip does not kill a well-behaved plugin, while a plugin
//! that loops is stopped about one tick after its budget. A hard wall-clock cap
//! ([`WALL_CAP`]) bounds a call in any case.

use std::time::{Duration, Instant};

use wasmtime::{ResourceLimiter, StoreContextMut, UpdateDeadline};

use super::engine::{YIELD_SLICE_TICKS, ticks_for};
use super::state::PluginState;

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
            budget,
            expired: false,
        }
    }

    /// Restart the clock (each exported call gets the full budget).
    pub fn restart(&mut self) {
        self.started = Instant::now();
        self.host_time = Duration::ZERO;
    }

    /// Add time spent in a host call (not counted against the budget).
    pub fn add_host_time(&mut self, d: Duration) {
        self.host_time += d;
    }

    /// Guest time used so far.
    pub fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.host_time)
    }

    /// Ticks until the next check: the rest of the budget, at most one yield slice.
    pub fn next_ticks(&self) -> u64 {
        ticks_for(self.budget.saturating_sub(self.guest_time())).min(YIELD_SLICE_TICKS)
    }
}

/// The epoch-deadline callback: stop the guest when its guest time is spent, else yield
/// the executor thread and check again a slice later.
pub fn on_epoch(mut store: StoreContextMut<'_, PluginState>) -> wasmtime::Result<UpdateDeadline> {
    let clock = &mut store.data_mut().clock;
    if clock.guest_time() >= clock.budget || clock.started.elapsed() >= WALL_CAP {
        clock.expired = true;
        return Err(wasmtime::Error::new(DeadlineExceeded(clock.budget)));
    }
    Ok(UpdateDeadline::Yield(clock.next_ticks()))
}
