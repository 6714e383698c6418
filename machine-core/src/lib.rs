//! # machine-core
//!
//! Typed state machines that run as tokio actors.
//!
//! * [`Machine`]: a state type, an event type, pure transitions, declared effects.
//! * [`ActorSystem`] / [`ActorRef`]: run instances by id; `send`, `call`, `state`, `changes`,
//!   `transitions`, `wait_for`, `stop`.
//! * Effects ([`Actions`], [`Scope`], [`Background`]): transition actions, state-scoped tasks
//!   and timeouts, background tasks.
//! * [`Schedule`]: recurrence policies as values (snapshot policy, retries).
//! * [`Observer`]: an observer of everything an actor does.
//! * [`SerializedCause`]: a failure as data, for observers, stores and events.
//! * [`testkit`]: simulate machines without a runtime; drive real actors with a paused clock.
//!
//! Nothing here knows about storage: persistence plugs in through [`Durability`], which the
//! runtime calls once per batch of accepted events *before* making the batch visible.
//!
//! Every item has one path: the crate root, except the test kit, which is its own module. The
//! sections below are the guide to them.
//!
//! # The machine model
//!
//! What a typed state machine *is*, independent of how it runs.
//!
//! A machine is a `State` type (usually an enum) implementing [`Machine`], an `Event` type, and
//! **pure, deterministic** transition handlers. Purity is what makes event sourcing work: the
//! persistence layer re-runs [`Machine::transition`] on journaled events to rebuild state, so a
//! handler must compute the same next state from the same inputs every time, with no I/O.
//!
//! Side effects are *declared* by the machine ([`Machine::actions`], [`Machine::enter`],
//! [`Machine::background`]) and performed by the runtime, only after the event that caused them
//! has been accepted (and, for persistent actors, committed). Replay never performs them.
//!
//! # Actors
//!
//! Each machine instance runs as one tokio task with a bounded mailbox.
//!
//! An [`ActorSystem`] owns actors by id. [`ActorRef`] is the handle: `send` (fire and forget,
//! with backpressure), `call` (the outcome, once the step is durable), `state`, `changes`,
//! `transitions`, `wait_for`, `stop`.
//!
//! ## How an actor processes events
//!
//! The actor takes everything queued in its mailbox (up to `max_batch`) as one *batch*, offers
//! each event to the machine in order, and hands the accepted ones to its [`Durability`] in one
//! call. Nothing of the batch is visible before that call returns, not even the answer to an
//! event that was unhandled or rejected: every caller waits for the commit.
//!
//! * When it returns `Ok`, the batch becomes visible: callers get their outcomes, `changes()`,
//!   `transitions()` and `wait_for` see every intermediate state in order, the declared actions
//!   run, and the tasks and timeouts of a newly entered state start.
//! * When it fails, the state rolls back to before the batch. Callers whose answer was computed
//!   on top of an accepted event of the batch get the error; callers whose event was unhandled
//!   or rejected before the batch's first accepted event get that answer, which stays true.
//!
//! That is the hook `machine-persist` uses to make "effects run only after the event is
//! durable" true with no change to user code; plain actors use [`Ephemeral`], which commits
//! instantly.
//!
//! ## When the machine's code panics
//!
//! Transition handlers and the machine's hooks (`actions`, `enter`, `background`, `is_entry`,
//! `tag`, `is_final`) run on the actor's task. If one panics, the batch is rolled back (nothing
//! of it is committed), its callers get [`ActorError::HandlerPanicked`] (but for answers settled
//! before its first accepted event, as above), the observer gets an error record, and the actor
//! stops with [`StopReason::Panicked`]; calls still queued get [`ActorError::Stopped`]. Effects
//! run on tasks of their own: their panics are reported and the actor carries on.
//!
//! # Effects
//!
//! What a machine asks the runtime to do, never does itself.
//!
//! Transition handlers are pure so that replay can re-run them. Everything that touches the
//! world is *declared* through the builders here and performed by the actor runtime:
//!
//! | declared in | builder | runs | result |
//! |---|---|---|---|
//! | [`Machine::actions`] | [`Actions`] | once, after the step is accepted and durable | reported to the observer |
//! | [`Machine::actions`] | [`Actions::durable`] | at least once, after the step is durable, retried, also after a crash (see [`DurableAction`]) | recorded by the persistence layer |
//! | [`Machine::enter`] | [`Scope::task`] | from entering the state until leaving it (then cancelled) | mapped to an event sent to the actor |
//! | [`Machine::enter`] | [`Scope::timeout`] | fires `after` the state was entered, unless left first; restarts on re-entry | the given event |
//! | [`Machine::background`] | [`Background`] | for the actor's whole life | reported to the observer |
//!
//! Every effect gets a [`Ctx`]: the actor's id, its environment (`Machine::Env`, supplied at
//! spawn so tests can pass fakes) and a handle to send events to itself. A failing or panicking
//! effect is reported to the observer and never takes the actor or the system down.
//!
//! A failure is captured once, as data: a [`SerializedCause`] (the error's type name when known,
//! its message, its `source()` chain, an optional JSON value), which observers see in
//! [`EffectStatus::Failed`] and a persistence layer stores (see
//! [`Durability::effect_failures`]). To let the machine decide what to do about a failure,
//! declare the effect with [`Actions::run_or`] or [`Scope::task_or`]: the cause comes back as
//! the event their `on_failed` makes of it (for a task, only while its state is current).
//!
//! # Schedules
//!
//! Recurrence policies as values: when to snapshot, when to retry.
//!
//! A [`Schedule`] describes whether and when something should happen again. It is a plain,
//! immutable value (cheap to clone, `Send + Sync`) built from a few constructors and
//! combinators, in the manner of Effect's `Schedule`. The framework uses it for two jobs:
//!
//! - the **snapshot policy** of a persistent actor, stepped once per commit with the number of
//!   events committed;
//! - the **retry policy** for transient storage errors, stepped once per failure with input 1.
//!
//! ## Stepping
//!
//! A schedule holds no state. [`Schedule::driver`] starts a [`Driver`] at an instant; the
//! driver keeps the counters, the start instant and the random generator, and each
//! [`Driver::next(now, events)`](Driver::next) answers a [`Decision`]:
//!
//! - `Continue(delay)`: recur after `delay` (`ZERO` means now);
//! - `Skip`: still running, but this input does not call for a recurrence;
//! - `Done`: exhausted, and `Done` forever after.
//!
//! The driver never reads a clock: `now` is an argument, so time-based schedules are tested
//! with any instants, including those of tokio's paused clock
//! (`tokio::time::Instant::now().into_std()`). The driver's start is the origin of `fixed` and
//! `up_to`; inside `a.and_then(b)`, `b` starts at the step that hands over to it.
//!
//! ## Constructors
//!
//! | constructor | decision at each step |
//! |---|---|
//! | [`forever()`](Schedule::forever) | `Continue(ZERO)` |
//! | [`recurs(n)`](Schedule::recurs) | `Continue(ZERO)` for the first `n` steps, then `Done` |
//! | [`once()`](Schedule::once) | `recurs(1)` |
//! | [`spaced(d)`](Schedule::spaced) | `Continue(d)` (re-armed at each step: a debounce) |
//! | [`fixed(d)`](Schedule::fixed) | `Continue(time to the next start + k·d after now)`, in `(0, d]` |
//! | [`every_events(n)`](Schedule::every_events) | `Continue(ZERO)` when the sum of inputs passes a multiple of `n`, else `Skip` (`n = 0` counts as 1) |
//! | [`exponential(b)`](Schedule::exponential) | `Continue(b·2^k)` at step `k` from 0, saturating |
//! | [`exponential_with_factor(b, f)`](Schedule::exponential_with_factor) | `Continue(b·f^k)`, saturating |
//!
//! Durations saturate at [`Duration::MAX`](std::time::Duration::MAX); no input makes a
//! schedule panic.
//!
//! ## Combinators
//!
//! `union` and `intersect` step both sides with every input and combine their decisions
//! (`C(d)` is `Continue(d)`):
//!
//! | left | right | `left.union(right)` | `left.intersect(right)` |
//! |---|---|---|---|
//! | `C(a)` | `C(b)` | `C(min(a, b))` | `C(max(a, b))` |
//! | `C(a)` | `Skip` | `C(a)` | `Skip` |
//! | `C(a)` | `Done` | `C(a)` | `Done` |
//! | `Skip` | `Skip` | `Skip` | `Skip` |
//! | `Skip` | `Done` | `Skip` | `Done` |
//! | `Done` | `Done` | `Done` | `Done` |
//!
//! (and symmetrically). In other words, decisions are ordered
//! `Done < Skip < C(long) < C(short)`; union takes the greater, intersect the lesser.
//!
//! - [`s.up_to(max)`](Schedule::up_to): `Done` once `now - start >= max`, else `s`'s decision.
//! - [`s.jittered()`](Schedule::jittered): each `C(d)` becomes `C(d·f)`, `f` uniform in
//!   `[0.8, 1.2)`, deterministic given the driver's seed.
//! - [`a.and_then(b)`](Schedule::and_then): `a` until it is `Done`, then `b`, which also gets
//!   the step that `a` answered `Done` to.
//!
//! ## Laws
//!
//! Below, `s ≡ t` means: drivers of `s` and `t` with the same start and seed, given the same
//! steps, make the same decisions. Every law holds for all schedules, jittered ones included,
//! as long as `now` does not go backwards; `tests/schedule_laws.rs` checks them on random
//! schedules and steps.
//!
//! 1. **Done is absorbing**: after a driver answers `Done`, it answers `Done` at every step,
//!    and [`Driver::is_done`] is true exactly from then on.
//! 2. **Determinism**: the same schedule, start, seed and steps give the same decisions.
//! 3. **Pointwise combination**: at every step, `a.union(b)` answers the union (per the table)
//!    of what `a` and `b` answer when stepped alone; likewise for `intersect`.
//! 4. **Lattice**: `union` and `intersect` are commutative (`a.union(b) ≡ b.union(a)`),
//!    associative and idempotent (`s.union(s) ≡ s`), and absorb each other
//!    (`a.union(a.intersect(b)) ≡ a`). `recurs(0)` is the identity of `union`
//!    and `forever()` the identity of `intersect`.
//! 5. **Counting**: `recurs(n)` answers `Continue(ZERO)` exactly `n` times, then `Done`;
//!    `s.intersect(recurs(n))` answers something other than `Done` at most `n` times.
//!    `every_events(n)` answers `Continue(ZERO)` exactly at the steps where
//!    `⌊(sum of inputs so far) / n⌋` increases, else `Skip`.
//! 6. **Sequencing**: `a.and_then(b)` answers as `a` until `a`'s first `Done`, then as a
//!    driver of `b` started at that step; `a.and_then(forever())` is never `Done`;
//!    `and_then` is associative.
//! 7. **Time bound**: `s.up_to(d)` answers `Done` at every step with `now - start >= d`, and as
//!    `s` before.
//! 8. **Jitter bounds**: `s.jittered()` answers `Skip` and `Done` exactly when `s` does, and
//!    where `s` answers `C(d)` it answers `C(j)` with `⌊0.8·d⌋ ≤ j < 1.2·d` (`j = 0` when
//!    `d = 0`).
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use machine_core::{Decision, Schedule};
//!
//! // Snapshot policy: every 100 events, or once commits pause for 5 s.
//! let snapshots = Schedule::every_events(100).union(Schedule::spaced(Duration::from_secs(5)));
//! let start = Instant::now();
//! let mut policy = snapshots.driver(start);
//! // A commit of 40 events: no snapshot yet, (re)arm a 5 s timer.
//! assert_eq!(policy.next(start, 40), Decision::Continue(Duration::from_secs(5)));
//! // 70 more: the count passes 100, snapshot now.
//! assert_eq!(policy.next(start, 70), Decision::Continue(Duration::ZERO));
//!
//! // Retry policy: exponential backoff from 10 ms with jitter, at most 5 retries.
//! let retries = Schedule::exponential(Duration::from_millis(10))
//!     .jittered()
//!     .intersect(Schedule::recurs(5));
//! let mut retry = retries.driver_seeded(start, 42);
//! for attempt in 0..5 {
//!     let delay = retry.next(start, 1).delay().expect("five retries");
//!     let nominal = Duration::from_millis(10) * 2u32.pow(attempt);
//!     assert!(delay >= nominal.mul_f64(0.8) && delay < nominal.mul_f64(1.2));
//! }
//! assert_eq!(retry.next(start, 1), Decision::Done);
//! assert!(retry.is_done());
//! ```
//!
//! # Inspection
//!
//! A typed record of everything an actor does, for tools and tests.
//!
//! Every actor can be given an [`Observer`] (see `SpawnOptions::observer`). It receives a
//! [`Record`] for each spawn, event offered, committed transition, effect start/finish/failure,
//! error and stop, with a wall-clock timestamp. The same steps are wrapped in `tracing` spans
//! and events (target `machine_core`), so logs and observers tell the same story.
//!
//! Observers run on the actor's task (effect records on the effect's task) and must be quick:
//! push to a channel or a buffer, never block.

#![warn(missing_docs)]

mod actor;
mod cause;
mod effect;
mod inspect;
mod model;
mod schedule;
pub mod testkit;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use actor::{
    ActorError, ActorRef, ActorStatus, ActorSystem, Changes, CommandMark, Commit, CommitError,
    Current, Durability, Ephemeral, SpawnError, SpawnOptions, Start, StopReason, Transition,
    Transitions, VersionConflict,
};
pub use cause::SerializedCause;
pub use effect::{
    ActionCtx, Actions, Background, Ctx, DurableAction, EffectError, Effects, IdempotencyKey,
    Intent, Scope,
};
pub use inspect::{
    EffectKind, EffectStatus, EventOutcome, Observer, OwnedRecord, OwnedRecordKind, Record,
    RecordKind, Recorder,
};
pub use model::{
    ActorId, Diagram, Event, EventTagOf, Machine, Outcome, StateTag, Step, Tag, TimeoutInfo,
    TransitionInfo,
};
pub use schedule::{Decision, Driver, Schedule};
