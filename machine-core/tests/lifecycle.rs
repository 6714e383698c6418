//! Stopping: final states, `stop`, shutdown, and calls that were pending meanwhile.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use machine_core::{
    ActorError, ActorRef, ActorSystem, Commit, CommitError, Durability, Machine, Outcome,
    SpawnOptions, Start, VersionConflict,
};
use machine_test_support::order::{Env, Order, OrderError, OrderEvent, OrderTag, PAYMENT_WINDOW};
use tokio::sync::Semaphore;
use tokio::time::Instant;

#[tokio::test]
async fn a_final_state_stops_the_actor_after_its_actions() {
    let system = ActorSystem::new();
    let env = Arc::new(Env::default());
    let order = system
        .spawn("o-1", Order::new("o-1"), Arc::clone(&env))
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 9 })
        .await
        .unwrap()
        .is_accepted());
    let shipped = order.call(OrderEvent::Ship("T1".into())).await.unwrap();
    assert!(matches!(shipped, Outcome::Next(Order::Shipped { .. })));

    let stopped = order.send(OrderEvent::Note).await;
    // The actor may still be running the "notify shipped" action; once it stops, sends fail.
    if stopped.is_ok() {
        while !order.is_stopped() {
            tokio::task::yield_now().await;
        }
    }
    assert!(matches!(
        order.send(OrderEvent::Note).await,
        Err(ActorError::Stopped(_))
    ));
    assert!(
        env.log().contains(&"shipped T1".to_owned()),
        "actions ran before the stop"
    );
    assert!(!system.contains("o-1"), "a stopped actor leaves the system");
    system.shutdown().await;
}

#[tokio::test]
async fn events_behind_the_final_one_in_a_batch_are_answered_stopped() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    let (first, second) = tokio::join!(
        order.call(OrderEvent::Cancel),
        order.call(OrderEvent::Pay { amount: 1 })
    );
    assert!(matches!(first, Ok(Outcome::Next(Order::Cancelled { .. }))));
    assert!(matches!(second, Err(ActorError::Stopped(_))));
    system.shutdown().await;
}

#[tokio::test]
async fn a_call_queued_behind_stop_gets_actor_stopped() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    let (stopped, call) = tokio::join!(order.stop(), order.call(OrderEvent::Pay { amount: 3 }));
    stopped.unwrap();
    assert!(matches!(call, Err(ActorError::Stopped(id)) if id == "o-1"));
    // Stopping twice is fine, and the id is free again at once.
    order.stop().await.unwrap();
    system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    system.shutdown().await;
}

/// Holds every commit until the test lets it through.
struct Gate(Arc<Semaphore>);

impl Durability<Order> for Gate {
    fn commit(
        &mut self,
        _: Commit<'_, Order>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        let gate = Arc::clone(&self.0);
        async move {
            let _permit = gate.acquire().await;
            Ok(())
        }
    }
}

#[tokio::test]
async fn shutdown_stops_every_actor_and_resolves_pending_calls() {
    let system = ActorSystem::new();
    let gate = Arc::new(Semaphore::new(0));
    let mut calls = Vec::new();
    for n in 0..3 {
        let id = format!("o-{n}");
        let order = system
            .start(
                id.as_str().into(),
                Start::new(Order::new(&id)),
                Arc::new(Env::default()),
                Gate(Arc::clone(&gate)),
                SpawnOptions::new(),
            )
            .unwrap();
        // The first call blocks in its commit; the second waits in the mailbox.
        let blocked = tokio::spawn({
            let order = order.clone();
            async move { order.call(OrderEvent::Pay { amount: 1 }).await }
        });
        let queued = tokio::spawn({
            let order = order.clone();
            async move { order.call(OrderEvent::Note).await }
        });
        calls.push((order, blocked, queued));
    }
    tokio::task::yield_now().await;
    let shutdown = tokio::spawn({
        let system = system.clone();
        async move { system.shutdown().await }
    });
    // Shutdown lets the batch in flight finish, so release the commits.
    gate.add_permits(100);
    shutdown.await.unwrap();
    for (order, blocked, queued) in calls {
        assert!(order.is_stopped());
        let blocked = blocked.await.unwrap();
        assert!(
            matches!(blocked, Ok(Outcome::Next(_)) | Err(ActorError::Stopped(_))),
            "{blocked:?}"
        );
        let queued = queued.await.unwrap();
        assert!(
            matches!(queued, Ok(_) | Err(ActorError::Stopped(_))),
            "{queued:?}"
        );
    }
    assert!(system.is_empty());
}

