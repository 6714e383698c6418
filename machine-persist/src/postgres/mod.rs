//! The server backend: Postgres through sqlx.
//!
//! A batch is applied by ONE statement (one round trip, its own transaction): arrays bind every
//! request and event, `UNNEST` turns them into rows, and data-modifying CTEs update the registry
//! under its row locks, insert new actors with `ON CONFLICT DO NOTHING`, then insert events and
//! snapshots only for the actors that passed; only refused requests come back as rows. Two
//! writers racing on one actor serialise on its registry row; under `READ COMMITTED` the loser
//! re-checks the head after the winner commits and fails its condition. Several requests for one
//! actor in a batch run as successive statements in one transaction.
//!
//! Throughput comes from the server doing little per event: the registry keeps half of each page
//! free so the per-append update of an actor's row is a HOT update (no index writes), payloads
//! and metadata are stored as the text written (no JSON parsing), and a journal writer keeps two
//! batches in flight ([`PostgresOptions::concurrent_batches`]): while one waits for its commit to
//! reach the disk, the next executes, and the server flushes both commits together. Commits stay
//! synchronous.
//!
//! Tables live in a configurable schema (see [`PostgresOptions`]); connections put it first on
//! their `search_path`, and the embedded migrations (`migrations/postgres`) run there. Every
//! operation runs under a client-side deadline ([`PostgresOptions::operation_timeout`]) as well
//! as the server's `statement_timeout`: only the client's ends a call during a network stall.
//! The queries this backend shares with SQLite live in `crate::sql`.

mod append;
mod backend;
mod dialect;
mod notify;
mod options;
mod reads;
pub(crate) mod stale_plans;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};

pub use options::{PostgresOptions, MAX_SCHEMA_LEN};

use crate::sql::deadline::Deadline;
use crate::store::CommitSignal;
use crate::StoreError;
use notify::{PgCommitWire, WirePools};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// A [`Store`](crate::Store) in a Postgres database.
///
/// Clones share the same pool.
///
/// ```no_run
/// use machine_persist::store::Journal;
/// use machine_persist::{PostgresOptions, PostgresStore};
///
/// # async fn example() -> Result<(), machine_persist::store::StoreError> {
/// let options = PostgresOptions::url("postgres://postgres@127.0.0.1:5432/app")?.schema("orders")?;
/// let store = PostgresStore::with_options(options).await?;
/// let head = store.head(&"order-1".into()).await?;
/// # let _ = head;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    schema: String,
    concurrent_batches: usize,
    pub(crate) deadline: Deadline,
    commits: CommitSignal,
    channel: String,
    wire: WirePools,
}

/// Creates the schema of `options` if it is missing, or, if it may not create it, checks that it
/// exists.
async fn prepare_schema(
    setup: &mut PgConnection,
    options: &PostgresOptions,
) -> Result<(), StoreError> {
    if options.create_schema {
        // The name is validated to `[a-z_][a-z0-9_]*`, so it needs no quoting.
        let create = format!("CREATE SCHEMA IF NOT EXISTS {}", options.schema);
        match setup.execute(create.as_str()).await {
            Ok(_) => return Ok(()),
            // Processes creating the schema at once (the nodes of a new deployment): `IF NOT
            // EXISTS` looks before it inserts, so all but one fail on the catalog's unique
            // index (or as a duplicate); the schema is there, which the check below confirms.
            Err(sqlx::Error::Database(error))
                if matches!(error.code().as_deref(), Some("23505" | "42P06")) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_namespace WHERE nspname = $1")
        .bind(&options.schema)
        .fetch_optional(&mut *setup)
        .await?;
    match exists {
        Some(_) => Ok(()),
        None => Err(StoreError::InvalidName {
            name: options.schema.clone(),
            reason: "no such schema in the database",
        }),
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (schema `public`) and applies the schema migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::with_options(PostgresOptions::url(url)?).await
    }

    /// Connects with `options`, creates the schema if missing (unless
    /// [`PostgresOptions::create_schema`] says not to) and applies the migrations.
    pub async fn with_options(options: PostgresOptions) -> Result<Self, StoreError> {
        options::validate_schema(&options.schema)?;
        let mut setup = PgConnection::connect_with(&options.connect).await?;
        let prepared = prepare_schema(&mut setup, &options).await;
        setup.close().await?;
        prepared?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(options.min_connections)
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(options.test_before_acquire)
            .before_acquire(|_, connection| {
                Box::pin(std::future::ready(Ok(stale_plans::is_fresh(
                    connection.age,
                ))))
            })
            .connect_with(options.pool_connect_options())
            .await?;
        MIGRATOR.run(&pool).await?;
        let channel = notify::channel_of(&options.schema);
        let wire = WirePools::new(&options.pool_connect_options(), &channel, options.deadline);
        let commits = CommitSignal::wired(|signal| {
            PgCommitWire::new(channel.clone(), wire.clone(), options.deadline, signal)
        });
        Ok(Self {
            pool,
            schema: options.schema,
            concurrent_batches: options.concurrent_batches,
            deadline: options.deadline,
            commits,
            channel,
            wire,
        })
    }

    /// The schema holding this store's tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The notification channel this store announces its commits on, and its readers listen
    /// on: `machine_commits_` and the schema (shortened with a hash when the whole would not
    /// fit an identifier). The listening connection reports the channel as its
    /// `application_name`, the sending one the channel and `_send`.
    ///
    /// A notification is a hint to read now, sent after commits (not in their transaction), at
    /// most one per 10 ms per store; see [`CommitSignal`].
    pub fn commit_channel(&self) -> &str {
        &self.channel
    }

    /// The connection pool (for tools and tests that need raw SQL; its search path is the
    /// store's schema).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Drops the store's schema with every table in it. Irreversible; meant for tests and tear
    /// down of throwaway stores. Refuses to drop `public`.
    pub async fn drop_schema(&self) -> Result<(), StoreError> {
        if self.schema == "public" {
            return Err(StoreError::InvalidName {
                name: self.schema.clone(),
                reason: "the public schema is never dropped",
            });
        }
        let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        self.pool.execute(drop.as_str()).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections in use to be returned, and stops announcing and
    /// hearing commits.
    pub async fn close(&self) {
        self.commits.close();
        self.wire.close().await;
        self.pool.close().await;
    }
}
