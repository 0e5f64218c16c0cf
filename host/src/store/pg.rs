//! The PostgreSQL engine behind [`super::kv`] (cluster mode, issue 22).
//!
//! # Layout
//! Every logical table (the `TableDefinition`s of `tables.rs`) lives in one PostgreSQL
//! table, `wagate_kv(tbl, k, v)` with primary key `(tbl, k)`; multimap tables live in
//! `wagate_kv_multi(tbl, k, v)` with primary key `(tbl, k, v)`. `bytea` compares
//! bytewise, as redb orders `&[u8]` and `&str` keys, so a range scan is an index range
//! scan with the same order. `u64` keys are stored big-endian (redb's own encoding is
//! little-endian, which does not sort as bytes); `kv` converts them.
//!
//! # Driving an async driver from synchronous calls
//! The store's calls are synchronous: a read runs on the caller's thread, a write job
//! on the writer thread. Connections therefore run as tasks on a small runtime of
//! their own (one thread, `wagate-pg`), and a caller blocks on a query's future with
//! `futures_executor::block_on`, which needs no runtime context: the future only waits
//! on a channel to the connection task. So the same call is legal on a tokio worker
//! (where tokio's own `block_on` would panic) and on the writer thread. The cost is
//! that a read holds its thread for its round trips, as a redb read holds it for its
//! page reads.
//!
//! # Transactions
//! A read is one `REPEATABLE READ READ ONLY` transaction: every query of one
//! `Store::read` sees the same committed snapshot, as a redb read transaction does. The
//! writer runs each batch in one transaction on a connection of its own, so commits
//! are grouped as with redb.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Socket, Statement};

use crate::util::error_chain;

/// Most connections the gateway opens for reads; a read waits for one when all are
/// busy (reads that block in `spawn_blocking` could otherwise open hundreds).
const MAX_READ_CONNECTIONS: usize = 16;
/// Rows fetched per round trip while a range is iterated.
pub(crate) const RANGE_CHUNK: i64 = 512;
/// How long connecting may take before the store reports the database unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Versioned schema steps, applied in order once each and recorded in
/// `wagate_schema_migrations`. Append; never edit a step that has shipped.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "create table wagate_kv (
         tbl text not null,
         k bytea not null,
         v bytea not null,
         primary key (tbl, k)
     );
     create table wagate_kv_multi (
         tbl text not null,
         k bytea not null,
         v bytea not null,
         primary key (tbl, k, v)
     );",
    ),
    (
        2,
        // Cluster mode: the nodes and their leases (`leases`), cluster-wide values
        // such as the secret nodes authenticate their calls to each other with
        // (`leases::Leases::secret`), and the shared rate-limit windows (`counters`).
        "create table wagate_nodes (
             id text primary key,
             address text not null,
             started_at timestamptz not null default now(),
             heartbeat_at timestamptz not null default now()
         );
         create table wagate_leases (
             instance_id text primary key,
             node_id text not null,
             token bigint not null,
             expires_at timestamptz not null
         );
         create index wagate_leases_node on wagate_leases (node_id);
         create table wagate_cluster (
             name text primary key,
             value text not null
         );
         create table wagate_rate_windows (
             bucket text primary key,
             started_ms bigint not null,
             len_ms bigint not null,
             hits bigint not null
         );",
    ),
];

/// The advisory lock that keeps gateways outside cluster mode alone on a database: one
/// such gateway holds it exclusively; cluster nodes hold it shared, so the two kinds
/// refuse each other.
const GATEWAY_LOCK: i64 = 7217301418;
/// How a cluster node's write batch begins: it takes the lock that serializes the
/// write batches of every node (released at commit or rollback) and announces its
/// commit on [`COMMIT_CHANNEL`] (PostgreSQL sends it only if the batch commits).
const CLUSTER_BEGIN: &str = "begin; select pg_advisory_xact_lock(7217301419); notify wagate_commit";
/// The notification channel a commit announces itself on (cluster mode).
pub(crate) const COMMIT_CHANNEL: &str = "wagate_commit";
/// The notification channel a node leaving or releasing leases announces itself on.
pub(crate) const CLUSTER_CHANNEL: &str = "wagate_cluster";

