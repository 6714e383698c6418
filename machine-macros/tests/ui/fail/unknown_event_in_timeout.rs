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
    fn pending_pay(_: OrderEventPay<'_>) -> Result<OrderPendingOnPay, std::convert::Infallible> {
        Ok(OrderPendingOnPay::Paid)
    }

    fn pending_expir(_: OrderEventExpire<'_>) -> Result<OrderPendingOnExpir, std::convert::Infallible> {
        Ok(OrderPendingOnExpir::Cancelled)
    }

    fn paid_expir(_: OrderEventExpire<'_>) -> Result<OrderPaidOnExpir, std::convert::Infallible> {
        Ok(OrderPaidOnExpir::Cancelled)
    }
}

fn main() {}
