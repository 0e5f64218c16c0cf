//! The storage engine seam: the table operations the gateway's code uses, so that core,
//! the dispatcher and the WhatsApp session store never name the engine.
//!
//! Two engines sit behind it: redb, the embedded default, where every type here is a
//! thin wrapper over its redb counterpart (no copy, no allocation), and PostgreSQL
//! (`pg.rs`, cluster mode, issue 22), where reads hand back owned bytes. The shapes are
//! the ones any ordered key-value engine offers: typed tables of ordered keys, point
//! reads that hand back a guard with `.value()`, ordered ranges, and removal by
//! predicate over a range.
//!
//! Keys and values keep redb's type-level codecs ([`Key`], [`Value`]: `&str`, `&[u8]`,
//! `u64`, `()`), so the table definitions in `tables.rs` are the schema for every
//! engine.
//!
//! Migrations (`migrations.rs`) work on redb's own transaction: they rewrite a redb file
//! written by an older build, which is an engine's business, not core's.

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicBool, Ordering};

pub use redb::{Key, MultimapTableDefinition, TableDefinition, Value};
use redb::{
    ReadableMultimapTable as _, ReadableTable as _, ReadableTableMetadata as _, StorageError,
    TableHandle as _,
};

use super::pg;
pub use super::pg::PgError;

/// A storage engine failure: I/O, a corrupt page, a table opened with the wrong types,
/// a database that refused. Callers map it into their own error (`store::internal`,
/// which logs the detail).
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// redb failed.
    #[error(transparent)]
    Redb(redb::Error),
    /// PostgreSQL failed.
    #[error(transparent)]
    Pg(#[from] pg::PgError),
    /// Cluster mode: this node no longer holds the instance's lease with the token the
    /// write carries (another node took it over), so the write is refused.
    #[error("instance {0}'s lease has moved to another node; this node may not write its session")]
    Fenced(String),
}

macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for KvError {
            fn from(e: $error) -> Self {
                KvError::Redb(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError
);

/// A result whose error is the engine's.
pub type KvResult<T> = Result<T, KvError>;

/// A consistent snapshot of committed state (`Store::read`).
pub struct ReadTx(ReadEngine);

enum ReadEngine {
    Redb(redb::ReadTransaction),
    Pg(pg::Session),
}

/// The transaction a write job runs in (`Store::write`): its changes commit with the
/// rest of the job's batch, or not at all.
pub struct WriteTx {
    engine: WriteEngine,
    /// Whether a job opened the credentials table: the writer then counts a credential
    /// change once the batch is committed (see `Store::credential_changes`).
    opened_credentials: AtomicBool,
}

// One lives per write batch, on the writer thread: its size is of no consequence.
#[allow(clippy::large_enum_variant)]
enum WriteEngine {
    Redb(redb::WriteTransaction),
    Pg(pg::Session),
}

impl ReadTx {
    pub(super) fn redb(tx: redb::ReadTransaction) -> Self {
        ReadTx(ReadEngine::Redb(tx))
    }

    pub(super) fn pg(session: pg::Session) -> Self {
        ReadTx(ReadEngine::Pg(session))
    }

    /// Opens `def` for reading. Every table exists (the store creates them at open).
    pub fn open_table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> KvResult<ReadTable<'_, K, V>> {
        Ok(ReadTable(match &self.0 {
            ReadEngine::Redb(tx) => Either::Redb(tx.open_table(def)?),
            ReadEngine::Pg(s) => Either::Pg(PgTable::new(s, def.name())),
        }))
    }

    /// Opens a table whose keys each hold a set of values, for reading.
    pub fn open_multimap_table<K: Key + 'static, V: Key + 'static>(
        &self,
        def: MultimapTableDefinition<K, V>,
    ) -> KvResult<ReadMultimap<'_, K, V>> {
        use redb::MultimapTableHandle as _;
        Ok(ReadMultimap(match &self.0 {
            ReadEngine::Redb(tx) => Either::Redb(tx.open_multimap_table(def)?),
            ReadEngine::Pg(s) => Either::Pg(PgTable::new(s, def.name())),
        }))
    }
}

impl WriteTx {
    pub(super) fn redb(tx: redb::WriteTransaction) -> Self {
        Self::new(WriteEngine::Redb(tx))
    }

    pub(super) fn pg(session: pg::Session) -> Self {
        Self::new(WriteEngine::Pg(session))
    }

    fn new(engine: WriteEngine) -> Self {
        WriteTx {
            engine,
            opened_credentials: AtomicBool::new(false),
        }
    }

