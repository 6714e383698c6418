//! Events and states whose snake-case names are Rust keywords derive like any other.

use machine_core::{Machine, Outcome};
use machine_macros::{Event, Machine};

/// Events named like keywords once snake-cased.
#[derive(Clone, Debug, PartialEq, Event)]
pub enum LoopEvent {
    /// Leaves the loop.
    Break,
    /// Goes round again.
    Continue { times: u32 },
    /// Changes the kind.
    Type,
    /// Refers to itself.
    SelfCheck,
}

/// A loop that can be broken and resumed.
#[derive(Clone, Debug, PartialEq, Machine)]
#[machine(event = LoopEvent)]
pub enum Loop {
    #[initial]
    #[on(Break => Broken, Continue => Running, Type => Running, SelfCheck => Running)]
    Running { rounds: u32 },
    #[on(Continue => Running)]
    Broken,
}

impl LoopTransitions for Loop {
    fn running_break(
        _rounds: &u32,
        _event: LoopEventBreak<'_>,
    ) -> Result<LoopRunningOnBreak, std::convert::Infallible> {
        Ok(LoopRunningOnBreak::Broken)
    }

    fn running_continue(
        rounds: &u32,
        event: LoopEventContinue<'_>,
    ) -> Result<LoopRunningOnContinue, std::convert::Infallible> {
        Ok(LoopRunningOnContinue::Running {
            rounds: rounds + event.times,
        })
    }

    fn running_type(
        rounds: &u32,
        _event: LoopEventType<'_>,
    ) -> Result<LoopRunningOnType, std::convert::Infallible> {
        Ok(LoopRunningOnType::Running { rounds: *rounds })
    }

    fn running_self_check(
        rounds: &u32,
        _event: LoopEventSelfCheck<'_>,
    ) -> Result<LoopRunningOnSelfCheck, std::convert::Infallible> {
        Ok(LoopRunningOnSelfCheck::Running { rounds: *rounds })
    }

    fn broken_continue(
        event: LoopEventContinue<'_>,
    ) -> Result<LoopBrokenOnContinue, std::convert::Infallible> {
        Ok(LoopBrokenOnContinue::Running {
            rounds: *event.times,
        })
    }
}

#[test]
fn keyword_named_events_transition() {
    let running = Loop::Running { rounds: 1 };
    assert_eq!(
        running.transition(&LoopEvent::Break),
        Outcome::Next(Loop::Broken)
    );
    assert_eq!(
        Loop::Broken.transition(&LoopEvent::Continue { times: 3 }),
        Outcome::Next(Loop::Running { rounds: 3 })
    );
    assert_eq!(
        running.transition(&LoopEvent::Type),
        Outcome::Next(Loop::Running { rounds: 1 })
    );
}
