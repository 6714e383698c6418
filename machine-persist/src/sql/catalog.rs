//! The registry queries, the same on every SQL backend.

use sqlx::Pool;

use super::convert::{count_to_sql, version_from_sql};
use super::decode::{self, ACTOR_COLUMNS, ACTOR_COLUMN_COUNT};
use super::Dialect;
use crate::model::time;
use crate::store::RowResult;
use crate::{ActorId, ActorMetadata, CatalogQuery, DueTimer, StoreError, TimerQuery};

/// The registry row of `actor_id`.
pub(crate) async fn get<DB: Dialect>(
    pool: &Pool<DB>,
    actor_id: &ActorId,
) -> Result<Option<ActorMetadata>, StoreError> {
    let sql = format!("SELECT {ACTOR_COLUMNS} FROM actors WHERE actor_id = $1");
    let query = DB::bind_text(sqlx::query(&sql), actor_id.as_str());
    let rows = DB::fetch_all(query, pool).await?;
    rows.first()
        .map(|row| decode::actor::<DB>(row, 0))
        .transpose()
}

/// The head version of `actor_id` in the registry; 0 for an unknown actor.
pub(crate) async fn head<DB: Dialect>(
    pool: &Pool<DB>,
    actor_id: &ActorId,
) -> Result<u64, StoreError> {
    let query = DB::bind_text(
        sqlx::query("SELECT head_version FROM actors WHERE actor_id = $1"),
        actor_id.as_str(),
    );
    let rows = DB::fetch_all(query, pool).await?;
    let Some(row) = rows.first() else {
        return Ok(0);
    };
    let head = DB::int(row, 0)
        .and_then(|head| head.ok_or_else(|| "unexpected NULL".into()))
        .map_err(|error| StoreError::corrupt(actor_id, None, "head_version", error))?;
    version_from_sql(actor_id, None, "head_version", head)
}

/// One parameter of [`list`], bound in order.
enum Param<'a, DB: Dialect> {
    Text(&'a str),
    Int(i64),
    Time(DB::Time),
    List(Vec<&'a str>),
}

/// The registry rows matching `query`, ordered by id; a bad row is its own error.
pub(crate) async fn list<DB: Dialect>(
    pool: &Pool<DB>,
    query: &CatalogQuery,
) -> Result<Vec<RowResult<ActorMetadata>>, StoreError> {
    let mut sql = format!("SELECT {ACTOR_COLUMNS} FROM actors WHERE true");
    let mut params: Vec<Param<'_, DB>> = Vec::new();
    let next = |params: &mut Vec<Param<'_, DB>>| params.len() + 1;
    if let Some(machine_type) = &query.machine_type {
        sql.push_str(&format!(" AND machine_type = ${}", next(&mut params)));
        params.push(Param::Text(machine_type));
    }
    for (tags, negated) in [
        (query.state_in.as_deref(), false),
        (
            (!query.state_not_in.is_empty()).then_some(&query.state_not_in[..]),
            true,
        ),
    ] {
        if let Some(tags) = tags {
            sql.push_str(&DB::in_list("state_tag", next(&mut params), negated));
            params.push(Param::List(tags.iter().map(String::as_str).collect()));
        }
    }
    for (at, op) in [(query.updated_before, "<"), (query.updated_after, ">")] {
        if let Some(at) = at {
            sql.push_str(&format!(" AND last_activity {op} ${}", next(&mut params)));
            params.push(Param::Time(DB::time_param(time::to_micros(at))));
        }
    }
    if let Some(after) = &query.after {
        sql.push_str(&format!(" AND actor_id > ${}", next(&mut params)));
        params.push(Param::Text(after.as_str()));
    }
    sql.push_str(" ORDER BY actor_id");
    if let Some(limit) = query.limit {
        sql.push_str(&format!(" LIMIT ${}", next(&mut params)));
        params.push(Param::Int(count_to_sql(limit)));
    }
    let mut bound = sqlx::query(&sql);
    for param in params {
        bound = match param {
            Param::Text(text) => DB::bind_text(bound, text),
            Param::Int(int) => DB::bind_int(bound, int),
            Param::Time(at) => bound.bind(at),
            Param::List(list) => DB::bind_list(bound, list)?,
        };
    }
    let rows = DB::fetch_all(bound, pool).await?;
    Ok(rows.iter().map(|row| decode::actor::<DB>(row, 0)).collect())
}

/// The pending timers `query` selects, in (due, actor id) order, through the partial index
/// `actors_by_timeout`; a bad row is its own error.
pub(crate) async fn due_timers<DB: Dialect>(
    pool: &Pool<DB>,
    query: &TimerQuery,
) -> Result<Vec<RowResult<DueTimer>>, StoreError> {
    let mut sql = String::from(
        "SELECT actor_id, timeout_at FROM actors
         WHERE machine_type = $1 AND timeout_at IS NOT NULL AND timeout_at <= $2",
    );
    // Parameters are numbered in the order they appear, as every backend binds them.
    let limit = if query.after.is_some() {
        sql.push_str(" AND (timeout_at, actor_id) > ($3, $4)");
        "$5"
    } else {
        "$3"
    };
    sql.push_str(&format!(" ORDER BY timeout_at, actor_id LIMIT {limit}"));
    let mut bound = DB::bind_text(sqlx::query(&sql), &query.machine_type)
        .bind(DB::time_param(time::to_micros(query.until)));
    if let Some((due, actor_id)) = &query.after {
        bound = DB::bind_text(
            bound.bind(DB::time_param(time::to_micros(*due))),
            actor_id.as_str(),
        );
    }
    bound = DB::bind_int(bound, count_to_sql(query.limit));
    let rows = DB::fetch_all(bound, pool).await?;
    Ok(rows.iter().map(|row| decode::timer::<DB>(row, 0)).collect())
}

/// The registry rows of `actor_ids` in one query: one result per actor, a bad row failing its
/// actor alone.
pub(crate) async fn get_many<DB: Dialect>(
    pool: &Pool<DB>,
    actor_ids: &[ActorId],
) -> Result<Vec<RowResult<Option<ActorMetadata>>>, StoreError> {
    let sql = DB::actors_by_id_sql();
    let ids = actor_ids.iter().map(ActorId::as_str).collect();
    let rows = DB::fetch_all(DB::bind_list(sqlx::query(&sql), ids)?, pool).await?;
    let mut found: Vec<RowResult<Option<ActorMetadata>>> =
        actor_ids.iter().map(|_| Ok(None)).collect();
    for row in &rows {
        let at = decode::ordinal::<DB>(row, ACTOR_COLUMN_COUNT, actor_ids.len())?;
        found[at] = match decode::actor::<DB>(row, 0) {
            // The row is found by the id asked for: name the actor as asked.
            Err(StoreError::Corrupt {
                version,
                column,
                source,
                ..
            }) => Err(StoreError::Corrupt {
                actor_id: actor_ids[at].clone(),
                version,
                column,
                source,
            }),
            other => other.map(Some),
        };
    }
    Ok(found)
}
