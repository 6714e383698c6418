//! [`PersistenceKey`]: the key an actor's data is stored under, as a function of its id.
//!
//! The reasons for a mapping, its two directions and its limits are documented on the type.

use std::fmt;
use std::sync::Arc;

use machine_core::ActorId;

use crate::model::{check_actor_id, InvalidId};

/// A function from an actor id to the key its data is stored under.
type ToKey = Arc<dyn Fn(&ActorId) -> ActorId + Send + Sync>;
/// The inverse of a [`ToKey`]: the id stored under a key, if the key is the mapping's.
type FromKey = Arc<dyn Fn(&ActorId) -> Option<ActorId> + Send + Sync>;

/// How the actors of one machine type map their ids to storage keys; see
/// [`PersistConfig::persistence_key`](crate::PersistConfig::persistence_key).
///
/// By default an actor is stored under its own id. A mapping stores it under another key
/// instead, for two reasons:
///
/// - **Namespacing.** Several applications (tenants, services, test runs) share one store and
///   use the same ids: each maps its ids into a namespace of its own
///   ([`PersistenceKey::prefix`]), and none sees another's events, snapshots, registry rows or
///   timers.
/// - **Renames.** An actor renamed in the application keeps its data: map the new id to the old
///   key ([`PersistenceKey::custom`]).
///
/// A mapping has two directions. [`to_key`](PersistenceKey::to_key) is total: every id has a key
/// (checked against the storage rule, [`check_actor_id`](crate::store::check_actor_id), with a
/// typed error). [`from_key`](PersistenceKey::from_key) reads a stored key back as the id the
/// application uses, or says the key is not one this mapping produces (another namespace's row
/// in the same store): listings, restores, cleanup sweeps and the timer service skip such rows.
/// A key is this mapping's only if it maps back to an id that maps to the same key again, so a
/// custom pair that is not each other's inverse on some key never claims it.
///
/// Inside a process, the runtime knows a running actor by its key as well (its actor registry,
/// the observer's records, tracing, and the ids in errors), so the actors of two namespaces with
/// the same ids can run side by side in one system; the repository's API takes and returns the
/// application's ids. Durable actions and cluster routing are registered per machine type, so
/// with them, give each namespace of a machine type a system of its own. The durable actions of
/// another namespace (claimed after their dispatcher died) are handed back, not run.
///
/// ```
/// use machine_core::ActorId;
/// use machine_persist::PersistenceKey;
///
/// let tenant = PersistenceKey::prefix("tenant-a/");
/// let key = tenant.to_key(&ActorId::from("order-1")).unwrap();
/// assert_eq!(key, "tenant-a/order-1");
/// assert_eq!(tenant.from_key(&key), Some(ActorId::from("order-1")));
/// // Another namespace's row is not this mapping's.
/// assert_eq!(tenant.from_key(&ActorId::from("tenant-b/order-1")), None);
/// ```
#[derive(Clone, Default)]
pub struct PersistenceKey {
    mapping: Mapping,
}

#[derive(Clone, Default)]
enum Mapping {
    /// The key is the id.
    #[default]
    Identity,
    /// The key is the prefix followed by the id.
    Prefix(Arc<str>),
    /// The application's own pair of functions.
    Custom { to: ToKey, from: FromKey },
}

impl fmt::Debug for PersistenceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.mapping {
            Mapping::Identity => f.write_str("PersistenceKey::identity"),
            Mapping::Prefix(prefix) => f
                .debug_tuple("PersistenceKey::prefix")
                .field(prefix)
                .finish(),
            Mapping::Custom { .. } => f.write_str("PersistenceKey::custom"),
        }
    }
}

impl PersistenceKey {
    /// Every actor is stored under its own id (the default).
    pub fn identity() -> Self {
        Self::default()
    }

