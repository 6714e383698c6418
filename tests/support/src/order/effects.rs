//! What the order's effects do, generic over the machine that declares them: the hand-written
//! [`Order`](super::Order) and the derived order of `machine-macros` declare the same actions
//! and the same task through these functions, so that they also agree on their effects.
//!
//! Everything an effect does is recorded in [`Env`], and [`Env`]'s switches make the receipt
//! fail or panic, or the courier deliver at once, so that tests can see and steer it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use machine_core::{ActionCtx, Actions, DurableAction, EffectError, Machine, Scope};

/// What the order's effects use: logs of what they did, and switches for their failures.
#[derive(Debug, Default)]
pub struct Env {
    /// What the plain actions did, one line each: `receipt {amount}`, `shipped {tracking}`.
    pub log: Mutex<Vec<String>>,
    /// What the durable [`LedgerEntry`] action saw: its key, attempt and amount.
    pub ledger: Mutex<Vec<String>>,
    /// When set, the `send receipt` action fails.
    pub fail_receipt: AtomicBool,
    /// When set, the `send receipt` action panics.
    pub panic_receipt: AtomicBool,
    /// How many times the `courier` task started.
    pub courier_started: AtomicUsize,
    /// How many times a running `courier` task was cancelled.
    pub courier_cancelled: AtomicUsize,
    /// When set, the courier task finishes at once with this tracking number.
    pub courier_tracking: Mutex<Option<String>>,
}

impl Env {
    /// A copy of [`Env::log`].
    pub fn log(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A copy of [`Env::ledger`].
    pub fn ledger(&self) -> Vec<String> {
        self.ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The durable action of a payment: without a persistence layer it runs once, like a plain
/// action; with one, it is stored with the event and retried until it succeeds.
#[derive(Debug)]
pub struct LedgerEntry {
    /// The amount paid.
    pub amount: u64,
}

impl<M: Machine<Env = Env>> DurableAction<M> for LedgerEntry {
    const NAME: &'static str = "ledger entry";

    async fn perform(self, ctx: ActionCtx<M>) -> Result<(), EffectError> {
        let line = format!(
            "{} attempt {} amount {}",
            ctx.key(),
            ctx.attempt(),
            self.amount
        );
        ctx.env()
            .ledger
            .lock()
            .map_err(|_| "the ledger is poisoned")?
            .push(line);
        Ok(())
    }
}

/// The actions of a payment of `amount`, in this order: the durable [`LedgerEntry`], then
/// `send receipt`, which logs `receipt {amount}` (or fails, or panics, as [`Env`] says).
pub fn payment_actions<M: Machine<Env = Env>>(amount: u64, actions: &mut Actions<M>) {
    actions.durable(LedgerEntry { amount });
    actions.run("send receipt", move |ctx| async move {
        let env = ctx.env();
        if env.panic_receipt.load(Ordering::SeqCst) {
            panic!("receipt printer on fire");
        }
        if env.fail_receipt.load(Ordering::SeqCst) {
            return Err("mail server down".into());
        }
        env.log
            .lock()
            .map_err(|_| "the log is poisoned")?
            .push(format!("receipt {amount}"));
        Ok(())
    });
}

/// The action of a shipment: `notify shipped`, which takes a little while, then logs
/// `shipped {tracking}`.
pub fn shipment_actions<M: Machine<Env = Env>>(tracking: String, actions: &mut Actions<M>) {
    actions.run("notify shipped", move |ctx| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        ctx.env()
            .log
            .lock()
            .map_err(|_| "the log is poisoned")?
            .push(format!("shipped {tracking}"));
        Ok(())
    });
}

/// Declares the `courier` task of a paid order. It counts its start; with
/// [`Env::courier_tracking`] set it finishes at once with the event `ship(tracking)`, otherwise
/// it waits forever, and counts its cancellation when the state is left.
pub fn courier<M: Machine<Env = Env>>(scope: &mut Scope<M>, ship: fn(String) -> M::Event) {
    scope.task("courier", move |ctx| async move {
        let env = ctx.env_arc();
        env.courier_started.fetch_add(1, Ordering::SeqCst);
        let tracking = env
            .courier_tracking
            .lock()
            .map_err(|_| "the courier's tracking number is poisoned")?
            .clone();
        if let Some(tracking) = tracking {
            return Ok(ship(tracking));
        }
        // Leaving the state drops this future, and with it the guard.
        let _guard = CountsCancellation(env);
        std::future::pending().await
    });
}

/// Counts a cancellation of the courier when dropped.
struct CountsCancellation(Arc<Env>);

impl Drop for CountsCancellation {
    fn drop(&mut self) {
        self.0.courier_cancelled.fetch_add(1, Ordering::SeqCst);
    }
}
