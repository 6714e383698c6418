//! How Postgres differs from the other SQL backends (see [`Dialect`]).

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::postgres::PgQueryResult;
use sqlx::{Pool, Postgres, Row, Transaction};

use crate::error::BoxError;
use crate::sql::decode::{action_columns_of, ACTOR_COLUMNS, SNAPSHOT_COLUMNS};
use crate::sql::outbox::{OutboxTable, RecordRow, KEYED_OUTBOX};
use crate::sql::{Dialect, SqlQuery};
use crate::StoreError;

/// Microseconds from the Unix epoch to Postgres' epoch (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A `timestamptz` as Postgres sends it (microseconds since 2000-01-01), as a `DateTime`.
///
/// Decoded from the raw value rather than through chrono's decoder, which panics on values it
/// cannot represent: `infinity` and `-infinity` (sent as `i64::MAX` and `i64::MIN`) and
/// anything beyond chrono's range become errors instead.
fn from_pg_micros(micros: i64) -> Result<DateTime<Utc>, BoxError> {
    if micros == i64::MAX || micros == i64::MIN {
        return Err("the timestamp is infinite".into());
    }
    micros
        .checked_add(PG_EPOCH_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| format!("the timestamp {micros} µs after 2000-01-01 is out of range").into())
}

/// How the rows `u` of a record statement find the actions they record (`a`): by key, while
/// pending under the claim each attempt ran under.
const HELD: &str = "WHERE a.actor_id = u.actor_id AND a.version = u.version AND a.name = u.name
               AND a.claimed_until = u.held_until AND a.claimed_by = u.owner
               AND coalesce(a.status, '') = 'pending'";

/// One field of every record row, as an array parameter.
fn column<'q, T>(rows: &[&RecordRow<'q>], field: impl Fn(&RecordRow<'q>) -> T) -> Vec<T> {
    rows.iter().map(|row| field(row)).collect()
}

impl Dialect for Postgres {
    type Time = DateTime<Utc>;

    fn time_param(at: DateTime<Utc>) -> DateTime<Utc> {
        at
    }

    fn time(row: &Self::Row, index: usize) -> Result<DateTime<Utc>, BoxError> {
        // Every timestamp column of this schema is `timestamptz`, whose binary form is an i64.
        from_pg_micros(row.try_get_unchecked::<i64, _>(index)?)
    }

