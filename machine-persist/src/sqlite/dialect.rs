//! How SQLite differs from the other SQL backends (see [`Dialect`]).

use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use sqlx::sqlite::SqliteQueryResult;
use sqlx::{Pool, Sqlite, Transaction};

use super::values;
use crate::error::BoxError;
use crate::sql::decode::{ACTION_COLUMNS, ACTOR_COLUMNS, SNAPSHOT_COLUMNS};
use crate::sql::outbox::{OutboxTable, RecordRow, KEYED_OUTBOX};
use crate::sql::{Dialect, SqlDatabase, SqlQuery};
use crate::StoreError;

/// The insertion-ordered level of the outbox: a batch's durable actions are appended to a few
/// fresh pages here instead of one page per actor of `durable_actions`.
pub(super) const RECENT_OUTBOX: OutboxTable = OutboxTable {
    name: "recent_actions",
    row: "rowid",
};

/// The values bound per key of a grouped record statement: actor, version, name, and the claim
/// it ran under (end, holder).
const RECORD_KEY_COLUMNS: usize = 5;

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

    /// New rows go to `recent_actions` (insertion order, no index by actor), which the journal's
    /// merge moves into `durable_actions` (see [`merge`](super::merge)).
    const OUTBOX_TABLES: &'static [OutboxTable] = &[RECENT_OUTBOX, KEYED_OUTBOX];

    fn claim_actions_sql(table: &OutboxTable) -> String {
        let OutboxTable { name, row } = table;
        format!(
            "UPDATE {name} SET claimed_by = $1, claimed_until = $2, updated_at = $3
             WHERE ({row}) IN (
                 SELECT {row} FROM {name}
                 WHERE status = 'pending'
                   AND (claimed_until < $3 OR (claimed_by = $1 AND claimed_until < $6)){}
                 ORDER BY claimed_until LIMIT $5)
             RETURNING {ACTION_COLUMNS}",
            Self::in_list("machine_type", 4, false)
        )
    }

    /// The keys as a `VALUES` list of bound parameters (unpacking JSON costs a parse and a
    /// lookup per field), each joined to its row: a probe of the pending rows by the end of their
    /// claim, actor and version (the one index of `recent_actions`), or of the primary key. The
    /// list is padded to a power of two with `NULL` keys, which match nothing (see [`values`]).
    fn record_actions_sql(table: &OutboxTable, rows: usize) -> String {
        let name = table.name;
        values::rows_sql(
            &format!(
                "UPDATE {name}
                 SET attempts = ?, status = ?, claimed_until = ?,
                     last_cause = coalesce(nullif(?, ''), last_cause), updated_at = ?
                 FROM ("
            ),
            RECORD_KEY_COLUMNS,
            values::padded(rows),
            &format!(
                ") AS u
                 WHERE {name}.claimed_until = u.column4 AND {name}.actor_id = u.column1
                   AND {name}.version = u.column2 AND {name}.name = u.column3
                   AND {name}.claimed_by = u.column5 AND {name}.status = 'pending'"
            ),
        )
    }

    fn bind_record_keys<'q>(
        mut query: SqlQuery<'q, Self>,
        rows: &[&RecordRow<'q>],
    ) -> SqlQuery<'q, Self> {
        for row in rows {
            query = query
                .bind(row.actor_id)
                .bind(row.version)
                .bind(row.name)
                .bind(time_text(row.held_until))
                .bind(row.owner);
        }
        values::pad(query, rows.len(), RECORD_KEY_COLUMNS)
    }

    fn record_chunks<T>(keys: &[T]) -> Vec<&[T]> {
        values::chunks(keys).collect()
    }

    /// The keyed level is probed by primary key for each row; the recent level, which has no
    /// key index, is scanned once against the rows (an `IN` list, which SQLite indexes), not
    /// once per row.
    fn recorded_keys_sql(table: &OutboxTable, rows: usize) -> String {
        let name = table.name;
        let (head, tail) = if table.name == RECENT_OUTBOX.name {
            (
                format!(
                    "SELECT actor_id, version, name FROM {name}
                     WHERE (actor_id, version, name, claimed_by) IN (
                         SELECT column1, column2, column3, column5 FROM ("
                ),
                ")) AND updated_at = ?".to_owned(),
            )
        } else {
            (
                "SELECT t.actor_id, t.version, t.name FROM (".to_owned(),
                format!(
                    ") AS u
                     JOIN {name} AS t ON t.actor_id = u.column1 AND t.version = u.column2
                         AND t.name = u.column3 AND t.claimed_by = u.column5
                     WHERE t.updated_at = ?"
                ),
            )
        };
        values::rows_sql(&head, RECORD_KEY_COLUMNS, values::padded(rows), &tail)
    }

    /// `UPDATE ... FROM` the elements of one JSON array (`$1`), each a probe of the pending rows
    /// by the end of their claim (the one index of `recent_actions`) or by primary key.
    fn record_rows_sql(table: &OutboxTable) -> String {
        let name = table.name;
        format!(
            "UPDATE {name}
             SET attempts = u.attempts, status = u.status, claimed_until = u.claimed_until,
                 last_cause = coalesce(nullif(u.cause, ''), {name}.last_cause), updated_at = $2
             FROM (SELECT value ->> 'actor_id' AS actor_id, value ->> 'version' AS version,
                          value ->> 'name' AS name, value ->> 'owner' AS owner,
                          value ->> 'held_until' AS held_until,
                          value ->> 'attempts' AS attempts, value ->> 'status' AS status,
                          value ->> 'claimed_until' AS claimed_until, value ->> 'cause' AS cause
                   FROM json_each($1)) AS u
             WHERE {name}.claimed_until = u.held_until AND {name}.status = 'pending'
               AND {name}.actor_id = u.actor_id AND {name}.version = u.version
               AND {name}.name = u.name AND {name}.claimed_by = u.owner"
        )
    }

    fn bind_record_rows<'q>(
        query: SqlQuery<'q, Self>,
        rows: &[&RecordRow<'q>],
    ) -> Result<SqlQuery<'q, Self>, StoreError> {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                serde_json::json!({
                    "actor_id": row.actor_id,
                    "version": row.version,
                    "name": row.name,
                    "owner": row.owner,
                    "held_until": time_text(row.held_until),
                    "attempts": row.attempts,
                    "status": row.status,
                    "claimed_until": time_text(row.claimed_until),
                    "cause": row.cause,
                })
            })
            .collect();
        Ok(query.bind(serde_json::to_string(&rows)?))
    }

    fn begin_write(
        pool: &Pool<Self>,
    ) -> BoxFuture<'_, Result<Transaction<'static, Self>, sqlx::Error>> {
        Box::pin(pool.begin_with("BEGIN IMMEDIATE"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps of the plan of `sql`, with `params` parameters bound, on a fresh store.
    async fn plan(sql: String, params: usize) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::SqliteStore::open(dir.path().join("plan.db"))
            .await
            .unwrap();
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as(&explain);
        for _ in 0..params {
            query = query.bind("[]");
        }
        let plan: Vec<(i64, i64, i64, String)> = query.fetch_all(store.write_pool()).await.unwrap();
        plan.into_iter().map(|(_, _, _, step)| step).collect()
    }

    /// A record must find its row with one probe of an index by claim and key, never scan a
    /// level: the recent level has no key index, so its one index (the pending rows by the end
    /// of their claim, actor and version) must find the row; in the keyed level, the primary key
    /// or the due index (which ends with the primary key) does. Both for a group (two keys: five
    /// values of the group, five per key) and per row (the rows, then now).
    #[tokio::test]
    async fn records_probe_an_index_in_both_levels() {
        for table in [RECENT_OUTBOX, KEYED_OUTBOX] {
            let name = table.name;
            for steps in [
                plan(Sqlite::record_actions_sql(&table, 2), 15).await,
                plan(Sqlite::record_rows_sql(&table), 2).await,
            ] {
                let probe = steps.iter().find(|step| step.contains(name));
                assert!(
                    probe.is_some_and(|step| step.starts_with(&format!("SEARCH {name} USING"))
                        && step.contains("actor_id=? AND version=?")),
                    "{steps:?}"
                );
            }
        }
    }

    /// Telling which rows a record wrote probes the keyed level by primary key, and reads the
    /// recent level once, not once per record.
    #[tokio::test]
    async fn telling_what_a_record_wrote_reads_each_level_once() {
        let recent = plan(Sqlite::recorded_keys_sql(&RECENT_OUTBOX, 4), 21).await;
        let scans: Vec<&String> = recent
            .iter()
            .filter(|step| step.contains("recent_actions"))
            .collect();
        assert_eq!(scans.len(), 1, "{recent:?}");
        assert!(
            recent.iter().any(|step| step.starts_with("LIST SUBQUERY")),
            "{recent:?}"
        );
        let keyed = plan(Sqlite::recorded_keys_sql(&KEYED_OUTBOX, 4), 21).await;
        assert!(
            keyed
                .iter()
                .any(|step| step.starts_with("SEARCH t USING PRIMARY KEY")
                    && step.contains("actor_id=? AND version=? AND name=?")),
            "{keyed:?}"
        );
    }
}
