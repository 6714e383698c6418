//! The order machine written by hand against `machine-core`, without the derive.
//!
//! One machine for the whole test suite: the runtime tests of `machine-core` drive it through
//! real actors, and `machine-macros` checks that its derived order (same states, events, serde
//! shape, rules, guards, tags, entries, timeouts, tasks and actions) behaves exactly like it.
//! Writing it by hand is the point: it states the semantics the derive must reproduce, in
//! plain `match`es anyone can read.
//!
//! * `Pending { id }`: on `Pay` it is paid, or cancelled when the amount is above
//!   [`FRAUD_LIMIT`]; paying 0 is rejected. `Cancel` and the payment window's `Expire`
//!   ([`PAYMENT_WINDOW`]) cancel it; `Extend` re-enters it, which restarts the window.
//! * `Paid { id, amount, notes }`: `Note` counts a note without re-entering (the courier task
//!   keeps running), `Ship(tracking)` ships it (an empty tracking number is rejected),
//!   `Cancel` refunds it. Entering it starts the `courier` task.
//! * `Shipped` and `Cancelled` are final.
//!
//! The effects ([`Env`], the durable [`LedgerEntry`], the receipt, the shipping notice and the
//! courier) are generic over the machine, so that the derived order declares the very same
//! ones.

mod effects;
mod tags;

use std::time::Duration;

use machine_core::{Actions, Machine, Outcome, Scope, Step};
use serde::{Deserialize, Serialize};

pub use effects::{courier, payment_actions, shipment_actions, Env, LedgerEntry};
pub use tags::{OrderEventTag, OrderTag};

/// How long an order may stay unpaid: the timeout of `Pending`, restarted by `Extend`.
pub const PAYMENT_WINDOW: Duration = Duration::from_secs(3600);

/// Payments above this amount are treated as fraud and cancel the order.
pub const FRAUD_LIMIT: u64 = 1_000_000;

/// An order: the states of the machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Order {
    /// Waiting for its payment.
    Pending {
        /// The order's id.
        id: String,
    },
    /// Paid, waiting for the courier.
    Paid {
        /// The order's id.
        id: String,
        /// What was paid.
        amount: u64,
        /// How many notes were added since the payment.
        notes: u32,
    },
    /// Shipped (final).
    Shipped {
        /// The order's id.
        id: String,
        /// The courier's tracking number.
        tracking: String,
    },
    /// Cancelled, refunded if it was paid (final).
    Cancelled {
        /// Why.
        reason: String,
    },
}

impl Order {
    /// A new order, pending.
    pub fn new(id: &str) -> Self {
        Order::Pending { id: id.to_owned() }
    }
}

/// What an order can be told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// The customer pays (a missing amount reads as 0).
    Pay {
        /// What is paid.
        #[serde(default)]
        amount: u64,
    },
    /// Someone adds a note to a paid order.
    Note,
    /// The order is shipped with this tracking number.
    Ship(String),
    /// The customer cancels.
    Cancel,
    /// The payment window ran out.
    Expire,
    /// Support grants more time to pay: the payment window restarts. Persisted as
    /// `ExtendDeadline`.
    Extend,
}

/// Why an order refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// Paying nothing is not paying.
    #[error("a payment must be positive")]
    ZeroPayment,
    /// A shipment needs a tracking number.
    #[error("a shipment needs a tracking number")]
    MissingTracking,
}

impl Machine for Order {
    type Event = OrderEvent;
    type Env = Env;
    type Error = OrderError;
    type StateTag = OrderTag;
    const NAME: &'static str = "Order";

    fn tag(&self) -> OrderTag {
        match self {
            Order::Pending { .. } => OrderTag::Pending,
            Order::Paid { .. } => OrderTag::Paid,
            Order::Shipped { .. } => OrderTag::Shipped,
            Order::Cancelled { .. } => OrderTag::Cancelled,
        }
    }

    fn transition(&self, event: &OrderEvent) -> Outcome<Self, OrderError> {
        match (self, event) {
            (Order::Pending { .. }, OrderEvent::Pay { amount: 0 }) => {
                Outcome::Rejected(OrderError::ZeroPayment)
            }
            (Order::Pending { .. }, OrderEvent::Pay { amount }) if *amount > FRAUD_LIMIT => {
                Outcome::Next(Order::Cancelled {
                    reason: format!("payment of {amount} flagged as fraud"),
                })
            }
            (Order::Pending { id }, OrderEvent::Pay { amount }) => Outcome::Next(Order::Paid {
                id: id.clone(),
                amount: *amount,
                notes: 0,
            }),
            (Order::Pending { .. }, OrderEvent::Cancel) => Outcome::Next(Order::Cancelled {
                reason: "cancelled by customer".into(),
            }),
            (Order::Pending { .. }, OrderEvent::Expire) => Outcome::Next(Order::Cancelled {
                reason: "payment window expired".into(),
            }),
            (Order::Pending { id }, OrderEvent::Extend) => {
                Outcome::Next(Order::Pending { id: id.clone() })
            }
            (Order::Paid { id, amount, notes }, OrderEvent::Note) => Outcome::Next(Order::Paid {
                id: id.clone(),
                amount: *amount,
                notes: notes + 1,
            }),
            (Order::Paid { .. }, OrderEvent::Ship(tracking)) if tracking.is_empty() => {
                Outcome::Rejected(OrderError::MissingTracking)
            }
            (Order::Paid { id, .. }, OrderEvent::Ship(tracking)) => Outcome::Next(Order::Shipped {
                id: id.clone(),
                tracking: tracking.clone(),
            }),
            (Order::Paid { amount, .. }, OrderEvent::Cancel) => Outcome::Next(Order::Cancelled {
                reason: format!("refund {amount}"),
            }),
            _ => Outcome::Unhandled,
        }
    }

