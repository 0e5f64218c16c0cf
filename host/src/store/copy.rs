//! `wagate store copy`: every table of one store into another, so a single-node
//! install (redb) can move its state into PostgreSQL, or back.
//!
//! The copy works on the tables' encoded bytes (`Key::as_bytes` / `from_bytes`), not
//! on what they mean, so it needs no knowledge of core's records; each engine encodes
//! keys its own way underneath (PostgreSQL's big-endian `u64`), which the seam does.
//! Both stores must be closed to gateways (each open takes the store's lock), and the
//! destination must be empty: merging two gateways' state is not a copy. A table is
//! moved in chunks, each chunk one write transaction, and the row counts of both
//! sides are compared at the end.
//!
//! Media files are not in the store: they stay where the media store keeps them (the
//! data folder's media directory, or the S3 bucket).

use std::ops::Bound;
use std::sync::Arc;

use anyhow::Context;
use redb::{MultimapTableHandle as _, TableHandle as _};

use super::kv::{
    Key, KvError, MultimapTableDefinition, ReadableMultimapTable, ReadableTable, TableDefinition,
    Value,
};
use super::{Store, StoreError, internal, tables};

/// Rows per write transaction.
const CHUNK: usize = 2_000;

/// What was copied: each table's name and row count.
#[derive(Debug, Default)]
pub struct CopyReport {
    /// Each table's name and the rows copied into it, in copy order.
    pub tables: Vec<(String, u64)>,
}

impl CopyReport {
    /// Rows copied in all.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Runs `$each!(TABLE)` for every plain table and `$multi!(TABLE)` for every multimap
/// table of [`tables`]. A table added there must be added here; the unit test below
/// compares this list with the definitions in `tables.rs`.
macro_rules! every_table {
    ($each:ident, $multi:ident) => {
        $each!(tables::META);
        $each!(tables::SETTINGS);
        $each!(tables::ORGS);
        $each!(tables::ORG_NAMES);
        $each!(tables::CREDENTIALS);
        $multi!(tables::CREDENTIALS_BY_INSTANCE);
        $each!(tables::INSTANCES);
        $each!(tables::INSTANCE_NAMES);
        $each!(tables::CHATS);
        $each!(tables::MESSAGES);
        $each!(tables::MESSAGE_IDS);
        $each!(tables::OUTBOX);
        $each!(tables::MEDIA_GC);
        $each!(tables::WEBHOOKS);
        $multi!(tables::WEBHOOKS_BY_INSTANCE);
        $each!(tables::DELIVERY_QUEUE);
        $each!(tables::BROKER_GLOBALS);
        $each!(tables::DEAD_LETTERS);
        $each!(tables::GROUPS);
        $each!(tables::CONTACTS);
        $each!(tables::JID_ALTS);
        $each!(tables::POLL_SECRETS);
        $each!(tables::LABELS);
        $each!(tables::CHAT_LABELS);
        $each!(tables::PLUGIN_STORAGE);
        $each!(tables::SOCKETIO);
        for table in tables::WA_TABLES {
            $each!(table);
        }
    };
}

/// Copies every table of `from` into `to`, which must hold nothing yet. `progress` is
/// told each table's name and row count once it is copied.
pub async fn copy(
    from: &Store,
    to: &Store,
    mut progress: impl FnMut(&str, u64),
) -> anyhow::Result<CopyReport> {
    ensure_empty(to)?;
    let mut report = CopyReport::default();
    macro_rules! each {
        ($def:expr) => {{
            let def = $def;
            let rows = copy_table(from, to, def).await?;
            progress(def.name(), rows);
            report.tables.push((def.name().to_string(), rows));
        }};
    }
    macro_rules! multi {
        ($def:expr) => {{
            let def = $def;
            let rows = copy_multimap(from, to, def).await?;
            progress(def.name(), rows);
            report.tables.push((def.name().to_string(), rows));
        }};
    }
    every_table!(each, multi);
    verify(from, to)?;
    Ok(report)
}

/// Refuses a destination holding anything but the schema version its open wrote.
fn ensure_empty(to: &Store) -> anyhow::Result<()> {
    let mut found: Vec<String> = Vec::new();
    macro_rules! each {
        ($def:expr) => {{
            let def = $def;
            let n = count(to, def)?;
            let own = if def.name() == tables::META.name() {
                1 // schema_version
            } else {
                0
            };
            if n > own {
                found.push(format!("{} ({n} rows)", def.name()));
            }
        }};
    }
    macro_rules! multi {
        ($def:expr) => {{
            let def = $def;
            let n = count_multimap(to, def)?;
            if n > 0 {
                found.push(format!("{} ({n} rows)", def.name()));
            }
        }};
    }
    every_table!(each, multi);
    anyhow::ensure!(
        found.is_empty(),
        "the destination store is not empty ({}); copy into a new database or data folder",
        found.join(", ")
    );
    Ok(())
}

/// Both sides hold as many rows in every table.
fn verify(from: &Store, to: &Store) -> anyhow::Result<()> {
    macro_rules! each {
        ($def:expr) => {{
            let def = $def;
            let (a, b) = (count(from, def)?, count(to, def)?);
            anyhow::ensure!(
                a == b,
                "table {}: {a} rows in the source, {b} copied",
                def.name()
            );
        }};
    }
    macro_rules! multi {
        ($def:expr) => {{
            let def = $def;
            let (a, b) = (count_multimap(from, def)?, count_multimap(to, def)?);
            anyhow::ensure!(
                a == b,
                "table {}: {a} rows in the source, {b} copied",
                def.name()
            );
        }};
    }
    every_table!(each, multi);
    Ok(())
}

/// A redb table that was never written to does not exist yet: it holds nothing.
fn missing(e: &KvError) -> bool {
    matches!(e, KvError::Redb(redb::Error::TableDoesNotExist(_)))
}

fn count<K: Key + 'static, V: Value + 'static>(
    store: &Store,
    def: TableDefinition<'static, K, V>,
) -> anyhow::Result<u64> {
    store
        .read(|tx| match tx.open_table(def) {
            Ok(t) => t.len().map_err(internal),
            Err(e) if missing(&e) => Ok(0),
            Err(e) => Err(internal(e)),
        })
        .with_context(|| format!("counting table {}", def.name()))
}

fn count_multimap<K: Key + 'static, V: Key + 'static>(
    store: &Store,
    def: MultimapTableDefinition<'static, K, V>,
) -> anyhow::Result<u64> {
    Ok(read_pairs(store, def)?.len() as u64)
}

fn read_pairs<K: Key + 'static, V: Key + 'static>(
    store: &Store,
    def: MultimapTableDefinition<'static, K, V>,
) -> anyhow::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    store
        .read(|tx| match tx.open_multimap_table(def) {
            Ok(t) => t.pairs().map_err(internal),
            Err(e) if missing(&e) => Ok(Vec::new()),
            Err(e) => Err(internal(e)),
        })
        .with_context(|| format!("reading table {}", def.name()))
}

