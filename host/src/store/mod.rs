//! The store: one redb file in the data folder (the embedded default), or a PostgreSQL
//! database (cluster mode, issue 22). Core sees the same tables either way, through the
//! engine seam in [`kv`].
//!
//! Reads run on the caller's thread in a read transaction (a snapshot, never blocked by
//! writers). Every mutation goes through [`Store::write`], which hands it to the single
//! writer thread; the writer batches concurrent mutations into one durable commit
//! (group commit, see [`writer`]) and answers each caller once its commit is on disk.

pub mod copy;
pub mod counters;
pub mod kv;
pub mod leases;
mod migrations;
mod pg;
mod pg_tls;
pub mod tables;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use redb::{Database, ReadableDatabase, ReadableTable as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use kv::{Key, ReadTx, ReadableTable, WriteTx};

pub use writer::WriteJob;

/// The schema this build writes. Bump it and add a step to [`migrate`] when a table's
/// layout changes.
pub const SCHEMA_VERSION: u64 = 4;

/// Why the store could not do what it was asked. Callers map it into their own error
/// type (`From<StoreError>`); the detail is logged where the error is made, since it is
/// the operator's business, not the caller's.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage engine failed (I/O, a corrupt page, a record that does not decode).
    #[error("storage error")]
    Storage,
    /// The writer thread is gone (the gateway is shutting down).
    #[error("the store is shut down")]
    ShutDown,
}

/// A result whose error is the store's own.
pub type StoreResult<T> = Result<T, StoreError>;

/// The store's default page cache, in MiB (`store_cache_mib`). redb's own default is
/// 1 GiB, which a gateway reading a large store fills: its resident set grows to it.
/// 32 MiB keeps the gateway after a load run on 100,000 messages near 100 MB (see
/// BENCHMARKS.md); a larger store read at random wants more.
pub const DEFAULT_CACHE_MIB: usize = 32;

/// The `[store]` table: where the gateway keeps its state.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `postgres://user:password@host:port/database`: keep the state in PostgreSQL
    /// (cluster mode) instead of the redb file in the data folder. Absent: redb.
    pub url: Option<String>,
}

impl std::fmt::Debug for StoreConfig {
    // The URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    engine: Arc<Engine>,
    writer: writer::Writer,
    data_dir: PathBuf,
    /// Cluster mode only (several gateways on one PostgreSQL database).
    cluster: Option<Arc<Cluster>>,
}

/// Who this gateway is in a cluster, as the store needs to know it.
#[derive(Clone, Debug)]
pub struct ClusterNode {
    /// The node's id, unique among the gateways on the database.
    pub node_id: String,
    /// How long a lease and a heartbeat last.
    pub lease: std::time::Duration,
}

/// Cluster mode's side of the store: the lease book, the leases this node holds (what
/// its session writes are fenced with), and the other nodes' announcements.
pub struct Cluster {
    /// The lease book in PostgreSQL.
    pub leases: leases::Leases,
    /// The leases this node holds, with their tokens.
    pub held: Arc<leases::Held>,
    /// Rate-limit windows every node counts in.
    pub counters: counters::SharedCounters,
    /// Signalled when a node leaves or releases leases (PostgreSQL `NOTIFY`).
    pub changed: Arc<tokio::sync::Notify>,
}

