//! Effects: actions after commit, state tasks and their cancellation, timeouts on a paused
//! clock, background tasks, and failures that never take the runtime down.

mod support;

use machine_core::Machine;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use machine_core::testkit::Harness;
use machine_core::{EffectKind, OwnedRecordKind};
use machine_core::{Recorder, SpawnOptions};
use machine_test_support::order::{Env, Order, OrderEvent, OrderTag, PAYMENT_WINDOW};

#[tokio::test(start_paused = true)]
async fn the_payment_timeout_fires_on_the_paused_clock() {
    let harness = Harness::new();
    let order = harness
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    harness
        .advance(PAYMENT_WINDOW - Duration::from_secs(1))
        .await;
    assert!(order.matches(OrderTag::Pending).await.unwrap(), "not yet");
    harness.advance(Duration::from_secs(1)).await;
    let state = order.wait_for(|s| s.tag() == OrderTag::Cancelled).await;
    assert!(
        matches!(state, Ok(Order::Cancelled { ref reason }) if reason == "payment window expired"),
        "{state:?}"
    );
    harness.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn leaving_a_state_cancels_its_task_and_its_late_events_are_discarded() {
    let harness = Harness::new();
    let env = Arc::new(Env::default());
    let order = harness
        .spawn("o-1", Order::new("o-1"), Arc::clone(&env))
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 3 })
        .await
        .unwrap()
        .is_accepted());
    harness.settle().await;
    assert_eq!(
        env.courier_started.load(Ordering::SeqCst),
        1,
        "entering Paid starts the courier"
    );
    assert_eq!(env.courier_cancelled.load(Ordering::SeqCst), 0);

    // An internal transition (same tag) keeps the task running.
    assert!(order.call(OrderEvent::Note).await.unwrap().is_accepted());
    harness.settle().await;
    assert_eq!(env.courier_started.load(Ordering::SeqCst), 1);

    assert!(order.call(OrderEvent::Cancel).await.unwrap().is_accepted());
    harness.settle().await;
    assert_eq!(
        env.courier_cancelled.load(Ordering::SeqCst),
        1,
        "the task observed its cancellation"
    );
    harness.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_task_result_becomes_an_event() {
    let harness = Harness::new();
    let env = Arc::new(Env::default());
    *env.courier_tracking.lock().unwrap() = Some("TRK-9".into());
    let order = harness
        .spawn("o-1", Order::new("o-1"), Arc::clone(&env))
        .unwrap();
    let mut changes = order.changes().await.unwrap();
    order.send(OrderEvent::Pay { amount: 3 }).await.unwrap();
    use futures::StreamExt;
    let mut tags = Vec::new();
    while let Some(state) = changes.next().await {
        tags.push(state.tag());
    }
    assert_eq!(tags, [OrderTag::Pending, OrderTag::Paid, OrderTag::Shipped]);
    harness.shutdown().await;
}

#[tokio::test]
async fn a_failing_action_is_reported_and_the_actor_carries_on() {
    let harness = Harness::new();
    let env = Arc::new(Env::default());
    env.fail_receipt.store(true, Ordering::SeqCst);
    let recorder = Recorder::new();
    let order = harness
        .spawn_with(
            "o-1",
            Order::new("o-1"),
            Arc::clone(&env),
            SpawnOptions::new().observer(recorder.observer()),
        )
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 3 })
        .await
        .unwrap()
        .is_accepted());
    harness.settle().await;
    let failure = recorder
        .records()
        .into_iter()
        .find_map(|record| match record.kind {
            OwnedRecordKind::Effect {
                name: "send receipt",
                kind: EffectKind::Action,
                version,
                finished: Some(Err(cause)),
            } => Some((version, cause)),
            _ => None,
        });
    let (version, cause) = failure.expect("the failure is recorded");
    assert_eq!(
        version, 1,
        "the version of the step that declared the action"
    );
    assert_eq!(cause.chain(), ["mail server down"]);
    assert_eq!(cause.type_name, None, "a boxed error's type is not known");
    assert!(
        order.call(OrderEvent::Note).await.unwrap().is_accepted(),
        "the actor still works"
    );
    harness.shutdown().await;
}

#[tokio::test]
async fn a_panicking_action_does_not_take_the_system_down() {
    let harness = Harness::new();
    let env = Arc::new(Env::default());
    env.panic_receipt.store(true, Ordering::SeqCst);
    let recorder = Recorder::new();
    let order = harness
        .spawn_with(
            "o-1",
            Order::new("o-1"),
            Arc::clone(&env),
            SpawnOptions::new().observer(recorder.observer()),
        )
        .unwrap();
    let bystander = harness
        .spawn("o-2", Order::new("o-2"), Env::default())
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 3 })
        .await
        .unwrap()
        .is_accepted());
    harness.settle().await;
    let panicked = recorder.records().into_iter().any(|record| matches!(
        record.kind,
        OwnedRecordKind::Effect { name: "send receipt", finished: Some(Err(ref cause)), .. }
            if cause.message.contains("receipt printer on fire") && cause.type_name.as_deref() == Some("panic")
    ));
    assert!(panicked, "the panic is reported: {:?}", recorder.records());
    assert!(order.call(OrderEvent::Note).await.unwrap().is_accepted());
    assert!(bystander
        .call(OrderEvent::Pay { amount: 1 })
        .await
        .unwrap()
        .is_accepted());
    harness.shutdown().await;
}

