//! Registered migration steps for old event and state JSON.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::codec::SharedError;
use crate::error::BoxError;

/// Why a stored payload could not be brought to the current schema.
#[derive(Clone, Debug, thiserror::Error)]
pub enum UpcastError {
    /// The payload was written by a newer schema than this code knows.
    #[error("schema version {stored} is newer than the supported version {supported}")]
    TooNew {
        /// The stored schema version.
        stored: u32,
        /// The newest version this code reads.
        supported: u32,
    },
    /// No step is registered to migrate from this version.
    #[error("no upcaster from schema version {from}{}", tag.as_ref().map(|t| format!(" for `{t}`")).unwrap_or_default())]
    Missing {
        /// The event tag, for events.
        tag: Option<String>,
        /// The version with no step.
        from: u32,
    },
    /// A step refused the payload.
    #[error("upcaster from schema version {from} failed: {source}")]
    Failed {
        /// The version of the failing step.
        from: u32,
        /// The step's error.
        source: SharedError,
    },
}

type Step = Arc<dyn Fn(Value) -> Result<Value, BoxError> + Send + Sync>;

/// Migration steps, each from one schema version to the next.
///
/// ```
/// use machine_persist::schema::Upcasters;
/// use serde_json::json;
///
/// // Version 1 of `Pay` stored `cents`; version 2 stores `amount`.
/// let upcasters = Upcasters::new().event("Pay", 1, |mut v| {
///     let cents = v["Pay"]["cents"].take();
///     v["Pay"] = json!({ "amount": cents });
///     Ok(v)
/// });
/// let current = upcasters
///     .upcast_event("Pay", 1, 2, json!({ "Pay": { "cents": 5 } }))
///     .unwrap();
/// assert_eq!(current, json!({ "Pay": { "amount": 5 } }));
/// ```
#[derive(Clone, Default)]
pub struct Upcasters {
    events: HashMap<(String, u32), Step>,
    events_any: HashMap<u32, Step>,
    states: HashMap<u32, Step>,
}

impl fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut events: Vec<_> = self.events.keys().collect();
        events.sort();
        f.debug_struct("Upcasters")
            .field("events", &events)
            .field("events_any", &self.events_any.len())
            .field("states", &self.states.len())
            .finish()
    }
}

impl Upcasters {
    /// No steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step that migrates events tagged `tag` from schema version `from` to
    /// `from + 1`.
    pub fn event(
        mut self,
        tag: &str,
        from: u32,
        step: impl Fn(Value) -> Result<Value, BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.events.insert((tag.to_owned(), from), Arc::new(step));
        self
    }

    /// Registers a step for every event tag without a tag-specific step at `from`.
    pub fn any_event(
        mut self,
        from: u32,
        step: impl Fn(Value) -> Result<Value, BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.events_any.insert(from, Arc::new(step));
        self
    }

    /// Registers the step that migrates snapshot states from `from` to `from + 1`.
    pub fn state(
        mut self,
        from: u32,
        step: impl Fn(Value) -> Result<Value, BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.states.insert(from, Arc::new(step));
        self
    }

    /// Migrates an event payload from `stored` to `current`.
    pub fn upcast_event(
        &self,
        tag: &str,
        stored: u32,
        current: u32,
        value: Value,
    ) -> Result<Value, UpcastError> {
        chain(stored, current, value, Some(tag), |from| {
            self.events
                .get(&(tag.to_owned(), from))
                .or_else(|| self.events_any.get(&from))
        })
    }

    /// Migrates a state payload from `stored` to `current`.
    pub fn upcast_state(
        &self,
        stored: u32,
        current: u32,
        value: Value,
    ) -> Result<Value, UpcastError> {
        chain(stored, current, value, None, |from| self.states.get(&from))
    }
}

fn chain<'a>(
    stored: u32,
    current: u32,
    mut value: Value,
    tag: Option<&str>,
    step: impl Fn(u32) -> Option<&'a Step>,
) -> Result<Value, UpcastError> {
    if stored > current {
        return Err(UpcastError::TooNew {
            stored,
            supported: current,
        });
    }
    for from in stored..current {
        let step = step(from).ok_or_else(|| UpcastError::Missing {
            tag: tag.map(str::to_owned),
            from,
        })?;
        value = step(value).map_err(|error| UpcastError::Failed {
            from,
            source: error.into(),
        })?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_chain_from_the_stored_version_to_the_current_one() {
        let upcasters = Upcasters::new()
            .state(1, |v| Ok(json!({ "v2": v })))
            .state(2, |v| Ok(json!({ "v3": v })));
        assert_eq!(
            upcasters.upcast_state(1, 3, json!(0)).unwrap(),
            json!({ "v3": { "v2": 0 } })
        );
        assert_eq!(upcasters.upcast_state(3, 3, json!(7)).unwrap(), json!(7));
    }

    #[test]
    fn a_missing_step_a_failing_step_and_newer_data_are_errors() {
        let upcasters = Upcasters::new().any_event(1, |_| Err("bad".into()));
        assert!(matches!(
            upcasters.upcast_event("Pay", 1, 2, json!(null)),
            Err(UpcastError::Failed { from: 1, .. })
        ));
        assert!(matches!(
            upcasters.upcast_event("Pay", 2, 3, json!(null)),
            Err(UpcastError::Missing { from: 2, tag: Some(t) }) if t == "Pay"
        ));
        assert!(matches!(
            upcasters.upcast_state(4, 3, json!(null)),
            Err(UpcastError::TooNew {
                stored: 4,
                supported: 3
            })
        ));
    }

    #[test]
    fn a_tag_specific_step_wins_over_the_generic_one() {
        let upcasters = Upcasters::new()
            .any_event(1, |_| Ok(json!("any")))
            .event("Pay", 1, |_| Ok(json!("pay")));
        assert_eq!(
            upcasters.upcast_event("Pay", 1, 2, json!(0)).unwrap(),
            json!("pay")
        );
        assert_eq!(
            upcasters.upcast_event("Ship", 1, 2, json!(0)).unwrap(),
            json!("any")
        );
    }
}
