//! Conformance of failed effects in the outbox: every backend must pass these unchanged (they
//! are instantiated through `all_conformance_tests!`).

use chrono::Utc;
use machine_core::{ActorId, IdempotencyKey, SerializedCause};
use machine_persist::store::{
    ActionOutcome, ActionStatus, ActionUpdate, Catalog, FailedEffect, Journal, Outbox, StoreError,
};

use super::conformance::{claim_request, outbox_action, request, stored_actions};
use super::Backend;

fn failure(actor: &str, version: u64, name: &str, cause: SerializedCause) -> FailedEffect {
    FailedEffect {
        key: IdempotencyKey::new(ActorId::from(actor), version, name),
        machine_type: "Order".into(),
        cause,
    }
}

/// A failed effect is a `failed` row with one attempt, its nested cause round-tripping; a
/// second failure under its key keeps the first; it is listed with the actor's durable actions,
/// never claimed nor recorded as an attempt, and deleted with the actor.
pub async fn failed_effects_are_recorded_once_and_never_claimed<B: Backend>(backend: &B) {
    let store = backend.store();
    let past = Utc::now() - chrono::Duration::seconds(60);
    let durable = request("a", 0, 2)
        .create()
        .push_action(outbox_action(1, "charge", "gone", past));
    store.append(durable).await.unwrap();
    let inner = SerializedCause::of(&std::io::Error::other("printer on fire"))
        .with_value(serde_json::json!({ "tray": 2, "codes": [7, 9] }));
    let nested = SerializedCause {
        type_name: Some("ReceiptError".into()),
        message: "no receipt".into(),
        source: Some(Box::new(inner)),
        value: None,
    };
    let receipt = failure("a", 2, "send receipt", nested.clone());
    assert!(store.record_failure(&receipt).await.unwrap());
    let again = failure("a", 2, "send receipt", SerializedCause::new("again"));
    assert!(
        !store.record_failure(&again).await.unwrap(),
        "a key is recorded once"
    );
    let panicked = failure("a", 1, "courier", SerializedCause::panic("boom"));
    assert!(store.record_failure(&panicked).await.unwrap());

    let rows = stored_actions(store.actions(&ActorId::from("a")).await.unwrap());
    let keys: Vec<String> = rows.iter().map(|row| row.key.to_string()).collect();
    assert_eq!(keys, ["a/1/charge", "a/1/courier", "a/2/send receipt"]);
    let row = &rows[2];
    assert_eq!(row.status, ActionStatus::Failed);
    assert_eq!(row.attempts, 1);
    assert_eq!(row.machine_type, "Order");
    assert!(row.payload.is_empty());
    assert_eq!(
        row.last_cause.as_ref(),
        Some(&nested),
        "the first cause, whole"
    );
    assert_eq!(
        row.last_cause.as_ref().map(SerializedCause::chain),
        Some(vec!["no receipt", "printer on fire"])
    );
    assert_eq!(rows[1].last_cause, Some(SerializedCause::panic("boom")));
    assert_eq!(
        rows[0].status,
        ActionStatus::Pending,
        "the durable action is untouched"
    );

    // Only the durable action is ever claimed, whoever asks and however late.
    for owner in ["", "p"] {
        let mut late = claim_request(owner, 10);
        late.now = Utc::now() + chrono::Duration::days(1);
        late.reclaim_own_before = Some(late.now);
        let claimed = stored_actions(store.claim_due(&late).await.unwrap());
        let claimed: Vec<String> = claimed.iter().map(|row| row.key.to_string()).collect();
        assert!(
            claimed.iter().all(|key| key == "a/1/charge"),
            "{owner:?}: {claimed:?}"
        );
    }
    let attempt = ActionUpdate {
        key: receipt.key.clone(),
        claim: super::conformance::held(&rows[2]),
        attempts: 2,
        outcome: ActionOutcome::Succeeded,
        cause: None,
    };
    assert!(!store.record(&attempt).await.unwrap(), "not an attempt");

    let invalid = failure("", 1, "x", SerializedCause::new("no actor"));
    assert!(matches!(
        store.record_failure(&invalid).await,
        Err(StoreError::InvalidId(_))
    ));
    assert!(store.delete_actor(&ActorId::from("a")).await.unwrap());
    assert!(store.actions(&ActorId::from("a")).await.unwrap().is_empty());
}
