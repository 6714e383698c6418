//! The command log query, shared by the SQL backends.

use sqlx::Pool;

use super::convert::version_from_sql;
use super::Dialect;
use crate::store::StoredCommand;
use crate::{ActorId, StoreError};

/// The record of one command of one actor.
const FIND: &str = "SELECT version, fingerprint, recorded_at FROM commands
                    WHERE actor_id = $1 AND command_id = $2";

/// The record of `command_id` for `actor_id`, if any.
pub(crate) async fn find<DB: Dialect>(
    pool: &Pool<DB>,
    actor_id: &ActorId,
    command_id: &str,
) -> Result<Option<StoredCommand>, StoreError> {
    let query = DB::bind_text(
        DB::bind_text(sqlx::query(FIND), actor_id.as_str()),
        command_id,
    );
    let rows = DB::fetch_all(query, pool).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let corrupt = |column| move |error| StoreError::corrupt(actor_id, None, column, error);
    let version = DB::int(row, 0)
        .and_then(|value| value.ok_or_else(|| "unexpected NULL".into()))
        .map_err(corrupt("version"))?;
    let version = version_from_sql(actor_id, None, "version", version)?;
    Ok(Some(StoredCommand {
        version,
        fingerprint: DB::text(row, 1).map_err(corrupt("fingerprint"))?.to_owned(),
        recorded_at: DB::time(row, 2).map_err(corrupt("recorded_at"))?,
    }))
}
