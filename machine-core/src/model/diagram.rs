//! [`Diagram`]: a machine's declared transition table and its Mermaid drawing, reachable through
//! a trait.
//!
//! `#[derive(Machine)]` already answers `Order::transition_table()` and `Order::mermaid()` as
//! inherent functions, which is what code naming `Order` wants. A tool written once for every
//! machine (an inspector drawing the statechart of whatever it is given, a coverage report)
//! needs the same answers from a type parameter, so the derive also implements this trait with
//! them. A hand-written [`Machine`] implements it by hand when such a tool should see it.

use crate::model::{Machine, Tag, TimeoutInfo, TransitionInfo};

/// The declared shape of a machine: its transitions, its timeouts and its Mermaid diagram.
///
/// ```
/// use machine_core::Diagram;
/// use machine_core::Tag;
///
/// /// One line per declared rule, for any derived machine.
/// fn rules<M: Diagram>() -> Vec<String> {
///     M::transition_table()
///         .iter()
///         .map(|rule| format!("{} + {} => {}", rule.from.name(), rule.event.name(), rule.targets.len()))
///         .collect()
/// }
/// ```
pub trait Diagram: Machine {
    /// The tags the table names events by: the event type's tag
    /// ([`EventTagOf<Self>`](crate::EventTagOf)) for a derived machine.
    type EventTag: Tag;

    /// Every declared transition, in declaration order.
    fn transition_table() -> &'static [TransitionInfo<Self::StateTag, Self::EventTag>];

    /// Every declared state timeout, in declaration order.
    fn timeout_table() -> &'static [TimeoutInfo<Self::StateTag, Self::EventTag>];

    /// The state diagram in Mermaid syntax (`stateDiagram-v2`).
    fn mermaid() -> String;
}
