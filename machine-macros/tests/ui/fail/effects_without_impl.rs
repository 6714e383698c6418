use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum OrderEvent {
    Pay { amount: u64 },
    Ship(String),
    Cancel,
}

#[derive(Clone, Debug, Machine)]
#[machine(event = OrderEvent, effects)]
enum Order {
    #[initial]
    #[on(Pay => Paid)]
    Pending,
    #[terminal]
    Paid,
}

impl OrderTransitions for Order {
    fn pending_pay(_: OrderEventPay<'_>) -> Result<OrderPendingOnPay, std::convert::Infallible> {
        Ok(OrderPendingOnPay::Paid)
    }
}

fn main() {}
