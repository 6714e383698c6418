//! Time travel over a journaled actor: its history, its state at any version, and rewinding the
//! live actor to inspect an old state, then resuming it.
//!
//! ```text
//! cargo run --example time_travel
//! ```
//!
//! The journal lives in a temporary SQLite file, deleted at the end. Time travel never rewrites
//! the journal: it folds the stored events through the same handlers, without effects.

use futures::TryStreamExt;
use machine::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, Event)]
enum AccountEvent {
    Deposit { amount: u64 },
    Withdraw { amount: u64 },
    Freeze,
    Unfreeze,
}

#[derive(Debug, thiserror::Error)]
enum AccountError {
    #[error("insufficient funds: balance {balance}, asked {asked}")]
    InsufficientFunds { balance: u64, asked: u64 },
}

#[derive(Clone, Debug, Serialize, Deserialize, Machine)]
#[machine(event = AccountEvent, error = AccountError)]
enum Account {
    #[initial]
    #[on(Deposit => Open, Withdraw => Open, Freeze => Frozen)]
    Open { balance: u64 },
    #[on(Unfreeze => Open)]
    Frozen { balance: u64 },
}

impl AccountTransitions for Account {
    fn open_deposit(
        balance: &u64,
        deposit: AccountEventDeposit<'_>,
    ) -> Result<AccountOpenOnDeposit, AccountError> {
        Ok(AccountOpenOnDeposit::Open {
            balance: balance + deposit.amount,
        })
    }

    fn open_withdraw(
        balance: &u64,
        withdraw: AccountEventWithdraw<'_>,
    ) -> Result<AccountOpenOnWithdraw, AccountError> {
        let (balance, asked) = (*balance, *withdraw.amount);
        match balance.checked_sub(asked) {
            Some(balance) => Ok(AccountOpenOnWithdraw::Open { balance }),
            None => Err(AccountError::InsufficientFunds { balance, asked }),
        }
    }

    fn open_freeze(
        balance: &u64,
        _: AccountEventFreeze<'_>,
    ) -> Result<AccountOpenOnFreeze, AccountError> {
        Ok(AccountOpenOnFreeze::Frozen { balance: *balance })
    }

    fn frozen_unfreeze(
        balance: &u64,
        _: AccountEventUnfreeze<'_>,
    ) -> Result<AccountFrozenOnUnfreeze, AccountError> {
        Ok(AccountFrozenOnUnfreeze::Open { balance: *balance })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let system = PersistentSystem::new(SqliteStore::open(dir.path().join("accounts.db")).await?);
    let accounts = system.repository(PersistConfig::<Account>::new(), ());
    let account = accounts
        .spawn("acc-1", Account::Open { balance: 0 })
        .await?;

    use AccountEvent::*;
    for event in [
        Deposit { amount: 100 },
        Withdraw { amount: 30 },
        Deposit { amount: 50 },
        Freeze,
        Unfreeze,
        Withdraw { amount: 500 }, // rejected by the guard: not journaled
        Withdraw { amount: 20 },
    ] {
        if let Outcome::Rejected(error) = account.call(event.clone()).await? {
            println!("{event:?} rejected: {error}");
        }
    }
    let head = account.version().await?;
    println!("acc-1 is at version {head}: {:?}\n", account.state().await?);

    println!("history(1..={head}):");
    let history: Vec<_> = account.history(1..=head).try_collect().await?;
    for entry in &history {
        let at = entry.recorded_at.format("%Y-%m-%d %H:%M:%S%.3f");
        println!(
            "  v{} {at}  {:<28} -> {:?}",
            entry.version,
            format!("{:?}", entry.event),
            entry.state
        );
    }

    println!(
        "\nstate_at(3), from the journal: {:?}",
        account.state_at(3).await?
    );

    let rewound = account.replay_to(2).await?;
    let snapshot = account.status().await?;
    println!(
        "replay_to(2): the live actor shows {rewound:?} (version {}, head {})",
        snapshot.version, snapshot.head
    );
    match account.call(Deposit { amount: 1 }).await {
        Err(refused) => println!("a new event while rewound is refused: {refused}"),
        Ok(outcome) => println!("unexpected: the rewound actor accepted an event: {outcome:?}"),
    }

    account.resume().await?;
    println!(
        "resume(): back at version {} in {:?}",
        account.version().await?,
        account.state().await?
    );
    if let Outcome::Next(state) = account.call(Deposit { amount: 5 }).await? {
        let version = account.version().await?;
        println!("and continues: Deposit {{ amount: 5 }} -> {state:?} at version {version}");
    }

    system.shutdown().await;
    Ok(())
}
