use machine_macros::{Event, Machine};

// Its view of `OnPay` is `OrderPendingOnPay`...
#[derive(Clone, Debug, Event)]
enum OrderPending {
    Pay,
    OnPay,
}

// ...which is also the targets enum of `Pending` + `Pay` in `Order`.
#[derive(Clone, Debug, Machine)]
#[machine(event = OrderPending)]
enum Order {
    #[initial]
    #[on(Pay => Done, OnPay => Done)]
    Pending,
    #[terminal]
    Done,
}

impl OrderTransitions for Order {
    fn pending_on_pay(_: OrderPendingOnPay<'_>) -> Result<OrderPendingOnOnPay, std::convert::Infallible> {
        Ok(OrderPendingOnOnPay::Done)
    }
}

fn main() {}
