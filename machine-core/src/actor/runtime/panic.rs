//! Panics of user code: the machine's hooks run on the actor task, effects on their own tasks.

use std::any::Any;
use std::panic::AssertUnwindSafe;

/// The message of a panic: its payload when that is a string.
pub(super) fn message(panic: &(dyn Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "(no message)"
    }
}

/// Runs `f`, turning a panic into its message.
///
/// Callers must leave nothing half-done behind a panic: the actor only calls this around work
/// whose effects it discards when `f` panics (a batch being applied, the start of the actor).
pub(super) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f))
        .map_err(|panic| message(panic.as_ref()).to_owned())
}
