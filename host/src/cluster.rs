//! Cluster mode: several gateways (nodes) on one PostgreSQL store, each instance's
//! WhatsApp session run by exactly one of them (issue 22; the plan and what is built
//! are in `docs/design/cluster.md`).
//!
//! The coordinator of one node, every third of the lease time (and at once when
//! another node leaves or hands leases back):
//! 1. records its heartbeat;
//! 2. renews the leases it holds; a lease it no longer holds (another node took it
//!    over while this one was paused or cut off) stops its session here;
//! 3. takes free leases (never held, released, or expired with a dead or stuck node)
//!    of paired instances up to its fair share, `ceil(paired / live nodes)`, and
//!    resumes their sessions; a node above its share hands the excess back, so a node
//!    that joins gets its share and instances spread evenly;
//! 4. does the same for destinations (webhooks, integrations, brokers): each
//!    destination's queue is delivered by the node holding its lease, so deliveries
//!    are spread over the nodes and still one at a time, in order, per destination;
//!    another node resumes a dead node's destinations within the lease time;
//! 5. holds or takes the housekeeping lease (`~housekeeping`): one node compacts the
//!    outbox and sweeps the shared rate-limit windows that have ended.
//!
//! A graceful stop hands every lease back at once ([`Coordinator::leave`]). Session
//! writes are fenced with the lease's token (see `store::leases`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;

use crate::core::Core;
use crate::core::records::InstanceRecord;
use crate::store::Cluster;
use crate::store::leases::{LeaseRow, NodeRow};
use crate::whatsapp::Link;
use crate::whatsapp::cluster::ClusterLink;

/// The lease of the node that keeps the outbox (compaction) and sweeps ended
/// rate-limit windows. Lease names starting with `~` are never an instance's (ULID).
pub const HOUSEKEEPING_LEASE: &str = "~housekeeping";

/// What a destination's lease name starts with (then the destination's id).
const DESTINATION_PREFIX: &str = "~hook:";

/// The lease of the node that delivers a destination's queue (a webhook, integration
/// or broker destination), by its id.
pub fn destination_lease(webhook_id: &str) -> String {
    format!("{DESTINATION_PREFIX}{webhook_id}")
}

/// Whether a lease name is an instance's (not the dispatcher's or a destination's).
fn is_instance_lease(name: &str) -> bool {
    !name.starts_with('~')
}

/// Default lease (and heartbeat) time.
pub const DEFAULT_LEASE_MS: u64 = 15_000;

/// The `[cluster]` table.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// This gateway's node id; setting it turns cluster mode on (needs `[store] url`).
    pub node: Option<String>,
    /// The URL other nodes and operators reach this node at; default
    /// `http://<listen address>`.
    pub advertise: Option<String>,
    /// How long a lease and a heartbeat last: a node that dies has its instances taken
    /// over within about this long.
    pub lease_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            node: None,
            advertise: None,
            lease_ms: DEFAULT_LEASE_MS,
        }
    }
}

impl ClusterConfig {
    /// Checks the node id and lease time an operator gave.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(node) = &self.node {
            anyhow::ensure!(
                !node.is_empty()
                    && node.len() <= 64
                    && node
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
                "the cluster node id must be 1-64 letters, digits, '-', '_' or '.', not {node:?}"
            );
            anyhow::ensure!(
                (1_000..=600_000).contains(&self.lease_ms),
                "cluster lease_ms must be between 1000 and 600000, not {}",
                self.lease_ms
            );
        }
        Ok(())
    }
}

/// One node's view of the cluster, for the admin API and `/metrics`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClusterView {
    /// The node answering.
    pub node: String,
    /// How long a lease and a heartbeat last.
    pub lease_ms: u64,
    /// Every node that has not left, live or not.
    pub nodes: Vec<NodeView>,
    /// Every lease row (the dispatcher's included), expired or not.
    pub leases: Vec<LeaseRow>,
}