    /// A step enters when the tag changes, and `Pending` is re-entered by its own steps
    /// (`Extend`), which restarts the payment window. `Paid` is not: a note leaves the courier
    /// running.
    fn is_entry(step: &Step<'_, Self>) -> bool {
        let (from, to) = (step.from.tag(), step.to.tag());
        from != to || to == OrderTag::Pending
    }

    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        match (step.from, step.to) {
            (Order::Pending { .. }, Order::Paid { amount, .. }) => {
                payment_actions(*amount, actions)
            }
            (_, Order::Shipped { tracking, .. }) => shipment_actions(tracking.clone(), actions),
            _ => {}
        }
    }

    fn enter(&self, scope: &mut Scope<Self>) {
        match self {
            Order::Pending { .. } => scope.timeout(PAYMENT_WINDOW, OrderEvent::Expire),
            Order::Paid { .. } => courier(scope, OrderEvent::Ship),
            Order::Shipped { .. } | Order::Cancelled { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use machine_core::{Actions, Event, Machine, Outcome, Scope, StateTag, Step, Tag};

    use super::*;

    fn paid(amount: u64) -> Order {
        Order::Paid {
            id: "o-1".into(),
            amount,
            notes: 0,
        }
    }

    #[test]
    fn a_payment_above_the_fraud_limit_cancels_and_declares_no_action() {
        let pending = Order::new("o-1");
        let event = OrderEvent::Pay {
            amount: FRAUD_LIMIT + 1,
        };
        let Outcome::Next(to) = pending.transition(&event) else {
            panic!("the payment is not accepted");
        };
        assert_eq!(
            to,
            Order::Cancelled {
                reason: format!("payment of {} flagged as fraud", FRAUD_LIMIT + 1)
            }
        );
        let mut actions = Actions::<Order>::default();
        Order::actions(
            &Step {
                from: &pending,
                event: &event,
                to: &to,
            },
            &mut actions,
        );
        assert!(actions.is_empty());
        assert_eq!(
            pending.transition(&OrderEvent::Pay {
                amount: FRAUD_LIMIT
            }),
            Outcome::Next(paid(FRAUD_LIMIT))
        );
    }

    #[test]
    fn guards_reject_with_the_orders_error() {
        assert_eq!(
            Order::new("o-1").transition(&OrderEvent::Pay { amount: 0 }),
            Outcome::Rejected(OrderError::ZeroPayment)
        );
        assert_eq!(
            paid(5).transition(&OrderEvent::Ship(String::new())),
            Outcome::Rejected(OrderError::MissingTracking)
        );
    }

    #[test]
    fn extending_re_enters_pending_and_a_note_does_not_re_enter_paid() {
        let pending = Order::new("o-1");
        let extend = OrderEvent::Extend;
        assert!(Order::is_entry(&Step {
            from: &pending,
            event: &extend,
            to: &pending,
        }));
        let noted = Order::Paid {
            id: "o-1".into(),
            amount: 5,
            notes: 1,
        };
        assert_eq!(
            paid(5).transition(&OrderEvent::Note),
            Outcome::Next(noted.clone())
        );
        assert!(!Order::is_entry(&Step {
            from: &paid(5),
            event: &OrderEvent::Note,
            to: &noted,
        }));
    }

    #[test]
    fn entering_declares_the_payment_window_and_the_courier() {
        let mut scope = Scope::<Order>::default();
        Order::new("o-1").enter(&mut scope);
        assert_eq!(scope.soonest_timeout(), Some(PAYMENT_WINDOW));
        let mut scope = Scope::<Order>::default();
        paid(1).enter(&mut scope);
        assert!(!scope.is_empty());
        assert_eq!(scope.soonest_timeout(), None);
    }

    #[test]
    fn tags_have_their_persisted_names_and_roles() {
        assert_eq!(OrderEvent::Extend.tag().name(), "ExtendDeadline");
        assert_eq!(
            OrderEventTag::from_name("ExtendDeadline"),
            Some(OrderEventTag::Extend)
        );
        let finals: Vec<OrderTag> = OrderTag::ALL
            .iter()
            .copied()
            .filter(|tag| tag.is_final())
            .collect();
        assert_eq!(finals, [OrderTag::Shipped, OrderTag::Cancelled]);
        let initials: Vec<OrderTag> = OrderTag::ALL
            .iter()
            .copied()
            .filter(|tag| tag.is_initial())
            .collect();
        assert_eq!(initials, [OrderTag::Pending]);
    }

    #[test]
    fn events_keep_the_serde_shape_of_the_derived_ones() {
        let json = serde_json::to_string(&OrderEvent::Ship("t-1".into())).unwrap();
        assert_eq!(json, r#"{"ship":"t-1"}"#);
        let event: OrderEvent = serde_json::from_str(r#"{"pay":{}}"#).unwrap();
        assert_eq!(event, OrderEvent::Pay { amount: 0 });
    }
}
