//! Turning events and states into stored payloads and back, through the upcasters.

use std::sync::Arc;

use machine_core::{Event, Machine, Tag};

use crate::Persistable;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Upcasters;
use crate::codec::{DecodeError, EncodeError};
use crate::{
    ActorId, EventMetadata, NewEvent, NewSnapshot, PersistError, StoredEvent, StoredSnapshot,
};

/// Encodes and decodes one machine type's payloads at its current schema versions.
pub(crate) struct Payloads {
    pub(crate) event_schema: u32,
    pub(crate) state_schema: u32,
    pub(crate) upcasters: Arc<Upcasters>,
}

fn encode<T: Serialize>(value: &T) -> Result<String, EncodeError> {
    serde_json::to_string(value).map_err(|error| EncodeError {
        source: Arc::new(error),
    })
}

fn decode_error(
    actor_id: &ActorId,
    version: u64,
    source: impl std::error::Error + Send + Sync + 'static,
) -> DecodeError {
    DecodeError {
        actor_id: actor_id.clone(),
        version,
        source: Arc::new(source),
    }
}

impl Payloads {
    /// An event, ready to journal.
    pub(crate) fn event<M: Persistable>(
        &self,
        event: &M::Event,
        metadata: &EventMetadata,
    ) -> Result<NewEvent, EncodeError> {
        Ok(NewEvent {
            tag: event.tag().name().to_owned(),
            schema_version: self.event_schema,
            payload: M::encode_event(event).map_err(|error| EncodeError {
                source: Arc::new(error),
            })?,
            metadata: metadata.clone(),
        })
    }

    /// A state, ready to save as the snapshot at `version`.
    pub(crate) fn snapshot<M: Machine + Serialize>(
        &self,
        state: &M,
        version: u64,
        entered_at: std::time::SystemTime,
    ) -> Result<NewSnapshot, EncodeError> {
        Ok(NewSnapshot {
            version,
            state_tag: state.tag().name().to_owned(),
            schema_version: self.state_schema,
            payload: encode(state)?,
            entered_at: entered_at.into(),
        })
    }

    /// Decodes a journaled event, migrating it first when it was written by an older schema.
    pub(crate) fn decode_event<M: Persistable>(
        &self,
        stored: &StoredEvent,
    ) -> Result<M::Event, PersistError> {
        let at = |source| decode_error(&stored.actor_id, stored.version, source);
        if stored.schema_version == self.event_schema {
            return M::decode_event_str(&stored.payload).map_err(|e| at(e).into());
        }
        let value = serde_json::from_str(&stored.payload).map_err(at)?;
        let value = self
            .upcasters
            .upcast_event(&stored.tag, stored.schema_version, self.event_schema, value)
            .map_err(|reason| PersistError::Upcast {
                actor_id: stored.actor_id.clone(),
                version: stored.version,
                reason,
            })?;
        M::decode_event(value).map_err(|e| at(e).into())
    }

    /// Decodes a snapshot's state, migrating it first when it was written by an older schema.
    pub(crate) fn decode_state<M: DeserializeOwned>(
        &self,
        stored: &StoredSnapshot,
    ) -> Result<M, PersistError> {
        let at = |source| decode_error(&stored.actor_id, stored.version, source);
        if stored.schema_version == self.state_schema {
            return serde_json::from_str(&stored.payload).map_err(|e| at(e).into());
        }
        let value = serde_json::from_str(&stored.payload).map_err(at)?;
        let value = self
            .upcasters
            .upcast_state(stored.schema_version, self.state_schema, value)
            .map_err(|reason| PersistError::Upcast {
                actor_id: stored.actor_id.clone(),
                version: stored.version,
                reason,
            })?;
        serde_json::from_value(value).map_err(|e| at(e).into())
    }
}
