//! Test fixtures shared by the crates of the workspace (never published).
//!
//! * [`order`]: the order machine written by hand, once for the whole suite: the machine the
//!   runtime tests of `machine-core` drive through actors, and the reference the derive of
//!   `machine-macros` is checked against;
//! * [`proxy`]: a TCP proxy that stalls or severs the connections through it, for fault tests
//!   of the network between a store and its server;
//! * [`postgres`]: where the Postgres tests find their server, and the rule that a missing
//!   server is a skip locally but a failure under `CI=true`;
//! * [`process`]: the test binary's own ignored tests run as child processes, to kill, freeze
//!   or watch;
//! * [`switch`]: an effect whose outcome (success, a nested failure, a panic, no end) a test
//!   chooses.

#![warn(missing_docs)]

pub mod order;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod switch;
