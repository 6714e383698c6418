//! A session with an idle timeout that every activity resets, and a background heartbeat.

#![allow(dead_code)]

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use machine_core::{Background, Event, Machine, Outcome, Scope, StateTag, Step, Tag};

pub const IDLE: Duration = Duration::from_secs(10);
pub const HEARTBEAT: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Session {
    Active { touches: u32 },
    Paused,
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    Touch,
    Pause,
    Resume,
    Expire,
}

#[derive(Default)]
pub struct Beats {
    pub beats: AtomicUsize,
    pub stopped: AtomicUsize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionTag {
    Active,
    Paused,
    Expired,
}

impl fmt::Display for SessionTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for SessionTag {
    const ALL: &'static [Self] = &[Self::Active, Self::Paused, Self::Expired];
    fn name(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Paused => "Paused",
            Self::Expired => "Expired",
        }
    }
}

impl StateTag for SessionTag {
    fn is_final(self) -> bool {
        self == Self::Expired
    }
    fn is_initial(self) -> bool {
        self == Self::Active
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionEventTag {
    Touch,
    Pause,
    Resume,
    Expire,
}

impl fmt::Display for SessionEventTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for SessionEventTag {
    const ALL: &'static [Self] = &[Self::Touch, Self::Pause, Self::Resume, Self::Expire];
    fn name(self) -> &'static str {
        match self {
            Self::Touch => "Touch",
            Self::Pause => "Pause",
            Self::Resume => "Resume",
            Self::Expire => "Expire",
        }
    }
}

impl Event for SessionEvent {
    type Tag = SessionEventTag;
    fn tag(&self) -> SessionEventTag {
        match self {
            Self::Touch => SessionEventTag::Touch,
            Self::Pause => SessionEventTag::Pause,
            Self::Resume => SessionEventTag::Resume,
            Self::Expire => SessionEventTag::Expire,
        }
    }
}

impl Machine for Session {
    type Event = SessionEvent;
    type Env = Beats;
    type Error = std::convert::Infallible;
    type StateTag = SessionTag;
    const NAME: &'static str = "Session";

    fn tag(&self) -> SessionTag {
        match self {
            Session::Active { .. } => SessionTag::Active,
            Session::Paused => SessionTag::Paused,
            Session::Expired => SessionTag::Expired,
        }
    }

    fn transition(&self, event: &SessionEvent) -> Outcome<Self, Self::Error> {
        match (self, event) {
            (Session::Active { touches }, SessionEvent::Touch) => Outcome::Next(Session::Active {
                touches: touches + 1,
            }),
            (Session::Active { .. }, SessionEvent::Pause) => Outcome::Next(Session::Paused),
            (Session::Paused, SessionEvent::Resume) => {
                Outcome::Next(Session::Active { touches: 0 })
            }
            (Session::Active { .. }, SessionEvent::Expire) => Outcome::Next(Session::Expired),
            _ => Outcome::Unhandled,
        }
    }

    /// Every touch re-enters `Active`, so it resets the idle timeout.
    fn is_entry(step: &Step<'_, Self>) -> bool {
        step.from.tag() != step.to.tag() || matches!(step.event, SessionEvent::Touch)
    }

    fn enter(&self, scope: &mut Scope<Self>) {
        if let Session::Active { .. } = self {
            scope.timeout(IDLE, SessionEvent::Expire);
        }
    }

    fn background(&self, tasks: &mut Background<Self>) {
        tasks.spawn("heartbeat", |ctx| async move {
            struct Stopped(Arc<Beats>);
            impl Drop for Stopped {
                fn drop(&mut self) {
                    self.0.stopped.fetch_add(1, Ordering::SeqCst);
                }
            }
            let _stopped = Stopped(ctx.env_arc());
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                ctx.env().beats.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
}
