//! An actor's durable actions and failed effects as JSON, one shape for every tool that shows
//! them (the inspector's API, `machine-inspect history`).

use serde_json::{json, Value};

use crate::store::{RowResult, StoredAction};
use machine_core::SerializedCause;

/// One object per outbox row of an actor, in the given order (the store's: version, then
/// name): its `name`, `version`, `status`, `attempts`, last change (`updated_at`) and last
/// `cause` (`type_name`, `message`, the `chain` of messages outermost first, and `value`); a
/// row that cannot be read is `{"error": …}` in its place.
pub fn effects_json(rows: &[RowResult<StoredAction>]) -> Vec<Value> {
    rows.iter()
        .map(|row| match row {
            Ok(action) => json!({
                "name": action.key.action.as_ref(),
                "version": action.key.version,
                "status": action.status.as_str(),
                "attempts": action.attempts,
                "updated_at": action.updated_at,
                "cause": action.last_cause.as_ref().map(cause),
            }),
            Err(error) => json!({ "error": error.to_string() }),
        })
        .collect()
}

/// A cause: its type name, message, the messages of its chain (outermost first) and its value.
fn cause(cause: &SerializedCause) -> Value {
    json!({
        "type_name": cause.type_name,
        "message": cause.message,
        "chain": cause.chain(),
        "value": cause.value,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use machine_core::{ActorId, IdempotencyKey};

    use super::*;
    use crate::store::{ActionStatus, StoreError};

    #[test]
    fn a_row_shows_its_status_and_cause_chain_and_a_bad_row_its_error() {
        let now = Utc::now();
        let failed = StoredAction {
            key: IdempotencyKey::new(ActorId::from("o-1"), 3, "send receipt"),
            machine_type: "Order".into(),
            codec: String::new(),
            payload: Vec::new(),
            status: ActionStatus::Failed,
            attempts: 1,
            claimed_by: String::new(),
            claimed_until: now,
            last_cause: Some(
                SerializedCause::of(&std::io::Error::other("smtp down"))
                    .with_type_name("MailError")
                    .with_value(json!({ "code": 421 })),
            ),
            created_at: now,
            updated_at: now,
        };
        let bad = Err(StoreError::corrupt(
            &ActorId::from("o-1"),
            Some(4),
            "status",
            "unknown status `x`",
        ));
        let shown = effects_json(&[Ok(failed), bad]);
        assert_eq!(shown[0]["name"], "send receipt");
        assert_eq!(shown[0]["version"], 3);
        assert_eq!(shown[0]["status"], "failed");
        assert_eq!(shown[0]["attempts"], 1);
        assert_eq!(shown[0]["cause"]["type_name"], "MailError");
        assert_eq!(shown[0]["cause"]["chain"], json!(["smtp down"]));
        assert_eq!(shown[0]["cause"]["value"]["code"], 421);
        assert!(shown[1]["error"]
            .as_str()
            .is_some_and(|error| error.contains("unknown status")));
    }
}
