//! Panicking user code on the actor task: the batch rolls back, its callers are told the
//! handler panicked, the observer hears of it, and the actor stops.

mod support;

use std::future::Future;
use std::sync::{Arc, Mutex};

use machine_core::OwnedRecordKind;
use machine_core::{
    ActorError, ActorSystem, Commit, CommitError, Current, Durability, Outcome, Recorder,
    SpawnOptions, Start, StopReason,
};
use support::fragile::{Fragile, FragileEvent, Hook};

/// What the durability layer saw: the size of every commit and the stop reason.
#[derive(Clone, Default)]
struct Seen {
    commits: Arc<Mutex<Vec<usize>>>,
    stopped: Arc<Mutex<Option<StopReason>>>,
}

impl Durability<Fragile> for Seen {
    fn commit(
        &mut self,
        commit: Commit<'_, Fragile>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send {
        self.commits.lock().unwrap().push(commit.events.len());
        std::future::ready(Ok(()))
    }

    fn stopped(
        &mut self,
        _: Current<'_, Fragile>,
        reason: &StopReason,
    ) -> impl Future<Output = ()> + Send {
        *self.stopped.lock().unwrap() = Some(reason.clone());
        std::future::ready(())
    }
}

struct Fixture {
    system: ActorSystem,
    actor: machine_core::ActorRef<Fragile>,
    seen: Seen,
    recorder: Recorder<Fragile>,
}

fn start(state: Fragile) -> Fixture {
    let system = ActorSystem::new();
    let seen = Seen::default();
    let recorder = Recorder::new();
    let actor = system
        .start(
            "f-1".into(),
            Start::new(state),
            Arc::new(()),
            seen.clone(),
            SpawnOptions::new().observer(recorder.observer()),
        )
        .unwrap();
    Fixture {
        system,
        actor,
        seen,
        recorder,
    }
}

fn is_panic_of(
    result: &Result<Outcome<Fragile, std::convert::Infallible>, ActorError>,
    hook: Hook,
) -> bool {
    matches!(
        result,
        Err(ActorError::HandlerPanicked { actor_id, message })
            if actor_id == "f-1" && *message == hook.message()
    )
}

impl Fixture {
    /// Waits until the actor has stopped, then checks what the observer and the durability
    /// layer were told.
    async fn assert_stopped_by(&self, hook: Hook) {
        while !self.actor.is_stopped() || self.system.contains("f-1") {
            tokio::task::yield_now().await;
        }
        let records = self.recorder.records();
        let errors: Vec<&String> = records
            .iter()
            .filter_map(|record| match &record.kind {
                OwnedRecordKind::Error { message } => Some(message),
                _ => None,
            })
            .collect();
        assert_eq!(
            errors,
            [&format!(
                "a handler of actor `f-1` panicked: {}",
                hook.message()
            )],
            "{records:?}"
        );
        let stopped = records.iter().find_map(|record| match &record.kind {
            OwnedRecordKind::Stopped { reason } => Some(reason.clone()),
            _ => None,
        });
        assert!(
            matches!(&stopped, Some(StopReason::Panicked { message }) if *message == hook.message()),
            "{stopped:?}"
        );
        let told = self.seen.stopped.lock().unwrap().clone();
        assert!(
            matches!(&told, Some(StopReason::Panicked { message }) if *message == hook.message()),
            "{told:?}"
        );
    }
}

#[tokio::test]
async fn a_hook_panicking_in_a_batch_rolls_it_back_and_stops_the_actor() {
    for hook in Hook::IN_BATCH {
        let fixture = start(Fragile::Calm { pokes: 0 });
        let actor = &fixture.actor;
        assert!(actor.call(FragileEvent::Poke).await.unwrap().is_accepted());
        // One batch of an accepted event and the panicking one; then a query that ends the
        // batch, and a call still queued behind it.
        let (accepted, sprung, state, queued) = tokio::join!(
            actor.call(FragileEvent::Poke),
            actor.call(FragileEvent::Spring(hook)),
            actor.state(),
            actor.call(FragileEvent::Poke),
        );
        assert!(is_panic_of(&accepted, hook), "{hook:?}: {accepted:?}");
        assert!(is_panic_of(&sprung, hook), "{hook:?}: {sprung:?}");
        assert!(
            matches!(state, Err(ActorError::Stopped(_))),
            "{hook:?}: {state:?}"
        );
        assert!(
            matches!(queued, Err(ActorError::Stopped(_))),
            "{hook:?}: {queued:?}"
        );
        fixture.assert_stopped_by(hook).await;
        assert_eq!(
            *fixture.seen.commits.lock().unwrap(),
            [1],
            "{hook:?}: nothing of the panicking batch is committed"
        );
        fixture.system.shutdown().await;
    }
}

#[tokio::test]
async fn an_answer_settled_before_the_panicking_event_stays_true() {
    let fixture = start(Fragile::Calm { pokes: 0 });
    let actor = &fixture.actor;
    let (unhandled, sprung) = tokio::join!(
        actor.call(FragileEvent::Wake),
        actor.call(FragileEvent::Spring(Hook::Transition)),
    );
    assert!(matches!(unhandled, Ok(Outcome::Unhandled)), "{unhandled:?}");
    assert!(is_panic_of(&sprung, Hook::Transition), "{sprung:?}");
    fixture.assert_stopped_by(Hook::Transition).await;
    assert!(fixture.seen.commits.lock().unwrap().is_empty());
    fixture.system.shutdown().await;
}

#[tokio::test]
async fn a_hook_panicking_at_start_stops_the_actor() {
    // At start the actor runs `background`, `enter` and `is_final` (which calls `tag`).
    for hook in [Hook::Background, Hook::Enter, Hook::IsFinal, Hook::Tag] {
        let fixture = start(Fragile::Trap { hook });
        let call = fixture.actor.call(FragileEvent::Poke).await;
        assert!(
            matches!(call, Err(ActorError::Stopped(_))),
            "{hook:?}: {call:?}"
        );
        fixture.assert_stopped_by(hook).await;
        fixture.system.shutdown().await;
    }
}

#[tokio::test]
async fn a_panicking_wait_for_predicate_panics_its_caller_not_the_actor() {
    let fixture = start(Fragile::Calm { pokes: 0 });
    let waiting = tokio::spawn({
        let actor = fixture.actor.clone();
        async move { actor.wait_for(|_| panic!("predicate exploded")).await }
    });
    let panic = waiting.await.unwrap_err().into_panic();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"predicate exploded"));
    assert!(fixture
        .actor
        .call(FragileEvent::Poke)
        .await
        .unwrap()
        .is_accepted());
    fixture.system.shutdown().await;
}

#[tokio::test]
async fn an_action_closure_that_panics_is_the_action_s_panic_not_the_actor_s() {
    let fixture = start(Fragile::Calm { pokes: 0 });
    let actor = &fixture.actor;
    let sprung = actor
        .call(FragileEvent::Spring(Hook::ActionClosure))
        .await
        .unwrap();
    assert!(sprung.is_accepted());
    let reported = || {
        fixture.recorder.records().iter().any(|record| {
            matches!(&record.kind, OwnedRecordKind::Effect { name: "fuse", finished: Some(Err(cause)), .. } if cause.message.contains("ActionClosure exploded"))
        })
    };
    let wait = async {
        while !reported() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), wait)
        .await
        .expect("the action's panic is reported");
    assert!(matches!(
        actor.call(FragileEvent::Poke).await,
        Ok(Outcome::Unhandled)
    ));
    assert_eq!(actor.version().await.unwrap(), 1);
    fixture.system.shutdown().await;
}