/// A PostgreSQL failure, or a connection the engine could not get.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The server or the driver refused.
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
    /// The connection runtime is gone (the store is shutting down).
    #[error("the PostgreSQL connection runtime has stopped")]
    Stopped,
}

/// A result whose error is PostgreSQL's.
pub(crate) type PgResult<T> = Result<T, PgError>;

/// The engine: where connections run, and the pools reads and the writer take them from.
pub(crate) struct Pg {
    config: tokio_postgres::Config,
    runtime: tokio::runtime::Handle,
    /// Cluster mode: several gateways share the database (see [`Pool::begin_write`]).
    cluster: bool,
    /// TLS, when the URL says `sslmode=require` (see `pg_tls`).
    tls: Option<super::pg_tls::Rustls>,
    /// Holds the database's gateway lock for as long as the engine lives (see
    /// [`Pg::connect`]).
    _lock: Mutex<Option<Conn>>,
    /// Dropped with the engine: ends the runtime thread.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Pg {
    /// Starts the connection runtime, checks the database is reachable and brings its
    /// schema up to date. `cluster`: this gateway is one node of several on the
    /// database; otherwise it must be the only gateway there.
    pub(crate) fn connect(url: &str, cluster: bool) -> anyhow::Result<Arc<Self>> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| anyhow::anyhow!("the PostgreSQL URL is not valid: {e}"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("wagate");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("wagate-pg".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        let tls = match config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Require => Some(super::pg_tls::Rustls::new()?),
            _ => None,
        };
        let mut pg = Pg {
            config,
            runtime: handle,
            cluster,
            tls,
            _lock: Mutex::new(None),
            _stop: stop,
        };
        let mut conn = pg
            .open()
            .map_err(|e| anyhow::anyhow!("connecting to PostgreSQL: {}", error_chain(&e)))?;
        // Outside cluster mode a gateway is alone on its database: two would each run
        // every instance's WhatsApp session. Cluster nodes share the lock, and leases
        // decide which node runs which session. The lock is PostgreSQL's, held by this
        // connection's session, so it goes when the gateway does, however it ends.
        let locked: bool = if cluster {
            conn.query("select pg_try_advisory_lock_shared($1)", &[&GATEWAY_LOCK])?
        } else {
            conn.query("select pg_try_advisory_lock($1)", &[&GATEWAY_LOCK])?
        }
        .first()
        .is_some_and(|r| r.get(0));
        anyhow::ensure!(
            locked,
            "{}",
            if cluster {
                "this PostgreSQL database is in use by a gateway outside cluster mode; stop it, or start it as a cluster node too (--node)"
            } else {
                "this PostgreSQL database is in use by another gateway; stop it first, or run every gateway on it as a cluster node (--node)"
            }
        );
        migrate(&mut conn)?;
        pg._lock = Mutex::new(Some(conn));
        Ok(Arc::new(pg))
    }

    /// Listens on `channels` on a connection of its own and calls `on` with the
    /// channel of each notification, for as long as the engine lives. A connection
    /// that drops is opened again a second later, and `on` is then called once for
    /// every channel (what was announced meanwhile is unknown).
    pub(crate) fn listen(
        &self,
        channels: &'static [&'static str],
        on: impl Fn(&str) + Send + Sync + 'static,
    ) {
        let config = self.config.clone();
        let tls = self.tls.clone();
        self.runtime.spawn(async move {
            let mut first = true;
            loop {
                let listened = match &tls {
                    Some(tls) => listen_once(&config, tls.clone(), channels, &on, first).await,
                    None => listen_once(&config, NoTls, channels, &on, first).await,
                };
                if let Err(e) = listened {
                    tracing::warn!(error = %e, "connecting for PostgreSQL notifications");
                }
                first = false;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// Opens a new connection (its task runs on the engine's runtime).
    fn open(&self) -> PgResult<Conn> {
        let config = self.config.clone();
        let tls = self.tls.clone();
        let task = self.runtime.spawn(async move {
            match tls {
                Some(tls) => connect(&config, tls).await,
                None => connect(&config, NoTls).await,
            }
        });
        let client = block_on(task).map_err(|_| PgError::Stopped)??;
        Ok(Conn {
            client,
            statements: HashMap::new(),
            unsent_begin: None,
        })
    }
}

/// Connects and runs the connection as a task of its own (on the engine's runtime).
async fn connect<T>(
    config: &tokio_postgres::Config,
    tls: T,
) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "a PostgreSQL connection closed with an error");
        }
    });
    Ok(client)
}