    /// Whether a job of this transaction opened the credentials table (to read or to
    /// change it: either counts, so nothing that changes a credential is missed).
    pub(super) fn opened_credentials(&self) -> bool {
        self.opened_credentials.load(Ordering::Relaxed)
    }

    /// Makes the transaction's changes durable.
    pub(super) fn commit(self) -> KvResult<()> {
        match self.engine {
            WriteEngine::Redb(tx) => Ok(tx.commit()?),
            WriteEngine::Pg(s) => Ok(s.commit()?),
        }
    }

    /// Drops the transaction's changes.
    pub(super) fn abort(self) -> KvResult<()> {
        match self.engine {
            WriteEngine::Redb(tx) => Ok(tx.abort()?),
            WriteEngine::Pg(s) => Ok(s.rollback()?),
        }
    }

    /// Cluster mode: fails with [`KvError::Fenced`] unless `fence` (`None`: no lease
    /// held) is still `instance_id`'s lease, and keeps the lease row from changing until
    /// this transaction ends. The embedded redb store has one gateway and no leases:
    /// there it always passes.
    pub fn check_fence(
        &self,
        instance_id: &str,
        fence: Option<&super::leases::Fence>,
    ) -> KvResult<()> {
        match &self.engine {
            WriteEngine::Redb(_) => Ok(()),
            WriteEngine::Pg(s) => match fence {
                Some(f) if s.lease_holds(instance_id, &f.node_id, f.token)? => Ok(()),
                _ => Err(KvError::Fenced(instance_id.to_string())),
            },
        }
    }

    /// Opens `def` for reading and writing. A table is open once at a time in a
    /// transaction: drop the handle before opening the same table again.
    pub fn open_table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> KvResult<Table<'_, K, V>> {
        if def.name() == super::tables::CREDENTIALS.name() {
            self.opened_credentials.store(true, Ordering::Relaxed);
        }
        Ok(Table(match &self.engine {
            WriteEngine::Redb(tx) => Either::Redb(tx.open_table(def)?),
            WriteEngine::Pg(s) => Either::Pg(PgTable::new(s, def.name())),
        }))
    }

    /// Opens a table whose keys each hold a set of values, for reading and writing.
    pub fn open_multimap_table<K: Key + 'static, V: Key + 'static>(
        &self,
        def: MultimapTableDefinition<K, V>,
    ) -> KvResult<MultimapTable<'_, K, V>> {
        use redb::MultimapTableHandle as _;
        Ok(MultimapTable(match &self.engine {
            WriteEngine::Redb(tx) => Either::Redb(tx.open_multimap_table(def)?),
            WriteEngine::Pg(s) => Either::Pg(PgTable::new(s, def.name())),
        }))
    }
}

/// A table on one engine or the other.
enum Either<R, P> {
    Redb(R),
    Pg(P),
}

/// A logical table in a PostgreSQL session: its rows are those tagged with its name.
struct PgTable<'tx, K, V> {
    session: &'tx pg::Session,
    name: String,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<'tx, K, V> PgTable<'tx, K, V> {
    fn new(session: &'tx pg::Session, name: &str) -> Self {
        PgTable {
            session,
            name: name.to_owned(),
            _types: PhantomData,
        }
    }
}

/// Whether `K` is `u64`, whose redb encoding (little-endian) PostgreSQL must store
/// reversed so that keys sort as bytes.
fn is_u64<K: Value>() -> bool {
    K::type_name() == <u64 as Value>::type_name()
}

/// The bytes PostgreSQL stores for key `k`.
fn stored_key<K: Value>(k: &K::SelfType<'_>) -> Vec<u8> {
    let mut bytes = K::as_bytes(k).as_ref().to_vec();
    if is_u64::<K>() {
        bytes.reverse();
    }
    bytes
}

/// A key as PostgreSQL stored it, back in `K`'s own encoding.
fn loaded_key<K: Value>(mut bytes: Vec<u8>) -> Vec<u8> {
    if is_u64::<K>() {
        bytes.reverse();
    }
    bytes
}

fn stored_bound<'a, K: Key + 'static, KR: Borrow<K::SelfType<'a>>>(
    b: Bound<&KR>,
) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(stored_key::<K>(k.borrow())),
        Bound::Excluded(k) => Bound::Excluded(stored_key::<K>(k.borrow())),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// A stored key or value, borrowed from the engine for as long as the guard lives.
