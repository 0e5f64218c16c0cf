//! The storage engine seam: the table operations the gateway's code uses, so that core,
//! the dispatcher and the WhatsApp session store never name the engine.
//!
//! The one engine today is redb, the embedded default, and every type here is a thin
//! wrapper over its counterpart (no copy, no allocation). The shapes are the ones any
//! ordered key-value engine offers: typed tables of ordered keys, point reads that hand
//! back a guard with `.value()`, ordered double-ended ranges, and removal by predicate
//! over a range. Cluster mode (issue 22, `docs/design/cluster.md`) puts PostgreSQL
//! behind these same types; nothing outside `store` changes then.
//!
//! Keys and values keep redb's type-level codecs ([`Key`], [`Value`]: `&str`, `&[u8]`,
//! `u64`, `()`), so the table definitions in `tables.rs` are the schema for every
//! engine.
//!
//! Migrations (`migrations.rs`) work on redb's own transaction: they rewrite a redb file
//! written by an older build, which is an engine's business, not core's.

use std::borrow::Borrow;
use std::ops::RangeBounds;

pub use redb::{Key, MultimapTableDefinition, TableDefinition, Value};
use redb::{
    ReadableMultimapTable as _, ReadableTable as _, ReadableTableMetadata as _, StorageError,
};

/// A storage engine failure: I/O, a corrupt page, a table opened with the wrong types.
/// Callers map it into their own error (`store::internal`, which logs the detail).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct KvError(redb::Error);

macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for KvError {
            fn from(e: $error) -> Self {
                KvError(e.into())
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
pub struct ReadTx(redb::ReadTransaction);

/// The transaction a write job runs in (`Store::write`): its changes commit with the
/// rest of the job's batch, or not at all.
pub struct WriteTx(redb::WriteTransaction);

impl ReadTx {
    pub(super) fn new(tx: redb::ReadTransaction) -> Self {
        ReadTx(tx)
    }

    /// Opens `def` for reading. Every table exists (the store creates them at open).
    pub fn open_table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> KvResult<ReadTable<K, V>> {
        Ok(ReadTable(self.0.open_table(def)?))
    }

    /// Opens a table whose keys each hold a set of values, for reading.
    pub fn open_multimap_table<K: Key + 'static, V: Key + 'static>(
        &self,
        def: MultimapTableDefinition<K, V>,
    ) -> KvResult<ReadMultimap<K, V>> {
        Ok(ReadMultimap(self.0.open_multimap_table(def)?))
    }
}

impl WriteTx {
    pub(super) fn new(tx: redb::WriteTransaction) -> Self {
        WriteTx(tx)
    }

    /// Makes the transaction's changes durable.
    pub(super) fn commit(self) -> KvResult<()> {
        Ok(self.0.commit()?)
    }

    /// Drops the transaction's changes.
    pub(super) fn abort(self) -> KvResult<()> {
        Ok(self.0.abort()?)
    }

    /// Opens `def` for reading and writing. A table is open once at a time in a
    /// transaction: drop the handle before opening the same table again.
    pub fn open_table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> KvResult<Table<'_, K, V>> {
        Ok(Table(self.0.open_table(def)?))
    }

    /// Opens a table whose keys each hold a set of values, for reading and writing.
    pub fn open_multimap_table<K: Key + 'static, V: Key + 'static>(
        &self,
        def: MultimapTableDefinition<K, V>,
    ) -> KvResult<MultimapTable<'_, K, V>> {
        Ok(MultimapTable(self.0.open_multimap_table(def)?))
    }
}

/// A stored key or value, borrowed from the engine for as long as the guard lives.
pub struct Guard<'a, V: Value + 'static>(redb::AccessGuard<'a, V>);

impl<V: Value + 'static> Guard<'_, V> {
    /// The stored value, decoded by its type (`&[u8]`, `&str`, `u64`, ...).
    pub fn value(&self) -> V::SelfType<'_> {
        self.0.value()
    }
}

/// One row: its key and its value.
pub type Row<'a, K, V> = (Guard<'a, K>, Guard<'a, V>);

fn row<'a, K: Key + 'static, V: Value + 'static>(
    (k, v): (redb::AccessGuard<'a, K>, redb::AccessGuard<'a, V>),
) -> Row<'a, K, V> {
    (Guard(k), Guard(v))
}

/// Rows in key order (or reversed, from the back), as [`ReadableTable::range`] gives.
pub struct Range<'a, K: Key + 'static, V: Value + 'static>(redb::Range<'a, K, V>);

impl<'a, K: Key + 'static, V: Value + 'static> Iterator for Range<'a, K, V> {
    type Item = KvResult<Row<'a, K, V>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map(row).map_err(KvError::from))
    }
}

impl<K: Key + 'static, V: Value + 'static> DoubleEndedIterator for Range<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        Some(self.0.next_back()?.map(row).map_err(KvError::from))
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
pub struct ReadTable<K: Key + 'static, V: Value + 'static>(redb::ReadOnlyTable<K, V>);

/// A table opened in a write transaction.
pub struct Table<'tx, K: Key + 'static, V: Value + 'static>(redb::Table<'tx, K, V>);

