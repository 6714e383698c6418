//! The inspector in a real browser: headless Chromium driven through chromedriver.
//!
//! It opens the actor list, searches it, opens an actor, moves the version slider with the
//! keyboard and checks that the shown state, the diff and the highlighted statechart node and
//! arrow follow; that the actor's failed effects show with their cause chain; that an event
//! payload (or a failure's message) holding markup shows as text and never runs; that a new
//! event appears without a reload; and that the page loads nothing but its own origin, with
//! every other host unresolvable. Screenshots land in the target directory (`target/tmp`);
//! with `MACHINE_UPDATE_SCREENSHOT=1` the actor page's also replaces the README's.
//!
//! Needs `chromedriver` and Chromium (Debian: `chromium`, `chromium-driver`; `.ci/run` installs
//! them). Without them the test prints a skip line and passes, except under `CI=true`, where it
//! fails.

#![cfg(feature = "inspector")]

mod ticket;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use machine_core::{IdempotencyKey, SerializedCause};
use machine_persist::inspect::Inspector;
use machine_persist::store::{FailedEffect, Outbox};
use machine_persist::{PersistConfig, PersistentSystem, SqliteStore};
use serde_json::{json, Value};
use ticket::{Ticket, TicketEvent, HOSTILE};

/// How long any one thing may take to show up in the page.
const PATIENCE: Duration = Duration::from_secs(20);

/// A chromedriver process, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(program: &str, env: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts chromedriver, or says why the test cannot run (a failure under `CI=true`).
fn start_driver() -> Option<Driver> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let Some(chromedriver) = find("chromedriver", "CHROMEDRIVER") else {
        assert!(
            !ci,
            "chromedriver is not installed, and CI=true requires the browser test"
        );
        println!(
            "skipped: chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = free_port();
    let profile = tempfile::tempdir().unwrap();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(driver)
}

async fn browser(driver: &Driver) -> Client {
    let args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--window-size=1400,1300".to_owned(),
        // No network: every host but loopback fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_owned(),
        format!("--user-data-dir={}", driver._profile.path().display()),
    ];
    let mut options = json!({ "args": args });
    if let Some(binary) = find("chromium", "CHROMIUM") {
        options["binary"] = json!(binary);
    }
    let capabilities = json!({ "browserName": "chrome", "goog:chromeOptions": options });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal")
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromedriver session")
}

/// Evaluates `expression` in the page.
async fn eval(client: &Client, expression: &str) -> Value {
    client
        .execute(&format!("return ({expression});"), Vec::new())
        .await
        .unwrap()
}