pub struct Guard<'a, V: Value + 'static>(GuardEngine<'a, V>);

enum GuardEngine<'a, V: Value + 'static> {
    Redb(redb::AccessGuard<'a, V>),
    Owned(Vec<u8>),
}

impl<V: Value + 'static> Guard<'_, V> {
    fn owned(bytes: Vec<u8>) -> Self {
        Guard(GuardEngine::Owned(bytes))
    }

    /// The stored value, decoded by its type (`&[u8]`, `&str`, `u64`, ...).
    pub fn value(&self) -> V::SelfType<'_> {
        match &self.0 {
            GuardEngine::Redb(g) => g.value(),
            GuardEngine::Owned(bytes) => V::from_bytes(bytes),
        }
    }
}

/// One row: its key and its value.
pub type Row<'a, K, V> = (Guard<'a, K>, Guard<'a, V>);

fn redb_row<'a, K: Key + 'static, V: Value + 'static>(
    (k, v): (redb::AccessGuard<'a, K>, redb::AccessGuard<'a, V>),
) -> Row<'a, K, V> {
    (Guard(GuardEngine::Redb(k)), Guard(GuardEngine::Redb(v)))
}

fn pg_row<'a, K: Key + 'static, V: Value + 'static>((k, v): pg::Pair) -> Row<'a, K, V> {
    (Guard::owned(loaded_key::<K>(k)), Guard::owned(v))
}

/// Rows in key order (or from the back), as [`ReadableTable::range`] gives.
pub struct Range<'a, K: Key + 'static, V: Value + 'static>(
    Either<redb::Range<'a, K, V>, PgRange<'a>>,
);

/// A PostgreSQL range, fetched a chunk at a time as it is iterated (a page of 20
/// messages must not read the chat's every message), from either end.
struct PgRange<'a> {
    session: &'a pg::Session,
    table: String,
    /// What is left to fetch: past the last row fetched from the front, and before the
    /// last row fetched from the back, so the two ends never fetch a row twice.
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    /// Fetched from the front, in key order.
    front: VecDeque<pg::Pair>,
    /// Fetched from the back, largest key first.
    back: VecDeque<pg::Pair>,
    /// Nothing is left to fetch between `lo` and `hi`.
    drained: bool,
}

impl PgRange<'_> {
    /// Fetches the next chunk from one end; `Ok(false)` once nothing is left to fetch.
    fn fetch(&mut self, reversed: bool) -> KvResult<bool> {
        if self.drained {
            return Ok(false);
        }
        let rows = self
            .session
            .range_chunk(&self.table, &self.lo, &self.hi, reversed)?;
        self.drained = rows.len() < pg::RANGE_CHUNK as usize;
        let Some((edge, _)) = rows.last() else {
            return Ok(false);
        };
        if reversed {
            self.hi = Bound::Excluded(edge.clone());
            self.back.extend(rows);
        } else {
            self.lo = Bound::Excluded(edge.clone());
            self.front.extend(rows);
        }
        Ok(true)
    }

    fn next_pair(&mut self) -> Option<KvResult<pg::Pair>> {
        if self.front.is_empty() {
            match self.fetch(false) {
                Ok(true) => {}
                // Everything left was fetched from the back: its smallest comes next.
                Ok(false) => return self.back.pop_back().map(Ok),
                Err(e) => {
                    self.drained = true;
                    return Some(Err(e));
                }
            }
        }
        self.front.pop_front().map(Ok)
    }

    fn next_pair_back(&mut self) -> Option<KvResult<pg::Pair>> {
        if self.back.is_empty() {
            match self.fetch(true) {
                Ok(true) => {}
                Ok(false) => return self.front.pop_back().map(Ok),
                Err(e) => {
                    self.drained = true;
                    return Some(Err(e));
                }
            }
        }
        self.back.pop_front().map(Ok)
    }
}

impl<K: Key + 'static, V: Value + 'static> DoubleEndedIterator for Range<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Either::Redb(r) => Some(r.next_back()?.map(redb_row).map_err(KvError::from)),
            Either::Pg(r) => Some(r.next_pair_back()?.map(pg_row)),
        }
    }
}

impl<'a, K: Key + 'static, V: Value + 'static> Iterator for Range<'a, K, V> {
    type Item = KvResult<Row<'a, K, V>>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Either::Redb(r) => Some(r.next()?.map(redb_row).map_err(KvError::from)),
            Either::Pg(r) => Some(r.next_pair()?.map(pg_row)),
        }
    }
}