/// One notification connection, until it drops (see [`Pg::listen`]).
async fn listen_once<T>(
    config: &tokio_postgres::Config,
    tls: T,
    channels: &[&str],
    on: &(impl Fn(&str) + Send + Sync),
    first: bool,
) -> Result<(), tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
{
    let (client, mut connection) = config.connect(tls).await?;
    let driver = async {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => on(n.channel()),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "the PostgreSQL notification connection failed");
                    break;
                }
                None => break,
            }
        }
    };
    let subscribe = async {
        let sql: String = channels.iter().map(|c| format!("listen {c};")).collect();
        if let Err(e) = client.batch_execute(&sql).await {
            tracing::warn!(error = %e, "subscribing to PostgreSQL notifications");
        }
        if !first {
            channels.iter().for_each(|c| on(c));
        }
        std::future::pending::<()>().await
    };
    tokio::select! { _ = driver => {}, _ = subscribe => {} }
    Ok(())
}

/// One connection and the statements prepared on it.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// The `BEGIN ...` of the session's transaction, not sent yet: it goes out with the
    /// session's first statement, pipelined (one round trip for both), and a session
    /// that runs no statement never opens a transaction at all.
    unsent_begin: Option<&'static str>,
}

impl Conn {
    fn statement(&mut self, sql: &'static str) -> PgResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = block_on(self.client.prepare(sql))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<Vec<tokio_postgres::Row>> {
        let statement = self.statement(sql)?;
        let query = self.client.query(&statement, params);
        Ok(match self.unsent_begin.take() {
            None => block_on(query)?,
            Some(begin) => Self::after(block_on(futures_util::future::join(
                self.client.batch_execute(begin),
                query,
            )))?,
        })
    }

    pub(crate) fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<u64> {
        let statement = self.statement(sql)?;
        let execute = self.client.execute(&statement, params);
        Ok(match self.unsent_begin.take() {
            None => block_on(execute)?,
            Some(begin) => Self::after(block_on(futures_util::future::join(
                self.client.batch_execute(begin),
                execute,
            )))?,
        })
    }

    /// The statement's result once its pipelined `BEGIN` succeeded (tokio-postgres
    /// sends requests in the order their futures are first polled: `join` polls the
    /// `BEGIN` first).
    fn after<T>(
        (begun, result): (
            Result<(), tokio_postgres::Error>,
            Result<T, tokio_postgres::Error>,
        ),
    ) -> Result<T, tokio_postgres::Error> {
        begun?;
        result
    }

    /// Ends the session's transaction with `commit` or `rollback`, waiting for the
    /// server; nothing to end when its `BEGIN` was never sent.
    fn end(&mut self, sql: &str) -> PgResult<()> {
        if self.unsent_begin.take().is_some() {
            return Ok(());
        }
        self.batch(sql)
    }

    /// Rolls the session's transaction back without waiting for the answer: the
    /// request is queued on the connection before the next session's, so the next one
    /// starts after it; a connection the rollback breaks is closed, and
    /// [`Pool::checkout`] skips closed connections.
    fn rollback_in_background(&mut self) {
        if self.unsent_begin.take().is_some() {
            return;
        }
        let rollback = std::pin::pin!(self.client.batch_execute("rollback"));
        // tokio-postgres queues the request on its first poll; the answer is dropped.
        let _ = rollback.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    }

    fn batch(&mut self, sql: &str) -> PgResult<()> {
        Ok(block_on(self.client.batch_execute(sql))?)
    }
}

