//! The routes: two pages, their assets, and the JSON API the pages read.
//!
//! | route | what |
//! |---|---|
//! | `GET /` , `GET /actor` | the actor list and one actor's page |
//! | `GET /assets/*` | the script and the styles |
//! | `GET /api/types` | the registered machine types and their states |
//! | `GET /api/actors` | registry rows: `type`, `state`, `q` (id contains), `active_after`, `active_before`, `limit` |
//! | `GET /api/actor` | one actor's registry row, live status, durable actions and failed effects (status, attempts, last cause): `type`, `id` |
//! | `GET /api/step` | one version: state, event, previous state, diff: `type`, `id`, `version` |
//! | `GET /api/timeline` | the journal's entries: `type`, `id`, `from`, `to` |
//! | `GET /api/chart` | the statechart SVG and the Mermaid text of a type |
//! | `GET /api/verify` | the divergence check of one actor |
//! | `POST /api/rewind`, `POST /api/resume` | rewind a running actor / resume it (when enabled) |
//! | `GET /api/live` | server-sent events: new journal entries |

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use machine_core::ActorId;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::assets;
use super::auth;
use super::live;
use super::target::Target;
use super::Shared;
use crate::actor::listing;
use crate::verify::{Divergence, Verification};
use crate::{ActorMetadata, CatalogQuery, PersistError};

/// Registry rows read per page while searching.
const PAGE: usize = 500;
/// At most this many registry rows are scanned for one search.
const SCAN_LIMIT: usize = 20_000;
/// The largest `limit` of a listing.
const MAX_LIST: usize = 1_000;
/// The most journal entries one timeline request returns.
const MAX_TIMELINE: u64 = 1_000;

/// The router of `shared`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(assets::list_page))
        .route("/actor", get(assets::actor_page))
        .route("/assets/app.js", get(assets::script))
        .route("/assets/style.css", get(assets::style))
        .route("/api/types", get(types))
        .route("/api/actors", get(actors))
        .route("/api/actor", get(actor))
        .route("/api/step", get(step))
        .route("/api/timeline", get(timeline))
        .route("/api/chart", get(chart))
        .route("/api/verify", get(verify))
        .route("/api/rewind", post(rewind))
        .route("/api/resume", post(resume))
        .route("/api/live", get(live_events))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            auth::guard,
        ))
        .layer(axum::middleware::from_fn(auth::headers))
        .with_state(shared)
}

/// An API failure, as `{"error": "..."}` with a fitting status.
pub(crate) struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<PersistError> for ApiError {
    fn from(error: PersistError) -> Self {
        let status = match &error {
            PersistError::NotFound(_) => StatusCode::NOT_FOUND,
            PersistError::InvalidId(_) | PersistError::VersionOutOfRange { .. } => {
                StatusCode::BAD_REQUEST
            }
            PersistError::Rewound { .. } | PersistError::Stopped(_) => StatusCode::CONFLICT,
            error if error.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self(status, error.to_string())
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn target<'a>(shared: &'a Shared, machine_type: &str) -> ApiResult<&'a Arc<dyn Target>> {
    shared.target(machine_type).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("no machine type `{machine_type}` is registered"),
        )
    })
}

fn actor_id(id: &str) -> ApiResult<ActorId> {
    crate::store::check_actor_id(id).map_err(|error| ApiError::from(PersistError::from(error)))?;
    Ok(ActorId::from(id))
}

async fn types(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let types: Vec<Value> = shared
        .targets
        .iter()
        .map(|target| json!({ "name": target.machine_type(), "states": target.states() }))
        .collect();
    Json(json!({ "types": types, "rewind": shared.allow_rewind }))
}

/// A registry row as the page shows it.
#[derive(Serialize)]
struct Row<'a> {
    machine_type: &'a str,
    actor_id: &'a str,
    version: u64,
    state_tag: &'a str,
    entered_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    last_activity: DateTime<Utc>,
}

impl<'a> From<&'a ActorMetadata> for Row<'a> {
    fn from(meta: &'a ActorMetadata) -> Self {
        Self {
            machine_type: &meta.machine_type,
            actor_id: meta.actor_id.as_str(),
            version: meta.version,
            state_tag: &meta.state_tag,
            entered_at: meta.entered_at,
            created_at: meta.created_at,
            last_activity: meta.last_activity,
        }
    }
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(rename = "type", default)]
    machine_type: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    active_after: Option<DateTime<Utc>>,
    #[serde(default)]
    active_before: Option<DateTime<Utc>>,
    #[serde(default)]
    limit: Option<usize>,
}

