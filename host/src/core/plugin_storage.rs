//! Durable per-plugin, per-instance key-value storage (the `storage` grant), in the
//! gateway's own database: what a plugin must not lose across calls and restarts (which
//! Chatwoot conversation a chat became). Key layout: `tables::plugin_storage_key`.
//!
//! These functions do not authorize: the grant decides which instances a call may touch
//! (during `deliver` the destination's, during `handle` those the caller can see). A
//! write checks, in its own transaction, that the instance still exists, so an entry
//! can never outlive its instance's deletion.

use crate::store::kv::{ReadableTable, WriteTx};

use super::Core;
use super::model::{CoreError, CoreResult};
use crate::store::{internal, tables};

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

impl Core {
    /// The value `plugin` stored under `key` for `instance_id`.
    pub fn storage_get(
        &self,
        plugin: &str,
        instance_id: &str,
        key: &str,
    ) -> CoreResult<Option<Vec<u8>>> {
        check_key(key)?;
        let k = tables::plugin_storage_key(instance_id, plugin, key);
        self.store.read(|tx| {
            let t = tx.open_table(tables::PLUGIN_STORAGE).map_err(internal)?;
            Ok(t.get(k.as_slice())
                .map_err(internal)?
                .map(|v| v.value().to_vec()))
        })
    }

    /// Stores `value` under `key` (committed when this returns).
    pub async fn storage_set(
        &self,
        plugin: &str,
        instance_id: &str,
        key: &str,
        value: Vec<u8>,
    ) -> CoreResult<()> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(CoreError::Invalid(format!(
                "storage values are at most {MAX_VALUE_BYTES} bytes"
            )));
        }
        let k = tables::plugin_storage_key(instance_id, plugin, key);
        let instance_id = instance_id.to_string();
        self.store
            .write(move |tx| {
                let exists = tx
                    .open_table(tables::INSTANCES)
                    .map_err(internal)?
                    .get(instance_id.as_str())
                    .map_err(internal)?
                    .is_some();
                if !exists {
                    return Err(CoreError::NotFound(
                        super::model::Resource::Instance,
                        format!("instance `{instance_id}` not found"),
                    ));
                }
                tx.open_table(tables::PLUGIN_STORAGE)
                    .map_err(internal)?
                    .insert(k.as_slice(), value.as_slice())
                    .map_err(internal)?;
                Ok(())
            })
            .await
    }

    /// Removes `key` (nothing happens if it is absent).
    pub async fn storage_delete(
        &self,
        plugin: &str,
        instance_id: &str,
        key: &str,
    ) -> CoreResult<()> {
        check_key(key)?;
        let k = tables::plugin_storage_key(instance_id, plugin, key);
        self.store
            .write(move |tx| {
                tx.open_table(tables::PLUGIN_STORAGE)
                    .map_err(internal)?
                    .remove(k.as_slice())
                    .map_err(internal)?;
                Ok(())
            })
            .await
    }
}

fn check_key(key: &str) -> CoreResult<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(CoreError::Invalid(format!(
            "storage keys are at most {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Removes every plugin's entries for an instance (instance deletion).
pub(crate) fn wipe_instance(tx: &WriteTx, instance_id: &str) -> CoreResult<()> {
    wipe_prefix(tx, &tables::instance_prefix(instance_id))
}

/// Removes `plugin`'s entries for an instance (its integration was deleted).
pub(crate) fn wipe_plugin(tx: &WriteTx, instance_id: &str, plugin: &str) -> CoreResult<()> {
    wipe_prefix(tx, &tables::plugin_storage_prefix(instance_id, plugin))
}

fn wipe_prefix(tx: &WriteTx, prefix: &[u8]) -> CoreResult<()> {
    let end = tables::prefix_end(prefix);
    tx.open_table(tables::PLUGIN_STORAGE)
        .map_err(internal)?
        .retain_in(prefix..end.as_slice(), |_, _| false)
        .map_err(internal)?;
    Ok(())
}
