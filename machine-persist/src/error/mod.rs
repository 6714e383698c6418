//! Typed errors, in three layers: [`AppendError`] refuses one actor's append (and nothing else in
//! its batch), [`StoreError`] is a failure of the backend, [`PersistError`] wraps both plus codec
//! failures for callers that handle everything in one place.

mod append;
mod persist;
mod store;

pub use append::AppendError;
pub use persist::PersistError;
pub use store::{BoxError, StoreError};
