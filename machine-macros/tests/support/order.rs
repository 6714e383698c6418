//! The order machine, derived: the reference example of the test suite, with the semantics of
//! the hand-written `machine_test_support::order::Order` it is checked against. It shares that
//! machine's error, environment and effects; its states and events are its own, derived, with
//! the same serde shape and the same persisted names.

use machine_core::{Actions, Effects, Scope, Step};
use machine_macros::{Event, Machine};
use machine_test_support::order::{
    courier, payment_actions, shipment_actions, Env, OrderError, FRAUD_LIMIT,
};
use serde::{Deserialize, Serialize};

/// What an order can be told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Event)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// The customer pays.
    Pay {
        #[serde(default)]
        amount: u64,
    },
    /// Someone adds a note to a paid order.
    Note,
    /// The courier ships, with a tracking number.
    Ship(String),
    /// The customer cancels.
    Cancel,
    /// The payment window ran out.
    Expire,
    /// Support grants more time to pay: the payment window restarts.
    #[event(rename = "ExtendDeadline")]
    Extend,
}

/// An order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
#[machine(event = OrderEvent, env = Env, error = OrderError, effects)]
pub enum Order {
    #[initial]
    #[on(Pay => Paid | Cancelled, Cancel => Cancelled, Expire => Cancelled)]
    #[on(Extend => Pending)]
    #[timeout(after = "1h", event = Expire)]
    #[reenter]
    Pending { id: String },
    #[on(Note => Paid, Ship => Shipped, Cancel => Cancelled)]
    Paid { id: String, amount: u64, notes: u32 },
    #[terminal]
    Shipped { id: String, tracking: String },
    #[terminal]
    Cancelled { reason: String },
}

impl OrderTransitions for Order {
    fn pending_pay(id: &String, pay: OrderEventPay<'_>) -> Result<OrderPendingOnPay, OrderError> {
        match *pay.amount {
            0 => Err(OrderError::ZeroPayment),
            amount if amount > FRAUD_LIMIT => Ok(OrderPendingOnPay::Cancelled {
                reason: format!("payment of {amount} flagged as fraud"),
            }),
            amount => Ok(OrderPendingOnPay::Paid {
                id: id.clone(),
                amount,
                notes: 0,
            }),
        }
    }

    fn pending_cancel(
        _id: &String,
        _cancel: OrderEventCancel<'_>,
    ) -> Result<OrderPendingOnCancel, OrderError> {
        Ok(OrderPendingOnCancel::Cancelled {
            reason: "cancelled by customer".to_owned(),
        })
    }

    fn pending_expire(
        _id: &String,
        _expire: OrderEventExpire<'_>,
    ) -> Result<OrderPendingOnExpire, OrderError> {
        Ok(OrderPendingOnExpire::Cancelled {
            reason: "payment window expired".to_owned(),
        })
    }

    fn pending_extend(
        id: &String,
        _extend: OrderEventExtend<'_>,
    ) -> Result<OrderPendingOnExtend, OrderError> {
        Ok(OrderPendingOnExtend::Pending { id: id.clone() })
    }

    fn paid_note(
        id: &String,
        amount: &u64,
        notes: &u32,
        _note: OrderEventNote<'_>,
    ) -> Result<OrderPaidOnNote, OrderError> {
        Ok(OrderPaidOnNote::Paid {
            id: id.clone(),
            amount: *amount,
            notes: notes + 1,
        })
    }

    fn paid_ship(
        id: &String,
        _amount: &u64,
        _notes: &u32,
        OrderEventShip(tracking): OrderEventShip<'_>,
    ) -> Result<OrderPaidOnShip, OrderError> {
        if tracking.is_empty() {
            return Err(OrderError::MissingTracking);
        }
        Ok(OrderPaidOnShip::Shipped {
            id: id.clone(),
            tracking: tracking.clone(),
        })
    }

    fn paid_cancel(
        _id: &String,
        amount: &u64,
        _notes: &u32,
        _cancel: OrderEventCancel<'_>,
    ) -> Result<OrderPaidOnCancel, OrderError> {
        Ok(OrderPaidOnCancel::Cancelled {
            reason: format!("refund {amount}"),
        })
    }
}

impl Effects for Order {
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
        if let Order::Paid { .. } = self {
            courier(scope, OrderEvent::Ship);
        }
    }
}

impl Order {
    /// A new order.
    pub fn new(id: &str) -> Self {
        Order::Pending { id: id.to_owned() }
    }
}
