//! The grants: one module per interface a plugin can be granted, in Spin's factor
//! style. Each module (1) links its interface into the linker, (2) reads its settings
//! from the manifest into [`PluginShared`], (3) serves calls from the per-call
//! [`PluginState`](super::state::PluginState). Adding a grant touches no other grant.

pub mod cache;
pub mod config;
pub mod core;
pub mod http_out;
pub mod identity;
pub mod log;
pub mod storage;

use std::collections::BTreeMap;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};

use super::manifest::{ErrorShape, Grants, Manifest};
use super::metrics::PluginCounters;
use super::state::PluginState;
use std::sync::Arc;

/// What every call of one loaded plugin shares: identity, effective grants and
/// configuration (manifest merged with the deployment's settings).
pub struct PluginShared {
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// Effective grants.
    pub grants: Grants,
    /// `config` grant: effective configuration.
    pub config: BTreeMap<String, String>,
    /// `core`/`identity` grants: timeout of one host call.
    pub core_timeout: Duration,
    /// `http-out` grant: allowlist and caps.
    pub http_out: http_out::HttpOutPolicy,
    /// The failure response shape.
    pub errors: ErrorShape,
    /// This plugin's counters.
    pub counters: Arc<PluginCounters>,
    /// `cache` grant: this plugin's host-kept cache (shared across reloads).
    pub cache: Arc<cache::PluginCache>,
}

impl PluginShared {
    /// Configure every grant from an (effective) manifest.
    pub fn new(
        manifest: &Manifest,
        config: BTreeMap<String, String>,
        counters: Arc<PluginCounters>,
        cache: Arc<cache::PluginCache>,
    ) -> Self {
        Self {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            grants: manifest.grants.clone(),
            config,
            core_timeout: Duration::from_millis(manifest.grants.core_timeout_ms),
            http_out: http_out::HttpOutPolicy::from_grant(&manifest.grants.http_out),
            errors: manifest.errors.clone(),
            counters,
            cache,
        }
    }
}

/// Link WASI (an empty context) and every wagate interface into `linker`. Which of
/// them a plugin may actually import is checked per plugin at load time
/// (`registry::check_imports`).
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    super::bindings::types::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    core::add_to_linker(linker)?;
    identity::add_to_linker(linker)?;
    http_out::add_to_linker(linker)?;
    config::add_to_linker(linker)?;
    log::add_to_linker(linker)?;
    cache::add_to_linker(linker)?;
    storage::add_to_linker(linker)?;
    Ok(())
}

/// `wagate:plugin/types` has no functions; linking it only registers its types.
impl super::bindings::types::Host for PluginState {}
