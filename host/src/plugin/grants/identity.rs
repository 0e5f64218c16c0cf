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
        // An inbound secret is accepted only by the plugin granted them, and that plugin
        // accepts nothing else (see `Grants::inbound_secrets`).
        let inbound = self.plugin.grants.inbound_secrets;
        let found = self
            .host_call(async move {
                let resolve = async {
                    if inbound {
                        core.resolve_inbound_credential(&secret).await
                    } else {
                        core.resolve_credential(&secret).await
                    }
                };
                tokio::time::timeout(timeout, resolve).await
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