/// The read side of [`ReadTable`] and [`Table`]: the same calls on either engine table.
macro_rules! readable {
    ($($table:ident $(<$tx:lifetime>)?),*) => {$(
        impl<$($tx,)? K: Key + 'static, V: Value + 'static> ReadableTable<K, V>
            for $table<$($tx,)? K, V>
        {
            fn get<'a>(&self, key: impl Borrow<K::SelfType<'a>>) -> KvResult<Option<Guard<'_, V>>> {
                Ok(self.0.get(key)?.map(Guard))
            }

            fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> KvResult<Range<'_, K, V>>
            where
                KR: Borrow<K::SelfType<'a>> + 'a,
            {
                Ok(Range(self.0.range(range)?))
            }

            fn first(&self) -> KvResult<Option<Row<'_, K, V>>> {
                Ok(self.0.first()?.map(row))
            }

            fn last(&self) -> KvResult<Option<Row<'_, K, V>>> {
                Ok(self.0.last()?.map(row))
            }

            fn len(&self) -> KvResult<u64> {
                Ok(self.0.len()?)
            }
        }
    )*};
}
readable!(ReadTable, Table<'tx>);

impl<K: Key + 'static, V: Value + 'static> Table<'_, K, V> {
    /// Sets `key` to `value`; returns the value it replaced, if any.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> KvResult<Option<Guard<'_, V>>> {
        Ok(self.0.insert(key, value)?.map(Guard))
    }

    /// Removes `key`; returns the value it held, if any.
    pub fn remove<'a>(
        &mut self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> KvResult<Option<Guard<'_, V>>> {
        Ok(self.0.remove(key)?.map(Guard))
    }

    /// Removes and returns the row with the smallest key.
    pub fn pop_first(&mut self) -> KvResult<Option<Row<'_, K, V>>> {
        Ok(self.0.pop_first()?.map(row))
    }

    /// Removes the rows in `range` for which `take` holds, handing each back as the
    /// iterator reaches it (a row the iterator is not driven to stays).
    pub fn extract_from_if<'a, KR, F>(
        &mut self,
        range: impl RangeBounds<KR> + 'a,
        take: F,
    ) -> KvResult<Extracted<'_, K, V, F>>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        Ok(Extracted(self.0.extract_from_if(range, take)?))
    }

    /// Keeps the rows for which `keep` holds and removes the others.
    pub fn retain<F>(&mut self, keep: F) -> KvResult<()>
    where
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        Ok(self.0.retain(keep)?)
    }

    /// [`Table::retain`] over the rows whose keys fall in `range` only.
    pub fn retain_in<'a, KR, F>(
        &mut self,
        range: impl RangeBounds<KR> + 'a,
        keep: F,
    ) -> KvResult<()>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
        F: for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    {
        Ok(self.0.retain_in(range, keep)?)
    }
}

/// The rows [`Table::extract_from_if`] removes, in key order.
pub struct Extracted<'a, K, V, F>(redb::ExtractIf<'a, K, V, F>)
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
        Some(self.0.next()?.map(row).map_err(KvError::from))
    }
}

/// The values one key of a multimap table holds, in order.
pub struct MultimapValues<'a, V: Key + 'static>(redb::MultimapValue<'a, V>);

impl<'a, V: Key + 'static> Iterator for MultimapValues<'a, V> {
    type Item = KvResult<Guard<'a, V>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next()?.map(Guard).map_err(KvError::from))
    }
}

/// What reading a multimap table offers, in a read or a write transaction alike.
pub trait ReadableMultimapTable<K: Key + 'static, V: Key + 'static> {
    /// The values `key` holds (none when the key is absent).
    fn get<'a>(&self, key: impl Borrow<K::SelfType<'a>>) -> KvResult<MultimapValues<'_, V>>;
}

/// A multimap table opened in a read transaction.
pub struct ReadMultimap<K: Key + 'static, V: Key + 'static>(redb::ReadOnlyMultimapTable<K, V>);

/// A multimap table opened in a write transaction.
pub struct MultimapTable<'tx, K: Key + 'static, V: Key + 'static>(redb::MultimapTable<'tx, K, V>);

macro_rules! readable_multimap {
    ($($table:ident $(<$tx:lifetime>)?),*) => {$(
        impl<$($tx,)? K: Key + 'static, V: Key + 'static> ReadableMultimapTable<K, V>
            for $table<$($tx,)? K, V>
        {
            fn get<'a>(&self, key: impl Borrow<K::SelfType<'a>>) -> KvResult<MultimapValues<'_, V>> {
                Ok(MultimapValues(self.0.get(key)?))
            }
        }
    )*};
}
readable_multimap!(ReadMultimap, MultimapTable<'tx>);

impl<K: Key + 'static, V: Key + 'static> MultimapTable<'_, K, V> {
    /// Adds `value` to the set `key` holds; returns whether it was there already.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> KvResult<bool> {
        Ok(self.0.insert(key, value)?)
    }

    /// Takes `value` out of the set `key` holds; returns whether it was there.
    pub fn remove<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> KvResult<bool> {
        Ok(self.0.remove(key, value)?)
    }

    /// Empties the set `key` holds; returns the values it held.
    pub fn remove_all<'a>(
        &mut self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> KvResult<MultimapValues<'_, V>> {
        Ok(MultimapValues(self.0.remove_all(key)?))
    }
}
