//! The embedded store: one redb file in the data folder.
//!
//! Reads run on the caller's thread in a redb read transaction (cheap, never blocked by
//! writers). Every mutation goes through [`Store::write`], which hands it to the single
//! writer thread; the writer batches concurrent mutations into one durable commit
//! (group commit, see [`writer`]) and answers each caller once its commit is on disk.

pub mod records;
pub mod tables;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::core::model::{CoreError, CoreResult};
pub use writer::WriteJob;

/// The schema this build writes. Bump it and add a step to [`migrate`] when a table's
/// layout changes.
pub const SCHEMA_VERSION: u64 = 3;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    writer: writer::Writer,
    data_dir: PathBuf,
}

impl Store {
    /// Opens (or creates) `<data_dir>/wagate.redb`, runs migrations and finishes any
    /// media removals a crash interrupted.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        Self::open_with(data_dir, writer::DEFAULT_MAX_BATCH)
    }

    /// [`Store::open`] with the most mutations one commit may hold (1: no group
    /// commit; benchmarks compare the two).
    pub fn open_with(data_dir: &Path, max_batch: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data folder {}", data_dir.display()))?;
        let path = data_dir.join("wagate.redb");
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => anyhow::anyhow!(
                "{} is in use by another process (a running gateway?); stop it or talk to it with --server",
                path.display()
            ),
            other => anyhow::Error::new(other).context(format!("opening {}", path.display())),
        })?;
        migrate(&db).context("migrating the database schema")?;
        let db = Arc::new(db);
        let store = Store {
            writer: writer::Writer::start(db.clone(), max_batch),
            db,
            data_dir: data_dir.to_path_buf(),
        };
        store.collect_media_garbage();
        Ok(store)
    }

    /// Changes after every durable commit (the event dispatcher and the live event
    /// feed wait on it).
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.writer.commits.subscribe()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `f` in a read transaction on the calling thread.
    pub fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> CoreResult<T>) -> CoreResult<T> {
        let tx = self.db.begin_read().map_err(internal)?;
        f(&tx)
    }

    /// Runs `job` in a durable write transaction on the writer thread, possibly batched
    /// with other jobs into one commit. Returns after the commit is on disk.
    ///
    /// A job must check everything that can fail *before* it writes: when a job returns
    /// an error, the writer rolls the batch back and replays the other jobs, so a
    /// failing job never leaves half a change behind, but it may run more than once.
    pub async fn write<T, F>(&self, job: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> CoreResult<T> + Send + 'static,
    {
        self.writer.submit(job).await
    }

    /// Deletes media files whose removal has been committed (see `tables::MEDIA_GC`),
    /// then clears their entries. Core calls it after a commit that queued removals;
    /// `open` calls it for removals a crash interrupted.
    pub fn collect_media_garbage(&self) {
        let pending: Vec<String> = match self.read(|tx| {
            let table = match tx.open_table(tables::MEDIA_GC) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(internal(e)),
            };
            let mut out = Vec::new();
            for row in table.iter().map_err(internal)? {
                out.push(row.map_err(internal)?.0.value().to_string());
            }
            Ok(out)
        }) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "reading pending media removals");
                return;
            }
        };
        if pending.is_empty() {
            return;
        }
        for rel in &pending {
            remove_media_path(&self.data_dir, rel);
        }
        // Clearing the entries is itself a write; queue it without waiting so the caller
        // is not held up by a second commit. If it is lost, the next start-up redoes it.
        self.writer.submit_detached(move |tx: &WriteTransaction| {
            let mut t = tx.open_table(tables::MEDIA_GC).map_err(internal)?;
            for rel in &pending {
                t.remove(rel.as_str()).map_err(internal)?;
            }
            Ok(())
        });
    }

    /// Reads the current schema version (for `wagate` diagnostics and tests).
    pub fn schema_version(&self) -> CoreResult<u64> {
        self.read(|tx| {
            let t = tx.open_table(tables::META).map_err(internal)?;
            Ok(t.get("schema_version")
                .map_err(internal)?
                .map(|v| v.value())
                .unwrap_or(0))
        })
    }
}

/// Removes a media file or folder under the data folder. Paths are produced by core
/// (never by callers) and are checked to stay inside the data folder anyway.
fn remove_media_path(data_dir: &Path, rel: &str) {
    if rel.split('/').any(|part| part == ".." || part.is_empty()) {
        tracing::warn!(
            path = rel,
            "refusing to remove a media path outside the data folder"
        );
        return;
    }
    let path = data_dir.join(rel);
    let res = if path.is_dir() {
        std::fs::remove_dir_all(&path)
    } else {
        std::fs::remove_file(&path)
    };
    match res {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "removing media"),
    }
}

