//! Machines shared by the integration tests.

pub mod order;
pub mod session;
