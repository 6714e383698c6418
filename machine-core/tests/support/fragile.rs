//! A machine whose every hook can be made to panic, and whose state timeout takes any duration:
//! for the runtime's handling of panicking user code and of extreme timeouts.

#![allow(dead_code)]

use std::fmt;
use std::time::Duration;

use machine_core::{Actions, Background, Event, Machine, Outcome, Scope, StateTag, Step, Tag};

/// Which of the machine's hooks panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Transition,
    Actions,
    IsEntry,
    Tag,
    IsFinal,
    Enter,
    Background,
    /// Not a hook: the closure of an action the step declares, called before its future runs.
    ActionClosure,
}

impl Hook {
    /// The hooks that run while a batch is applied.
    pub const IN_BATCH: [Hook; 6] = [
        Hook::Transition,
        Hook::Actions,
        Hook::IsEntry,
        Hook::Tag,
        Hook::IsFinal,
        Hook::Enter,
    ];

    /// The message this hook panics with.
    pub fn message(self) -> String {
        format!("{self:?} exploded")
    }

    fn explode(self) -> ! {
        panic!("{}", self.message())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragile {
    Calm {
        pokes: u32,
    },
    /// Reaching this state (or starting in it) makes `hook` panic.
    Trap {
        hook: Hook,
    },
    /// Declares a timeout of `after` that sends `Wake`.
    Sleeping {
        after: Duration,
    },
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FragileEvent {
    Poke,
    /// Makes `hook` panic: the transition handler itself, or a hook of the state it leads to.
    Spring(Hook),
    Sleep(Duration),
    Wake,
    Finish,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FragileTag {
    Calm,
    Trap,
    Sleeping,
    Done,
}

impl fmt::Display for FragileTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for FragileTag {
    const ALL: &'static [Self] = &[Self::Calm, Self::Trap, Self::Sleeping, Self::Done];
    fn name(self) -> &'static str {
        match self {
            Self::Calm => "Calm",
            Self::Trap => "Trap",
            Self::Sleeping => "Sleeping",
            Self::Done => "Done",
        }
    }
}

impl StateTag for FragileTag {
    fn is_final(self) -> bool {
        self == Self::Done
    }
    fn is_initial(self) -> bool {
        self == Self::Calm
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FragileEventTag {
    Poke,
    Spring,
    Sleep,
    Wake,
    Finish,
}

impl fmt::Display for FragileEventTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for FragileEventTag {
    const ALL: &'static [Self] = &[
        Self::Poke,
        Self::Spring,
        Self::Sleep,
        Self::Wake,
        Self::Finish,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::Poke => "Poke",
            Self::Spring => "Spring",
            Self::Sleep => "Sleep",
            Self::Wake => "Wake",
            Self::Finish => "Finish",
        }
    }
}

impl Event for FragileEvent {
    type Tag = FragileEventTag;
    fn tag(&self) -> FragileEventTag {
        match self {
            Self::Poke => FragileEventTag::Poke,
            Self::Spring(_) => FragileEventTag::Spring,
            Self::Sleep(_) => FragileEventTag::Sleep,
            Self::Wake => FragileEventTag::Wake,
            Self::Finish => FragileEventTag::Finish,
        }
    }
}

impl Fragile {
    fn springs(&self, hook: Hook) -> bool {
        *self == Fragile::Trap { hook }
    }
}

impl Machine for Fragile {
    type Event = FragileEvent;
    type Env = ();
    type Error = std::convert::Infallible;
    type StateTag = FragileTag;
    const NAME: &'static str = "Fragile";

    fn tag(&self) -> FragileTag {
        match self {
            Fragile::Calm { .. } => FragileTag::Calm,
            Fragile::Trap { hook: Hook::Tag } => Hook::Tag.explode(),
            Fragile::Trap { .. } => FragileTag::Trap,
            Fragile::Sleeping { .. } => FragileTag::Sleeping,
            Fragile::Done => FragileTag::Done,
        }
    }

    fn transition(&self, event: &FragileEvent) -> Outcome<Self, Self::Error> {
        match (self, event) {
            (Fragile::Calm { pokes }, FragileEvent::Poke) => {
                Outcome::Next(Fragile::Calm { pokes: pokes + 1 })
            }
            (Fragile::Calm { .. }, FragileEvent::Spring(Hook::Transition)) => {
                Hook::Transition.explode()
            }
            (Fragile::Calm { .. }, FragileEvent::Spring(hook)) => {
                Outcome::Next(Fragile::Trap { hook: *hook })
            }
            (Fragile::Calm { .. }, FragileEvent::Sleep(after)) => {
                Outcome::Next(Fragile::Sleeping { after: *after })
            }
            (Fragile::Sleeping { .. }, FragileEvent::Wake) => {
                Outcome::Next(Fragile::Calm { pokes: 0 })
            }
            (Fragile::Calm { .. }, FragileEvent::Finish) => Outcome::Next(Fragile::Done),
            _ => Outcome::Unhandled,
        }
    }

    fn is_final(&self) -> bool {
        if self.springs(Hook::IsFinal) {
            Hook::IsFinal.explode();
        }
        self.tag().is_final()
    }

    fn is_entry(step: &Step<'_, Self>) -> bool {
        if step.to.springs(Hook::IsEntry) {
            Hook::IsEntry.explode();
        }
        step.from.tag() != step.to.tag()
    }

    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if step.to.springs(Hook::Actions) {
            Hook::Actions.explode();
        }
        if step.to.springs(Hook::ActionClosure) {
            actions.run("fuse", |_| -> std::future::Ready<Result<(), _>> {
                Hook::ActionClosure.explode()
            });
        }
    }

    fn enter(&self, scope: &mut Scope<Self>) {
        match self {
            Fragile::Trap { hook: Hook::Enter } => Hook::Enter.explode(),
            Fragile::Sleeping { after } => scope.timeout(*after, FragileEvent::Wake),
            _ => {}
        }
    }

    fn background(&self, _: &mut Background<Self>) {
        if self.springs(Hook::Background) {
            Hook::Background.explode();
        }
    }
}
