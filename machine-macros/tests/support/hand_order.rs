//! The order machine written by hand against `machine_core`, with the semantics of
//! `support::order::Order`: the reference the derive is checked against.

use std::fmt;
use std::time::Duration;

use machine_core::{Actions, Machine, Outcome, Scope, StateTag, Step, Tag};
use serde::{Deserialize, Serialize};

use super::order::{OrderError, OrderEvent, Services, FRAUD_LIMIT};

/// Same variants, fields and serde shape as `Order`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum HandOrder {
    Pending { id: String },
    Paid { id: String, amount: u64 },
    Shipped { id: String, tracking: String },
    Cancelled { reason: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HandOrderTag {
    Pending,
    Paid,
    Shipped,
    Cancelled,
}

impl fmt::Display for HandOrderTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for HandOrderTag {
    const ALL: &'static [Self] = &[Self::Pending, Self::Paid, Self::Shipped, Self::Cancelled];

    fn name(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Paid => "Paid",
            Self::Shipped => "Shipped",
            Self::Cancelled => "Cancelled",
        }
    }
}

impl StateTag for HandOrderTag {
    fn is_final(self) -> bool {
        matches!(self, Self::Shipped | Self::Cancelled)
    }

    fn is_initial(self) -> bool {
        self == Self::Pending
    }
}

impl Machine for HandOrder {
    type Event = OrderEvent;
    type Env = Services;
    type Error = OrderError;
    type StateTag = HandOrderTag;

    const NAME: &'static str = "Order";

    fn tag(&self) -> HandOrderTag {
        match self {
            Self::Pending { .. } => HandOrderTag::Pending,
            Self::Paid { .. } => HandOrderTag::Paid,
            Self::Shipped { .. } => HandOrderTag::Shipped,
            Self::Cancelled { .. } => HandOrderTag::Cancelled,
        }
    }

    fn transition(&self, event: &OrderEvent) -> Outcome<Self, OrderError> {
        match (self, event) {
            (Self::Pending { .. }, OrderEvent::Pay { amount: 0 }) => {
                Outcome::Rejected(OrderError::ZeroPayment)
            }
            (Self::Pending { .. }, OrderEvent::Pay { amount }) if *amount > FRAUD_LIMIT => {
                Outcome::Next(Self::Cancelled {
                    reason: format!("payment of {amount} flagged as fraud"),
                })
            }
            (Self::Pending { id }, OrderEvent::Pay { amount }) => Outcome::Next(Self::Paid {
                id: id.clone(),
                amount: *amount,
            }),
            (Self::Pending { .. }, OrderEvent::Cancel) => Outcome::Next(Self::Cancelled {
                reason: "cancelled before payment".to_owned(),
            }),
            (Self::Paid { .. }, OrderEvent::Ship(tracking)) if tracking.is_empty() => {
                Outcome::Rejected(OrderError::MissingTracking)
            }
            (Self::Paid { id, .. }, OrderEvent::Ship(tracking)) => Outcome::Next(Self::Shipped {
                id: id.clone(),
                tracking: tracking.clone(),
            }),
            (Self::Paid { amount, .. }, OrderEvent::Cancel) => Outcome::Next(Self::Cancelled {
                reason: format!("refund {amount}"),
            }),
            (Self::Paid { id, amount }, OrderEvent::Extend) => Outcome::Next(Self::Paid {
                id: id.clone(),
                amount: *amount,
            }),
            _ => Outcome::Unhandled,
        }
    }

    fn is_entry(step: &Step<'_, Self>) -> bool {
        let (from, to) = (step.from.tag(), step.to.tag());
        from != to || to == HandOrderTag::Paid
    }

    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if let (Self::Pending { .. }, Self::Paid { id, amount }) = (step.from, step.to) {
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

    fn enter(&self, scope: &mut Scope<Self>) {
        if let Self::Paid { .. } = self {
            scope.timeout(Duration::from_secs(72 * 3600), OrderEvent::Cancel);
        }
    }
}
