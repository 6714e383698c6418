//! A hand-written order machine: payment, shipping, cancellation, a payment timeout, a state
//! task, transition actions and a guard. Written without the derive on purpose.

#![allow(dead_code)]

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use machine_core::{
    ActionCtx, Actions, DurableAction, EffectError, Event, Machine, Outcome, Scope, StateTag, Step,
    Tag,
};

/// A durable action: without a persistence layer it runs once, like a plain action.
#[derive(Debug)]
pub struct LedgerEntry {
    pub amount: u64,
}

impl DurableAction<Order> for LedgerEntry {
    const NAME: &'static str = "ledger entry";

    async fn perform(self, ctx: ActionCtx<Order>) -> Result<(), EffectError> {
        let line = format!(
            "{} attempt {} amount {}",
            ctx.key(),
            ctx.attempt(),
            self.amount
        );
        ctx.env().ledger.lock().unwrap().push(line);
        Ok(())
    }
}

/// How long an order may stay unpaid.
pub const PAYMENT_WINDOW: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Order {
    Pending { id: String },
    Paid { id: String, amount: u64, notes: u32 },
    Shipped { id: String, tracking: String },
    Cancelled { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderEvent {
    Pay { amount: u64 },
    Note,
    Ship { tracking: String },
    Cancel,
    Expire,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("an order cannot be paid with 0")]
    ZeroAmount,
}

impl Order {
    pub fn new(id: &str) -> Self {
        Order::Pending { id: id.to_owned() }
    }
}

/// Records what the effects did, so tests can see it.
#[derive(Default)]
pub struct Env {
    pub log: Mutex<Vec<String>>,
    /// What the durable `ledger entry` action saw: its key and attempt.
    pub ledger: Mutex<Vec<String>>,
    pub fail_receipt: AtomicBool,
    pub panic_receipt: AtomicBool,
    pub courier_started: AtomicUsize,
    pub courier_cancelled: AtomicUsize,
    /// When set, the courier task finishes at once with this tracking number.
    pub courier_tracking: Mutex<Option<String>>,
}

impl Env {
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrderTag {
    Pending,
    Paid,
    Shipped,
    Cancelled,
}

impl fmt::Display for OrderTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for OrderTag {
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

impl StateTag for OrderTag {
    fn is_final(self) -> bool {
        matches!(self, Self::Shipped | Self::Cancelled)
    }
    fn is_initial(self) -> bool {
        self == Self::Pending
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrderEventTag {
    Pay,
    Note,
    Ship,
    Cancel,
    Expire,
}

impl fmt::Display for OrderEventTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for OrderEventTag {
    const ALL: &'static [Self] = &[
        Self::Pay,
        Self::Note,
        Self::Ship,
        Self::Cancel,
        Self::Expire,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::Pay => "Pay",
            Self::Note => "Note",
            Self::Ship => "Ship",
            Self::Cancel => "Cancel",
            Self::Expire => "Expire",
        }
    }
}

impl Event for OrderEvent {
    type Tag = OrderEventTag;
    fn tag(&self) -> OrderEventTag {
        match self {
            Self::Pay { .. } => OrderEventTag::Pay,
            Self::Note => OrderEventTag::Note,
            Self::Ship { .. } => OrderEventTag::Ship,
            Self::Cancel => OrderEventTag::Cancel,
            Self::Expire => OrderEventTag::Expire,
        }
    }
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
                Outcome::Rejected(OrderError::ZeroAmount)
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
            (Order::Paid { id, amount, notes }, OrderEvent::Note) => Outcome::Next(Order::Paid {
                id: id.clone(),
                amount: *amount,
                notes: notes + 1,
            }),
            (Order::Paid { id, .. }, OrderEvent::Ship { tracking }) => {
                Outcome::Next(Order::Shipped {
                    id: id.clone(),
                    tracking: tracking.clone(),
                })
            }
            (Order::Paid { .. }, OrderEvent::Cancel) => Outcome::Next(Order::Cancelled {
                reason: "refunded".into(),
            }),
            _ => Outcome::Unhandled,
        }
    }

    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if let (Order::Pending { .. }, Order::Paid { amount, .. }) = (step.from, step.to) {
            let amount = *amount;
            actions.durable(LedgerEntry { amount });
            actions.run("send receipt", move |ctx| async move {
                let env = ctx.env();
                if env.panic_receipt.load(Ordering::SeqCst) {
                    panic!("receipt printer on fire");
                }
                if env.fail_receipt.load(Ordering::SeqCst) {
                    return Err("mail server down".into());
                }
                env.log.lock().unwrap().push(format!("receipt {amount}"));
                Ok(())
            });
        }
        if let Order::Shipped { tracking, .. } = step.to {
            let tracking = tracking.clone();
            actions.run("notify shipped", move |ctx| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                ctx.env()
                    .log
                    .lock()
                    .unwrap()
                    .push(format!("shipped {tracking}"));
                Ok(())
            });
        }
    }

    fn enter(&self, scope: &mut Scope<Self>) {
        match self {
            Order::Pending { .. } => scope.timeout(PAYMENT_WINDOW, OrderEvent::Expire),
            Order::Paid { .. } => scope.task("courier", |ctx| async move {
                struct Cancelled(Arc<Env>);
                impl Drop for Cancelled {
                    fn drop(&mut self) {
                        self.0.courier_cancelled.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let env = ctx.env_arc();
                env.courier_started.fetch_add(1, Ordering::SeqCst);
                let guard = Cancelled(Arc::clone(&env));
                let tracking = env.courier_tracking.lock().unwrap().clone();
                match tracking {
                    Some(tracking) => {
                        std::mem::forget(guard);
                        Ok(OrderEvent::Ship { tracking })
                    }
                    None => {
                        // Wait for the courier forever; leaving the state drops this future
                        // and with it the guard.
                        let _guard = guard;
                        std::future::pending().await
                    }
                }
            }),
            _ => {}
        }
    }
}
