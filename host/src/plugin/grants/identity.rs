//! The `identity` grant: auth plugins resolve a presented secret to a stored principal
//! (core keeps only hashes of secrets).

use wasmtime::component::{HasSelf, Linker};

use crate::plugin::bindings::{identity, types};
use crate::plugin::state::PluginState;

/// Link `wagate:plugin/identity`.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    identity::add_to_linker::<PluginState, HasSelf<PluginState>>(linker, |s| s)?;
    Ok(())
}

impl identity::Host for PluginState {
    async fn resolve(&mut self, secret: String) -> wasmtime::Result<Option<types::Principal>> {
        let core = self.core.clone();
        let timeout = self.plugin.core_timeout;
        let found = self
            .host_call(async move {
                tokio::time::timeout(timeout, core.resolve_credential(&secret)).await
            })
            .await;
        match found {
            Ok(p) => Ok(p.map(Into::into)),
            Err(_) => {
                tracing::warn!(plugin = %self.plugin.name, "identity.resolve timed out");
                Ok(None)
            }
        }
    }
}
