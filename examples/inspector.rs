//! The web inspector on the quickstart's database: the turnstile's every version, its
//! statechart, and new events appearing live.
//!
//! ```text
//! cargo run --example quickstart              # writes ./quickstart.db
//! cargo run --example inspector               # serves http://127.0.0.1:7878/
//! cargo run --example inspector -- other.db   # or QUICKSTART_DB=other.db
//! ```
//!
//! It restores `gate-1` (or starts it), then moves it every few seconds so the page has
//! something to follow. Rewinding from the page is enabled here: press "Rewind live actor
//! here" on an old version, and the turnstile refuses coins until "Resume at head". Stop with
//! Ctrl-C.

use std::convert::Infallible;
use std::time::Duration;

use machine::persist::inspect::Inspector;
use machine::prelude::*;
use serde::{Deserialize, Serialize};

// The quickstart's turnstile: same name and shape, so this reads what it wrote.
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
        Some(gate) => gate,
        None => {
            turnstiles
                .spawn("gate-1", Turnstile::Locked { passes: 0 })
                .await?
        }
    };

    let server = Inspector::new()
        .register(&turnstiles)
        .allow_rewind(true)
        .serve("127.0.0.1:7878")
        .await?;
    println!("inspecting {path} at {}", server.url());

    let mut ticks = tokio::time::interval(Duration::from_secs(3));
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let event = match gate.state().await? {
                    Turnstile::Locked { .. } => TurnstileEvent::Coin,
                    Turnstile::Unlocked { .. } => TurnstileEvent::Push,
                };
                // While the page has the turnstile rewound it refuses events: skip the beat.
                if let Err(refused) = gate.call(event).await {
                    println!("{refused}");
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.shutdown().await?;
    system.shutdown().await;
    store.close().await;
    Ok(())
}