/// Applies the [`MIGRATIONS`] the database lacks, under an advisory lock so that
/// gateways starting together do not race.
fn migrate(conn: &mut Conn) -> anyhow::Result<()> {
    conn.batch(
        "create table if not exists wagate_schema_migrations (
             version integer primary key,
             applied_at timestamptz not null default now()
         )",
    )?;
    conn.batch("begin; select pg_advisory_xact_lock(7217301417)")?;
    let applied = (|| -> anyhow::Result<()> {
        let rows = conn.query("select version from wagate_schema_migrations", &[])?;
        let have: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
        if let Some(newest) = have.iter().max()
            && *newest > MIGRATIONS.last().map_or(0, |m| m.0)
        {
            anyhow::bail!(
                "the database has schema {newest}, newer than this build's; use a newer wagate"
            );
        }
        for (version, sql) in MIGRATIONS {
            if !have.contains(version) {
                conn.batch(sql)?;
                conn.execute(
                    "insert into wagate_schema_migrations (version) values ($1)",
                    &[version],
                )?;
            }
        }
        Ok(())
    })();
    match applied {
        Ok(()) => conn.batch("commit")?,
        Err(e) => {
            let _ = conn.batch("rollback");
            return Err(e.context("migrating the PostgreSQL schema"));
        }
    }
    Ok(())
}

/// Connections of one kind (reads, or the writer's one), reused across transactions.
#[derive(Clone)]
pub(crate) struct Pool {
    pg: Arc<Pg>,
    state: Arc<(Mutex<PoolState>, Condvar)>,
    max: usize,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

impl Pool {
    /// The pool reads take their connections from.
    pub(crate) fn readers(pg: Arc<Pg>) -> Self {
        Self::new(pg, MAX_READ_CONNECTIONS)
    }

    /// A pool of one, for the writer thread.
    pub(crate) fn writer(pg: Arc<Pg>) -> Self {
        Self::new(pg, 1)
    }

    pub(crate) fn new(pg: Arc<Pg>, max: usize) -> Self {
        Pool {
            pg,
            state: Arc::new((
                Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                Condvar::new(),
            )),
            max,
        }
    }

    /// Runs `f` on a connection outside any transaction: each statement commits on
    /// its own.
    pub(crate) fn autocommit<T>(&self, f: impl FnOnce(&mut Conn) -> PgResult<T>) -> PgResult<T> {
        let mut conn = self.checkout()?;
        let out = f(&mut conn);
        self.checkin(conn);
        out
    }

    /// A session in a read-only snapshot transaction.
    pub(crate) fn begin_read(&self) -> PgResult<Session> {
        // The snapshot is taken at the transaction's first statement, not at `BEGIN`,
        // so sending `BEGIN` with that statement changes nothing a read sees.
        self.begin("begin isolation level repeatable read read only")
    }

    /// A session in a write transaction. In cluster mode the transaction first takes
    /// the cluster-wide write lock, so batches of different nodes run one after the
    /// other as redb's single writer runs them (core's read-modify-writes, such as the
    /// outbox sequence, stay correct), and announces its commit to the other nodes.
    pub(crate) fn begin_write(&self) -> PgResult<Session> {
        if self.pg.cluster {
            self.begin(CLUSTER_BEGIN)
        } else {
            self.begin("begin")
        }
    }

    /// A session whose transaction starts with its first statement (see
    /// [`Conn::unsent_begin`]).
    fn begin(&self, begin: &'static str) -> PgResult<Session> {
        let mut conn = self.checkout()?;
        conn.unsent_begin = Some(begin);
        Ok(Session {
            conn: std::cell::RefCell::new(Some(conn)),
            pool: self.clone(),
            open: true,
        })
    }

    fn checkout(&self) -> PgResult<Conn> {
        let (lock, freed) = &*self.state;
        let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(conn);
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return self.pg.open().inspect_err(|_| {
                    lock.lock().unwrap_or_else(|p| p.into_inner()).open -= 1;
                    freed.notify_one();
                });
            }
            state = freed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Returns a connection; a closed one is dropped and its slot freed.
    fn checkin(&self, conn: Conn) {
        let (lock, freed) = &*self.state;
        let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
        if conn.client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push(conn);
        }
        freed.notify_one();
    }
}

/// Which side of a range bound a key falls on.
#[derive(Clone, Copy)]
enum Side {
    Unbounded,
    Included,
    Excluded,
}

fn side<T>(b: &Bound<T>) -> Side {
    match b {
        Bound::Unbounded => Side::Unbounded,
        Bound::Included(_) => Side::Included,
        Bound::Excluded(_) => Side::Excluded,
    }
}

