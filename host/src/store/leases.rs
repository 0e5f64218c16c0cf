//! Cluster mode's ownership records in PostgreSQL (issue 22, `docs/design/cluster.md`
//! step 3): which gateways (nodes) are alive, and which node runs each instance's
//! WhatsApp session, under a lease with a fencing token.
//!
//! - `wagate_nodes(id, address, heartbeat_at)`: a node's heartbeat; a node whose
//!   heartbeat is older than the lease time is dead.
//! - `wagate_leases(instance_id, node_id, token, expires_at)`: one row per instance
//!   that ever had an owner. Taking over a lease another node held increments its
//!   token; releasing one only expires it (the row and its token stay), so tokens of
//!   an instance only ever grow.
//!
//! Times are the database's (`now()`), never a node's clock, so nodes with skewed
//! clocks still agree on who holds what.
//!
//! **Fencing.** A node keeps the leases it holds, with their tokens, in [`Held`]. A
//! write of an instance's session keys checks inside its own transaction that the
//! lease row still names this node with that token ([`super::kv::WriteTx::check_fence`],
//! `select ... for share`, so the row cannot change before the commit). A node that was
//! paused past its lease and lost it to another node therefore cannot write over the
//! new owner's keys, whatever it still believes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::pg::{Pg, PgResult, Pool};

/// One node as the cluster sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NodeRow {
    /// Its node id.
    pub id: String,
    /// Where the others reach it (its advertised URL).
    pub address: String,
    /// Milliseconds since its last heartbeat.
    pub heartbeat_age_ms: i64,
}

/// One instance's lease.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LeaseRow {
    /// The instance, or `~housekeeping` or `~hook:<destination>` (see `crate::cluster`).
    pub instance_id: String,
    /// The node holding it (or that held it last, when expired).
    pub node_id: String,
    /// Its fencing token: grows by one each time the lease changes hands.
    pub token: i64,
    /// Milliseconds until it expires (negative: expired that long ago).
    pub expires_in_ms: i64,
}

/// The fencing token this node holds for an instance, as a write checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// This node.
    pub node_id: Arc<str>,
    /// The token this node took the lease with.
    pub token: i64,
}

/// The leases this node holds, with their tokens: what its session writes are fenced
/// with. Cheap to share; the cluster coordinator keeps it current.
#[derive(Debug)]
pub struct Held {
    node_id: Arc<str>,
    tokens: Mutex<HashMap<String, i64>>,
}

