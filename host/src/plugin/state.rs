//! The data of one plugin store: what the host functions of every grant see.
//!
//! A store lives for one call (one auth decision, one dialect request, one rendered
//! event), so nothing a plugin keeps in memory survives to the next caller.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::core_api::CoreApi;
use super::grants::PluginShared;
use super::limits::{CallClock, MemoryLimiter};
use crate::core::model::Principal;

/// Bytes of a plugin's stderr kept per call (shown in the log when the call fails).
const STDERR_CAPTURE: usize = 4096;

/// Store data of one plugin call.
pub struct PluginState {
    /// The plugin's name, grants and configuration.
    pub plugin: Arc<PluginShared>,
    /// The gateway's operations.
    pub core: Arc<dyn CoreApi>,
    /// The request's principal, bound to every `core` call (dialects only).
    pub principal: Option<Principal>,
    /// Memory cap.
    pub limiter: MemoryLimiter,
    /// Guest-time deadline.
    pub clock: CallClock,
    /// What the plugin wrote to stderr (panic messages).
    pub stderr: MemoryOutputPipe,
    /// One more `host:port` http-out may reach during this call: the destination of a
    /// sink's `deliver` (a webhook URL its owner set), and nothing else.
    pub destination: Option<crate::util::Origin>,
    /// Headers http-out adds to every request to `destination`'s origin (same scheme,
    /// host and port: an integration's secret headers, e.g. Chatwoot's
    /// `api_access_token`), replacing same-named ones the guest set. The guest never
    /// sees their values.
    pub destination_secret_headers: Vec<(String, String)>,
    /// The instance a sink's `deliver` concerns: the only one its `storage` calls may
    /// touch. (During `handle`, `principal` scopes them instead.)
    pub deliver_instance: Option<String>,
    /// Names of the loaded sink plugins (dialect calls): what `core.set-integration`
    /// accepts as `sink`.
    pub loaded_sinks: Arc<std::collections::BTreeSet<String>>,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl PluginState {
    /// Fresh state for one call: an empty WASI context (no env, args, preopens or
    /// network; stdout discarded, stderr captured).
    pub fn new(
        plugin: Arc<PluginShared>,
        core: Arc<dyn CoreApi>,
        principal: Option<Principal>,
    ) -> Self {
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
            core,
            principal,
            limiter,
            clock,
            stderr,
            destination: None,
            destination_secret_headers: Vec::new(),
            deliver_instance: None,
            loaded_sinks: Arc::default(),
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

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