impl<K: Key + 'static, V: Value + 'static> PgTable<'_, K, V> {
    fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> PgRange<'_>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        PgRange {
            session: self.session,
            table: self.name.clone(),
            lo: stored_bound::<K, KR>(range.start_bound()),
            hi: stored_bound::<K, KR>(range.end_bound()),
            front: VecDeque::new(),
            back: VecDeque::new(),
            drained: false,
        }
    }

    /// The stored keys in `range` whose rows `pick` selects, with their values.
    fn select<'a, KR, F>(
        &self,
        range: impl RangeBounds<KR> + 'a,
        mut pick: F,
    ) -> KvResult<Vec<pg::Pair>>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        let mut rows = self.range::<KR>(range);
        let mut picked = Vec::new();
        while let Some(pair) = rows.next_pair() {
            let (k, v) = pair?;
            let key = loaded_key::<K>(k.clone());
            if pick(K::from_bytes(&key), V::from_bytes(&v)) {
                picked.push((k, v));
            }
        }
        Ok(picked)
    }
}

/// What reading a table offers, in a read or a write transaction alike.
pub trait ReadableTable<K: Key + 'static, V: Value + 'static> {
    /// The value at `key`, if any.
    fn get<'a>(&self, key: impl Borrow<K::SelfType<'a>>) -> KvResult<Option<Guard<'_, V>>>;

    /// The rows whose keys fall in `range`, in key order.
    fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> KvResult<Range<'_, K, V>>
    where
        KR: Borrow<K::SelfType<'a>> + 'a;

    /// The row with the smallest key.
    fn first(&self) -> KvResult<Option<Row<'_, K, V>>>;

    /// The row with the largest key.
    fn last(&self) -> KvResult<Option<Row<'_, K, V>>>;

    /// How many rows the table holds.
    fn len(&self) -> KvResult<u64>;

    /// Whether the table holds no row.
    fn is_empty(&self) -> KvResult<bool> {
        Ok(self.len()? == 0)
    }

    /// Every row, in key order.
    fn iter(&self) -> KvResult<Range<'_, K, V>> {
        self.range::<K::SelfType<'_>>(..)
    }
}

/// A table opened in a read transaction.
pub struct ReadTable<'tx, K: Key + 'static, V: Value + 'static>(
    Either<redb::ReadOnlyTable<K, V>, PgTable<'tx, K, V>>,
);

/// A table opened in a write transaction.
pub struct Table<'tx, K: Key + 'static, V: Value + 'static>(
    Either<redb::Table<'tx, K, V>, PgTable<'tx, K, V>>,
);

/// The read side of [`ReadTable`] and [`Table`]: the same calls on either.
macro_rules! readable {
    ($($table:ident),*) => {$(
        impl<K: Key + 'static, V: Value + 'static> ReadableTable<K, V> for $table<'_, K, V> {
            fn get<'a>(&self, key: impl Borrow<K::SelfType<'a>>) -> KvResult<Option<Guard<'_, V>>> {
                match &self.0 {
                    Either::Redb(t) => Ok(t.get(key)?.map(|g| Guard(GuardEngine::Redb(g)))),
                    Either::Pg(t) => Ok(t
                        .session
                        .get(&t.name, &stored_key::<K>(key.borrow()))?
                        .map(Guard::owned)),
                }
            }

            fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> KvResult<Range<'_, K, V>>
            where
                KR: Borrow<K::SelfType<'a>> + 'a,
            {
                Ok(Range(match &self.0 {
                    Either::Redb(t) => Either::Redb(t.range(range)?),
                    Either::Pg(t) => Either::Pg(t.range::<KR>(range)),
                }))
            }

            fn first(&self) -> KvResult<Option<Row<'_, K, V>>> {
                match &self.0 {
                    Either::Redb(t) => Ok(t.first()?.map(redb_row)),
                    Either::Pg(t) => Ok(t.session.end_row(&t.name, false)?.map(pg_row)),
                }
            }

            fn last(&self) -> KvResult<Option<Row<'_, K, V>>> {
                match &self.0 {
                    Either::Redb(t) => Ok(t.last()?.map(redb_row)),
                    Either::Pg(t) => Ok(t.session.end_row(&t.name, true)?.map(pg_row)),
                }
            }

            fn len(&self) -> KvResult<u64> {
                match &self.0 {
                    Either::Redb(t) => Ok(t.len()?),
                    Either::Pg(t) => Ok(t.session.count(&t.name)?),
                }
            }
        }
    )*};
}
readable!(ReadTable, Table);

