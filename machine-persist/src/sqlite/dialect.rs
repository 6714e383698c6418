//! How SQLite differs from the other SQL backends (see [`Dialect`]).

use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use sqlx::sqlite::SqliteQueryResult;
use sqlx::{Pool, Sqlite, Transaction};

use crate::error::BoxError;
use crate::sql::decode::{ACTION_COLUMNS, ACTOR_COLUMNS, SNAPSHOT_COLUMNS};
use crate::sql::{Dialect, SqlDatabase, SqlQuery};
use crate::StoreError;

/// Formats a timestamp the way this backend stores it: fixed-width RFC 3339 in UTC with
/// microseconds (`2024-05-01T12:00:00.000000Z`), which sorts lexicographically in time order.
pub(super) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored timestamp.
pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc))
}

impl Dialect for Sqlite {
    type Time = String;

    fn time_param(at: DateTime<Utc>) -> String {
        time_text(at)
    }

    fn time(row: &Self::Row, index: usize) -> Result<DateTime<Utc>, BoxError> {
        Ok(parse_time(<Sqlite as SqlDatabase>::text(row, index)?)?)
    }

    fn in_list(column: &str, n: usize, negated: bool) -> String {
        let not = if negated { " NOT" } else { "" };
        format!(" AND {column}{not} IN (SELECT value FROM json_each(${n}))")
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    /// UTF-8 payloads (every JSON one) are stored as text, so they stay readable with plain SQL;
    /// others as blobs. Reads accept either.
    fn bind_payload<'q>(query: SqlQuery<'q, Self>, payload: &'q [u8]) -> SqlQuery<'q, Self> {
        match std::str::from_utf8(payload) {
            Ok(text) => query.bind(text),
            Err(_) => query.bind(payload),
        }
    }

    /// A JSON array: the statement text does not grow with the list.
    fn bind_list<'q>(
        query: SqlQuery<'q, Self>,
        values: Vec<&'q str>,
    ) -> Result<SqlQuery<'q, Self>, StoreError> {
        Ok(query.bind(serde_json::to_string(&values)?))
    }

    fn latest_snapshots_sql() -> String {
        format!(
            "SELECT {SNAPSHOT_COLUMNS}, wanted.key + 1 AS ord FROM json_each($1) AS wanted
             JOIN snapshots ON snapshots.actor_id = wanted.value
                 AND snapshots.version = (
                     SELECT max(s.version) FROM snapshots AS s WHERE s.actor_id = wanted.value)"
        )
    }

    fn actors_by_id_sql() -> String {
        format!(
            "SELECT {ACTOR_COLUMNS}, wanted.key + 1 FROM json_each($1) AS wanted
             JOIN actors ON actors.actor_id = wanted.value"
        )
    }

    fn claim_actions_sql() -> String {
        format!(
            "UPDATE durable_actions SET claimed_by = $1, claimed_until = $2, updated_at = $3
             WHERE (actor_id, version, name) IN (
                 SELECT actor_id, version, name FROM durable_actions
                 WHERE status = 'pending'
                   AND (claimed_until < $3 OR ($6 = 1 AND claimed_by = $1)){}
                 ORDER BY claimed_until LIMIT $5)
             RETURNING {ACTION_COLUMNS}",
            Self::in_list("machine_type", 4, false)
        )
    }

    /// `UPDATE ... FROM` the array's elements, each a primary-key probe.
    fn record_actions_sql() -> &'static str {
        "UPDATE durable_actions
         SET attempts = u.attempts, status = u.status, claimed_until = u.claimed_until,
             last_cause = CASE WHEN u.cause = '' THEN durable_actions.last_cause ELSE u.cause END,
             updated_at = $2
         FROM (SELECT value ->> 'actor_id' AS actor_id, value ->> 'version' AS version,
                      value ->> 'name' AS name, value ->> 'owner' AS owner,
                      value ->> 'attempts' AS attempts, value ->> 'status' AS status,
                      value ->> 'claimed_until' AS claimed_until, value ->> 'cause' AS cause
               FROM json_each($1)) AS u
         WHERE durable_actions.actor_id = u.actor_id AND durable_actions.version = u.version
           AND durable_actions.name = u.name AND durable_actions.claimed_by = u.owner
           AND durable_actions.status = 'pending'
         RETURNING actor_id, version, name"
    }

    fn begin_write(
        pool: &Pool<Self>,
    ) -> BoxFuture<'_, Result<Transaction<'static, Self>, sqlx::Error>> {
        Box::pin(pool.begin_with("BEGIN IMMEDIATE"))
    }
}
