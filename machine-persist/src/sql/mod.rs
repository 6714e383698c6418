//! What the SQL backends share: row decoding, the snapshot, catalog, stream and checkpoint
//! queries, the client-side deadline, error conversion, and the number conversions between the model and SQL.
//!
//! SQLite and Postgres store the same tables with the same semantics; they differ in how a batch
//! is appended (see `sqlite::append` and `postgres::append`), in how an actor's journal is laid
//! out (SQLite keeps two levels), in how a list of values is bound (a JSON array or a SQL array)
//! and in how a timestamp is stored (RFC 3339 text or `timestamptz`). Everything else is written
//! once here, generic over the driver through two traits:
//!
//! * [`SqlDatabase`]: the handful of sqlx operations this crate needs (bind an integer or a
//!   string, fetch, execute, read a column by position), implemented once for every sqlx
//!   database that supports them, so the shared code carries no trait bounds of its own;
//! * [`Dialect`]: the few things each backend does its own way.
//!
//! Statements use `$1`-style placeholders, which both drivers bind by number.

pub(crate) mod backend;
pub(crate) mod catalog;
pub(crate) mod checkpoints;
pub(crate) mod commands;
pub(crate) mod convert;
pub(crate) mod deadline;
pub(crate) mod decode;
pub(crate) mod error;
pub(crate) mod failures;
pub(crate) mod outbox;
pub(crate) mod snapshots;
pub(crate) mod stream;
pub(crate) mod text;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::TryFutureExt;
use sqlx::query::Query;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Transaction, Type,
};

use crate::error::BoxError;
use crate::StoreError;

/// A query of database `DB` with its bound arguments.
pub type SqlQuery<'q, DB> = Query<'q, DB, <DB as Database>::Arguments<'q>>;

/// The sqlx operations the shared code uses, for any sqlx database that has them.
pub trait SqlDatabase: Database {
    /// Binds an integer.
    fn bind_int<'q>(query: SqlQuery<'q, Self>, value: i64) -> SqlQuery<'q, Self>;
    /// Binds a string.
    fn bind_text<'q>(query: SqlQuery<'q, Self>, value: &'q str) -> SqlQuery<'q, Self>;
    /// Binds bytes.
    fn bind_bytes<'q>(query: SqlQuery<'q, Self>, value: &'q [u8]) -> SqlQuery<'q, Self>;
    /// Runs a query for all its rows.
    fn fetch_all<'e, 'q: 'e>(
        query: SqlQuery<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, Result<Vec<Self::Row>, sqlx::Error>>;
    /// Runs a statement.
    fn execute<'e, 'q: 'e>(
        query: SqlQuery<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, Result<Self::QueryResult, sqlx::Error>>;
    /// Runs a statement inside a transaction.
    fn execute_in<'t, 'q: 't>(
        tx: &'t mut Transaction<'_, Self>,
        query: SqlQuery<'q, Self>,
    ) -> BoxFuture<'t, Result<Self::QueryResult, sqlx::Error>>;
    /// Runs a query for all its rows inside a transaction.
    fn fetch_all_in<'t, 'q: 't>(
        tx: &'t mut Transaction<'_, Self>,
        query: SqlQuery<'q, Self>,
    ) -> BoxFuture<'t, Result<Vec<Self::Row>, sqlx::Error>>;
    /// Runs a statement without parameters on one connection.
    fn execute_raw<'c>(
        connection: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>>;
    /// Column `index` as an integer (`None` for NULL).
    fn int(row: &Self::Row, index: usize) -> Result<Option<i64>, BoxError>;
    /// Column `index` as text.
    fn text(row: &Self::Row, index: usize) -> Result<&str, BoxError>;
    /// Column `index` as bytes (text columns give their UTF-8 bytes).
    fn bytes(row: &Self::Row, index: usize) -> Result<Vec<u8>, BoxError>;
    /// Whether column `index` is NULL.
    fn is_null(row: &Self::Row, index: usize) -> Result<bool, BoxError>;
}

