//! The wasmtime engine shared by every plugin: component model, pooling allocator,
//! concurrency support off, epoch interruption driven by a ticker thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::Context;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::manifest::MAX_MEMORY_MIB;

/// How often the ticker advances the engine's epoch. Deadlines are counted in ticks,
/// so a looping plugin is stopped at most about one tick after its deadline.
pub const TICK: Duration = Duration::from_millis(2);

/// Guest time a plugin may run before it yields its executor thread to other tasks.
pub const YIELD_SLICE_TICKS: u64 = 5;

/// Core instances of one Rust wasip2 component (main module plus adapter shims).
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;

/// Bytes of each linear memory kept resident between calls when PAGEMAP_SCAN is
/// available (covers a Rust guest's stack, data and a typical heap).
pub const DEFAULT_KEEP_RESIDENT: usize = 4 << 20;

/// Whether the kernel supports the PAGEMAP_SCAN ioctl (Linux 6.7+).
pub fn pagemap_scan_available() -> bool {
    PoolingAllocationConfig::is_pagemap_scan_available()
}

/// The engine configuration shared by the runtime and `wagate plugin check`.
///
/// `max_instances` sizes the pooling allocator: that many plugin instances (one per
/// in-flight call) can be alive at once. `keep_resident` is the bytes of a memory slot
/// kept resident between calls (`None`: [`DEFAULT_KEEP_RESIDENT`] with PAGEMAP_SCAN,
/// else 0).
pub fn config(max_instances: u32, pooling: bool, keep_resident: Option<usize>) -> Config {
    let max_instances = max_instances.max(1);
    let mut cfg = Config::new();
    cfg.wasm_component_model(true)
        .concurrency_support(false)
        .epoch_interruption(true)
        .parallel_compilation(true)
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    if pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(max_instances)
            .total_core_instances(max_instances * CORE_INSTANCES_PER_COMPONENT)
            .total_memories(max_instances)
            .total_tables(max_instances * CORE_INSTANCES_PER_COMPONENT)
            .total_stacks(max_instances)
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT * 2)
            .max_memories_per_component(2)
            .max_tables_per_component(CORE_INSTANCES_PER_COMPONENT * 2)
            .max_memory_size((MAX_MEMORY_MIB as usize) << 20)
            .max_unused_warm_slots(max_instances.min(64));
        // Resetting a reused slot: with Linux's PAGEMAP_SCAN (6.7+) only the pages the
        // last call dirtied are restored in place and stay resident (no madvise, no page
        // faults on the next call); without it, wasmtime's default madvise reset.
        let keep = keep_resident.unwrap_or(if pagemap_scan_available() {
            DEFAULT_KEEP_RESIDENT
        } else {
            0
        });
        if keep > 0 {
            pool.linear_memory_keep_resident(keep)
                .table_keep_resident(keep.min(1 << 20))
                .pagemap_scan(wasmtime::Enabled::Auto);
        }
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    cfg
}

/// The runtime's engine and the ticker thread that drives its epoch.
pub struct PluginEngine {
    engine: Engine,
    stop: Arc<AtomicBool>,
}

impl PluginEngine {
    /// Create the engine and start its ticker.
    pub fn new(max_instances: u32, keep_resident: Option<usize>) -> anyhow::Result<Self> {
        let engine = Engine::new(&config(max_instances, true, keep_resident))
            .map_err(anyhow::Error::from)
            .context("creating the wasmtime engine (pooling allocator)")?;
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let stop2 = stop.clone();
        thread::Builder::new()
            .name("wagate-epoch".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    thread::sleep(TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .context("spawning the epoch ticker thread")?;
        Ok(Self { engine, stop })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Ticks needed to cover `d` (at least one).
pub fn ticks_for(d: Duration) -> u64 {
    let tick = TICK.as_nanos();
    (d.as_nanos().div_ceil(tick) as u64).max(1)
}
