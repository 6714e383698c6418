//! The commands, on any store.

use std::path::PathBuf;
use std::time::Duration;

use machine::core::ActorId;
use machine::persist::chrono::{DateTime, SecondsFormat, Utc};
use machine::persist::codec::payload_to_json;
use machine::persist::fixture::Fixture;
use machine::persist::serde_json::{self, json, Value};
use machine::persist::store::{
    effects_json, ActorMetadata, CatalogQuery, Store, StoreError, StoredEvent, StoredSnapshot,
    StreamFilter,
};
use machine::persist::tail::JournalTail;
use machine::persist::PersistError;

use crate::cli::{Cli, Command, ListArgs};
use crate::open::{open, AnyStore};
use crate::table::Table;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// No `--store` and no `MACHINE_STORE`.
    #[error("no store given: pass --store PATH_OR_URL or set MACHINE_STORE")]
    NoStore,
    /// The SQLite file does not exist.
    #[error("no such SQLite file: {}", .0.display())]
    NoSuchFile(PathBuf),
    /// The store could not be opened.
    #[error("cannot open store {store}: {source}")]
    Open {
        /// What was given.
        store: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// A store operation failed (an unknown actor, a bad row, a lost connection).
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// The output could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A value could not be printed as JSON.
    #[error("cannot print JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The fixture could not be written.
    #[error(transparent)]
    Fixture(#[from] machine::persist::fixture::FixtureError),
}

/// Runs the command line's command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let store = cli.store.as_deref().ok_or(CliError::NoStore)?;
    let store = open(store, &cli.schema).await?;
    let result = match &store {
        AnyStore::Sqlite(store) => execute(store, &cli).await,
        AnyStore::Postgres(store) => execute(store, &cli).await,
    };
    store.close().await;
    result
}

async fn execute<S: Store>(store: &S, cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::List(args) => list(store, args, cli.json).await,
        Command::Show { id } => show(store, &actor(id)?, cli.json).await,
        Command::History { id, from, to } => {
            history(store, &actor(id)?, *from, *to, cli.json).await
        }
        Command::Tail {
            machine_type,
            from_start,
            interval_ms,
            count,
        } => {
            let mut filter = StreamFilter::all();
            if let Some(machine_type) = machine_type {
                filter = filter.machine_type(machine_type.clone());
            }
            let mut tail = JournalTail::new(store.clone(), filter);
            if *from_start {
                tail = tail.from_start();
            }
            let interval = Duration::from_millis((*interval_ms).max(10));
            follow(tail, interval, *count, cli.json).await
        }
        Command::Export { id, output } => export(store, &actor(id)?, output.as_ref()).await,
    }
}

