//! [`ActorFilter`]: which stored actors of one machine type a repository lists or restores.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use machine_core::{ActorId, Machine, Tag};

use crate::CatalogQuery;

/// Selects stored actors of a repository's machine type, naming states by the machine's own tag
/// enum; results are ordered by actor id (byte order) for stable pagination.
///
/// Every condition that is set must hold. Page with [`after`](Self::after) (the last id of the
/// previous page) and [`limit`](Self::limit). The machine type is the repository's; to list
/// actors of every type, use [`PersistentSystem::list_persisted`](crate::PersistentSystem::list_persisted)
/// with a [`CatalogQuery`].
///
/// ```
/// # use machine_persist::ActorFilter;
/// # fn f<M: machine_core::Machine>(paid: M::StateTag, shipped: M::StateTag) {
/// let open = ActorFilter::<M>::new().state_not_in([paid, shipped]).limit(100);
/// # let _ = open;
/// # }
/// ```
pub struct ActorFilter<M: Machine> {
    query: CatalogQuery,
    machine: PhantomData<fn() -> M>,
}

impl<M: Machine> Clone for ActorFilter<M> {
    fn clone(&self) -> Self {
        Self {
            query: self.query.clone(),
            machine: PhantomData,
        }
    }
}

impl<M: Machine> fmt::Debug for ActorFilter<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ActorFilter").field(&self.query).finish()
    }
}

impl<M: Machine> Default for ActorFilter<M> {
    fn default() -> Self {
        Self {
            query: CatalogQuery::new(),
            machine: PhantomData,
        }
    }
}

impl<M: Machine> ActorFilter<M> {
    /// A filter that selects every actor of the repository.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only actors in one of these states (an empty list selects nothing).
    pub fn state_in(mut self, tags: impl IntoIterator<Item = M::StateTag>) -> Self {
        self.query = self.query.state_in(tags.into_iter().map(Tag::name));
        self
    }

    /// Only actors in none of these states.
    pub fn state_not_in(mut self, tags: impl IntoIterator<Item = M::StateTag>) -> Self {
        self.query = self.query.state_not_in(tags.into_iter().map(Tag::name));
        self
    }

    /// Only actors whose last activity is strictly before `at`.
    pub fn updated_before(mut self, at: DateTime<Utc>) -> Self {
        self.query = self.query.updated_before(at);
        self
    }

    /// Only actors whose last activity is strictly after `at`.
    pub fn updated_after(mut self, at: DateTime<Utc>) -> Self {
        self.query = self.query.updated_after(at);
        self
    }

    /// Only actors whose id sorts strictly after `actor_id` (keyset pagination). With a
    /// [persistence key](crate::PersistConfig::persistence_key), rows come in the order of
    /// their keys, and this starts after the key of `actor_id`.
    pub fn after(mut self, actor_id: impl Into<ActorId>) -> Self {
        self.query = self.query.after(actor_id);
        self
    }

    /// At most `limit` actors.
    pub fn limit(mut self, limit: usize) -> Self {
        self.query = self.query.limit(limit);
        self
    }

    /// The store-level query for machine type `machine_type`.
    pub(crate) fn into_query(self, machine_type: &str) -> CatalogQuery {
        self.query.machine_type(machine_type)
    }
}
