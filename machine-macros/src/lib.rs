//! # machine-macros
//!
//! `#[derive(Event)]` and `#[derive(Machine)]` turn two ordinary enums, one of events and one of
//! states, into a typed state machine for `machine-core`. The transition table is declared
//! once, on the state enum; from it the derive generates the dispatch, the tags, the
//! introspection API and a Mermaid diagram, and, above all, a handler trait whose signatures
//! make **an illegal transition a compile error**.
//!
//! * [A complete example](#a-complete-example)
//! * [`#[derive(Event)]`](#deriveevent)
//! * [`#[derive(Machine)]`](#derivemachine): [options](#machine-options),
//!   [state attributes](#state-attributes), [handlers](#handlers), [effects](#effects),
//!   [introspection](#introspection)
//! * [Generated names](#generated-names)
//! * [What does not compile](#what-does-not-compile)
//! * [The core crate's path](#the-core-crates-path)
//!
//! ## A complete example
//!
//! ```
//! use machine_core::{Machine, Outcome};
//! use machine_macros::{Event, Machine};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Debug, Serialize, Deserialize, Event)]
//! enum OrderEvent {
//!     Pay { amount: u64 },
//!     Ship(String),
//!     Cancel,
//! }
//!
//! #[derive(Debug, PartialEq, thiserror::Error)]
//! enum OrderError {
//!     #[error("a payment must be positive")]
//!     ZeroPayment,
//! }
//!
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Machine)]
//! #[machine(event = OrderEvent, error = OrderError)]
//! enum Order {
//!     #[initial]
//!     #[on(Pay => Paid | Cancelled, Cancel => Cancelled)]
//!     Pending { id: String },
//!     #[on(Ship => Shipped, Cancel => Cancelled)]
//!     #[timeout(after = "72h", event = Cancel)]
//!     Paid { id: String, amount: u64 },
//!     #[terminal]
//!     Shipped { id: String, tracking: String },
//!     #[terminal]
//!     Cancelled { reason: String },
//! }
//!
//! // One handler per `#[on]` rule; each returns only the targets its rule declares.
//! impl OrderTransitions for Order {
//!     fn pending_pay(id: &String, pay: OrderEventPay<'_>) -> Result<OrderPendingOnPay, OrderError> {
//!         match *pay.amount {
//!             0 => Err(OrderError::ZeroPayment),
//!             amount if amount > 1_000_000 => Ok(OrderPendingOnPay::Cancelled {
//!                 reason: "flagged as fraud".into(),
//!             }),
//!             amount => Ok(OrderPendingOnPay::Paid { id: id.clone(), amount }),
//!         }
//!     }
//!
//!     fn pending_cancel(
//!         _id: &String,
//!         _cancel: OrderEventCancel<'_>,
//!     ) -> Result<OrderPendingOnCancel, OrderError> {
//!         Ok(OrderPendingOnCancel::Cancelled { reason: "cancelled by the customer".into() })
//!     }
//!
//!     fn paid_ship(
//!         id: &String,
//!         _amount: &u64,
//!         OrderEventShip(tracking): OrderEventShip<'_>,
//!     ) -> Result<OrderPaidOnShip, OrderError> {
//!         Ok(OrderPaidOnShip::Shipped { id: id.clone(), tracking: tracking.clone() })
//!     }
//!
//!     fn paid_cancel(
//!         _id: &String,
//!         amount: &u64,
//!         _cancel: OrderEventCancel<'_>,
//!     ) -> Result<OrderPaidOnCancel, OrderError> {
//!         Ok(OrderPaidOnCancel::Cancelled { reason: format!("refund {amount}") })
//!     }
//! }
//!
//! let order = Order::Pending { id: "o-1".into() };
//! assert_eq!(
//!     order.transition(&OrderEvent::Pay { amount: 30 }),
//!     Outcome::Next(Order::Paid { id: "o-1".into(), amount: 30 }),
//! );
//! assert_eq!(
//!     order.transition(&OrderEvent::Pay { amount: 0 }),
//!     Outcome::Rejected(OrderError::ZeroPayment),
//! );
//! assert_eq!(order.transition(&OrderEvent::Ship("t-1".into())), Outcome::Unhandled);
//! assert!(order.can(&OrderEvent::Cancel));
//! assert_eq!(order.tag(), OrderTag::Pending);
//! assert_eq!(Order::mermaid(), "\
//! stateDiagram-v2
//!     [*] --> Pending
//!     Pending --> Paid : Pay
//!     Pending --> Cancelled : Pay
//!     Pending --> Cancelled : Cancel
//!     Paid --> Shipped : Ship
//!     Paid --> Cancelled : Cancel
//!     Paid --> Cancelled : after 72h
//!     Shipped --> [*]
//!     Cancelled --> [*]
//! ");
//! ```
//!
//! Rendered, that diagram is:
//!
//! ```text
//! stateDiagram-v2
//!     [*] --> Pending
//!     Pending --> Paid : Pay
//!     Pending --> Cancelled : Pay
//!     Pending --> Cancelled : Cancel
//!     Paid --> Shipped : Ship
//!     Paid --> Cancelled : Cancel
//!     Paid --> Cancelled : after 72h
//!     Shipped --> [*]
//!     Cancelled --> [*]
//! ```
//!
//! ## `#[derive(Event)]`
//!
//! On an enum with unit, tuple and struct variants (`serde` and other attributes are left
//! alone), it generates, next to the enum `OrderEvent`:
//!
//! * `OrderEventTag`: one data-less variant per event (`Copy`, `Eq`, `Ord`, `Hash`, `Debug`,
//!   `Display` = its name), implementing `machine_core::Tag`;
//! * `impl machine_core::Event for OrderEvent`;
//! * one **view** per variant, borrowing its data: `OrderEventPay<'a> { pub amount: &'a u64 }`,
//!   `OrderEventShip<'a>(pub &'a String)`, and for unit variants `OrderEventCancel<'a>`
//!   (constructible with `Default::default()`); this is what handlers receive;
//! * `OrderEventView<'a>`: any event, borrowed, one variant per view, built with
//!   `OrderEventView::from(&event)`.
//!
//! Attributes:
//!
//! | attribute | where | effect |
//! |---|---|---|
//! | `#[event(rename = "...")]` | variant | the tag's persisted name (default: the variant's name). Tags are persisted: renaming a variant is a schema change, `rename` keeps the old name. |
//! | `#[event(crate = path)]` | enum | the path of `machine-core` in generated code, see [below](#the-core-crates-path). |
//!
//! A variant cannot be named `Tag` or `View`: its view would collide with `OrderEventTag` or
//! `OrderEventView` (rename the variant and keep its persisted name with `rename`).
//!
//! ```
//! use machine_core::{Event, Tag};
//! use machine_macros::Event;
//!
//! #[derive(Clone, Debug, Event)]
//! enum DoorEvent {
//!     Open,
//!     #[event(rename = "door.locked")]
//!     Lock { code: u32 },
//! }
//!
//! let lock = DoorEvent::Lock { code: 42 };
//! assert_eq!(lock.tag(), DoorEventTag::Lock);
//! assert_eq!(lock.tag().name(), "door.locked");
//! assert_eq!(DoorEventTag::ALL, &[DoorEventTag::Open, DoorEventTag::Lock]);
//! let DoorEventView::Lock(DoorEventLock { code }) = DoorEventView::from(&lock) else {
//!     panic!("expected the view of a lock");
//! };
//! assert_eq!(*code, 42);
//! ```
//!
//! ## `#[derive(Machine)]`
//!
//! On the state enum (usually `Clone, Debug, Serialize, Deserialize` too). Every variant is a
//! state; its fields are the state's data.
//!
//! ### Machine options
//!
//! `#[machine(...)]` on the enum:
//!
//! | key | required | meaning | default |
//! |---|---|---|---|
//! | `event = Path` | yes | the `#[derive(Event)]` enum, by any path (`events::OrderEvent`) | |
//! | `env = Type` | no | `Machine::Env`: what effects use (clients, config), supplied at spawn | `()` |
//! | `error = Type` | no | `Machine::Error`: what a guard rejects with | `std::convert::Infallible` |
//! | `name = "..."` | no | `Machine::NAME` | the enum's name |
//! | `effects` | no | forward `actions`, `enter` and `background` to your `impl Effects` | no effects besides timeouts |
//! | `crate = path` | no | the path of `machine-core` | found from `Cargo.toml`, see [below](#the-core-crates-path) |
//!
//! ### State attributes
//!
//! | attribute | meaning |
//! |---|---|
//! | `#[initial]` | the state a new machine starts in; exactly one state has it |
//! | `#[terminal]` | a final state: the actor stops once it is reached (`final` is a reserved word in Rust, hence the name); it has no `#[on]`, `#[timeout]` or `#[reenter]` |
//! | `#[on(Event => Target, Other => A \| B)]` | the transitions out of this state: on `Event` the handler returns one of the listed targets. Several rules per attribute and several attributes per state are fine; each `(state, event)` pair is declared once |
//! | `#[timeout(after = "72h", event = Cancel)]` | `after` entering the state, the event is sent to the actor, unless the state was left first (re-entering restarts it). Durations: a whole number and a unit, `ms`, `s`, `m`, `h` or `d`, or sums such as `"1h30m"`. The event is a unit variant (`Cancel`), a variant with data built from the state's fields (`Expire { reason: format!("idle {}", id) }`, `Dim(0)`), or any path to a variant (`OrderEvent::Cancel`). It must be an event the state has an `#[on]` rule for |
//! | `#[reenter]` | a transition from this state to itself enters it anew (`Machine::is_entry`): its tasks and timeouts restart. Without it, a self-transition keeps them running |
//! | `#[machine(rename = "...")]` | the state tag's persisted name (default: the variant's name) |
//!
//! Unit and tuple states work too; tuple fields are called `field_0`, `field_1`, ... where the
//! derive needs names (timeout expressions, handler parameters):
//!
//! ```
//! use machine_core::{Machine, StateTag, Tag};
//! use machine_macros::{Event, Machine};
//!
//! #[derive(Clone, Debug, Event)]
//! enum LightEvent {
//!     Toggle,
//!     Dim(u8),
//!     Expire { reason: String },
//! }
//!
//! #[derive(Clone, Debug, Machine)]
//! #[machine(event = LightEvent, name = "light")]
//! enum Light {
//!     #[initial]
//!     #[on(Toggle => On)]
//!     Off,
//!     #[on(Toggle => Off, Dim => On | Off)]
//!     #[on(Expire => Off)]
//!     #[timeout(after = "1h30m", event = Expire { reason: format!("idle at {}%", field_0) })]
//!     #[reenter]
//!     #[machine(rename = "light.on")]
//!     On(u8),
//! }
//!
//! impl LightTransitions for Light {
//!     fn off_toggle(_: LightEventToggle<'_>) -> Result<LightOffOnToggle, std::convert::Infallible> {
//!         Ok(LightOffOnToggle::On(100))
//!     }
//!     fn on_toggle(_: &u8, _: LightEventToggle<'_>) -> Result<LightOnOnToggle, std::convert::Infallible> {
//!         Ok(LightOnOnToggle::Off)
//!     }
//!     fn on_dim(_: &u8, LightEventDim(level): LightEventDim<'_>) -> Result<LightOnOnDim, std::convert::Infallible> {
//!         Ok(if *level == 0 { LightOnOnDim::Off } else { LightOnOnDim::On(*level) })
//!     }
//!     fn on_expire(_: &u8, _: LightEventExpire<'_>) -> Result<LightOnOnExpire, std::convert::Infallible> {
//!         Ok(LightOnOnExpire::Off)
//!     }
//! }
//!
//! assert_eq!(Light::NAME, "light");
//! assert_eq!(LightTag::On.name(), "light.on");
//! assert!(LightTag::Off.is_initial());
//! let dimmed = Light::On(100).transition(&LightEvent::Dim(30)).into_state();
//! assert!(matches!(dimmed, Some(Light::On(30))));
//! ```
//!
//! ### Handlers
//!
//! For each declared `(Source, Event)` pair the derive generates:
//!
//! * a required method of the trait `<Enum>Transitions` (`OrderTransitions`), named
//!   `<source>_<event>` in snake case (`pending_pay`), which you implement for the enum;
//! * its return type `<Enum><Source>On<Event>` (`OrderPendingOnPay`: the targets of `Pending`
//!   on `Pay`): an enum with exactly the declared targets as variants, mirroring their fields
//!   (`Paid { id, amount }`, `Cancelled { reason }`), and `From<OrderPendingOnPay> for Order`.
//!
//! A handler is an associated function. It receives the source state's fields by reference, in
//! declaration order, then the event's view, and returns `Result<OrderPendingOnPay, Error>`:
//!
//! ```text
//! fn pending_pay(id: &String, pay: OrderEventPay<'_>) -> Result<OrderPendingOnPay, OrderError>;
//! ```
//!
//! * `Ok(target)` is `Outcome::Next(target.into())`;
//! * `Err(error)` is `Outcome::Rejected(error)`: a guard, not journaled;
//! * an event with no rule in the current state is `Outcome::Unhandled`, without calling
//!   anything.
//!
//! Handlers must be pure and deterministic: persistence replays them.
//!
//! **Why views.** The derive on the state enum cannot see the event enum's fields, yet a handler
//! should get them typed, and should never have to match `&OrderEvent` again with an
//! `unreachable!()` arm for the variants it does not handle. So `#[derive(Event)]` generates a
//! borrowed view per variant next to the event enum, and `#[derive(Machine)]` names it by
//! convention from the `event = ...` path: `events::OrderEvent` and `Pay` give
//! `events::OrderEventPay` (so the path must end with the enum's own name, not a `use ... as`
//! alias, and the event enum needs `#[derive(Event)]`). The view is destructurable right in the
//! parameter list (`OrderEventShip(tracking): OrderEventShip<'_>`) and costs nothing
//! (references only); the dispatch builds, from the event, the view the handler takes.
//!
//! Since the derive cannot see the event enum, it checks each event a rule names at compile
//! time, against the variants `#[derive(Event)]` lists: `#[on(Asign => Done)]` is an error at
//! `Asign` that names the closest variant and lists them all:
//!
//! ```text
//! error[E0080]: evaluation panicked: unknown event `Asign` (did you mean `Assign`?); an event
//!               must be a variant of `OrderEvent`: one of `Pay`, `Assign`, `Cancel`
//! ```
//!
//! ### Effects
//!
//! With `#[machine(effects)]`, the derived `Machine::actions`, `Machine::enter` and
//! `Machine::background` forward to your `impl machine_core::Effects for Order` (after `enter`
//! has registered the `#[timeout]`s). Without it, `actions` and `background` keep their empty
//! defaults and `enter` only registers timeouts; an `impl Effects` would never be called, so it
//! does not compile, and the error says to add `effects`. `effects` without an `impl Effects`
//! does not compile either.
//!
//! ```
//! # use machine_macros::{Event, Machine};
//! use machine_core::{Actions, Effects, Step};
//!
//! #[derive(Clone, Debug, Event)]
//! enum TicketEvent { Close }
//!
//! struct Mailer;
//!
//! #[derive(Clone, Debug, Machine)]
//! #[machine(event = TicketEvent, env = Mailer, effects)]
//! enum Ticket {
//!     #[initial]
//!     #[on(Close => Closed)]
//!     Open { id: u32 },
//!     #[terminal]
//!     Closed { id: u32 },
//! }
//!
//! impl TicketTransitions for Ticket {
//!     fn open_close(id: &u32, _: TicketEventClose<'_>) -> Result<TicketOpenOnClose, std::convert::Infallible> {
//!         Ok(TicketOpenOnClose::Closed { id: *id })
//!     }
//! }
//!
//! impl Effects for Ticket {
//!     fn actions(step: &Step<'_, Self>, actions: &mut Actions<Self>) {
//!         if let Ticket::Closed { id } = step.to {
//!             let id = *id;
//!             actions.run("notify", move |ctx| async move {
//!                 let _mailer: &Mailer = ctx.env();
//!                 let _ = id;
//!                 Ok(())
//!             });
//!         }
//!     }
//! }
//! ```
//!
//! ### Introspection
//!
//! Associated functions on the state enum, answered from `'static` data:
//!
//! | function | returns |
//! |---|---|
//! | `Order::initial_tag()` | the `#[initial]` state's tag (a `const fn`) |
//! | `Order::transition_table()` | `&'static [machine_core::TransitionInfo<OrderTag, OrderEventTag>]`: every rule's source, event and targets, in declaration order |
//! | `Order::timeout_table()` | `&'static [machine_core::TimeoutInfo<OrderTag, OrderEventTag>]`: every timeout's state, duration and event |
//! | `Order::mermaid()` | the `stateDiagram-v2` shown above: `[*] --> Initial`, one `From --> To : Event` line per declared target, `From --> To : after 72h` per timeout, `Final --> [*]`; nodes and labels use the Rust variant names |
//!
//! `OrderTag` implements `machine_core::StateTag` (`is_initial`, `is_final`).
//!
//! ## Generated names
//!
//! Every generated type starts with the name of the enum it comes from, so several machines
//! can share a module. For `#[derive(Event)] enum OrderEvent` and `#[derive(Machine)] enum Order`
//! with `#[on(Pay => Paid | Cancelled)]` on its state `Pending`:
//!
//! | name | scheme | what | generated by |
//! |---|---|---|---|
//! | `OrderEventTag` | `<Event>Tag` | the event tags (`Tag`) | `#[derive(Event)]` |
//! | `OrderEventPay<'a>` | `<Event><Variant>` | the **view**: the data of one event, borrowed; what a handler receives | `#[derive(Event)]` |
//! | `OrderEventView<'a>` | `<Event>View` | any event, borrowed | `#[derive(Event)]` |
//! | `OrderTag` | `<Machine>Tag` | the state tags (`StateTag`) | `#[derive(Machine)]` |
//! | `OrderTransitions` | `<Machine>Transitions` | the handler trait you implement | `#[derive(Machine)]` |
//! | `pending_pay` | `<source>_<event>` | the handler of `Pending` on `Pay`, a method of `OrderTransitions` | `#[derive(Machine)]` |
//! | `OrderPendingOnPay` | `<Machine><Source>On<Event>` | the **targets** of `Pending` on `Pay`: what `pending_pay` may return | `#[derive(Machine)]` |
//! | `Order::initial_tag`, `transition_table`, `timeout_table`, `mermaid` | | introspection | `#[derive(Machine)]` |
//!
//! Generated items have the visibility of the enum they come from.
//!
//! **No two names coincide.** `#[derive(Machine)]` computes every name above that it generates
//! or refers to, and two declarations that would give the same name are an error at the second,
//! saying which two they are and what to rename (rather than rustc's "defined multiple times"
//! on generated code). With states `PendingOn` and `Pending` and events `Pay` and `OnPay`,
//! both `PendingOn` on `Pay` and `Pending` on `OnPay` would give `OrderPendingOnOnPay`:
//!
//! ```text
//! error: `OrderPendingOnOnPay` would name both the targets of `PendingOn` on `Pay` and the
//!        targets of `Pending` on `OnPay`: rename the state `PendingOn`, the event `Pay`,
//!        the state `Pending` or the event `OnPay`
//! ```
//!
//! Likewise for two handlers (`Pending` on `PayNow` and `PendingPay` on `Now` both give
//! `pending_pay_now`), and for a targets enum named like an event item (an event enum
//! `OrderPending` whose view of `OnPay` is `OrderPendingOnPay`, the targets of `Pending` on `Pay`
//! in `Order`). The names compared are the last path segments, wherever the event enum lives.
//! A variant of the event enum cannot be named `Tag` or `View` (see [above](#deriveevent)).
//!
//! ## What does not compile
//!
//! Returning a state the rule does not declare is a type error: `OrderPendingOnPay` has no
//! `Shipped` variant.
//!
//! ```compile_fail
//! # use machine_macros::{Event, Machine};
//! # #[derive(Clone, Debug, Event)]
//! # enum OrderEvent { Pay { amount: u64 } }
//! #[derive(Clone, Debug, Machine)]
//! #[machine(event = OrderEvent)]
//! enum Order {
//!     #[initial]
//!     #[on(Pay => Paid)]
//!     Pending,
//!     #[terminal]
//!     Paid,
//!     #[terminal]
//!     Shipped,
//! }
//!
//! impl OrderTransitions for Order {
//!     fn pending_pay(_: OrderEventPay<'_>) -> Result<OrderPendingOnPay, std::convert::Infallible> {
//!         Ok(OrderPendingOnPay::Shipped) // error: no variant named `Shipped`
//!     }
//! }
//! ```
//!
//! Likewise, with the error on your code: a missing handler (a missing trait item), an
//! unknown target or event (with the closest name, if one is close), a duplicate
//! `(state, event)` rule, no or several `#[initial]` states, `#[on]`/`#[timeout]`/`#[reenter]`
//! on a `#[terminal]` state, a timeout whose event the state does not handle, a malformed
//! duration, an unknown option (the message lists the valid ones), `#[reenter]` on a state that
//! never loops, two declarations that would generate the same name, an event enum without
//! `#[derive(Event)]` (the error says to add it), an `impl Effects` without
//! `#[machine(effects)]` and the reverse, generic enums, and either derive on a struct.
//!
//! ## The core crate's path
//!
//! Generated code names `machine-core` by an absolute path, found from the `Cargo.toml` of the
//! crate being compiled:
//!
//! 1. if it depends on `machine-core`, `::machine_core` (or the name it renamed it to);
//! 2. else, if it depends on the facade `machine`, `::machine::core` (or `::<renamed>::core`);
//! 3. else `::machine_core`.
//!
//! So `use machine::prelude::*;` with only `machine` in `[dependencies]` needs no attribute.
//! Where that guess is wrong (a crate that reaches the core crate through another re-exporting
//! crate, or an `extern crate ... as` alias), say where it is, with a path or a string, on both
//! derives; the override always wins:
//!
//! ```
//! extern crate machine_core as engine;
//! # use machine_macros::{Event, Machine};
//!
//! #[derive(Clone, Debug, Event)]
//! #[event(crate = ::engine)]
//! enum PingEvent { Ping }
//!
//! #[derive(Clone, Debug, Machine)]
//! #[machine(event = PingEvent, crate = "::engine")]
//! enum Pinger {
//!     #[initial]
//!     Idle,
//! }
//! # fn main() {}
//! ```

#![warn(missing_docs)]

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod expand;
mod internals;

/// Derives `machine_core::Event` for an event enum, with its tag enum (`<Enum>Tag`) and the
/// borrowed views handlers receive (`<Enum><Variant>`, `<Enum>View`).
///
/// See the [crate documentation](crate#deriveevent).
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_event(&input).into()
}

/// Derives `machine_core::Machine` for a state enum from its `#[on]` transition table, with the
/// handler trait (`<Enum>Transitions`), one targets enum per rule (`<Enum><Source>On<Event>`),
/// the state tags (`<Enum>Tag`) and the introspection functions.
///
/// See the [crate documentation](crate#derivemachine).
#[proc_macro_derive(Machine, attributes(machine, initial, terminal, reenter, on, timeout))]
pub fn derive_machine(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_machine(&input).into()
}