#[tokio::test]
async fn actions_run_once_after_commit_in_order_of_declaration() {
    let harness = Harness::new();
    let env = Arc::new(Env::default());
    let order = harness
        .spawn("o-1", Order::new("o-1"), Arc::clone(&env))
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 12 })
        .await
        .unwrap()
        .is_accepted());
    assert!(order.call(OrderEvent::Note).await.unwrap().is_accepted());
    harness.settle().await;
    assert_eq!(env.log(), ["receipt 12"]);
    harness.shutdown().await;
}

mod timeouts {
    use super::support::session::{Beats, Session, SessionEvent, SessionTag, IDLE};
    use machine_core::testkit::Harness;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_timeout_restarts_when_its_state_is_re_entered() {
        let harness = Harness::new();
        let session = harness
            .spawn("s-1", Session::Active { touches: 0 }, Beats::default())
            .unwrap();
        harness.advance(IDLE - Duration::from_secs(4)).await;
        assert!(session
            .call(SessionEvent::Pause)
            .await
            .unwrap()
            .is_accepted());
        assert!(session
            .call(SessionEvent::Resume)
            .await
            .unwrap()
            .is_accepted());
        // Had the first countdown survived, it would have fired by now.
        harness.advance(Duration::from_secs(6)).await;
        assert!(session.matches(SessionTag::Active).await.unwrap());
        // An event whose step re-enters the state (is_entry) restarts it too.
        assert!(session
            .call(SessionEvent::Touch)
            .await
            .unwrap()
            .is_accepted());
        harness.advance(IDLE - Duration::from_secs(1)).await;
        assert!(session.matches(SessionTag::Active).await.unwrap());
        harness.advance(Duration::from_secs(1)).await;
        while !session.is_stopped() {
            harness.settle().await;
        }
        harness.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_does_not_fire_in_another_state() {
        let harness = Harness::new();
        let session = harness
            .spawn("s-1", Session::Active { touches: 0 }, Beats::default())
            .unwrap();
        assert!(session
            .call(SessionEvent::Pause)
            .await
            .unwrap()
            .is_accepted());
        harness.advance(IDLE * 3).await;
        assert!(session.matches(SessionTag::Paused).await.unwrap());
        harness.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn background_tasks_live_as_long_as_the_actor() {
        let harness = Harness::new();
        let beats = Arc::new(Beats::default());
        let session = harness
            .spawn("s-1", Session::Paused, Arc::clone(&beats))
            .unwrap();
        harness.settle().await;
        // Step the clock a beat at a time, as the real clock would pass.
        for _ in 0..3 {
            harness.advance(super::support::session::HEARTBEAT).await;
        }
        harness.advance(Duration::from_millis(500)).await;
        assert_eq!(beats.beats.load(Ordering::SeqCst), 3);
        session.stop().await.unwrap();
        harness.settle().await;
        assert_eq!(
            beats.stopped.load(Ordering::SeqCst),
            1,
            "stopping cancels the task"
        );
        harness.advance(Duration::from_secs(5)).await;
        assert_eq!(beats.beats.load(Ordering::SeqCst), 3);
        harness.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_too_far_away_never_fires_and_never_panics() {
        use super::support::fragile::{Fragile, FragileEvent, FragileTag};
        use machine_core::{Machine, Outcome};

        let harness = Harness::new();
        let far = [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            Duration::from_secs(i64::MAX as u64),
        ];
        let actor = harness
            .spawn("f-1", Fragile::Calm { pokes: 0 }, ())
            .unwrap();
        for after in far {
            let slept = actor.call(FragileEvent::Sleep(after)).await.unwrap();
            assert_eq!(slept, Outcome::Next(Fragile::Sleeping { after }));
            harness
                .advance(Duration::from_secs(31 * 365 * 24 * 3600))
                .await;
            assert!(
                actor.matches(FragileTag::Sleeping).await.unwrap(),
                "{after:?} fired"
            );
            // Leave the state by hand, for the next duration.
            let woken = actor.call(FragileEvent::Wake).await.unwrap();
            assert_eq!(woken.into_state().map(|s| s.tag()), Some(FragileTag::Calm));
        }
        // A timeout the clock can reach still fires.
        let hour = Duration::from_secs(3600);
        assert!(actor
            .call(FragileEvent::Sleep(hour))
            .await
            .unwrap()
            .is_accepted());
        harness.advance(hour).await;
        assert!(actor.matches(FragileTag::Calm).await.unwrap());
        harness.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_durable_action_without_persistence_runs_once_with_its_key() {
    let harness = Harness::new();
    let env = Arc::new(Env::default());
    let order = harness
        .spawn("o-1", Order::new("o-1"), Arc::clone(&env))
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 7 })
        .await
        .unwrap()
        .is_accepted());
    harness.settle().await;
    let ledger = env.ledger();
    assert_eq!(ledger, ["o-1/1/ledger entry attempt 1 amount 7"]);
    harness.shutdown().await;
}