#[tokio::test]
async fn shutdown_stops_an_actor_whose_mailbox_is_full() {
    let system = ActorSystem::new();
    let gate = Arc::new(Semaphore::new(0));
    let order = system
        .start(
            "o-1".into(),
            Start::new(Order::new("o-1")),
            Arc::new(Env::default()),
            Gate(Arc::clone(&gate)),
            SpawnOptions::new().mailbox(1),
        )
        .unwrap();
    let blocked = tokio::spawn({
        let order = order.clone();
        async move { order.call(OrderEvent::Pay { amount: 1 }).await }
    });
    tokio::task::yield_now().await;
    // The first call waits in its commit; the second fills the one mailbox slot, so shutdown
    // cannot queue anything for this actor.
    order.try_send(OrderEvent::Note).unwrap();
    assert!(matches!(
        order.try_send(OrderEvent::Note),
        Err(ActorError::MailboxFull(_))
    ));
    let shutdown = tokio::spawn({
        let system = system.clone();
        async move { system.shutdown().await }
    });
    tokio::task::yield_now().await;
    gate.add_permits(100);
    tokio::time::timeout(std::time::Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown ends")
        .unwrap();
    assert!(matches!(blocked.await.unwrap(), Ok(Outcome::Next(_))));
    assert!(order.is_stopped());
}

#[tokio::test]
async fn dropping_the_last_system_handle_stops_its_actors() {
    let system = ActorSystem::new();
    let order = system
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 1 })
        .await
        .unwrap()
        .is_accepted());
    drop(system);
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while !order.is_stopped() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the idle actor stops");
}

/// Fails every commit, as a broken disk would; or reports a conflict.
struct Failing {
    conflict: bool,
}

impl Durability<Order> for Failing {
    fn commit(
        &mut self,
        commit: Commit<'_, Order>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        let error = if self.conflict {
            CommitError::Conflict(VersionConflict {
                actor_id: commit.id.clone(),
                expected: commit.base_version,
                actual: commit.base_version + 1,
            })
        } else {
            CommitError::Storage {
                actor_id: commit.id.clone(),
                source: Arc::new(std::io::Error::other("disk full")),
            }
        };
        std::future::ready(Err(error))
    }
}

