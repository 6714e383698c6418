//! Machines shared by the integration tests.

#![allow(dead_code)]

pub mod hand_order;
pub mod order;
