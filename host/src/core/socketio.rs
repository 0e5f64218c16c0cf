//! Per-instance Socket.IO settings: which of an instance's events the host's Socket.IO
//! server (`server::socketio`) emits on that instance's namespace. Evolution API's
//! `/websocket/set` writes them through `core.set-socketio`.
//!
//! They live here, not in the Evolution plugin's `storage`, because the host reads
//! them on every live event to decide what to emit: a core record in core's own terms
//! (event kinds, as webhooks filter) keeps the host from parsing a plugin's private
//! bytes, and the plugin maps its own event names onto kinds as it does for webhooks.
//! One record per instance (Socket.IO is served for one dialect); removed with it.

use serde::{Deserialize, Serialize};

use super::Core;
use super::authz::require;
use super::model::{Capability, CoreError, CoreResult, EventPayload, InstanceRef, Principal};
use crate::store::{encode, get_json, internal, tables};
use crate::util::now_ms;

/// What `set-socketio` stores (WIT `socketio-settings`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketIoSettings {
    /// Whether the instance's namespace gets any event.
    pub enabled: bool,
    /// Core event kinds (see [`EventPayload::KINDS`]); empty: every kind.
    pub events: Vec<String>,
    /// First stored, epoch ms.
    pub created_at: u64,
    /// Last changed, epoch ms.
    pub updated_at: u64,
}

impl SocketIoSettings {
    /// Whether an event of `kind` goes to the instance's namespace.
    pub fn emits(&self, kind: &str) -> bool {
        self.enabled && (self.events.is_empty() || self.events.iter().any(|k| k == kind))
    }
}

impl Core {
    /// The Socket.IO settings of `which`, if ever set. Needs `read`.
    pub async fn get_socketio(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Option<SocketIoSettings>> {
        let record = self.authorize(p, which, Capability::Read)?;
        self.socketio_of(&record.instance.id)
    }

    /// Stores `settings` for `which` (timestamps set here) and answers them as stored.
    /// Needs `manage`.
    pub async fn set_socketio(
        &self,
        p: &Principal,
        which: &InstanceRef,
        settings: SocketIoSettings,
    ) -> CoreResult<SocketIoSettings> {
        require(p, Capability::Manage)?;
        let record = self.authorize(p, which, Capability::Manage)?;
        for kind in &settings.events {
            if !EventPayload::KINDS.contains(&kind.as_str()) {
                return Err(CoreError::Invalid(format!(
                    "unknown event `{kind}`; known: {}",
                    EventPayload::KINDS.join(", ")
                )));
            }
        }
        let id = record.instance.id;
        self.store
            .write(move |tx| {
                let mut table = tx.open_table(tables::SOCKETIO).map_err(internal)?;
                let now = now_ms();
                let created_at = get_json::<_, SocketIoSettings>(&table, id.as_str())?
                    .map_or(now, |old| old.created_at);
                let mut events = settings.events.clone();
                events.dedup();
                let stored = SocketIoSettings {
                    enabled: settings.enabled,
                    events,
                    created_at,
                    updated_at: now,
                };
                table
                    .insert(id.as_str(), encode(&stored).as_slice())
                    .map_err(internal)?;
                Ok(stored)
            })
            .await
    }

    /// The settings of an instance by id, for the host's Socket.IO server (no
    /// principal: the server already checked who listens).
    pub fn socketio_of(&self, instance_id: &str) -> CoreResult<Option<SocketIoSettings>> {
        let id = instance_id.to_string();
        Ok(self.store.read(move |tx| {
            let table = tx.open_table(tables::SOCKETIO).map_err(internal)?;
            get_json(&table, id.as_str())
        })?)
    }
}

/// Removes an instance's settings inside `tx` (instance deletion).
pub(crate) fn wipe_instance(tx: &crate::store::kv::WriteTx, instance_id: &str) -> CoreResult<()> {
    tx.open_table(tables::SOCKETIO)
        .map_err(internal)?
        .remove(instance_id)
        .map_err(internal)?;
    Ok(())
}
