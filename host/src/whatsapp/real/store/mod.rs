//! whatsapp-rust's storage traits on the gateway's redb file.
//!
//! [`RedbBackend`] implements every trait of `wacore::store::traits::Backend`
//! (`SignalStore`, `AppSyncStore`, `ProtocolStore`, `MsgSecretStore`, `DeviceStore`) for
//! one instance; the tables and key layouts are in `crate::store::tables` (`wa_*`).
//!
//! # Interface (for the adapter)
//!
//! - `RedbBackend::new(store, instance_id)`: the backend of one instance; hand it to
//!   whatsapp-rust's builder with `.with_backend(backend)` (or
//!   `.with_backend_arc(Arc::new(backend))`). Cheap; holds a clone of the `Store`.
//! - [`wipe`]`(&store, instance_id)`: deletes every key of the instance in one durable
//!   transaction (logout, instance deletion). [`wipe_in`] does the same inside a
//!   transaction the caller already holds (e.g. core's own instance-delete job), so the
//!   keys go in the same commit as the instance record.
//! - [`paired_jid`]`(&store, instance_id)`: the phone-number JID of the device stored
//!   for the instance if it completed pairing (`None` for no device, or a device that
//!   only has fresh keys): "was this instance logged in before the restart?".
//!
//! # How it uses the database
//!
//! Every key starts with `instance_id \0`, so one redb file holds many instances'
//! sessions and a wipe is one range delete per table.
//!
//! Writes go through the store's single group-commit writer (`Store::write`), not
//! through write transactions of their own. redb allows one write transaction at a
//! time; a second writer here would only queue behind the writer thread's and pay its
//! own fsync. Through the writer, key updates of many sessions (and the gateway's own
//! writes) share commits, and every call returns only after its commit is durable
//! (redb's default `Durability::Immediate`: these rows are key material, and a ratchet
//! that is sent on but not stored cannot be recovered). This cannot deadlock: the
//! writer is a plain thread that runs each job to completion inside its transaction and
//! never awaits or takes a lock a job could hold; our jobs only touch redb tables; and
//! our callers await the reply without holding a transaction. A batch method (many
//! sessions, pre-keys, MACs...) is one job, so it commits all-or-nothing.
//!
//! Reads open a redb read transaction (MVCC: never blocked by the writer) inside
//! `tokio::task::spawn_blocking`, so no redb call runs on an async worker thread (the
//! writer thread takes care of that for writes).

mod appsync;
mod device;
mod msg_secret;
mod protocol;
mod signal;

use std::sync::Arc;

use crate::store::kv::{KvError, ReadTx, ReadableTable, TableDefinition, WriteTx};
use serde::Serialize;
use serde::de::DeserializeOwned;
use whatsapp_rust::wacore::store::error::{Result, StoreError};

use crate::core::model::CoreError;
use crate::store::{Store, tables};
use crate::util::error_chain;

/// One of the `wa_*` tables.
type Table = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// whatsapp-rust's storage for one instance, kept in the gateway's redb file.
#[derive(Clone)]
pub struct RedbBackend {
    store: Store,
    instance_id: Arc<str>,
}

impl RedbBackend {
    /// The backend of `instance_id` (a ULID; an id containing a NUL byte is refused by
    /// every operation, since it could reach into another instance's keys).
    pub fn new(store: Store, instance_id: &str) -> Self {
        RedbBackend {
            store,
            instance_id: Arc::from(instance_id),
        }
    }

    /// The instance whose keys this backend reads and writes.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// `instance \0 parts...` (see `tables::wa_key`).
    fn key(&self, parts: &[&[u8]]) -> Result<Vec<u8>> {
        instance_key(&self.instance_id, parts)
    }

