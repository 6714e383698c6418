//! Typed errors, in three layers: [`AppendError`] refuses one request of a batch (and nothing
//! else in it), [`StoreError`] is a failure of the backend, [`PersistError`] is what persistent
//! actors and repositories return: every failure a caller can meet, flattened into one type.

mod append;
mod persist;
mod store;

pub use append::{ActionProblem, AppendError};
pub use persist::{Inconsistency, PersistError, ReplayCause};
pub use store::{BoxError, StoreError};