impl<DB> SqlDatabase for DB
where
    DB: Database,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> &'r str: Decode<'r, DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    str: Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    fn bind_int<'q>(query: SqlQuery<'q, Self>, value: i64) -> SqlQuery<'q, Self> {
        query.bind(value)
    }

    fn bind_text<'q>(query: SqlQuery<'q, Self>, value: &'q str) -> SqlQuery<'q, Self> {
        query.bind(value)
    }

    fn bind_bytes<'q>(query: SqlQuery<'q, Self>, value: &'q [u8]) -> SqlQuery<'q, Self> {
        query.bind(value)
    }

    fn fetch_all<'e, 'q: 'e>(
        query: SqlQuery<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, Result<Vec<Self::Row>, sqlx::Error>> {
        Box::pin(query.fetch_all(pool))
    }

    fn execute<'e, 'q: 'e>(
        query: SqlQuery<'q, Self>,
        pool: &'e Pool<Self>,
    ) -> BoxFuture<'e, Result<Self::QueryResult, sqlx::Error>> {
        Box::pin(query.execute(pool))
    }

    fn execute_in<'t, 'q: 't>(
        tx: &'t mut Transaction<'_, Self>,
        query: SqlQuery<'q, Self>,
    ) -> BoxFuture<'t, Result<Self::QueryResult, sqlx::Error>> {
        Box::pin(query.execute(&mut **tx))
    }

    fn fetch_all_in<'t, 'q: 't>(
        tx: &'t mut Transaction<'_, Self>,
        query: SqlQuery<'q, Self>,
    ) -> BoxFuture<'t, Result<Vec<Self::Row>, sqlx::Error>> {
        Box::pin(query.fetch_all(&mut **tx))
    }

    fn execute_raw<'c>(
        connection: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(sqlx::query(sql).execute(connection).map_ok(drop))
    }

    fn int(row: &Self::Row, index: usize) -> Result<Option<i64>, BoxError> {
        Ok(row.try_get::<Option<i64>, _>(index)?)
    }

    fn text(row: &Self::Row, index: usize) -> Result<&str, BoxError> {
        Ok(row.try_get::<&str, _>(index)?)
    }

    fn bytes(row: &Self::Row, index: usize) -> Result<Vec<u8>, BoxError> {
        Ok(row.try_get::<Vec<u8>, _>(index)?)
    }

    fn is_null(row: &Self::Row, index: usize) -> Result<bool, BoxError> {
        use sqlx::ValueRef;
        Ok(row.try_get_raw(index)?.is_null())
    }
}

/// What each SQL backend does its own way.
pub trait Dialect: SqlDatabase {
    /// A timestamp as this backend binds it.
    type Time: for<'q> Encode<'q, Self> + Type<Self> + Send + Sync;

    /// `at` as a parameter.
    fn time_param(at: DateTime<Utc>) -> Self::Time;

    /// Column `index` as a timestamp; values outside chrono's range (Postgres `infinity`) are
    /// errors, never panics.
    fn time(row: &Self::Row, index: usize) -> Result<DateTime<Utc>, BoxError>;

    /// `column IN (...)` (or `NOT IN`) for a list bound as parameter `$n` with
    /// [`bind_list`](Self::bind_list).
    fn in_list(column: &str, n: usize, negated: bool) -> String;

    /// How many rows a statement changed.
    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// Binds a payload: bytes, or text where this backend keeps UTF-8 payloads readable.
    fn bind_payload<'q>(query: SqlQuery<'q, Self>, payload: &'q [u8]) -> SqlQuery<'q, Self>;

