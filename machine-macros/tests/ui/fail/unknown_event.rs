use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum OrderEvent {
    Pay { amount: u64 },
    Assign(String),
    Cancel,
}

#[derive(Clone, Debug, Machine)]
#[machine(event = OrderEvent)]
enum Order {
    #[initial]
    #[on(Py => Paid, Asign => Pending)]
    Pending,
    #[on(Refund => Pending)]
    Paid,
}

impl OrderTransitions for Order {
    fn pending_py(_: OrderEventPay<'_>) -> Result<OrderPendingPy, std::convert::Infallible> {
        Ok(OrderPendingPy::Paid)
    }

    fn pending_asign(_: OrderEventAssign<'_>) -> Result<OrderPendingAsign, std::convert::Infallible> {
        Ok(OrderPendingAsign::Pending)
    }

    fn paid_refund(_: OrderEventCancel<'_>) -> Result<OrderPaidRefund, std::convert::Infallible> {
        Ok(OrderPaidRefund::Pending)
    }
}

fn main() {}
