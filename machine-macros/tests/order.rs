//! The derived order machine: every outcome kind, `can`, entries, effects, tags, the transition
//! table and the diagram.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use machine_core::testkit::Harness;
use machine_core::{Actions, Event, Machine, Outcome, Scope, StateTag, Step, Tag};
use machine_core::{TimeoutInfo, TransitionInfo};
use machine_test_support::order::{Env, OrderError, FRAUD_LIMIT, PAYMENT_WINDOW};
use support::order::*;

fn paid(amount: u64) -> Order {
    Order::Paid {
        id: "o-1".into(),
        amount,
        notes: 0,
    }
}

fn pay(amount: u64) -> OrderEvent {
    OrderEvent::Pay { amount }
}

#[test]
fn paying_moves_a_pending_order_to_paid() {
    let outcome = Order::new("o-1").transition(&pay(300));
    assert_eq!(outcome, Outcome::Next(paid(300)));
}

#[test]
fn a_handler_may_pick_any_declared_target() {
    let outcome = Order::new("o-1").transition(&pay(FRAUD_LIMIT + 1));
    assert_eq!(
        outcome,
        Outcome::Next(Order::Cancelled {
            reason: format!("payment of {} flagged as fraud", FRAUD_LIMIT + 1)
        })
    );
}

#[test]
fn a_guard_rejects_with_the_machines_error() {
    assert_eq!(
        Order::new("o-1").transition(&pay(0)),
        Outcome::Rejected(OrderError::ZeroPayment)
    );
    assert_eq!(
        paid(5).transition(&OrderEvent::Ship(String::new())),
        Outcome::Rejected(OrderError::MissingTracking)
    );
}

#[test]
fn undeclared_pairs_are_unhandled() {
    let pending = Order::new("o-1");
    assert_eq!(
        pending.transition(&OrderEvent::Ship("t-1".into())),
        Outcome::Unhandled
    );
    assert_eq!(pending.transition(&OrderEvent::Note), Outcome::Unhandled);
    assert_eq!(paid(5).transition(&pay(5)), Outcome::Unhandled);
    assert_eq!(paid(5).transition(&OrderEvent::Expire), Outcome::Unhandled);
    assert_eq!(paid(5).transition(&OrderEvent::Extend), Outcome::Unhandled);
    let shipped = Order::Shipped {
        id: "o-1".into(),
        tracking: "t-1".into(),
    };
    for event in all_events() {
        assert_eq!(shipped.transition(&event), Outcome::Unhandled);
    }
}

/// One event of each kind.
fn all_events() -> [OrderEvent; 6] {
    [
        pay(1),
        OrderEvent::Note,
        OrderEvent::Ship("t".into()),
        OrderEvent::Cancel,
        OrderEvent::Expire,
        OrderEvent::Extend,
    ]
}

#[test]
fn handlers_receive_the_source_fields_and_the_event_data() {
    assert_eq!(
        paid(42).transition(&OrderEvent::Ship("t-9".into())),
        Outcome::Next(Order::Shipped {
            id: "o-1".into(),
            tracking: "t-9".into()
        })
    );
    assert_eq!(
        paid(42).transition(&OrderEvent::Cancel),
        Outcome::Next(Order::Cancelled {
            reason: "refund 42".into()
        })
    );
    assert_eq!(
        paid(42).transition(&OrderEvent::Note),
        Outcome::Next(Order::Paid {
            id: "o-1".into(),
            amount: 42,
            notes: 1
        })
    );
    assert_eq!(
        Order::new("o-1").transition(&OrderEvent::Extend),
        Outcome::Next(Order::new("o-1"))
    );
}

#[test]
fn can_includes_guards() {
    let pending = Order::new("o-1");
    assert!(pending.can(&pay(1)));
    assert!(!pending.can(&pay(0)));
    assert!(!pending.can(&OrderEvent::Ship("t".into())));
    assert!(pending.can(&OrderEvent::Cancel));
    assert!(pending.can(&OrderEvent::Extend));
    assert!(!paid(1).can(&OrderEvent::Extend));
    assert!(paid(1).can(&OrderEvent::Ship("t".into())));
    assert!(!paid(1).can(&OrderEvent::Ship(String::new())));
}

