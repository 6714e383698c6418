//! The derived order machine behaves exactly like the order written by hand in
//! `machine_test_support::order`, on random states and event sequences: same outcomes, same
//! states, same tags, same entries, same effect declarations.

mod support;

use machine_core::{Actions, Event, Machine, Outcome, Scope, StateTag, Step, Tag};
use machine_test_support::order::{Order as HandOrder, OrderEvent as HandEvent, FRAUD_LIMIT};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use support::order::{Order, OrderEvent};

fn events() -> impl Strategy<Value = OrderEvent> {
    let amount = prop_oneof![
        Just(0u64),
        1u64..1_000,
        (FRAUD_LIMIT - 1)..=(FRAUD_LIMIT + 1),
    ];
    let tracking = prop_oneof![Just(String::new()), "[a-z0-9]{1,6}"];
    prop_oneof![
        amount.prop_map(|amount| OrderEvent::Pay { amount }),
        Just(OrderEvent::Note),
        tracking.prop_map(OrderEvent::Ship),
        Just(OrderEvent::Cancel),
        Just(OrderEvent::Expire),
        Just(OrderEvent::Extend),
    ]
}

fn states() -> impl Strategy<Value = Order> {
    let id = "o-[0-9]{1,3}";
    prop_oneof![
        id.prop_map(|id| Order::Pending { id }),
        (id, 0u64..10_000, 0u32..5).prop_map(|(id, amount, notes)| Order::Paid {
            id,
            amount,
            notes
        }),
        (id, "[a-z]{1,4}").prop_map(|(id, tracking)| Order::Shipped { id, tracking }),
        "[a-z ]{0,8}".prop_map(|reason| Order::Cancelled { reason }),
    ]
}

/// The same value, written by hand: the derived and the hand-written types share their serde
/// shape.
fn hand<T: Serialize, H: DeserializeOwned>(derived: &T) -> H {
    serde_json::from_value(serde_json::to_value(derived).unwrap()).unwrap()
}

fn same_state(derived: &Order, hand_written: &HandOrder) {
    assert_eq!(
        serde_json::to_value(derived).unwrap(),
        serde_json::to_value(hand_written).unwrap()
    );
    assert_eq!(derived.tag().name(), hand_written.tag().name());
    assert_eq!(derived.is_final(), hand_written.is_final());
    assert_eq!(derived.tag().is_initial(), hand_written.tag().is_initial());
}

fn same_entry_effects(derived: &Order, hand_written: &HandOrder) {
    let mut derived_scope = Scope::<Order>::default();
    derived.enter(&mut derived_scope);
    let mut hand_scope = Scope::<HandOrder>::default();
    hand_written.enter(&mut hand_scope);
    assert_eq!(derived_scope.is_empty(), hand_scope.is_empty());
    assert_eq!(
        derived_scope.soonest_timeout(),
        hand_scope.soonest_timeout()
    );
}

proptest! {
    #[test]
    fn derived_and_hand_written_orders_agree(
        start in states(),
        sequence in proptest::collection::vec(events(), 0..24),
    ) {
        let mut derived = start;
        let mut hand_written: HandOrder = hand(&derived);
        same_state(&derived, &hand_written);
        same_entry_effects(&derived, &hand_written);
        for event in &sequence {
            let hand_event: HandEvent = hand(event);
            prop_assert_eq!(event.tag().name(), hand_event.tag().name());
            prop_assert_eq!(derived.can(event), hand_written.can(&hand_event));
            match (derived.transition(event), hand_written.transition(&hand_event)) {
                (Outcome::Next(derived_next), Outcome::Next(hand_next)) => {
                    same_state(&derived_next, &hand_next);
                    let derived_step = Step { from: &derived, event, to: &derived_next };
                    let hand_step = Step { from: &hand_written, event: &hand_event, to: &hand_next };
                    prop_assert_eq!(Order::is_entry(&derived_step), HandOrder::is_entry(&hand_step));
                    let mut derived_actions = Actions::<Order>::default();
                    Order::actions(&derived_step, &mut derived_actions);
                    let mut hand_actions = Actions::<HandOrder>::default();
                    HandOrder::actions(&hand_step, &mut hand_actions);
                    prop_assert_eq!(derived_actions.len(), hand_actions.len());
                    same_entry_effects(&derived_next, &hand_next);
                    derived = derived_next;
                    hand_written = hand_next;
                }
                (Outcome::Unhandled, Outcome::Unhandled) => {}
                (Outcome::Rejected(derived_error), Outcome::Rejected(hand_error)) => {
                    prop_assert_eq!(derived_error, hand_error);
                }
                (derived_outcome, hand_outcome) => {
                    prop_assert!(
                        false,
                        "{:?} on {:?}: derived {:?}, hand-written {:?}",
                        event, derived, derived_outcome, hand_outcome
                    );
                }
            }
        }
    }
}

fn names<T: Tag>() -> Vec<&'static str> {
    T::ALL.iter().map(|tag| tag.name()).collect()
}

#[test]
fn tag_names_agree() {
    assert_eq!(
        names::<<Order as Machine>::StateTag>(),
        names::<<HandOrder as Machine>::StateTag>()
    );
    assert_eq!(
        names::<<OrderEvent as Event>::Tag>(),
        names::<<HandEvent as Event>::Tag>()
    );
    assert_eq!(Order::NAME, HandOrder::NAME);
}
