//! Effects that survive a crash: an order's "charge card" is a durable action.
//!
//! The example runs twice over one SQLite file, the first time in a child process that it
//! kills with SIGKILL right after the orders are committed, while their charges are still
//! failing and being retried; then it runs again in this process. The second run finds the
//! charges the first one left behind and finishes them:
//!
//! * every committed charge is attempted until it succeeds: the gateway is flaky (every first
//!   attempt times out) and idempotent by the action's key, as real payment APIs are;
//! * each charge succeeds exactly once, whatever was repeated across the crash;
//! * the card of `order-3` is always declined: once its retries run out, the charge is
//!   dead-lettered and the order receives `ChargeFailed` with the cause, and refunds.
//!
//! ```text
//! cargo run --example durable_effects             # in a fresh temporary directory
//! cargo run --example durable_effects -- shop.db  # or a file of your choice (reset first)
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use machine::core::SerializedCause;
use machine::core::{ActionCtx, Actions, DurableAction, Effects};
use machine::core::{EffectError, Step};
use machine::persist::dispatch::{DispatchConfig, DurablePolicy};
use machine::persist::store::{ActionStatus, Outbox};
use machine::persist::Repository;
use machine::prelude::*;
use serde::{Deserialize, Serialize};

const ORDERS: usize = 6;
const DECLINED: &str = "order-3";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Event)]
enum OrderEvent {
    Pay { cents: u64 },
    ChargeFailed { cause: SerializedCause },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
#[machine(event = OrderEvent, env = Gateway, effects)]
enum Order {
    #[initial]
    #[on(Pay => Charged)]
    Pending,
    #[on(ChargeFailed => Refunded)]
    Charged {
        cents: u64,
    },
    Refunded {
        reason: String,
    },
}

impl OrderTransitions for Order {
    fn pending_pay(pay: OrderEventPay<'_>) -> Result<OrderPendingOnPay, std::convert::Infallible> {
        Ok(OrderPendingOnPay::Charged { cents: *pay.cents })
    }

    fn charged_charge_failed(
        _cents: &u64,
        failed: OrderEventChargeFailed<'_>,
    ) -> Result<OrderChargedOnChargeFailed, std::convert::Infallible> {
        Ok(OrderChargedOnChargeFailed::Refunded {
            reason: failed.cause.to_string(),
        })
    }
}

impl Effects for Order {
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if let OrderEvent::Pay { cents } = step.event {
            // Stored in the transaction of the `Pay` event: it exists exactly when the event does.
            actions.durable(ChargeCard { cents: *cents });
        }
    }
}

/// The durable action: what it needs is its value; its key comes with every attempt.
#[derive(Debug, Serialize, Deserialize)]
struct ChargeCard {
    cents: u64,
}

impl DurableAction<Order> for ChargeCard {
    const NAME: &'static str = "charge card";

    async fn perform(self, ctx: ActionCtx<Order>) -> Result<(), EffectError> {
        let _ = self.cents; // what a real gateway would be asked to charge
        ctx.env()
            .charge(&ctx.key().to_string(), ctx.id().as_str(), ctx.attempt())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the card was declined")]
struct Declined(#[source] std::io::Error);

/// A payment gateway that keeps its ledger in a file, charges each idempotency key at most
/// once, times out on every first attempt and always declines one card.
struct Gateway {
    ledger: PathBuf,
}

impl Gateway {
    fn charge(&self, key: &str, order: &str, attempt: u32) -> Result<(), EffectError> {
        self.append("attempt", key)?;
        if order == DECLINED {
            return Err(Box::new(Declined(std::io::Error::other("do not honour"))));
        }
        if attempt == 1 {
            return Err("the issuer timed out".into());
        }
        if self
            .entries()?
            .contains(&("charged".to_owned(), key.to_owned()))
        {
            return Ok(()); // charged before: the key makes the repeat harmless
        }
        self.append("charged", key)?;
        Ok(())
    }

    /// Appends one line, in one write, so a killed process leaves whole lines.
    fn append(&self, kind: &str, key: &str) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.ledger)?;
        file.write_all(format!("{kind}\t{key}\n").as_bytes())
    }

    /// The ledger's lines as (kind, key).
    fn entries(&self) -> std::io::Result<Vec<(String, String)>> {
        let text = match std::fs::read_to_string(&self.ledger) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => return Err(error),
        };
        Ok(text
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(kind, key)| (kind.to_owned(), key.to_owned()))
            .collect())
    }
}

