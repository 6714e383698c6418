//! Failures as event data: `Actions::run_or` and `Scope::task_or` turn an effect's error or
//! panic into an event carrying its `SerializedCause`; a state task's failure is delivered only
//! while its state is current.

use std::convert::Infallible;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use machine_core::{
    Actions, ActorRef, ActorSystem, EffectKind, Effects, OwnedRecordKind, Recorder, Scope,
    SerializedCause, SpawnOptions, Step,
};
use machine_macros::{Event, Machine};
use machine_test_support::switch::{Outcome, Switches, MARKED, PANIC_MESSAGE, QUIT_CHAIN};

#[derive(Clone, Debug, PartialEq, Event)]
enum JobEvent {
    Start,
    Failed { cause: SerializedCause },
    Leave,
}

#[derive(Clone, Debug, PartialEq, Machine)]
#[machine(event = JobEvent, env = Switches, effects)]
enum Job {
    #[initial]
    #[on(Start => Working, Failed => Broken)]
    Idle,
    #[on(Failed => Broken, Leave => Left)]
    Working,
    #[on(Failed => Broken)]
    Left,
    Broken {
        cause: SerializedCause,
    },
}

impl JobTransitions for Job {
    fn idle_start(_: JobEventStart<'_>) -> Result<JobIdleOnStart, Infallible> {
        Ok(JobIdleOnStart::Working)
    }

    fn idle_failed(failed: JobEventFailed<'_>) -> Result<JobIdleOnFailed, Infallible> {
        Ok(JobIdleOnFailed::Broken {
            cause: failed.cause.clone(),
        })
    }

    fn working_failed(failed: JobEventFailed<'_>) -> Result<JobWorkingOnFailed, Infallible> {
        Ok(JobWorkingOnFailed::Broken {
            cause: failed.cause.clone(),
        })
    }

    fn working_leave(_: JobEventLeave<'_>) -> Result<JobWorkingOnLeave, Infallible> {
        Ok(JobWorkingOnLeave::Left)
    }

    fn left_failed(failed: JobEventFailed<'_>) -> Result<JobLeftOnFailed, Infallible> {
        Ok(JobLeftOnFailed::Broken {
            cause: failed.cause.clone(),
        })
    }
}

fn failed(cause: SerializedCause) -> JobEvent {
    JobEvent::Failed { cause }
}

impl Effects for Job {
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if matches!(step.event, JobEvent::Start) {
            actions.run_or(
                "notify",
                |ctx| async move { ctx.env().action.act().await },
                failed,
            );
        }
    }

    fn enter(&self, scope: &mut Scope<Self>) {
        if matches!(self, Job::Working) {
            scope.task_or(
                "work",
                |ctx| async move {
                    ctx.env().task.act().await?;
                    // Success is not what these tests are about: the task then ends quietly
                    // by leaving the state.
                    Ok(JobEvent::Leave)
                },
                |cause| {
                    if cause.message == MARKED {
                        let gate = GATE.lock().unwrap().take();
                        let (reached, release) = gate.expect("a gate was set");
                        reached.send(()).unwrap();
                        release.recv().unwrap();
                    }
                    failed(cause)
                },
            );
        }
    }
}

/// Where turning an [`Outcome::FailMarked`] failure into an event says it got there, then waits for the
/// test to let it go on (one test uses it).
type Gate = Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>;
static GATE: Mutex<Gate> = Mutex::new(None);

struct Fixture {
    system: ActorSystem,
    job: ActorRef<Job>,
    recorder: Recorder<Job>,
}

fn start(task: Outcome, action: Outcome) -> Fixture {
    let system = ActorSystem::new();
    let switches = Switches::new(action, task);
    let recorder = Recorder::new();
    let job = system
        .spawn_with(
            "job-1",
            Job::Idle,
            switches,
            SpawnOptions::new().observer(recorder.observer()),
        )
        .unwrap();
    Fixture {
        system,
        job,
        recorder,
    }
}

