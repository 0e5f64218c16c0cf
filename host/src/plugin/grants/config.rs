//! The `config` grant: a plugin reads its effective configuration (manifest `[config]`
//! merged with `[plugins.settings.<name>].config`).

use wasmtime::component::Linker;

use crate::plugin::bindings::wit_config;
use crate::plugin::state::{CallBase, CallState};

/// Link `wagate:plugin/config`.
pub fn add_to_linker<T: CallState>(linker: &mut Linker<T>) -> anyhow::Result<()> {
    wit_config::add_to_linker::<T, super::Base>(linker, T::base)?;
    Ok(())
}

impl wit_config::Host for CallBase {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.plugin.config.get(&key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use crate::plugin::bindings::wit_config::Host;

    #[tokio::test]
    async fn reads_the_effective_config() {
        let mut base = super::super::tests::base("[config]\ngreeting = \"hi\"\n");
        assert_eq!(
            base.get("greeting".into()).await.unwrap().as_deref(),
            Some("hi")
        );
        assert_eq!(base.get("nope".into()).await.unwrap(), None);
    }
}
