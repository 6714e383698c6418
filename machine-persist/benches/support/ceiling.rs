//! Ceiling contenders: the rows machine-persist writes and reads, written and read straight
//! through sqlx on the store's own tables, at the same durability, with no framework in between.
//! Each storage figure of the benchmarks is printed beside one of these from the same run.
//!
//! * SQLite **design ceiling**: the two-level journal at its barest: per transaction, one
//!   multi-row insert of one event per actor into the append level, one multi-row upsert of the
//!   actors' registry rows, and every 32,768 events the sorted merge into the clustered level;
//!   the heads are not read (a single writer could keep them), nothing is decoded.
//! * SQLite **append level**: only the multi-row inserts into the append level.
//! * SQLite **with intents**: the design ceiling plus one durable action per event, inserted
//!   into the outbox's insertion-ordered level beside its event and merged with the events: the
//!   bare cost of an outbox row, what any design storing intents as rows of their own pays.
//! * SQLite **with recorded intents**: that, plus one grouped record per transaction marking
//!   the previous transaction's actions succeeded (the store's record statement, without its
//!   `RETURNING`): the storage work of the store's outbox.
//! * SQLite **with inline intents**: the design ceiling, each event row carrying its action in
//!   its metadata, and one row per transaction noting how far the actions have run: the bare
//!   cost of an outbox kept in the journal's own rows (a design the store does not have yet).
//! * SQLite **raw read**: one actor's events read back in pages of 4,096 through SQLite's C API
//!   (rusqlite on the same library), every column looked at, nothing copied or decoded.
//! * Postgres **multi-row inserts**: 1,000 event rows per statement into `events` (with its
//!   position identity and index), from 2 clients at once; and **one-row commits** from one.
//! * Postgres **with intents**: each statement also inserts one durable action per event into
//!   `durable_actions`; **with recorded intents**: and each client then marks its previous
//!   statement's actions succeeded in a transaction of its own without a flush, as the store's
//!   recorder does; **with inline intents**: each event row carries its action in its
//!   metadata, and each client then notes how far its actions have run in one row, in a
//!   transaction of its own without a flush.

#![allow(dead_code)] // each bench binary uses part of it

use std::time::{Duration, Instant};

/// Rows written per statement (the store uses 256).
const STATEMENT_ROWS: usize = 256;
/// Events between two merges (the store's default `merge_after`).
const MERGE_EVERY: u64 = 32_768;

/// A measured rate.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub rows: u64,
    pub seconds: f64,
}

impl Rate {
    pub fn per_second(&self) -> f64 {
        self.rows as f64 / self.seconds
    }
}

/// `figure / ceiling`, for the tables.
pub fn ratio(figure: f64, ceiling: f64) -> f64 {
    if ceiling > 0.0 {
        figure / ceiling
    } else {
        0.0
    }
}

/// CPU time of this process so far (user + system, every thread), from `/proc/self/stat`: steadier
/// than throughput on a shared machine.
pub fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // Clock ticks are 1/100 s on Linux.
    Duration::from_millis(ticks * 10)
}

/// The system's load averages, for the record.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(","));
    vec![row; rows].join(",")
}

/// `sql`, written for [`STATEMENT_ROWS`] rows of `columns` placeholders, for `rows` rows.
fn sized(sql: &str, columns: usize, rows: usize) -> String {
    if rows == STATEMENT_ROWS {
        sql.to_owned()
    } else {
        sql.replace(
            &placeholders(STATEMENT_ROWS, columns),
            &placeholders(rows, columns),
        )
    }
}

const EVENT: &[u8] = br#"{"Deposit":{"amount":1}}"#;

/// The metadata of an event row that carries its durable action (inline intents).
const INLINE_INTENT: &str = r#"{"actions":[{"name":"note","codec":"json","payload":null}]}"#;

#[cfg(feature = "sqlite")]
pub mod sqlite {
    use super::*;
    use sqlx::SqlitePool;

