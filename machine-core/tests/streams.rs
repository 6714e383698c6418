//! Watching an actor: changes, transitions, wait_for, and the observer's records.

use machine_core::Machine;

use std::time::Duration;

use futures::StreamExt;
use machine_core::OwnedRecordKind;
use machine_core::{ActorError, ActorSystem, Recorder, SpawnOptions};
use machine_test_support::order::{Env, Order, OrderEvent, OrderTag};

#[tokio::test]
async fn changes_yield_the_current_state_then_every_state_in_order() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    let changes = order.changes().await.unwrap();
    order.send(OrderEvent::Pay { amount: 2 }).await.unwrap();
    for _ in 0..50 {
        order.send(OrderEvent::Note).await.unwrap();
    }
    order.send(OrderEvent::Cancel).await.unwrap();
    let states: Vec<Order> = changes.collect().await;
    assert_eq!(states.len(), 53);
    assert_eq!(states[0], Order::new("o-1"));
    for (n, state) in states[1..52].iter().enumerate() {
        assert!(
            matches!(state, Order::Paid { notes, .. } if *notes == n as u32),
            "{n}: {state:?}"
        );
    }
    assert_eq!(states[52].tag(), OrderTag::Cancelled);
    system.shutdown().await;
}

#[tokio::test]
async fn transitions_carry_from_event_to_and_version() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    let transitions = order.transitions().await.unwrap();
    order.send(OrderEvent::Pay { amount: 0 }).await.unwrap(); // rejected: not a transition
    order.send(OrderEvent::Pay { amount: 4 }).await.unwrap();
    order.send(OrderEvent::Cancel).await.unwrap();
    let seen: Vec<_> = transitions.collect().await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].from, Order::new("o-1"));
    assert_eq!(seen[0].event, OrderEvent::Pay { amount: 4 });
    assert_eq!(seen[0].version, 1);
    assert_eq!(seen[1].from.tag(), OrderTag::Paid);
    assert_eq!(seen[1].to.tag(), OrderTag::Cancelled);
    assert_eq!(seen[1].version, 2);
    system.shutdown().await;
}

#[tokio::test]
async fn wait_for_sees_a_state_reached_before_it_was_called() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 2 })
        .await
        .unwrap()
        .is_accepted());
    let paid = order.wait_for(|s| s.tag() == OrderTag::Paid).await.unwrap();
    assert!(matches!(paid, Order::Paid { amount: 2, .. }));
    system.shutdown().await;
}

#[tokio::test]
async fn wait_for_ends_with_stopped_when_the_actor_stops_first() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    let waiting = tokio::spawn({
        let order = order.clone();
        async move { order.wait_for(|s| s.tag() == OrderTag::Shipped).await }
    });
    tokio::task::yield_now().await;
    order.send(OrderEvent::Cancel).await.unwrap();
    let waited = waiting.await.unwrap();
    assert!(matches!(waited, Err(ActorError::Stopped(_))), "{waited:?}");
    system.shutdown().await;
}

#[tokio::test]
async fn wait_for_sees_the_final_state_of_an_actor_that_stopped_before_the_wait_was_served() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    order.send(OrderEvent::Cancel).await.unwrap();
    // The wait is queued behind the event that stops the actor.
    let cancelled = order.wait_for(|s| s.tag() == OrderTag::Cancelled).await;
    assert!(
        matches!(&cancelled, Ok(Order::Cancelled { reason }) if reason == "cancelled by customer"),
        "{cancelled:?}"
    );
    assert!(order.is_stopped());
    system.shutdown().await;
}

#[tokio::test]
async fn wait_for_misses_no_state_however_far_behind_a_stream_would_be() {
    let system = ActorSystem::new();
    let order = system
        .spawn_with(
            "o-1",
            Order::new("o-1"),
            Env::default(),
            SpawnOptions::new().stream_capacity(1),
        )
        .unwrap();
    let wait_for_notes = |wanted: u32| {
        let order = order.clone();
        tokio::spawn(async move {
            order
                .wait_for(move |s| matches!(s, Order::Paid { notes, .. } if *notes == wanted))
                .await
        })
    };
    let (middle, last) = (wait_for_notes(5_000), wait_for_notes(9_999));
    tokio::task::yield_now().await;
    order.send(OrderEvent::Pay { amount: 1 }).await.unwrap();
    for _ in 0..9_999 {
        order.send(OrderEvent::Note).await.unwrap();
    }
    // A lossy wait would hang on the missed state: bound it.
    let within = |wait| tokio::time::timeout(Duration::from_secs(30), wait);
    let middle = within(middle).await.expect("the middle state was missed");
    let middle = middle.unwrap().unwrap();
    assert!(
        matches!(middle, Order::Paid { notes: 5_000, .. }),
        "{middle:?}"
    );
    let last = within(last).await.expect("the last state was missed");
    let last = last.unwrap().unwrap();
    assert!(matches!(last, Order::Paid { notes: 9_999, .. }), "{last:?}");
    system.shutdown().await;
}

#[tokio::test]
async fn the_observer_sees_spawn_events_transitions_and_stop() {
    let system = ActorSystem::new();
    let recorder = Recorder::new();
    let order = system
        .spawn_with(
            "o-1",
            Order::new("o-1"),
            Env::default(),
            SpawnOptions::new().observer(recorder.observer()),
        )
        .unwrap();
    let _ = order.call(OrderEvent::Ship("x".into())).await.unwrap();
    let _ = order.call(OrderEvent::Pay { amount: 0 }).await.unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 5 })
        .await
        .unwrap()
        .is_accepted());
    order.stop().await.unwrap();
    let kinds: Vec<String> = recorder
        .records()
        .iter()
        .filter(|r| !matches!(r.kind, OwnedRecordKind::Effect { .. }))
        .map(|r| match &r.kind {
            OwnedRecordKind::Spawned { version, .. } => format!("spawned@{version}"),
            OwnedRecordKind::Event {
                accepted, rejected, ..
            } => format!("event accepted={accepted} rejected={}", rejected.is_some()),
            OwnedRecordKind::Transition { to, version, .. } => {
                format!("transition {}@{version}", to.tag())
            }
            OwnedRecordKind::Stopped { .. } => "stopped".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "spawned@0",
            "event accepted=false rejected=false",
            "event accepted=false rejected=true",
            "event accepted=true rejected=false",
            "transition Paid@1",
            "stopped",
        ]
    );
    assert!(recorder.records().iter().all(|r| r.actor == "o-1"));
    system.shutdown().await;
}

#[tokio::test]
async fn a_rewound_actor_shows_the_old_state_and_refuses_events_until_resumed() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 2 })
        .await
        .unwrap()
        .is_accepted());
    order.rewind(Order::new("o-1"), 0).await.unwrap();
    let snapshot = order.status().await.unwrap();
    assert!(snapshot.is_rewound());
    assert_eq!((snapshot.version, snapshot.head), (0, 1));
    assert_eq!(snapshot.state, Order::new("o-1"));
    let refused = order.call(OrderEvent::Note).await;
    assert!(
        matches!(
            refused,
            Err(machine_core::ActorError::Rewound { at: 0, head: 1, .. })
        ),
        "{refused:?}"
    );
    order.resume().await.unwrap();
    assert!(order.call(OrderEvent::Note).await.unwrap().is_accepted());
    assert_eq!(order.version().await.unwrap(), 2);
    system.shutdown().await;
}
