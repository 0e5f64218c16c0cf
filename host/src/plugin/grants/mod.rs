//! The grants: one module per interface a plugin can be granted, in Spin's factor
//! style. Each module owns (1) its per-call context (`core`: the caller and the loaded
//! sinks; `http-out`: the destination and its secret headers; `storage`: the scope;
//! `identity`: the credential lookup) and the view its host functions run on, (2) the
//! `Has*` trait a world's store data implements to hand out that view (`None` where the
//! world does not grant it: the call is refused), (3) its linking, and (4) its unit
//! tests. `config`, `log` and `cache` need nothing beyond the plugin's settings, so they
//! run on [`CallBase`]. Adding a grant touches no other grant: only its module, the
//! world types that carry its context (`state.rs`) and [`add_to_linker`].

pub mod cache;
pub mod config;
pub mod core;
pub mod http_out;
pub mod identity;
pub mod log;
pub mod storage;

use std::collections::BTreeMap;
use std::time::Duration;

use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use super::manifest::{ErrorShape, Grants, Manifest};
use super::metrics::PluginCounters;
use super::state::{CallBase, CallState};

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

/// The grants' view of the shared call state (`config`, `log`, `cache`, `types`).
pub struct Base;

impl HasData for Base {
    type Data<'a> = &'a mut CallBase;
}

/// Link WASI (an empty context) and every wagate interface into a world's `linker`.
/// Every world links every interface, so a component exporting several worlds (the
/// Chatwoot plugin is a dialect and a sink) instantiates in each; what a world does not
/// grant answers as refused. Which interfaces a plugin may import at all is checked per
/// plugin at load time (`registry::check_imports`).
pub fn add_to_linker<T>(linker: &mut Linker<T>) -> anyhow::Result<()>
where
    T: CallState
        + core::HasCore
        + identity::HasIdentity
        + http_out::HasHttpOut
        + storage::HasStorage,
{
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    super::bindings::types::add_to_linker::<T, Base>(linker, T::base)?;
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
impl super::bindings::types::Host for CallBase {}

#[cfg(test)]
pub(crate) mod tests {
    //! What the grants' unit tests share.

    use super::*;

    /// A call base for a plugin whose manifest is `worlds = ["dialect"]` plus `extra`.
    pub(crate) fn base(extra: &str) -> CallBase {
        let manifest = Manifest::parse(&format!(
            "name = \"t\"\nversion = \"1\"\nworlds = [\"dialect\"]\n{extra}"
        ))
        .expect("test manifest");
        let config = manifest.config_strings();
        CallBase::new(Arc::new(PluginShared::new(
            &manifest,
            config,
            Arc::default(),
            Arc::default(),
        )))
    }

    /// A fresh api key of `org` and the principal it resolves to.
    pub(crate) async fn api_key(
        core: &crate::core::Core,
        org: &str,
    ) -> (String, crate::core::model::Principal) {
        let minted = core
            .create_credential(
                org,
                crate::core::records::CredentialKind::api_key(),
                None,
                None,
                None,
            )
            .await
            .expect("api key");
        let caller = core
            .resolve_credential(&minted.token)
            .await
            .expect("resolves");
        (minted.token, caller)
    }

    /// A real core over a fresh redb file and the simulated link, with org `acme`;
    /// the temp dir lives as long as the core is used.
    pub(crate) async fn core() -> (Arc<crate::core::Core>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::store::Store::open(&dir.path().join("data")).expect("store");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let link = Arc::new(crate::whatsapp::sim::SimLink::new(
            tx,
            Duration::from_millis(5),
        ));
        let core = crate::core::Core::new(store, link);
        core.start(rx).await.expect("core starts");
        core.create_org("acme").await.expect("org");
        (core, dir)
    }
}
