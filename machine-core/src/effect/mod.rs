//! Declared effects: what a machine asks the runtime to do, never does itself.
//!
//! Transition handlers are pure so that replay can re-run them. Everything that touches the
//! world is *declared* through the builders here and performed by the actor runtime:
//!
//! | declared in | builder | runs | result |
//! |---|---|---|---|
//! | [`Machine::actions`](crate::Machine::actions) | [`Actions`] | once, after the step is accepted and durable | reported to the observer |
//! | [`Machine::actions`](crate::Machine::actions) | [`Actions::durable`] | at least once, after the step is durable, retried, also after a crash (see [`DurableAction`]) | recorded by the persistence layer |
//! | [`Machine::enter`](crate::Machine::enter) | [`Scope::task`] | from entering the state until leaving it (then cancelled) | mapped to an event sent to the actor |
//! | [`Machine::enter`](crate::Machine::enter) | [`Scope::timeout`] | fires `after` the state was entered, unless left first; restarts on re-entry | the given event |
//! | [`Machine::background`](crate::Machine::background) | [`Background`] | for the actor's whole life | reported to the observer |
//!
//! Every effect gets a [`Ctx`]: the actor's id, its environment (`Machine::Env`, supplied at
//! spawn so tests can pass fakes) and a handle to send events to itself. A failing or panicking
//! effect is reported to the observer and never takes the actor or the system down.

mod actions;
mod background;
mod ctx;
mod declared;
mod durable;
mod hooks;
mod scope;

pub use actions::Actions;
pub use background::Background;
pub use ctx::Ctx;
pub use durable::{ActionCtx, DurableAction, IdempotencyKey, Intent};
pub use hooks::Effects;
pub use scope::Scope;

pub(crate) use declared::Declared;
pub(crate) use scope::ScopeTask;

/// The error type effects return: any error, boxed.
pub type EffectError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A boxed, sendable future, as stored by the effect builders.
pub(crate) type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;
