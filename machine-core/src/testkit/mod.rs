//! The test kit: check machines without a runtime, and drive real actors with a paused clock.
//!
//! * [`simulate`] folds events through a machine exactly as an actor would (stopping at a final
//!   state) and records every outcome; [`assert_path`], [`assert_reaches`] and
//!   [`assert_never_reaches`] turn that into one-line assertions with readable failures.
//! * `Harness` (feature `test-util`) runs real actors on tokio's paused clock, so a 72-hour timeout is tested in
//!   microseconds: `#[tokio::test(start_paused = true)]`, then `Harness::advance`.
//!
//! The assertion helpers panic on failure: that is how a test fails.

mod assertions;
#[cfg(feature = "test-util")]
mod harness;
mod simulate;

pub use assertions::{assert_never_reaches, assert_path, assert_reaches};
#[cfg(feature = "test-util")]
pub use harness::Harness;
pub use simulate::{simulate, SimStep, Simulation};