/// An id from the command line, checked against the storage rule.
fn actor(id: &str) -> Result<ActorId, CliError> {
    machine::persist::store::check_actor_id(id).map_err(PersistError::from)?;
    Ok(ActorId::from(id))
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn print_json(value: &Value) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A payload as JSON, or, when it cannot be read, an object saying why.
fn payload(codec: &str, bytes: &[u8]) -> Value {
    payload_to_json(codec, bytes)
        .unwrap_or_else(|problem| json!({ "unreadable": problem.to_string() }))
}

fn meta_json(meta: &ActorMetadata) -> Value {
    json!({
        "actor_id": meta.actor_id.as_str(),
        "machine_type": meta.machine_type,
        "version": meta.version,
        "state_tag": meta.state_tag,
        "entered_at": time(meta.entered_at),
        "created_at": time(meta.created_at),
        "last_activity": time(meta.last_activity),
    })
}

fn event_json(event: &StoredEvent) -> Value {
    json!({
        "actor_id": event.actor_id.as_str(),
        "version": event.version,
        "machine_type": event.machine_type,
        "tag": event.tag,
        "schema_version": event.schema_version,
        "codec": event.codec,
        "recorded_at": time(event.recorded_at),
        "position": event.position,
        "metadata": event.metadata,
        "payload": payload(&event.codec, &event.payload),
    })
}

fn snapshot_json(snapshot: &StoredSnapshot) -> Value {
    json!({
        "version": snapshot.version,
        "state_tag": snapshot.state_tag,
        "schema_version": snapshot.schema_version,
        "codec": snapshot.codec,
        "entered_at": time(snapshot.entered_at),
        "created_at": time(snapshot.created_at),
        "state": payload(&snapshot.codec, &snapshot.payload),
    })
}

async fn list<S: Store>(store: &S, args: &ListArgs, json: bool) -> Result<(), CliError> {
    let mut query = CatalogQuery::new().limit(args.limit);
    if let Some(machine_type) = &args.machine_type {
        query = query.machine_type(machine_type);
    }
    if !args.state.is_empty() {
        query = query.state_in(args.state.iter().cloned());
    }
    if !args.not_state.is_empty() {
        query = query.state_not_in(args.not_state.iter().cloned());
    }
    if let Some(at) = args.active_after {
        query = query.updated_after(at);
    }
    if let Some(at) = args.active_before {
        query = query.updated_before(at);
    }
    if let Some(after) = &args.after {
        query = query.after(actor(after)?);
    }
    let rows = store.list(&query).await.map_err(PersistError::from)?;
    let (mut actors, mut unreadable) = (Vec::new(), Vec::new());
    for row in rows {
        match row {
            Ok(meta) => actors.push(meta),
            Err(error) => unreadable.push(error),
        }
    }
    if json {
        return print_json(&json!({
            "actors": actors.iter().map(meta_json).collect::<Vec<_>>(),
            "unreadable": unreadable.iter().map(|error| json!({
                "actor_id": error.actor_id().map(ActorId::as_str),
                "error": error.to_string(),
            })).collect::<Vec<_>>(),
        }));
    }
    let mut table = Table::new(vec!["ACTOR", "TYPE", "VERSION", "STATE", "LAST ACTIVITY"]);
    for meta in &actors {
        table.row(vec![
            meta.actor_id.to_string(),
            meta.machine_type.clone(),
            meta.version.to_string(),
            meta.state_tag.clone(),
            time(meta.last_activity),
        ]);
    }
    print!("{}", table.render());
    for error in &unreadable {
        eprintln!("unreadable row: {error}");
    }
    Ok(())
}

async fn metadata<S: Store>(store: &S, id: &ActorId) -> Result<ActorMetadata, CliError> {
    store
        .get(id)
        .await
        .map_err(PersistError::from)?
        .ok_or_else(|| PersistError::NotFound(id.clone()).into())
}

async fn show<S: Store>(store: &S, id: &ActorId, json: bool) -> Result<(), CliError> {
    let meta = metadata(store, id).await?;
    let snapshot = store
        .load_latest(id, None)
        .await
        .map_err(PersistError::from)?;
    if json {
        return print_json(&json!({
            "actor": meta_json(&meta),
            "snapshot": snapshot.as_ref().map(snapshot_json),
        }));
    }
    let mut table = Table::new(vec!["FIELD", "VALUE"]);
    let rows = [
        ("actor", meta.actor_id.to_string()),
        ("machine type", meta.machine_type.clone()),
        ("version", meta.version.to_string()),
        ("state", meta.state_tag.clone()),
        ("entered at", time(meta.entered_at)),
        ("created at", time(meta.created_at)),
        ("last activity", time(meta.last_activity)),
    ];
    for (field, value) in rows {
        table.row(vec![field.to_owned(), value]);
    }
    if let Some(snapshot) = &snapshot {
        table.row(vec![
            "snapshot".into(),
            format!("version {}", snapshot.version),
        ]);
        table.row(vec![
            "snapshot state".into(),
            payload(&snapshot.codec, &snapshot.payload).to_string(),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

async fn history<S: Store>(
    store: &S,
    id: &ActorId,
    from: Option<u64>,
    to: Option<u64>,
    json: bool,
) -> Result<(), CliError> {
    let meta = metadata(store, id).await?;
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(meta.version));
    let mut events = Vec::new();
    let mut next = from.max(1);
    while next <= to {
        let page = store
            .read(id, next, to, 1024)
            .await
            .map_err(PersistError::from)?;
        let Some(last) = page.last() else { break };
        next = last.version + 1;
        events.extend(page);
    }
    let mut snapshots = Vec::new();
    let mut at_most = Some(to);
    while let Some(snapshot) = store
        .load_latest(id, at_most)
        .await
        .map_err(PersistError::from)?
    {
        if snapshot.version < from {
            break;
        }
        at_most = snapshot.version.checked_sub(1);
        snapshots.push(snapshot);
        if at_most.is_none() {
            break;
        }
    }
    snapshots.reverse();
    // The durable actions and failed effects stored under the versions shown (a row that
    // cannot be read is shown as its error).
    let effects: Vec<_> = store
        .actions(id)
        .await
        .map_err(PersistError::from)?
        .into_iter()
        .filter(|row| {
            row.as_ref()
                .map_or(true, |action| (from..=to).contains(&action.key.version))
        })
        .collect();
    if json {
        return print_json(&json!({
            "actor": meta_json(&meta),
            "events": events.iter().map(event_json).collect::<Vec<_>>(),
            "snapshots": snapshots.iter().map(snapshot_json).collect::<Vec<_>>(),
            "effects": effects_json(&effects),
        }));
    }
    let mut table = Table::new(vec!["VERSION", "RECORDED AT", "EVENT", "PAYLOAD"]);
    for event in &events {
        table.row(vec![
            event.version.to_string(),
            time(event.recorded_at),
            event.tag.clone(),
            payload(&event.codec, &event.payload).to_string(),
        ]);
    }
    print!("{}", table.render());
    if !snapshots.is_empty() {
        let mut table = Table::new(vec!["SNAPSHOT", "CREATED AT", "STATE", "PAYLOAD"]);
        for snapshot in &snapshots {
            table.row(vec![
                snapshot.version.to_string(),
                time(snapshot.created_at),
                snapshot.state_tag.clone(),
                payload(&snapshot.codec, &snapshot.payload).to_string(),
            ]);
        }
        println!();
        print!("{}", table.render());
    }
    if !effects.is_empty() {
        let mut table = Table::new(vec![
            "EFFECT",
            "VERSION",
            "STATUS",
            "ATTEMPTS",
            "LAST CAUSE",
        ]);
        for row in &effects {
            table.row(match row {
                Ok(action) => vec![
                    action.key.action.to_string(),
                    action.key.version.to_string(),
                    action.status.as_str().to_owned(),
                    action.attempts.to_string(),
                    action
                        .last_cause
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ],
                Err(error) => vec![
                    "(unreadable)".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    error.to_string(),
                ],
            });
        }
        println!();
        print!("{}", table.render());
    }
    Ok(())
}

async fn follow(
    mut tail: JournalTail,
    interval: Duration,
    count: Option<usize>,
    json: bool,
) -> Result<(), CliError> {
    let mut printed = 0;
    loop {
        for event in tail.follow(interval).await? {
            if json {
                println!("{}", serde_json::to_string(&event_json(&event))?);
            } else {
                println!(
                    "{}  {}  v{}  {}  {}",
                    time(event.recorded_at),
                    event.actor_id,
                    event.version,
                    event.tag,
                    payload(&event.codec, &event.payload)
                );
            }
            printed += 1;
            if count.is_some_and(|count| printed >= count) {
                return Ok(());
            }
        }
    }
}

async fn export<S: Store>(
    store: &S,
    id: &ActorId,
    output: Option<&PathBuf>,
) -> Result<(), CliError> {
    let fixture = Fixture::export(store, id).await?;
    let text = fixture.to_json()?;
    match output {
        None => println!("{text}"),
        Some(path) => {
            std::fs::write(path, text + "\n").map_err(|source| CliError::Write {
                path: path.clone(),
                source,
            })?;
            eprintln!(
                "wrote {} ({} events of actor `{id}`)",
                path.display(),
                fixture.events.len()
            );
        }
    }
    Ok(())
}
