//! An effect whose outcome a test chooses: succeed, fail with a nested cause, fail with a
//! marked message, panic, or never end. The failure-cause tests of `machine-core` (failures
//! turned into events) and of `machine-persist` (failures stored) drive their effects with it.

use std::sync::atomic::{AtomicU8, Ordering};

use machine_core::EffectError;

/// What a [`Switch`]ed effect does when it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// Returns `Ok(())`.
    Succeed,
    /// Fails with [`Quit`] over an I/O error: the chain [`QUIT_CHAIN`].
    Fail,
    /// Fails with the plain message [`MARKED`].
    FailMarked,
    /// Panics with [`PANIC_MESSAGE`].
    Panic,
    /// Never ends.
    Hang,
}

/// The messages of a [`Outcome::Fail`] failure, outermost first.
pub const QUIT_CHAIN: [&str; 2] = ["the worker quit", "no space left"];
/// The message of a [`Outcome::FailMarked`] failure.
pub const MARKED: &str = "marked";
/// The message of a [`Outcome::Panic`] panic.
pub const PANIC_MESSAGE: &str = "the worker exploded";

/// The error of a [`Outcome::Fail`] failure, with an I/O error as its source.
#[derive(Debug, thiserror::Error)]
#[error("the worker quit")]
pub struct Quit(#[source] std::io::Error);

/// The outcome an effect will have, settable while it runs (default: [`Outcome::Succeed`]).
#[derive(Debug, Default)]
pub struct Switch(AtomicU8);

impl Switch {
    /// A switch set to `outcome`.
    pub fn new(outcome: Outcome) -> Self {
        Self(AtomicU8::new(outcome as u8))
    }

    /// Sets the outcome of the effect's next run.
    pub fn set(&self, outcome: Outcome) {
        self.0.store(outcome as u8, Ordering::SeqCst);
    }

    /// Runs the effect: does what the switch says now.
    pub async fn act(&self) -> Result<(), EffectError> {
        const FAIL: u8 = Outcome::Fail as u8;
        const FAIL_MARKED: u8 = Outcome::FailMarked as u8;
        const PANIC: u8 = Outcome::Panic as u8;
        const HANG: u8 = Outcome::Hang as u8;
        match self.0.load(Ordering::SeqCst) {
            FAIL => Err(Box::new(Quit(std::io::Error::other(QUIT_CHAIN[1])))),
            FAIL_MARKED => Err(MARKED.into()),
            PANIC => panic!("{PANIC_MESSAGE}"),
            HANG => std::future::pending().await,
            _ => Ok(()),
        }
    }
}

/// The switches of a machine with one transition action and one state task.
#[derive(Debug, Default)]
pub struct Switches {
    /// The action's.
    pub action: Switch,
    /// The task's.
    pub task: Switch,
}

impl Switches {
    /// Switches set to `action` and `task`.
    pub fn new(action: Outcome, task: Outcome) -> Self {
        Self {
            action: Switch::new(action),
            task: Switch::new(task),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_outcome_is_what_the_switch_says() {
        let switch = Switch::default();
        assert!(switch.act().await.is_ok());
        switch.set(Outcome::Fail);
        let error = switch.act().await.unwrap_err();
        assert_eq!(error.to_string(), QUIT_CHAIN[0]);
        assert_eq!(error.source().unwrap().to_string(), QUIT_CHAIN[1]);
        switch.set(Outcome::FailMarked);
        assert_eq!(switch.act().await.unwrap_err().to_string(), MARKED);
        switch.set(Outcome::Hang);
        let hung = tokio::time::timeout(std::time::Duration::from_millis(20), switch.act()).await;
        assert!(hung.is_err());
    }
}
