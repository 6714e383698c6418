//! A turnstile whose every move is journaled to SQLite. Run it twice: the second run restores
//! the turnstile where the first left it and carries on.
//!
//! ```text
//! cargo run --example quickstart              # uses ./quickstart.db
//! cargo run --example quickstart -- other.db  # or QUICKSTART_DB=other.db
//! ```

use std::convert::Infallible;

use machine::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, Event)]
enum TurnstileEvent {
    Coin,
    Push,
}

#[derive(Clone, Debug, Serialize, Deserialize, Machine)]
#[machine(event = TurnstileEvent)]
enum Turnstile {
    #[initial]
    #[on(Coin => Unlocked)]
    Locked { passes: u64 },
    #[on(Push => Locked)]
    Unlocked { passes: u64 },
}

// One handler per `#[on]` rule; each may only return the targets its rule declares.
impl TurnstileTransitions for Turnstile {
    fn locked_coin(
        passes: &u64,
        _: TurnstileEventCoin<'_>,
    ) -> Result<TurnstileLockedOnCoin, Infallible> {
        Ok(TurnstileLockedOnCoin::Unlocked { passes: *passes })
    }

    fn unlocked_push(
        passes: &u64,
        _: TurnstileEventPush<'_>,
    ) -> Result<TurnstileUnlockedOnPush, Infallible> {
        Ok(TurnstileUnlockedOnPush::Locked { passes: passes + 1 })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("QUICKSTART_DB").ok())
        .unwrap_or_else(|| "quickstart.db".to_owned());
    let store = SqliteStore::open(&path).await?;
    let system = PersistentSystem::new(store.clone());
    let turnstiles = system.repository(PersistConfig::<Turnstile>::new(), ());

    let gate = match turnstiles.restore("gate-1").await? {
        Some(gate) => {
            let at = gate.status().await?;
            println!(
                "restored gate-1 from {path} at version {} in state {:?}",
                at.version, at.state
            );
            gate
        }
        None => {
            println!("no gate-1 in {path} yet: starting it");
            turnstiles
                .spawn("gate-1", Turnstile::Locked { passes: 0 })
                .await?
        }
    };

    for event in [
        TurnstileEvent::Push,
        TurnstileEvent::Coin,
        TurnstileEvent::Push,
    ] {
        // `call` answers once the event is committed to the database.
        match gate.call(event.clone()).await? {
            Outcome::Next(state) => {
                println!(
                    "{event:?}: now {state:?} (version {})",
                    gate.version().await?
                );
            }
            Outcome::Unhandled => println!("{event:?}: ignored in this state, not journaled"),
            Outcome::Rejected(never) => match never {}, // no guards: `Infallible`
        }
    }

    system.shutdown().await; // stops the actors, flushes the journal
    store.close().await;
    println!("stopped; run me again to continue from {path}");
    Ok(())
}