/// The chunked range query for each pair of bound kinds, in key order or reversed
/// (`$1` the table, then the bounds that exist, then the limit).
fn range_sql(lo: Side, hi: Side, reversed: bool) -> &'static str {
    macro_rules! ranged {
        ($where:literal, $limit:literal) => {
            if reversed {
                concat!(
                    "select k, v from wagate_kv where tbl = $1",
                    $where,
                    " order by k desc limit ",
                    $limit
                )
            } else {
                concat!(
                    "select k, v from wagate_kv where tbl = $1",
                    $where,
                    " order by k limit ",
                    $limit
                )
            }
        };
    }
    use Side::*;
    match (lo, hi) {
        (Unbounded, Unbounded) => ranged!("", "$2"),
        (Included, Unbounded) => ranged!(" and k >= $2", "$3"),
        (Excluded, Unbounded) => ranged!(" and k > $2", "$3"),
        (Unbounded, Included) => ranged!(" and k <= $2", "$3"),
        (Unbounded, Excluded) => ranged!(" and k < $2", "$3"),
        (Included, Included) => ranged!(" and k >= $2 and k <= $3", "$4"),
        (Included, Excluded) => ranged!(" and k >= $2 and k < $3", "$4"),
        (Excluded, Included) => ranged!(" and k > $2 and k <= $3", "$4"),
        (Excluded, Excluded) => ranged!(" and k > $2 and k < $3", "$4"),
    }
}

/// A key and its value, as stored.
pub(crate) type Pair = (Vec<u8>, Vec<u8>);

/// One transaction on one connection; the connection goes back to its pool when the
/// session ends (a session dropped without [`Session::commit`] rolls back).
pub(crate) struct Session {
    conn: std::cell::RefCell<Option<Conn>>,
    pool: Pool,
    open: bool,
}

