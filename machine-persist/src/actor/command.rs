//! Idempotent commands: [`PersistentRef::call_command`] and [`PersistentRef::send_command`].
//!
//! A command id travels with its event to the journal ([`Commit::commands`](machine_core::Commit::commands))
//! and is recorded in the transaction of the event, with the event's fingerprint. A repeat of
//! the command, from this process after a restart or from another process on the store, finds
//! the record and is answered with the first outcome (the state that event led to, read from
//! the journal) instead of being applied again; the same id with another event is
//! [`PersistError::CommandConflict`]. Records count for the configured window
//! ([`PersistConfig::command_window`](crate::PersistConfig::command_window)).
//!
//! The store refuses a request whose command id is already recorded (under its write lock on
//! SQLite, in the statement that checks the expected version on Postgres), so two senders
//! racing with one id never both apply it: the loser hears the first outcome. Within one
//! process, calls with one id are single-flight, so they never race in one batch. The journal
//! writer's own retries after a commit whose answer was lost are recognised by the request id
//! they carry, before any command check, so a stored command is reported as stored, never as a
//! duplicate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use machine_core::{ActorId, Outcome};

use super::journaled::command_cutoff;
use super::PersistentRef;
use crate::store::{fingerprint, MAX_COMMAND_ID_BYTES};
use crate::{PersistError, Persistable};

/// An actor and a command id.
type Key = (ActorId, String);

/// The turn of one command id: held while it is looked up and sent.
type Flight = Arc<tokio::sync::Mutex<()>>;

/// The commands being sent from this process, by actor and id: one at a time per id.
#[derive(Default)]
pub(crate) struct Flights {
    running: Mutex<HashMap<Key, Flight>>,
}

impl Flights {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Flight>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The flight of `key`, joined or started.
    fn join(&self, key: &Key) -> Flight {
        Arc::clone(self.lock().entry(key.clone()).or_default())
    }

    /// Forgets `key` once nobody else is in its flight.
    fn leave(&self, key: &Key, flight: Flight) {
        let mut running = self.lock();
        // The map's reference and ours: nobody else waits.
        if Arc::strong_count(&flight) <= 2 {
            running.remove(key);
        }
    }
}

fn check(command_id: &str) -> Result<(), PersistError> {
    if command_id.is_empty() || command_id.len() > MAX_COMMAND_ID_BYTES {
        return Err(PersistError::InvalidCommandId(command_id.to_owned()));
    }
    Ok(())
}

impl<M: Persistable> PersistentRef<M> {
    /// Sends `event` as command `command_id` and waits for its outcome, applying it at most
    /// once per id within the window: if the command was applied to this actor before (by this
    /// process, before a restart, or by another process on the store), its first outcome is
    /// returned (`Outcome::Next` with the state its event led to) and nothing is applied. The
    /// same id with another event is [`PersistError::CommandConflict`]. An event the machine
    /// refuses (unhandled, rejected) is not journaled, so its id stays free.
    ///
    /// ```
    /// # use machine_persist::{MemoryStore, PersistConfig, PersistentSystem, Persistable};
    /// # async fn demo<M: Persistable>(order: machine_persist::PersistentRef<M>, pay: M::Event) -> Result<(), machine_persist::PersistError>
    /// # where M::Event: Clone, M: PartialEq {
    /// let first = order.call_command("checkout-7f3a", pay.clone()).await?;
    /// // The client timed out and sends again: same answer, applied once.
    /// let again = order.call_command("checkout-7f3a", pay).await?;
    /// assert_eq!(first.into_state(), again.into_state());
    /// # Ok(()) }
    /// ```
    pub async fn call_command(
        &self,
        command_id: impl Into<String>,
        event: M::Event,
    ) -> Result<Outcome<M, M::Error>, PersistError> {
        let command_id = command_id.into();
        check(&command_id)?;
        self.refuse_if_rewound()?;
        let print = self.fingerprint(&event)?;
        let key = (self.key.clone(), command_id);
        let flight = self.shared.commands.join(&key);
        let result = {
            let _turn = flight.lock().await;
            // No lookup first: an event the actor accepts is refused by the store if its command
            // is recorded (atomically, under the store's lock), and only then is the first
            // outcome read; an event the actor refuses may be a repeat its state has moved past,
            // and a failure may come from another process's write, so the record is looked up
            // before either is reported.
            match self
                .run(|actor| {
                    let (command_id, event) = (key.1.clone(), event.clone());
                    async move { actor.call_command(command_id.as_str(), event).await }
                })
                .await
            {
                Ok(outcome) if outcome.is_accepted() => Ok(outcome),
                Ok(refused) => Ok(self.first_outcome(&key.1, &print).await?.unwrap_or(refused)),
                // Applied before (by this process before a restart, or by another process, which
                // may also have moved the actor past this one's view): its first outcome is the
                // answer.
                Err(error) => self.first_outcome(&key.1, &print).await?.ok_or(error),
            }
        };
        self.shared.commands.leave(&key, flight);
        result
    }

    /// Sends `event` as command `command_id` without waiting for its outcome: nothing is sent
    /// if the command was applied before (within the window); the same id with another event
    /// is [`PersistError::CommandConflict`]. Two `send_command`s of one id in flight at once
    /// may both fail (reported to the observer); use [`call_command`](Self::call_command) when
    /// repeats can overlap.
    pub async fn send_command(
        &self,
        command_id: impl Into<String>,
        event: M::Event,
    ) -> Result<(), PersistError> {
        let command_id = command_id.into();
        check(&command_id)?;
        self.refuse_if_rewound()?;
        let print = self.fingerprint(&event)?;
        if self.first_outcome(&command_id, &print).await?.is_some() {
            return Ok(());
        }
        self.run(|actor| {
            let (command_id, event) = (command_id.clone(), event.clone());
            async move { actor.send_command(command_id, event).await }
        })
        .await
    }

    fn fingerprint(&self, event: &M::Event) -> Result<String, PersistError> {
        let encoded = self
            .shared
            .payloads
            .event(event, &self.shared.config.metadata)?;
        Ok(fingerprint(&encoded.tag, &encoded.payload))
    }

    /// The outcome of the first application of `command_id`, if it is recorded and within the
    /// window; a conflict if it was applied with another event.
    async fn first_outcome(
        &self,
        command_id: &str,
        print: &str,
    ) -> Result<Option<Outcome<M, M::Error>>, PersistError> {
        let shared = &self.shared;
        let Some(stored) = shared
            .runtime
            .store
            .find_command(&self.key, command_id)
            .await?
        else {
            return Ok(None);
        };
        if stored.recorded_at < command_cutoff(shared.config.command_window) {
            return Ok(None);
        }
        if stored.fingerprint != print {
            return Err(PersistError::CommandConflict {
                actor_id: self.key.clone(),
                command_id: command_id.to_owned(),
                version: stored.version,
            });
        }
        let folded = shared.loader().state_at(&self.key, stored.version).await?;
        Ok(Some(Outcome::Next(folded.state)))
    }
}
