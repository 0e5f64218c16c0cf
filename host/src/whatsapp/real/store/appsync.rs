//! `AppSyncStore`: app-state sync keys, collection versions and mutation MACs.

use std::collections::HashMap;

use async_trait::async_trait;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::{AppStateSyncKey, AppSyncStore};

use super::{RedbBackend, db, from_json, get_in, to_json};
use crate::store::kv::ReadableTable;
use crate::store::tables::{WA_APP_VERSIONS, WA_META, WA_MUTATION_MACS, WA_SYNC_KEYS};

/// `WA_META` name of the key id `set_sync_key` stored last.
const LATEST_SYNC_KEY_ID: &[u8] = b"latest_sync_key_id";

#[async_trait]
impl AppSyncStore for RedbBackend {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        let k = self.key(&[key_id])?;
        self.get("loading an app-state sync key", WA_SYNC_KEYS, k)
            .await?
            .map(|v| from_json(&v))
            .transpose()
    }

    /// Stores the key and remembers it as the latest, in one commit.
    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        let k = self.key(&[key_id])?;
        let latest = self.key(&[LATEST_SYNC_KEY_ID])?;
        let value = to_json(&key)?;
        let key_id = key_id.to_vec();
        self.write("storing an app-state sync key", move |tx| {
            tx.open_table(WA_SYNC_KEYS)
                .map_err(db)?
                .insert(k.as_slice(), value.as_slice())
                .map_err(db)?;
            tx.open_table(WA_META)
                .map_err(db)?
                .insert(latest.as_slice(), key_id.as_slice())
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    /// A collection never synced is at version 0 with an empty hash.
    async fn get_version(&self, name: &str) -> Result<HashState> {
        let k = self.key(&[name.as_bytes()])?;
        match self
            .get("loading an app-state version", WA_APP_VERSIONS, k)
            .await?
        {
            Some(v) => from_json(&v),
            None => Ok(HashState::default()),
        }
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        let k = self.key(&[name.as_bytes()])?;
        let v = to_json(&state)?;
        self.put_rows(
            "storing an app-state version",
            WA_APP_VERSIONS,
            vec![(k, v)],
        )
        .await
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        _version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        let rows = mutations
            .iter()
            .map(|m| {
                Ok((
                    self.key(&[name.as_bytes(), &m.index_mac])?,
                    m.value_mac.clone(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        self.put_rows("storing mutation MACs", WA_MUTATION_MACS, rows)
            .await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        let k = self.key(&[name.as_bytes(), index_mac])?;
        self.get("loading a mutation MAC", WA_MUTATION_MACS, k)
            .await
    }

    /// One read transaction for the whole set.
    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let keys = index_macs
            .iter()
            .map(|m| Ok((*m, self.key(&[name.as_bytes(), m])?)))
            .collect::<Result<Vec<_>>>()?;
        self.read("loading mutation MACs", move |tx| {
            let mut out = HashMap::with_capacity(keys.len());
            for (mac, k) in &keys {
                if let Some(v) = get_in(tx, WA_MUTATION_MACS, k)? {
                    out.insert(*mac, v);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let keys = index_macs
            .iter()
            .map(|m| self.key(&[name.as_bytes(), m]))
            .collect::<Result<Vec<_>>>()?;
        self.delete_keys("deleting mutation MACs", WA_MUTATION_MACS, keys)
            .await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        // `instance \0 name \0`: the empty last part leaves the separator in place, so
        // a collection whose name extends this one is not caught.
        let prefix = self.key(&[name.as_bytes(), b""])?;
        self.delete_where(
            "clearing a collection's mutation MACs",
            WA_MUTATION_MACS,
            prefix,
            |_, _| true,
        )
        .await?;
        Ok(())
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        let k = self.key(&[LATEST_SYNC_KEY_ID])?;
        self.read("loading the latest sync key id", move |tx| {
            let t = tx.open_table(WA_META).map_err(db)?;
            Ok(t.get(k.as_slice()).map_err(db)?.map(|v| v.value().to_vec()))
        })
        .await
    }
}