impl<K: Key + 'static, V: Value + 'static> Table<'_, K, V> {
    /// Sets `key` to `value`; returns the value it replaced, if any.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> KvResult<Option<Guard<'_, V>>> {
        match &mut self.0 {
            Either::Redb(t) => Ok(t.insert(key, value)?.map(|g| Guard(GuardEngine::Redb(g)))),
            Either::Pg(t) => Ok(t
                .session
                .put(
                    &t.name,
                    &stored_key::<K>(key.borrow()),
                    V::as_bytes(value.borrow()).as_ref(),
                )?
                .map(Guard::owned)),
        }
    }

    /// Removes `key`; returns the value it held, if any.
    pub fn remove<'a>(
        &mut self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> KvResult<Option<Guard<'_, V>>> {
        match &mut self.0 {
            Either::Redb(t) => Ok(t.remove(key)?.map(|g| Guard(GuardEngine::Redb(g)))),
            Either::Pg(t) => Ok(t
                .session
                .delete(&t.name, &stored_key::<K>(key.borrow()))?
                .map(Guard::owned)),
        }
    }

    /// Removes and returns the row with the smallest key.
    pub fn pop_first(&mut self) -> KvResult<Option<Row<'_, K, V>>> {
        match &mut self.0 {
            Either::Redb(t) => Ok(t.pop_first()?.map(redb_row)),
            Either::Pg(t) => {
                let Some((k, v)) = t.session.end_row(&t.name, false)? else {
                    return Ok(None);
                };
                t.session.delete(&t.name, &k)?;
                Ok(Some(pg_row((k, v))))
            }
        }
    }

    /// Removes the rows in `range` for which `take` holds and hands them back. On redb
    /// a row is removed as the iterator reaches it (one the iterator is not driven to
    /// stays); on PostgreSQL all are removed by this call. Drive it to the end.
    pub fn extract_from_if<'a, KR, F>(
        &mut self,
        range: impl RangeBounds<KR> + 'a,
        take: F,
    ) -> KvResult<Extracted<'_, K, V, F>>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        match &mut self.0 {
            Either::Redb(t) => Ok(Extracted(Either::Redb(t.extract_from_if(range, take)?))),
            Either::Pg(t) => {
                let taken = t.select::<KR, F>(range, take)?;
                let keys: Vec<Vec<u8>> = taken.iter().map(|(k, _)| k.clone()).collect();
                t.session.delete_keys(&t.name, &keys)?;
                Ok(Extracted(Either::Pg((taken.into_iter(), PhantomData))))
            }
        }
    }

    /// Keeps the rows for which `keep` holds and removes the others.
    pub fn retain<F>(&mut self, keep: F) -> KvResult<()>
    where
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        self.retain_in::<K::SelfType<'_>, F>(.., keep)
    }

    /// [`Table::retain`] over the rows whose keys fall in `range` only.
    pub fn retain_in<'a, KR, F>(
        &mut self,
        range: impl RangeBounds<KR> + 'a,
        mut keep: F,
    ) -> KvResult<()>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        match &mut self.0 {
            Either::Redb(t) => Ok(t.retain_in(range, keep)?),
            Either::Pg(t) => {
                let doomed = t.select::<KR, _>(range, |k, v| !keep(k, v))?;
                let keys: Vec<Vec<u8>> = doomed.into_iter().map(|(k, _)| k).collect();
                Ok(t.session.delete_keys(&t.name, &keys)?)
            }
        }
    }
}

/// The rows PostgreSQL removed for [`Table::extract_from_if`] (the predicate has run).
type PgExtracted<F> = (std::vec::IntoIter<pg::Pair>, PhantomData<F>);

/// The rows [`Table::extract_from_if`] removes, in key order.
pub struct Extracted<'a, K, V, F>(Either<redb::ExtractIf<'a, K, V, F>, PgExtracted<F>>)
where
    K: Key + 'static,
    V: Value + 'static,
    F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool;

impl<'a, K, V, F> Iterator for Extracted<'a, K, V, F>
where
    K: Key + 'static,
    V: Value + 'static,
    F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
{
    type Item = KvResult<Row<'a, K, V>>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Either::Redb(r) => Some(r.next()?.map(redb_row).map_err(KvError::from)),
            Either::Pg((rows, _)) => Some(Ok(pg_row(rows.next()?))),
        }
    }
}

/// The values one key of a multimap table holds, in order.
pub struct MultimapValues<'a, V: Key + 'static>(
    Either<redb::MultimapValue<'a, V>, std::vec::IntoIter<Vec<u8>>>,
);