#[test]
fn state_tags_know_their_names_and_roles() {
    assert_eq!(Order::NAME, "Order");
    assert_eq!(Order::new("o-1").tag(), OrderTag::Pending);
    assert_eq!(paid(1).tag(), OrderTag::Paid);
    assert_eq!(
        OrderTag::ALL,
        &[
            OrderTag::Pending,
            OrderTag::Paid,
            OrderTag::Shipped,
            OrderTag::Cancelled
        ]
    );
    let names: Vec<&str> = OrderTag::ALL.iter().map(|tag| tag.name()).collect();
    assert_eq!(names, ["Pending", "Paid", "Shipped", "Cancelled"]);
    assert_eq!(OrderTag::Shipped.to_string(), "Shipped");
    assert_eq!(OrderTag::from_name("Paid"), Some(OrderTag::Paid));
    assert_eq!(OrderTag::from_name("paid"), None);
    let finals: Vec<OrderTag> = OrderTag::ALL
        .iter()
        .copied()
        .filter(|t| t.is_final())
        .collect();
    assert_eq!(finals, [OrderTag::Shipped, OrderTag::Cancelled]);
    let initials: Vec<OrderTag> = OrderTag::ALL
        .iter()
        .copied()
        .filter(|t| t.is_initial())
        .collect();
    assert_eq!(initials, [OrderTag::Pending]);
    assert_eq!(Order::initial_tag(), OrderTag::Pending);
    assert!(Order::Cancelled { reason: "r".into() }.is_final());
    assert!(!paid(1).is_final());
}

#[test]
fn event_tags_use_the_persisted_names() {
    assert_eq!(pay(1).tag(), OrderEventTag::Pay);
    assert_eq!(OrderEvent::Ship("t".into()).tag(), OrderEventTag::Ship);
    assert_eq!(OrderEvent::Note.tag(), OrderEventTag::Note);
    assert_eq!(OrderEvent::Cancel.tag(), OrderEventTag::Cancel);
    assert_eq!(OrderEvent::Expire.tag(), OrderEventTag::Expire);
    assert_eq!(OrderEvent::Extend.tag(), OrderEventTag::Extend);
    let names: Vec<&str> = OrderEventTag::ALL.iter().map(|tag| tag.name()).collect();
    assert_eq!(
        names,
        ["Pay", "Note", "Ship", "Cancel", "Expire", "ExtendDeadline"]
    );
    assert_eq!(OrderEventTag::Extend.to_string(), "ExtendDeadline");
    assert_eq!(
        OrderEventTag::from_name("ExtendDeadline"),
        Some(OrderEventTag::Extend)
    );
}

#[test]
fn event_views_borrow_the_variant_data() {
    let event = pay(7);
    match OrderEventView::from(&event) {
        OrderEventView::Pay(OrderEventPay { amount }) => assert_eq!(*amount, 7),
        other => panic!("wrong view {other:?}"),
    }
    let event = OrderEvent::Ship("t-3".into());
    assert!(matches!(
        OrderEventView::from(&event),
        OrderEventView::Ship(OrderEventShip(tracking)) if tracking == "t-3"
    ));
    assert!(matches!(
        OrderEventView::from(&OrderEvent::Cancel),
        OrderEventView::Cancel(_)
    ));
}

#[test]
fn handlers_can_be_called_directly() {
    let next =
        <Order as OrderTransitions>::pending_pay(&"o-2".into(), OrderEventPay { amount: &9 });
    assert!(matches!(
        next,
        Ok(OrderPendingOnPay::Paid { amount: 9, .. })
    ));
    let cancelled =
        <Order as OrderTransitions>::pending_cancel(&"o-2".into(), OrderEventCancel::default());
    assert!(matches!(
        cancelled,
        Ok(OrderPendingOnCancel::Cancelled { .. })
    ));
    let order: Order = OrderPaidOnShip::Shipped {
        id: "o-2".into(),
        tracking: "t".into(),
    }
    .into();
    assert_eq!(order.tag(), OrderTag::Shipped);
}

