//! The order machine of the guide, with effects, an environment, an error and a timeout.

#![deny(warnings)]

use machine_core::{Actions, Effects, Machine, Outcome, Step};
use machine_macros::{Event, Machine};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, Event)]
#[serde(rename_all = "snake_case")]
enum OrderEvent {
    Pay { amount: u64 },
    Ship { tracking: String },
    Cancel,
}

#[derive(Debug, thiserror::Error)]
enum OrderError {
    #[error("a payment must be positive")]
    ZeroPayment,
}

struct Services {
    mailer: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, Machine)]
#[machine(event = OrderEvent, env = Services, error = OrderError, effects)]
enum Order {
    #[initial]
    #[on(Pay => Paid | Cancelled, Cancel => Cancelled)]
    Pending { id: String },
    #[on(Ship => Shipped, Cancel => Cancelled)]
    #[timeout(after = "72h", event = Cancel)]
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
            amount if amount > 10_000 => Ok(OrderPendingOnPay::Cancelled {
                reason: "fraud".into(),
            }),
            amount => Ok(OrderPendingOnPay::Paid { id: id.clone(), amount }),
        }
    }

    fn pending_cancel(_: &String, _: OrderEventCancel<'_>) -> Result<OrderPendingOnCancel, OrderError> {
        Ok(OrderPendingOnCancel::Cancelled { reason: "customer".into() })
    }

    fn paid_ship(
        id: &String,
        _: &u64,
        OrderEventShip { tracking }: OrderEventShip<'_>,
    ) -> Result<OrderPaidOnShip, OrderError> {
        Ok(OrderPaidOnShip::Shipped { id: id.clone(), tracking: tracking.clone() })
    }

    fn paid_cancel(_: &String, amount: &u64, _: OrderEventCancel<'_>) -> Result<OrderPaidOnCancel, OrderError> {
        Ok(OrderPaidOnCancel::Cancelled { reason: format!("refund {amount}") })
    }
}

impl Effects for Order {
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if let Order::Shipped { id, .. } = step.to {
            let id = id.clone();
            actions.run("notify", move |ctx| async move {
                let _ = (&ctx.env().mailer, id);
                Ok(())
            });
        }
    }
}

fn main() {
    let order = Order::Pending { id: "o-1".into() };
    let paid = order.transition(&OrderEvent::Pay { amount: 5 }).into_state().unwrap();
    assert!(matches!(paid.transition(&OrderEvent::Pay { amount: 5 }), Outcome::Unhandled));
    assert!(Order::mermaid().contains("Paid --> Cancelled : after 72h"));
    let _ = Services { mailer: String::new() };
}
