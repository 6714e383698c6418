//! [`Cluster`]: one node's membership, its leases and its persistent system.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::lease_table::LeaseTable;
use super::members::ShardMembers;
use super::ownership::Ownership;
use super::rejection::Rejections;
use super::routed::{Routable, Routed, Serve};
use super::transport::Transport;
use super::{ClusterConfig, ClusterError};
use crate::actor::Fencing;
use crate::{
    PersistConfig, PersistError, Persistable, PersistentSystem, PostgresStore, Repository,
    ShutdownReport,
};

/// What the node's handles and its heartbeat task share.
struct Node {
    config: ClusterConfig,
    transport: Transport,
    table: LeaseTable,
    ownership: Arc<Ownership>,
    system: PersistentSystem,
    members: Mutex<Vec<Arc<dyn ShardMembers>>>,
    /// The owners of other nodes' shards as last read, and when: routed calls read the lease
    /// table again once an entry is a heartbeat old, or when its node refused or did not answer.
    owners: Mutex<HashMap<u32, (String, Instant)>>,
    /// One heartbeat round at a time (the task's, or one asked for by [`Cluster::rebalance`]).
    round: tokio::sync::Mutex<()>,
}

/// The running heartbeat: its stop signal and its task.
type Heartbeat = (watch::Sender<bool>, JoinHandle<()>);

/// One node of a cluster on a shared Postgres database.
///
/// Joining registers the node in the node table and starts its heartbeat: every
/// [`heartbeat_interval`](ClusterConfig::heartbeat_interval) it renews the node's row and its
/// shard leases, then rebalances: with `n` live nodes each node aims at `ceil(shards / n)`
/// shards, takes free or expired leases (a dead node's, once their TTL ran out) when it has fewer
/// and hands shards back when it has more. Handing a shard back, or losing its lease, stops the
/// node's actors of that shard first; the new owner activates them on demand from the store.
///
/// The node's [`PersistentSystem`] writes every append under the lease of its actor's shard: the
/// store refuses it, in the statement that checks the expected version, once that lease was taken
/// over or expired, so a node that was paused or cut off past its TTL never writes again. Its
/// actor then stops with [`PersistError::Fenced`](crate::PersistError::Fenced) (or
/// [`NotOwner`](crate::PersistError::NotOwner) when the node already knows it lost the shard).
///
/// ```no_run
/// use machine_persist::cluster::{Cluster, ClusterConfig};
/// use machine_persist::PostgresStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/app").await?;
/// let node = Cluster::join(store, ClusterConfig::new("node-a")).await?;
/// // let orders = node.repository(PersistConfig::<Order>::new(), env);
/// // if node.owns("order-1") { orders.call("order-1", OrderEvent::Pay).await?; }
/// node.leave().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Cluster {
    node: Arc<Node>,
    heartbeat: Arc<Mutex<Option<Heartbeat>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("config", &self.node.config)
            .field("leases", &self.node.ownership.leases().len())
            .finish()
    }
}