/// Creates every table and brings an older file up to [`SCHEMA_VERSION`].
fn migrate(db: &Database) -> anyhow::Result<()> {
    let tx = db.begin_write()?;
    {
        let mut meta = tx.open_table(tables::META)?;
        let found = meta.get("schema_version")?.map(|v| v.value()).unwrap_or(0);
        if found > SCHEMA_VERSION {
            anyhow::bail!(
                "the database has schema {found}, newer than this build's {SCHEMA_VERSION}; use a newer wagate"
            );
        }
        // One step per version, oldest first; each runs in this one transaction, so a
        // file is migrated wholly or not at all. A fresh file (found 0) has nothing to
        // migrate.
        if (1..2).contains(&found) {
            migrate_inbound_kinds(&tx)?;
        }
        if (1..3).contains(&found) {
            migrate_names_per_org(&tx)?;
        }
        meta.insert("schema_version", SCHEMA_VERSION)?;
    }
    // Opening a table in a write transaction creates it, so readers never meet a
    // missing table.
    tx.open_table(tables::SETTINGS)?;
    tx.open_table(tables::ORGS)?;
    tx.open_table(tables::ORG_NAMES)?;
    tx.open_table(tables::CREDENTIALS)?;
    tx.open_multimap_table(tables::CREDENTIALS_BY_INSTANCE)?;
    tx.open_table(tables::INSTANCES)?;
    tx.open_table(tables::INSTANCE_NAMES)?;
    tx.open_table(tables::CHATS)?;
    tx.open_table(tables::MESSAGES)?;
    tx.open_table(tables::MESSAGE_IDS)?;
    tx.open_table(tables::OUTBOX)?;
    tx.open_table(tables::MEDIA_GC)?;
    tx.open_table(tables::WEBHOOKS)?;
    tx.open_multimap_table(tables::WEBHOOKS_BY_INSTANCE)?;
    tx.open_table(tables::DELIVERY_QUEUE)?;
    tx.open_table(tables::DEAD_LETTERS)?;
    tx.open_table(tables::PLUGIN_STORAGE)?;
    for table in tables::WA_TABLES {
        tx.open_table(table)?;
    }
    tx.commit()?;
    Ok(())
}

/// Schema 2: integrations' inbound secrets get their own credential kind (`inbound`),
/// which only the sink's inbound route accepts; schema 1 stored them as `instance`
/// credentials, which every dialect accepted. The secrets themselves (in Chatwoot's
/// settings) keep working: only the kind of their records changes.
fn migrate_inbound_kinds(tx: &WriteTransaction) -> anyhow::Result<()> {
    use self::records::{CredentialKind, CredentialRecord};
    use crate::core::model::Webhook;
    let hashes: Vec<Vec<u8>> = {
        let webhooks = tx.open_table(tables::WEBHOOKS)?;
        let mut out = Vec::new();
        for row in webhooks.iter()? {
            let hook: Webhook = serde_json::from_slice(row?.1.value())?;
            if let Some(data) = hook.integration {
                out.push(data.inbound_hash);
            }
        }
        out
    };
    let mut creds = tx.open_table(tables::CREDENTIALS)?;
    let mut moved = 0;
    for hash in hashes {
        let record: Option<CredentialRecord> = match creds.get(hash.as_slice())? {
            Some(v) => Some(serde_json::from_slice(v.value())?),
            None => None,
        };
        if let Some(mut record) = record.filter(|r| r.kind == CredentialKind::Instance) {
            record.kind = CredentialKind::Inbound;
            creds.insert(hash.as_slice(), encode(&record).as_slice())?;
            moved += 1;
        }
    }
    if moved > 0 {
        tracing::info!(
            count = moved,
            "schema 2: integration inbound secrets now have their own credential kind"
        );
    }
    Ok(())
}

/// Schema 3: instance names are unique per org, not across the gateway. The name index
/// was `name -> id`; it becomes `org \0 name -> id` ([`tables::instance_name_key`]),
/// each instance's org read from its record. An entry whose instance is gone is
/// dropped (nothing could reach it).
fn migrate_names_per_org(tx: &WriteTransaction) -> anyhow::Result<()> {
    use self::records::InstanceRecord;
    let old: Vec<(String, String)> = {
        let names = tx.open_table(tables::INSTANCE_NAMES)?;
        let mut out = Vec::new();
        for row in names.iter()? {
            let (k, v) = row?;
            out.push((k.value().to_string(), v.value().to_string()));
        }
        out
    };
    let instances = tx.open_table(tables::INSTANCES)?;
    let mut names = tx.open_table(tables::INSTANCE_NAMES)?;
    names.retain(|_, _| false)?;
    let mut moved = 0;
    for (name, id) in old {
        if name.contains('\0') {
            // Already `org \0 name` (names cannot hold the separator): keep it.
            names.insert(name.as_str(), id.as_str())?;
            continue;
        }
        let Some(record) = instances.get(id.as_str())? else {
            tracing::warn!(%name, %id, "schema 3: dropping the name of a missing instance");
            continue;
        };
        let record: InstanceRecord = serde_json::from_slice(record.value())?;
        let key = tables::instance_name_key(&record.instance.org, &name);
        names.insert(key.as_str(), id.as_str())?;
        moved += 1;
    }
    tracing::info!(
        count = moved,
        "schema 3: instance names are now unique per org"
    );
    Ok(())
}

/// Maps a storage failure to `CoreError::Internal`, logging the detail (which callers
/// do not see).
pub fn internal(e: impl std::fmt::Display) -> CoreError {
    tracing::error!(error = %e, "storage error");
    CoreError::Internal("storage error".into())
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialize infallibly")
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> CoreResult<T> {
    serde_json::from_slice(bytes).map_err(internal)
}

/// Gets and decodes one JSON record.
pub fn get_json<K, T>(
    table: &impl ReadableTable<K, &'static [u8]>,
    key: K::SelfType<'_>,
) -> CoreResult<Option<T>>
where
    K: redb::Key + 'static,
    T: DeserializeOwned,
{
    match table.get(key).map_err(internal)? {
        Some(v) => decode(v.value()).map(Some),
        None => Ok(None),
    }
}
