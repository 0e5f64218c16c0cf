//! `SignalStore`: identities, sessions, pre-keys, signed pre-keys, sender keys.

use std::sync::Arc;

use crate::store::kv::ReadableTable;
use async_trait::async_trait;
use bytes::Bytes;
use whatsapp_rust::wacore::store::error::{Result, StoreError};
use whatsapp_rust::wacore::store::traits::SignalStore;

use super::{RedbBackend, corrupt, db};
use crate::store::tables::{
    self, WA_IDENTITIES, WA_PREKEYS, WA_SENDER_KEYS, WA_SESSIONS, WA_SIGNED_PREKEYS,
};

/// Pre-key rows are `uploaded(1) record`.
fn prekey_value(record: &[u8], uploaded: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + record.len());
    v.push(u8::from(uploaded));
    v.extend_from_slice(record);
    v
}

fn prekey_record(value: &[u8]) -> Result<Bytes> {
    match value.split_first() {
        Some((_, record)) => Ok(Bytes::copy_from_slice(record)),
        None => Err(corrupt("pre-key")),
    }
}

fn id_from_suffix(suffix: &[u8], what: &str) -> Result<u32> {
    let bytes: [u8; 4] = suffix.try_into().map_err(|_| corrupt(what))?;
    Ok(u32::from_be_bytes(bytes))
}

impl RedbBackend {
    fn id_key(&self, id: u32) -> Result<Vec<u8>> {
        self.key(&[&id.to_be_bytes()])
    }

    fn str_key(&self, s: &str) -> Result<Vec<u8>> {
        self.key(&[s.as_bytes()])
    }
}

#[async_trait]
impl SignalStore for RedbBackend {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        let k = self.str_key(address)?;
        self.put_rows(
            "storing an identity key",
            WA_IDENTITIES,
            vec![(k, key.to_vec())],
        )
        .await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let rows = identities
            .iter()
            .map(|(address, key)| Ok((self.str_key(address)?, key.to_vec())))
            .collect::<Result<Vec<_>>>()?;
        self.put_rows("storing identity keys", WA_IDENTITIES, rows)
            .await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        let k = self.str_key(address)?;
        match self
            .get("loading an identity key", WA_IDENTITIES, k)
            .await?
        {
            None => Ok(None),
            Some(v) => v.as_slice().try_into().map(Some).map_err(|_| {
                StoreError::Validation(format!(
                    "stored identity key of {address} is {} bytes, not 32",
                    v.len()
                ))
            }),
        }
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        let k = self.str_key(address)?;
        self.delete_keys("deleting an identity key", WA_IDENTITIES, vec![k])
            .await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        let k = self.str_key(address)?;
        Ok(self
            .get("loading a session", WA_SESSIONS, k)
            .await?
            .map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        let k = self.str_key(address)?;
        self.put_rows(
            "storing a session",
            WA_SESSIONS,
            vec![(k, session.to_vec())],
        )
        .await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = sessions
            .iter()
            .map(|(address, record)| Ok((self.str_key(address)?, record.to_vec())))
            .collect::<Result<Vec<_>>>()?;
        self.put_rows("storing sessions", WA_SESSIONS, rows).await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        let k = self.str_key(address)?;
        self.delete_keys("deleting a session", WA_SESSIONS, vec![k])
            .await
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        let k = self.str_key(address)?;
        self.read("checking for a session", move |tx| {
            let t = tx.open_table(WA_SESSIONS).map_err(db)?;
            Ok(t.get(k.as_slice()).map_err(db)?.is_some())
        })
        .await
    }

