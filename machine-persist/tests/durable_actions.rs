//! Durable actions on the memory store with tokio's paused clock: stored with their event, run
//! after the commit with a stable key, retried as the schedule says, dead-lettered with a
//! feedback event, picked up again after a restart; never stored for a refused event.

mod shop;
#[macro_use]
#[allow(unused_macros)]
mod support;
mod fixture;

use std::sync::Arc;
use std::time::Duration;

use machine_core::{Outcome, Schedule};
use machine_persist::dispatch::{DispatchConfig, DurablePolicy};
use machine_persist::store::{ActionProblem, ActionStatus, StoredAction};
use machine_persist::{MemoryStore, PersistConfig, PersistError, PersistentSystem, Repository};
use shop::{ChargeCard, Gateway, Order, OrderEvent};
use support::faulty::Faulty;

/// Waits (on the paused clock) until `done` holds, for at most `limit` of simulated time.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not reached within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The stored actions of `id`, all readable.
async fn actions(orders: &Repository<Order>, id: &str) -> Vec<StoredAction> {
    orders
        .actions(id)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

async fn wait_for_status(
    orders: &Repository<Order>,
    id: &str,
    status: ActionStatus,
) -> StoredAction {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(action) = actions(orders, id).await.into_iter().next() {
            if action.status == status {
                return action;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(3600),
            "{id} never became {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn retry(schedule: Schedule) -> DurablePolicy<Order, ChargeCard> {
    DurablePolicy::new().retry(schedule)
}

#[tokio::test(start_paused = true)]
async fn an_action_runs_once_after_its_commit_with_a_stable_key() {
    let gateway = Arc::new(Gateway::default());
    let system = PersistentSystem::new(MemoryStore::new());
    let orders = system.repository(shop::config(DurablePolicy::new()), Arc::clone(&gateway));
    let order = orders.spawn("o-1", Order::Pending).await.unwrap();
    let outcome = order.call(OrderEvent::Pay { cents: 500 }).await.unwrap();
    assert!(matches!(
        outcome,
        Outcome::Next(Order::Charging { cents: 500 })
    ));

    let action = wait_for_status(&orders, "o-1", ActionStatus::Succeeded).await;
    assert_eq!(action.key.to_string(), "o-1/1/charge card");
    assert_eq!((action.attempts, action.last_cause), (1, None));
    assert_eq!(gateway.charged().get("o-1/1/charge card"), Some(&1));
    assert_eq!(gateway.attempts().len(), 1);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_schedule_on_the_paused_clock() {
    let gateway = Arc::new(Gateway {
        fail_first: 3,
        ..Gateway::default()
    });
    let system = PersistentSystem::new(MemoryStore::new());
    let schedule = Schedule::exponential(Duration::from_secs(10)).intersect(Schedule::recurs(5));
    let orders = system.repository(shop::config(retry(schedule)), Arc::clone(&gateway));
    let order = orders.spawn("o-1", Order::Pending).await.unwrap();
    let _ = order.call(OrderEvent::Pay { cents: 5 }).await.unwrap();

    let action = wait_for_status(&orders, "o-1", ActionStatus::Succeeded).await;
    assert_eq!(action.attempts, 4, "three failures, then a success");
    let cause = action.last_cause.expect("the failures are recorded");
    assert_eq!(
        cause.chain(),
        ["card declined", "issuer unavailable (attempt 3)"]
    );
    let attempts = gateway.attempts_of("o-1/1/charge card");
    let gaps: Vec<Duration> = attempts
        .windows(2)
        .map(|pair| pair[1].at - pair[0].at)
        .collect();
    // exponential(10 s): 10 s, 20 s, 40 s between attempts (the clock is paused, so exact up
    // to the test's polling step).
    for (gap, expected) in gaps.iter().zip([10, 20, 40]) {
        let expected = Duration::from_secs(expected);
        assert!(
            *gap >= expected && *gap < expected + Duration::from_millis(50),
            "gaps {gaps:?}"
        );
    }
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(gateway.charged().len(), 1);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_dead_letter_and_feed_the_cause_back() {
    let gateway = Arc::new(Gateway {
        always_fail: ["o-1".to_owned()].into(),
        ..Gateway::default()
    });
    let system = PersistentSystem::new(MemoryStore::new());
    let schedule = Schedule::spaced(Duration::from_secs(1)).intersect(Schedule::recurs(2));
    let orders = system.repository(shop::config(retry(schedule)), Arc::clone(&gateway));
    let order = orders.spawn("o-1", Order::Pending).await.unwrap();
    let _ = order.call(OrderEvent::Pay { cents: 5 }).await.unwrap();

    let refunded = order
        .wait_for(|state| matches!(state, Order::Refunded { .. }))
        .await
        .unwrap();
    let Order::Refunded { cause } = refunded else {
        unreachable!()
    };
    assert_eq!(
        cause.chain(),
        ["card declined", "issuer unavailable (attempt 3)"]
    );
    let action = wait_for_status(&orders, "o-1", ActionStatus::DeadLettered).await;
    assert_eq!(action.attempts, 3, "recurs(2): two retries");
    assert_eq!(action.last_cause.as_ref(), Some(&cause));
    assert!(gateway.charged().is_empty());

    // The feedback is an event like any other: in the journal, with its cause.
    let history: Vec<_> = futures::StreamExt::collect::<Vec<_>>(orders.history("o-1", 1..=2)).await;
    let fed_back = history[1].as_ref().unwrap();
    assert_eq!(fed_back.event, OrderEvent::ChargeFailed { cause });
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_or_unregistered_action_stores_nothing() {
    let gateway = Arc::new(Gateway::default());
    let system = PersistentSystem::new(MemoryStore::new());
    let orders = system.repository(shop::config(DurablePolicy::new()), Arc::clone(&gateway));
    let order = orders.spawn("o-1", Order::Pending).await.unwrap();
    // A guard refuses the event: no event, no action.
    let refused = order.call(OrderEvent::Pay { cents: 0 }).await.unwrap();
    assert!(matches!(refused, Outcome::Rejected(_)));
    assert!(actions(&orders, "o-1").await.is_empty());

    // A machine type that does not register `charge card` cannot commit a step declaring it.
    let bare = system.repository(
        PersistConfig::<Order>::new().machine_type("BareOrder"),
        Arc::clone(&gateway),
    );
    let other = bare.spawn("o-2", Order::Pending).await.unwrap();
    let failed = other.call(OrderEvent::Pay { cents: 5 }).await;
    assert!(
        matches!(
            failed,
            Err(PersistError::DurableAction { ref action, problem: ActionProblem::NotRegistered, .. })
                if action == "charge card"
        ),
        "{failed:?}"
    );
    assert_eq!(
        other.version().await.unwrap(),
        0,
        "the batch was not committed"
    );
    assert!(actions(&bare, "o-2").await.is_empty());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(gateway.attempts().is_empty());
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_restarted_owner_takes_its_pending_actions_back() {
    let store = MemoryStore::new();
    // The first process: every attempt hangs until its timeout, and it stops mid-way.
    let hanging = Arc::new(Gateway {
        delay: Duration::from_secs(3600),
        ..Gateway::default()
    });
    let dispatch = || {
        DispatchConfig::default()
            .owner("node-1")
            .attempt_timeout(Duration::from_secs(60))
            .poll_interval(Duration::from_millis(100))
    };
    let system = PersistentSystem::builder(store.clone())
        .dispatch(dispatch())
        .build();
    let orders = system.repository(shop::config(DurablePolicy::new()), Arc::clone(&hanging));
    let order = orders.spawn("o-1", Order::Pending).await.unwrap();
    let _ = order.call(OrderEvent::Pay { cents: 5 }).await.unwrap();
    eventually(Duration::from_secs(5), || hanging.attempts().len() == 1).await;
    system.shutdown().await;
    assert_eq!(
        actions(&orders, "o-1").await[0].status,
        ActionStatus::Pending
    );

    // The same owner starts again: the claim it still holds is taken back at once.
    let gateway = Arc::new(Gateway::default());
    let system = PersistentSystem::builder(store)
        .dispatch(dispatch())
        .build();
    let orders = system.repository(shop::config(DurablePolicy::new()), Arc::clone(&gateway));
    let action = wait_for_status(&orders, "o-1", ActionStatus::Succeeded).await;
    assert_eq!(action.attempts, 1, "the cut-short attempt never ended");
    assert_eq!(gateway.attempts_of("o-1/1/charge card").len(), 1);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_attempt_outliving_its_timeout_fails_and_is_retried() {
    let gateway = Arc::new(Gateway {
        delay: Duration::from_secs(30),
        ..Gateway::default()
    });
    let system = PersistentSystem::builder(MemoryStore::new())
        .dispatch(DispatchConfig::default().attempt_timeout(Duration::from_secs(10)))
        .build();
    let schedule = Schedule::spaced(Duration::from_secs(1)).intersect(Schedule::recurs(1));
    let orders = system.repository(shop::config(retry(schedule)), Arc::clone(&gateway));
    let order = orders.spawn("o-1", Order::Pending).await.unwrap();
    let _ = order.call(OrderEvent::Pay { cents: 5 }).await.unwrap();
    let action = wait_for_status(&orders, "o-1", ActionStatus::DeadLettered).await;
    assert_eq!(action.attempts, 2);
    assert!(action
        .last_cause
        .unwrap()
        .message
        .contains("did not end within"));
    assert!(gateway.charged().is_empty());
    system.shutdown().await;
}

/// A record that outlives its claim (a stalled store): the dispatcher's own poller claims the
/// action again while the record is on its way, and the record is then made under the claim
/// taken over, so the action runs once. On the real clock: claims end by the wall clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_outlives_its_claim_is_made_under_the_claim_taken_over() {
    let store = Faulty::default();
    let gateway = Arc::new(Gateway::default());
    let system = PersistentSystem::builder(store.clone())
        .dispatch(
            DispatchConfig::default()
                .lease(Duration::from_millis(300))
                .attempt_timeout(Duration::from_millis(100))
                .poll_interval(Duration::from_millis(20)),
        )
        .build();
    let orders = system.repository(shop::config(DurablePolicy::new()), Arc::clone(&gateway));
    let order = orders.spawn("o-1", Order::Pending).await.unwrap();
    *store.slow_record.lock().unwrap() = Some(Duration::from_secs(1));
    let _ = order.call(OrderEvent::Pay { cents: 5 }).await.unwrap();
    let action = wait_for_status(&orders, "o-1", ActionStatus::Succeeded).await;
    assert_eq!(action.attempts, 1);
    // Room for the second attempt a lost claim would have led to.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        gateway.attempts_of("o-1/1/charge card").len(),
        1,
        "run once"
    );
    system.shutdown().await;
}
