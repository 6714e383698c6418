//! The tags of the hand-written order: what the derive generates as `OrderTag` and
//! `OrderEventTag`, written out.

use std::fmt;

use machine_core::{Event, StateTag, Tag};

use super::OrderEvent;

/// The state of an order without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrderTag {
    /// `Order::Pending`, the initial state.
    Pending,
    /// `Order::Paid`.
    Paid,
    /// `Order::Shipped`, final.
    Shipped,
    /// `Order::Cancelled`, final.
    Cancelled,
}

impl fmt::Display for OrderTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for OrderTag {
    const ALL: &'static [Self] = &[Self::Pending, Self::Paid, Self::Shipped, Self::Cancelled];

    fn name(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Paid => "Paid",
            Self::Shipped => "Shipped",
            Self::Cancelled => "Cancelled",
        }
    }
}

impl StateTag for OrderTag {
    fn is_final(self) -> bool {
        matches!(self, Self::Shipped | Self::Cancelled)
    }

    fn is_initial(self) -> bool {
        self == Self::Pending
    }
}

/// The kind of an order event, without its data; its name is the persisted one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrderEventTag {
    /// `OrderEvent::Pay`.
    Pay,
    /// `OrderEvent::Note`.
    Note,
    /// `OrderEvent::Ship`.
    Ship,
    /// `OrderEvent::Cancel`.
    Cancel,
    /// `OrderEvent::Expire`.
    Expire,
    /// `OrderEvent::Extend`, persisted as `ExtendDeadline`.
    Extend,
}

impl fmt::Display for OrderEventTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Tag for OrderEventTag {
    const ALL: &'static [Self] = &[
        Self::Pay,
        Self::Note,
        Self::Ship,
        Self::Cancel,
        Self::Expire,
        Self::Extend,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Pay => "Pay",
            Self::Note => "Note",
            Self::Ship => "Ship",
            Self::Cancel => "Cancel",
            Self::Expire => "Expire",
            Self::Extend => "ExtendDeadline",
        }
    }
}

impl Event for OrderEvent {
    type Tag = OrderEventTag;

    fn tag(&self) -> OrderEventTag {
        match self {
            Self::Pay { .. } => OrderEventTag::Pay,
            Self::Note => OrderEventTag::Note,
            Self::Ship(_) => OrderEventTag::Ship,
            Self::Cancel => OrderEventTag::Cancel,
            Self::Expire => OrderEventTag::Expire,
            Self::Extend => OrderEventTag::Extend,
        }
    }
}
