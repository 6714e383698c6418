//! Recurrence policies as values: when to snapshot, when to retry.
//!
//! Its items are exported at the crate root, whose documentation describes them.

mod arith;
mod combinators;
mod constructors;
mod decision;
mod display;
mod driver;
mod node;

pub use decision::Decision;
pub use driver::Driver;
pub use node::Schedule;
