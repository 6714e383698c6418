//! The pure half of the test kit: simulate and the path assertions.

use machine_core::testkit::{assert_never_reaches, assert_path, assert_reaches, simulate};
use machine_core::Outcome;
use machine_test_support::order::{Order, OrderError, OrderEvent, OrderTag};

fn happy_path() -> Vec<OrderEvent> {
    vec![
        OrderEvent::Pay { amount: 0 },
        OrderEvent::Pay { amount: 5 },
        OrderEvent::Note,
        OrderEvent::Ship("T".into()),
        OrderEvent::Cancel,
    ]
}

#[test]
fn simulate_records_every_outcome_and_stops_at_a_final_state() {
    let run = simulate(Order::new("o"), happy_path());
    assert_eq!(run.steps.len(), 4, "nothing is delivered after Shipped");
    assert_eq!(run.undelivered, [OrderEvent::Cancel]);
    assert_eq!(
        run.steps[0].outcome,
        Outcome::Rejected(OrderError::ZeroPayment)
    );
    assert_eq!(run.version(), 3);
    assert_eq!(
        run.path(),
        [
            OrderTag::Pending,
            OrderTag::Paid,
            OrderTag::Paid,
            OrderTag::Shipped
        ]
    );
    assert!(matches!(run.state(), Order::Shipped { tracking, .. } if tracking == "T"));
}

#[test]
fn the_assertions_pass_on_the_path_taken() {
    assert_path(
        Order::new("o"),
        happy_path(),
        &[
            OrderTag::Pending,
            OrderTag::Paid,
            OrderTag::Paid,
            OrderTag::Shipped,
        ],
    );
    assert_reaches(Order::new("o"), happy_path(), OrderTag::Shipped);
    assert_never_reaches(Order::new("o"), happy_path(), OrderTag::Cancelled);
}

#[test]
#[should_panic(expected = "Order took path [Pending, Paid]")]
fn assert_path_fails_with_the_path_taken() {
    assert_path(
        Order::new("o"),
        [OrderEvent::Pay { amount: 1 }],
        &[OrderTag::Pending],
    );
}

#[test]
#[should_panic(expected = "ended in Pending instead of Paid")]
fn assert_reaches_fails_when_a_guard_rejects() {
    assert_reaches(
        Order::new("o"),
        [OrderEvent::Pay { amount: 0 }],
        OrderTag::Paid,
    );
}

#[test]
#[should_panic(expected = "reached Cancelled but must not")]
fn assert_never_reaches_fails_when_visited() {
    assert_never_reaches(Order::new("o"), [OrderEvent::Cancel], OrderTag::Cancelled);
}
