//! The data of plugin stores: one type per world, so each call holds exactly the grant
//! contexts its world may use (a sink's store has no principal; an auth plugin's has no
//! storage scope and no core).
//!
//! A store lives for one call (one auth decision, one dialect request, one rendered
//! event, one delivery), so nothing a plugin keeps in memory survives to the next
//! caller. What every world shares (the plugin's settings, its limits, WASI) is the
//! [`CallBase`]; each grant reaches the rest through its own view (`grants::*::Has*`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::grants::PluginShared;
use super::grants::core::CoreCtx;
use super::grants::http_out::HttpOutCtx;
use super::grants::identity::IdentityCtx;
use super::grants::storage::StorageCtx;
use super::limits::{CallClock, MemoryLimiter};

/// Bytes of a plugin's stderr kept per call (shown in the log when the call fails).
const STDERR_CAPTURE: usize = 4096;

/// What every call's store holds, whatever the world: the plugin's settings, its
/// memory cap and guest-time clock, and an empty WASI context.
pub struct CallBase {
    /// The plugin's name, grants and configuration.
    pub plugin: Arc<PluginShared>,
    /// Memory cap.
    pub limiter: MemoryLimiter,
    /// Guest-time deadline.
    pub clock: CallClock,
    /// What the plugin wrote to stderr (panic messages).
    pub stderr: MemoryOutputPipe,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl CallBase {
    /// Fresh state for one call: an empty WASI context (no env, args, preopens or
    /// network; stdout discarded, stderr captured).
    pub fn new(plugin: Arc<PluginShared>) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limiter = MemoryLimiter::new((plugin.grants.memory_mib as usize) << 20);
        let clock = CallClock::new(Duration::from_millis(plugin.grants.deadline_ms));
        Self {
            plugin,
            limiter,
            clock,
            stderr,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Run a host call, keeping its duration out of the guest's deadline.
    pub async fn host_call<F: Future>(&mut self, fut: F) -> F::Output {
        let started = Instant::now();
        let out = fut.await;
        self.clock.add_host_time(started.elapsed());
        out
    }

    /// The captured stderr, lossily decoded and trimmed.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_string()
    }
}

/// The store data of one world's calls.
pub trait CallState: WasiView + Send + 'static {
    /// What every world shares.
    fn base(&mut self) -> &mut CallBase;
    /// [`CallState::base`], shared.
    fn base_ref(&self) -> &CallBase;
}

/// An `auth` call: resolves the secret a request presents. No caller exists yet, so
/// there is no core and no storage scope.
pub struct AuthCall {
    /// Settings, limits, WASI.
    pub base: CallBase,
    /// `identity`: the core's credential lookup.
    pub identity: IdentityCtx,
    /// `http-out`: the allowlist only (a JWKS host, say).
    pub http_out: HttpOutCtx,
}

/// A `dialect` call: `handle` as the request's caller, or `render-event`/`openapi`
/// with no caller.
pub struct DialectCall {
    /// Settings, limits, WASI.
    pub base: CallBase,
    /// `core`: the gateway's operations as the caller.
    pub core: CoreCtx,
    /// `storage`: the instances the caller can see.
    pub storage: StorageCtx,
    /// `http-out`: the allowlist only.
    pub http_out: HttpOutCtx,
}

/// A `sink` call: `deliver` to one destination. It acts for no caller: it may reach
/// the destination's host and its instance's storage, nothing else.
pub struct SinkCall {
    /// Settings, limits, WASI.
    pub base: CallBase,
    /// `storage`: the destination's instance.
    pub storage: StorageCtx,
    /// `http-out`: the allowlist plus the destination.
    pub http_out: HttpOutCtx,
}

macro_rules! call_state {
    ($($t:ty),*) => {$(
        impl CallState for $t {
            fn base(&mut self) -> &mut CallBase {
                &mut self.base
            }
            fn base_ref(&self) -> &CallBase {
                &self.base
            }
        }

        impl WasiView for $t {
            fn ctx(&mut self) -> WasiCtxView<'_> {
                WasiCtxView {
                    ctx: &mut self.base.wasi,
                    table: &mut self.base.table,
                }
            }
        }
    )*};
}

call_state!(AuthCall, DialectCall, SinkCall);
