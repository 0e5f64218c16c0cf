//! Older versions of the plugin contract that this host still serves.
//!
//! The contract (`wit/`, `wagate:plugin@0.2.0`) is what the SDK binds and new plugins
//! target; `wit/0.1.0` is the frozen copy of `wagate:plugin@0.1.0`. A component says
//! which one it targets through the versions of its `wagate:plugin/...` imports. The
//! linker holds the interfaces of both (their instance names differ by version), and
//! the exports of a loaded plugin are wrapped here ([`AuthPre`], [`DialectPre`],
//! [`SinkPre`]) so the runtime calls every plugin with the current types whatever it
//! was built against.

pub mod v0_1;

use anyhow::{bail, ensure};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{AsContextMut, Engine};

use super::bindings::{auth, dialect, sink, types as wit};
use super::registry::CONTRACT_VERSION;
use v0_1::Conv;
use v0_1::bindings::auth::wagate::plugin::types as old;

/// A contract version this host serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contract {
    /// `wagate:plugin@0.1.0`, frozen in `wit/0.1.0`.
    V0_1,
    /// The current contract ([`CONTRACT_VERSION`]).
    Current,
}

impl Contract {
    /// The version as the WIT package names it.
    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1.0",
            Contract::Current => CONTRACT_VERSION,
        }
    }

    /// The contract a `wagate:plugin` import version belongs to (semver: 0.x.y is
    /// compatible with 0.x.z), if this host serves it.
    pub fn of_version(version: &str) -> Option<Contract> {
        [Contract::Current, Contract::V0_1]
            .into_iter()
            .find(|c| semver_compatible(version, c.version()))
    }

    /// The contract `component` targets, from the versions of its `wagate:plugin`
    /// imports (every plugin imports at least the `types` of the world it exports). A
    /// component that imports none targets the current one; mixing versions, or a
    /// version this host does not serve, is refused.
    pub fn of_component(engine: &Engine, component: &Component) -> anyhow::Result<Contract> {
        let mut found: Option<(Contract, String)> = None;
        for (name, _) in component.component_type().imports(engine) {
            let Some(version) = name
                .strip_prefix("wagate:plugin/")
                .and_then(|r| r.split_once('@'))
                .map(|(_, v)| v)
            else {
                continue;
            };
            let Some(contract) = Contract::of_version(version) else {
                bail!(
                    "the component imports `{name}`: built against contract {version}, this host serves {}",
                    supported()
                );
            };
            match &found {
                Some((c, first)) => ensure!(
                    *c == contract,
                    "the component mixes contract versions (`{first}` and `{name}`)"
                ),
                None => found = Some((contract, name.to_string())),
            }
        }
        Ok(found.map_or(Contract::Current, |(c, _)| c))
    }
}

/// The versions this host serves, for messages (`0.2.0 and 0.1.0`).
pub fn supported() -> String {
    format!("{} and {}", CONTRACT_VERSION, Contract::V0_1.version())
}

/// Semver compatibility of two `wagate:plugin` versions (0.x: same minor).
pub fn semver_compatible(version: &str, of: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .take(3)
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    match (parts(version).as_slice(), parts(of).as_slice()) {
        ([0, m1, ..], [0, m2, ..]) => m1 == m2,
        ([x, ..], [y, ..]) => x == y,
        _ => false,
    }
}

/// Link the interfaces of every older contract version into `linker` (the current
/// ones are linked by `grants::add_to_linker`).
pub fn add_to_linker<T>(linker: &mut Linker<T>) -> anyhow::Result<()>
where
    T: super::state::CallState
        + super::grants::core::HasCore
        + super::grants::identity::HasIdentity
        + super::grants::http_out::HasHttpOut
        + super::grants::storage::HasStorage,
{
    v0_1::add_to_linker(linker)
}

/// A pre-instantiated `auth` world of either contract version.
pub enum AuthPre<T: 'static> {
    /// Built against the current contract.
    Current(auth::AuthPre<T>),
    /// Built against 0.1.0.
    V0_1(v0_1::bindings::auth::AuthPre<T>),
}

/// A pre-instantiated `dialect` world of either contract version.
pub enum DialectPre<T: 'static> {
    /// Built against the current contract.
    Current(dialect::DialectPre<T>),
    /// Built against 0.1.0.
    V0_1(v0_1::bindings::dialect::DialectPre<T>),
}

/// A pre-instantiated `sink` world of either contract version.
pub enum SinkPre<T: 'static> {
    /// Built against the current contract.
    Current(sink::SinkPre<T>),
    /// Built against 0.1.0.
    V0_1(v0_1::bindings::sink::SinkPre<T>),
}

impl<T: Send + 'static> AuthPre<T> {
    /// Check that `pre` exports the `auth` world of `contract`.
    pub fn new(contract: Contract, pre: InstancePre<T>) -> wasmtime::Result<Self> {
        Ok(match contract {
            Contract::Current => Self::Current(auth::AuthPre::new(pre)?),
            Contract::V0_1 => Self::V0_1(v0_1::bindings::auth::AuthPre::new(pre)?),
        })
    }

    /// Instantiate in `store` and call `authenticate`.
    pub async fn authenticate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        req: &wit::HttpRequest,
    ) -> wasmtime::Result<auth::AuthOutcome> {
        match self {
            Self::Current(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                inst.call_authenticate(&mut store, req).await
            }
            Self::V0_1(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                let req: old::HttpRequest = req.clone().conv();
                Ok(inst.call_authenticate(&mut store, &req).await?.conv())
            }
        }
    }
}