    /// Runs `f` in a read transaction on a blocking thread.
    async fn read<T, F>(&self, what: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTx) -> Result<T> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            store
                .read(|tx| Ok::<_, crate::store::StoreError>(f(tx)))
                .map_err(|e| StoreError::Database(Box::new(e)))?
        })
        .await
        .map_err(|e| StoreError::Database(Box::new(e)))?
        .map_err(|e| with_context(what, e))
    }

    /// Runs `f` as one job of the store's writer: it commits durably together with
    /// whatever else the writer batches, or not at all. `f` may run more than once (the
    /// writer replays a batch when another job in it fails), so it must only read and
    /// write tables: build keys and values before.
    ///
    /// In cluster mode the job first checks this node still holds the instance's
    /// lease with the token it took (fencing): a node that lost the lease while paused
    /// must not write over the new owner's ratchets.
    async fn write<T, F>(&self, what: &'static str, mut f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&WriteTx) -> Result<T> + Send + 'static,
    {
        let Some(cluster) = self.store.cluster() else {
            return write_job(&self.store, what, f).await;
        };
        let fence = cluster.held.fence(&self.instance_id);
        let instance_id = self.instance_id.clone();
        write_job(&self.store, what, move |tx| {
            tx.check_fence(&instance_id, fence.as_ref()).map_err(db)?;
            f(tx)
        })
        .await
    }

    /// The value at `key`, if any.
    async fn get(&self, what: &'static str, table: Table, key: Vec<u8>) -> Result<Option<Vec<u8>>> {
        self.read(what, move |tx| get_in(tx, table, &key)).await
    }

    /// Inserts or replaces `rows` in one commit.
    async fn put_rows(
        &self,
        what: &'static str,
        table: Table,
        rows: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.write(what, move |tx| {
            let mut t = tx.open_table(table).map_err(db)?;
            for (k, v) in &rows {
                t.insert(k.as_slice(), v.as_slice()).map_err(db)?;
            }
            Ok(())
        })
        .await
    }

    /// Removes `keys` (absent ones are fine) in one commit.
    async fn delete_keys(
        &self,
        what: &'static str,
        table: Table,
        keys: Vec<Vec<u8>>,
    ) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.write(what, move |tx| {
            let mut t = tx.open_table(table).map_err(db)?;
            for k in &keys {
                t.remove(k.as_slice()).map_err(db)?;
            }
            Ok(())
        })
        .await
    }

    /// Every row whose key starts with `prefix`, as (key without the prefix, value).
    async fn scan(
        &self,
        what: &'static str,
        table: Table,
        prefix: Vec<u8>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.read(what, move |tx| {
            let t = tx.open_table(table).map_err(db)?;
            let end = tables::prefix_end(&prefix);
            let mut out = Vec::new();
            for row in t
                .range::<&[u8]>(prefix.as_slice()..end.as_slice())
                .map_err(db)?
            {
                let (k, v) = row.map_err(db)?;
                out.push((k.value()[prefix.len()..].to_vec(), v.value().to_vec()));
            }
            Ok(out)
        })
        .await
    }

    /// Removes every row under `prefix` for which `doomed(key without prefix, value)`
    /// holds, in one commit; returns how many went.
    async fn delete_where<F>(
        &self,
        what: &'static str,
        table: Table,
        prefix: Vec<u8>,
        doomed: F,
    ) -> Result<u32>
    where
        F: Fn(&[u8], &[u8]) -> bool + Send + 'static,
    {
        self.write(what, move |tx| {
            let mut t = tx.open_table(table).map_err(db)?;
            let end = tables::prefix_end(&prefix);
            let mut removed = 0u32;
            t.retain_in::<&[u8], _>(prefix.as_slice()..end.as_slice(), |k, v| {
                let go = doomed(&k[prefix.len()..], v);
                removed += u32::from(go);
                !go
            })
            .map_err(db)?;
            Ok(removed)
        })
        .await
    }
}

/// Deletes every WhatsApp key of `instance_id` (device, sessions, pre-keys, app state,
/// ...) in one durable commit. Other instances' keys are untouched.
pub async fn wipe(store: &Store, instance_id: &str) -> anyhow::Result<()> {
    let prefix = instance_key(instance_id, &[])?;
    write_job(store, "wiping the instance's WhatsApp keys", move |tx| {
        wipe_prefix(tx, &prefix)
    })
    .await?;
    Ok(())
}

