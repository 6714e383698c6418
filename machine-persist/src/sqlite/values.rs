//! Multi-row `INSERT ... VALUES` statements for batches of any size.
//!
//! Every statement is a round trip to the connection's worker thread, so a batch must not cost
//! one statement per row; but rows unpacked from one JSON parameter cost SQLite a JSON parse and
//! a lookup per column. Bound parameters are the cheapest way in: a batch is split into
//! statements of [`MAX_ROWS`] rows, and the rest into statements of power-of-two sizes, so a few
//! distinct statement texts cover every batch size and stay in the driver's prepared-statement
//! cache.

/// The most rows one statement inserts (keeps parameters far below SQLite's limit of 32,766).
pub(super) const MAX_ROWS: usize = 256;

/// An `INSERT` whose rows are bound parameters.
///
/// Placeholders are anonymous (`?`) and bound in order: numbered ones (`?NNN`) make binding
/// quadratic in their count, as each is looked up by name.
#[derive(Clone, Copy, Debug)]
pub(super) struct Statement {
    /// Everything before `VALUES`.
    pub(super) head: &'static str,
    /// Parameters per row.
    pub(super) columns: usize,
    /// Everything after the rows (e.g. an `ON CONFLICT` clause, whose parameters come last).
    pub(super) tail: &'static str,
}

impl Statement {
    /// The statement text for `rows` rows.
    pub(super) fn sql(&self, rows: usize) -> String {
        rows_sql(self.head, self.columns, rows, self.tail)
    }
}

/// `head`, then `VALUES` and `rows` rows of `columns` anonymous placeholders, then `tail`.
pub(super) fn rows_sql(head: &str, columns: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 2 + 8);
    sql.push_str(head);
    sql.push_str(" VALUES ");
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

/// Splits `rows` into chunks of [`MAX_ROWS`], then of decreasing powers of two.
pub(super) fn chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let size = if rows.len() >= MAX_ROWS {
            MAX_ROWS
        } else {
            // The highest power of two not above the length.
            1 << (usize::BITS - 1 - rows.len().leading_zeros())
        };
        let (chunk, rest) = rows.split_at(size);
        rows = rest;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_row_in_few_distinct_sizes() {
        for len in [0, 1, 2, 3, 255, 256, 257, 1000, 2048] {
            let rows: Vec<usize> = (0..len).collect();
            let chunks: Vec<&[usize]> = chunks(&rows).collect();
            assert_eq!(chunks.concat(), rows);
            assert!(chunks
                .iter()
                .all(|chunk| chunk.len().is_power_of_two() && chunk.len() <= MAX_ROWS));
        }
        assert_eq!(
            chunks(&[0; 1000]).map(<[_]>::len).collect::<Vec<_>>(),
            [256, 256, 256, 128, 64, 32, 8]
        );
    }

    #[test]
    fn statement_has_one_placeholder_per_row_and_column() {
        let statement = Statement {
            head: "INSERT INTO t (a, b)",
            columns: 2,
            tail: " ON CONFLICT DO NOTHING",
        };
        assert_eq!(
            statement.sql(3),
            "INSERT INTO t (a, b) VALUES (?,?),(?,?),(?,?) ON CONFLICT DO NOTHING"
        );
    }
}
