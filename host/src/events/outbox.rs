//! Appending to and reading the outbox table.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use crate::core::model::{CoreResult, Event, EventPayload, Instance};
use crate::store::{decode, encode, internal, tables};
use crate::util::now_ms;

/// Builds an event for `instance` with a fresh stable id.
pub fn event_for(instance: &Instance, payload: EventPayload) -> Event {
    Event {
        id: format!("evt_{}", ulid::Ulid::new()),
        instance_id: instance.id.clone(),
        instance_name: instance.name.clone(),
        org: instance.org.clone(),
        timestamp: now_ms(),
        payload,
    }
}

/// Appends `event` at the next sequence number, inside the caller's transaction, and
/// queues it for the instance's webhooks in the same transaction.
pub fn append(tx: &WriteTransaction, event: &Event) -> CoreResult<u64> {
    // The sequence lives in META, not in the table's last key: the outbox is compacted,
    // and a reused number would collide with deliveries still queued under it.
    let mut meta = tx.open_table(tables::META).map_err(internal)?;
    let next = meta
        .get("outbox_seq")
        .map_err(internal)?
        .map(|v| v.value())
        .unwrap_or(0)
        + 1;
    meta.insert("outbox_seq", next).map_err(internal)?;
    drop(meta);
    tx.open_table(tables::OUTBOX)
        .map_err(internal)?
        .insert(next, encode(event).as_slice())
        .map_err(internal)?;
    crate::core::webhooks::fan_out(tx, next, event)?;
    Ok(next)
}

/// Events with sequence numbers above `after`, oldest first, at most `limit`.
pub fn read_after(tx: &ReadTransaction, after: u64, limit: usize) -> CoreResult<Vec<(u64, Event)>> {
    let table = tx.open_table(tables::OUTBOX).map_err(internal)?;
    let mut out = Vec::new();
    for row in table.range(after + 1..).map_err(internal)?.take(limit) {
        let (k, v) = row.map_err(internal)?;
        out.push((k.value(), decode(v.value())?));
    }
    Ok(out)
}
