//! The inspector's HTTP surface without a browser: read-only unless enabled, the bearer token
//! and its cookie, rewinding a live actor when allowed, loopback only, escaping, nesting, an
//! actor's failed effects and durable actions with their causes.

#![cfg(feature = "inspector")]

mod ticket;

use std::net::SocketAddr;

use machine_core::{IdempotencyKey, SerializedCause};
use machine_persist::inspect::{InspectError, Inspector};
use machine_persist::store::{FailedEffect, Outbox};
use machine_persist::{MemoryStore, PersistConfig, PersistError, PersistentSystem, Repository};
use serde_json::Value;
use ticket::{Ticket, TicketEvent, HOSTILE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: status, headers (lower-case names), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

/// One HTTP/1.1 request on a fresh connection.
async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    let mut has_host = false;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("host") {
            has_host = true;
        }
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if has_host {
        text = text.replacen("Host: 127.0.0.1\r\n", "", 1);
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(key, value)| (key.to_ascii_lowercase(), value.to_owned()))
        .collect::<Vec<_>>();
    let body = if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v == "chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[]).await
}

async fn tickets() -> (PersistentSystem, Repository<Ticket>) {
    let system = PersistentSystem::new(MemoryStore::new());
    let tickets = system.repository(PersistConfig::<Ticket>::new(), ());
    let ticket = tickets
        .spawn("t-1", Ticket::new("Lift stuck"))
        .await
        .unwrap();
    let comment = TicketEvent::Comment {
        text: HOSTILE.to_owned(),
    };
    assert!(ticket.call(comment).await.unwrap().is_accepted());
    let assign = TicketEvent::Assign { to: "ada".into() };
    assert!(ticket.call(assign).await.unwrap().is_accepted());
    (system, tickets)
}

const LOCAL: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

