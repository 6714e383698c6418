//! The order machine: states, events, handlers and effects.
//!
//! The facade's tests include this file too, so the diagram in the README and the behaviour
//! the example prints are checked.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use machine::core::Step;
use machine::core::{Actions, Effects, Scope};
use machine::prelude::*;
use serde::{Deserialize, Serialize};

/// What an order can be told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Event)]
pub enum OrderEvent {
    /// The customer pays.
    Pay { amount: u64 },
    /// The warehouse hands the parcel to the carrier.
    Ship { tracking: String },
    /// The customer, support or the payment timeout cancels.
    Cancel { reason: String },
}

/// Why an order refuses an event.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum OrderError {
    /// Paying nothing is not paying.
    #[error("a payment must be more than zero")]
    ZeroPayment,
}

/// An order, from checkout to the customer's door.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
#[machine(event = OrderEvent, env = Shop, error = OrderError, effects)]
pub enum Order {
    /// Waiting for the payment, at most 15 minutes.
    #[initial]
    #[on(Pay => Paid, Cancel => Cancelled)]
    #[timeout(after = "15m", event = Cancel { reason: "not paid within 15 minutes".into() })]
    Pending { id: String },
    /// Paid: the warehouse is packing it (a state task).
    #[on(Ship => Shipped, Cancel => Cancelled)]
    Paid { id: String, amount: u64 },
    /// On its way.
    #[terminal]
    Shipped { id: String, tracking: String },
    /// Cancelled, refunded if it was paid.
    #[terminal]
    Cancelled { id: String, reason: String },
}

impl Order {
    /// A new order waiting for its payment.
    pub fn new(id: &str) -> Self {
        Order::Pending { id: id.to_owned() }
    }
}

// Handlers are pure: the journal replays them. Effects are declared below, never run here.
impl OrderTransitions for Order {
    fn pending_pay(id: &String, pay: OrderEventPay<'_>) -> Result<OrderPendingOnPay, OrderError> {
        if *pay.amount == 0 {
            return Err(OrderError::ZeroPayment);
        }
        Ok(OrderPendingOnPay::Paid {
            id: id.clone(),
            amount: *pay.amount,
        })
    }

    fn pending_cancel(
        id: &String,
        cancel: OrderEventCancel<'_>,
    ) -> Result<OrderPendingOnCancel, OrderError> {
        Ok(OrderPendingOnCancel::Cancelled {
            id: id.clone(),
            reason: cancel.reason.clone(),
        })
    }

    fn paid_ship(
        id: &String,
        _amount: &u64,
        ship: OrderEventShip<'_>,
    ) -> Result<OrderPaidOnShip, OrderError> {
        Ok(OrderPaidOnShip::Shipped {
            id: id.clone(),
            tracking: ship.tracking.clone(),
        })
    }

    fn paid_cancel(
        id: &String,
        amount: &u64,
        cancel: OrderEventCancel<'_>,
    ) -> Result<OrderPaidOnCancel, OrderError> {
        let reason = format!("{}; {amount} refunded", cancel.reason);
        Ok(OrderPaidOnCancel::Cancelled {
            id: id.clone(),
            reason,
        })
    }
}

impl Effects for Order {
    /// A transition action: mail the customer once the step is committed.
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        let text = match step.to {
            Order::Paid { amount, .. } => format!("we received your payment of {amount}"),
            Order::Shipped { tracking, .. } => format!("your parcel is on its way: {tracking}"),
            Order::Cancelled { reason, .. } => format!("your order is cancelled: {reason}"),
            Order::Pending { .. } => return,
        };
        actions.run("mail customer", move |ctx| async move {
            ctx.env().mail(ctx.id().as_str(), text);
            Ok(())
        });
    }

    /// A state task: while `Paid`, the warehouse packs; its tracking number becomes `Ship`.
    /// Leaving `Paid` first (a cancel) cancels the packing.
    fn enter(&self, scope: &mut Scope<Self>) {
        if let Order::Paid { id, .. } = self {
            let id = id.clone();
            scope.task("pack parcel", move |ctx| async move {
                let tracking = ctx.env().pack(&id).await;
                Ok(OrderEvent::Ship { tracking })
            });
        }
    }
}

/// The services the order's effects use: a mailer and a warehouse, both fakes here.
#[derive(Debug)]
pub struct Shop {
    packing_time: Duration,
    parcels: AtomicU32,
    outbox: Mutex<Vec<String>>,
}

impl Shop {
    /// A shop whose warehouse needs `packing_time` per parcel.
    pub fn new(packing_time: Duration) -> Self {
        Self {
            packing_time,
            parcels: AtomicU32::new(0),
            outbox: Mutex::new(Vec::new()),
        }
    }

    /// "Sends" a mail: prints it and keeps it in the outbox.
    pub fn mail(&self, order: &str, text: String) {
        println!("    mail to the customer of {order}: {text}");
        self.outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(format!("{order}: {text}"));
    }

    /// Every mail sent so far.
    pub fn outbox(&self) -> Vec<String> {
        self.outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Packs the parcel of `order` and returns its tracking number.
    pub async fn pack(&self, order: &str) -> String {
        tokio::time::sleep(self.packing_time).await;
        let parcel = self.parcels.fetch_add(1, Ordering::Relaxed) + 1;
        format!("TRACK-{parcel:03}-{order}")
    }
}