#[test]
fn reenter_makes_self_transitions_entries() {
    let step_enters = |from: &Order, event: &OrderEvent| {
        let Outcome::Next(to) = from.transition(event) else {
            panic!("{event:?} is not accepted in {from:?}");
        };
        Order::is_entry(&Step {
            from,
            event,
            to: &to,
        })
    };
    let pending = Order::new("o-1");
    assert!(
        step_enters(&pending, &OrderEvent::Extend),
        "`Pending` is `#[reenter]`"
    );
    assert!(step_enters(&pending, &pay(1)), "the tag changes");
    assert!(
        !step_enters(&paid(1), &OrderEvent::Note),
        "`Paid` is not `#[reenter]`"
    );
}

#[test]
fn entering_a_state_declares_its_timeout_and_its_task() {
    let enter = |state: Order| {
        let mut scope = Scope::<Order>::default();
        state.enter(&mut scope);
        scope
    };
    let pending = enter(Order::new("o-1"));
    assert_eq!(pending.soonest_timeout(), Some(PAYMENT_WINDOW));
    let paid = enter(paid(1));
    assert!(!paid.is_empty(), "the courier task");
    assert_eq!(paid.soonest_timeout(), None);
    assert!(enter(Order::Cancelled { reason: "r".into() }).is_empty());
}

#[test]
fn actions_are_forwarded_to_effects() {
    let declared = |from: &Order, event: &OrderEvent, to: &Order| {
        let mut actions = Actions::<Order>::default();
        Order::actions(&Step { from, event, to }, &mut actions);
        actions.len()
    };
    let pending = Order::new("o-1");
    assert_eq!(
        declared(&pending, &pay(3), &paid(3)),
        2,
        "the ledger entry and the receipt"
    );
    let shipped = Order::Shipped {
        id: "o-1".into(),
        tracking: "t".into(),
    };
    assert_eq!(
        declared(&paid(3), &OrderEvent::Ship("t".into()), &shipped),
        1
    );
    let cancelled = Order::Cancelled { reason: "r".into() };
    assert_eq!(declared(&paid(3), &OrderEvent::Cancel, &cancelled), 0);
}

#[test]
fn the_transition_table_lists_every_rule() {
    use OrderEventTag as E;
    use OrderTag as S;
    let expected: &[TransitionInfo<OrderTag, OrderEventTag>] = &[
        TransitionInfo {
            from: S::Pending,
            event: E::Pay,
            targets: &[S::Paid, S::Cancelled],
        },
        TransitionInfo {
            from: S::Pending,
            event: E::Cancel,
            targets: &[S::Cancelled],
        },
        TransitionInfo {
            from: S::Pending,
            event: E::Expire,
            targets: &[S::Cancelled],
        },
        TransitionInfo {
            from: S::Pending,
            event: E::Extend,
            targets: &[S::Pending],
        },
        TransitionInfo {
            from: S::Paid,
            event: E::Note,
            targets: &[S::Paid],
        },
        TransitionInfo {
            from: S::Paid,
            event: E::Ship,
            targets: &[S::Shipped],
        },
        TransitionInfo {
            from: S::Paid,
            event: E::Cancel,
            targets: &[S::Cancelled],
        },
    ];
    assert_eq!(Order::transition_table(), expected);
    assert_eq!(
        Order::timeout_table(),
        &[TimeoutInfo {
            state: S::Pending,
            after: PAYMENT_WINDOW,
            event: E::Expire,
        }]
    );
}