impl<'a, V: Key + 'static> Iterator for MultimapValues<'a, V> {
    type Item = KvResult<Guard<'a, V>>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Either::Redb(r) => Some(
                r.next()?
                    .map(|g| Guard(GuardEngine::Redb(g)))
                    .map_err(KvError::from),
            ),
            Either::Pg(values) => Some(Ok(Guard::owned(loaded_key::<V>(values.next()?)))),
        }
    }
}

/// What reading a multimap table offers, in a read or a write transaction alike.
pub trait ReadableMultimapTable<K: Key + 'static, V: Key + 'static> {
    /// The values `key` holds (none when the key is absent).
    fn get<'a>(&self, key: impl Borrow<K::SelfType<'a>>) -> KvResult<MultimapValues<'_, V>>;

    /// Every (key, value) pair in order, each in its type's encoding (`K::as_bytes`):
    /// for `wagate store copy`, which moves tables it does not interpret.
    fn pairs(&self) -> KvResult<Vec<(Vec<u8>, Vec<u8>)>>;
}

/// A multimap table opened in a read transaction.
pub struct ReadMultimap<'tx, K: Key + 'static, V: Key + 'static>(
    Either<redb::ReadOnlyMultimapTable<K, V>, PgTable<'tx, K, V>>,
);

/// A multimap table opened in a write transaction.
pub struct MultimapTable<'tx, K: Key + 'static, V: Key + 'static>(
    Either<redb::MultimapTable<'tx, K, V>, PgTable<'tx, K, V>>,
);

macro_rules! readable_multimap {
    ($($table:ident),*) => {$(
        impl<K: Key + 'static, V: Key + 'static> ReadableMultimapTable<K, V> for $table<'_, K, V> {
            fn get<'a>(&self, key: impl Borrow<K::SelfType<'a>>) -> KvResult<MultimapValues<'_, V>> {
                match &self.0 {
                    Either::Redb(t) => Ok(MultimapValues(Either::Redb(t.get(key)?))),
                    Either::Pg(t) => Ok(MultimapValues(Either::Pg(
                        t.session
                            .multi_get(&t.name, &stored_key::<K>(key.borrow()))?
                            .into_iter(),
                    ))),
                }
            }

            fn pairs(&self) -> KvResult<Vec<(Vec<u8>, Vec<u8>)>> {
                match &self.0 {
                    Either::Redb(t) => {
                        let mut out = Vec::new();
                        for entry in t.iter()? {
                            let (key, values) = entry?;
                            let key = K::as_bytes(&key.value()).as_ref().to_vec();
                            for value in values {
                                let value = V::as_bytes(&value?.value()).as_ref().to_vec();
                                out.push((key.clone(), value));
                            }
                        }
                        Ok(out)
                    }
                    Either::Pg(t) => Ok(t
                        .session
                        .multi_all(&t.name)?
                        .into_iter()
                        .map(|(k, v)| (loaded_key::<K>(k), loaded_key::<V>(v)))
                        .collect()),
                }
            }
        }
    )*};
}
readable_multimap!(ReadMultimap, MultimapTable);

impl<K: Key + 'static, V: Key + 'static> MultimapTable<'_, K, V> {
    /// Adds `value` to the set `key` holds; returns whether it was there already.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> KvResult<bool> {
        match &mut self.0 {
            Either::Redb(t) => Ok(t.insert(key, value)?),
            Either::Pg(t) => Ok(t.session.multi_put(
                &t.name,
                &stored_key::<K>(key.borrow()),
                &stored_key::<V>(value.borrow()),
            )?),
        }
    }

    /// Takes `value` out of the set `key` holds; returns whether it was there.
    pub fn remove<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> KvResult<bool> {
        match &mut self.0 {
            Either::Redb(t) => Ok(t.remove(key, value)?),
            Either::Pg(t) => Ok(t.session.multi_delete(
                &t.name,
                &stored_key::<K>(key.borrow()),
                &stored_key::<V>(value.borrow()),
            )?),
        }
    }

    /// Empties the set `key` holds; returns the values it held.
    pub fn remove_all<'a>(
        &mut self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> KvResult<MultimapValues<'_, V>> {
        match &mut self.0 {
            Either::Redb(t) => Ok(MultimapValues(Either::Redb(t.remove_all(key)?))),
            Either::Pg(t) => Ok(MultimapValues(Either::Pg(
                t.session
                    .multi_delete_all(&t.name, &stored_key::<K>(key.borrow()))?
                    .into_iter(),
            ))),
        }
    }
}