impl<T: Send + 'static> DialectPre<T> {
    /// Check that `pre` exports the `dialect` world of `contract`.
    pub fn new(contract: Contract, pre: InstancePre<T>) -> wasmtime::Result<Self> {
        Ok(match contract {
            Contract::Current => Self::Current(dialect::DialectPre::new(pre)?),
            Contract::V0_1 => Self::V0_1(v0_1::bindings::dialect::DialectPre::new(pre)?),
        })
    }

    /// Instantiate in `store` and call `handle`.
    pub async fn handle(
        &self,
        mut store: impl AsContextMut<Data = T>,
        req: &wit::HttpRequest,
        caller: Option<&wit::Principal>,
    ) -> wasmtime::Result<wit::HttpResponse> {
        match self {
            Self::Current(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                inst.call_handle(&mut store, req, caller).await
            }
            Self::V0_1(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                let req: old::HttpRequest = req.clone().conv();
                let caller: Option<old::Principal> = caller.cloned().conv();
                Ok(inst
                    .call_handle(&mut store, &req, caller.as_ref())
                    .await?
                    .conv())
            }
        }
    }

    /// Instantiate in `store` and call `render-event` (a 0.1 dialect renders every
    /// target and destination alike: its contract has neither).
    pub async fn render_event(
        &self,
        mut store: impl AsContextMut<Data = T>,
        ev: &wit::Event,
        target: wit::RenderTarget,
        hook: Option<&wit::Webhook>,
    ) -> wasmtime::Result<Option<Vec<u8>>> {
        match self {
            Self::Current(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                inst.call_render_event(&mut store, ev, target, hook).await
            }
            // A 0.1 dialect knows no receipts: it has no such event (rendering it as
            // the upsert `conv` maps it to would repeat the message to its webhooks).
            Self::V0_1(_) if !known_to_v0_1(&ev.payload) => Ok(None),
            Self::V0_1(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                let ev: old::Event = ev.clone().conv();
                inst.call_render_event(&mut store, &ev).await
            }
        }
    }

    /// Instantiate in `store` and call `openapi`.
    pub async fn openapi(
        &self,
        mut store: impl AsContextMut<Data = T>,
    ) -> wasmtime::Result<String> {
        match self {
            Self::Current(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                inst.call_openapi(&mut store).await
            }
            Self::V0_1(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                inst.call_openapi(&mut store).await
            }
        }
    }
}

impl<T: Send + 'static> SinkPre<T> {
    /// Check that `pre` exports the `sink` world of `contract`.
    pub fn new(contract: Contract, pre: InstancePre<T>) -> wasmtime::Result<Self> {
        Ok(match contract {
            Contract::Current => Self::Current(sink::SinkPre::new(pre)?),
            Contract::V0_1 => Self::V0_1(v0_1::bindings::sink::SinkPre::new(pre)?),
        })
    }

    /// Instantiate in `store` and call `deliver`.
    pub async fn deliver(
        &self,
        mut store: impl AsContextMut<Data = T>,
        destination: Option<&sink::Destination>,
        batch: &[sink::Outgoing],
    ) -> wasmtime::Result<sink::Delivery> {
        match self {
            Self::Current(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                inst.call_deliver(&mut store, destination, batch).await
            }
            Self::V0_1(pre) => {
                let inst = pre.instantiate_async(&mut store).await?;
                let destination: Option<v0_1::bindings::sink::Destination> =
                    destination.cloned().conv();
                // Events 0.1 has no type for never reach it (delivered, as far as
                // this sink is concerned).
                let batch: Vec<sink::Outgoing> = batch
                    .iter()
                    .filter(|o| !has_no_v0_1_type(&o.event.payload))
                    .cloned()
                    .collect();
                if batch.is_empty() {
                    return Ok(sink::Delivery::Ok);
                }
                let batch: Vec<v0_1::bindings::sink::Outgoing> = batch.conv();
                Ok(inst
                    .call_deliver(&mut store, destination.as_ref(), &batch)
                    .await?
                    .conv())
            }
        }
    }
}

/// Whether a 0.1 dialect renders this event: it knows no receipts (rendering one as
/// the upsert `conv` maps it to would repeat the message to its webhooks), no calls,
/// presence or history events.
fn known_to_v0_1(payload: &wit::EventPayload) -> bool {
    !is_status(payload) && !has_no_v0_1_type(payload)
}

fn is_status(payload: &wit::EventPayload) -> bool {
    matches!(payload, wit::EventPayload::MessageStatus(_))
}

/// Events 0.1 has no type for at all (a 0.1 sink never sees them).
fn has_no_v0_1_type(payload: &wit::EventPayload) -> bool {
    matches!(
        payload,
        wit::EventPayload::Call(_)
            | wit::EventPayload::CallEnded(_)
            | wit::EventPayload::PollVote(_)
            | wit::EventPayload::PresenceUpdate(_)
            | wit::EventPayload::HistorySync(_)
            | wit::EventPayload::HistoryChats(_)
            | wit::EventPayload::GroupUpsert(_)
            | wit::EventPayload::GroupUpdate(_)
            | wit::EventPayload::GroupParticipants(_)
            | wit::EventPayload::ContactUpsert(_)
            | wit::EventPayload::ContactUpdate(_)
            | wit::EventPayload::LabelEdit(_)
            | wit::EventPayload::LabelAssociation(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(Contract::of_version("0.2.0"), Some(Contract::Current));
        assert_eq!(Contract::of_version("0.2.3"), Some(Contract::Current));
        assert_eq!(Contract::of_version("0.1.0"), Some(Contract::V0_1));
        assert_eq!(Contract::of_version("0.3.0"), None);
        assert_eq!(Contract::of_version("1.0.0"), None);
    }
}
