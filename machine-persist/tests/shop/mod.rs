//! The machine the durable-action tests run: an order whose payment is a durable "charge card"
//! action against a fake gateway that counts, delays and fails attempts on demand.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use machine_core::SerializedCause;
use machine_core::{ActionCtx, Actions, DurableAction, EffectError, Effects, Step};
use machine_macros::{Event, Machine};
use machine_persist::dispatch::DurablePolicy;
use machine_persist::PersistConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Event)]
pub enum OrderEvent {
    Pay { cents: u64 },
    Charged,
    ChargeFailed { cause: SerializedCause },
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("an amount must be positive")]
    Zero,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Machine)]
#[machine(event = OrderEvent, env = Gateway, error = OrderError, effects)]
pub enum Order {
    #[initial]
    #[on(Pay => Charging)]
    Pending,
    #[on(Charged => Paid, ChargeFailed => Refunded)]
    Charging {
        cents: u64,
    },
    Paid {
        cents: u64,
    },
    Refunded {
        cause: SerializedCause,
    },
}

impl OrderTransitions for Order {
    fn pending_pay(pay: OrderEventPay<'_>) -> Result<OrderPendingOnPay, OrderError> {
        if *pay.cents == 0 {
            return Err(OrderError::Zero);
        }
        Ok(OrderPendingOnPay::Charging { cents: *pay.cents })
    }

    fn charging_charged(
        cents: &u64,
        _: OrderEventCharged<'_>,
    ) -> Result<OrderChargingOnCharged, OrderError> {
        Ok(OrderChargingOnCharged::Paid { cents: *cents })
    }

    fn charging_charge_failed(
        _cents: &u64,
        failed: OrderEventChargeFailed<'_>,
    ) -> Result<OrderChargingOnChargeFailed, OrderError> {
        Ok(OrderChargingOnChargeFailed::Refunded {
            cause: failed.cause.clone(),
        })
    }
}

impl Effects for Order {
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if let (Order::Pending, OrderEvent::Pay { cents }) = (step.from, step.event) {
            actions.durable(ChargeCard { cents: *cents });
        }
    }
}

/// The durable action: charge the card through the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeCard {
    pub cents: u64,
}

/// Why the gateway refused.
#[derive(Debug, thiserror::Error)]
#[error("card declined")]
pub struct Declined(#[source] pub std::io::Error);

impl DurableAction<Order> for ChargeCard {
    const NAME: &'static str = "charge card";

    async fn perform(self, ctx: ActionCtx<Order>) -> Result<(), EffectError> {
        ctx.env().charge(ctx.key().to_string(), ctx.attempt()).await
    }
}

/// One attempt, as the gateway saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub key: String,
    pub attempt: u32,
    pub at: tokio::time::Instant,
}

/// The fake payment gateway.
#[derive(Debug, Default)]
pub struct Gateway {
    /// Every attempt fails this many times per key before succeeding.
    pub fail_first: u32,
    /// Keys of these actors always fail.
    pub always_fail: HashSet<String>,
    /// How long each attempt takes.
    pub delay: Duration,
    /// Every attempt's key is appended to this file (the crash tests' record).
    pub log: Option<PathBuf>,
    pub attempts: Mutex<Vec<Attempt>>,
    pub charged: Mutex<HashMap<String, u32>>,
    pub running: Mutex<HashSet<String>>,
    pub overlaps: AtomicUsize,
}

impl Gateway {
    async fn charge(&self, key: String, attempt: u32) -> Result<(), EffectError> {
        if let Some(log) = &self.log {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)?;
            // One write per line, so a killed process leaves whole lines behind.
            file.write_all(format!("{key}\n").as_bytes())?;
        }
        self.attempts.lock().unwrap().push(Attempt {
            key: key.clone(),
            attempt,
            at: tokio::time::Instant::now(),
        });
        if !self.running.lock().unwrap().insert(key.clone()) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.running.lock().unwrap().remove(&key);
        let actor = key.split('/').next().unwrap_or_default();
        if attempt <= self.fail_first || self.always_fail.contains(actor) {
            return Err(Box::new(Declined(std::io::Error::other(format!(
                "issuer unavailable (attempt {attempt})"
            )))));
        }
        *self.charged.lock().unwrap().entry(key).or_default() += 1;
        Ok(())
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap().clone()
    }

    pub fn attempts_of(&self, key: &str) -> Vec<Attempt> {
        self.attempts()
            .into_iter()
            .filter(|attempt| attempt.key == key)
            .collect()
    }

    pub fn charged(&self) -> HashMap<String, u32> {
        self.charged.lock().unwrap().clone()
    }

    pub fn overlaps(&self) -> usize {
        self.overlaps.load(Ordering::SeqCst)
    }
}

/// The orders' configuration: `charge card` retried per `policy`, failures fed back as
/// `ChargeFailed`.
pub fn config(policy: DurablePolicy<Order, ChargeCard>) -> PersistConfig<Order> {
    PersistConfig::<Order>::new().durable(policy.on_failed(|_charge, cause| {
        OrderEvent::ChargeFailed {
            cause: cause.clone(),
        }
    }))
}