/// One table, [`CHUNK`] rows at a time: read the rows after the last key copied, write
/// them in one transaction.
async fn copy_table<K: Key + Send + 'static, V: Value + Send + 'static>(
    from: &Store,
    to: &Store,
    def: TableDefinition<'static, K, V>,
) -> anyhow::Result<u64> {
    let mut after: Option<Vec<u8>> = None;
    let mut copied = 0u64;
    loop {
        let chunk = from
            .read(|tx| {
                let table = match tx.open_table(def) {
                    Ok(t) => t,
                    Err(e) if missing(&e) => return Ok(Vec::new()),
                    Err(e) => return Err(internal(e)),
                };
                let rows = match &after {
                    None => table.iter(),
                    Some(last) => table.range::<K::SelfType<'_>>((
                        Bound::Excluded(K::from_bytes(last)),
                        Bound::Unbounded,
                    )),
                }
                .map_err(internal)?;
                let mut chunk = Vec::with_capacity(CHUNK);
                for row in rows.take(CHUNK) {
                    let (k, v) = row.map_err(internal)?;
                    chunk.push((
                        K::as_bytes(&k.value()).as_ref().to_vec(),
                        V::as_bytes(&v.value()).as_ref().to_vec(),
                    ));
                }
                Ok::<_, StoreError>(chunk)
            })
            .with_context(|| format!("reading table {}", def.name()))?;
        let Some((last, _)) = chunk.last() else {
            return Ok(copied);
        };
        after = Some(last.clone());
        let n = chunk.len();
        let rows = Arc::new(chunk);
        to.write(move |tx| {
            let mut table = tx.open_table(def).map_err(internal)?;
            for (k, v) in rows.iter() {
                table
                    .insert(K::from_bytes(k), V::from_bytes(v))
                    .map_err(internal)?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .with_context(|| format!("writing table {}", def.name()))?;
        copied += n as u64;
        if n < CHUNK {
            return Ok(copied);
        }
    }
}

/// One multimap table (the credential and webhook indexes: small), in one transaction.
async fn copy_multimap<K: Key + Send + 'static, V: Key + Send + 'static>(
    from: &Store,
    to: &Store,
    def: MultimapTableDefinition<'static, K, V>,
) -> anyhow::Result<u64> {
    let pairs = Arc::new(read_pairs(from, def)?);
    let n = pairs.len() as u64;
    let rows = pairs.clone();
    to.write(move |tx| {
        let mut table = tx.open_multimap_table(def).map_err(internal)?;
        for (k, v) in rows.iter() {
            table
                .insert(K::from_bytes(k), V::from_bytes(v))
                .map_err(internal)?;
        }
        Ok::<_, StoreError>(())
    })
    .await
    .with_context(|| format!("writing table {}", def.name()))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    /// Every table `tables.rs` defines is in [`every_table!`]: a table added there and
    /// forgotten here would be silently left behind by a copy.
    #[test]
    fn the_copy_list_names_every_table() {
        let source = include_str!("tables.rs");
        let mut defined: Vec<&str> = source
            .split("TableDefinition::new(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        defined.sort();
        let me = include_str!("copy.rs");
        let listed: String = me
            .split("macro_rules! every_table")
            .nth(1)
            .and_then(|m| m.split("\n}\n").next())
            .expect("the macro")
            .to_string();
        for name in defined {
            let konst = name.to_ascii_uppercase();
            assert!(
                listed.contains(&format!("tables::{konst})")) || konst.starts_with("WA_"),
                "table `{name}` ({konst}) is missing from every_table!"
            );
        }
        // The WhatsApp tables come in through WA_TABLES: every WA_ definition is in it.
        let wa = source
            .split("pub const WA_TABLES")
            .nth(1)
            .expect("WA_TABLES");
        for konst in source
            .split("pub const ")
            .skip(1)
            .filter_map(|d| d.split(':').next())
            .filter(|k| k.starts_with("WA_") && *k != "WA_TABLES")
        {
            assert!(
                wa.contains(&format!("    {konst},")),
                "{konst} is missing from WA_TABLES"
            );
        }
    }
}
