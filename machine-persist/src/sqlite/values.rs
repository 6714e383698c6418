//! Multi-row `VALUES` statements for batches of any size.
//!
//! Every statement is a round trip to the connection's worker thread, so a batch must not cost
//! one statement per row; but rows unpacked from one JSON parameter cost SQLite a JSON parse and
//! a lookup per column. Bound parameters are the cheapest way in: a batch is split into chunks
//! of at most [`MAX_ROWS`] rows, and each chunk is one statement whose row count is the next
//! power of two ([`padded`]), the missing rows bound as `NULL`s that the statement skips. So a
//! batch costs one statement per [`MAX_ROWS`] rows, and a few distinct statement texts cover
//! every batch size and stay in the driver's prepared-statement cache.

use sqlx::Sqlite;

use crate::sql::SqlQuery;

/// The most rows one statement takes (keeps parameters far below SQLite's limit of 32,766).
pub(super) const MAX_ROWS: usize = 256;

/// An `INSERT` whose rows are bound parameters, padded as the module describes.
///
/// Placeholders are anonymous (`?`) and bound in order: numbered ones (`?NNN`) make binding
/// quadratic in their count, as each is looked up by name.
#[derive(Clone, Copy, Debug)]
pub(super) struct Statement {
    /// Everything before the rows: `INSERT INTO table (columns)`.
    pub(super) head: &'static str,
    /// Parameters per row; the first of them is never `NULL` in a real row.
    pub(super) columns: usize,
    /// Everything after the rows (e.g. an `ON CONFLICT` clause, whose parameters come last).
    pub(super) tail: &'static str,
}

impl Statement {
    /// The statement text for a chunk of `rows` rows (before padding): it selects the rows from
    /// `VALUES` and skips the padding (the `WHERE` clause also keeps an `ON CONFLICT` tail from
    /// being read as a join constraint).
    pub(super) fn sql(&self, rows: usize) -> String {
        let head = format!("{} SELECT * FROM (", self.head);
        let tail = format!(") WHERE column1 IS NOT NULL{}", self.tail);
        rows_sql(&head, self.columns, padded(rows), &tail)
    }
}

/// The rows of the statement a chunk of `rows` rows is bound to: the next power of two.
pub(super) fn padded(rows: usize) -> usize {
    rows.next_power_of_two()
}

/// `head`, then `VALUES` and `rows` rows of `columns` anonymous placeholders, then `tail`.
pub(super) fn rows_sql(head: &str, columns: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 2 + 8);
    sql.push_str(head);
    sql.push_str("VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Binds the `NULL` rows that pad a chunk of `rows` rows of `columns` parameters.
pub(super) fn pad<'q>(
    mut query: SqlQuery<'q, Sqlite>,
    rows: usize,
    columns: usize,
) -> SqlQuery<'q, Sqlite> {
    for _ in 0..(padded(rows) - rows) * columns {
        query = query.bind(None::<i64>);
    }
    query
}

/// Splits `rows` into chunks of [`MAX_ROWS`] and the rest.
pub(super) fn chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    rows.chunks(MAX_ROWS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_row_in_statements_of_few_distinct_sizes() {
        for len in [0, 1, 2, 3, 255, 256, 257, 1000, 2048] {
            let rows: Vec<usize> = (0..len).collect();
            let chunks: Vec<&[usize]> = chunks(&rows).collect();
            assert_eq!(chunks.concat(), rows);
            assert_eq!(chunks.len(), len.div_ceil(MAX_ROWS));
            assert!(chunks.iter().all(|chunk| {
                let statement = padded(chunk.len());
                statement.is_power_of_two() && statement <= MAX_ROWS && statement >= chunk.len()
            }));
        }
        assert_eq!(
            chunks(&[0; 1000])
                .map(|chunk| padded(chunk.len()))
                .collect::<Vec<_>>(),
            [256, 256, 256, 256]
        );
    }

    #[test]
    fn statement_has_one_placeholder_per_row_and_column_and_skips_the_padding() {
        let statement = Statement {
            head: "INSERT INTO t (a, b)",
            columns: 2,
            tail: " ON CONFLICT DO NOTHING",
        };
        assert_eq!(
            statement.sql(3),
            "INSERT INTO t (a, b) SELECT * FROM (VALUES (?,?),(?,?),(?,?),(?,?)) \
             WHERE column1 IS NOT NULL ON CONFLICT DO NOTHING"
        );
    }

    /// Padded inserts write exactly the real rows, also through an upsert's `ON CONFLICT`.
    #[tokio::test]
    async fn padded_rows_are_skipped() {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        let upsert = Statement {
            head: "INSERT INTO t (a, b)",
            columns: 2,
            tail: " ON CONFLICT (a) DO UPDATE SET b = excluded.b || ?",
        };
        for (rows, mark) in [(3_i64, "!"), (5, "?")] {
            let sql = upsert.sql(rows as usize);
            let mut query = sqlx::query(&sql);
            for a in 0..rows {
                query = query.bind(a).bind(format!("row {a}"));
            }
            let done = pad(query, rows as usize, 2)
                .bind(mark)
                .execute(&mut conn)
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), rows as u64);
        }
        let stored: Vec<(i64, String)> = sqlx::query_as("SELECT a, b FROM t ORDER BY a")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            stored,
            [
                (0, "row 0?".to_owned()),
                (1, "row 1?".to_owned()),
                (2, "row 2?".to_owned()),
                (3, "row 3".to_owned()),
                (4, "row 4".to_owned()),
            ]
        );
    }
}
