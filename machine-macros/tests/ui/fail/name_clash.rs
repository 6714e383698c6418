use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum OrderEvent {
    Pay,
    OnPay,
    PayNow,
    Now,
}

// `PendingOn` + `Pay` and `Pending` + `OnPay` both give the targets enum `OrderPendingOnOnPay`.
#[derive(Clone, Debug, Machine)]
#[machine(event = OrderEvent)]
enum Order {
    #[initial]
    #[on(Pay => Done)]
    PendingOn,
    #[on(OnPay => Done)]
    Pending,
    #[terminal]
    Done,
}

// `Pending` + `PayNow` and `PendingPay` + `Now` both give the handler `pending_pay_now`.
#[derive(Clone, Debug, Machine)]
#[machine(event = OrderEvent)]
enum Invoice {
    #[initial]
    #[on(PayNow => Done)]
    Pending,
    #[on(Now => Done)]
    PendingPay,
    #[terminal]
    Done,
}

// The rules that did not clash still generate their handlers: only the clashes are reported.
impl OrderTransitions for Order {
    fn pending_on_pay(_: OrderEventPay<'_>) -> Result<OrderPendingOnOnPay, std::convert::Infallible> {
        Ok(OrderPendingOnOnPay::Done)
    }
}

impl InvoiceTransitions for Invoice {
    fn pending_pay_now(_: OrderEventPayNow<'_>) -> Result<InvoicePendingOnPayNow, std::convert::Infallible> {
        Ok(InvoicePendingOnPayNow::Done)
    }
}

fn main() {}
