//! Support for the code `machine-macros` generates. Not a public API: user code never names
//! these items, and they change together with the derives.
//!
//! [`EffectsForwarded`] marks the machines whose derived `Machine` impl forwards to
//! [`Effects`](crate::Effects).

/// Implemented by `#[derive(Machine)]` when `#[machine(effects)]` is given: the derived
/// `Machine` impl then forwards `actions`, `enter` and `background` to
/// [`Effects`](crate::Effects), which requires this trait, so that an `impl Effects` whose
/// effects would never run does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` implements `Effects`, but its `#[derive(Machine)]` does not use it: add \
               `effects` to its `#[machine(...)]`",
    label = "these effects would never run",
    note = "`#[derive(Machine)]` forwards `actions`, `enter` and `background` to `impl Effects` \
            only with `#[machine(effects)]`; a hand-written `impl Machine` declares its effects \
            in those methods instead"
)]
pub trait EffectsForwarded {}
