use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum OrderEvent {
    Pay,
    Expire { reason: String },
}

// A typo repeated in the rules and in the timeouts that send their event.
#[derive(Clone, Debug, Machine)]
#[machine(event = OrderEvent)]
enum Order {
    #[initial]
    #[on(Pay => Paid, Expir => Cancelled)]
    #[timeout(after = "72h", event = Expir)]
    Pending,
    #[on(Expir => Cancelled)]
    #[timeout(after = "1h", event = Expir { reason: "unpaid".into() })]
    Paid,
    #[terminal]
    Cancelled,
}

impl OrderTransitions for Order {
    fn pending_pay(_: OrderEventPay<'_>) -> Result<OrderPendingPay, std::convert::Infallible> {
        Ok(OrderPendingPay::Paid)
    }

    fn pending_expir(_: OrderEventExpire<'_>) -> Result<OrderPendingExpir, std::convert::Infallible> {
        Ok(OrderPendingExpir::Cancelled)
    }

    fn paid_expir(_: OrderEventExpire<'_>) -> Result<OrderPaidExpir, std::convert::Infallible> {
        Ok(OrderPaidExpir::Cancelled)
    }
}

fn main() {}
