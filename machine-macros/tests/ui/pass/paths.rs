//! The event enum in another module, the core crate under another name, and a public machine
//! whose generated items are all documented.

#![deny(warnings, missing_docs)]

extern crate machine_core as engine;

use engine::Machine;
use machine_macros::Machine;

/// The events, in their own module.
pub mod events {
    use machine_macros::Event;

    /// What a job can be told.
    #[derive(Clone, Debug, Event)]
    #[event(crate = "::engine")]
    pub enum JobEvent {
        /// Start working.
        Start,
        /// Done, with a result.
        Finish(u32),
    }
}

/// A job.
#[derive(Clone, Debug, Machine)]
#[machine(event = events::JobEvent, crate = ::engine)]
pub enum Job {
    /// Not started.
    #[initial]
    #[on(Start => Running)]
    Queued,
    /// Started.
    #[on(Finish => Done)]
    Running,
    /// Finished.
    #[terminal]
    Done {
        /// The result.
        result: u32,
    },
}

impl JobTransitions for Job {
    fn queued_start(_: events::JobEventStart<'_>) -> Result<JobQueuedOnStart, std::convert::Infallible> {
        Ok(JobQueuedOnStart::Running)
    }

    fn running_finish(
        events::JobEventFinish(result): events::JobEventFinish<'_>,
    ) -> Result<JobRunningOnFinish, std::convert::Infallible> {
        Ok(JobRunningOnFinish::Done { result: *result })
    }
}

fn main() {
    let done = Job::Queued
        .transition(&events::JobEvent::Start)
        .into_state()
        .and_then(|running| running.transition(&events::JobEvent::Finish(7)).into_state());
    assert!(matches!(done, Some(Job::Done { result: 7 })));
}