impl Session {
    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> PgResult<T>) -> PgResult<T> {
        let mut slot = self.conn.borrow_mut();
        let conn = slot.as_mut().ok_or(PgError::Stopped)?;
        f(conn)
    }

    /// Makes the transaction's changes durable.
    pub(crate) fn commit(mut self) -> PgResult<()> {
        self.open = false;
        self.with(|c| c.end("commit"))
    }

    /// Drops the transaction's changes.
    pub(crate) fn rollback(mut self) -> PgResult<()> {
        self.open = false;
        self.with(|c| c.end("rollback"))
    }

    pub(crate) fn get(&self, tbl: &str, k: &[u8]) -> PgResult<Option<Vec<u8>>> {
        self.with(|c| {
            let rows = c.query(
                "select v from wagate_kv where tbl = $1 and k = $2",
                &[&tbl, &k],
            )?;
            Ok(rows.first().map(|r| r.get(0)))
        })
    }

    /// Sets `k` to `v`; returns the value it replaced.
    pub(crate) fn put(&self, tbl: &str, k: &[u8], v: &[u8]) -> PgResult<Option<Vec<u8>>> {
        self.with(|c| {
            // The CTE reads the row as it was before the statement.
            let rows = c.query(
                "with old as (select v from wagate_kv where tbl = $1 and k = $2),
                      put as (insert into wagate_kv (tbl, k, v) values ($1, $2, $3)
                              on conflict (tbl, k) do update set v = excluded.v)
                 select v from old",
                &[&tbl, &k, &v],
            )?;
            Ok(rows.first().map(|r| r.get(0)))
        })
    }

    /// Removes `k`; returns the value it held.
    pub(crate) fn delete(&self, tbl: &str, k: &[u8]) -> PgResult<Option<Vec<u8>>> {
        self.with(|c| {
            let rows = c.query(
                "delete from wagate_kv where tbl = $1 and k = $2 returning v",
                &[&tbl, &k],
            )?;
            Ok(rows.first().map(|r| r.get(0)))
        })
    }

    /// Removes every key of `keys`.
    pub(crate) fn delete_keys(&self, tbl: &str, keys: &[Vec<u8>]) -> PgResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            c.execute(
                "delete from wagate_kv where tbl = $1 and k = any($2)",
                &[&tbl, &keys],
            )
            .map(drop)
        })
    }

    /// Up to [`RANGE_CHUNK`] rows of `(lo, hi)`, in key order (`reversed`: from the
    /// largest key down).
    pub(crate) fn range_chunk(
        &self,
        tbl: &str,
        lo: &Bound<Vec<u8>>,
        hi: &Bound<Vec<u8>>,
        reversed: bool,
    ) -> PgResult<Vec<Pair>> {
        let sql = range_sql(side(lo), side(hi), reversed);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tbl];
        for b in [lo, hi] {
            if let Bound::Included(k) | Bound::Excluded(k) = b {
                params.push(k);
            }
        }
        params.push(&RANGE_CHUNK);
        self.with(|c| {
            let rows = c.query(sql, &params)?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// The row with the smallest (`last`: largest) key.
    pub(crate) fn end_row(&self, tbl: &str, last: bool) -> PgResult<Option<Pair>> {
        let sql = if last {
            "select k, v from wagate_kv where tbl = $1 order by k desc limit 1"
        } else {
            "select k, v from wagate_kv where tbl = $1 order by k limit 1"
        };
        self.with(|c| {
            let rows = c.query(sql, &[&tbl])?;
            Ok(rows.first().map(|r| (r.get(0), r.get(1))))
        })
    }

    /// How many rows the table holds.
    pub(crate) fn count(&self, tbl: &str) -> PgResult<u64> {
        self.with(|c| {
            let rows = c.query("select count(*) from wagate_kv where tbl = $1", &[&tbl])?;
            Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64)
        })
    }

    /// Whether `instance_id`'s lease still names `node_id` with `token`; the row is
    /// locked (`for share`) until the transaction ends, so a takeover waits for it.
    pub(crate) fn lease_holds(
        &self,
        instance_id: &str,
        node_id: &str,
        token: i64,
    ) -> PgResult<bool> {
        self.with(|c| {
            let rows = c.query(
                "select 1 from wagate_leases
                 where instance_id = $1 and node_id = $2 and token = $3 for share",
                &[&instance_id, &node_id, &token],
            )?;
            Ok(!rows.is_empty())
        })
    }

    /// The values multimap key `k` holds, in order.
    pub(crate) fn multi_get(&self, tbl: &str, k: &[u8]) -> PgResult<Vec<Vec<u8>>> {
        self.with(|c| {
            let rows = c.query(
                "select v from wagate_kv_multi where tbl = $1 and k = $2 order by v",
                &[&tbl, &k],
            )?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// Every (key, value) pair of a multimap table, in order.
    pub(crate) fn multi_all(&self, tbl: &str) -> PgResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.with(|c| {
            let rows = c.query(
                "select k, v from wagate_kv_multi where tbl = $1 order by k, v",
                &[&tbl],
            )?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Adds `v` to `k`'s set; returns whether it was there already.
    pub(crate) fn multi_put(&self, tbl: &str, k: &[u8], v: &[u8]) -> PgResult<bool> {
        self.with(|c| {
            let added = c.execute(
                "insert into wagate_kv_multi (tbl, k, v) values ($1, $2, $3) on conflict do nothing",
                &[&tbl, &k, &v],
            )?;
            Ok(added == 0)
        })
    }

    /// Takes `v` out of `k`'s set; returns whether it was there.
    pub(crate) fn multi_delete(&self, tbl: &str, k: &[u8], v: &[u8]) -> PgResult<bool> {
        self.with(|c| {
            let removed = c.execute(
                "delete from wagate_kv_multi where tbl = $1 and k = $2 and v = $3",
                &[&tbl, &k, &v],
            )?;
            Ok(removed > 0)
        })
    }

    /// Empties `k`'s set; returns what it held, in order.
    pub(crate) fn multi_delete_all(&self, tbl: &str, k: &[u8]) -> PgResult<Vec<Vec<u8>>> {
        self.with(|c| {
            let rows = c.query(
                "delete from wagate_kv_multi where tbl = $1 and k = $2 returning v",
                &[&tbl, &k],
            )?;
            let mut values: Vec<Vec<u8>> = rows.iter().map(|r| r.get(0)).collect();
            values.sort();
            Ok(values)
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.get_mut().take() else {
            return;
        };
        // A read ends here; so does a write that was neither committed nor rolled back
        // (its changes are dropped). The caller does not wait for the rollback (see
        // `Conn::rollback_in_background`).
        if self.open {
            conn.rollback_in_background();
        }
        self.pool.checkin(conn);
    }
}

/// Waits for `future` on the calling thread (see the module docs).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}
