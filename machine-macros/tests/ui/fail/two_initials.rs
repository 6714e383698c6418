use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum OrderEvent {
    Pay { amount: u64 },
    Ship(String),
    Cancel,
}

#[derive(Clone, Debug, Machine)]
#[machine(event = OrderEvent)]
enum Order {
    #[initial]
    #[on(Pay => Paid)]
    Pending,
    #[initial]
    #[on(Ship => Shipped)]
    Paid,
    #[terminal]
    Shipped,
}

// The valid rules still generate their handlers: only the mistake is reported.
impl OrderTransitions for Order {
    fn pending_pay(_: OrderEventPay<'_>) -> Result<OrderPendingOnPay, std::convert::Infallible> {
        Ok(OrderPendingOnPay::Paid)
    }

    fn paid_ship(_: OrderEventShip<'_>) -> Result<OrderPaidOnShip, std::convert::Infallible> {
        Ok(OrderPaidOnShip::Shipped)
    }
}

fn main() {}