impl Cluster {
    /// Joins the cluster on `store`'s database as `config`'s node: registers it, takes its share
    /// of the free shards now and starts the heartbeat. Must be called within a tokio runtime.
    pub async fn join(store: PostgresStore, config: ClusterConfig) -> Result<Self, ClusterError> {
        config.validate()?;
        let ownership = Arc::new(Ownership::new(config.shards, config.lease_ttl));
        let fencing: Arc<dyn Fencing> = Arc::clone(&ownership) as Arc<dyn Fencing>;
        let table = LeaseTable::new(&store, &config.node_id, config.lease_ttl);
        let transport = Transport::start(&store, &config.node_id).await?;
        let system = PersistentSystem::builder(store).fencing(fencing).build();
        let node = Arc::new(Node {
            config,
            transport,
            table,
            ownership,
            system,
            members: Mutex::default(),
            owners: Mutex::default(),
            round: tokio::sync::Mutex::new(()),
        });
        node.round().await?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(heartbeat(Arc::clone(&node), stopped));
        Ok(Self {
            node,
            heartbeat: Arc::new(Mutex::new(Some((stop, task)))),
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node.config.node_id
    }

    /// The node's settings.
    pub fn config(&self) -> &ClusterConfig {
        &self.node.config
    }

    /// The node's persistent system (every append fenced by the node's leases).
    pub fn system(&self) -> &PersistentSystem {
        &self.node.system
    }

    /// The repository of one machine type on this node; its actors of a shard the node gives up
    /// are stopped.
    pub fn repository<M: Persistable>(
        &self,
        config: PersistConfig<M>,
        env: impl Into<Arc<M::Env>>,
    ) -> Repository<M> {
        let repository = self.node.system.repository(config, env);
        self.lock_members().push(Arc::new(repository.clone()));
        repository
    }

    /// The repository of one machine type on this node, served to the other nodes: its
    /// [`Routed::get`] handles reach an actor's owner wherever it runs. Every node serves the
    /// same machine types. The machine's error travels through its serde impls, or not at all
    /// when it is `std::convert::Infallible` (`Via` is inferred; see
    /// [`WireRejection`](super::WireRejection)).
    pub fn routed<M: Routable<Via>, Via>(
        &self,
        config: PersistConfig<M>,
        env: impl Into<Arc<M::Env>>,
    ) -> Routed<M> {
        let repository = self.repository(config, env);
        let serve = Serve {
            repository: repository.clone(),
            ownership: Arc::clone(&self.node.ownership),
            rejections: Rejections::of::<Via>(),
        };
        self.node
            .transport
            .serve(repository.machine_type(), Arc::new(serve));
        Routed::new(self.clone(), repository, Rejections::of::<Via>())
    }

    /// The node holding the current lease of the shard of actor `id` (this node's id when it
    /// is this node), `None` while the shard is between owners; as read within the last
    /// heartbeat, so a routed call that just reached the owner finds it here.
    pub async fn owner(&self, id: &str) -> Result<Option<String>, PersistError> {
        self.owner_of(self.shard_of(id)).await
    }

    /// The node holding the current lease of `shard`: as read within the last heartbeat, or
    /// from the lease table now.
    pub(crate) async fn owner_of(&self, shard: u32) -> Result<Option<String>, PersistError> {
        let fresh = Instant::now() - self.node.config.heartbeat_interval();
        if let Some((owner, _)) = self
            .lock_owners()
            .get(&shard)
            .filter(|(_, read)| *read > fresh)
        {
            return Ok(Some(owner.clone()));
        }
        let owner = self.node.table.owner(shard).await?;
        let mut owners = self.lock_owners();
        match &owner {
            Some(node) => owners.insert(shard, (node.clone(), Instant::now())),
            None => owners.remove(&shard),
        };
        Ok(owner)
    }

    /// Forgets the owner read for `shard` (it refused the call or did not answer).
    pub(crate) fn forget_owner(&self, shard: u32) {
        self.lock_owners().remove(&shard);
    }

    fn lock_owners(&self) -> std::sync::MutexGuard<'_, HashMap<u32, (String, Instant)>> {
        self.node
            .owners
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.node.transport
    }

    /// The shard of the actor stored under key `id` (its id, unless its repository maps it:
    /// see [`PersistentRef::key`](crate::PersistentRef::key)).
    pub fn shard_of(&self, id: &str) -> u32 {
        self.node.ownership.shard(id)
    }

    /// Whether this node holds a current lease on the shard of the actor stored under key `id`.
    pub fn owns(&self, id: &str) -> bool {
        self.node
            .ownership
            .current(self.node.ownership.shard(id))
            .is_some()
    }

    /// The shards this node holds, each with its lease epoch, in shard order.
    pub fn leases(&self) -> Vec<(u32, u64)> {
        self.node
            .ownership
            .leases()
            .into_iter()
            .map(|lease| (lease.shard, lease.epoch))
            .collect()
    }

    /// Runs one heartbeat round now (renew, then rebalance) instead of waiting for the next.
    pub async fn rebalance(&self) -> Result<(), ClusterError> {
        self.node.round().await
    }

    /// Leaves gracefully: stops the heartbeat, stops the node's actors, releases its leases (so
    /// the other nodes take its shards at their next heartbeat, without waiting for the TTL),
    /// leaves the node table and shuts the system down.
    pub async fn leave(self) -> Result<ShutdownReport, ClusterError> {
        let heartbeat = self
            .heartbeat
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some((stop, task)) = heartbeat {
            // The task ends at its next wait; a round under way finishes first.
            let _ = stop.send(true);
            if let Err(error) = task.await {
                tracing::warn!(%error, "the cluster heartbeat task failed");
            }
        }
        let _round = self.node.round.lock().await;
        for lease in self.node.ownership.leases() {
            self.node.give_up(lease.shard).await;
            self.node.table.release(lease).await?;
        }
        self.node.table.forget().await?;
        Ok(self.node.system.shutdown().await)
    }

    fn lock_members(&self) -> std::sync::MutexGuard<'_, Vec<Arc<dyn ShardMembers>>> {
        self.node
            .members
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Renews and rebalances every heartbeat until told to stop. A failed round is logged and the
/// next one tried: leases the node cannot renew lapse on their own, and appends under them are
/// refused by the store.
async fn heartbeat(node: Arc<Node>, mut stop: watch::Receiver<bool>) {
    let interval = node.config.heartbeat_interval();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        if let Err(error) = node.round().await {
            tracing::warn!(node = %node.config.node_id, %error, "cluster heartbeat failed");
        }
    }
}

impl Node {
    /// One heartbeat round: renew the node and its leases, stop the actors of lost shards, then
    /// rebalance.
    async fn round(&self) -> Result<(), ClusterError> {
        let _round = self.round.lock().await;
        let sent = Instant::now();
        self.table.beat().await?;
        let held = self.ownership.leases();
        let renewed = self.table.renew(&held).await?;
        for lease in held {
            if renewed.contains(&lease.shard) {
                self.ownership.insert(lease, sent);
            } else {
                tracing::warn!(node = %self.config.node_id, shard = lease.shard, "a shard lease was lost");
                self.give_up(lease.shard).await;
            }
        }
        self.rebalance(sent).await
    }