#[test]
fn the_table_agrees_with_the_dispatch() {
    // Every declared pair is handled for some input; every undeclared pair is unhandled.
    let states = [
        Order::new("o-1"),
        paid(1),
        Order::Shipped {
            id: "o-1".into(),
            tracking: "t".into(),
        },
        Order::Cancelled { reason: "r".into() },
    ];
    for state in &states {
        for event in &all_events() {
            let declared = Order::transition_table()
                .iter()
                .find(|info| info.from == state.tag() && info.event == event.tag());
            match (declared, state.transition(event)) {
                (Some(info), Outcome::Next(next)) => assert!(info.targets.contains(&next.tag())),
                (None, Outcome::Unhandled) => {}
                (declared, outcome) => panic!("{state:?} + {event:?}: {declared:?} vs {outcome:?}"),
            }
        }
    }
}

#[test]
fn the_mermaid_diagram_shows_rules_timeouts_and_final_states() {
    let expected = "\
stateDiagram-v2
    [*] --> Pending
    Pending --> Paid : Pay
    Pending --> Cancelled : Pay
    Pending --> Cancelled : Cancel
    Pending --> Cancelled : Expire
    Pending --> Pending : Extend
    Paid --> Paid : Note
    Paid --> Shipped : Ship
    Paid --> Cancelled : Cancel
    Pending --> Cancelled : after 1h
    Shipped --> [*]
    Cancelled --> [*]
";
    assert_eq!(Order::mermaid(), expected);
}

#[test]
fn events_and_states_keep_their_serde_derives() {
    let json = serde_json::to_string(&pay(5)).unwrap();
    assert_eq!(json, r#"{"pay":{"amount":5}}"#);
    let event: OrderEvent = serde_json::from_str(r#"{"pay":{}}"#).unwrap();
    assert_eq!(event, pay(0));
    let state: Order = serde_json::from_str(&serde_json::to_string(&paid(8)).unwrap()).unwrap();
    assert_eq!(state, paid(8));
}

#[tokio::test(start_paused = true)]
async fn an_actor_restarts_the_timeout_on_re_entry() {
    let harness = Harness::new();
    let order = harness
        .spawn("o-1", Order::new("o-1"), Env::default())
        .unwrap();
    assert_eq!(
        order.call(pay(0)).await.unwrap(),
        Outcome::Rejected(OrderError::ZeroPayment)
    );
    let minute = Duration::from_secs(60);
    // Extending re-enters `Pending` and restarts the payment window.
    harness.advance(PAYMENT_WINDOW - minute).await;
    assert_eq!(
        order.call(OrderEvent::Extend).await.unwrap(),
        Outcome::Next(Order::new("o-1"))
    );
    harness.advance(PAYMENT_WINDOW - minute).await;
    assert!(order.matches(OrderTag::Pending).await.unwrap());
    let mut changes = order.changes().await.unwrap();
    harness.advance(2 * minute).await;
    let mut last = None;
    while let Some(state) = changes.next().await {
        last = Some(state);
    }
    // `Cancelled` is final: the actor stopped after reaching it.
    assert_eq!(
        last,
        Some(Order::Cancelled {
            reason: "payment window expired".into()
        })
    );
    assert!(order.is_stopped());
    harness.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_actor_runs_the_actions_and_the_task() {
    let harness = Harness::new();
    let env = Arc::new(Env::default());
    *env.courier_tracking.lock().unwrap() = Some("t-7".into());
    let order = harness
        .spawn("o-1", Order::new("o-1"), Arc::clone(&env))
        .unwrap();
    let mut changes = order.changes().await.unwrap();
    assert_eq!(order.call(pay(30)).await.unwrap(), Outcome::Next(paid(30)));
    let mut tags = Vec::new();
    while let Some(state) = changes.next().await {
        tags.push(state.tag());
    }
    // The courier task of `Paid` shipped it.
    assert_eq!(tags, [OrderTag::Pending, OrderTag::Paid, OrderTag::Shipped]);
    harness.settle().await;
    assert_eq!(env.log(), ["receipt 30", "shipped t-7"]);
    assert_eq!(env.ledger(), ["o-1/1/ledger entry attempt 1 amount 30"]);
    assert_eq!(
        env.courier_started
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    harness.shutdown().await;
}
