//! The order machine, derived: the reference example of the test suite.

use std::sync::Mutex;

use machine_core::{Actions, Effects, Step};
use machine_macros::{Event, Machine};
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
    /// The warehouse ships, with a tracking number.
    Ship(String),
    /// The customer (or the 72h timeout) cancels.
    Cancel,
    /// Support grants more time to ship: the 72h countdown restarts.
    #[event(rename = "ExtendDeadline")]
    Extend,
}

/// Why an order refused an event.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum OrderError {
    /// Paying nothing is not paying.
    #[error("a payment must be positive")]
    ZeroPayment,
    /// A shipment needs a tracking number.
    #[error("a shipment needs a tracking number")]
    MissingTracking,
}

/// Payments above this amount are treated as fraud and cancel the order.
pub const FRAUD_LIMIT: u64 = 1_000_000;

/// What the order's effects use.
#[derive(Debug, Default)]
pub struct Services {
    /// Receipts sent, one line each.
    pub receipts: Mutex<Vec<String>>,
}

/// An order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
#[machine(event = OrderEvent, env = Services, error = OrderError, effects)]
pub enum Order {
    #[initial]
    #[on(Pay => Paid | Cancelled, Cancel => Cancelled)]
    Pending { id: String },
    #[on(Ship => Shipped, Cancel => Cancelled, Extend => Paid)]
    #[timeout(after = "72h", event = Cancel)]
    #[reenter]
    Paid { id: String, amount: u64 },
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
            }),
        }
    }

    fn pending_cancel(
        _id: &String,
        _cancel: OrderEventCancel<'_>,
    ) -> Result<OrderPendingOnCancel, OrderError> {
        Ok(OrderPendingOnCancel::Cancelled {
            reason: "cancelled before payment".to_owned(),
        })
    }

    fn paid_ship(
        id: &String,
        _amount: &u64,
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
        _cancel: OrderEventCancel<'_>,
    ) -> Result<OrderPaidOnCancel, OrderError> {
        Ok(OrderPaidOnCancel::Cancelled {
            reason: format!("refund {amount}"),
        })
    }

    fn paid_extend(
        id: &String,
        amount: &u64,
        _extend: OrderEventExtend<'_>,
    ) -> Result<OrderPaidOnExtend, OrderError> {
        Ok(OrderPaidOnExtend::Paid {
            id: id.clone(),
            amount: *amount,
        })
    }
}

impl Effects for Order {
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if let (Order::Pending { .. }, Order::Paid { id, amount }) = (step.from, step.to) {
            let line = format!("{id}: received {amount}");
            actions.run("email receipt", move |ctx| async move {
                ctx.env()
                    .receipts
                    .lock()
                    .map_err(|_| "poisoned")?
                    .push(line);
                Ok(())
            });
        }
    }
}

impl Order {
    /// A new order.
    pub fn new(id: &str) -> Self {
        Order::Pending { id: id.to_owned() }
    }
}
