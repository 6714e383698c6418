//! `machine-inspect` as a script would run it: every command on a SQLite file and on a Postgres
//! schema, `--json` output parsed back, the exported fixture replayed through the test kit, and
//! clear failures for bad input.
//!
//! The Postgres half uses `MACHINE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) in a fresh schema; it skips without a server,
//! except under `CI=true`.

#![cfg(feature = "inspect-cli")]

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use machine::core::{ActorId, IdempotencyKey, SerializedCause};
use machine::persist::fixture::Fixture;
use machine::persist::store::{FailedEffect, Store};
use machine::persist::{PostgresOptions, PostgresStore};
use machine::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Event)]
enum LampEvent {
    Switch { by: String },
    Smash,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
#[machine(event = LampEvent)]
enum Lamp {
    #[initial]
    #[on(Switch => On, Smash => Broken)]
    Off { switches: u32 },
    #[on(Switch => Off, Smash => Broken)]
    On { switches: u32, by: String },
    #[terminal]
    Broken,
}

impl LampTransitions for Lamp {
    fn off_switch(
        switches: &u32,
        switch: LampEventSwitch<'_>,
    ) -> Result<LampOffOnSwitch, Infallible> {
        Ok(LampOffOnSwitch::On {
            switches: switches + 1,
            by: switch.by.clone(),
        })
    }

    fn off_smash(_: &u32, _: LampEventSmash<'_>) -> Result<LampOffOnSmash, Infallible> {
        Ok(LampOffOnSmash::Broken)
    }

    fn on_switch(
        switches: &u32,
        _: &String,
        _: LampEventSwitch<'_>,
    ) -> Result<LampOnOnSwitch, Infallible> {
        Ok(LampOnOnSwitch::Off {
            switches: switches + 1,
        })
    }

