//! Edge cases that must compile without a warning: every pair declared (no fallback arm is
//! reachable), a target a handler never returns, a machine without transitions, and field
//! names that match the generated locals.

#![deny(warnings)]

use std::convert::Infallible;

use machine_core::{Machine, Outcome};
use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum Ev {
    Go { event: u8, next: u8 },
    Stop,
}

#[derive(Clone, Debug, Machine)]
#[machine(event = Ev)]
enum Full {
    #[initial]
    #[on(Go => B | Done, Stop => Done)]
    A { event: u8, error: u8, scope: u8, step: u8 },
    #[on(Go => A, Stop => Done)]
    B,
    #[on(Go => Done, Stop => Done)]
    #[timeout(after = "500ms", event = Stop)]
    Done,
}

impl FullTransitions for Full {
    fn a_go(event: &u8, _: &u8, _: &u8, _: &u8, go: EvGo<'_>) -> Result<FullAOnGo, Infallible> {
        // `Done` is declared but never returned.
        let _ = (event, go.event, go.next);
        Ok(FullAOnGo::B)
    }

    fn a_stop(_: &u8, _: &u8, _: &u8, _: &u8, _: EvStop<'_>) -> Result<FullAOnStop, Infallible> {
        Ok(FullAOnStop::Done)
    }

    fn b_go(_: EvGo<'_>) -> Result<FullBOnGo, Infallible> {
        Ok(FullBOnGo::A { event: 0, error: 0, scope: 0, step: 0 })
    }

    fn b_stop(_: EvStop<'_>) -> Result<FullBOnStop, Infallible> {
        Ok(FullBOnStop::Done)
    }

    fn done_go(_: EvGo<'_>) -> Result<FullDoneOnGo, Infallible> {
        Ok(FullDoneOnGo::Done)
    }

    fn done_stop(_: EvStop<'_>) -> Result<FullDoneOnStop, Infallible> {
        Ok(FullDoneOnStop::Done)
    }
}

#[derive(Clone, Debug, Machine)]
#[machine(event = Ev)]
enum Idle {
    #[initial]
    Waiting,
}

fn main() {
    let a = Full::A { event: 1, error: 2, scope: 3, step: 4 };
    assert!(matches!(a.transition(&Ev::Go { event: 1, next: 2 }), Outcome::Next(Full::B)));
    assert!(matches!(Idle::Waiting.transition(&Ev::Stop), Outcome::Unhandled));
    assert_eq!(Idle::transition_table().len(), 0);
}
