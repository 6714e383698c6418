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
    fn pending_py(_: OrderEventPay<'_>) -> Result<OrderPendingOnPy, std::convert::Infallible> {
        Ok(OrderPendingOnPy::Paid)
    }

    fn pending_asign(_: OrderEventAssign<'_>) -> Result<OrderPendingOnAsign, std::convert::Infallible> {
        Ok(OrderPendingOnAsign::Pending)
    }

    fn paid_refund(_: OrderEventCancel<'_>) -> Result<OrderPaidOnRefund, std::convert::Infallible> {
        Ok(OrderPaidOnRefund::Pending)
    }
}

fn main() {}
