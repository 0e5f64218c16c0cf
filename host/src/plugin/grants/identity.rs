//! The `identity` grant: auth plugins resolve a presented secret to a stored principal
//! (core keeps only hashes of secrets). Only `auth` calls carry its context; in other
//! worlds nothing resolves.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::component::{HasData, Linker};

use crate::core::Core;
use crate::plugin::bindings::{identity, types};
use crate::plugin::state::{AuthCall, CallBase, CallState, DialectCall, SinkCall};

/// What an `identity` call needs: the core's credential lookup.
pub struct IdentityCtx {
    /// The gateway's core.
    pub core: Arc<Core>,
    /// Set once a `resolve` of this call found a stored credential: only such an
    /// outcome may be reused (see `plugin::auth_cache`).
    pub resolved: Arc<AtomicBool>,
}

impl IdentityCtx {
    /// The context of one auth call.
    pub fn new(core: Arc<Core>) -> Self {
        IdentityCtx {
            core,
            resolved: Arc::default(),
        }
    }
}

/// The grant's view of one call.
pub struct IdentityView<'a> {
    ctx: Option<&'a IdentityCtx>,
    base: &'a mut CallBase,
}

/// Store data that hands out the `identity` view.
pub trait HasIdentity {
    /// This call's view (`ctx: None` where the world does not grant identity).
    fn identity(&mut self) -> IdentityView<'_>;
}

impl HasIdentity for AuthCall {
    fn identity(&mut self) -> IdentityView<'_> {
        IdentityView {
            ctx: Some(&self.identity),
            base: &mut self.base,
        }
    }
}

macro_rules! no_identity {
    ($($t:ty),*) => {$(
        impl HasIdentity for $t {
            fn identity(&mut self) -> IdentityView<'_> {
                IdentityView { ctx: None, base: &mut self.base }
            }
        }
    )*};
}
no_identity!(DialectCall, SinkCall);

struct Grant;

impl HasData for Grant {
    type Data<'a> = IdentityView<'a>;
}

/// Link `wagate:plugin/identity`.
pub fn add_to_linker<T: CallState + HasIdentity>(linker: &mut Linker<T>) -> anyhow::Result<()> {
    identity::add_to_linker::<T, Grant>(linker, T::identity)?;
    Ok(())
}

impl identity::Host for IdentityView<'_> {
    async fn resolve(&mut self, secret: String) -> wasmtime::Result<Option<types::Principal>> {
        let Some(ctx) = self.ctx else {
            return Ok(None);
        };
        let core = ctx.core.clone();
        let timeout = self.base.plugin.core_timeout;
        // An inbound secret is accepted only by the plugin granted them, and that plugin
        // accepts nothing else (see `Grants::inbound_secrets`).
        let inbound = self.base.plugin.grants.inbound_secrets;
        let found = self
            .base
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
            Ok(p) => {
                if p.is_some() {
                    ctx.resolved.store(true, Ordering::Relaxed);
                }
                Ok(p.map(Into::into))
            }
            Err(_) => {
                tracing::warn!(plugin = %self.base.plugin.name, "identity.resolve timed out");
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::bindings::identity::Host;

    #[tokio::test]
    async fn resolves_stored_credentials_only_where_granted() {
        let (core, _dir) = super::super::tests::core().await;
        let (token, caller) = super::super::tests::api_key(&core, "acme").await;
        let ctx = IdentityCtx::new(core.clone());
        let mut base = super::super::tests::base("");
        let mut view = IdentityView {
            ctx: Some(&ctx),
            base: &mut base,
        };
        assert!(view.resolve("wa_nope".into()).await.unwrap().is_none());
        assert!(!ctx.resolved.load(Ordering::Relaxed), "nothing found yet");
        let p = view.resolve(token.clone()).await.unwrap().unwrap();
        assert_eq!(p.subject, caller.subject);
        assert!(
            ctx.resolved.load(Ordering::Relaxed),
            "a stored credential found"
        );

        // A world without the grant resolves nothing, even a valid secret.
        let mut view = IdentityView {
            ctx: None,
            base: &mut base,
        };
        assert!(view.resolve(token).await.unwrap().is_none());
    }
}
