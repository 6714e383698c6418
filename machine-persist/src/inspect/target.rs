//! A registered machine type behind one object-safe trait, so one router serves repositories of
//! different machines.
//!
//! What needs the machine's types (folding to a version, decoding events, verifying, rewinding a
//! live actor) goes through [`Target`]; what does not (the registry, the journal's rows) is read
//! from the store directly by the handlers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use machine_core::Diagram;
use machine_core::{ActorId, StateTag, Tag};
use serde::Serialize;
use serde_json::Value;

use super::chart::chart;
use super::diff::{diff, Change};
use crate::codec::{CodecError, EncodeError, PayloadKind};
use crate::erased::ErasedStore;
use crate::restore::fold_one;
use crate::verify::Verification;
use crate::{EventMetadata, PersistError, Persistable, Repository};

/// A state tag as the page lists it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct StateInfo {
    pub(crate) name: &'static str,
    pub(crate) initial: bool,
    #[serde(rename = "final")]
    pub(crate) terminal: bool,
}

/// The event that produced a version.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct EventView {
    pub(crate) tag: String,
    pub(crate) payload: Value,
    pub(crate) schema_version: u32,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) position: i64,
    pub(crate) metadata: EventMetadata,
}

/// Everything the page shows for one version of an actor.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct StepView {
    pub(crate) version: u64,
    pub(crate) state: Value,
    pub(crate) state_tag: &'static str,
    /// The state before the event (absent at version 0).
    pub(crate) previous: Option<Value>,
    pub(crate) previous_tag: Option<&'static str>,
    pub(crate) event: Option<EventView>,
    pub(crate) diff: Vec<Change>,
}

/// The running actor, if it runs in this process.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LiveView {
    pub(crate) version: u64,
    pub(crate) head: u64,
    pub(crate) rewound: bool,
}

/// One registered machine type. The inspector shows the store's rows as they are, so the ids
/// it passes here are storage keys (see
/// [`PersistConfig::persistence_key`](crate::PersistConfig::persistence_key)).
pub(crate) trait Target: Send + Sync + 'static {
    fn machine_type(&self) -> &str;
    fn states(&self) -> &[StateInfo];
    fn chart(&self) -> &str;
    fn mermaid(&self) -> &str;
    fn store(&self) -> Arc<dyn ErasedStore>;
    /// The state at `version`, the event that led there and the state before it.
    fn step(&self, id: ActorId, version: u64) -> BoxFuture<'_, Result<StepView, PersistError>>;
    fn verify(&self, id: ActorId) -> BoxFuture<'_, Result<Verification, PersistError>>;
    /// The running actor's status; `None` when it does not run here.
    fn live(&self, id: ActorId) -> BoxFuture<'_, Result<Option<LiveView>, PersistError>>;
    /// Rewinds the running actor to `version`, or resumes it at its head (`None`).
    fn rewind(
        &self,
        id: ActorId,
        version: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<LiveView>, PersistError>>;
}

/// A repository with what the page needs of its machine, computed once.
pub(crate) struct Typed<M: Persistable + Diagram> {
    repository: Repository<M>,
    states: Vec<StateInfo>,
    chart: String,
    mermaid: String,
}

impl<M: Persistable + Diagram> Typed<M> {
    pub(crate) fn new(repository: Repository<M>) -> Self {
        let states = <M::StateTag as Tag>::ALL
            .iter()
            .map(|tag| StateInfo {
                name: tag.name(),
                initial: tag.is_initial(),
                terminal: tag.is_final(),
            })
            .collect();
        Self {
            repository,
            states,
            chart: chart::<M>(),
            mermaid: M::mermaid(),
        }
    }
}

fn json<T: Serialize>(value: &T, kind: PayloadKind) -> Result<Value, PersistError> {
    serde_json::to_value(value).map_err(|error| {
        PersistError::Encode(EncodeError {
            kind,
            codec: "json",
            source: CodecError::new(error),
        })
    })
}