/// Waits until `expression` is true in the page.
async fn wait_for(client: &Client, expression: &str) {
    let started = Instant::now();
    loop {
        if eval(client, expression).await == Value::Bool(true) {
            return;
        }
        if started.elapsed() > PATIENCE {
            let body = eval(client, "document.body.innerText").await;
            panic!("timed out waiting for `{expression}`; the page shows:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text(client: &Client, selector: &str) -> String {
    client
        .find(Locator::Css(selector))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.unwrap();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
    path
}

/// The statechart's highlighted state and arrow, as `[state, "from event to"]`.
const HIGHLIGHT: &str = "[document.querySelector('#chart .node.current')?.dataset.state ?? null, \
     (e => e ? `${e.dataset.from} ${e.dataset.event} ${e.dataset.to}` : null)(document.querySelector('#chart .edge.taken'))]";

/// The rows of the effects table: name, version, status, attempts, the cause's type name and
/// the messages of its chain.
const EFFECTS: &str = "[...document.querySelectorAll('#effects tbody tr')].map(r => [\
     ...[...r.querySelectorAll('td')].slice(0, 4).map(c => c.textContent), \
     r.querySelector('td.cause .tag')?.textContent ?? null, \
     [...r.querySelectorAll('td.cause li')].map(li => li.textContent)])";

/// The paths of the diff's rows.
const DIFF: &str = "[...document.querySelectorAll('#diff tbody tr')].map(r => r.dataset.path)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_travel_page_in_a_real_browser() {
    let Some(driver) = start_driver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("tickets.db"))
        .await
        .unwrap();
    let system = PersistentSystem::new(store.clone());
    let tickets = system.repository(PersistConfig::<Ticket>::new(), ());
    let first = tickets
        .spawn("ticket-1", Ticket::new("Printer on fire"))
        .await
        .unwrap();
    for event in [
        TicketEvent::Comment {
            text: HOSTILE.to_owned(),
        },
        TicketEvent::Assign {
            to: "ada".to_owned(),
        },
        TicketEvent::Close,
    ] {
        assert!(first.call(event).await.unwrap().is_accepted());
    }
    let second = tickets
        .spawn("ticket-2", Ticket::new("Coffee machine"))
        .await
        .unwrap();
    let comment = TicketEvent::Comment {
        text: "descaled".to_owned(),
    };
    assert!(second.call(comment.clone()).await.unwrap().is_accepted());
    // What a failed plain effect of ticket-1's assignment left behind, its message hostile too.
    let failure = FailedEffect {
        key: IdempotencyKey::new("ticket-1".into(), 2, "notify assignee"),
        machine_type: "Ticket".into(),
        cause: SerializedCause {
            type_name: Some("NotifyError".to_owned()),
            message: HOSTILE.to_owned(),
            source: Some(Box::new(SerializedCause::new("smtp down"))),
            value: None,
        },
    };
    assert!(store.record_failure(&failure).await.unwrap());

    let server = Inspector::new()
        .register(&tickets)
        .poll_interval(Duration::from_millis(100))
        .serve(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let client = browser(&driver).await;

    // The list, then a search that narrows it.
    client.goto(&server.url()).await.unwrap();
    wait_for(
        &client,
        "document.querySelectorAll('#actors tbody tr').length === 2",
    )
    .await;
    assert_eq!(
        text(&client, "#actors tbody tr:first-child .tag").await,
        "Closed"
    );
    client
        .find(Locator::Css("#search"))
        .await
        .unwrap()
        .send_keys("-2")
        .await
        .unwrap();
    wait_for(
        &client,
        "[...document.querySelectorAll('#actors tbody tr')].map(r => r.dataset.actor).join() === 'ticket-2'",
    )
    .await;
    wait_for(
        &client,
        "document.querySelector('#live-status').textContent === 'live'",
    )
    .await;
    screenshot(&client, "inspector-list.png").await;

    // Open ticket-1: it shows its head, version 3.
    client.goto(&server.url()).await.unwrap();
    wait_for(&client, "!!document.querySelector('a.actor-link')").await;
    client
        .find(Locator::Css("#actors tbody tr:first-child a.actor-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&client, "document.body.dataset.version === '3'").await;
    assert_eq!(text(&client, "#state-tag").await, "Closed");

    // Its failed effect, with its version, status, attempts and cause chain, as text.
    assert_eq!(
        eval(&client, EFFECTS).await,
        json!([[
            "notify assignee",
            "v2",
            "failed",
            "1",
            "NotifyError",
            [HOSTILE, "smtp down"]
        ]])
    );
    assert!(eval(&client, "document.querySelector('#effects-empty').hidden").await == json!(true));
    assert_eq!(
        eval(&client, HIGHLIGHT).await,
        json!(["Closed", "Assigned Close Closed"])
    );

    // Two steps back with the keyboard on the slider: version 1, the hostile comment.
    let slider = client.find(Locator::Css("#slider")).await.unwrap();
    slider.send_keys("\u{e012}\u{e012}").await.unwrap(); // ← ←
    wait_for(&client, "document.body.dataset.version === '1'").await;
    assert_eq!(text(&client, "#version-label").await, "v1 / 3");
    assert_eq!(text(&client, "#state-tag").await, "Open");
    let state: Value = serde_json::from_str(&text(&client, "#state").await).unwrap();
    assert_eq!(
        state,
        json!({"Open": {"title": "Printer on fire", "comments": 1, "last": HOSTILE}})
    );
    assert_eq!(
        eval(&client, DIFF).await,
        json!(["Open.comments", "Open.last"])
    );
    assert_eq!(
        eval(&client, HIGHLIGHT).await,
        json!(["Open", "Open Comment Open"])
    );

    // The markup is text: shown verbatim, never parsed, never run.
    let payload: Value = serde_json::from_str(&text(&client, "#event-payload").await).unwrap();
    assert_eq!(payload, json!({"Comment": {"text": HOSTILE}}));
    assert_eq!(
        eval(
            &client,
            "document.querySelectorAll('main script, main img').length"
        )
        .await,
        json!(0)
    );
    assert_eq!(eval(&client, "window.__pwned ?? null").await, Value::Null);

    // One step forward with the ▶ button: version 2, a new state.
    client
        .find(Locator::Css("#next"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&client, "document.body.dataset.version === '2'").await;
    assert_eq!(text(&client, "#state-tag").await, "Assigned");
    assert_eq!(eval(&client, DIFF).await, json!(["Assigned", "Open"]));
    assert_eq!(
        eval(&client, HIGHLIGHT).await,
        json!(["Assigned", "Open Assign Assigned"])
    );
    assert_eq!(
        eval(
            &client,
            "document.querySelector('#chart .node.previous')?.dataset.state"
        )
        .await,
        json!("Open")
    );
    let shot = screenshot(&client, "inspector-actor.png").await;
    if std::env::var("MACHINE_UPDATE_SCREENSHOT").as_deref() == Ok("1") {
        let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/inspector.png");
        std::fs::copy(&shot, readme).unwrap();
    }

    // The divergence check, from the page: this history is healthy.
    client
        .find(Locator::Css("#verify-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &client,
        "document.querySelector('#verify-result').classList.contains('ok')",
    )
    .await;

    // Live: ticket-2's page follows its head as new events are committed.
    let page = format!("{}actor?type=Ticket&id=ticket-2", server.url());
    client.goto(&page).await.unwrap();
    wait_for(&client, "document.body.dataset.version === '1'").await;
    wait_for(
        &client,
        "document.querySelector('#live-status').textContent === 'live'",
    )
    .await;
    assert!(second.call(comment).await.unwrap().is_accepted());
    wait_for(&client, "document.body.dataset.version === '2'").await;
    assert_eq!(text(&client, "#version-label").await, "v2 / 2");
    assert_eq!(eval(&client, DIFF).await, json!(["Open.comments"]));

    // Nothing came from anywhere but the inspector itself.
    let origin = server.url().trim_end_matches('/').to_owned();
    let foreign = eval(
        &client,
        &format!(
            "performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('{origin}'))"
        ),
    )
    .await;
    assert_eq!(foreign, json!([]));

    client.close().await.unwrap();
    server.shutdown().await.unwrap();
    system.shutdown().await;
    store.close().await;
}
