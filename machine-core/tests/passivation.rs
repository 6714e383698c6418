//! Passivation in the runtime: an idle actor whose durability layer allows it stops with
//! `StopReason::Passivated`; messages, running tasks and watchers keep it in memory; a message
//! that reaches the mailbox is processed, a later one is refused unprocessed.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use machine_core::{
    ActorError, ActorRef, ActorSystem, Commit, CommitError, Current, Durability, SpawnOptions,
    Start, StopReason,
};
use machine_test_support::order::{Env, Order, OrderEvent};

const IDLE: Duration = Duration::from_secs(10);

/// Passivates after [`IDLE`] and records why the actor stopped and what it committed; fails
/// the first `failures` commits.
#[derive(Clone, Default)]
struct Passivating {
    stops: Arc<Mutex<Vec<String>>>,
    committed: Arc<Mutex<usize>>,
    failures: Arc<Mutex<usize>>,
}

impl Durability<Order> for Passivating {
    fn commit(
        &mut self,
        commit: Commit<'_, Order>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return std::future::ready(Err(CommitError::Storage {
                actor_id: commit.id.clone(),
                source: Arc::new(std::io::Error::other("connection reset")),
            }));
        }
        *self.committed.lock().unwrap() += commit.events.len();
        std::future::ready(Ok(()))
    }

    fn passivate_after(&self) -> Option<Duration> {
        Some(IDLE)
    }

    fn stopped(
        &mut self,
        _current: Current<'_, Order>,
        reason: &StopReason,
    ) -> impl Future<Output = ()> + Send {
        self.stops.lock().unwrap().push(format!("{reason:?}"));
        std::future::ready(())
    }
}

fn start(system: &ActorSystem, state: Order, layer: &Passivating) -> ActorRef<Order> {
    start_with(system, state, layer, Env::default())
}

fn start_with(
    system: &ActorSystem,
    state: Order,
    layer: &Passivating,
    env: Env,
) -> ActorRef<Order> {
    system
        .start(
            "o-1".into(),
            Start::new(state),
            Arc::new(env),
            layer.clone(),
            SpawnOptions::new(),
        )
        .unwrap()
}

async fn until_stopped(actor: &ActorRef<Order>) {
    while !actor.is_stopped() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the task run its stop to the end.
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn an_idle_actor_passivates_even_with_a_pending_timeout() {
    let system = ActorSystem::new();
    let layer = Passivating::default();
    let order = start(&system, Order::new("o-1"), &layer);
    tokio::time::sleep(IDLE / 2).await;
    assert!(!order.is_stopped());
    // A message restarts the countdown.
    order.send(OrderEvent::Note).await.unwrap();
    tokio::time::sleep(IDLE * 3 / 4).await;
    assert!(!order.is_stopped(), "the note reset the idle countdown");
    tokio::time::sleep(IDLE).await;
    until_stopped(&order).await;
    assert_eq!(*layer.stops.lock().unwrap(), vec!["Passivated".to_owned()]);
    assert!(!system.contains("o-1"));
    assert!(matches!(
        order.call(OrderEvent::Cancel).await,
        Err(ActorError::Stopped(_))
    ));
    assert_eq!(
        *layer.committed.lock().unwrap(),
        0,
        "the refused call was not applied"
    );
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_running_state_task_keeps_the_actor_in_memory() {
    let system = ActorSystem::new();
    let layer = Passivating::default();
    let paid = Order::Paid {
        id: "o-1".into(),
        amount: 5,
        notes: 0,
    };
    // The courier task of `Paid` waits forever.
    let order = start(&system, paid, &layer);
    tokio::time::sleep(IDLE * 5).await;
    assert!(!order.is_stopped());
    // Leaving the state cancels the task; the actor may then passivate.
    assert!(order.call(OrderEvent::Cancel).await.is_ok());
    tokio::time::sleep(IDLE * 2).await;
    assert!(order.is_stopped(), "a final state stops it anyway");
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_watched_actor_stays_and_passivates_once_unwatched() {
    let system = ActorSystem::new();
    let layer = Passivating::default();
    let order = start(&system, Order::new("o-1"), &layer);
    let changes = order.changes().await.unwrap();
    tokio::time::sleep(IDLE * 3).await;
    assert!(!order.is_stopped(), "a subscriber keeps the actor");
    drop(changes);
    tokio::time::sleep(IDLE * 2).await;
    until_stopped(&order).await;
    assert_eq!(*layer.stops.lock().unwrap(), vec!["Passivated".to_owned()]);
    system.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn without_a_limit_an_actor_never_passivates() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    // The payment timeout cancelled it, a final state: stopped, but not passivated.
    assert!(order.is_stopped());
    let order = system
        .spawn(
            "o-2",
            Order::Paid {
                id: "o-2".into(),
                amount: 1,
                notes: 0,
            },
            Env::default(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert!(!order.is_stopped());
    system.shutdown().await;
}

/// A paid order whose courier ships at once (shipping is final), under a layer that fails the
/// first eight commits.
fn shipping_after_eight_failures(system: &ActorSystem) -> (ActorRef<Order>, Passivating) {
    let layer = Passivating {
        failures: Arc::new(Mutex::new(8)),
        ..Passivating::default()
    };
    let env = Env::default();
    *env.courier_tracking.lock().unwrap() = Some("T-1".into());
    let paid = Order::Paid {
        id: "o-1".into(),
        amount: 5,
        notes: 0,
    };
    (start_with(system, paid, &layer, env), layer)
}

/// A state task's event whose commit failed waits in the actor to be tried again: the actor
/// does not passivate before it is stored, even when the wait outlasts the idle limit.
#[tokio::test(start_paused = true)]
async fn an_event_waiting_to_be_tried_again_keeps_the_actor_in_memory() {
    let system = ActorSystem::new();
    // The last wait (12.8 s) is longer than the idle limit.
    let (order, layer) = shipping_after_eight_failures(&system);
    until_stopped(&order).await;
    assert_eq!(*layer.stops.lock().unwrap(), vec!["Final".to_owned()]);
    assert_eq!(
        *layer.committed.lock().unwrap(),
        1,
        "the shipment was stored"
    );
    system.shutdown().await;
}

/// A commit of other events while a task's event waits to be tried again does not store it:
/// the actor still stays in memory until it is.
#[tokio::test(start_paused = true)]
async fn a_commit_of_other_events_does_not_release_an_event_waiting_to_be_tried_again() {
    let system = ActorSystem::new();
    // Attempts at 0, 0.1, 0.3, … 12.7 s; the next at 25.5 s.
    let (order, layer) = shipping_after_eight_failures(&system);
    tokio::time::sleep(Duration::from_secs(13)).await;
    // The note is stored; the shipment still waits for its next attempt, more than the idle
    // limit away.
    assert!(order.call(OrderEvent::Note).await.unwrap().is_accepted());
    assert_eq!(*layer.committed.lock().unwrap(), 1);
    until_stopped(&order).await;
    assert_eq!(*layer.stops.lock().unwrap(), vec!["Final".to_owned()]);
    assert_eq!(
        *layer.committed.lock().unwrap(),
        2,
        "the note, then the shipment, were stored"
    );
    system.shutdown().await;
}