impl Held {
    /// No lease held yet, for node `node_id`.
    pub fn new(node_id: &str) -> Self {
        Held {
            node_id: Arc::from(node_id),
            tokens: Mutex::default(),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The fence a write of `instance_id`'s session carries: `None` when this node
    /// holds no lease on it (such a write is refused).
    pub fn fence(&self, instance_id: &str) -> Option<Fence> {
        self.lock().get(instance_id).map(|&token| Fence {
            node_id: self.node_id.clone(),
            token,
        })
    }

    /// Whether this node holds `instance_id`'s lease.
    pub fn holds(&self, instance_id: &str) -> bool {
        self.lock().contains_key(instance_id)
    }

    /// Records a lease taken (or renewed) with `token`.
    pub fn insert(&self, instance_id: &str, token: i64) {
        self.lock().insert(instance_id.to_string(), token);
    }

    /// Forgets a lease; returns whether it was held.
    pub fn remove(&self, instance_id: &str) -> bool {
        self.lock().remove(instance_id).is_some()
    }

    /// The names of the leases held (instances, and the `~`-named ones of
    /// `crate::cluster`), sorted.
    pub fn names(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().keys().cloned().collect();
        ids.sort();
        ids
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The lease book: statements on a connection of its own, each committed on its own
/// (autocommit), never inside the writer's batches.
#[derive(Clone)]
pub struct Leases {
    pool: Pool,
    /// A float: PostgreSQL multiplies an interval by `double precision`.
    ttl_ms: f64,
}

impl Leases {
    pub(super) fn new(pg: Arc<Pg>, ttl: Duration) -> Self {
        Leases {
            pool: Pool::new(pg, 1),
            ttl_ms: ttl.as_millis() as f64,
        }
    }

    /// How long a lease and a heartbeat last.
    pub fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms as u64)
    }

    /// Records `node_id` alive now, reachable at `address`.
    pub fn heartbeat(&self, node_id: &str, address: &str) -> PgResult<()> {
        self.pool.autocommit(|c| {
            c.execute(
                "insert into wagate_nodes (id, address) values ($1, $2)
                 on conflict (id) do update set address = excluded.address, heartbeat_at = now()",
                &[&node_id, &address],
            )
            .map(drop)
        })
    }

    /// Extends every lease `node_id` still holds; returns them with their tokens. A
    /// lease another node has taken over is not among them.
    pub fn renew(&self, node_id: &str) -> PgResult<Vec<(String, i64)>> {
        self.pool.autocommit(|c| {
            let rows = c.query(
                "update wagate_leases set expires_at = now() + $2 * interval '1 millisecond'
                 where node_id = $1 returning instance_id, token",
                &[&node_id, &self.ttl_ms],
            )?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Takes `instance_id`'s lease for `node_id` if nobody holds it, it expired, or
    /// `node_id` holds it already; returns the token, or `None` when another node
    /// holds it. A lease that changes hands gets the next token.
    pub fn claim(&self, node_id: &str, instance_id: &str) -> PgResult<Option<i64>> {
        self.pool.autocommit(|c| {
            let rows = c.query(
                "insert into wagate_leases as l (instance_id, node_id, token, expires_at)
                 values ($1, $2, 1, now() + $3 * interval '1 millisecond')
                 on conflict (instance_id) do update
                   set node_id = excluded.node_id,
                       expires_at = excluded.expires_at,
                       token = l.token + case
                         when l.node_id = excluded.node_id and l.expires_at > now() then 0
                         else 1 end
                   where l.expires_at <= now() or l.node_id = excluded.node_id
                 returning token",
                &[&instance_id, &node_id, &self.ttl_ms],
            )?;
            Ok(rows.first().map(|r| r.get(0)))
        })
    }

    /// Gives up `node_id`'s leases of `instances` at once (they expire now; their rows
    /// and tokens stay), and tells the other nodes.
    pub fn release(&self, node_id: &str, instances: &[String]) -> PgResult<()> {
        if instances.is_empty() {
            return Ok(());
        }
        self.pool.autocommit(|c| {
            c.execute(
                "update wagate_leases set expires_at = now() - interval '1 millisecond'
                 where node_id = $1 and instance_id = any($2)",
                &[&node_id, &instances],
            )?;
            c.execute("select pg_notify('wagate_cluster', $1)", &[&node_id])
                .map(drop)
        })
    }

    /// A node stopping: every lease it holds expires now and its heartbeat goes, so
    /// the others take its instances over on their next look.
    pub fn leave(&self, node_id: &str) -> PgResult<()> {
        self.pool.autocommit(|c| {
            c.execute(
                "update wagate_leases set expires_at = now() - interval '1 millisecond'
                 where node_id = $1",
                &[&node_id],
            )?;
            c.execute("delete from wagate_nodes where id = $1", &[&node_id])?;
            c.execute("select pg_notify('wagate_cluster', $1)", &[&node_id])
                .map(drop)
        })
    }

    /// Removes an instance's lease row (the instance was deleted).
    pub fn forget(&self, instance_id: &str) -> PgResult<()> {
        self.pool.autocommit(|c| {
            c.execute(
                "delete from wagate_leases where instance_id = $1",
                &[&instance_id],
            )
            .map(drop)
        })
    }

    /// The secret the nodes' calls to each other carry: made by the first node that
    /// asks (`candidate`, random), read by every other. It lives in the database the
    /// nodes share, so there is nothing to configure; whoever can read the database can
    /// read everything anyway.
    pub fn secret(&self, candidate: &str) -> PgResult<String> {
        self.pool.autocommit(|c| {
            c.execute(
                "insert into wagate_cluster (name, value) values ('node_secret', $1)
                 on conflict (name) do nothing",
                &[&candidate],
            )?;
            let rows = c.query(
                "select value from wagate_cluster where name = 'node_secret'",
                &[],
            )?;
            Ok(rows.first().map(|r| r.get(0)).unwrap_or_default())
        })
    }

    /// The node holding `instance_id`'s unexpired lease and where it is reached.
    pub fn owner(&self, instance_id: &str) -> PgResult<Option<(String, String)>> {
        self.pool.autocommit(|c| {
            let rows = c.query(
                "select n.id, n.address from wagate_leases l
                 join wagate_nodes n on n.id = l.node_id
                 where l.instance_id = $1 and l.expires_at > now()",
                &[&instance_id],
            )?;
            Ok(rows.first().map(|r| (r.get(0), r.get(1))))
        })
    }

    /// Every node that ever sent a heartbeat and has not left, oldest id first.
    pub fn nodes(&self) -> PgResult<Vec<NodeRow>> {
        self.pool.autocommit(|c| {
            let rows = c.query(
                "select id, address,
                        (extract(epoch from (now() - heartbeat_at)) * 1000)::bigint
                 from wagate_nodes order by id",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| NodeRow {
                    id: r.get(0),
                    address: r.get(1),
                    heartbeat_age_ms: r.get(2),
                })
                .collect())
        })
    }

    /// Every lease row, by instance id.
    pub fn all(&self) -> PgResult<Vec<LeaseRow>> {
        self.pool.autocommit(|c| {
            let rows = c.query(
                "select instance_id, node_id, token,
                        (extract(epoch from (expires_at - now())) * 1000)::bigint
                 from wagate_leases order by instance_id",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| LeaseRow {
                    instance_id: r.get(0),
                    node_id: r.get(1),
                    token: r.get(2),
                    expires_in_ms: r.get(3),
                })
                .collect())
        })
    }
}
