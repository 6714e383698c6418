//! A state named `Event` with a `Pay` rule: its targets enum `OrderEventOnPay` cannot be taken
//! for the view `OrderEventPay`, and nothing collides.

#![deny(warnings)]

use std::convert::Infallible;

use machine_core::{Machine, Outcome};
use machine_macros::{Event, Machine};

#[derive(Clone, Debug, Event)]
enum OrderEvent {
    Pay,
    Tick,
}

#[derive(Clone, Debug, PartialEq, Machine)]
#[machine(event = OrderEvent)]
enum Order {
    #[initial]
    #[on(Pay => Paid, Tick => Event)]
    Event,
    #[terminal]
    Paid,
}

impl OrderTransitions for Order {
    fn event_pay(_: OrderEventPay<'_>) -> Result<OrderEventOnPay, Infallible> {
        Ok(OrderEventOnPay::Paid)
    }

    fn event_tick(_: OrderEventTick<'_>) -> Result<OrderEventOnTick, Infallible> {
        Ok(OrderEventOnTick::Event)
    }
}

fn main() {
    assert_eq!(Order::Event.transition(&OrderEvent::Pay), Outcome::Next(Order::Paid));
    assert_eq!(Order::Event.transition(&OrderEvent::Tick), Outcome::Next(Order::Event));
    assert_eq!(Order::Paid.transition(&OrderEvent::Pay), Outcome::Unhandled);
}
