//! Declared effects: what a machine asks the runtime to do, never does itself.
//!
//! Its items are exported at the crate root, whose documentation describes them.

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