impl Store {
    /// Opens (or creates) `<data_dir>/wagate.redb` and runs migrations.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        Self::open_with(data_dir, writer::DEFAULT_MAX_BATCH, DEFAULT_CACHE_MIB << 20)
    }

    /// [`Store::open`] with the most mutations one commit may hold (1: no group
    /// commit; benchmarks compare the two) and the size of the page cache in bytes.
    pub fn open_with(
        data_dir: &Path,
        max_batch: usize,
        cache_bytes: usize,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data folder {}", data_dir.display()))?;
        let path = data_dir.join("wagate.redb");
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(&path)
            .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => anyhow::anyhow!(
                "{} is in use by another process (a running gateway?); stop it or talk to it with --server",
                path.display()
            ),
            other => anyhow::Error::new(other).context(format!("opening {}", path.display())),
        })?;
        migrate(&db, data_dir).context("migrating the database schema")?;
        let db = Arc::new(db);
        let store = Store {
            writer: writer::Writer::start(writer::Engine::Redb(db.clone()), max_batch),
            engine: Arc::new(Engine::Redb(db)),
            data_dir: data_dir.to_path_buf(),
            cluster: None,
        };
        // Media removals a crash interrupted are finished by core's collector
        // (core::media_gc), which knows the media store.
        Ok(store)
    }

    /// Opens the PostgreSQL database at `url` (`postgres://user:pass@host/db`), creating
    /// or migrating its schema. `data_dir` still holds what is not in the database
    /// (media on disk, the plugin cache).
    pub fn open_postgres(url: &str, data_dir: &Path) -> anyhow::Result<Self> {
        Self::open_postgres_with(url, data_dir, writer::DEFAULT_MAX_BATCH, None)
    }

    /// [`Store::open_postgres`] with the most mutations one commit may hold, as one
    /// node of a cluster when `node` is given (else the only gateway on the database).
    pub fn open_postgres_with(
        url: &str,
        data_dir: &Path,
        max_batch: usize,
        node: Option<&ClusterNode>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data folder {}", data_dir.display()))?;
        let pg = pg::Pg::connect(url, node.is_some())?;
        let writer = pg::Pool::writer(pg.clone());
        // A fresh database is at this build's schema: there is no older layout to bring
        // forward, but `schema_version` answers as on redb.
        let tx = WriteTx::pg(writer.begin_write()?);
        tx.open_table(tables::META)?
            .insert("schema_version", SCHEMA_VERSION)?;
        tx.commit()?;
        let writer = writer::Writer::start(writer::Engine::Pg(writer), max_batch);
        let cluster = node.map(|node| {
            let changed = Arc::new(tokio::sync::Notify::new());
            // Another node's commit wakes this node's dispatcher and live feed as a
            // local one does; a node leaving wakes the cluster coordinator.
            let commits = writer.commits.clone();
            let announced = changed.clone();
            pg.listen(&[pg::COMMIT_CHANNEL, pg::CLUSTER_CHANNEL], move |channel| {
                if channel == pg::COMMIT_CHANNEL {
                    commits.send_modify(|n| *n = n.wrapping_add(1));
                } else {
                    announced.notify_one();
                }
            });
            Arc::new(Cluster {
                leases: leases::Leases::new(pg.clone(), node.lease),
                held: Arc::new(leases::Held::new(&node.node_id)),
                counters: counters::SharedCounters::new(pg.clone()),
                changed,
            })
        });
        Ok(Store {
            writer,
            engine: Arc::new(Engine::Pg(pg::Pool::readers(pg))),
            data_dir: data_dir.to_path_buf(),
            cluster,
        })
    }

    /// Cluster mode's lease book and held leases; `None` for a gateway alone on its
    /// store (redb, or PostgreSQL outside cluster mode).
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Opens the store an operator names: `postgres://...` (or `postgresql://...`) is a
    /// PostgreSQL database, anything else a data folder holding the redb file. For the
    /// `store` commands, which touch no media: a database's media folder is not needed.
    pub fn open_location(location: &str) -> anyhow::Result<Self> {
        if is_postgres_url(location) {
            Self::open_postgres(location, &std::env::temp_dir().join("wagate-store-tool"))
        } else {
            Self::open(Path::new(location))
        }
    }

    /// Changes after every durable commit (the event dispatcher and the live event
    /// feed wait on it).
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.writer.commits.subscribe()
    }

    /// How many committed write batches so far may have changed a stored credential
    /// (they opened the credentials table), counted before their callers are answered:
    /// what an outcome derived from stored credentials was derived under. `None` in
    /// cluster mode, where other nodes change credentials without this node's writer
    /// seeing it, so nothing derived from them may be reused there.
    pub fn credential_changes(&self) -> Option<u64> {
        if self.cluster.is_some() {
            return None;
        }
        Some(
            self.writer
                .credential_changes
                .load(std::sync::atomic::Ordering::SeqCst),
        )
    }

    /// The data folder holding the redb file; media files live beside it.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `f` in a read transaction on the calling thread.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&ReadTx) -> Result<T, E>,
    ) -> Result<T, E> {
        match &*self.engine {
            Engine::Redb(db) => f(&ReadTx::redb(db.begin_read().map_err(internal)?)),
            // A read waits on the network for each query, holding its thread as a redb
            // read holds it for page reads (tokio's `block_in_place` here bought 21%
            // more reads under load, but let tasks run on into the runtime's shutdown).
            Engine::Pg(readers) => f(&ReadTx::pg(readers.begin_read().map_err(internal)?)),
        }
    }

    /// Runs `job` in a durable write transaction on the writer thread, possibly batched
    /// with other jobs into one commit. Returns after the commit is on disk.
    ///
    /// A job must check everything that can fail *before* it writes: when a job returns
    /// an error, the writer rolls the batch back and replays the other jobs, so a
    /// failing job never leaves half a change behind, but it may run more than once.
    pub async fn write<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&WriteTx) -> Result<T, E> + Send + 'static,
    {
        self.writer.submit(job).await
    }

    /// Reads the current schema version (for `wagate` diagnostics and tests).
    pub fn schema_version(&self) -> StoreResult<u64> {
        self.read(|tx| {
            let t = tx.open_table(tables::META).map_err(internal)?;
            Ok(t.get("schema_version")
                .map_err(internal)?
                .map(|v| v.value())
                .unwrap_or(0))
        })
    }
}

