//! Every outcome kind through a real actor, and the version that counts accepted events.

use machine_core::{ActorError, ActorSystem, Outcome, SpawnError};
use machine_test_support::order::{Env, Order, OrderError, OrderEvent, OrderTag};

#[tokio::test]
async fn call_reports_next_unhandled_and_rejected() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();

    let rejected = order.call(OrderEvent::Pay { amount: 0 }).await.unwrap();
    assert_eq!(rejected, Outcome::Rejected(OrderError::ZeroPayment));
    let unhandled = order.call(OrderEvent::Note).await.unwrap();
    assert_eq!(unhandled, Outcome::Unhandled);
    assert_eq!(
        order.version().await.unwrap(),
        0,
        "neither counts as a version"
    );
    assert!(order.matches(OrderTag::Pending).await.unwrap());

    let paid = order.call(OrderEvent::Pay { amount: 30 }).await.unwrap();
    assert_eq!(
        paid,
        Outcome::Next(Order::Paid {
            id: "o-1".into(),
            amount: 30,
            notes: 0
        })
    );
    // A transition to the same tag is accepted and counted too.
    let noted = order.call(OrderEvent::Note).await.unwrap();
    assert!(matches!(noted, Outcome::Next(Order::Paid { notes: 1, .. })));
    assert_eq!(order.version().await.unwrap(), 2);
    system.shutdown().await;
}

#[tokio::test]
async fn can_checks_guards_without_sending() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    assert!(order.can(&OrderEvent::Pay { amount: 1 }).await.unwrap());
    assert!(!order.can(&OrderEvent::Pay { amount: 0 }).await.unwrap());
    assert!(!order.can(&OrderEvent::Ship("t".into())).await.unwrap());
    assert_eq!(order.version().await.unwrap(), 0);
    system.shutdown().await;
}

#[tokio::test]
async fn state_reads_its_own_writes() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    order.send(OrderEvent::Pay { amount: 5 }).await.unwrap();
    for _ in 0..3 {
        order.send(OrderEvent::Note).await.unwrap();
    }
    let snapshot = order.status().await.unwrap();
    assert_eq!(snapshot.version, 4);
    assert_eq!(
        snapshot.state,
        Order::Paid {
            id: "o-1".into(),
            amount: 5,
            notes: 3
        }
    );
    system.shutdown().await;
}

#[tokio::test]
async fn duplicate_ids_are_rejected_and_lookup_is_typed() {
    let system = ActorSystem::new();
    system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    let duplicate = system.spawn("o-1", Order::new("o-1"), Env::default());
    assert!(matches!(duplicate, Err(SpawnError::Duplicate(id)) if id == "o-1"));
    assert!(system.get::<Order>("o-1").is_some());
    assert!(system.get::<Order>("o-2").is_none());
    assert_eq!(system.len(), 1);
    system.shutdown().await;
    assert!(matches!(
        system.spawn("o-3", Order::new("o-3"), Env::default()),
        Err(SpawnError::ShuttingDown)
    ));
}

#[tokio::test]
async fn a_full_mailbox_refuses_try_send() {
    let system = ActorSystem::new();
    let options = machine_core::SpawnOptions::new().mailbox(2);
    let order = system
        .spawn_with("o-1", Order::new("o-1"), Env::default(), options)
        .unwrap();
    // The actor task has not run yet on this single-threaded runtime: the mailbox fills up.
    order.try_send(OrderEvent::Note).unwrap();
    order.try_send(OrderEvent::Note).unwrap();
    assert!(matches!(
        order.try_send(OrderEvent::Note),
        Err(ActorError::MailboxFull(_))
    ));
    // `send` waits for room instead.
    order.send(OrderEvent::Cancel).await.unwrap();
    order
        .wait_for(|s| matches!(s, Order::Cancelled { .. }))
        .await
        .ok();
    system.shutdown().await;
}

#[test]
fn spawning_outside_a_runtime_is_an_error() {
    let system = ActorSystem::new();
    assert!(matches!(
        system.spawn("o-1", Order::new("o-1"), Env::default()),
        Err(SpawnError::NoRuntime)
    ));
}