    /// Moves this node's share of the shards towards `ceil(shards / live nodes)`.
    async fn rebalance(&self, sent: Instant) -> Result<(), ClusterError> {
        let live = self.table.live_nodes().await?.len().max(1);
        let shards = self.config.shards as usize;
        let target = shards.div_ceil(live);
        let mine = self.ownership.leases();
        if mine.len() > target {
            // Hand back the highest shards: the others take them at their next round.
            for lease in mine.iter().rev().take(mine.len() - target) {
                self.give_up(lease.shard).await;
                self.table.release(*lease).await?;
            }
            return Ok(());
        }
        let mut wanted = target - mine.len();
        if wanted == 0 {
            return Ok(());
        }
        let held: HashSet<u32> = self.table.held_shards().await?;
        // Start at a place of this node's own, so joining nodes do not all race for shard 0.
        let start = super::shard_of(&self.config.node_id, self.config.shards);
        let before = wanted;
        for offset in 0..self.config.shards {
            if wanted == 0 {
                break;
            }
            let shard = (start + offset) % self.config.shards;
            if held.contains(&shard) {
                continue;
            }
            if let Some(lease) = self.table.acquire(shard).await? {
                self.ownership.insert(lease, sent);
                wanted -= 1;
            }
        }
        if wanted < before {
            for repository in self.members() {
                repository.shards_acquired();
            }
        }
        Ok(())
    }

    fn members(&self) -> Vec<Arc<dyn ShardMembers>> {
        self.members
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Stops trusting the lease of `shard` (new appends of its actors fail at once) and stops
    /// the actors of it this node has in memory.
    async fn give_up(&self, shard: u32) {
        self.ownership.remove(shard);
        for repository in self.members() {
            repository.stop_shard(&self.ownership, shard).await;
        }
    }
}
