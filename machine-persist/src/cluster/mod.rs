//! Several nodes on one Postgres database, exactly one writer per actor.
//!
//! When one process is not enough, several nodes of the same application share a database.
//! The optimistic lock alone keeps them correct, but two nodes could both run the same actor and
//! the loser would only learn it at its next write. This module gives every actor one owner:
//!
//! - **Shards.** An actor's storage key hashes to one of a fixed number of shards
//!   ([`shard_of`]); the key is its id unless the repository maps it
//!   ([`PersistConfig::persistence_key`](crate::PersistConfig::persistence_key)). The shard
//!   follows the key because the lease guards stored rows: an actor renamed in the application
//!   (its new id mapped to its old key) stays on its shard, and every node must use the same
//!   mapping.
//! - **Leases.** Each shard is held by one node through a row of the `shard_leases` table (node
//!   id, shard, epoch, expiry), acquired and renewed by the node's heartbeat and taken over by
//!   another node once it expired (its holder died or stalled). Every acquisition bumps the
//!   lease's epoch; epochs never go back, and a released lease keeps its epoch and only expires.
//!   Nodes share the shards evenly among the live rows of `cluster_nodes` (see [`Cluster`]).
//! - **Fencing.** Every append of a node's actors carries the shard and the epoch the node holds
//!   ([`Fence`](crate::store::Fence)). The Postgres append statement applies it only if that lease
//!   row still holds that epoch and has not expired, in the same statement that checks the
//!   expected version; otherwise the request alone is refused
//!   ([`AppendError::Fenced`](crate::store::AppendError::Fenced)) and its actor stops, like on a
//!   version conflict. A node paused or cut off past its TTL therefore never writes again, even
//!   if it still believes it owns the shard; the `(actor_id, version)` key stays the backstop.
//!
//! - **Routing.** [`Cluster::routed`] serves a repository to the other nodes; its
//!   [`ClusterRef`] handles reach an actor's owner wherever it runs, locally or over Postgres
//!   `LISTEN`/`NOTIFY` (see the transport's notes in [`Routed`]'s module), with the same
//!   `Outcome` and typed errors as a local call. A machine's error travels through serde, and a
//!   machine that never rejects (`Infallible`) is routed as well ([`WireRejection`]).
//!
//! Leases rely on the database's clock only (`now()` in every statement), never on the nodes'.
//! The cost of fencing is one share-locked primary-key lookup of a lease row per fenced request.

mod config;
mod error;
mod lease_table;
mod members;
mod node;
mod ownership;
mod rejection;
mod routed;
mod shard;
mod transport;
mod wire;

pub use config::{
    ClusterConfig, DEFAULT_ANSWER_TIMEOUT, DEFAULT_LEASE_TTL, DEFAULT_SHARDS, MAX_SHARDS,
};
pub use error::ClusterError;
pub use node::Cluster;
pub use rejection::{NeverRejects, WireRejection, WithSerde};
pub use routed::{ClusterRef, Routable, Routed};
pub use shard::shard_of;
