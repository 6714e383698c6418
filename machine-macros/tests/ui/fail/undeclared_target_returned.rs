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
    #[on(Pay => Paid | Cancelled)]
    Pending { id: String },
    #[on(Ship => Shipped)]
    Paid { id: String },
    #[terminal]
    Shipped { id: String },
    #[terminal]
    Cancelled,
}

impl OrderTransitions for Order {
    fn pending_pay(id: &String, _: OrderEventPay<'_>) -> Result<OrderPendingOnPay, std::convert::Infallible> {
        // Skipping payment is not a declared transition.
        Ok(OrderPendingOnPay::Shipped { id: id.clone() })
    }

    fn paid_ship(id: &String, _: OrderEventShip<'_>) -> Result<OrderPaidOnShip, std::convert::Infallible> {
        Ok(OrderPaidOnShip::Shipped { id: id.clone() })
    }
}

fn main() {}
