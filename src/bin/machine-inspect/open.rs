//! Opening the store a command line names.

use std::path::Path;
use std::time::Duration;

use machine::persist::store::StoreError;
use machine::persist::{PostgresOptions, PostgresStore, SqliteStore};

use crate::commands::CliError;

/// How long connecting to a server may take before the command gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A store of either backend.
pub enum AnyStore {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A Postgres schema.
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Closes the connections.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }
}

fn unreachable(what: &str, error: StoreError) -> CliError {
    CliError::Open {
        store: what.to_owned(),
        source: error,
    }
}

/// Opens `store`: a `postgres://` (or `postgresql://`) URL, a `sqlite:` URL or a file path. A
/// file or schema that does not exist is an error, never a new empty store.
pub async fn open(store: &str, schema: &str) -> Result<AnyStore, CliError> {
    if store.starts_with("postgres://") || store.starts_with("postgresql://") {
        let options = PostgresOptions::url(store)
            .and_then(|options| options.schema(schema))
            .map_err(|error| unreachable(store, error))?
            .create_schema(false)
            .max_connections(2)
            .acquire_timeout(CONNECT_TIMEOUT)
            .operation_timeout(CONNECT_TIMEOUT);
        let opened = PostgresStore::with_options(options)
            .await
            .map_err(|error| unreachable(store, error))?;
        return Ok(AnyStore::Postgres(opened));
    }
    let path = store
        .strip_prefix("sqlite://")
        .or_else(|| store.strip_prefix("sqlite:"));
    let path = Path::new(path.unwrap_or(store));
    if !path.is_file() {
        return Err(CliError::NoSuchFile(path.to_owned()));
    }
    let opened = SqliteStore::open(path)
        .await
        .map_err(|error| unreachable(store, error))?;
    Ok(AnyStore::Sqlite(opened))
}
