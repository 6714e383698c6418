//! The result of offering one event to one state.

/// What a transition handler decided for one event.
///
/// Only [`Outcome::Next`] is an *accepted* event: it changes the actor's state (possibly to a
/// state with the same tag), increments its version and, for persistent actors, is journaled.
/// [`Outcome::Unhandled`] and [`Outcome::Rejected`] leave the state untouched and are never
/// journaled; the caller of `call` is told which one happened.
///
/// ```
/// use machine_core::Outcome;
/// let accepted: Outcome<u32, std::io::Error> = Outcome::Next(2);
/// assert!(accepted.is_accepted());
/// assert_eq!(accepted.state(), Some(&2));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Outcome<S, E> {
    /// The event is accepted and the machine moves to this state.
    Next(S),
    /// No transition is declared for this event in the current state.
    Unhandled,
    /// A guard refused the event with the machine's own error.
    Rejected(E),
}

impl<S, E> Outcome<S, E> {
    /// Whether the event was accepted.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Outcome::Next(_))
    }

    /// The next state, if the event was accepted.
    pub fn state(&self) -> Option<&S> {
        match self {
            Outcome::Next(state) => Some(state),
            _ => None,
        }
    }

    /// Consumes the outcome, returning the next state if the event was accepted.
    pub fn into_state(self) -> Option<S> {
        match self {
            Outcome::Next(state) => Some(state),
            _ => None,
        }
    }

    /// The guard's error, if the event was rejected.
    pub fn error(&self) -> Option<&E> {
        match self {
            Outcome::Rejected(error) => Some(error),
            _ => None,
        }
    }

    /// Maps the state of an accepted outcome.
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Outcome<T, E> {
        match self {
            Outcome::Next(state) => Outcome::Next(f(state)),
            Outcome::Unhandled => Outcome::Unhandled,
            Outcome::Rejected(error) => Outcome::Rejected(error),
        }
    }
}