/// Non-empty, or absent.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|value| !value.is_empty())
}

async fn actors(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Value>> {
    let limit = params.limit.unwrap_or(200).clamp(1, MAX_LIST);
    let search = given(&params.q);
    let mut found = Vec::new();
    let mut unreadable = Vec::new();
    let mut truncated = false;
    for target in &shared.targets {
        if given(&params.machine_type).is_some_and(|wanted| wanted != target.machine_type()) {
            continue;
        }
        let mut query = CatalogQuery::new().machine_type(target.machine_type());
        if let Some(state) = given(&params.state) {
            query = query.state_in([state]);
        }
        if let Some(at) = params.active_after {
            query = query.updated_after(at);
        }
        if let Some(at) = params.active_before {
            query = query.updated_before(at);
        }
        let store = target.store();
        let mut scanned = 0;
        let mut page = query.clone().limit(PAGE);
        loop {
            let listed = listing(store.list(&page).await.map_err(PersistError::from)?);
            let read = listed.actors.len() + listed.unreadable.len();
            scanned += read;
            let last = listed.last_id().cloned();
            unreadable.extend(listed.unreadable);
            found.extend(listed.actors.into_iter().filter(|meta| {
                search.is_none_or(|search| meta.actor_id.as_str().contains(search))
            }));
            if found.len() >= limit || read < PAGE {
                break;
            }
            if scanned >= SCAN_LIMIT {
                truncated = true;
                break;
            }
            match last {
                Some(last) => page = query.clone().limit(PAGE).after(last),
                None => break,
            }
        }
    }
    found.sort_by(|a, b| a.actor_id.cmp(&b.actor_id));
    if found.len() > limit {
        found.truncate(limit);
        truncated = true;
    }
    let rows: Vec<Row<'_>> = found.iter().map(Row::from).collect();
    let unreadable: Vec<Value> = unreadable
        .iter()
        .map(|(id, error)| json!({ "actor_id": id.as_str(), "error": error.to_string() }))
        .collect();
    Ok(Json(
        json!({ "actors": rows, "unreadable": unreadable, "truncated": truncated }),
    ))
}

#[derive(Deserialize)]
struct ActorParams {
    #[serde(rename = "type")]
    machine_type: String,
    id: String,
}

async fn actor(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<ActorParams>,
) -> ApiResult<Json<Value>> {
    let target = target(&shared, &params.machine_type)?;
    let id = actor_id(&params.id)?;
    let meta = target
        .store()
        .get(&id)
        .await
        .map_err(PersistError::from)?
        .ok_or_else(|| PersistError::NotFound(id.clone()))?;
    if meta.machine_type != target.machine_type() {
        return Err(PersistError::WrongMachineType {
            actor_id: id,
            stored: meta.machine_type,
            expected: target.machine_type().to_owned(),
        }
        .into());
    }
    let outbox = target
        .store()
        .actions(&id)
        .await
        .map_err(PersistError::from)?;
    let live = target.live(id).await?;
    Ok(Json(json!({
        "actor": Row::from(&meta),
        "live": live,
        "effects": crate::store::effects_json(&outbox),
        "rewind": shared.allow_rewind,
        "states": target.states(),
    })))
}

#[derive(Deserialize)]
struct StepParams {
    #[serde(rename = "type")]
    machine_type: String,
    id: String,
    version: u64,
}

async fn step(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<StepParams>,
) -> ApiResult<Json<Value>> {
    let target = target(&shared, &params.machine_type)?;
    let view = target.step(actor_id(&params.id)?, params.version).await?;
    Ok(Json(json!(view)))
}

#[derive(Deserialize)]
struct TimelineParams {
    #[serde(rename = "type")]
    machine_type: String,
    id: String,
    #[serde(default)]
    from: Option<u64>,
    #[serde(default)]
    to: Option<u64>,
}

async fn timeline(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<TimelineParams>,
) -> ApiResult<Json<Value>> {
    let target = target(&shared, &params.machine_type)?;
    let id = actor_id(&params.id)?;
    let from = params.from.unwrap_or(1).max(1);
    let to = params
        .to
        .unwrap_or(u64::MAX)
        .min(from.saturating_add(MAX_TIMELINE - 1));
    let events = target
        .store()
        .read(&id, from, to, MAX_TIMELINE as usize)
        .await
        .map_err(PersistError::from)?;
    let entries: Vec<Value> = events
        .iter()
        .map(|event| {
            json!({ "version": event.version, "tag": event.tag, "recorded_at": event.recorded_at })
        })
        .collect();
    Ok(Json(json!({ "events": entries })))
}

#[derive(Deserialize)]
struct TypeParams {
    #[serde(rename = "type")]
    machine_type: String,
}

async fn chart(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<TypeParams>,
) -> ApiResult<Json<Value>> {
    let target = target(&shared, &params.machine_type)?;
    Ok(Json(
        json!({ "svg": target.chart(), "mermaid": target.mermaid() }),
    ))
}

/// A divergence as the page shows it.
fn divergence(divergence: &Divergence) -> Value {
    let (kind, stored, replayed) = match divergence {
        Divergence::Snapshot {
            stored, replayed, ..
        } => ("snapshot", Some(stored.clone()), Some(replayed.clone())),
        Divergence::StateTag {
            registry, state, ..
        } => ("state_tag", Some(json!(registry)), Some(state.clone())),
        Divergence::Head { registry, journal } => {
            ("head", Some(json!(registry)), Some(json!(journal)))
        }
        Divergence::SnapshotAhead { journal, .. } => ("snapshot_ahead", None, Some(json!(journal))),
        Divergence::Replay { state, .. } => ("replay", None, Some(state.clone())),
        Divergence::UnreadableSnapshot { .. } => ("unreadable_snapshot", None, None),
    };
    json!({
        "version": divergence.version(),
        "kind": kind,
        "message": divergence.to_string(),
        "stored": stored,
        "replayed": replayed,
    })
}

fn verification(verification: &Verification) -> Value {
    json!({
        "consistent": verification.is_consistent(),
        "head": verification.head,
        "replayed_from": verification.replayed_from,
        "replayed_to": verification.replayed_to,
        "snapshots_compared": verification.snapshots_compared,
        "summary": verification.to_string(),
        "divergences": verification.divergences.iter().map(divergence).collect::<Vec<_>>(),
    })
}

async fn verify(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<ActorParams>,
) -> ApiResult<Json<Value>> {
    let target = target(&shared, &params.machine_type)?;
    let report = target.verify(actor_id(&params.id)?).await?;
    Ok(Json(verification(&report)))
}

#[derive(Deserialize)]
struct RewindParams {
    #[serde(rename = "type")]
    machine_type: String,
    id: String,
    #[serde(default)]
    version: Option<u64>,
}

async fn rewind_or_resume(
    shared: &Shared,
    params: RewindParams,
    resume: bool,
) -> ApiResult<Json<Value>> {
    if !shared.allow_rewind {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "rewinding is not enabled for this inspector (Inspector::allow_rewind)".into(),
        ));
    }
    let target = target(shared, &params.machine_type)?;
    let version = match (resume, params.version) {
        (true, _) => None,
        (false, Some(version)) => Some(version),
        (false, None) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "rewind needs a version".into(),
            ));
        }
    };
    match target.rewind(actor_id(&params.id)?, version).await? {
        Some(live) => Ok(Json(json!({ "live": live }))),
        None => Err(ApiError(
            StatusCode::CONFLICT,
            format!("actor `{}` is not running in this process", params.id),
        )),
    }
}

async fn rewind(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<RewindParams>,
) -> ApiResult<Json<Value>> {
    rewind_or_resume(&shared, params, false).await
}

async fn resume(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<RewindParams>,
) -> ApiResult<Json<Value>> {
    rewind_or_resume(&shared, params, true).await
}

#[derive(Deserialize)]
struct LiveParams {
    #[serde(rename = "type", default)]
    machine_type: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

async fn live_events(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<LiveParams>,
) -> ApiResult<Response> {
    let targets: Vec<Arc<dyn Target>> = match given(&params.machine_type) {
        Some(machine_type) => vec![Arc::clone(target(&shared, machine_type)?)],
        None => shared.targets.clone(),
    };
    let actor = given(&params.id).map(actor_id).transpose()?;
    let stream = live::stream(Arc::clone(&shared), targets, actor);
    Ok(([(header::CACHE_CONTROL, "no-store")], stream).into_response())
}
