//! Projection checkpoints in the `projection_checkpoints` table, the same on every SQL backend.
//!
//! A checkpoint row is the projection's name and the two parts of its
//! [`GlobalPosition`]. [`save_in`] writes one inside a caller's transaction: that is how an
//! exactly-once projection commits its read-model update and its checkpoint together.

use chrono::Utc;
use sqlx::{Pool, Transaction};

use super::{execute, execute_in, Dialect};
use crate::store::GlobalPosition;
use crate::StoreError;

const LOAD: &str = "SELECT commit_tx, position FROM projection_checkpoints WHERE name = $1";
const SAVE: &str = "
    INSERT INTO projection_checkpoints (name, commit_tx, position, updated_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (name) DO UPDATE SET
        commit_tx = excluded.commit_tx,
        position = excluded.position,
        updated_at = excluded.updated_at";
const DELETE: &str = "DELETE FROM projection_checkpoints WHERE name = $1";

fn save_query<'q, DB: Dialect>(name: &'q str, at: GlobalPosition) -> super::SqlQuery<'q, DB> {
    let (commit, position) = at.to_parts();
    let query = DB::bind_int(
        DB::bind_int(DB::bind_text(sqlx::query(SAVE), name), commit),
        position,
    );
    query.bind(DB::time_param(Utc::now()))
}

/// The checkpoint of `name`; a stored value that is not a position is [`StoreError::Corrupt`]
/// (reported under the projection's name), never a silent restart from the beginning.
pub(crate) async fn load<DB: Dialect>(
    pool: &Pool<DB>,
    name: &str,
) -> Result<Option<GlobalPosition>, StoreError> {
    let rows = DB::fetch_all(DB::bind_text(sqlx::query(LOAD), name), pool).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let corrupt = |source: crate::error::BoxError| {
        StoreError::corrupt(&name.into(), None, "projection checkpoint", source)
    };
    let commit = DB::int(row, 0).map_err(corrupt)?;
    let position = DB::int(row, 1).map_err(corrupt)?;
    commit
        .zip(position)
        .and_then(|(commit, position)| GlobalPosition::from_parts(commit, position))
        .map(Some)
        .ok_or_else(|| corrupt("not a stream position".into()))
}

/// Saves the checkpoint of `name` on its own.
pub(crate) async fn save<DB: Dialect>(
    pool: &Pool<DB>,
    name: &str,
    at: GlobalPosition,
) -> Result<(), StoreError> {
    execute(save_query::<DB>(name, at), pool).await?;
    Ok(())
}

/// Deletes the checkpoint of `name`; returns whether there was one.
pub(crate) async fn delete<DB: Dialect>(pool: &Pool<DB>, name: &str) -> Result<bool, StoreError> {
    Ok(execute(DB::bind_text(sqlx::query(DELETE), name), pool).await? > 0)
}
/// Saves the checkpoint of `name` inside `tx`: it commits with whatever else `tx` wrote.
pub(crate) async fn save_in<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    name: &str,
    at: GlobalPosition,
) -> Result<(), StoreError> {
    execute_in(tx, save_query::<DB>(name, at)).await?;
    Ok(())
}

/// Deletes the checkpoint of `name` inside `tx`.
pub(crate) async fn delete_in<DB: Dialect>(
    tx: &mut Transaction<'_, DB>,
    name: &str,
) -> Result<(), StoreError> {
    execute_in(tx, DB::bind_text(sqlx::query(DELETE), name)).await?;
    Ok(())
}
