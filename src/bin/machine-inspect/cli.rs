//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use machine::persist::chrono::{DateTime, Utc};

/// Inspect the actors, journal and snapshots of a machine store (SQLite file or Postgres).
#[derive(Debug, Parser)]
#[command(name = "machine-inspect", version)]
pub struct Cli {
    /// The store: a SQLite file (or `sqlite:` URL), or a `postgres://` URL.
    #[arg(long, short, env = "MACHINE_STORE", global = true)]
    pub store: Option<String>,
    /// The Postgres schema holding the tables.
    #[arg(long, default_value = "public", global = true)]
    pub schema: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List stored actors from the registry, ordered by id.
    List(ListArgs),
    /// Show one actor: its registry row and latest snapshot.
    Show {
        /// The actor's id.
        id: String,
    },
    /// Print an actor's journaled events and its snapshots over a range of versions.
    History {
        /// The actor's id.
        id: String,
        /// The first version (default 0: the snapshot the actor started from, then every event).
        #[arg(long)]
        from: Option<u64>,
        /// The last version (default: the head).
        #[arg(long)]
        to: Option<u64>,
    },
    /// Follow the journal: print events as they are committed.
    Tail {
        /// Only actors of this machine type.
        #[arg(long = "type")]
        machine_type: Option<String>,
        /// Print the events already stored first.
        #[arg(long)]
        from_start: bool,
        /// How often to look for new events the store did not signal, in milliseconds (on
        /// Postgres new commits wake the tail at once).
        #[arg(long, default_value_t = 500)]
        interval_ms: u64,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<usize>,
    },
    /// Write an actor's history as a fixture file a unit test replays.
    Export {
        /// The actor's id.
        id: String,
        /// The file to write (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// The filters of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only actors of this machine type.
    #[arg(long = "type")]
    pub machine_type: Option<String>,
    /// Only actors in one of these states (repeatable).
    #[arg(long)]
    pub state: Vec<String>,
    /// Only actors in none of these states (repeatable).
    #[arg(long)]
    pub not_state: Vec<String>,
    /// Only actors active after this time (RFC 3339).
    #[arg(long)]
    pub active_after: Option<DateTime<Utc>>,
    /// Only actors active before this time (RFC 3339).
    #[arg(long)]
    pub active_before: Option<DateTime<Utc>>,
    /// Only actors whose id sorts after this one (the next page).
    #[arg(long)]
    pub after: Option<String>,
    /// At most this many actors.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}