/// Whether an operator's store location is a PostgreSQL URL.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A store location fit to print: a PostgreSQL URL without its password.
pub fn describe_location(location: &str) -> String {
    if !is_postgres_url(location) {
        return location.to_string();
    }
    match location.split_once("://").and_then(|(scheme, rest)| {
        let (login, host) = rest.rsplit_once('@')?;
        let user = login.split(':').next().unwrap_or_default();
        Some(format!("{scheme}://{user}@{host}"))
    }) {
        Some(safe) => safe,
        None => location.to_string(),
    }
}

/// Where reads run.
enum Engine {
    Redb(Arc<Database>),
    /// The pool of read connections.
    Pg(pg::Pool),
}

/// Creates every table and brings an older file up to [`SCHEMA_VERSION`].
fn migrate(db: &Database, data_dir: &Path) -> anyhow::Result<()> {
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
            migrations::inbound_kinds(&tx)?;
        }
        if (1..3).contains(&found) {
            migrations::names_per_org(&tx)?;
        }
        if (1..4).contains(&found) {
            migrations::media_records(&tx, data_dir)?;
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
    tx.open_table(tables::GROUPS)?;
    tx.open_table(tables::CONTACTS)?;
    tx.open_table(tables::JID_ALTS)?;
    tx.open_table(tables::SOCKETIO)?;
    tx.open_table(tables::LABELS)?;
    tx.open_table(tables::CHAT_LABELS)?;
    for table in tables::WA_TABLES {
        tx.open_table(table)?;
    }
    tx.commit()?;
    Ok(())
}

/// Maps a storage engine failure to [`StoreError::Storage`], logging the detail (which
/// callers do not see).
pub fn internal(e: impl std::fmt::Display) -> StoreError {
    tracing::error!(error = %e, "storage error");
    StoreError::Storage
}

/// Serializes a record to its stored JSON form.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialize infallibly")
}

/// Reads a stored JSON record; a record that no longer parses is a storage error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(internal)
}

/// Gets and decodes one JSON record.
pub fn get_json<K, T>(
    table: &impl ReadableTable<K, &'static [u8]>,
    key: K::SelfType<'_>,
) -> StoreResult<Option<T>>
where
    K: Key + 'static,
    T: DeserializeOwned,
{
    match table.get(key).map_err(internal)? {
        Some(v) => decode(v.value()).map(Some),
        None => Ok(None),
    }
}
