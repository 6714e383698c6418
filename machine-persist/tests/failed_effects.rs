//! Failed plain effects of persistent actors are recorded in the store with their cause: an
//! action or a state task that returns an error or panics leaves a `failed` row under its
//! actor, version and name, and `run_or`/`task_or` feed the cause back as an event, journaled
//! like any other; an effect that succeeds leaves nothing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;

use machine_core::{Actions, Effects, Scope, SerializedCause, Step};
use machine_macros::{Event, Machine};
use machine_persist::store::{ActionStatus, StoredAction};
use machine_persist::{MemoryStore, PersistConfig, PersistentRef, PersistentSystem, Repository};
use machine_test_support::switch::{Outcome, Switches, PANIC_MESSAGE, QUIT_CHAIN};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Event)]
enum JobEvent {
    Start,
    Failed { cause: SerializedCause },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
#[machine(event = JobEvent, env = Switches, effects)]
enum Job {
    #[initial]
    #[on(Start => Working)]
    Idle,
    #[on(Failed => Broken)]
    Working,
    Broken {
        cause: SerializedCause,
    },
}

impl JobTransitions for Job {
    fn idle_start(_: JobEventStart<'_>) -> Result<JobIdleOnStart, Infallible> {
        Ok(JobIdleOnStart::Working)
    }

    fn working_failed(failed: JobEventFailed<'_>) -> Result<JobWorkingOnFailed, Infallible> {
        Ok(JobWorkingOnFailed::Broken {
            cause: failed.cause.clone(),
        })
    }
}

impl Effects for Job {
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if matches!(step.event, JobEvent::Start) {
            actions.run("notify", |ctx| async move { ctx.env().action.act().await });
        }
    }

    fn enter(&self, scope: &mut Scope<Self>) {
        if matches!(self, Job::Working) {
            scope.task_or(
                "work",
                |ctx| async move {
                    ctx.env().task.act().await?;
                    std::future::pending().await
                },
                |cause| JobEvent::Failed { cause },
            );
        }
    }
}

/// The stored rows of `id` once `done` holds for them (at most 10 s).
async fn rows_once(
    jobs: &Repository<Job>,
    id: &str,
    done: impl Fn(&[StoredAction]) -> bool,
) -> Vec<StoredAction> {
    let start = tokio::time::Instant::now();
    loop {
        let rows: Vec<StoredAction> = jobs
            .actions(id)
            .await
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        if done(&rows) {
            return rows;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{rows:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn start(
    action: Outcome,
    task: Outcome,
) -> (PersistentSystem, Repository<Job>, PersistentRef<Job>) {
    let switches = Switches::new(action, task);
    let system = PersistentSystem::new(MemoryStore::new());
    let jobs = system.repository(PersistConfig::<Job>::new(), Arc::new(switches));
    let job = jobs.spawn("job-1", Job::Idle).await.unwrap();
    assert!(job.call(JobEvent::Start).await.unwrap().is_accepted());
    (system, jobs, job)
}

fn causes(rows: &[StoredAction]) -> Vec<(String, Option<SerializedCause>)> {
    rows.iter()
        .filter(|row| row.status == ActionStatus::Failed && row.attempts == 1)
        .map(|row| (row.key.to_string(), row.last_cause.clone()))
        .collect()
}

#[tokio::test]
async fn a_failed_action_is_recorded_with_its_cause_chain() {
    let (system, jobs, _job) = start(Outcome::Fail, Outcome::Hang).await;
    let rows = rows_once(&jobs, "job-1", |rows| !rows.is_empty()).await;
    let recorded = causes(&rows);
    assert_eq!(recorded.len(), 1, "{rows:?}");
    assert_eq!(recorded[0].0, "job-1/1/notify");
    let cause = recorded[0].1.clone().expect("a cause");
    assert_eq!(cause.chain(), QUIT_CHAIN);
    system.shutdown().await;
}

#[tokio::test]
async fn a_panicking_action_is_recorded_as_a_panic() {
    let (system, jobs, _job) = start(Outcome::Panic, Outcome::Hang).await;
    let rows = rows_once(&jobs, "job-1", |rows| !rows.is_empty()).await;
    assert_eq!(
        causes(&rows),
        [(
            "job-1/1/notify".to_owned(),
            Some(SerializedCause::panic(PANIC_MESSAGE))
        )]
    );
    system.shutdown().await;
}

#[tokio::test]
async fn a_failed_task_is_recorded_and_its_cause_journaled_as_an_event() {
    let (system, jobs, job) = start(Outcome::Succeed, Outcome::Fail).await;
    let state = tokio::time::timeout(
        Duration::from_secs(10),
        job.wait_for(|state| matches!(state, Job::Broken { .. })),
    )
    .await
    .expect("the failure arrives as an event")
    .unwrap();
    let Job::Broken { cause } = state else {
        unreachable!()
    };
    assert_eq!(cause.chain(), QUIT_CHAIN);
    let rows = rows_once(&jobs, "job-1", |rows| !rows.is_empty()).await;
    assert_eq!(
        causes(&rows),
        [("job-1/1/work".to_owned(), Some(cause.clone()))],
        "keyed by the version that entered the state"
    );
    let history: Vec<_> = jobs
        .history("job-1", 1..=u64::MAX)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0]
            .effects
            .iter()
            .map(|effect| (effect.key.action.as_ref(), effect.status))
            .collect::<Vec<_>>(),
        [("work", ActionStatus::Failed)],
        "the history shows the failure at its version"
    );
    assert_eq!(
        history[1].event,
        JobEvent::Failed { cause },
        "the event is journaled with its cause"
    );
    assert!(history[1].effects.is_empty());
    system.shutdown().await;
}

#[tokio::test]
async fn effects_that_succeed_write_nothing() {
    let (system, jobs, job) = start(Outcome::Succeed, Outcome::Hang).await;
    // Everything the step started has ended, or hangs, once the actor answers again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(job.state().await.unwrap(), Job::Working);
    assert!(jobs.actions("job-1").await.unwrap().is_empty());
    system.shutdown().await;
}