#[tokio::test]
async fn read_only_by_default_with_a_strict_policy() {
    let (system, tickets) = tickets().await;
    let server = Inspector::new()
        .register(&tickets)
        .serve(SocketAddr::from(LOCAL))
        .await
        .unwrap();
    let addr = server.local_addr();

    let page = get(addr, "/actor?type=Ticket&id=t-1").await;
    assert_eq!(page.status, 200);
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"));
    assert!(page.body.contains(r#"<base href="/">"#));
    assert!(
        !page.body.contains("Lift stuck"),
        "pages hold no store data"
    );

    // Store values travel as JSON strings, never as markup.
    let step = get(addr, "/api/step?type=Ticket&id=t-1&version=1").await;
    assert_eq!(step.header("content-type"), Some("application/json"));
    assert_eq!(step.json()["event"]["payload"]["Comment"]["text"], HOSTILE);
    assert_eq!(step.json()["diff"][0]["path"], "Open.comments");

    let action = [("x-machine-inspector", "1")];
    let refused = request(
        addr,
        "POST",
        "/api/rewind?type=Ticket&id=t-1&version=1",
        &action,
    )
    .await;
    assert_eq!(refused.status, 403);
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("not enabled"));
    assert_eq!(
        tickets.get("t-1").unwrap().status().await.unwrap().version,
        2
    );

    let unknown = get(addr, "/api/actor?type=Ticket&id=t-9").await;
    assert_eq!(unknown.status, 404);
    let unregistered = get(addr, "/api/actor?type=Boat&id=t-1").await;
    assert_eq!(unregistered.status, 404);
    let beyond = get(addr, "/api/step?type=Ticket&id=t-1&version=9").await;
    assert_eq!(beyond.status, 400);

    // DNS rebinding: another name for 127.0.0.1 is refused.
    let rebound = request(addr, "GET", "/api/types", &[("Host", "evil.example:80")]).await;
    assert_eq!(rebound.status, 403);

    server.shutdown().await.unwrap();
    system.shutdown().await;
}

#[tokio::test]
async fn the_actor_api_lists_failed_effects_with_their_cause() {
    let store = MemoryStore::new();
    let system = PersistentSystem::new(store.clone());
    let tickets = system.repository(PersistConfig::<Ticket>::new(), ());
    let ticket = tickets
        .spawn("t-1", Ticket::new("Lift stuck"))
        .await
        .unwrap();
    let assign = TicketEvent::Assign { to: "ada".into() };
    assert!(ticket.call(assign).await.unwrap().is_accepted());
    let server = Inspector::new()
        .register(&tickets)
        .serve(SocketAddr::from(LOCAL))
        .await
        .unwrap();
    let addr = server.local_addr();
    let before = get(addr, "/api/actor?type=Ticket&id=t-1").await;
    assert_eq!(before.json()["effects"], serde_json::json!([]));

    let cause = SerializedCause {
        type_name: Some("NotifyError".to_owned()),
        message: "no notification".to_owned(),
        source: Some(Box::new(SerializedCause::new("smtp down"))),
        value: Some(serde_json::json!({ "code": 421 })),
    };
    let failure = FailedEffect {
        key: IdempotencyKey::new("t-1".into(), 1, "notify assignee"),
        machine_type: "Ticket".into(),
        cause,
    };
    assert!(store.record_failure(&failure).await.unwrap());
    let after = get(addr, "/api/actor?type=Ticket&id=t-1").await.json();
    assert_eq!(
        after["effects"],
        serde_json::json!([{
            "name": "notify assignee",
            "version": 1,
            "status": "failed",
            "attempts": 1,
            "updated_at": after["effects"][0]["updated_at"],
            "cause": {
                "type_name": "NotifyError",
                "message": "no notification",
                "chain": ["no notification", "smtp down"],
                "value": { "code": 421 },
            },
        }])
    );
    assert!(after["effects"][0]["updated_at"].is_string());
    server.shutdown().await.unwrap();
    system.shutdown().await;
}

#[tokio::test]
async fn rewinding_a_live_actor_when_the_app_allows_it() {
    let (system, tickets) = tickets().await;
    let server = Inspector::new()
        .register(&tickets)
        .allow_rewind(true)
        .serve(SocketAddr::from(LOCAL))
        .await
        .unwrap();
    let addr = server.local_addr();
    let path = "/api/rewind?type=Ticket&id=t-1&version=1";

    let forged = request(addr, "POST", path, &[]).await;
    assert_eq!(
        forged.status, 403,
        "a cross-site form cannot set the action header"
    );

    let action = [("x-machine-inspector", "1")];
    let rewound = request(addr, "POST", path, &action).await;
    assert_eq!(rewound.status, 200, "{}", rewound.body);
    assert_eq!(rewound.json()["live"]["rewound"], true);
    assert_eq!(rewound.json()["live"]["version"], 1);
    let ticket = tickets.get("t-1").unwrap();
    let refused = ticket.call(TicketEvent::Close).await.unwrap_err();
    assert!(matches!(
        refused,
        PersistError::Rewound { at: 1, head: 2, .. }
    ));

    let resumed = request(addr, "POST", "/api/resume?type=Ticket&id=t-1", &action).await;
    assert_eq!(resumed.json()["live"]["rewound"], false);
    assert!(ticket.call(TicketEvent::Close).await.unwrap().is_accepted());

    server.shutdown().await.unwrap();
    system.shutdown().await;
}

#[tokio::test]
async fn a_token_guards_everything_and_a_browser_trades_it_for_a_cookie() {
    let (system, tickets) = tickets().await;
    let server = Inspector::new()
        .register(&tickets)
        .bearer_token("s3cret")
        .serve(SocketAddr::from(LOCAL))
        .await
        .unwrap();
    let addr = server.local_addr();

    assert_eq!(get(addr, "/api/types").await.status, 401);
    assert_eq!(get(addr, "/assets/app.js").await.status, 401);
    let wrong = request(
        addr,
        "GET",
        "/api/types",
        &[("Authorization", "Bearer s3creT")],
    )
    .await;
    assert_eq!(wrong.status, 401);
    let right = request(
        addr,
        "GET",
        "/api/types",
        &[("Authorization", "Bearer s3cret")],
    )
    .await;
    assert_eq!(right.status, 200);
    assert_eq!(right.json()["types"][0]["name"], "Ticket");

    let opened = get(addr, "/actor?type=Ticket&id=t-1&token=s3cret").await;
    assert_eq!(opened.status, 303);
    assert_eq!(
        opened.header("location"),
        Some("./actor?type=Ticket&id=t-1")
    );
    let cookie = opened.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap();
    let with_cookie = request(
        addr,
        "GET",
        "/api/actor?type=Ticket&id=t-1",
        &[("Cookie", pair)],
    )
    .await;
    assert_eq!(with_cookie.status, 200);
    assert_eq!(get(addr, "/?token=nope").await.status, 401);

    server.shutdown().await.unwrap();
    system.shutdown().await;
}

#[tokio::test]
async fn only_loopback_unless_told_otherwise() {
    let refused = Inspector::new().serve("0.0.0.0:0").await.unwrap_err();
    assert!(matches!(refused, InspectError::NotLoopback(_)), "{refused}");
    let allowed = Inspector::new()
        .allow_remote(true)
        .bearer_token("t")
        .serve("0.0.0.0:0")
        .await
        .unwrap();
    allowed.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_router_nests_under_a_prefix() {
    let (system, tickets) = tickets().await;
    let app = axum::Router::new().nest("/inspect", Inspector::new().register(&tickets).router());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(LOCAL))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let page = get(addr, "/inspect/actor?type=Ticket&id=t-1").await;
    assert!(
        page.body.contains(r#"<base href="/inspect/">"#),
        "{}",
        page.body
    );
    // The header links to the list at the mount path itself, which the nested router serves.
    assert!(
        page.body
            .contains(r#"<a href="/inspect">machine inspector</a>"#),
        "{}",
        page.body
    );
    let list = get(addr, "/inspect").await;
    assert!(
        list.body.contains(r#"<base href="/inspect/">"#),
        "{}",
        list.body
    );
    let actors = get(addr, "/inspect/api/actors?q=t-").await;
    assert_eq!(actors.json()["actors"][0]["actor_id"], "t-1");
    assert_eq!(actors.json()["actors"][0]["state_tag"], "Assigned");
    let filtered = get(addr, "/inspect/api/actors?state=Open").await;
    assert_eq!(filtered.json()["actors"], serde_json::json!([]));

    server.abort();
    system.shutdown().await;
}
