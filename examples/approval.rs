//! An expense approval that waits for a human, for as long as it takes, at no cost while it
//! waits, across restarts.
//!
//! Two expenses are submitted. `exp-1` waits up to a day for a manager; `exp-2` only two
//! seconds, after which it is escalated to the finance team. Both actors passivate (leave
//! memory) once idle, and the process exits. While no process runs, `exp-2`'s two seconds run
//! out. The second run starts on the same database without restoring anything by hand: the
//! timer service escalates `exp-2` at once, and the manager's approval of `exp-1` activates it
//! from storage and completes it.
//!
//! ```text
//! cargo run --example approval            # runs both phases as child processes of itself
//! cargo run --example approval -- submit  # or each phase by hand, on ./approval.db
//! cargo run --example approval -- approve
//! ```

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::time::Duration;

use machine::core::Step;
use machine::core::{Actions, Effects, Scope};
use machine::persist::PersistError;
use machine::prelude::*;
use serde::{Deserialize, Serialize};

/// What an expense can be told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Event)]
enum ExpenseEvent {
    /// A manager approves.
    Approve { by: String },
    /// A manager rejects.
    Reject { by: String },
    /// Nobody decided in time (the state timeout).
    Escalate,
}

/// One expense claim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
#[machine(event = ExpenseEvent, effects)]
enum Expense {
    /// Waiting for a manager, at most `window_ms`.
    #[initial]
    #[on(Approve => Approved, Reject => Rejected, Escalate => Escalated)]
    Pending {
        title: String,
        amount: u64,
        window_ms: u64,
    },
    /// Nobody decided in time: finance decides.
    #[on(Approve => Approved, Reject => Rejected)]
    Escalated { title: String, amount: u64 },
    #[terminal]
    Approved { title: String, by: String },
    #[terminal]
    Rejected { title: String, by: String },
}

impl ExpenseTransitions for Expense {
    fn pending_approve(
        title: &String,
        _: &u64,
        _: &u64,
        approve: ExpenseEventApprove<'_>,
    ) -> Result<ExpensePendingOnApprove, Infallible> {
        Ok(ExpensePendingOnApprove::Approved {
            title: title.clone(),
            by: approve.by.clone(),
        })
    }

    fn pending_reject(
        title: &String,
        _: &u64,
        _: &u64,
        reject: ExpenseEventReject<'_>,
    ) -> Result<ExpensePendingOnReject, Infallible> {
        Ok(ExpensePendingOnReject::Rejected {
            title: title.clone(),
            by: reject.by.clone(),
        })
    }

    fn pending_escalate(
        title: &String,
        amount: &u64,
        _: &u64,
        _: ExpenseEventEscalate<'_>,
    ) -> Result<ExpensePendingOnEscalate, Infallible> {
        Ok(ExpensePendingOnEscalate::Escalated {
            title: title.clone(),
            amount: *amount,
        })
    }

    fn escalated_approve(
        title: &String,
        _: &u64,
        approve: ExpenseEventApprove<'_>,
    ) -> Result<ExpenseEscalatedOnApprove, Infallible> {
        Ok(ExpenseEscalatedOnApprove::Approved {
            title: title.clone(),
            by: approve.by.clone(),
        })
    }

    fn escalated_reject(
        title: &String,
        _: &u64,
        reject: ExpenseEventReject<'_>,
    ) -> Result<ExpenseEscalatedOnReject, Infallible> {
        Ok(ExpenseEscalatedOnReject::Rejected {
            title: title.clone(),
            by: reject.by.clone(),
        })
    }
}

impl Effects for Expense {
    /// The approval window is data, so each claim can have its own.
    fn enter(&self, scope: &mut Scope<Self>) {
        if let Expense::Pending { window_ms, .. } = self {
            scope.timeout(Duration::from_millis(*window_ms), ExpenseEvent::Escalate);
        }
    }

    /// Tell finance once an escalation is committed (runs once, never on restore).
    fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
        if let Expense::Escalated { title, amount } = step.to {
            let text = format!("escalated to finance: {title} ({amount})");
            actions.run("notify finance", move |ctx| async move {
                println!("  [{}] {text}", ctx.id());
                Ok(())
            });
        }
    }
}

const DAY_MS: u64 = 24 * 3600 * 1000;
pub(crate) const SHORT_WINDOW: Duration = Duration::from_secs(2);

/// Expenses passivate after half a second idle.
fn config() -> PersistConfig<Expense> {
    PersistConfig::new().passivate_after(Duration::from_millis(500))
}

/// Phase 1: submit both claims, let them passivate, exit.
pub(crate) async fn submit(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(path).await?;
    let system = PersistentSystem::new(store.clone());
    let expenses = system.repository(config(), ());
    for (id, title, amount, window_ms) in [
        ("exp-1", "conference trip", 1_200, DAY_MS),
        ("exp-2", "team dinner", 300, SHORT_WINDOW.as_millis() as u64),
    ] {
        let pending = Expense::Pending {
            title: title.into(),
            amount,
            window_ms,
        };
        expenses.spawn(id, pending).await?;
        println!("submitted {id}: {title} ({amount}), waiting up to {window_ms} ms");
    }
    while expenses.active() > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "both passivated: nothing in memory, both waiting in {}",
        path.display()
    );
    system.shutdown().await;
    store.close().await;
    Ok(())
}

/// Phase 2: start on the same database; the manager approves `exp-1`.
pub(crate) async fn approve(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let store = SqliteStore::open(path).await?;
    let system = PersistentSystem::new(store.clone());
    // Nothing is restored by hand: the repository's timer service finds `exp-2` overdue.
    let expenses = system.repository(config(), ());
    let escalated = async {
        loop {
            let at = expenses.metadata("exp-2").await?;
            if at.is_some_and(|meta| meta.state_tag == "Escalated") {
                return Ok::<_, PersistError>(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), escalated).await??;
    println!("exp-2 timed out while the process was down, and was escalated on start");

    // The approval activates `exp-1` from storage, exactly where it waited.
    let approval = ExpenseEvent::Approve {
        by: "manager".into(),
    };
    match expenses.call("exp-1", approval).await? {
        Outcome::Next(state) => println!("exp-1 approved after the restart: {state:?}"),
        other => println!("exp-1: {other:?}"),
    }
    system.shutdown().await;
    store.close().await;
    Ok(())
}

/// Runs this example again as a child process for one phase.
fn run_phase(phase: &str, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let status = std::process::Command::new(std::env::current_exe()?)
        .arg(phase)
        .env("APPROVAL_DB", path)
        .status()?;
    if !status.success() {
        return Err(format!("phase {phase} failed: {status}").into());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(std::env::var("APPROVAL_DB").unwrap_or_else(|_| "approval.db".into()));
    let runtime = tokio::runtime::Runtime::new()?;
    match std::env::args().nth(1).as_deref() {
        Some("submit") => runtime.block_on(submit(&path)),
        Some("approve") => runtime.block_on(approve(&path)),
        Some(other) => Err(format!("unknown phase {other:?}: use submit or approve").into()),
        None => {
            for file in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{file}", path.display()));
            }
            println!("-- process 1");
            run_phase("submit", &path)?;
            println!("-- no process runs for 3 s; exp-2's window closes meanwhile");
            std::thread::sleep(SHORT_WINDOW + Duration::from_secs(1));
            println!("-- process 2");
            run_phase("approve", &path)
        }
    }
}
