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

use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

use crate::core::Core;
use crate::core::model::{CoreError, Principal};
use crate::plugin::bindings::{types as wit, wit_storage};
use crate::plugin::state::{AuthCall, CallBase, CallState, DialectCall, SinkCall};

/// Which instances a call's `storage` may touch.
pub enum StorageScope {
    /// Those the request's caller can see (a dialect's `handle`).
    Caller(Principal),
    /// The one a sink's `deliver` concerns.
    Instance(String),
    /// None (no caller: `render-event`, `openapi`, anonymous requests).
    Nothing,
}

/// What a `storage` call needs: the core (which keeps the values) and the scope.
pub struct StorageCtx {
    /// The gateway's core.
    pub core: Arc<Core>,
    /// What this call may touch.
    pub scope: StorageScope,
}

/// The grant's view of one call.
pub struct StorageView<'a> {
    ctx: Option<&'a StorageCtx>,
    base: &'a mut CallBase,
}

/// Store data that hands out the `storage` view.
pub trait HasStorage {
    /// This call's view (`ctx: None` where the world does not grant storage).
    fn storage(&mut self) -> StorageView<'_>;
}

macro_rules! with_storage {
    ($($t:ty),*) => {$(
        impl HasStorage for $t {
            fn storage(&mut self) -> StorageView<'_> {
                StorageView { ctx: Some(&self.storage), base: &mut self.base }
            }
        }
    )*};
}
with_storage!(DialectCall, SinkCall);

impl HasStorage for AuthCall {
    fn storage(&mut self) -> StorageView<'_> {
        StorageView {
            ctx: None,
            base: &mut self.base,
        }
    }
}

struct Grant;

impl HasData for Grant {
    type Data<'a> = StorageView<'a>;
}

/// Link `wagate:plugin/storage`.
pub fn add_to_linker<T: CallState + HasStorage>(linker: &mut Linker<T>) -> anyhow::Result<()> {
    wit_storage::add_to_linker::<T, Grant>(linker, T::storage)?;
    Ok(())
}

impl StorageView<'_> {
    /// The core, if this call may touch `instance_id`'s storage; else why not.
    fn scoped(&self, instance_id: &str) -> Result<Arc<Core>, String> {
        let allowed = self.ctx.filter(|ctx| match &ctx.scope {
            StorageScope::Instance(dest) => dest == instance_id,
            StorageScope::Caller(p) => ctx.core.can_reach(p, instance_id),
            StorageScope::Nothing => false,
        });
        match allowed {
            Some(ctx) => Ok(ctx.core.clone()),
            None => Err(format!(
                "instance `{instance_id}` is out of this call's storage scope"
            )),
        }
    }
}

fn message(e: CoreError) -> String {
    e.to_string()
}

impl wit_storage::Host for StorageView<'_> {
    async fn get(
        &mut self,
        instance_id: String,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, String>> {
        let core = match self.scoped(&instance_id) {
            Ok(core) => core,
            Err(e) => return Ok(Err(e)),
        };
        let plugin = self.base.plugin.name.clone();
        Ok(self
            .base
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
        let core = match self.scoped(&instance_id) {
            Ok(core) => core,
            Err(e) => return Ok(Err(e)),
        };
        let plugin = self.base.plugin.name.clone();
        Ok(self
            .base
            .host_call(async move { core.storage_set(&plugin, &instance_id, &key, value).await })
            .await
            .map_err(message))
    }

    async fn delete(
        &mut self,
        instance_id: String,
        key: String,
    ) -> wasmtime::Result<Result<(), String>> {
        let core = match self.scoped(&instance_id) {
            Ok(core) => core,
            Err(e) => return Ok(Err(e)),
        };
        let plugin = self.base.plugin.name.clone();
        Ok(self
            .base
            .host_call(async move { core.storage_delete(&plugin, &instance_id, &key).await })
            .await
            .map_err(message))
    }

    async fn integration(
        &mut self,
        instance_id: String,
    ) -> wasmtime::Result<Option<wit::Integration>> {
        let Ok(core) = self.scoped(&instance_id) else {
            return Ok(None);
        };
        let plugin = self.base.plugin.name.clone();
        let found = self
            .base
            .host_call(async move { core.integration_of(&instance_id, &plugin) })
            .await;
        Ok(match found {
            Ok(i) => i.map(Into::into),
            Err(e) => {
                tracing::warn!(plugin = %self.base.plugin.name, error = %e, "reading an integration");
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::bindings::wit_storage::Host;

    #[tokio::test]
    async fn each_scope_reaches_only_its_instances() {
        let (core, _dir) = super::super::tests::core().await;
        let (_, caller) = super::super::tests::api_key(&core, "acme").await;
        let shop = core
            .create_instance(&caller, "shop")
            .await
            .unwrap()
            .instance
            .id;
        core.create_org("other").await.unwrap();
        let (_, other) = super::super::tests::api_key(&core, "other").await;
        let theirs = core
            .create_instance(&other, "theirs")
            .await
            .unwrap()
            .instance
            .id;
        let mut base = super::super::tests::base("");

        // A sink delivering for `shop` reaches `shop` only.
        let sink = StorageCtx {
            core: core.clone(),
            scope: StorageScope::Instance(shop.clone()),
        };
        let mut view = StorageView {
            ctx: Some(&sink),
            base: &mut base,
        };
        view.set(shop.clone(), "k".into(), b"v".to_vec())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            view.get(shop.clone(), "k".into()).await.unwrap().unwrap(),
            Some(b"v".to_vec())
        );
        assert!(view.get(theirs.clone(), "k".into()).await.unwrap().is_err());

        // A dialect call reaches what its caller sees.
        let dialect = StorageCtx {
            core: core.clone(),
            scope: StorageScope::Caller(caller),
        };
        let mut view = StorageView {
            ctx: Some(&dialect),
            base: &mut base,
        };
        assert!(view.get(shop.clone(), "k".into()).await.unwrap().is_ok());
        assert!(view.get(theirs, "k".into()).await.unwrap().is_err());

        // No caller, or a world without the grant: nothing.
        let nothing = StorageCtx {
            core,
            scope: StorageScope::Nothing,
        };
        let mut view = StorageView {
            ctx: Some(&nothing),
            base: &mut base,
        };
        assert!(view.get(shop.clone(), "k".into()).await.unwrap().is_err());
        let mut view = StorageView {
            ctx: None,
            base: &mut base,
        };
        assert!(view.get(shop, "k".into()).await.unwrap().is_err());
    }
}
