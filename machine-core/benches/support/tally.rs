//! A small machine without effects for the actor benchmarks: a running total that can be closed
//! and reopened. No state is final, so one actor can take any number of events; no state
//! declares a task or timeout, so what is measured is the runtime's own cost per message.

#![allow(dead_code)]

use std::convert::Infallible;
use std::fmt;

use machine_core::{Event, Machine, Outcome, StateTag, Tag};

/// A 16-byte state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tally {
    Open { total: u64 },
    Closed { total: u64 },
}

impl Default for Tally {
    fn default() -> Self {
        Tally::Open { total: 0 }
    }
}

/// A 16-byte event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TallyEvent {
    Add(u64),
    Close,
    Reopen,
}

/// Event `i` of the benchmark workload: mostly `Add`, and every 100th event closes the tally,
/// the next one reopens it (two state entries per 100 events).
pub fn nth_event(i: u64) -> TallyEvent {
    match i % 100 {
        98 => TallyEvent::Close,
        99 => TallyEvent::Reopen,
        n => TallyEvent::Add(n),
    }
}

/// The state after events `0..count` of the workload, starting from the default.
pub fn expected_after(count: u64) -> Tally {
    (0..count).fold(Tally::default(), |state, i| {
        state
            .transition(&nth_event(i))
            .into_state()
            .unwrap_or(state)
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TallyTag {
    Open,
    Closed,
}

impl fmt::Display for TallyTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for TallyTag {
    const ALL: &'static [Self] = &[Self::Open, Self::Closed];
    fn name(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Closed => "Closed",
        }
    }
}

impl StateTag for TallyTag {
    fn is_final(self) -> bool {
        false
    }
    fn is_initial(self) -> bool {
        self == Self::Open
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TallyEventTag {
    Add,
    Close,
    Reopen,
}

impl fmt::Display for TallyEventTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for TallyEventTag {
    const ALL: &'static [Self] = &[Self::Add, Self::Close, Self::Reopen];
    fn name(self) -> &'static str {
        match self {
            Self::Add => "Add",
            Self::Close => "Close",
            Self::Reopen => "Reopen",
        }
    }
}

impl Event for TallyEvent {
    type Tag = TallyEventTag;
    fn tag(&self) -> TallyEventTag {
        match self {
            Self::Add(_) => TallyEventTag::Add,
            Self::Close => TallyEventTag::Close,
            Self::Reopen => TallyEventTag::Reopen,
        }
    }
}

impl Machine for Tally {
    type Event = TallyEvent;
    type Env = ();
    type Error = Infallible;
    type StateTag = TallyTag;
    const NAME: &'static str = "Tally";

    fn tag(&self) -> TallyTag {
        match self {
            Tally::Open { .. } => TallyTag::Open,
            Tally::Closed { .. } => TallyTag::Closed,
        }
    }

    fn transition(&self, event: &TallyEvent) -> Outcome<Self, Infallible> {
        match (self, event) {
            (Tally::Open { total }, TallyEvent::Add(n)) => Outcome::Next(Tally::Open {
                total: total.wrapping_add(*n),
            }),
            (Tally::Open { total }, TallyEvent::Close) => {
                Outcome::Next(Tally::Closed { total: *total })
            }
            (Tally::Closed { total }, TallyEvent::Reopen) => {
                Outcome::Next(Tally::Open { total: *total })
            }
            _ => Outcome::Unhandled,
        }
    }
}
