//! The order workflow, in memory: a payment guard, a state task that packs and ships, a
//! transition action that mails the customer, and a payment timeout.
//!
//! ```text
//! cargo run --example order
//! ```
//!
//! The program runs on tokio's paused clock, so the 15-minute payment window and the packing
//! time pass in an instant (tokio jumps the clock ahead whenever every task is waiting on a
//! timer). A service runs the same code on the real clock.

mod model;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use machine::core::{ActorError, ActorRef};
use machine::prelude::*;
use model::{Order, OrderEvent, Shop};
use tokio::task::JoinHandle;
use tokio::time::Instant;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "The order machine, as a Mermaid diagram:\n\n{}",
        Order::mermaid()
    );

    let system = ActorSystem::new();
    let shop = Arc::new(Shop::new(Duration::from_secs(2 * 3600)));
    let start = Instant::now();

    println!("o-1: paid, packed by a state task, shipped");
    let order = system.spawn("o-1", Order::new("o-1"), Arc::clone(&shop))?;
    let log = print_transitions(&order).await?;
    call(
        &order,
        OrderEvent::Ship {
            tracking: "TRACK-000".into(),
        },
    )
    .await?;
    call(&order, OrderEvent::Pay { amount: 0 }).await?;
    call(&order, OrderEvent::Pay { amount: 30 }).await?;
    let shipped = order.wait_for(Order::is_final).await?;
    log.await?;
    println!(
        "  final: {shipped:?}, {} minutes later\n",
        start.elapsed().as_secs() / 60
    );

    println!("o-2: never paid, cancelled by its timeout");
    let start = Instant::now();
    let order = system.spawn("o-2", Order::new("o-2"), Arc::clone(&shop))?;
    let log = print_transitions(&order).await?;
    let cancelled = order.wait_for(Order::is_final).await?;
    log.await?;
    println!(
        "  final: {cancelled:?}, {} minutes later\n",
        start.elapsed().as_secs() / 60
    );

    println!("o-3: paid, then cancelled while packing (the packing task is cancelled)");
    let order = system.spawn("o-3", Order::new("o-3"), Arc::clone(&shop))?;
    let log = print_transitions(&order).await?;
    call(&order, OrderEvent::Pay { amount: 12 }).await?;
    call(
        &order,
        OrderEvent::Cancel {
            reason: "changed my mind".into(),
        },
    )
    .await?;
    log.await?;

    system.shutdown().await;
    println!(
        "\n{} mails sent; every actor reached a final state and stopped",
        shop.outbox().len()
    );
    Ok(())
}

/// Sends `event` and prints what the order made of it.
async fn call(order: &ActorRef<Order>, event: OrderEvent) -> Result<(), ActorError> {
    match order.call(event.clone()).await? {
        Outcome::Next(_) => {}
        Outcome::Unhandled => println!("  {event:?}: no transition declared in this state"),
        Outcome::Rejected(error) => println!("  {event:?}: rejected: {error}"),
    }
    Ok(())
}

/// Prints every committed transition of `order` until it stops.
async fn print_transitions(order: &ActorRef<Order>) -> Result<JoinHandle<()>, ActorError> {
    let mut transitions = order.transitions().await?;
    Ok(tokio::spawn(async move {
        while let Some(step) = transitions.next().await {
            let (from, event, to) = (step.from.tag(), step.event.tag(), step.to.tag());
            println!("  v{} {from} --{event}--> {to}", step.version);
        }
    }))
}
