//! Appending to and reading the outbox table.

use crate::store::kv::{ReadTx, ReadableTable, WriteTx};

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
pub fn append(tx: &WriteTx, event: &Event) -> CoreResult<u64> {
    let filled = super::lid_map::event_with_alts(tx, event)?;
    let event = filled.as_ref().unwrap_or(event);
    let next = next_seq(tx)?;
    tx.open_table(tables::OUTBOX)
        .map_err(internal)?
        .insert(next, encode(event).as_slice())
        .map_err(internal)?;
    crate::core::webhooks::fan_out(tx, next, event)?;
    Ok(next)
}

/// Takes the next outbox sequence number. It lives in META, not in the table's last
/// key: the outbox is compacted, and a reused number would collide with deliveries
/// still queued under it. (A webhook test delivery takes one too, so its place in its
/// webhook's queue is after everything queued before it.)
pub(crate) fn next_seq(tx: &WriteTx) -> CoreResult<u64> {
    let mut meta = tx.open_table(tables::META).map_err(internal)?;
    let next = meta
        .get("outbox_seq")
        .map_err(internal)?
        .map(|v| v.value())
        .unwrap_or(0)
        + 1;
    meta.insert("outbox_seq", next).map_err(internal)?;
    Ok(next)
}

/// Events with sequence numbers above `after`, oldest first, at most `limit`.
pub fn read_after(tx: &ReadTx, after: u64, limit: usize) -> CoreResult<Vec<(u64, Event)>> {
    let table = tx.open_table(tables::OUTBOX).map_err(internal)?;
    let mut out = Vec::new();
    for row in table.range(after + 1..).map_err(internal)?.take(limit) {
        let (k, v) = row.map_err(internal)?;
        out.push((k.value(), decode(v.value())?));
    }
    Ok(out)
}

/// How many of the newest events the outbox keeps for inspection after every sink has
/// passed them.
pub const KEEP_TAIL: u64 = 1_000;

/// Most events one compaction transaction removes: the writer is single, and a
/// compaction chunk shares its group commit with the requests' writes, so a chunk's
/// time is added to theirs (a 4 s stall was measured with one delete of 110k events;
/// chunks of 2,000 still put 90-200 ms on the p99 of the deletes running beside the
/// compaction of a 150k-event backlog, BENCHMARKS.md).
const COMPACT_CHUNK: u64 = 256;

/// The pause between two compaction chunks, so requests' writes get the writer to
/// themselves in between (a 150k-event backlog still compacts in a few seconds).
const COMPACT_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// Removes outbox events every sink has passed. Webhooks take their events at write
/// time (fan-out into their own queues), so today every event is passed as soon as it
/// is committed; only the newest [`KEEP_TAIL`] stay. Works in chunks of
/// [`COMPACT_CHUNK`], each its own transaction, so other writes interleave. Returns how
/// many were removed.
pub async fn compact(store: &crate::store::Store) -> CoreResult<u64> {
    let mut total = 0;
    loop {
        let removed = store
            .write(|tx| -> CoreResult<u64> {
                let last = tx
                    .open_table(tables::META)
                    .map_err(internal)?
                    .get("outbox_seq")
                    .map_err(internal)?
                    .map(|v| v.value())
                    .unwrap_or(0);
                let below = last.saturating_sub(KEEP_TAIL);
                let mut table = tx.open_table(tables::OUTBOX).map_err(internal)?;
                let first = match table.first().map_err(internal)? {
                    Some((seq, _)) => seq.value(),
                    None => return Ok(0),
                };
                if first > below {
                    return Ok(0);
                }
                let upto = below.min(first + COMPACT_CHUNK - 1);
                let mut removed = 0;
                table
                    .retain_in(first..=upto, |_, _| {
                        removed += 1;
                        false
                    })
                    .map_err(internal)?;
                Ok(removed)
            })
            .await?;
        if removed == 0 {
            return Ok(total);
        }
        total += removed;
        tokio::time::sleep(COMPACT_PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{ConnectionState, Instance};

    #[tokio::test]
    async fn compaction_keeps_the_newest_tail_and_the_sequence_moves_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let instance = Instance {
            id: "01HINSTANCE".into(),
            name: "n".into(),
            org: "o".into(),
            state: ConnectionState::Open,
            owner_jid: None,
            created_at: 0,
        };
        let total = KEEP_TAIL + 250;
        for _ in 0..total {
            let ev = event_for(
                &instance,
                EventPayload::ConnectionUpdate(ConnectionState::Open),
            );
            store
                .write(move |tx| append(tx, &ev).map(|_| ()))
                .await
                .unwrap();
        }
        assert_eq!(compact(&store).await.unwrap(), 250);
        let rest = store.read(|tx| read_after(tx, 0, usize::MAX)).unwrap();
        assert_eq!(rest.len() as u64, KEEP_TAIL);
        assert_eq!(rest[0].0, 251);
        let ev = event_for(
            &instance,
            EventPayload::ConnectionUpdate(ConnectionState::Closed),
        );
        let seq = store.write(move |tx| append(tx, &ev)).await.unwrap();
        assert_eq!(seq, total + 1, "sequence numbers are never reused");
    }
}
