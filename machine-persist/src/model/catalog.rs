//! The catalog of stored actors: one row of metadata per persisted actor (the registry), and the
//! query that selects rows of it.
//!
//! The registry is what `restore_all`, `list` and `list_persisted` read; it is updated by every
//! append in the same transaction as the events, so it never disagrees with the journal's head.
//! [`CatalogQuery`] is the store-level, machine-agnostic query (tags as names);
//! [`ActorFilter`](crate::ActorFilter) is the typed one a repository takes.

use chrono::{DateTime, Utc};

use super::ActorId;

/// What the registry knows about one actor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorMetadata {
    /// The actor's id.
    pub actor_id: ActorId,
    /// The machine type given when the actor was first written.
    pub machine_type: String,
    /// The actor's head version (number of journaled events; unaffected by retention).
    pub version: u64,
    /// Tag of the actor's state at the head.
    pub state_tag: String,
    /// Wall time at which the actor entered that state.
    pub entered_at: DateTime<Utc>,
    /// When the actor was first written (kept across restores).
    pub created_at: DateTime<Utc>,
    /// When the actor was last appended to.
    pub last_activity: DateTime<Utc>,
    /// When the soonest state timeout of its state falls due, if the state has one.
    pub timeout_at: Option<DateTime<Utc>>,
}

/// Selects registry rows of any machine type, naming states by their stored tags; results are
/// ordered by actor id (byte order) for stable pagination.
///
/// Every condition that is set must hold. Page with [`after`](Self::after) (the last id of the
/// previous page) and [`limit`](Self::limit). A repository takes the typed
/// [`ActorFilter`](crate::ActorFilter) instead, which names states by the machine's tag enum.
///
/// ```
/// use machine_persist::store::CatalogQuery;
///
/// let open_orders = CatalogQuery::new()
///     .machine_type("Order")
///     .state_not_in(["Shipped", "Cancelled"])
///     .limit(100);
/// # let _ = open_orders;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogQuery {
    pub(crate) machine_type: Option<String>,
    pub(crate) state_in: Option<Vec<String>>,
    pub(crate) state_not_in: Vec<String>,
    pub(crate) updated_before: Option<DateTime<Utc>>,
    pub(crate) updated_after: Option<DateTime<Utc>>,
    pub(crate) after: Option<ActorId>,
    pub(crate) limit: Option<usize>,
}

impl CatalogQuery {
    /// A filter that selects every actor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only actors of this machine type.
    pub fn machine_type(mut self, machine_type: impl Into<String>) -> Self {
        self.machine_type = Some(machine_type.into());
        self
    }

    /// Only actors whose state tag is one of `tags` (an empty list selects nothing).
    pub fn state_in<I, T>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.state_in = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Only actors whose state tag is none of `tags`.
    pub fn state_not_in<I, T>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.state_not_in = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Only actors whose last activity is strictly before `at`.
    pub fn updated_before(mut self, at: DateTime<Utc>) -> Self {
        self.updated_before = Some(at);
        self
    }

    /// Only actors whose last activity is strictly after `at`.
    pub fn updated_after(mut self, at: DateTime<Utc>) -> Self {
        self.updated_after = Some(at);
        self
    }

    /// Only actors whose id sorts strictly after `actor_id` (keyset pagination).
    pub fn after(mut self, actor_id: impl Into<ActorId>) -> Self {
        self.after = Some(actor_id.into());
        self
    }

    /// At most `limit` actors.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The page size, if any.
    pub fn page_size(&self) -> Option<usize> {
        self.limit
    }

    /// Whether `meta` satisfies every condition (ignores the page size).
    pub fn matches(&self, meta: &ActorMetadata) -> bool {
        self.machine_type
            .as_ref()
            .is_none_or(|machine_type| *machine_type == meta.machine_type)
            && self
                .state_in
                .as_ref()
                .is_none_or(|tags| tags.contains(&meta.state_tag))
            && !self.state_not_in.contains(&meta.state_tag)
            && self.updated_before.is_none_or(|at| meta.last_activity < at)
            && self.updated_after.is_none_or(|at| meta.last_activity > at)
            && self
                .after
                .as_ref()
                .is_none_or(|after| meta.actor_id > *after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn meta(id: &str, machine_type: &str, tag: &str, secs: i64) -> ActorMetadata {
        let at = Utc.timestamp_opt(secs, 0).unwrap();
        ActorMetadata {
            actor_id: id.into(),
            machine_type: machine_type.into(),
            version: 1,
            state_tag: tag.into(),
            entered_at: at,
            created_at: at,
            last_activity: at,
            timeout_at: None,
        }
    }

    #[test]
    fn empty_filter_matches_everything() {
        assert!(CatalogQuery::new().matches(&meta("a", "Order", "Paid", 10)));
    }

    #[test]
    fn each_condition_excludes() {
        let m = meta("b", "Order", "Paid", 10);
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        assert!(!CatalogQuery::new().machine_type("Session").matches(&m));
        assert!(!CatalogQuery::new().state_in(["Shipped"]).matches(&m));
        assert!(!CatalogQuery::new()
            .state_in(Vec::<String>::new())
            .matches(&m));
        assert!(!CatalogQuery::new().state_not_in(["Paid"]).matches(&m));
        assert!(!CatalogQuery::new().updated_before(at(10)).matches(&m));
        assert!(!CatalogQuery::new().updated_after(at(10)).matches(&m));
        assert!(!CatalogQuery::new().after("b").matches(&m));
        assert!(CatalogQuery::new()
            .machine_type("Order")
            .state_in(["Paid", "Shipped"])
            .state_not_in(["Cancelled"])
            .updated_before(at(11))
            .updated_after(at(9))
            .after("a")
            .matches(&m));
    }
}
