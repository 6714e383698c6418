//! The [`Event`] trait: what an event type must offer the runtime.

use std::fmt::Debug;

use crate::model::Tag;

/// An event type: usually an enum, with a data-less [`Tag`] per variant.
///
/// Derive it with `#[derive(Event)]` from `machine-macros`, or implement it by hand:
///
/// ```
/// use machine_core::{Event, Tag};
/// # use std::fmt;
/// #[derive(Clone, Debug)]
/// enum Ping { Ping(u32) }
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
/// enum PingTag { Ping }
/// impl fmt::Display for PingTag {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str("Ping") }
/// }
/// impl Tag for PingTag {
///     const ALL: &'static [Self] = &[PingTag::Ping];
///     fn name(self) -> &'static str { "Ping" }
/// }
/// impl Event for Ping {
///     type Tag = PingTag;
///     fn tag(&self) -> PingTag { PingTag::Ping }
/// }
/// assert_eq!(Ping::Ping(1).tag().name(), "Ping");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event type: add `#[derive(Event)]` to it",
    label = "not an event type",
    note = "an event type is an enum with `#[derive(Event)]` (from `machine-macros`), or a type \
            with a hand-written `impl Event`"
)]
pub trait Event: Clone + Debug + Send + Sync + 'static {
    /// The data-less names of the variants.
    type Tag: Tag;

    /// The tag of this event.
    fn tag(&self) -> Self::Tag;
}