    fn in_list(column: &str, n: usize, negated: bool) -> String {
        let (op, quantifier) = if negated { ("<>", "ALL") } else { ("=", "ANY") };
        format!(" AND {column} {op} {quantifier}(${n})")
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    fn bind_payload<'q>(query: SqlQuery<'q, Self>, payload: &'q [u8]) -> SqlQuery<'q, Self> {
        query.bind(payload)
    }

    /// A `text[]` array.
    fn bind_list<'q>(
        query: SqlQuery<'q, Self>,
        values: Vec<&'q str>,
    ) -> Result<SqlQuery<'q, Self>, StoreError> {
        Ok(query.bind(values))
    }

    /// Each actor's latest snapshot is one backward index probe.
    fn latest_snapshots_sql() -> String {
        format!(
            "SELECT latest.*, t.ord
             FROM unnest($1::text[]) WITH ORDINALITY AS t(wanted, ord)
             CROSS JOIN LATERAL (
                 SELECT {SNAPSHOT_COLUMNS} FROM snapshots
                 WHERE snapshots.actor_id = t.wanted
                 ORDER BY version DESC LIMIT 1) AS latest"
        )
    }

    fn actors_by_id_sql() -> String {
        format!(
            "SELECT {ACTOR_COLUMNS}, wanted.ord
             FROM unnest($1::text[]) WITH ORDINALITY AS wanted(wanted_id, ord)
             JOIN actors ON actors.actor_id = wanted.wanted_id"
        )
    }

    /// One table: the heap is filled in insertion order already, and the log records the index
    /// entries a batch adds, not the whole pages they land on (but for a page's first change
    /// after a checkpoint).
    const OUTBOX_TABLES: &'static [OutboxTable] = &[KEYED_OUTBOX];

    /// The rows are chosen and locked once, in a materialized CTE (a subquery in `FROM` may be
    /// evaluated again while rows are rechecked, and then yield more than its `LIMIT`); rows
    /// another claimer has locked are skipped, so concurrent claimers take disjoint rows
    /// without waiting on each other. The condition is checked again on the locked row, so a
    /// row claimed meanwhile is not taken.
    fn claim_actions_sql(table: &OutboxTable) -> String {
        let name = table.name;
        format!(
            "WITH due AS MATERIALIZED (
                 SELECT actor_id, version, name FROM {name}
                 WHERE status = 'pending'
                   AND (claimed_until < $3 OR (claimed_by = $1 AND claimed_until < $6)){}
                 ORDER BY claimed_until LIMIT $5
                 FOR UPDATE SKIP LOCKED)
             UPDATE {name} AS a
             SET claimed_by = $1, claimed_until = $2, updated_at = $3
             FROM due
             WHERE a.actor_id = due.actor_id AND a.version = due.version AND a.name = due.name
               AND a.status = 'pending'
               AND (a.claimed_until < $3 OR (a.claimed_by = $1 AND a.claimed_until < $6))
             RETURNING {}",
            Self::in_list("machine_type", 4, false),
            action_columns_of("a")
        )
    }

    /// `UPDATE ... FROM` the keys as arrays (binary, no JSON to parse), one statement per group.
    /// The status is tested through `coalesce` (it is never null) so that the planner cannot
    /// start from the partial index of pending rows, whose row count it can badly underestimate
    /// (a fresh table has no statistics), and loop over the keys for each of them: it probes
    /// the primary key once per key, or hashes a small table. See also
    /// [`bind_record_keys`](Self::bind_record_keys).
    fn record_actions_sql(table: &OutboxTable, _rows: usize) -> String {
        let name = table.name;
        format!(
            "UPDATE {name} AS a
             SET attempts = $1, status = $2, claimed_until = $3,
                 last_cause = coalesce(nullif($4, ''), a.last_cause), updated_at = $5
             FROM unnest($6::text[], $7::bigint[], $8::text[], $9::timestamptz[], $10::text[])
                 AS u(actor_id, version, name, held_until, owner)
             {HELD}"
        )
    }

    /// The statement is planned at each execution, with the arrays and the table as they are: a
    /// plan cached while the table was small (a nested loop over every pending row for every
    /// key) would stay in use as the table grows.
    fn bind_record_keys<'q>(
        query: SqlQuery<'q, Self>,
        rows: &[&RecordRow<'q>],
    ) -> SqlQuery<'q, Self> {
        query
            .persistent(false)
            .bind(column(rows, |row| row.actor_id))
            .bind(column(rows, |row| row.version))
            .bind(column(rows, |row| row.name))
            .bind(column(rows, |row| row.held_until))
            .bind(column(rows, |row| row.owner))
    }

    fn record_chunks<T>(keys: &[T]) -> Vec<&[T]> {
        vec![keys]
    }

    fn recorded_keys_sql(table: &OutboxTable, _rows: usize) -> String {
        let name = table.name;
        format!(
            "SELECT a.actor_id, a.version, a.name
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[])
                 AS u(actor_id, version, name, held_until, owner)
             JOIN {name} AS a ON a.actor_id = u.actor_id AND a.version = u.version
                 AND a.name = u.name AND a.claimed_by = u.owner
             WHERE a.updated_at = $6"
        )
    }

    /// As [`record_actions_sql`](Self::record_actions_sql), with every row's values in arrays.
    fn record_rows_sql(table: &OutboxTable) -> String {
        let name = table.name;
        format!(
            "UPDATE {name} AS a
             SET attempts = u.attempts, status = u.status, claimed_until = u.claimed_until,
                 last_cause = coalesce(nullif(u.cause, ''), a.last_cause), updated_at = $10
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[],
                         $6::bigint[], $7::text[], $8::timestamptz[], $9::text[])
                 AS u(actor_id, version, name, held_until, owner, attempts, status,
                      claimed_until, cause)
             {HELD}"
        )
    }

    /// Planned at each execution, like [`bind_record_keys`](Self::bind_record_keys).
    fn bind_record_rows<'q>(
        query: SqlQuery<'q, Self>,
        rows: &[&RecordRow<'q>],
    ) -> Result<SqlQuery<'q, Self>, StoreError> {
        Ok(Self::bind_record_keys(query, rows)
            .bind(column(rows, |row| i64::from(row.attempts)))
            .bind(column(rows, |row| row.status))
            .bind(column(rows, |row| row.claimed_until))
            .bind(column(rows, |row| row.cause)))
    }

    fn begin_write(
        pool: &Pool<Self>,
    ) -> BoxFuture<'_, Result<Transaction<'static, Self>, sqlx::Error>> {
        Box::pin(pool.begin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinite_and_out_of_range_timestamps_are_errors() {
        assert!(from_pg_micros(i64::MAX).is_err());
        assert!(from_pg_micros(i64::MIN).is_err());
        assert!(from_pg_micros(i64::MAX - 1).is_err());
        assert_eq!(
            from_pg_micros(0).unwrap(),
            DateTime::from_timestamp(946_684_800, 0).unwrap()
        );
    }
}