    /// Binds a list of strings as the one parameter of the bulk queries below.
    fn bind_list<'q>(
        query: SqlQuery<'q, Self>,
        values: Vec<&'q str>,
    ) -> Result<SqlQuery<'q, Self>, StoreError>;

    /// The latest snapshot of each id of the list bound as `$1`, with the id's 1-based position
    /// in the list after the [snapshot columns](decode::SNAPSHOT_COLUMNS).
    fn latest_snapshots_sql() -> String;

    /// The registry row of each id of the list bound as `$1`, with the id's 1-based position in
    /// the list after the [actor columns](decode::ACTOR_COLUMNS).
    fn actors_by_id_sql() -> String;

    /// The tables holding outbox rows, each row in one of them (a key written twice behind the
    /// registry's back stays in the first level, and is reported by every merge); the last one
    /// is [`KEYED_OUTBOX`](outbox::KEYED_OUTBOX).
    const OUTBOX_TABLES: &'static [outbox::OutboxTable];

    /// Claims due durable actions of `table` and returns their [action
    /// columns](decode::ACTION_COLUMNS): `$1` the claiming dispatcher, `$2` the end of its
    /// claim, `$3` now, `$4` the machine types (a list as [`bind_list`](Self::bind_list) binds
    /// it), `$5` the most rows, `$6` a time before which `$1`'s own claims are taken too (see
    /// [`ClaimRequest::reclaim_own_before`](crate::store::ClaimRequest::reclaim_own_before)). A
    /// row is due when it is pending and its claim ended before `$3`; the oldest claims of the
    /// table come first. One statement, so no two claimers take the same row.
    fn claim_actions_sql(table: &outbox::OutboxTable) -> String;

    /// Records a group of ended attempts of durable actions in `table` that all set the same
    /// values, each only while its action is pending under the claim its attempt ran under
    /// (returning nothing: see [`outbox::record_in`] for how the applied ones are told). Its
    /// parameters, in binding order: the attempts, the status, the new end of the claim, the
    /// cause (`''` keeps the last one), now, then the keys and claims of `rows`
    /// [rows](outbox::RecordRow) as [`bind_record_keys`](Self::bind_record_keys) binds them.
    fn record_actions_sql(table: &outbox::OutboxTable, rows: usize) -> String;

    /// Binds the keys and claims of a [record statement](Self::record_actions_sql).
    fn bind_record_keys<'q>(
        query: SqlQuery<'q, Self>,
        rows: &[&outbox::RecordRow<'q>],
    ) -> SqlQuery<'q, Self>;

    /// Records ended attempts of durable actions in `table` that each set values of their own
    /// (as [`record_actions_sql`](Self::record_actions_sql) does for a group), any number in
    /// one statement: the rows as [`bind_record_rows`](Self::bind_record_rows) binds them,
    /// then now.
    fn record_rows_sql(table: &outbox::OutboxTable) -> String;

    /// Binds the rows of a [per-row record statement](Self::record_rows_sql).
    fn bind_record_rows<'q>(
        query: SqlQuery<'q, Self>,
        rows: &[&outbox::RecordRow<'q>],
    ) -> Result<SqlQuery<'q, Self>, StoreError>;

    /// Returns the key (`actor_id`, `version`, `name`) of each of `rows` record rows whose row
    /// in `table` its owner wrote at the last parameter: what a record statement writing at
    /// that time applied. The rows are bound as [`bind_record_keys`](Self::bind_record_keys)
    /// binds them, then the time.
    fn recorded_keys_sql(table: &outbox::OutboxTable, rows: usize) -> String;

    /// How many keys one record statement takes: a group is split into these chunks.
    fn record_chunks<T>(keys: &[T]) -> Vec<&[T]>;

    /// Starts a transaction that writes: on SQLite it takes the write lock up front.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> BoxFuture<'_, Result<Transaction<'static, Self>, sqlx::Error>>;
}

/// Runs a statement on `pool`; returns how many rows it changed.
pub(crate) async fn execute<DB: Dialect>(
    query: SqlQuery<'_, DB>,
    pool: &Pool<DB>,
) -> Result<u64, sqlx::Error> {
    let done = DB::execute(query, pool).await?;
    Ok(DB::rows_affected(&done))
}

/// Runs a statement inside `tx`; returns how many rows it changed.
pub(crate) async fn execute_in<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    query: SqlQuery<'_, DB>,
) -> Result<u64, sqlx::Error> {
    let done = DB::execute_in(tx, query).await?;
    Ok(DB::rows_affected(&done))
}