async fn broken(job: &ActorRef<Job>) -> SerializedCause {
    let state = tokio::time::timeout(
        Duration::from_secs(10),
        job.wait_for(|state| matches!(state, Job::Broken { .. })),
    )
    .await
    .expect("the failure arrives as an event")
    .unwrap();
    match state {
        Job::Broken { cause } => cause,
        other => unreachable!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failed_task_becomes_an_event_with_its_cause() {
    let fixture = start(Outcome::Fail, Outcome::Succeed);
    fixture.job.send(JobEvent::Start).await.unwrap();
    let cause = broken(&fixture.job).await;
    assert_eq!(cause.chain(), QUIT_CHAIN);
    let recorded = fixture
        .recorder
        .records()
        .into_iter()
        .find_map(|record| match record.kind {
            OwnedRecordKind::Effect {
                name: "work",
                kind: EffectKind::Task,
                version,
                finished: Some(Err(cause)),
            } => Some((version, cause)),
            _ => None,
        });
    assert_eq!(
        recorded,
        Some((1, cause)),
        "the observer saw the same cause, at the version that entered the state"
    );
    fixture.system.shutdown().await;
}

#[tokio::test]
async fn a_panicking_task_becomes_an_event_too() {
    let fixture = start(Outcome::Panic, Outcome::Succeed);
    fixture.job.send(JobEvent::Start).await.unwrap();
    let cause = broken(&fixture.job).await;
    assert_eq!(cause.type_name.as_deref(), Some("panic"));
    assert_eq!(cause.message, PANIC_MESSAGE);
    fixture.system.shutdown().await;
}

#[tokio::test]
async fn a_failed_action_becomes_an_event_whatever_the_state() {
    let fixture = start(Outcome::Hang, Outcome::Fail);
    fixture.job.send(JobEvent::Start).await.unwrap();
    let cause = broken(&fixture.job).await;
    assert_eq!(cause.chain(), QUIT_CHAIN);
    fixture.system.shutdown().await;
}

#[tokio::test]
async fn a_panicking_action_becomes_an_event() {
    let fixture = start(Outcome::Hang, Outcome::Panic);
    fixture.job.send(JobEvent::Start).await.unwrap();
    let cause = broken(&fixture.job).await;
    assert_eq!(cause, SerializedCause::panic(PANIC_MESSAGE));
    fixture.system.shutdown().await;
}

#[tokio::test]
async fn a_succeeding_action_sends_nothing() {
    let fixture = start(Outcome::Hang, Outcome::Succeed);
    fixture.job.send(JobEvent::Start).await.unwrap();
    let wait = fixture
        .job
        .wait_for(|state| matches!(state, Job::Broken { .. }));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), wait)
            .await
            .is_err(),
        "no failure, no event"
    );
    assert_eq!(fixture.job.state().await.unwrap(), Job::Working);
    fixture.system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_failure_after_its_state_was_left_is_discarded() {
    let (reached_tx, reached_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    *GATE.lock().unwrap() = Some((reached_tx, release_rx));
    let fixture = start(Outcome::FailMarked, Outcome::Succeed);
    fixture.job.send(JobEvent::Start).await.unwrap();
    // The task failed and is about to send its event: leave the state first.
    tokio::task::spawn_blocking(move || reached_rx.recv().unwrap())
        .await
        .unwrap();
    assert!(fixture
        .job
        .call(JobEvent::Leave)
        .await
        .unwrap()
        .is_accepted());
    release_tx.send(()).unwrap();
    let wait = fixture
        .job
        .wait_for(|state| matches!(state, Job::Broken { .. }));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), wait)
            .await
            .is_err(),
        "the late failure of a state that was left is not delivered"
    );
    assert_eq!(fixture.job.state().await.unwrap(), Job::Left);
    fixture.system.shutdown().await;
}