    const RECORDED_AT: &str = "2026-12-01T00:00:00.000000Z";

    /// What a ceiling transaction writes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Writes {
        /// The events, into the append level.
        AppendLevel,
        /// And the registry rows, and the merge.
        Design,
        /// And one durable action per event, merged with the events.
        Intents,
        /// And the record of the previous transaction's actions.
        RecordedIntents,
        /// The design's rows, each event carrying its action, and a progress row.
        InlineIntents,
    }

    impl Writes {
        fn registry(self) -> bool {
            self != Self::AppendLevel
        }

        fn intents(self) -> bool {
            matches!(self, Self::Intents | Self::RecordedIntents)
        }
    }

    /// The two-level design on the store's tables: `actors` actors, one event each per
    /// transaction, for at least `duration`.
    pub async fn design(pool: &SqlitePool, actors: usize, duration: Duration) -> Rate {
        write(pool, actors, duration, Writes::Design).await
    }

    /// Only the append level: one event per actor per transaction, no registry, no merge.
    pub async fn append_level(pool: &SqlitePool, actors: usize, duration: Duration) -> Rate {
        write(pool, actors, duration, Writes::AppendLevel).await
    }

    /// The end of the claim the action of actor `n` in transaction `version` is stored under,
    /// as the store writes times: distinct per action, as the store's claims are per commit.
    fn claim_until(version: i64, n: usize) -> String {
        let (hours, minutes, seconds) = (version / 3600 % 24, version / 60 % 60, version % 60);
        format!("2026-12-01T{hours:02}:{minutes:02}:{seconds:02}.{n:06}Z")
    }

    /// `actors` actors, one event each per transaction, for at least `duration`, with what
    /// `writes` says besides.
    pub async fn write(
        pool: &SqlitePool,
        actors: usize,
        duration: Duration,
        writes: Writes,
    ) -> Rate {
        let design = writes.registry();
        let ids: Vec<String> = (0..actors).map(|n| format!("ceiling-{n}")).collect();
        let mut conn = pool.acquire().await.unwrap();
        let (mut position,): (i64,) =
            sqlx::query_as("SELECT coalesce(max(position), 0) FROM recent_events")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        if writes == Writes::InlineIntents {
            for sql in [
                "CREATE TABLE IF NOT EXISTS ceiling_progress
                     (owner TEXT PRIMARY KEY, through INTEGER NOT NULL) WITHOUT ROWID",
                "INSERT OR IGNORE INTO ceiling_progress VALUES ('ceiling', 0)",
            ] {
                sqlx::query(sql).execute(&mut *conn).await.unwrap();
            }
        }
        let metadata = if writes == Writes::InlineIntents {
            INLINE_INTENT
        } else {
            "{}"
        };
        let insert = format!(
            "INSERT INTO recent_events (position, actor_id, version, machine_type, tag,
                 schema_version, codec, payload, metadata, recorded_at) VALUES {}",
            placeholders(STATEMENT_ROWS, 10)
        );
        let upsert = format!(
            "INSERT INTO actors (actor_id, machine_type, head_version, state_tag, entered_at,
                 last_request, recent_from, created_at, last_activity) VALUES {}
             ON CONFLICT (actor_id) DO UPDATE SET head_version = excluded.head_version,
                 state_tag = excluded.state_tag, entered_at = excluded.entered_at,
                 last_request = excluded.last_request, last_activity = excluded.last_activity",
            placeholders(STATEMENT_ROWS, 9)
        );
        let intents = format!(
            "INSERT OR FAIL INTO recent_actions (actor_id, version, name, machine_type, codec,
                 payload, claimed_by, claimed_until, created_at, updated_at) VALUES {}",
            placeholders(STATEMENT_ROWS, 10)
        );
        let record = |table: &str, rows: usize| {
            format!(
                "UPDATE {table}
                 SET attempts = 1, status = 'succeeded', claimed_until = ?, updated_at = ?
                 FROM (VALUES {}) AS u
                 WHERE {table}.claimed_until = u.column4 AND {table}.actor_id = u.column1
                   AND {table}.version = u.column2 AND {table}.name = u.column3
                   AND {table}.claimed_by = u.column5 AND {table}.status = 'pending'",
                placeholders(rows, 5)
            )
        };
        let start = Instant::now();
        let mut version = 0i64;
        let mut rows = 0u64;
        let mut since_merge = 0u64;
        // Whether the previous transaction merged (its actions with it).
        let mut merged_before = false;
        while start.elapsed() < duration {
            version += 1;
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *conn)
                .await
                .unwrap();
            for (at, chunk) in ids.chunks(STATEMENT_ROWS).enumerate() {
                let first = at * STATEMENT_ROWS;
                let sql = sized(&insert, 10, chunk.len());
                let mut query = sqlx::query(&sql);
                for id in chunk {
                    position += 1;
                    query = query
                        .bind(position)
                        .bind(id.as_str())
                        .bind(version)
                        .bind("Account")
                        .bind("Deposit")
                        .bind(1)
                        .bind("json")
                        .bind(std::str::from_utf8(EVENT).unwrap())
                        .bind(metadata)
                        .bind(RECORDED_AT);
                }
                query.execute(&mut *conn).await.unwrap();
                if design {
                    let sql = sized(&upsert, 9, chunk.len());
                    let mut query = sqlx::query(&sql);
                    for id in chunk {
                        query = query
                            .bind(id.as_str())
                            .bind("Account")
                            .bind(version)
                            .bind("Open")
                            .bind(RECORDED_AT)
                            .bind(position)
                            .bind(position)
                            .bind(RECORDED_AT)
                            .bind(RECORDED_AT);
                    }
                    query.execute(&mut *conn).await.unwrap();
                }
                if writes.intents() {
                    let sql = sized(&intents, 10, chunk.len());
                    let mut query = sqlx::query(&sql);
                    for (n, id) in chunk.iter().enumerate() {
                        query = query
                            .bind(id.as_str())
                            .bind(version)
                            .bind("note")
                            .bind("Account")
                            .bind("json")
                            .bind("null")
                            .bind("ceiling")
                            .bind(claim_until(version, first + n))
                            .bind(RECORDED_AT)
                            .bind(RECORDED_AT);
                    }
                    query.execute(&mut *conn).await.unwrap();
                }
            }
            rows += actors as u64;
            since_merge += actors as u64;
            let merge = design && since_merge >= MERGE_EVERY;
            let mut merges: Vec<&str> = Vec::new();
            if merge && writes.intents() {
                merges.extend([
                    "INSERT OR FAIL INTO durable_actions (actor_id, version, name, machine_type,
                         codec, payload, status, attempts, claimed_by, claimed_until, last_cause,
                         created_at, updated_at)
                     SELECT actor_id, version, name, machine_type, codec, payload, status,
                         attempts, claimed_by, claimed_until, last_cause, created_at, updated_at
                     FROM recent_actions WHERE true ORDER BY actor_id, version, name
                     ON CONFLICT DO NOTHING",
                    "DELETE FROM recent_actions",
                ]);
            }
            if merge {
                merges.extend([
                    "INSERT OR FAIL INTO events (actor_id, version, position, machine_type, tag,
                         schema_version, codec, payload, metadata, recorded_at)
                     SELECT actor_id, version, position, machine_type, tag, schema_version,
                         codec, payload, metadata, recorded_at
                     FROM recent_events WHERE true ORDER BY actor_id, version, position
                     ON CONFLICT DO NOTHING",
                    "DELETE FROM recent_events",
                ]);
                since_merge = 0;
            }
            for sql in merges {
                sqlx::query(sql).execute(&mut *conn).await.unwrap();
            }
            // The previous transaction's actions, recorded as the store's records ride on
            // the next append, after its rows.
            if writes == Writes::RecordedIntents && version > 1 {
                let recorded_table = if merged_before || merge {
                    "durable_actions"
                } else {
                    "recent_actions"
                };
                for (at, chunk) in ids.chunks(STATEMENT_ROWS).enumerate() {
                    let first = at * STATEMENT_ROWS;
                    let sql = record(recorded_table, chunk.len());
                    let mut query = sqlx::query(&sql).bind(RECORDED_AT).bind(RECORDED_AT);
                    for (n, id) in chunk.iter().enumerate() {
                        query = query
                            .bind(id.as_str())
                            .bind(version - 1)
                            .bind("note")
                            .bind(claim_until(version - 1, first + n))
                            .bind("ceiling");
                    }
                    let done = query.execute(&mut *conn).await.unwrap();
                    assert_eq!(done.rows_affected(), chunk.len() as u64);
                }
            }
            merged_before = merge;
            // How far the previous transaction's actions ran.
            if writes == Writes::InlineIntents {
                sqlx::query("UPDATE ceiling_progress SET through = ? WHERE owner = 'ceiling'")
                    .bind(position - actors as i64)
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            sqlx::query("COMMIT").execute(&mut *conn).await.unwrap();
        }
        Rate {
            rows,
            seconds: start.elapsed().as_secs_f64(),
        }
    }

    /// The event columns every raw read hands over, in the store's order.
    const EVENT_COLUMNS: &str = "version, machine_type, tag, schema_version, codec, payload,
        metadata, recorded_at, position";

    /// Reads every event of `actor_id` from the merged level in pages of 4,096 straight through
    /// SQLite's C API (rusqlite, on the same library sqlx links), looking at every column's bytes
    /// without copying or decoding them: what the engine can hand over.
    pub fn read(path: &std::path::Path, actor_id: &str) -> Rate {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE actor_id = ?1 AND version >= ?2
             ORDER BY version LIMIT 4096"
        );
        // The next page starts after the last version.
        let after = |row: &rusqlite::Row| row.get::<_, i64>(0).map(|version| version + 1);
        read_pages(path, &sql, 1, after, |statement, next| {
            statement.query(rusqlite::params![actor_id, next])
        })
    }

    /// Reads the whole global stream in position order, both journal levels merged as the
    /// store's own page query does, in pages of 4,096 through SQLite's C API: the ceiling of a
    /// projection's catch-up.
    pub fn read_stream(path: &std::path::Path) -> Rate {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > ?1
             UNION ALL SELECT {EVENT_COLUMNS} FROM recent_events WHERE position > ?1
             ORDER BY position LIMIT 4096"
        );
        // The next page starts after the last position.
        let after = |row: &rusqlite::Row| row.get::<_, i64>(8);
        read_pages(path, &sql, 0, after, |statement, next| {
            statement.query(rusqlite::params![next])
        })
    }

    /// Pages of 4,096 rows of `sql` until a page is short; `query` runs it from `next`, which
    /// starts at `first` and is then `after` of each page's last row.
    fn read_pages(
        path: &std::path::Path,
        sql: &str,
        first: i64,
        after: impl Fn(&rusqlite::Row) -> rusqlite::Result<i64>,
        query: impl for<'s> Fn(
            &'s mut rusqlite::Statement<'_>,
            i64,
        ) -> rusqlite::Result<rusqlite::Rows<'s>>,
    ) -> Rate {
        use rusqlite::{Connection, OpenFlags};
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut statement = conn.prepare(sql).unwrap();
        let start = Instant::now();
        let (mut next, mut rows, mut bytes) = (first, 0u64, 0usize);
        loop {
            let mut page = 0u64;
            let mut found = query(&mut statement, next).unwrap();
            while let Some(row) = found.next().unwrap() {
                next = after(row).unwrap();
                for column in [1, 2, 4, 5, 6, 7] {
                    bytes += row
                        .get_ref(column)
                        .unwrap()
                        .as_bytes()
                        .map_or(0, <[u8]>::len);
                }
                bytes += row.get::<_, i64>(3).unwrap() as usize;
                bytes += row.get::<_, i64>(8).unwrap() as usize;
                page += 1;
            }
            rows += page;
            if page < 4096 {
                break;
            }
        }
        std::hint::black_box(bytes);
        Rate {
            rows,
            seconds: start.elapsed().as_secs_f64(),
        }
    }
}

