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
//! # Stepping
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
//! # Constructors
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
//! # Combinators
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
//! # Laws
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
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use machine_core::schedule::{Decision, Schedule};
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

mod arith;
mod combinators;
mod constructors;
mod decision;
mod display;
mod driver;
mod node;

pub use decision::Decision;
pub use driver::Driver;
pub use node::Schedule;
