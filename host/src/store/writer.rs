//! The single writer thread and its group commit.
//!
//! redb allows one write transaction at a time and each durable commit costs an fsync
//! (PostgreSQL's commit costs a WAL flush), so the writer drains every job that is already queued and runs them in one
//! transaction: N concurrent mutations cost one fsync instead of N. Each caller is
//! answered only after the commit that holds its change is durable.
//!
//! When a job fails, the whole batch is rolled back and its jobs are replayed one
//! transaction each, so the failure stays with the job that caused it.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use redb::Database;
use tokio::sync::oneshot;

use super::kv::WriteTx;
use super::{StoreError, internal, pg};

/// Most jobs folded into one commit by default; bounds the latency one batch can add.
pub(crate) const DEFAULT_MAX_BATCH: usize = 512;

/// A job's own value or its own error, type-erased so jobs of every caller share one
/// queue (`submit` restores the types).
type Output = Box<dyn Any + Send>;
/// What a job answers: `Ok` its value, `Err` its own (caller-typed) error.
type JobResult = Result<Output, Output>;
/// A mutation as the writer runs it: may be run more than once (see `Store::write`).
pub type WriteJob = Box<dyn FnMut(&WriteTx) -> JobResult + Send>;

/// What a caller is answered: its job's result, or why the store could not commit it.
type Reply = Result<JobResult, StoreError>;

struct Queued {
    job: WriteJob,
    reply: Option<oneshot::Sender<Reply>>,
}

/// Where the writer's transactions run.
pub(super) enum Engine {
    Redb(Arc<Database>),
    /// A pool of one connection, the writer's own.
    Pg(pg::Pool),
}

impl Engine {
    fn begin(&self) -> Result<WriteTx, StoreError> {
        match self {
            Engine::Redb(db) => Ok(WriteTx::redb(db.begin_write().map_err(internal)?)),
            Engine::Pg(pool) => Ok(WriteTx::pg(pool.begin_write().map_err(internal)?)),
        }
    }
}

#[derive(Clone)]
pub(super) struct Writer {
    tx: mpsc::Sender<Queued>,
    /// Counts commits; every subscriber sees each change (dispatcher, live feed).
    pub(super) commits: Arc<tokio::sync::watch::Sender<u64>>,
    /// Counts commits that may have changed a stored credential (see
    /// `Store::credential_changes`).
    pub(super) credential_changes: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer thread; `max_batch` of 1 turns group commit off.
    pub(super) fn start(db: Engine, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Queued>();
        let commits = Arc::new(tokio::sync::watch::Sender::new(0u64));
        let credential_changes = Arc::new(AtomicU64::new(0));
        let counters = Counters {
            commits: commits.clone(),
            credential_changes: credential_changes.clone(),
        };
        std::thread::Builder::new()
            .name("wagate-writer".into())
            .spawn(move || run(db, rx, counters, max_batch.max(1)))
            .expect("spawning the writer thread");
        Writer {
            tx,
            commits,
            credential_changes,
        }
    }

    pub(super) async fn submit<T, E, F>(&self, mut job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&WriteTx) -> Result<T, E> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: WriteJob = Box::new(move |tx| {
            job(tx)
                .map(|v| Box::new(v) as Output)
                .map_err(|e| Box::new(e) as Output)
        });
        self.tx
            .send(Queued {
                job,
                reply: Some(reply),
            })
            .map_err(|_| StoreError::ShutDown)?;
        match rx.await.map_err(|_| StoreError::ShutDown)?? {
            Ok(out) => Ok(*out
                .downcast::<T>()
                .expect("writer returns the job's own output type")),
            Err(err) => Err(*err
                .downcast::<E>()
                .expect("writer returns the job's own error type")),
        }
    }
}

/// What the writer thread counts, each before it answers the batch it counts.
struct Counters {
    commits: Arc<tokio::sync::watch::Sender<u64>>,
    credential_changes: Arc<AtomicU64>,
}

impl Counters {
    /// After a transaction ended (committed, or failed to commit: it may have landed
    /// anyway on PostgreSQL), before its callers are answered: a request that follows a
    /// credential change's answer meets the new count.
    fn ended(&self, tx_opened_credentials: bool) {
        if tx_opened_credentials {
            self.credential_changes.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn run(db: Engine, rx: mpsc::Receiver<Queued>, counters: Counters, max_batch: usize) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let results = run_batch(&db, &mut batch, &counters);
        // Counted before anyone is answered: a caller that got its reply always sees
        // its commit in `Store::commits` (and so does a dispatcher woken by it).
        counters.commits.send_modify(|n| *n += 1);
        for (queued, result) in batch.into_iter().zip(results) {
            reply(queued, result);
        }
    }
}

/// Commits the batch, together when it can, and returns each job's result in order.
fn run_batch(db: &Engine, batch: &mut [Queued], counters: &Counters) -> Vec<Reply> {
    if batch.len() > 1 {
        match try_together(db, batch, counters) {
            Ok(outputs) => return outputs.into_iter().map(|o| Ok(Ok(o))).collect(),
            // The commit itself failed: nothing of the batch is stored.
            Err(Some(e)) => return batch.iter().map(|_| Err(e.clone())).collect(),
            Err(None) => {} // a job failed: replay them one by one below
        }
    }
    batch
        .iter_mut()
        .map(|queued| run_alone(db, &mut queued.job, counters))
        .collect()
}

/// Runs the whole batch in one transaction. `Err(None)`: a job failed and the batch was
/// rolled back; `Err(Some(e))`: storage failed for everyone.
fn try_together(
    db: &Engine,
    batch: &mut [Queued],
    counters: &Counters,
) -> Result<Vec<Output>, Option<StoreError>> {
    let tx = db.begin().map_err(Some)?;
    let mut outputs = Vec::with_capacity(batch.len());
    for queued in batch.iter_mut() {
        match (queued.job)(&tx) {
            Ok(out) => outputs.push(out),
            Err(_) => {
                let _ = tx.abort();
                return Err(None);
            }
        }
    }
    let opened_credentials = tx.opened_credentials();
    let committed = tx.commit();
    counters.ended(opened_credentials);
    committed.map_err(|e| Some(internal(e)))?;
    Ok(outputs)
}

fn run_alone(db: &Engine, job: &mut WriteJob, counters: &Counters) -> Reply {
    let tx = db.begin()?;
    match job(&tx) {
        Ok(out) => {
            let opened_credentials = tx.opened_credentials();
            let committed = tx.commit();
            counters.ended(opened_credentials);
            committed.map_err(internal)?;
            Ok(Ok(out))
        }
        Err(e) => {
            let _ = tx.abort();
            Ok(Err(e))
        }
    }
}

fn reply(queued: Queued, result: Reply) {
    if let Some(tx) = queued.reply {
        let _ = tx.send(result);
    }
}
