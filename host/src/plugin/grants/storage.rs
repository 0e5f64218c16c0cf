//! The `storage` grant: durable per-plugin, per-instance key-value storage in the
//! gateway's database (see `core::plugin_storage`), plus the plugin's own integration
//! of an instance.
//!
//! Scoped per call, so a plugin reaches only what the current call concerns:
//! - during a sink's `deliver`: the destination's instance;
//! - during a dialect's `handle`: the instances the caller's principal can see;
//! - anything else (another instance, `render-event`, `openapi`, no caller): `err`.
//!
//! Each plugin has its own namespace (its name is part of every key); keys are at most
//! 512 bytes and values at most 64 KiB (`core::plugin_storage`). Nothing to configure in
//! the manifest beyond `"storage"` in `imports`.

use wasmtime::component::{HasSelf, Linker};

use crate::core::model::CoreError;
use crate::plugin::bindings::{types as wit, wit_storage};
use crate::plugin::state::PluginState;

/// Link `wagate:plugin/storage`.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    wit_storage::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    Ok(())
}

impl PluginState {
    /// Whether this call may touch `instance_id`'s storage, or why not.
    fn storage_scope(&self, instance_id: &str) -> Result<(), String> {
        let allowed = match (&self.deliver_instance, &self.principal) {
            (Some(dest), _) => dest == instance_id,
            (None, Some(p)) => self.core.can_reach(p, instance_id),
            (None, None) => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "instance `{instance_id}` is out of this call's storage scope"
            ))
        }
    }
}

fn message(e: CoreError) -> String {
    e.to_string()
}

impl wit_storage::Host for PluginState {
    async fn get(
        &mut self,
        instance_id: String,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, String>> {
        if let Err(e) = self.storage_scope(&instance_id) {
            return Ok(Err(e));
        }
        let (core, plugin) = (self.core.clone(), self.plugin.name.clone());
        Ok(self
            .host_call(async move { core.storage_get(&plugin, &instance_id, &key) })
            .await
            .map_err(message))
    }

    async fn set(
        &mut self,
        instance_id: String,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        if let Err(e) = self.storage_scope(&instance_id) {
            return Ok(Err(e));
        }
        let (core, plugin) = (self.core.clone(), self.plugin.name.clone());
        Ok(self
            .host_call(async move { core.storage_set(&plugin, &instance_id, &key, value).await })
            .await
            .map_err(message))
    }

    async fn delete(
        &mut self,
        instance_id: String,
        key: String,
    ) -> wasmtime::Result<Result<(), String>> {
        if let Err(e) = self.storage_scope(&instance_id) {
            return Ok(Err(e));
        }
        let (core, plugin) = (self.core.clone(), self.plugin.name.clone());
        Ok(self
            .host_call(async move { core.storage_delete(&plugin, &instance_id, &key).await })
            .await
            .map_err(message))
    }

    async fn integration(
        &mut self,
        instance_id: String,
    ) -> wasmtime::Result<Option<wit::Integration>> {
        if self.storage_scope(&instance_id).is_err() {
            return Ok(None);
        }
        let (core, plugin) = (self.core.clone(), self.plugin.name.clone());
        let found = self
            .host_call(async move { core.integration_of(&instance_id, &plugin) })
            .await;
        Ok(match found {
            Ok(i) => i.map(Into::into),
            Err(e) => {
                tracing::warn!(plugin = %self.plugin.name, error = %e, "reading an integration");
                None
            }
        })
    }
}