/// A node with whether it is alive and how many leases it holds.
#[derive(Clone, Debug, serde::Serialize)]
pub struct NodeView {
    /// The node's row: id, address, heartbeat age.
    #[serde(flatten)]
    pub row: NodeRow,
    /// Whether its heartbeat is fresher than the lease time.
    pub live: bool,
    /// Unexpired instance leases it holds.
    pub instances: usize,
    /// Destinations (webhooks, integrations, brokers) whose queues it delivers.
    pub destinations: usize,
    /// Whether it keeps the outbox (compaction, rate-limit sweeps).
    pub housekeeping: bool,
}

/// This node's coordinator.
pub struct Coordinator {
    core: Arc<Core>,
    cluster: Arc<Cluster>,
    /// The link core sees: forwarded calls run on it.
    link: Arc<ClusterLink>,
    /// The link sessions run on (under the cluster link), to stop sessions whose
    /// lease was lost or handed back.
    sessions: Arc<dyn Link>,
    address: String,
    housekeeping: watch::Sender<bool>,
    /// The nodes and leases as the last round read them (what `/metrics` shows,
    /// without a query per scrape).
    last: std::sync::Mutex<(Vec<NodeRow>, Vec<LeaseRow>)>,
}

impl Coordinator {
    /// The coordinator of the node `cluster` names, resuming sessions through `core` and
    /// stopping them on `link`'s inner link; other nodes are told it is at `address`.
    pub fn new(
        core: Arc<Core>,
        cluster: Arc<Cluster>,
        link: Arc<ClusterLink>,
        address: String,
    ) -> Arc<Self> {
        Arc::new(Coordinator {
            core,
            cluster,
            sessions: link.inner().clone(),
            link,
            address,
            housekeeping: watch::Sender::new(false),
            last: Default::default(),
        })
    }

    /// The leases this node holds.
    pub fn held(&self) -> &Arc<crate::store::leases::Held> {
        &self.cluster.held
    }

    /// The cluster link (the forwarding route runs calls on it).
    pub fn link(&self) -> &Arc<ClusterLink> {
        &self.link
    }

    /// Whether this node holds the housekeeping lease (the dispatcher compacts the
    /// outbox only then).
    pub fn housekeeping(&self) -> watch::Receiver<bool> {
        self.housekeeping.subscribe()
    }