impl<M: Persistable + Diagram> Typed<M> {
    async fn step_at(&self, id: ActorId, version: u64) -> Result<StepView, PersistError> {
        let shared = self.repository.shared();
        let loader = shared.loader();
        let Some(before) = version.checked_sub(1) else {
            let folded = loader.state_at(&id, 0).await?;
            return Ok(StepView {
                version: 0,
                state: json(&folded.state, PayloadKind::State)?,
                state_tag: folded.state.tag().name(),
                previous: None,
                previous_tag: None,
                event: None,
                diff: Vec::new(),
            });
        };
        let head = loader.store.get(&id).await?.map_or(0, |meta| meta.version);
        if version > head {
            return Err(PersistError::VersionOutOfRange {
                actor_id: id,
                requested: version,
                head,
            });
        }
        let mut folded = loader.state_at(&id, before).await?;
        let previous = folded.state.clone();
        let stored = loader.store.read(&id, version, version, 1).await?;
        let Some(stored) = stored.first() else {
            return Err(PersistError::VersionGap {
                actor_id: id,
                expected: version,
                found: version + 1,
            });
        };
        let event = shared.payloads.decode_event(stored)?;
        fold_one(&shared.payloads, &mut folded, stored, &mut |_, _| {})?;
        let event = EventView {
            tag: stored.tag.clone(),
            payload: json(&event, PayloadKind::Event)?,
            schema_version: stored.schema_version,
            recorded_at: stored.recorded_at,
            position: stored.position,
            metadata: stored.metadata.clone(),
        };
        let (state, previous_json) = (
            json(&folded.state, PayloadKind::State)?,
            json(&previous, PayloadKind::State)?,
        );
        Ok(StepView {
            version,
            diff: diff(&previous_json, &state),
            state,
            state_tag: folded.state.tag().name(),
            previous: Some(previous_json),
            previous_tag: Some(previous.tag().name()),
            event: Some(event),
        })
    }

    async fn live_view(&self, id: ActorId) -> Result<Option<LiveView>, PersistError> {
        let Some(actor) = self.repository.running(&id) else {
            return Ok(None);
        };
        let status = actor.status().await?;
        Ok(Some(LiveView {
            version: status.version,
            head: status.head,
            rewound: status.is_rewound(),
        }))
    }

    async fn rewind_to(
        &self,
        id: ActorId,
        version: Option<u64>,
    ) -> Result<Option<LiveView>, PersistError> {
        let Some(actor) = self.repository.running(&id) else {
            return Ok(None);
        };
        match version {
            Some(version) => {
                actor.replay_to(version).await?;
            }
            None => actor.resume().await?,
        }
        self.live_view(id).await
    }
}

impl<M: Persistable + Diagram> Target for Typed<M> {
    fn machine_type(&self) -> &str {
        self.repository.machine_type()
    }

    fn states(&self) -> &[StateInfo] {
        &self.states
    }

    fn chart(&self) -> &str {
        &self.chart
    }

    fn mermaid(&self) -> &str {
        &self.mermaid
    }

    fn store(&self) -> Arc<dyn ErasedStore> {
        Arc::clone(&self.repository.shared().runtime.store)
    }

    fn step(&self, id: ActorId, version: u64) -> BoxFuture<'_, Result<StepView, PersistError>> {
        Box::pin(self.step_at(id, version))
    }

    fn verify(&self, id: ActorId) -> BoxFuture<'_, Result<Verification, PersistError>> {
        Box::pin(self.repository.verify_key(id))
    }

    fn live(&self, id: ActorId) -> BoxFuture<'_, Result<Option<LiveView>, PersistError>> {
        Box::pin(self.live_view(id))
    }

    fn rewind(
        &self,
        id: ActorId,
        version: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<LiveView>, PersistError>> {
        Box::pin(self.rewind_to(id, version))
    }
}
