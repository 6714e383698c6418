//! [`Subscription`]: which machine types a projection reads, and how their events become its
//! event type.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::Envelope;
use crate::schema::Payloads;
use crate::store::{GlobalPosition, StreamFilter};
use crate::{PersistConfig, PersistError, Persistable, StoredEvent};

type Decoder<E> = Arc<dyn Fn(&StoredEvent) -> Result<E, PersistError> + Send + Sync>;

/// The machine types a projection reads, each decoded with its own codec and upcasters (from its
/// [`PersistConfig`]) and converted into the projection's event type `E`.
///
/// One machine type: `E` is its event type. Several: `E` is an enum of yours with a `From` impl
/// per machine's event type.
///
/// ```
/// # use machine_persist::projection::Subscription;
/// # use machine_persist::PersistConfig;
/// # fn example<M: machine_persist::Persistable>() {
/// let orders = Subscription::<M::Event>::new().machine(&PersistConfig::<M>::new());
/// # let _ = orders;
/// # }
/// ```
pub struct Subscription<E> {
    decoders: HashMap<String, Decoder<E>>,
    tags: Vec<String>,
}

impl<E> Clone for Subscription<E> {
    fn clone(&self) -> Self {
        Self {
            decoders: self.decoders.clone(),
            tags: self.tags.clone(),
        }
    }
}

impl<E> fmt::Debug for Subscription<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut machine_types: Vec<&String> = self.decoders.keys().collect();
        machine_types.sort();
        f.debug_struct("Subscription")
            .field("machine_types", &machine_types)
            .field("tags", &self.tags)
            .finish()
    }
}

impl<E> Default for Subscription<E> {
    fn default() -> Self {
        Self {
            decoders: HashMap::new(),
            tags: Vec::new(),
        }
    }
}

impl<E: 'static> Subscription<E> {
    /// A subscription to nothing yet: add machine types with [`machine`](Self::machine).
    pub fn new() -> Self {
        Self::default()
    }

    /// Also reads the events of machine type `M` (under the name, codec and upcasters of
    /// `config`), converted with `Into`.
    pub fn machine<M: Persistable>(mut self, config: &PersistConfig<M>) -> Self
    where
        M::Event: Into<E>,
    {
        let payloads = Payloads::<M>::of(config);
        self.decoders.insert(
            config.machine_type.to_string(),
            Arc::new(move |stored| payloads.decode_event(stored).map(Into::into)),
        );
        self
    }

    /// Only reads events with variant tag `tag` (any tag of those listed once one is).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// The stream filter that reads exactly the subscribed events.
    pub(crate) fn filter(&self) -> StreamFilter {
        let mut machine_types: Vec<&String> = self.decoders.keys().collect();
        machine_types.sort();
        let filter = machine_types
            .into_iter()
            .fold(StreamFilter::all(), |filter, machine_type| {
                filter.machine_type(machine_type.as_str())
            });
        self.tags
            .iter()
            .fold(filter, |filter, tag| filter.tag(tag.as_str()))
    }

    /// Whether the subscription reads anything.
    pub(crate) fn is_empty(&self) -> bool {
        self.decoders.is_empty()
    }

    /// `stored`, decoded into an envelope; `Ok(None)` if it is not subscribed (a store that
    /// filtered loosely).
    pub(crate) fn decode(
        &self,
        at: GlobalPosition,
        stored: StoredEvent,
    ) -> Result<Option<Envelope<E>>, PersistError> {
        let Some(decoder) = self.decoders.get(&stored.machine_type) else {
            return Ok(None);
        };
        if !self.tags.is_empty() && !self.tags.contains(&stored.tag) {
            return Ok(None);
        }
        let event = decoder(&stored)?;
        Ok(Some(Envelope {
            actor_id: stored.actor_id,
            machine_type: stored.machine_type,
            version: stored.version,
            position: at,
            recorded_at: stored.recorded_at,
            metadata: stored.metadata,
            event,
        }))
    }
}
