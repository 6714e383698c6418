//! The declared transition table of a machine, as plain data.
//!
//! `#[derive(Machine)]` emits its table as `'static` slices of these types so that tools
//! (diagrams, documentation, coverage checks, admin UIs) can read what a machine declares without
//! running it. They only describe declarations: guards are not visible here, so a declared
//! transition may still be rejected at run time.

use std::time::Duration;

/// One declared transition: in state `from`, event `event` may lead to any of `targets`.
///
/// ```
/// use machine_core::TransitionInfo;
/// let pay: TransitionInfo<&str, &str> = TransitionInfo {
///     from: "Pending",
///     event: "Pay",
///     targets: &["Paid", "Cancelled"],
/// };
/// assert!(pay.targets.contains(&"Paid"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransitionInfo<S: 'static, E> {
    /// The source state.
    pub from: S,
    /// The event the source state handles.
    pub event: E,
    /// Every state the handler may move to, in declaration order.
    pub targets: &'static [S],
}

/// One declared state timeout: `after` entering `state`, `event` is sent to the actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeoutInfo<S, E> {
    /// The state whose entry starts the countdown.
    pub state: S,
    /// How long after entering the state the event is sent.
    pub after: Duration,
    /// The event sent when the countdown ends.
    pub event: E,
}