    fn on_smash(_: &u32, _: &String, _: LampEventSmash<'_>) -> Result<LampOnOnSmash, Infallible> {
        Ok(LampOnOnSmash::Broken)
    }
}

fn switch(by: &str) -> LampEvent {
    LampEvent::Switch { by: by.to_owned() }
}

/// Runs `machine-inspect` with `args`.
fn inspect(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_machine-inspect"))
        .args(args)
        .env_remove("MACHINE_STORE")
        .output()
        .expect("machine-inspect runs")
}

/// Runs it with `--json` and parses what it printed.
fn inspect_json(store: &[&str], args: &[&str]) -> Value {
    let mut all: Vec<&str> = store.to_vec();
    all.extend_from_slice(args);
    all.push("--json");
    let output = inspect(&all);
    assert!(
        output.status.success(),
        "machine-inspect {all:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn failure(args: &[&str]) -> String {
    let output = inspect(args);
    assert_eq!(output.status.code(), Some(1), "{args:?} should fail");
    String::from_utf8(output.stderr).unwrap()
}

/// Writes two lamps to `store`: `lamp-1` switched three times, `lamp-2` broken.
async fn write_lamps<S: Store>(store: S) -> Lamp {
    let system = PersistentSystem::new(store);
    let lamps = system.repository(PersistConfig::<Lamp>::new(), ());
    let lamp = lamps
        .spawn("lamp-1", Lamp::Off { switches: 0 })
        .await
        .unwrap();
    for event in [switch("ada"), switch("bob"), switch("<b>cy</b>")] {
        assert!(lamp.call(event).await.unwrap().is_accepted());
    }
    let head = lamp.state().await.unwrap();
    let broken = lamps
        .spawn("lamp-2", Lamp::Off { switches: 0 })
        .await
        .unwrap();
    assert!(broken.call(LampEvent::Smash).await.unwrap().is_accepted());
    system.shutdown().await;
    head
}

/// Appends one more switch to `lamp-1`.
async fn switch_once<S: Store>(store: S, by: &str) {
    let system = PersistentSystem::new(store);
    let lamps = system.repository(PersistConfig::<Lamp>::new(), ());
    let lamp = lamps.restore("lamp-1").await.unwrap().unwrap();
    assert!(lamp.call(switch(by)).await.unwrap().is_accepted());
    system.shutdown().await;
}

/// Every command against one store, given as the command line names it.
async fn every_command<S: Store>(store: S, args: &[&str]) {
    let head = write_lamps(store.clone()).await;

    // list, with filters.
    let listed = inspect_json(args, &["list"]);
    let ids: Vec<&str> = listed["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|actor| actor["actor_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["lamp-1", "lamp-2"]);
    let broken = inspect_json(args, &["list", "--state", "Broken"]);
    assert_eq!(broken["actors"][0]["actor_id"], "lamp-2");
    assert_eq!(broken["actors"].as_array().unwrap().len(), 1);
    let none = inspect_json(args, &["list", "--type", "Kettle"]);
    assert_eq!(none["actors"], json!([]));
    let paged = inspect_json(args, &["list", "--after", "lamp-1", "--limit", "5"]);
    assert_eq!(paged["actors"][0]["actor_id"], "lamp-2");
    let table = inspect(&[args, &["list"]].concat());
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("ACTOR "), "{table}");
    assert!(table.contains("lamp-1  Lamp"), "{table}");

    // show: the registry row and the latest snapshot's state.
    let shown = inspect_json(args, &["show", "lamp-1"]);
    assert_eq!(shown["actor"]["version"], 3);
    assert_eq!(shown["actor"]["state_tag"], "On");
    assert_eq!(shown["actor"]["machine_type"], "Lamp");
    assert_eq!(
        shown["snapshot"]["state"],
        serde_json::to_value(&head).unwrap()
    );

    // history: events, snapshots and failed effects as JSON, and a range of it.
    let notify = FailedEffect {
        key: IdempotencyKey::new(ActorId::from("lamp-1"), 2, "notify"),
        machine_type: "Lamp".into(),
        cause: SerializedCause::of(&std::io::Error::other("bulb gone")).with_type_name("Bulb"),
    };
    assert!(store.record_failure(&notify).await.unwrap());
    let history = inspect_json(args, &["history", "lamp-1"]);
    assert_eq!(history["effects"].as_array().unwrap().len(), 1);
    assert_eq!(history["effects"][0]["name"], "notify");
    assert_eq!(history["effects"][0]["version"], 2);
    assert_eq!(history["effects"][0]["status"], "failed");
    assert_eq!(history["effects"][0]["cause"]["type_name"], "Bulb");
    assert_eq!(
        history["effects"][0]["cause"]["chain"],
        json!(["bulb gone"])
    );
    let table =
        String::from_utf8(inspect(&[args, &["history", "lamp-1"]].concat()).stdout).unwrap();
    assert!(
        table.contains("notify") && table.contains("bulb gone"),
        "{table}"
    );
    let before = inspect_json(args, &["history", "lamp-1", "--to", "1"]);
    assert_eq!(before["effects"], json!([]));
    let tags: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["Switch", "Switch", "Switch"]);
    assert_eq!(
        history["events"][2]["payload"],
        json!({"Switch": {"by": "<b>cy</b>"}})
    );
    let versions: Vec<u64> = history["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|snapshot| snapshot["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [0, 3]);
    let middle = inspect_json(args, &["history", "lamp-1", "--from", "2", "--to", "2"]);
    assert_eq!(middle["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        middle["events"][0]["payload"],
        json!({"Switch": {"by": "bob"}})
    );
    assert_eq!(middle["snapshots"], json!([]));

    // export: a fixture the test kit replays to the stored state.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lamp-1.json");
    let file_arg = file.to_str().unwrap();
    let exported = inspect(&[args, &["export", "lamp-1", "--output", file_arg]].concat());
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let run = Fixture::load(&file).unwrap().replay::<Lamp>().unwrap();
    assert_eq!(*run.state(), head);
    assert_eq!(run.version(), 3);

    // tail: follows the journal live, as JSON lines.
    let mut tail = Command::new(env!("CARGO_BIN_EXE_machine-inspect"))
        .args(
            [
                args,
                &["tail", "--json", "--count", "1", "--interval-ms", "50"],
            ]
            .concat(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The tail reports what is committed after it starts.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    switch_once(store.clone(), "dee").await;
    let stdout = tail.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(30), line)
        .await
        .expect("tail printed the new event")
        .unwrap()
        .unwrap();
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["actor_id"], "lamp-1");
    assert_eq!(event["version"], 4);
    assert_eq!(event["payload"], json!({"Switch": {"by": "dee"}}));
    assert!(tail.wait().unwrap().success());
    // From the start: every stored event, one JSON object per line, in journal order.
    let everything = inspect(&[args, &["tail", "--from-start", "--count", "5", "--json"]].concat());
    assert!(everything.status.success());
    let events: Vec<Value> = String::from_utf8(everything.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let seen: Vec<(&str, u64)> = events
        .iter()
        .map(|event| {
            (
                event["actor_id"].as_str().unwrap(),
                event["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("lamp-1", 1),
            ("lamp-1", 2),
            ("lamp-1", 3),
            ("lamp-2", 1),
            ("lamp-1", 4)
        ]
    );

    // Failures say what is wrong.
    let unknown = failure(&[args, &["show", "lamp-9"]].concat());
    assert!(
        unknown.contains("nothing is stored for actor `lamp-9`"),
        "{unknown}"
    );
    let unknown = failure(&[args, &["export", "lamp-9"]].concat());
    assert!(unknown.contains("lamp-9"), "{unknown}");
}

#[tokio::test]
async fn every_command_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lamps.db");
    let store = SqliteStore::open(&path).await.unwrap();
    every_command(store.clone(), &["--store", path.to_str().unwrap()]).await;
    store.close().await;
}

#[tokio::test]
async fn every_command_on_postgres() {
    let url = std::env::var("MACHINE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("mi_test_{:016x}", fastrand_u64());
    let options = PostgresOptions::url(&url).unwrap().schema(&schema).unwrap();
    let store = match PostgresStore::with_options(options).await {
        Ok(store) => store,
        Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
            println!("skipped: Postgres at {url} is unreachable: {error}");
            return;
        }
        Err(error) => panic!("Postgres at {url} is unreachable: {error}"),
    };
    every_command(store.clone(), &["--store", &url, "--schema", &schema]).await;
    store.drop_schema().await.unwrap();
    store.close().await;
    // A mistyped schema is an error, and is not created.
    let typo = failure(&["--store", &url, "--schema", &schema, "list"]);
    assert!(typo.contains("no such schema"), "{typo}");
    let options = PostgresOptions::url(&url)
        .unwrap()
        .schema(&schema)
        .unwrap()
        .create_schema(false);
    assert!(PostgresStore::with_options(options).await.is_err());
}

/// A random schema suffix without another dependency.
fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos()),
    );
    hasher.finish()
}

#[test]
fn bad_input_fails_with_a_clear_message() {
    let missing = failure(&["--store", "/nonexistent/lamps.db", "list"]);
    assert!(
        missing.contains("no such SQLite file: /nonexistent/lamps.db"),
        "{missing}"
    );
    let refused = failure(&["--store", "postgres://nobody@127.0.0.1:1/none", "list"]);
    assert!(
        refused.contains("cannot open store postgres://nobody@127.0.0.1:1/none"),
        "{refused}"
    );
    let garbage = failure(&["--store", "postgres://:::/", "list"]);
    assert!(garbage.contains("cannot open store"), "{garbage}");
    let no_store = failure(&["list"]);
    assert!(no_store.contains("no store given"), "{no_store}");
    let usage = inspect(&["--store", "x.db", "history"]);
    assert_eq!(
        usage.status.code(),
        Some(2),
        "a missing argument is a usage error"
    );
}
