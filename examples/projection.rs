//! An orders-by-status table kept up to date from the journal while orders run, exactly once.
//! Run it twice: the second run resumes after the checkpoint the first one saved, projects only
//! the new events, and the table carries on.
//!
//! ```text
//! cargo run --example projection               # uses ./projection.db
//! cargo run --example projection -- other.db   # or PROJECTION_DB=other.db
//! ```
//!
//! The read model lives in the same SQLite file as the journal: each page of events updates the
//! table and moves the projection's checkpoint in one transaction, so a crash at any moment
//! neither loses nor repeats an update.

use std::convert::Infallible;

use machine::persist::projection::{
    Envelope, ProjectionRunner, Subscription, TransactionalProjection,
};
use machine::persist::sqlx::{self, Sqlite, Transaction};
use machine::persist::store::{CheckpointStore, EventStream};
use machine::persist::{PersistError, PersistentRef};
use machine::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, Event)]
enum OrderEvent {
    Place,
    Pay,
    Ship,
    Cancel,
}

#[derive(Clone, Debug, Serialize, Deserialize, Machine)]
#[machine(event = OrderEvent)]
enum Order {
    #[initial]
    #[on(Place => Pending)]
    New,
    #[on(Pay => Paid, Cancel => Cancelled)]
    Pending,
    #[on(Ship => Shipped, Cancel => Cancelled)]
    Paid,
    #[terminal]
    Shipped,
    #[terminal]
    Cancelled,
}

impl OrderTransitions for Order {
    fn new_place(_: OrderEventPlace<'_>) -> Result<OrderNewOnPlace, Infallible> {
        Ok(OrderNewOnPlace::Pending)
    }
    fn pending_pay(_: OrderEventPay<'_>) -> Result<OrderPendingOnPay, Infallible> {
        Ok(OrderPendingOnPay::Paid)
    }
    fn pending_cancel(_: OrderEventCancel<'_>) -> Result<OrderPendingOnCancel, Infallible> {
        Ok(OrderPendingOnCancel::Cancelled)
    }
    fn paid_ship(_: OrderEventShip<'_>) -> Result<OrderPaidOnShip, Infallible> {
        Ok(OrderPaidOnShip::Shipped)
    }
    fn paid_cancel(_: OrderEventCancel<'_>) -> Result<OrderPaidOnCancel, Infallible> {
        Ok(OrderPaidOnCancel::Cancelled)
    }
}

/// The projection's name: the key of its checkpoint.
const NAME: &str = "orders-by-status";
/// Orders each run creates.
const PER_RUN: i64 = 3;

/// The read model: one row per order with its current status.
struct OrdersByStatus;

impl TransactionalProjection<Sqlite> for OrdersByStatus {
    type Event = OrderEvent;
    type Error = sqlx::Error;

    async fn handle<'t>(
        &'t mut self,
        tx: &'t mut Transaction<'static, Sqlite>,
        event: &'t Envelope<OrderEvent>,
    ) -> Result<(), sqlx::Error> {
        let status = match event.event {
            OrderEvent::Place => "pending",
            OrderEvent::Pay => "paid",
            OrderEvent::Ship => "shipped",
            OrderEvent::Cancel => "cancelled",
        };
        sqlx::query(
            "INSERT INTO orders_by_status (order_id, status, version) VALUES ($1, $2, $3)
             ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, version = excluded.version",
        )
        .bind(event.actor_id.as_str())
        .bind(status)
        .bind(i64::try_from(event.version).unwrap_or(i64::MAX))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn reset<'t>(
        &'t mut self,
        tx: &'t mut Transaction<'static, Sqlite>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM orders_by_status")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// Sends `event` and waits for its commit.
async fn apply(order: &PersistentRef<Order>, event: OrderEvent) -> Result<(), PersistError> {
    match order.call(event.clone()).await? {
        Outcome::Next(_) => {}
        Outcome::Unhandled => println!("{}: {event:?} ignored in this state", order.id()),
        Outcome::Rejected(never) => match never {},
    }
    Ok(())
}

async fn print_table(store: &SqliteStore) -> Result<(), sqlx::Error> {
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM orders_by_status GROUP BY status ORDER BY status",
    )
    .fetch_all(store.read_pool())
    .await?;
    let line: Vec<String> = counts
        .iter()
        .map(|(status, count)| format!("{status}: {count}"))
        .collect();
    println!("orders by status: {}", line.join(", "));
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PROJECTION_DB").ok())
        .unwrap_or_else(|| "projection.db".to_owned());
    let store = SqliteStore::open(&path).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS orders_by_status (
             order_id TEXT PRIMARY KEY, status TEXT NOT NULL, version INTEGER NOT NULL)",
    )
    .execute(store.write_pool())
    .await?;
    match store.load_checkpoint(NAME).await? {
        Some(at) => println!("{NAME}: resuming after checkpoint {at} in {path}"),
        None => println!("{NAME}: no checkpoint in {path} yet, projecting from the start"),
    }

    // The projection follows the journal live while the orders below run.
    let config = PersistConfig::<Order>::new();
    let mut projection =
        ProjectionRunner::new(store.clone(), NAME, Subscription::new().machine(&config))
            .spawn_exactly_once(OrdersByStatus);

    let system = PersistentSystem::new(store.clone());
    let orders = system.repository(config, ());
    let (known,): (i64,) = sqlx::query_as("SELECT count(*) FROM actors")
        .fetch_one(store.read_pool())
        .await?;
    let run = known / PER_RUN;
    // Last run's paid order ships now.
    if run > 0 {
        let paid = format!("order-{}", (run - 1) * PER_RUN + 1);
        if let Some(order) = orders.restore(paid.as_str()).await? {
            apply(&order, OrderEvent::Ship).await?;
            println!("{paid}: shipped (paid in the previous run)");
        }
    }
    for n in 0..PER_RUN {
        let id = format!("order-{}", run * PER_RUN + n);
        let order = orders.spawn(id.as_str(), Order::New).await?;
        let events: &[OrderEvent] = match n {
            0 => &[OrderEvent::Place, OrderEvent::Pay, OrderEvent::Ship],
            1 => &[OrderEvent::Place, OrderEvent::Pay],
            _ => &[OrderEvent::Place, OrderEvent::Cancel],
        };
        for event in events {
            apply(&order, event.clone()).await?;
        }
        println!("{id}: {events:?}");
    }

    // Everything committed so far is in the table once the projection reaches the head.
    let head = store.stream_head().await?;
    if !projection.wait_for(head).await {
        return Err(projection
            .join()
            .await
            .err()
            .map_or("stopped".into(), Into::into));
    }
    print_table(&store).await?;
    let status = projection.status().await?;
    println!(
        "{NAME}: projected {} new event(s) this run; checkpoint {}, caught up: {}",
        status.handled,
        status
            .checkpoint
            .map_or("none".to_owned(), |at| at.to_string()),
        status.caught_up()
    );
    projection.stop().await?;
    system.shutdown().await;
    store.close().await;
    println!("stopped; run me again to continue from the checkpoint in {path}");
    Ok(())
}