/// [`wipe`] inside a write transaction the caller holds (its commit decides).
pub fn wipe_in(tx: &WriteTx, instance_id: &str) -> anyhow::Result<()> {
    let prefix = instance_key(instance_id, &[])?;
    wipe_prefix(tx, &prefix)?;
    Ok(())
}

fn wipe_prefix(tx: &WriteTx, prefix: &[u8]) -> Result<()> {
    let end = tables::prefix_end(prefix);
    for table in tables::WA_TABLES {
        tx.open_table(table)
            .map_err(db)?
            .retain_in::<&[u8], _>(prefix..end.as_slice(), |_, _| false)
            .map_err(db)?;
    }
    Ok(())
}

/// The phone-number JID of the instance's device if it completed pairing; `None` when
/// no device is stored or the stored one was never paired.
pub async fn paired_jid(store: &Store, instance_id: &str) -> anyhow::Result<Option<String>> {
    use whatsapp_rust::wacore::store::traits::DeviceStore;
    let device = RedbBackend::new(store.clone(), instance_id).load().await?;
    Ok(device.and_then(|d| d.pn).map(|jid| jid.to_string()))
}

/// Runs a job on the store's writer, carrying the job's own error message back.
async fn write_job<T, F>(store: &Store, what: &'static str, mut f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnMut(&WriteTx) -> Result<T> + Send + 'static,
{
    store
        .write(move |tx| f(tx).map_err(|e| CoreError::Internal(error_chain(&e))))
        .await
        .map_err(|e| with_context(what, StoreError::Database(Box::new(e))))
}

fn instance_key(instance_id: &str, parts: &[&[u8]]) -> Result<Vec<u8>> {
    if instance_id.is_empty() || instance_id.contains('\0') {
        return Err(StoreError::Validation(format!(
            "invalid instance id {instance_id:?}"
        )));
    }
    tables::wa_key(instance_id, parts).ok_or_else(|| {
        StoreError::Validation("a key part contains a NUL byte (only the last may)".into())
    })
}

fn get_in<T: ReadableTableOpen>(tx: &T, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
    tx.get_value(table, key)
}

/// Point reads that work the same in read and write transactions.
trait ReadableTableOpen {
    fn get_value(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>>;
}

impl ReadableTableOpen for ReadTx {
    fn get_value(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let t = self.open_table(table).map_err(db)?;
        Ok(t.get(key).map_err(db)?.map(|v| v.value().to_vec()))
    }
}

impl ReadableTableOpen for WriteTx {
    fn get_value(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let t = self.open_table(table).map_err(db)?;
        Ok(t.get(key).map_err(db)?.map(|v| v.value().to_vec()))
    }
}

/// A storage engine failure.
fn db(e: KvError) -> StoreError {
    StoreError::Database(Box::new(e))
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Serialization(Box::new(e)))
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Serialization(Box::new(e)))
}

/// A stored value that is too short for its fixed layout: the row is corrupt.
fn corrupt(what: &str) -> StoreError {
    StoreError::Validation(format!("stored {what} is truncated"))
}

/// `StoreError` variants carry no message of their own beyond a word; keep the
/// operation and the whole source chain in the message that reaches the log.
fn with_context(what: &'static str, e: StoreError) -> StoreError {
    match e {
        StoreError::Validation(msg) => StoreError::Validation(format!("{what}: {msg}")),
        other => StoreError::Database(Box::new(Context {
            what,
            detail: error_chain(&other),
        })),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{what}: {detail}")]
struct Context {
    what: &'static str,
    detail: String,
}

/// Seconds since the Unix epoch (row ages for the expiry sweeps).
fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `i64` stored big endian at the front of a value.
fn split_i64(value: &[u8], what: &str) -> Result<(i64, Vec<u8>)> {
    if value.len() < 8 {
        return Err(corrupt(what));
    }
    let (head, rest) = value.split_at(8);
    Ok((
        i64::from_be_bytes(head.try_into().expect("8 bytes")),
        rest.to_vec(),
    ))
}

fn with_i64(n: i64, rest: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + rest.len());
    v.extend_from_slice(&n.to_be_bytes());
    v.extend_from_slice(rest);
    v
}
