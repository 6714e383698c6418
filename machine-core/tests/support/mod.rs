//! Machines shared by the integration tests.

pub mod fragile;
pub mod session;