/// The orders of one run: the same owner name each time, so a restart takes back the charges
/// its predecessor had claimed at once instead of waiting for their leases to end.
async fn open(
    db: &Path,
) -> Result<(PersistentSystem, Repository<Order>), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(db).await?;
    let system = PersistentSystem::builder(store)
        .dispatch(
            DispatchConfig::default()
                .owner("shop-1")
                .poll_interval(Duration::from_millis(100)),
        )
        .build();
    let policy = DurablePolicy::<Order, ChargeCard>::new()
        .retry(Schedule::spaced(Duration::from_millis(300)).intersect(Schedule::recurs(4)))
        .on_failed(|_charge, cause| OrderEvent::ChargeFailed {
            cause: cause.clone(),
        });
    let gateway = Gateway {
        ledger: db.with_extension("ledger"),
    };
    let orders = system.repository(PersistConfig::<Order>::new().durable(policy), gateway);
    Ok((system, orders))
}

/// The first run, in a child process: commit every order's payment, then wait to be killed.
async fn first_run(db: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (_system, orders) = open(db).await?;
    for n in 0..ORDERS {
        let id = format!("order-{n}");
        let order = orders.spawn(id.as_str(), Order::Pending).await?;
        let paid = order
            .call(OrderEvent::Pay {
                cents: 1_000 + n as u64,
            })
            .await?;
        assert!(paid.is_accepted());
        println!("committed {id}: Pay, and its charge with it");
    }
    println!("all committed");
    std::future::pending::<()>().await;
    Ok(())
}

/// The second run: the charges left behind are finished; then everything is shown.
async fn second_run(db: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (system, orders) = open(db).await?;
    let ids: Vec<String> = (0..ORDERS).map(|n| format!("order-{n}")).collect();
    loop {
        let mut pending = 0;
        for id in &ids {
            for action in orders.actions(id.as_str()).await? {
                pending += usize::from(action?.status == ActionStatus::Pending);
            }
        }
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The compensation of the declined card is an event of its order.
    let refunded = orders
        .get(DECLINED)
        .ok_or("the declined order was restored for its feedback")?;
    refunded
        .wait_for(|state| matches!(state, Order::Refunded { .. }))
        .await?;

    let gateway = Gateway {
        ledger: db.with_extension("ledger"),
    };
    let mut counts: HashMap<(String, String), usize> = HashMap::new();
    for entry in gateway.entries()? {
        *counts.entry(entry).or_default() += 1;
    }
    let count = |kind: &str, key: &str| {
        counts
            .get(&(kind.to_owned(), key.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    println!("\nafter the second run:");
    for id in &ids {
        let head = orders
            .metadata(id.as_str())
            .await?
            .ok_or("a stored order")?
            .version;
        let state = orders.state_at(id.as_str(), head).await?;
        let action = orders.actions(id.as_str()).await?.remove(0)?;
        let key = action.key.to_string();
        let charged = count("charged", &key);
        println!(
            "  {id}: {state:?}\n    `{key}`: {:?} after {} recorded attempts ({} seen by the gateway), charged {charged} time(s){}",
            action.status,
            action.attempts,
            count("attempt", &key),
            action
                .last_cause
                .map(|cause| format!("; last failure: {cause}"))
                .unwrap_or_default(),
        );
        if charged != usize::from(id != DECLINED) {
            return Err(format!("{key} was charged {charged} times").into());
        }
    }
    system.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    if let Some("--first-run") = args.next().as_deref() {
        let db = PathBuf::from(args.next().ok_or("--first-run needs the database")?);
        return first_run(&db).await;
    }
    let dir = tempfile_dir()?;
    let db = std::env::args()
        .nth(1)
        .map_or_else(|| dir.join("shop.db"), PathBuf::from);
    for stale in [db.clone(), db.with_extension("ledger")] {
        let _ = std::fs::remove_file(stale);
    }

    println!("first run, in a child process ({}):", db.display());
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--first-run")
        .arg(&db)
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("  {line}");
        if line == "all committed" {
            break;
        }
    }
    child.kill()?; // SIGKILL: no shutdown, charges mid-retry
    child.wait()?;
    println!("killed it (SIGKILL); what it left in the store:");
    let store = SqliteStore::open(&db).await?;
    for n in 0..ORDERS {
        for action in store.actions(&format!("order-{n}").into()).await? {
            let action = action?;
            println!(
                "  `{}`: {:?} after {} attempts, claimed by `{}`",
                action.key, action.status, action.attempts, action.claimed_by
            );
        }
    }
    store.close().await;

    println!("\nsecond run, in this process:");
    second_run(&db).await
}

/// A fresh directory for the database, under the system's temporary directory.
fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("durable_effects-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