#[cfg(feature = "postgres")]
pub mod postgres {
    use super::*;
    use sqlx::PgPool;

    /// Rows per statement.
    const ROWS: usize = 1_000;

    /// What each ceiling statement writes besides its events.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Outbox {
        /// Nothing.
        None,
        /// One durable action per event, in the same statement.
        Intents,
        /// And then the record of those actions, in a transaction of its own.
        RecordedIntents,
        /// Each event carrying its action, then a progress row in a transaction of its own.
        InlineIntents,
    }

    /// 1,000-row inserts into the store's `events` table from `clients` connections at once,
    /// for `duration`.
    pub async fn inserts(pool: &PgPool, clients: usize, duration: Duration) -> Rate {
        write(pool, clients, duration, Outbox::None).await
    }

    /// The end of the claim the action of actor `n` in statement `version` is stored under:
    /// distinct per action, as the store's claims are per commit.
    fn claim_until(version: i64, n: usize) -> chrono::DateTime<chrono::Utc> {
        let at = chrono::DateTime::from_timestamp(1_800_000_000 + version, 0).unwrap();
        at + chrono::Duration::microseconds(n as i64)
    }

    /// 1,000-row inserts into the store's `events` table from `clients` connections at once,
    /// for `duration`, with what `outbox` says besides.
    pub async fn write(pool: &PgPool, clients: usize, duration: Duration, outbox: Outbox) -> Rate {
        if outbox == Outbox::InlineIntents {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS ceiling_progress
                     (owner TEXT PRIMARY KEY, through BIGINT NOT NULL)",
            )
            .execute(pool)
            .await
            .unwrap();
        }
        let sql = match outbox {
            Outbox::None | Outbox::InlineIntents => insert_sql(ROWS),
            Outbox::Intents | Outbox::RecordedIntents => with_intents_sql(ROWS),
        };
        let metadata = if outbox == Outbox::InlineIntents {
            INLINE_INTENT
        } else {
            "{}"
        };
        let start = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..clients {
            let pool = pool.clone();
            let sql = sql.clone();
            tasks.push(tokio::spawn(async move {
                let ids: Vec<String> = (0..ROWS).map(|n| format!("ceiling-{client}-{n}")).collect();
                let mut rows = 0u64;
                let mut version = 0i64;
                while start.elapsed() < duration {
                    version += 1;
                    let mut query = sqlx::query(&sql);
                    for id in &ids {
                        query = query
                            .bind(id.as_str())
                            .bind(version)
                            .bind("Account")
                            .bind("Deposit")
                            .bind(EVENT)
                            .bind(metadata);
                    }
                    if matches!(outbox, Outbox::Intents | Outbox::RecordedIntents) {
                        let claims: Vec<_> = (0..ROWS).map(|n| claim_until(version, n)).collect();
                        query = query.bind(&ids).bind(version).bind(claims);
                    }
                    query.execute(&pool).await.unwrap();
                    match outbox {
                        Outbox::RecordedIntents => record(&pool, &ids, version).await,
                        Outbox::InlineIntents => progress(&pool, client, version).await,
                        Outbox::None | Outbox::Intents => {}
                    }
                    rows += ROWS as u64;
                }
                rows
            }));
        }
        let mut rows = 0;
        for task in tasks {
            rows += task.await.unwrap();
        }
        Rate {
            rows,
            seconds: start.elapsed().as_secs_f64(),
        }
    }

    fn insert_sql(rows: usize) -> String {
        let values: Vec<String> = (0..rows)
            .map(|row| {
                let p = row * 6;
                format!(
                    "(${}, ${}, ${}, ${}, 1, 'json', ${}, ${}, now())",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                )
            })
            .collect();
        format!(
            "INSERT INTO events (actor_id, version, machine_type, tag, schema_version, codec,
                 payload, metadata, recorded_at) VALUES {}",
            values.join(",")
        )
    }

    /// As [`insert_sql`], the same statement inserting one durable action per event from
    /// arrays, as the store's append does: the actors, the version and the claims' ends follow
    /// the events' parameters.
    fn with_intents_sql(rows: usize) -> String {
        let next = rows * 6;
        format!(
            "WITH new_events AS ({})
             INSERT INTO durable_actions (actor_id, version, name, machine_type, codec, payload,
                 claimed_by, claimed_until, created_at, updated_at)
             SELECT u.actor_id, ${}, 'note', 'Account', 'json', 'null', 'ceiling',
                 u.claimed_until, now(), now()
             FROM unnest(${}::text[], ${}::timestamptz[]) AS u(actor_id, claimed_until)",
            insert_sql(rows),
            next + 2,
            next + 1,
            next + 3
        )
    }

    /// A transaction whose commit does not wait for its flush, as the store's recorder opens.
    async fn unflushed(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx
    }

    /// Marks the actions of `ids` at `version` succeeded, as the store's recorder does: one
    /// statement over arrays of keys, in a transaction committed without a flush.
    async fn record(pool: &PgPool, ids: &[String], version: i64) {
        let mut tx = unflushed(pool).await;
        let done = sqlx::query(
            "UPDATE durable_actions AS a
             SET attempts = 1, status = 'succeeded', claimed_until = now(), updated_at = now()
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[])
                 AS u(actor_id, version, name, held_until, owner)
             WHERE a.actor_id = u.actor_id AND a.version = u.version AND a.name = u.name
               AND a.claimed_until = u.held_until AND a.claimed_by = u.owner
               AND a.status = 'pending'",
        )
        .persistent(false)
        .bind(ids)
        .bind(vec![version; ids.len()])
        .bind(vec!["note"; ids.len()])
        .bind(
            (0..ids.len())
                .map(|n| claim_until(version, n))
                .collect::<Vec<_>>(),
        )
        .bind(vec!["ceiling"; ids.len()])
        .execute(&mut *tx)
        .await
        .unwrap();
        assert_eq!(done.rows_affected(), ids.len() as u64);
        tx.commit().await.unwrap();
    }

    /// Notes that `client`'s actions ran through `version`, in a transaction committed without
    /// a flush.
    async fn progress(pool: &PgPool, client: usize, version: i64) {
        let mut tx = unflushed(pool).await;
        sqlx::query(
            "INSERT INTO ceiling_progress VALUES ($1, $2)
             ON CONFLICT (owner) DO UPDATE SET through = excluded.through",
        )
        .bind(format!("ceiling-{client}"))
        .bind(version)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    /// One-row inserts, each its own commit, from one connection, for `duration`.
    pub async fn single_commits(pool: &PgPool, duration: Duration) -> Rate {
        let sql = insert_sql(1);
        let start = Instant::now();
        let mut rows = 0u64;
        while start.elapsed() < duration {
            rows += 1;
            sqlx::query(&sql)
                .bind("ceiling-single")
                .bind(rows as i64)
                .bind("Account")
                .bind("Deposit")
                .bind(EVENT)
                .bind("{}")
                .execute(pool)
                .await
                .unwrap();
        }
        Rate {
            rows,
            seconds: start.elapsed().as_secs_f64(),
        }
    }
}
