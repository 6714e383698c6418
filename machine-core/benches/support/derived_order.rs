//! The order machine of `machine_test_support::order` again, derived: same states, same events,
//! same rules and guards, same clones, no effects (dispatch is what is measured).

use machine_macros::{Event, Machine};
use machine_test_support::order::{OrderError, OrderEvent, FRAUD_LIMIT};

#[derive(Clone, Debug, PartialEq, Eq, Event)]
#[event(crate = ::machine_core)]
pub enum DerivedEvent {
    Pay { amount: u64 },
    Note,
    Ship(String),
    Cancel,
    Expire,
    Extend,
}

#[derive(Clone, Debug, PartialEq, Eq, Machine)]
#[machine(event = DerivedEvent, error = OrderError, crate = ::machine_core)]
pub enum DerivedOrder {
    #[initial]
    #[on(Pay => Paid | Cancelled, Cancel => Cancelled, Expire => Cancelled, Extend => Pending)]
    #[reenter]
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
    ) -> Result<DerivedOrderPendingOnPay, OrderError> {
        match *pay.amount {
            0 => Err(OrderError::ZeroPayment),
            amount if amount > FRAUD_LIMIT => Ok(DerivedOrderPendingOnPay::Cancelled {
                reason: format!("payment of {amount} flagged as fraud"),
            }),
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
    ) -> Result<DerivedOrderPendingOnCancel, OrderError> {
        Ok(DerivedOrderPendingOnCancel::Cancelled {
            reason: "cancelled by customer".into(),
        })
    }

    fn pending_expire(
        _id: &String,
        _: DerivedEventExpire<'_>,
    ) -> Result<DerivedOrderPendingOnExpire, OrderError> {
        Ok(DerivedOrderPendingOnExpire::Cancelled {
            reason: "payment window expired".into(),
        })
    }

    fn pending_extend(
        id: &String,
        _: DerivedEventExtend<'_>,
    ) -> Result<DerivedOrderPendingOnExtend, OrderError> {
        Ok(DerivedOrderPendingOnExtend::Pending { id: id.clone() })
    }

    fn paid_note(
        id: &String,
        amount: &u64,
        notes: &u32,
        _: DerivedEventNote<'_>,
    ) -> Result<DerivedOrderPaidOnNote, OrderError> {
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
        DerivedEventShip(tracking): DerivedEventShip<'_>,
    ) -> Result<DerivedOrderPaidOnShip, OrderError> {
        if tracking.is_empty() {
            return Err(OrderError::MissingTracking);
        }
        Ok(DerivedOrderPaidOnShip::Shipped {
            id: id.clone(),
            tracking: tracking.clone(),
        })
    }

    fn paid_cancel(
        _id: &String,
        amount: &u64,
        _notes: &u32,
        _: DerivedEventCancel<'_>,
    ) -> Result<DerivedOrderPaidOnCancel, OrderError> {
        Ok(DerivedOrderPaidOnCancel::Cancelled {
            reason: format!("refund {amount}"),
        })
    }
}

impl From<&OrderEvent> for DerivedEvent {
    fn from(event: &OrderEvent) -> Self {
        match event {
            OrderEvent::Pay { amount } => DerivedEvent::Pay { amount: *amount },
            OrderEvent::Note => DerivedEvent::Note,
            OrderEvent::Ship(tracking) => DerivedEvent::Ship(tracking.clone()),
            OrderEvent::Cancel => DerivedEvent::Cancel,
            OrderEvent::Expire => DerivedEvent::Expire,
            OrderEvent::Extend => DerivedEvent::Extend,
        }
    }
}
