//! The order machine of the `order` example, through the facade: its diagram, its handlers, and
//! its effects on real actors with a paused clock.

#[path = "../examples/order/model.rs"]
mod model;

use std::sync::Arc;
use std::time::Duration;

use machine::core::testkit::{assert_path, Harness};
use machine::prelude::*;
use model::{Order, OrderError, OrderEvent, OrderTag, Shop};

const PACKING: Duration = Duration::from_secs(2 * 3600);

fn shop() -> Arc<Shop> {
    Arc::new(Shop::new(PACKING))
}

#[test]
fn the_diagram_shows_rules_timeout_and_final_states() {
    let expected = "\
stateDiagram-v2
    [*] --> Pending
    Pending --> Paid : Pay
    Pending --> Cancelled : Cancel
    Paid --> Shipped : Ship
    Paid --> Cancelled : Cancel
    Pending --> Cancelled : after 15m
    Shipped --> [*]
    Cancelled --> [*]
";
    assert_eq!(Order::mermaid(), expected);
}

#[test]
fn the_payment_guard_rejects_nothing_and_undeclared_events_are_unhandled() {
    let pending = Order::new("o-1");
    assert_eq!(
        pending.transition(&OrderEvent::Pay { amount: 0 }),
        Outcome::Rejected(OrderError::ZeroPayment)
    );
    assert!(!pending.can(&OrderEvent::Pay { amount: 0 }));
    assert_eq!(
        pending.transition(&OrderEvent::Ship {
            tracking: "t".into()
        }),
        Outcome::Unhandled
    );
    assert_path(
        Order::new("o-1"),
        [
            OrderEvent::Pay { amount: 30 },
            OrderEvent::Ship {
                tracking: "t-1".into(),
            },
        ],
        &[OrderTag::Pending, OrderTag::Paid, OrderTag::Shipped],
    );
}

#[test]
fn a_cancelled_paid_order_records_the_refund() {
    let paid = Order::Paid {
        id: "o-1".into(),
        amount: 30,
    };
    let cancel = OrderEvent::Cancel {
        reason: "changed my mind".into(),
    };
    assert_eq!(
        paid.transition(&cancel),
        Outcome::Next(Order::Cancelled {
            id: "o-1".into(),
            reason: "changed my mind; 30 refunded".into()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn a_paid_order_is_packed_by_its_state_task_and_shipped() {
    let harness = Harness::new();
    let shop = shop();
    let order = harness
        .spawn("o-1", Order::new("o-1"), Arc::clone(&shop))
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 30 })
        .await
        .unwrap()
        .is_accepted());

    harness.advance(PACKING - Duration::from_secs(1)).await;
    assert!(order.matches(OrderTag::Paid).await.unwrap());
    let mut shipped = order.changes().await.unwrap();
    harness.advance(Duration::from_secs(1)).await;

    let mut last = None;
    while let Some(state) = futures::StreamExt::next(&mut shipped).await {
        last = Some(state);
    }
    assert_eq!(
        last,
        Some(Order::Shipped {
            id: "o-1".into(),
            tracking: "TRACK-001-o-1".into()
        })
    );
    harness.settle().await;
    assert_eq!(
        shop.outbox(),
        [
            "o-1: we received your payment of 30",
            "o-1: your parcel is on its way: TRACK-001-o-1",
        ]
    );
    harness.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_unpaid_order_is_cancelled_by_its_timeout() {
    let harness = Harness::new();
    let shop = shop();
    let order = harness
        .spawn("o-2", Order::new("o-2"), Arc::clone(&shop))
        .unwrap();

    harness.advance(Duration::from_secs(15 * 60 - 1)).await;
    assert!(order.matches(OrderTag::Pending).await.unwrap());
    let mut changes = order.changes().await.unwrap();
    harness.advance(Duration::from_secs(1)).await;

    let mut last = None;
    while let Some(state) = futures::StreamExt::next(&mut changes).await {
        last = Some(state);
    }
    assert_eq!(
        last,
        Some(Order::Cancelled {
            id: "o-2".into(),
            reason: "not paid within 15 minutes".into()
        })
    );
    harness.settle().await;
    assert_eq!(
        shop.outbox(),
        ["o-2: your order is cancelled: not paid within 15 minutes"]
    );
    harness.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn cancelling_while_packing_cancels_the_packing_task() {
    let harness = Harness::new();
    let shop = shop();
    let order = harness
        .spawn("o-3", Order::new("o-3"), Arc::clone(&shop))
        .unwrap();
    assert!(order
        .call(OrderEvent::Pay { amount: 12 })
        .await
        .unwrap()
        .is_accepted());
    let cancel = OrderEvent::Cancel {
        reason: "changed my mind".into(),
    };
    assert!(order.call(cancel).await.unwrap().is_accepted());

    harness.advance(PACKING * 2).await;
    assert!(order.is_stopped());
    assert_eq!(
        shop.outbox(),
        [
            "o-3: we received your payment of 12",
            "o-3: your order is cancelled: changed my mind; 12 refunded",
        ]
    );
    // The warehouse never finished a parcel: the next one is still number 1.
    assert_eq!(shop.pack("o-4").await, "TRACK-001-o-4");
    harness.shutdown().await;
}
