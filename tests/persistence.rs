//! End to end through the facade, as an application would: the example's order machine journaled
//! to a SQLite file, the process "restarted" (a new system on the same file), the actors
//! restored.

#![cfg(feature = "sqlite")]

#[path = "../examples/order/model.rs"]
mod model;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use machine::persist::{ActorFilter, PersistError, Repository};
use machine::prelude::*;
use model::{Order, OrderError, OrderEvent, OrderTag, Shop};

/// Long enough that no packing finishes during a test.
const PACKING: Duration = Duration::from_secs(24 * 3600);

struct App {
    system: PersistentSystem,
    orders: Repository<Order>,
    shop: Arc<Shop>,
}

/// What a service does at startup: open the database, get the typed repository.
async fn start(path: &Path) -> App {
    let store = SqliteStore::open(path).await.unwrap();
    let system = PersistentSystem::new(store);
    let shop = Arc::new(Shop::new(PACKING));
    let orders = system.repository(PersistConfig::<Order>::new(), Arc::clone(&shop));
    App {
        system,
        orders,
        shop,
    }
}

fn pay(amount: u64) -> OrderEvent {
    OrderEvent::Pay { amount }
}

#[tokio::test]
async fn a_restarted_system_restores_state_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("orders.db");

    let app = start(&db).await;
    let order = app.orders.spawn("o-1", Order::new("o-1")).await.unwrap();
    assert_eq!(
        order.call(pay(0)).await.unwrap(),
        Outcome::Rejected(OrderError::ZeroPayment)
    );
    let paid = order.call(pay(30)).await.unwrap().into_state().unwrap();
    let other = app.orders.spawn("o-2", Order::new("o-2")).await.unwrap();
    assert!(other.call(pay(5)).await.unwrap().is_accepted());
    let before = order.status().await.unwrap();
    assert_eq!((before.state.clone(), before.version), (paid.clone(), 1));
    app.system.shutdown().await;
    assert_eq!(app.shop.outbox().len(), 2, "one mail per payment");

    let app = start(&db).await;
    let order = app
        .orders
        .restore("o-1")
        .await
        .unwrap()
        .expect("o-1 is stored");
    let after = order.status().await.unwrap();
    assert_eq!((after.state, after.version), (before.state, before.version));
    // Restoring replays no effect: no mail is sent again.
    assert!(app.shop.outbox().is_empty());

    // The restored actor carries on from its version.
    let ship = OrderEvent::Ship {
        tracking: "t-1".into(),
    };
    let shipped = Order::Shipped {
        id: "o-1".into(),
        tracking: "t-1".into(),
    };
    assert_eq!(
        order.call(ship).await.unwrap(),
        Outcome::Next(shipped.clone())
    );
    assert_eq!(app.orders.state_at("o-1", 2).await.unwrap(), shipped);
    assert_eq!(app.orders.state_at("o-1", 1).await.unwrap(), paid);
    app.system.shutdown().await;
}

#[tokio::test]
async fn spawn_restores_an_existing_actor_instead_of_starting_over() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("orders.db");

    let app = start(&db).await;
    let order = app.orders.spawn("o-1", Order::new("o-1")).await.unwrap();
    assert!(order.call(pay(30)).await.unwrap().is_accepted());
    app.system.shutdown().await;

    let app = start(&db).await;
    let order = app.orders.spawn("o-1", Order::new("o-1")).await.unwrap();
    assert_eq!(
        order.state().await.unwrap(),
        Order::Paid {
            id: "o-1".into(),
            amount: 30
        }
    );
    assert_eq!(order.version().await.unwrap(), 1);
    app.system.shutdown().await;
}

#[tokio::test]
async fn restore_all_brings_back_the_open_orders() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("orders.db");

    let app = start(&db).await;
    for id in ["o-1", "o-2", "o-3"] {
        app.orders.spawn(id, Order::new(id)).await.unwrap();
    }
    let o2 = app.orders.get("o-2").unwrap();
    assert!(o2.call(pay(8)).await.unwrap().is_accepted());
    let o3 = app.orders.get("o-3").unwrap();
    let cancel = OrderEvent::Cancel {
        reason: "duplicate".into(),
    };
    assert!(o3.call(cancel).await.unwrap().is_accepted());
    app.system.shutdown().await;

    let app = start(&db).await;
    let open = ActorFilter::new().state_not_in([OrderTag::Shipped, OrderTag::Cancelled]);
    let listed = app.orders.list(open.clone()).await.unwrap().actors;
    let ids: Vec<&str> = listed.iter().map(|meta| meta.actor_id.as_str()).collect();
    assert_eq!(ids, ["o-1", "o-2"]);
    assert_eq!(listed[1].version, 1);
    assert_eq!(listed[1].state_tag, "Paid");

    let report = app.orders.restore_all(open).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let mut restored: Vec<String> = report
        .restored
        .iter()
        .map(|order| order.id().to_string())
        .collect();
    restored.sort();
    assert_eq!(restored, ["o-1", "o-2"]);
    assert!(app.orders.get("o-3").is_none());
    app.system.shutdown().await;
}

#[tokio::test]
async fn time_travel_shows_history_and_refuses_events_while_rewound() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&dir.path().join("orders.db")).await;
    let order = app.orders.spawn("o-1", Order::new("o-1")).await.unwrap();
    assert!(order.call(pay(30)).await.unwrap().is_accepted());
    let ship = OrderEvent::Ship {
        tracking: "t-1".into(),
    };
    // Rewind while the order is still `Paid`: `Shipped` is final and stops the actor.
    let history_before: Vec<_> = order.history(1..=1).try_collect().await.unwrap();
    assert_eq!(history_before.len(), 1);
    assert_eq!(history_before[0].event, pay(30));

    let rewound = order.replay_to(0).await.unwrap();
    assert_eq!(rewound, Order::new("o-1"));
    let refused = order.call(ship.clone()).await.unwrap_err();
    assert!(
        matches!(refused, PersistError::Rewound { at: 0, head: 1, .. }),
        "{refused}"
    );
    order.resume().await.unwrap();
    assert_eq!(order.version().await.unwrap(), 1);

    assert!(order.call(ship).await.unwrap().is_accepted());
    let history: Vec<_> = app
        .orders
        .history("o-1", 1..=2)
        .try_collect()
        .await
        .unwrap();
    let steps: Vec<(u64, OrderEvent, Order)> = history
        .into_iter()
        .map(|entry| (entry.version, entry.event, entry.state))
        .collect();
    assert_eq!(
        steps,
        [
            (
                1,
                pay(30),
                Order::Paid {
                    id: "o-1".into(),
                    amount: 30
                }
            ),
            (
                2,
                OrderEvent::Ship {
                    tracking: "t-1".into()
                },
                Order::Shipped {
                    id: "o-1".into(),
                    tracking: "t-1".into()
                }
            ),
        ]
    );
    app.system.shutdown().await;
}