    /// Registers the node and takes its first leases before the gateway answers, then
    /// keeps doing so in the background until the process ends.
    pub async fn start(self: &Arc<Self>) -> anyhow::Result<()> {
        self.tick().await.context("joining the cluster")?;
        let me = self.clone();
        tokio::spawn(async move {
            let every = me.cluster.leases.ttl() / 3;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = me.cluster.changed.notified() => {}
                }
                if let Err(e) = me.tick().await {
                    tracing::warn!(error = %format!("{e:#}"), "cluster coordination failed; retrying");
                }
            }
        });
        Ok(())
    }

    /// Hands every lease back and leaves the cluster (graceful stop).
    pub async fn leave(&self) {
        let node = self.node_id();
        for id in self.cluster.held.names() {
            self.cluster.held.remove(&id);
            if is_instance_lease(&id) {
                self.sessions.release(&id).await;
            }
        }
        self.housekeeping.send_replace(false);
        let leases = self.cluster.leases.clone();
        match blocking(move || Ok(leases.leave(&node)?)).await {
            Ok(()) => tracing::info!("left the cluster; leases handed back"),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "leaving the cluster"),
        }
    }

    /// The cluster as this node sees it now.
    pub async fn view(&self) -> anyhow::Result<ClusterView> {
        let leases = self.cluster.leases.clone();
        let (nodes, rows) = blocking(move || Ok((leases.nodes()?, leases.all()?))).await?;
        Ok(self.view_of(nodes, rows))
    }

    /// `/metrics` lines: each node's liveness, instances and heartbeat age, as of the
    /// last round (a third of the lease ago at most).
    pub fn metrics_text(&self) -> String {
        use std::fmt::Write as _;
        let (nodes, rows) = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let view = self.view_of(nodes, rows);
        let mut out = String::new();
        let mut per_node = |name: &str, help: &str, value: &dyn Fn(&NodeView) -> String| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for n in &view.nodes {
                let _ = writeln!(out, "{name}{{node=\"{}\"}} {}", n.row.id, value(n));
            }
        };
        per_node(
            "wagate_cluster_node_up",
            "Whether a cluster node's heartbeat is fresher than the lease time.",
            &|n| u8::from(n.live).to_string(),
        );
        per_node(
            "wagate_cluster_node_instances",
            "Instance leases a cluster node holds.",
            &|n| n.instances.to_string(),
        );
        per_node(
            "wagate_cluster_node_destinations",
            "Destinations (webhooks, integrations, brokers) whose queues a cluster node delivers.",
            &|n| n.destinations.to_string(),
        );
        per_node(
            "wagate_cluster_node_heartbeat_age_seconds",
            "Time since a cluster node's last heartbeat.",
            &|n| format!("{:.3}", n.row.heartbeat_age_ms as f64 / 1000.0),
        );
        let _ = writeln!(
            out,
            "# HELP wagate_cluster_housekeeping Whether this node keeps the outbox (compaction, rate-limit sweeps) now.\n# TYPE wagate_cluster_housekeeping gauge\nwagate_cluster_housekeeping {}",
            u8::from(*self.housekeeping.borrow())
        );
        out
    }

    fn view_of(&self, nodes: Vec<NodeRow>, rows: Vec<LeaseRow>) -> ClusterView {
        let ttl = self.cluster.leases.ttl().as_millis() as i64;
        let nodes = nodes
            .into_iter()
            .map(|row| {
                let mine = rows
                    .iter()
                    .filter(|l| l.node_id == row.id && l.expires_in_ms > 0);
                NodeView {
                    live: row.heartbeat_age_ms < ttl,
                    instances: mine
                        .clone()
                        .filter(|l| is_instance_lease(&l.instance_id))
                        .count(),
                    destinations: mine
                        .clone()
                        .filter(|l| l.instance_id.starts_with(DESTINATION_PREFIX))
                        .count(),
                    housekeeping: mine.clone().any(|l| l.instance_id == HOUSEKEEPING_LEASE),
                    row,
                }
            })
            .collect();
        ClusterView {
            node: self.node_id(),
            lease_ms: ttl as u64,
            nodes,
            leases: rows,
        }
    }

    fn node_id(&self) -> String {
        self.cluster.held.node_id().to_string()
    }

    /// One round of heartbeat, renewal, takeover and balancing.
    async fn tick(&self) -> anyhow::Result<()> {
        let node = self.node_id();
        let leases = self.cluster.leases.clone();
        let address = self.address.clone();
        // Taken before the renewal: a lease `connect` takes meanwhile is not lost.
        let held_before = self.cluster.held.names();
        let (renewed, nodes, rows) = blocking(move || {
            leases.heartbeat(&node, &address)?;
            let renewed: HashMap<String, i64> = leases.renew(&node)?.into_iter().collect();
            Ok((renewed, leases.nodes()?, leases.all()?))
        })
        .await?;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = (nodes.clone(), rows.clone());

        // Leases lost (taken over while this node was away) stop their sessions here.
        for id in held_before {
            if !renewed.contains_key(&id) {
                self.cluster.held.remove(&id);
                if is_instance_lease(&id) {
                    tracing::warn!(instance = %id, "lease lost to another node; stopping its session here");
                    self.sessions.release(&id).await;
                }
            }
        }
        // Leases held in the database but not in memory (this node restarted under the
        // same id before they expired) are resumed like new ones.
        let records: HashMap<String, InstanceRecord> = {
            let core = self.core.clone();
            blocking(move || Ok(core.all_instances()?))
                .await?
                .into_iter()
                .map(|r| (r.instance.id.clone(), r))
                .collect()
        };
        for (id, token) in &renewed {
            let new = !self.cluster.held.holds(id);
            self.cluster.held.insert(id, *token);
            if new && let Some(record) = records.get(id) {
                self.core.resume_session(record).await;
            }
        }

        let ttl = self.cluster.leases.ttl().as_millis() as i64;
        let live = nodes
            .iter()
            .filter(|n| n.heartbeat_age_ms < ttl)
            .count()
            .max(1);
        let taken: HashSet<&str> = rows
            .iter()
            .filter(|l| l.expires_in_ms > 0)
            .map(|l| l.instance_id.as_str())
            .collect();

        // Sessions: every paired instance runs somewhere, spread evenly.
        let mut paired: Vec<String> = records
            .values()
            .filter(|r| r.instance.owner_jid.is_some())
            .map(|r| r.instance.id.clone())
            .collect();
        paired.sort();
        let (took, excess) = self.balance(&paired, &taken, live).await?;
        for id in &took {
            if let Some(record) = records.get(id) {
                tracing::info!(instance = %record.instance.name, "lease taken; resuming the session here");
                self.core.resume_session(record).await;
            }
        }
        for id in &excess {
            self.sessions.release(id).await;
        }
        self.hand_back(excess).await?;

        // Deliveries: each destination's queue is delivered by one node at a time, in
        // order; destinations are spread the same way.
        let core = self.core.clone();
        let mut destinations: Vec<String> = blocking(move || Ok(core.webhook_ids()?))
            .await?
            .iter()
            .map(|id| destination_lease(id))
            .collect();
        destinations.sort();
        let (_, excess) = self.balance(&destinations, &taken, live).await?;
        self.hand_back(excess).await?;

        // Housekeeping (outbox compaction, ended rate-limit windows) runs on one node.
        if !self.cluster.held.holds(HOUSEKEEPING_LEASE)
            && !taken.contains(HOUSEKEEPING_LEASE)
            && let Some(token) = self.claim(HOUSEKEEPING_LEASE).await?
        {
            self.cluster.held.insert(HOUSEKEEPING_LEASE, token);
            tracing::info!("this node keeps the outbox now");
        }
        let housekeeping = self.cluster.held.holds(HOUSEKEEPING_LEASE);
        self.housekeeping.send_replace(housekeeping);
        if housekeeping {
            let counters = self.cluster.counters.clone();
            blocking(move || Ok(counters.sweep()?)).await?;
        }
        Ok(())
    }

    /// Brings this node's share of `keys` (lease names, sorted) to
    /// `ceil(keys / live nodes)`: takes free leases while below it; returns those
    /// taken, and those above it, which the caller stops using and then hands back.
    async fn balance(
        &self,
        keys: &[String],
        taken: &HashSet<&str>,
        live: usize,
    ) -> anyhow::Result<(Vec<String>, Vec<String>)> {
        let fair = keys.len().div_ceil(live);
        let held = &self.cluster.held;
        let mut mine: Vec<&String> = keys.iter().filter(|k| held.holds(k)).collect();
        let mut took = Vec::new();
        for key in keys {
            if mine.len() >= fair {
                break;
            }
            if taken.contains(key.as_str()) || held.holds(key) {
                continue;
            }
            if let Some(token) = self.claim(key).await? {
                held.insert(key, token);
                mine.push(key);
                took.push(key.clone());
            }
        }
        let excess: Vec<String> = mine.iter().skip(fair).map(|k| k.to_string()).collect();
        for key in &excess {
            held.remove(key);
        }
        Ok((took, excess))
    }

    /// Gives leases back so the other nodes take them (after this node stopped using
    /// them).
    async fn hand_back(&self, keys: Vec<String>) -> anyhow::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let count = keys.len();
        let leases = self.cluster.leases.clone();
        let node = self.node_id();
        blocking(move || Ok(leases.release(&node, &keys)?)).await?;
        tracing::info!(count, "leases handed back to balance the cluster");
        Ok(())
    }

    async fn claim(&self, instance_id: &str) -> anyhow::Result<Option<i64>> {
        let leases = self.cluster.leases.clone();
        let node = self.node_id();
        let id = instance_id.to_string();
        blocking(move || Ok(leases.claim(&node, &id)?)).await
    }
}

/// Runs a synchronous store call off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}
