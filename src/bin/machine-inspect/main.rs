//! `machine-inspect`: look into a machine store from the shell, without the application's code.
//!
//! Every stored row records its machine type, tags and codec, so the registry, the journal and
//! the snapshots can be read and shown for any machine: payloads are turned into JSON by the
//! codec named next to them. This is the tool for a support shell or a CI job: list the actors,
//! show one, print its history, follow the journal live, and export a history as a fixture that
//! a unit test replays (see `machine::persist::fixture`).
//!
//! ```text
//! machine-inspect --store quickstart.db list
//! machine-inspect --store postgres://app@db/app --schema orders show order-17 --json
//! machine-inspect --store quickstart.db export gate-1 --output tests/fixtures/gate-1.json
//! ```
//!
//! Output is a table for people by default and JSON with `--json`; failures print one line on
//! stderr and exit with status 1 (status 2 for a malformed command line).

mod cli;
mod commands;
mod open;
mod table;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("machine-inspect: {error}");
            ExitCode::FAILURE
        }
    }
}