    /// Every actor is stored under `prefix` followed by its id: a namespace of the store. Keys
    /// without the prefix belong to other namespaces. An empty prefix is the identity.
    ///
    /// Listings of a prefix namespace read only its own range of keys.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        if prefix.is_empty() {
            return Self::identity();
        }
        Self {
            mapping: Mapping::Prefix(prefix.into()),
        }
    }

    /// The application's own mapping: `to_key` gives the key of an id, `from_key` the id stored
    /// under a key, or `None` for a key that is not this mapping's. They must be each other's
    /// inverse on the keys `to_key` produces; a key whose id maps to another key is not this
    /// mapping's.
    ///
    /// The rename of an actor: `"auth-service"` keeps the data it had as `"user-service"`.
    ///
    /// ```
    /// use machine_core::ActorId;
    /// use machine_persist::PersistenceKey;
    ///
    /// let renamed = PersistenceKey::custom(
    ///     |id| match id.as_str() {
    ///         "auth-service" => ActorId::from("user-service"),
    ///         _ => id.clone(),
    ///     },
    ///     |key| match key.as_str() {
    ///         "user-service" => Some(ActorId::from("auth-service")),
    ///         _ => Some(key.clone()),
    ///     },
    /// );
    /// let key = renamed.to_key(&ActorId::from("auth-service")).unwrap();
    /// assert_eq!(key, "user-service");
    /// assert_eq!(renamed.from_key(&key), Some(ActorId::from("auth-service")));
    /// // No id maps to "auth-service" any more: a row stored under it is not this mapping's.
    /// assert_eq!(renamed.from_key(&ActorId::from("auth-service")), None);
    /// ```
    pub fn custom(
        to_key: impl Fn(&ActorId) -> ActorId + Send + Sync + 'static,
        from_key: impl Fn(&ActorId) -> Option<ActorId> + Send + Sync + 'static,
    ) -> Self {
        Self {
            mapping: Mapping::Custom {
                to: Arc::new(to_key),
                from: Arc::new(from_key),
            },
        }
    }

    /// The key actor `id` is stored under. Both the id and the key must follow the storage rule
    /// ([`check_actor_id`](crate::store::check_actor_id)); the error names the one that breaks
    /// it.
    pub fn to_key(&self, id: &ActorId) -> Result<ActorId, InvalidId> {
        check_actor_id(id.as_str())?;
        let key = self.map(id);
        check_actor_id(key.as_str())?;
        Ok(key)
    }

    /// The id stored under `key`, or `None` when `key` is not one this mapping produces: it is
    /// not a valid id's key, or its id maps to another key.
    pub fn from_key(&self, key: &ActorId) -> Option<ActorId> {
        let id = match &self.mapping {
            Mapping::Identity => return Some(key.clone()),
            Mapping::Prefix(prefix) => ActorId::from(key.as_str().strip_prefix(&**prefix)?),
            Mapping::Custom { from, .. } => from(key)?,
        };
        (check_actor_id(id.as_str()).is_ok() && self.map(&id) == *key).then_some(id)
    }

    /// The id the application knows the actor stored under `key` by: its id if the key is this
    /// mapping's, otherwise the key itself (for reports about rows of other namespaces).
    pub(crate) fn id_of(&self, key: &ActorId) -> ActorId {
        self.from_key(key).unwrap_or_else(|| key.clone())
    }

    /// Whether every id is its own key.
    pub(crate) fn is_identity(&self) -> bool {
        matches!(self.mapping, Mapping::Identity)
    }

    /// The prefix every key of this mapping starts with, so listings read only that range of
    /// keys (`None`: keys may be anywhere).
    pub(crate) fn prefix_range(&self) -> Option<&str> {
        match &self.mapping {
            Mapping::Prefix(prefix) => Some(prefix),
            _ => None,
        }
    }

    fn map(&self, id: &ActorId) -> ActorId {
        match &self.mapping {
            Mapping::Identity => id.clone(),
            Mapping::Prefix(prefix) => ActorId::from(format!("{prefix}{id}")),
            Mapping::Custom { to, .. } => to(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::IdProblem;

    fn id(text: &str) -> ActorId {
        ActorId::from(text)
    }

    #[test]
    fn the_identity_stores_an_actor_under_its_id() {
        let identity = PersistenceKey::identity();
        assert!(identity.is_identity());
        assert_eq!(identity.to_key(&id("order-1")).unwrap(), "order-1");
        assert_eq!(identity.from_key(&id("anything")), Some(id("anything")));
        assert!(PersistenceKey::prefix("").is_identity());
    }

    #[test]
    fn a_prefix_is_a_namespace() {
        let tenant = PersistenceKey::prefix("a/");
        assert_eq!(tenant.to_key(&id("1")).unwrap(), "a/1");
        assert_eq!(tenant.from_key(&id("a/1")), Some(id("1")));
        assert_eq!(tenant.from_key(&id("a/b/1")), Some(id("b/1")));
        assert_eq!(tenant.from_key(&id("b/1")), None, "another namespace");
        assert_eq!(tenant.from_key(&id("a/")), None, "no id is empty");
        assert_eq!(tenant.from_key(&id("1")), None, "an unprefixed key");
        assert_eq!(tenant.id_of(&id("b/1")), "b/1");
        assert_eq!(tenant.prefix_range(), Some("a/"));
    }

    #[test]
    fn ids_and_keys_follow_the_storage_rule() {
        let tenant = PersistenceKey::prefix("tenant/");
        let empty = tenant.to_key(&id("")).unwrap_err();
        assert_eq!(empty.problem, IdProblem::Empty);
        // The id fits, its key does not.
        let long = tenant.to_key(&id(&"x".repeat(510))).unwrap_err();
        assert_eq!(long.problem, IdProblem::TooLong { len: 517, max: 512 });
        let nul = PersistenceKey::prefix("a\0").to_key(&id("1")).unwrap_err();
        assert_eq!(nul.problem, IdProblem::Nul { at: 1 });
        let custom = PersistenceKey::custom(|_| id(""), |key| Some(key.clone()));
        assert_eq!(
            custom.to_key(&id("1")).unwrap_err().problem,
            IdProblem::Empty
        );
    }

    #[test]
    fn a_custom_key_is_the_mappings_only_if_it_maps_back() {
        let renamed = PersistenceKey::custom(
            |id| match id.as_str() {
                "new" => ActorId::from("old"),
                _ => id.clone(),
            },
            |key| match key.as_str() {
                "old" => Some(ActorId::from("new")),
                "hidden" => None,
                _ => Some(key.clone()),
            },
        );
        assert_eq!(renamed.to_key(&id("new")).unwrap(), "old");
        assert_eq!(renamed.to_key(&id("other")).unwrap(), "other");
        assert_eq!(renamed.from_key(&id("old")), Some(id("new")));
        assert_eq!(renamed.from_key(&id("other")), Some(id("other")));
        assert_eq!(renamed.from_key(&id("new")), None, "its id maps elsewhere");
        assert_eq!(renamed.from_key(&id("hidden")), None);
        let invalid = PersistenceKey::custom(|id| id.clone(), |_| Some(ActorId::from("")));
        assert_eq!(invalid.from_key(&id("k")), None, "an invalid id is no id");
        assert_eq!(renamed.prefix_range(), None);
    }
}
