//! The `config` grant: a plugin reads its effective configuration (manifest `[config]`
//! merged with `[plugins.settings.<name>].config`).

use wasmtime::component::{HasSelf, Linker};

use crate::plugin::bindings::wit_config;
use crate::plugin::state::PluginState;

/// Link `wagate:plugin/config`.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    wit_config::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    Ok(())
}

impl wit_config::Host for PluginState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.plugin.config.get(&key).cloned())
    }
}
