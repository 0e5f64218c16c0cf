//! Cluster mode's shared rate-limit windows: one row per bucket in PostgreSQL, counted
//! by whichever node a request reaches, so a limit holds across the cluster rather
//! than per node (see `core::ratelimit`). Windows are timed by the database's clock.

use std::sync::Arc;

use super::pg::{Pg, PgResult, Pool};

/// Connections the counters use: hits from many requests at once wait for one.
const CONNECTIONS: usize = 4;

/// Where a hit left its bucket's window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowCount {
    /// Hits in the current window, this one included (refused ones too).
    pub hits: i64,
    /// When the window ends, epoch ms (the database's clock).
    pub resets_at_ms: i64,
}

/// The shared windows.
#[derive(Clone)]
pub struct SharedCounters {
    pool: Pool,
}

impl SharedCounters {
    pub(super) fn new(pg: Arc<Pg>) -> Self {
        SharedCounters {
            pool: Pool::new(pg, CONNECTIONS),
        }
    }

    /// Counts one hit on `bucket`, whose window lasts `window_ms` (a window that has
    /// ended starts over with this hit). One statement, so two nodes' hits never race.
    pub fn hit(&self, bucket: &str, window_ms: i64) -> PgResult<WindowCount> {
        self.pool.autocommit(|c| {
            let rows = c.query(
                "insert into wagate_rate_windows as w (bucket, started_ms, len_ms, hits)
                 select $1, t, $2, 1
                 from (select (extract(epoch from clock_timestamp()) * 1000)::bigint as t) now
                 on conflict (bucket) do update set
                   started_ms = case when excluded.started_ms >= w.started_ms + w.len_ms
                                     then excluded.started_ms else w.started_ms end,
                   len_ms = case when excluded.started_ms >= w.started_ms + w.len_ms
                                 then excluded.len_ms else w.len_ms end,
                   hits = case when excluded.started_ms >= w.started_ms + w.len_ms
                               then 1 else w.hits + 1 end
                 returning hits, started_ms + len_ms",
                &[&bucket, &window_ms],
            )?;
            let row = rows.first().expect("an upsert returns its row");
            Ok(WindowCount {
                hits: row.get(0),
                resets_at_ms: row.get(1),
            })
        })
    }

    /// Removes the windows that have ended; returns how many.
    pub fn sweep(&self) -> PgResult<u64> {
        self.pool.autocommit(|c| {
            c.execute(
                "delete from wagate_rate_windows
                 where started_ms + len_ms < (extract(epoch from clock_timestamp()) * 1000)::bigint",
                &[],
            )
        })
    }
}
