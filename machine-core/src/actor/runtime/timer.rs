//! The actor's one timer: the soonest of its state timeouts and its durability layer's deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::{Instant, Sleep};

/// A `Sleep` made on first use and then only reset: an actor that never has a deadline does
/// not carry one in its future, and one that has does not insert and cancel a timer wheel
/// entry on every wake-up.
#[derive(Default)]
pub(super) struct Timer {
    sleep: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
}

impl Timer {
    /// Arms the timer for `deadline`, or disarms it.
    pub(super) fn set(&mut self, deadline: Option<Instant>) {
        if deadline == self.armed {
            return;
        }
        self.armed = deadline;
        if let Some(deadline) = deadline {
            match &mut self.sleep {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
    }

    /// Whether a deadline is armed.
    pub(super) fn is_armed(&self) -> bool {
        self.armed.is_some()
    }

    /// Disarms the timer, as firing does: the loop takes a deadline that has already passed
    /// without waiting for it (tokio fires such a deadline only at its next tick, so a message
    /// already queued would otherwise overtake it).
    pub(super) fn disarm(&mut self) {
        self.armed = None;
    }

    /// Ready once the armed deadline has passed, which disarms the timer; pending while none is
    /// armed.
    pub(super) fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.sleep {
            Some(sleep) if self.armed.is_some() => {
                std::task::ready!(sleep.as_mut().poll(cx));
                self.armed = None;
                Poll::Ready(())
            }
            _ => Poll::Pending,
        }
    }
}
