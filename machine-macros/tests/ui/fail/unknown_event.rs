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
    #[on(Py => Paid)]
    Pending,
    #[terminal]
    Paid,
}

impl OrderTransitions for Order {
    fn pending_py(_: OrderEventPay<'_>) -> Result<OrderPendingPy, std::convert::Infallible> {
        Ok(OrderPendingPy::Paid)
    }
}

fn main() {}
