use machine_core::{Actions, Effects, Step};
use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum OrderEvent {
    Pay,
}

// No `effects` in `#[machine(...)]`: the derived `Machine` impl would never call the effects.
#[derive(Clone, Debug, Machine)]
#[machine(event = OrderEvent)]
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

impl Effects for Order {
    fn actions(_: &Step<'_, Self>, actions: &mut Actions<Self>) {
        actions.run("notify", |_| async { Ok(()) });
    }
}

fn main() {}
