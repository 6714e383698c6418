//! Ceiling contenders: the rows machine-persist writes and reads, written and read straight
//! through sqlx on the store's own tables, at the same durability, with no framework in between.
//! Each storage figure of the benchmarks is printed beside one of these from the same run.
//!
//! * SQLite **design ceiling**: the two-level journal at its barest: per transaction, one
//!   multi-row insert of one event per actor into the append level, one multi-row upsert of the
//!   actors' registry rows, and every 32,768 events the sorted merge into the clustered level;
//!   the heads are not read (a single writer could keep them), nothing is decoded.
//! * SQLite **append level**: only the multi-row inserts into the append level.
//! * SQLite **raw read**: one actor's events read back in pages of 4,096 through SQLite's C API
//!   (rusqlite on the same library), every column looked at, nothing copied or decoded.
//! * Postgres **multi-row inserts**: 1,000 event rows per statement into `events` (with its
//!   position identity and index), from 2 clients at once; and **one-row commits** from one.

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

const EVENT: &[u8] = br#"{"Deposit":{"amount":1}}"#;

#[cfg(feature = "sqlite")]
pub mod sqlite {
    use super::*;
    use sqlx::SqlitePool;

    const RECORDED_AT: &str = "2026-12-01T00:00:00.000000Z";

    /// The two-level design on the store's tables: `actors` actors, one event each per
    /// transaction, for at least `duration`.
    pub async fn design(pool: &SqlitePool, actors: usize, duration: Duration) -> Rate {
        write(pool, actors, duration, true).await
    }

    /// Only the append level: one event per actor per transaction, no registry, no merge.
    pub async fn append_level(pool: &SqlitePool, actors: usize, duration: Duration) -> Rate {
        write(pool, actors, duration, false).await
    }

    async fn write(pool: &SqlitePool, actors: usize, duration: Duration, design: bool) -> Rate {
        let ids: Vec<String> = (0..actors).map(|n| format!("ceiling-{n}")).collect();
        let mut conn = pool.acquire().await.unwrap();
        let (mut position,): (i64,) =
            sqlx::query_as("SELECT coalesce(max(position), 0) FROM recent_events")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
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
        let start = Instant::now();
        let mut version = 0i64;
        let mut rows = 0u64;
        let mut since_merge = 0u64;
        while start.elapsed() < duration {
            version += 1;
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *conn)
                .await
                .unwrap();
            for chunk in ids.chunks(STATEMENT_ROWS) {
                let sql = if chunk.len() == STATEMENT_ROWS {
                    insert.clone()
                } else {
                    insert.replace(
                        &placeholders(STATEMENT_ROWS, 10),
                        &placeholders(chunk.len(), 10),
                    )
                };
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
                        .bind("{}")
                        .bind(RECORDED_AT);
                }
                query.execute(&mut *conn).await.unwrap();
                if design {
                    let sql = if chunk.len() == STATEMENT_ROWS {
                        upsert.clone()
                    } else {
                        upsert.replace(
                            &placeholders(STATEMENT_ROWS, 9),
                            &placeholders(chunk.len(), 9),
                        )
                    };
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
            }
            rows += actors as u64;
            since_merge += actors as u64;
            if design && since_merge >= MERGE_EVERY {
                for sql in [
                    "INSERT OR FAIL INTO events (actor_id, version, position, machine_type, tag,
                         schema_version, codec, payload, metadata, recorded_at)
                     SELECT actor_id, version, position, machine_type, tag, schema_version,
                         codec, payload, metadata, recorded_at
                     FROM recent_events WHERE true ORDER BY actor_id, version, position
                     ON CONFLICT DO NOTHING",
                    "DELETE FROM recent_events",
                ] {
                    sqlx::query(sql).execute(&mut *conn).await.unwrap();
                }
                since_merge = 0;
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

    /// 1,000-row inserts into the store's `events` table from `clients` connections at once,
    /// for `duration`.
    pub async fn inserts(pool: &PgPool, clients: usize, duration: Duration) -> Rate {
        const ROWS: usize = 1_000;
        let sql = insert_sql(ROWS);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..clients {
            let pool = pool.clone();
            let sql = sql.clone();
            tasks.push(tokio::spawn(async move {
                let mut rows = 0u64;
                let mut version = 0i64;
                while start.elapsed() < duration {
                    version += 1;
                    let mut query = sqlx::query(&sql);
                    for n in 0..ROWS {
                        query = query
                            .bind(format!("ceiling-{client}-{n}"))
                            .bind(version)
                            .bind("Account")
                            .bind("Deposit")
                            .bind(EVENT)
                            .bind("{}");
                    }
                    query.execute(&pool).await.unwrap();
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