    /// Addresses are `user@server` (device 0) or `user:device@server`: a range scan
    /// from `user` finds both, and the byte after `user` tells a longer user apart.
    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        let prefix = self.str_key(user)?;
        self.read("looking for a user's Signal state", move |tx| {
            let end = tables::prefix_end(&prefix);
            for table in [WA_SESSIONS, WA_IDENTITIES] {
                let t = tx.open_table(table).map_err(db)?;
                for row in t
                    .range::<&[u8]>(prefix.as_slice()..end.as_slice())
                    .map_err(db)?
                {
                    let (k, _) = row.map_err(db)?;
                    if matches!(k.value().get(prefix.len()), Some(b'@') | Some(b':')) {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        })
        .await
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        let k = self.id_key(id)?;
        self.put_rows(
            "storing a pre-key",
            WA_PREKEYS,
            vec![(k, prekey_value(record, uploaded))],
        )
        .await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        let rows = keys
            .iter()
            .map(|(id, record)| Ok((self.id_key(*id)?, prekey_value(record, uploaded))))
            .collect::<Result<Vec<_>>>()?;
        self.put_rows("storing pre-keys", WA_PREKEYS, rows).await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        let k = self.id_key(id)?;
        self.get("loading a pre-key", WA_PREKEYS, k)
            .await?
            .map(|v| prekey_record(&v))
            .transpose()
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let keys = ids
            .iter()
            .map(|id| Ok((*id, self.id_key(*id)?)))
            .collect::<Result<Vec<_>>>()?;
        self.read("loading pre-keys", move |tx| {
            let t = tx.open_table(WA_PREKEYS).map_err(db)?;
            let mut out = Vec::with_capacity(keys.len());
            for (id, k) in &keys {
                if let Some(v) = t.get(k.as_slice()).map_err(db)? {
                    out.push((*id, prekey_record(v.value())?));
                }
            }
            Ok(out)
        })
        .await
    }

    /// An update, never an insert: a key consumed since the upload snapshot stays gone.
    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let keys = ids
            .iter()
            .map(|id| self.id_key(*id))
            .collect::<Result<Vec<_>>>()?;
        self.write("marking pre-keys uploaded", move |tx| {
            let mut t = tx.open_table(WA_PREKEYS).map_err(db)?;
            for k in &keys {
                let current = t.get(k.as_slice()).map_err(db)?.map(|v| v.value().to_vec());
                if let Some(mut v) = current
                    && v.first() == Some(&0)
                {
                    v[0] = 1;
                    t.insert(k.as_slice(), v.as_slice()).map_err(db)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        let k = self.id_key(id)?;
        self.delete_keys("removing a pre-key", WA_PREKEYS, vec![k])
            .await
    }

    /// Ids are big endian in the key, so the instance's last row holds the largest.
    async fn get_max_prekey_id(&self) -> Result<u32> {
        let prefix = self.key(&[])?;
        self.read("finding the largest pre-key id", move |tx| {
            let t = tx.open_table(WA_PREKEYS).map_err(db)?;
            let end = tables::prefix_end(&prefix);
            let last = t
                .range::<&[u8]>(prefix.as_slice()..end.as_slice())
                .map_err(db)?
                .next_back();
            match last {
                None => Ok(0),
                Some(row) => {
                    let (k, _) = row.map_err(db)?;
                    id_from_suffix(&k.value()[prefix.len()..], "pre-key id")
                }
            }
        })
        .await
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        let k = self.id_key(id)?;
        self.put_rows(
            "storing a signed pre-key",
            WA_SIGNED_PREKEYS,
            vec![(k, record.to_vec())],
        )
        .await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        let k = self.id_key(id)?;
        self.get("loading a signed pre-key", WA_SIGNED_PREKEYS, k)
            .await
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let prefix = self.key(&[])?;
        self.scan("loading signed pre-keys", WA_SIGNED_PREKEYS, prefix)
            .await?
            .into_iter()
            .map(|(suffix, record)| Ok((id_from_suffix(&suffix, "signed pre-key id")?, record)))
            .collect()
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        let k = self.id_key(id)?;
        self.delete_keys("removing a signed pre-key", WA_SIGNED_PREKEYS, vec![k])
            .await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        let k = self.str_key(address)?;
        self.put_rows(
            "storing a sender key",
            WA_SENDER_KEYS,
            vec![(k, record.to_vec())],
        )
        .await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows = sender_keys
            .iter()
            .map(|(address, record)| Ok((self.str_key(address)?, record.to_vec())))
            .collect::<Result<Vec<_>>>()?;
        self.put_rows("storing sender keys", WA_SENDER_KEYS, rows)
            .await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        let k = self.str_key(address)?;
        self.get("loading a sender key", WA_SENDER_KEYS, k).await
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        let k = self.str_key(address)?;
        self.delete_keys("deleting a sender key", WA_SENDER_KEYS, vec![k])
            .await
    }
}
