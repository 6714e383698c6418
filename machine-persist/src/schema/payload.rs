//! Turning events and states into stored payloads and back, through the codec and the
//! upcasters.

use std::sync::Arc;
use std::time::SystemTime;

use machine_core::{Event, Tag};
use serde::de::DeserializeOwned;

use super::Upcasters;
use crate::codec::{CodecError, DecodeError, DecodeProblem, EncodeError, PayloadKind, SharedCodec};
use crate::{
    ActorId, EventMetadata, NewEvent, NewSnapshot, PersistConfig, PersistError, Persistable,
    StoredEvent, StoredSnapshot,
};

/// Encodes and decodes one machine type's payloads at its current schema versions.
pub(crate) struct Payloads<M: Persistable> {
    pub(crate) event_schema: u32,
    pub(crate) state_schema: u32,
    pub(crate) upcasters: Arc<Upcasters>,
    pub(crate) codec: SharedCodec<M>,
}

/// Where a stored payload came from, for error messages.
struct Origin<'a> {
    actor_id: &'a ActorId,
    version: u64,
    kind: PayloadKind,
}

impl Origin<'_> {
    fn error(&self, problem: DecodeProblem) -> PersistError {
        DecodeError {
            actor_id: self.actor_id.clone(),
            version: self.version,
            kind: self.kind,
            problem,
        }
        .into()
    }
}

impl<M: Persistable> Payloads<M> {
    /// The payloads of `config`'s machine type: its codec, schema versions and upcasters.
    pub(crate) fn of(config: &PersistConfig<M>) -> Self {
        Self {
            event_schema: config.event_schema,
            state_schema: config.state_schema,
            upcasters: Arc::clone(&config.upcasters),
            codec: Arc::clone(&config.codec),
        }
    }

    fn encode_error(&self, kind: PayloadKind) -> impl FnOnce(CodecError) -> EncodeError + '_ {
        move |source| EncodeError {
            kind,
            codec: self.codec.name(),
            source,
        }
    }

    /// An event, ready to journal.
    pub(crate) fn event(
        &self,
        event: &M::Event,
        metadata: &EventMetadata,
    ) -> Result<NewEvent, EncodeError> {
        Ok(NewEvent {
            tag: event.tag().name().into(),
            schema_version: self.event_schema,
            codec: self.codec.name().into(),
            payload: self
                .codec
                .encode_event(event)
                .map_err(self.encode_error(PayloadKind::Event))?,
            metadata: metadata.clone(),
        })
    }

    /// A state, ready to save as the snapshot at `version`.
    pub(crate) fn snapshot(
        &self,
        state: &M,
        version: u64,
        entered_at: SystemTime,
    ) -> Result<NewSnapshot, EncodeError> {
        Ok(NewSnapshot {
            version,
            state_tag: state.tag().name().into(),
            schema_version: self.state_schema,
            codec: self.codec.name().into(),
            payload: self
                .codec
                .encode_state(state)
                .map_err(self.encode_error(PayloadKind::State))?,
            entered_at: entered_at.into(),
        })
    }

    /// Decodes a journaled event, migrating it first when it was written by an older schema.
    pub(crate) fn decode_event(&self, stored: &StoredEvent) -> Result<M::Event, PersistError> {
        let origin = Origin {
            actor_id: &stored.actor_id,
            version: stored.version,
            kind: PayloadKind::Event,
        };
        self.check_codec(&origin, &stored.codec)?;
        if stored.schema_version == self.event_schema {
            return self
                .codec
                .decode_event(&stored.payload)
                .map_err(|error| origin.error(DecodeProblem::Codec(error)));
        }
        let value = self.to_json(&origin, &stored.payload)?;
        let value = self
            .upcasters
            .upcast_event(&stored.tag, stored.schema_version, self.event_schema, value)
            .map_err(|reason| PersistError::Upcast {
                actor_id: stored.actor_id.clone(),
                version: stored.version,
                reason,
            })?;
        from_value(&origin, value)
    }

    /// Decodes a snapshot's state, migrating it first when it was written by an older schema.
    pub(crate) fn decode_state(&self, stored: &StoredSnapshot) -> Result<M, PersistError> {
        let origin = Origin {
            actor_id: &stored.actor_id,
            version: stored.version,
            kind: PayloadKind::State,
        };
        self.check_codec(&origin, &stored.codec)?;
        if stored.schema_version == self.state_schema {
            return self
                .codec
                .decode_state(&stored.payload)
                .map_err(|error| origin.error(DecodeProblem::Codec(error)));
        }
        let value = self.to_json(&origin, &stored.payload)?;
        let value = self
            .upcasters
            .upcast_state(stored.schema_version, self.state_schema, value)
            .map_err(|reason| PersistError::Upcast {
                actor_id: stored.actor_id.clone(),
                version: stored.version,
                reason,
            })?;
        from_value(&origin, value)
    }

    fn check_codec(&self, origin: &Origin<'_>, stored: &str) -> Result<(), PersistError> {
        let expected = self.codec.name();
        if stored == expected {
            return Ok(());
        }
        Err(origin.error(DecodeProblem::WrongCodec {
            stored: stored.to_owned(),
            expected,
        }))
    }

    fn to_json(
        &self,
        origin: &Origin<'_>,
        payload: &[u8],
    ) -> Result<serde_json::Value, PersistError> {
        match self.codec.to_json(payload) {
            Some(Ok(value)) => Ok(value),
            Some(Err(error)) => Err(origin.error(DecodeProblem::Codec(error))),
            None => Err(origin.error(DecodeProblem::NotUpcastable(self.codec.name()))),
        }
    }
}

fn from_value<T: DeserializeOwned>(
    origin: &Origin<'_>,
    value: serde_json::Value,
) -> Result<T, PersistError> {
    serde_json::from_value(value)
        .map_err(|error| origin.error(DecodeProblem::Codec(CodecError::new(error))))
}
