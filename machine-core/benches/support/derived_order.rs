//! The order machine of `tests/support/order.rs` again, derived: same states, same events,
//! same clones, no effects (dispatch is what is measured).

use machine_macros::{Event, Machine};

#[derive(Clone, Debug, PartialEq, Eq, Event)]
#[event(crate = ::machine_core)]
pub enum DerivedEvent {
    Pay { amount: u64 },
    Note,
    Ship { tracking: String },
    Cancel,
    Expire,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ZeroAmount;

impl std::fmt::Display for ZeroAmount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an order cannot be paid with 0")
    }
}

impl std::error::Error for ZeroAmount {}

#[derive(Clone, Debug, PartialEq, Eq, Machine)]
#[machine(event = DerivedEvent, error = ZeroAmount, crate = ::machine_core)]
pub enum DerivedOrder {
    #[initial]
    #[on(Pay => Paid, Cancel => Cancelled, Expire => Cancelled)]
    Pending { id: String },
    #[on(Note => Paid, Ship => Shipped, Cancel => Cancelled)]
    Paid { id: String, amount: u64, notes: u32 },
    #[terminal]
    Shipped { id: String, tracking: String },
    #[terminal]
    Cancelled { reason: String },
}

impl DerivedOrderTransitions for DerivedOrder {
    fn pending_pay(
        id: &String,
        pay: DerivedEventPay<'_>,
    ) -> Result<DerivedOrderPendingOnPay, ZeroAmount> {
        match *pay.amount {
            0 => Err(ZeroAmount),
            amount => Ok(DerivedOrderPendingOnPay::Paid {
                id: id.clone(),
                amount,
                notes: 0,
            }),
        }
    }

    fn pending_cancel(
        _id: &String,
        _: DerivedEventCancel<'_>,
    ) -> Result<DerivedOrderPendingOnCancel, ZeroAmount> {
        Ok(DerivedOrderPendingOnCancel::Cancelled {
            reason: "cancelled by customer".into(),
        })
    }

    fn pending_expire(
        _id: &String,
        _: DerivedEventExpire<'_>,
    ) -> Result<DerivedOrderPendingOnExpire, ZeroAmount> {
        Ok(DerivedOrderPendingOnExpire::Cancelled {
            reason: "payment window expired".into(),
        })
    }

    fn paid_note(
        id: &String,
        amount: &u64,
        notes: &u32,
        _: DerivedEventNote<'_>,
    ) -> Result<DerivedOrderPaidOnNote, ZeroAmount> {
        Ok(DerivedOrderPaidOnNote::Paid {
            id: id.clone(),
            amount: *amount,
            notes: notes + 1,
        })
    }

    fn paid_ship(
        id: &String,
        _amount: &u64,
        _notes: &u32,
        ship: DerivedEventShip<'_>,
    ) -> Result<DerivedOrderPaidOnShip, ZeroAmount> {
        Ok(DerivedOrderPaidOnShip::Shipped {
            id: id.clone(),
            tracking: ship.tracking.clone(),
        })
    }

    fn paid_cancel(
        _id: &String,
        _amount: &u64,
        _notes: &u32,
        _: DerivedEventCancel<'_>,
    ) -> Result<DerivedOrderPaidOnCancel, ZeroAmount> {
        Ok(DerivedOrderPaidOnCancel::Cancelled {
            reason: "refunded".into(),
        })
    }
}

impl From<&super::order::OrderEvent> for DerivedEvent {
    fn from(event: &super::order::OrderEvent) -> Self {
        use super::order::OrderEvent as E;
        match event {
            E::Pay { amount } => DerivedEvent::Pay { amount: *amount },
            E::Note => DerivedEvent::Note,
            E::Ship { tracking } => DerivedEvent::Ship {
                tracking: tracking.clone(),
            },
            E::Cancel => DerivedEvent::Cancel,
            E::Expire => DerivedEvent::Expire,
        }
    }
}