#[tokio::test]
async fn a_failed_commit_rolls_back_and_runs_no_effect() {
    let system = ActorSystem::new();
    let env = Arc::new(Env::default());
    let order = system
        .start(
            "o-1".into(),
            Start::new(Order::new("o-1")),
            Arc::clone(&env),
            Failing { conflict: false },
            SpawnOptions::new(),
        )
        .unwrap();
    let result = order.call(OrderEvent::Pay { amount: 7 }).await;
    assert!(
        matches!(result, Err(ActorError::Commit(CommitError::Storage { .. }))),
        "{result:?}"
    );
    assert_eq!(order.state().await.unwrap(), Order::new("o-1"));
    assert_eq!(order.version().await.unwrap(), 0);
    tokio::task::yield_now().await;
    assert!(
        env.log().is_empty(),
        "no receipt for an event that was not committed"
    );
    assert_eq!(
        env.courier_started
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    system.shutdown().await;
}

#[tokio::test]
async fn a_version_conflict_stops_the_actor() {
    let system = ActorSystem::new();
    let order = system
        .start(
            "o-1".into(),
            Start::new(Order::new("o-1")),
            Arc::new(Env::default()),
            Failing { conflict: true },
            SpawnOptions::new(),
        )
        .unwrap();
    let result = order.call(OrderEvent::Pay { amount: 7 }).await;
    assert!(
        matches!(
            result,
            Err(ActorError::Commit(CommitError::Conflict(VersionConflict {
                expected: 0,
                actual: 1,
                ..
            })))
        ),
        "{result:?}"
    );
    while !order.is_stopped() {
        tokio::task::yield_now().await;
    }
    assert!(!system.contains("o-1"));
    system.shutdown().await;
}

fn storage_failed(result: &Result<Outcome<Order, OrderError>, ActorError>) -> bool {
    matches!(result, Err(ActorError::Commit(CommitError::Storage { .. })))
}

#[tokio::test]
async fn answers_computed_on_an_uncommitted_event_get_the_commit_error() {
    let system = ActorSystem::new();
    let order = system
        .start(
            "o-1".into(),
            Start::new(Order::new("o-1")),
            Arc::new(Env::default()),
            Failing { conflict: false },
            SpawnOptions::new(),
        )
        .unwrap();
    // One batch: the payment is accepted, and a second payment is unhandled in `Paid`, a state
    // that never became durable.
    let (paid, again) = tokio::join!(
        order.call(OrderEvent::Pay { amount: 1 }),
        order.call(OrderEvent::Pay { amount: 2 }),
    );
    assert!(storage_failed(&paid), "{paid:?}");
    assert!(storage_failed(&again), "{again:?}");
    // Answers computed on the committed state stay true: `Note` is unhandled in `Pending`,
    // `Pay { amount: 0 }` rejected there, whatever happens to the payment behind them.
    let (note, zero, paid) = tokio::join!(
        order.call(OrderEvent::Note),
        order.call(OrderEvent::Pay { amount: 0 }),
        order.call(OrderEvent::Pay { amount: 3 }),
    );
    assert!(matches!(note, Ok(Outcome::Unhandled)), "{note:?}");
    assert!(
        matches!(zero, Ok(Outcome::Rejected(OrderError::ZeroPayment))),
        "{zero:?}"
    );
    assert!(storage_failed(&paid), "{paid:?}");
    assert_eq!(order.version().await.unwrap(), 0);
    system.shutdown().await;
}

#[tokio::test]
async fn no_call_of_a_batch_is_answered_before_its_commit_returns() {
    let system = ActorSystem::new();
    let gate = Arc::new(Semaphore::new(0));
    let order = system
        .start(
            "o-1".into(),
            Start::new(Order::new("o-1")),
            Arc::new(Env::default()),
            Gate(Arc::clone(&gate)),
            SpawnOptions::new(),
        )
        .unwrap();
    let answered = AtomicUsize::new(0);
    let call = |event| {
        let (order, answered) = (&order, &answered);
        async move {
            let outcome = order.call(event).await;
            answered.fetch_add(1, Ordering::SeqCst);
            outcome
        }
    };
    // The three calls are queued in this order, then taken as one batch whose commit waits.
    let (note, paid, again, ()) = tokio::join!(
        call(OrderEvent::Note),
        call(OrderEvent::Pay { amount: 1 }),
        call(OrderEvent::Pay { amount: 2 }),
        async {
            for _ in 0..64 {
                tokio::task::yield_now().await;
            }
            assert_eq!(
                answered.load(Ordering::SeqCst),
                0,
                "an answer arrived while the commit was pending"
            );
            gate.add_permits(1);
        },
    );
    assert!(matches!(note, Ok(Outcome::Unhandled)), "{note:?}");
    assert!(
        matches!(paid, Ok(Outcome::Next(Order::Paid { amount: 1, .. }))),
        "{paid:?}"
    );
    assert!(matches!(again, Ok(Outcome::Unhandled)), "{again:?}");
    system.shutdown().await;
}

/// Counts commits and events, to see batching.
struct Counting(Arc<std::sync::Mutex<Vec<usize>>>);

impl Durability<Order> for Counting {
    fn commit(
        &mut self,
        commit: Commit<'_, Order>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        self.0.lock().unwrap().push(commit.events.len());
        std::future::ready(Ok(()))
    }
}

#[tokio::test]
async fn queued_events_are_committed_as_one_batch() {
    let system = ActorSystem::new();
    let batches = Arc::new(std::sync::Mutex::new(Vec::new()));
    let order = system
        .start(
            "o-1".into(),
            Start::new(Order::new("o-1")),
            Arc::new(Env::default()),
            Counting(Arc::clone(&batches)),
            SpawnOptions::new(),
        )
        .unwrap();
    // Queue everything before the actor runs (single-threaded runtime).
    order.try_send(OrderEvent::Pay { amount: 1 }).unwrap();
    for _ in 0..99 {
        order.try_send(OrderEvent::Note).unwrap();
    }
    assert_eq!(order.version().await.unwrap(), 100);
    assert_eq!(*batches.lock().unwrap(), vec![100]);
    system.shutdown().await;
}

/// Fails `failures` commits after the first `ok_first`, as a passing storage outage does (or,
/// if `refuse`, as a store that refuses the content for good does), and notes when each commit
/// was tried and how many events it held.
struct Outage {
    ok_first: usize,
    failures: usize,
    refuse: bool,
    tried: Tried,
}

impl Durability<Order> for Outage {
    fn commit(
        &mut self,
        commit: Commit<'_, Order>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        self.tried
            .lock()
            .unwrap()
            .push((Instant::now(), commit.events.len()));
        let result = if self.ok_first > 0 {
            self.ok_first -= 1;
            Ok(())
        } else if self.failures > 0 {
            self.failures -= 1;
            let actor_id = commit.id.clone();
            Err(if self.refuse {
                CommitError::Refused {
                    actor_id,
                    source: Arc::new(std::io::Error::other("value too large")),
                }
            } else {
                CommitError::Storage {
                    actor_id,
                    source: Arc::new(std::io::Error::other("connection reset")),
                }
            })
        } else {
            Ok(())
        };
        std::future::ready(result)
    }
}

/// Commits tried, each with when and how many events.
type Tried = Arc<Mutex<Vec<(Instant, usize)>>>;

fn outage(
    system: &ActorSystem,
    env: Env,
    ok_first: usize,
    failures: usize,
) -> (ActorRef<Order>, Tried) {
    failing(system, env, ok_first, failures, false)
}

fn failing(
    system: &ActorSystem,
    env: Env,
    ok_first: usize,
    failures: usize,
    refuse: bool,
) -> (ActorRef<Order>, Tried) {
    let tried = Arc::new(Mutex::new(Vec::new()));
    let order = system
        .start(
            "o-1".into(),
            Start::new(Order::new("o-1")),
            Arc::new(env),
            Outage {
                ok_first,
                failures,
                refuse,
                tried: Arc::clone(&tried),
            },
            SpawnOptions::new(),
        )
        .unwrap();
    (order, tried)
}

/// A timeout has no caller to tell of a failed commit: it is tried again, after a backoff that
/// doubles with each failure in a row, until its event is stored.
#[tokio::test(start_paused = true)]
async fn a_timeout_whose_commit_fails_is_tried_again_until_it_commits() {
    let system = ActorSystem::new();
    let start = Instant::now();
    let (order, tried) = outage(&system, Env::default(), 0, 3);
    let cancelled = order.wait_for(|s| s.tag() == OrderTag::Cancelled);
    let state = tokio::time::timeout(PAYMENT_WINDOW + Duration::from_secs(60), cancelled)
        .await
        .expect("the timeout is committed within a minute of firing");
    assert!(matches!(state, Ok(Order::Cancelled { .. })), "{state:?}");
    let tried: Vec<(Duration, usize)> = tried
        .lock()
        .unwrap()
        .iter()
        .map(|(at, events)| (*at - start, *events))
        .collect();
    let ms = Duration::from_millis;
    assert_eq!(
        tried,
        [
            (PAYMENT_WINDOW, 1),
            (PAYMENT_WINDOW + ms(100), 1),
            (PAYMENT_WINDOW + ms(300), 1),
            (PAYMENT_WINDOW + ms(700), 1),
        ]
    );
    system.shutdown().await;
}

/// The event of a timeout tried again belongs to its state: once the actor leaves that state,
/// it is dropped with the state's other timeouts.
#[tokio::test(start_paused = true)]
async fn a_timeout_tried_again_is_dropped_when_its_state_is_left() {
    let system = ActorSystem::new();
    let (order, tried) = outage(&system, Env::default(), 0, 1);
    tokio::time::sleep(PAYMENT_WINDOW + Duration::from_millis(10)).await;
    assert_eq!(
        tried.lock().unwrap().len(),
        1,
        "the timeout fired and failed"
    );
    assert!(order
        .call(OrderEvent::Pay { amount: 4 })
        .await
        .unwrap()
        .is_accepted());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(order.matches(OrderTag::Paid).await.unwrap());
    assert_eq!(
        tried.lock().unwrap().len(),
        2,
        "only the payment was committed after it"
    );
    system.shutdown().await;
}

/// The event of a state's task is tried again too.
#[tokio::test(start_paused = true)]
async fn a_task_event_whose_commit_fails_is_tried_again() {
    let system = ActorSystem::new();
    let env = Env::default();
    *env.courier_tracking.lock().unwrap() = Some("TRK-1".into());
    // The payment commits; the courier's shipment fails twice, then commits.
    let (order, tried) = outage(&system, env, 1, 2);
    assert!(order
        .call(OrderEvent::Pay { amount: 4 })
        .await
        .unwrap()
        .is_accepted());
    let shipped = order.wait_for(|s| s.tag() == OrderTag::Shipped);
    let state = tokio::time::timeout(Duration::from_secs(60), shipped)
        .await
        .expect("the shipment is committed within a minute");
    assert!(matches!(state, Ok(Order::Shipped { .. })), "{state:?}");
    assert_eq!(tried.lock().unwrap().len(), 4);
}

/// Content the store refuses for good would be refused again: a timeout whose commit was
/// refused is dropped, not tried again, and the actor goes on.
#[tokio::test(start_paused = true)]
async fn a_timeout_whose_commit_is_refused_is_not_tried_again() {
    let system = ActorSystem::new();
    let (order, tried) = failing(&system, Env::default(), 0, 1, true);
    tokio::time::sleep(PAYMENT_WINDOW + Duration::from_secs(120)).await;
    assert_eq!(
        tried.lock().unwrap().len(),
        1,
        "the timeout fired, was refused, and was not offered again"
    );
    assert!(order.matches(OrderTag::Pending).await.unwrap());
    assert!(order
        .call(OrderEvent::Pay { amount: 4 })
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(tried.lock().unwrap().len(), 2);
    system.shutdown().await;
}

/// A restored actor whose timeout fell due while no process ran it fires that timeout before
/// the message that woke it: the payment window ran out first, so the late payment finds the
/// order cancelled.
#[tokio::test]
async fn an_overdue_timeout_goes_before_a_queued_message() {
    let system = ActorSystem::new();
    let start = Start {
        state: Order::new("o-1"),
        version: 0,
        entered_at: std::time::SystemTime::now() - PAYMENT_WINDOW * 2,
    };
    let order = system
        .start(
            "o-1".into(),
            start,
            Arc::new(Env::default()),
            machine_core::Ephemeral,
            SpawnOptions::new(),
        )
        .unwrap();
    // Queued before the actor's task first runs.
    let paid = order.call(OrderEvent::Pay { amount: 4 }).await;
    assert!(
        matches!(paid, Err(ActorError::Stopped(_))),
        "the order expired (a final state) before the payment: {paid:?}"
    );
    system.shutdown().await;
}

/// Holds the first commit until the test lets it through, and refuses for good every batch of
/// more than one event; notes the size of each batch tried.
struct RefusesPairs {
    gate: Arc<Semaphore>,
    tried: Arc<Mutex<Vec<usize>>>,
}

impl Durability<Order> for RefusesPairs {
    fn commit(
        &mut self,
        commit: Commit<'_, Order>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        let events = commit.events.len();
        let first = {
            let mut tried = self.tried.lock().unwrap();
            tried.push(events);
            tried.len() == 1
        };
        let gate = Arc::clone(&self.gate);
        let actor_id = commit.id.clone();
        async move {
            if first {
                let _permit = gate.acquire().await;
            }
            if events > 1 {
                return Err(CommitError::Refused {
                    actor_id,
                    source: Arc::new(std::io::Error::other("a pair is refused")),
                });
            }
            Ok(())
        }
    }
}

/// A refused batch that held a caller's event beside a task's event may have been refused for
/// the caller's: the task's event is tried again on its own, and stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The lock holds the courier's task on purpose while the test queues events around it.
#[allow(clippy::await_holding_lock)]
async fn a_task_event_refused_beside_a_callers_event_is_tried_again_alone() {
    let system = ActorSystem::new();
    let env = Arc::new(Env::default());
    // The courier reads its tracking number under this lock: holding it holds the shipment.
    let courier = env.courier_tracking.lock().unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let tried = Arc::new(Mutex::new(Vec::new()));
    let paid = Order::Paid {
        id: "o-1".into(),
        amount: 4,
        notes: 0,
    };
    let order = system
        .start(
            "o-1".into(),
            Start::new(paid),
            Arc::clone(&env),
            RefusesPairs {
                gate: Arc::clone(&gate),
                tried: Arc::clone(&tried),
            },
            SpawnOptions::new(),
        )
        .unwrap();
    order.send(OrderEvent::Note).await.unwrap();
    while tried.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // While the first note's batch waits at the gate: a second note, then the shipment.
    order.send(OrderEvent::Note).await.unwrap();
    let mut courier = courier;
    *courier = Some("TRK-1".into());
    drop(courier);

    while env.courier_started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.add_permits(1);
    let shipped = order.wait_for(|s| s.tag() == OrderTag::Shipped);
    let state = tokio::time::timeout(Duration::from_secs(10), shipped)
        .await
        .expect("the shipment is stored within seconds");
    assert!(matches!(state, Ok(Order::Shipped { .. })), "{state:?}");
    assert_eq!(*tried.lock().unwrap(), [1, 2, 1]);
    system.shutdown().await;
}
