//! No two names coincide.
//!
//! Every name `#[derive(Machine)]` generates or refers to is claimed here by the declaration
//! that produces it: the event enum and what `#[derive(Event)]` generates next to it (its tags,
//! its view enum, the view of each event a rule names), the state enum and what the machine
//! derive generates (its tags, the handler trait, one targets enum per rule) and, among the
//! trait's methods, one handler per rule. A name claimed by two declarations is reported on the
//! user's token of the second, saying which two they are and what to rename, and the rule that
//! claimed it is left out, so that rustc adds no duplicate definition after it.
//!
//! The names compared are the last path segments: an event enum in another module still must
//! not share a generated name with the machine, so that a name in a handler signature reads as
//! one thing.

use std::collections::btree_map::{BTreeMap, Entry};

use proc_macro2::Span;

use super::ctxt::Ctxt;
use super::machine::MachineModel;
use super::naming::{self, unraw};

/// Checks every name of `model`; rules whose targets enum or handler clashes are reported and
/// left out, with their timeouts.
pub(crate) fn check_names(cx: &mut Ctxt, model: &mut MachineModel) {
    let Some(event_ident) = model.event.segments.last().map(|last| last.ident.clone()) else {
        return;
    };
    let machine = unraw(&model.ident);
    let event_enum = unraw(&event_ident);
    let mut types = Namespace::default();
    let mut handlers = Namespace::default();

    let event_span = event_ident.span();
    let machine_span = model.ident.span();
    let fixed = [
        (
            event_enum.clone(),
            Origin::EventEnum(event_enum.clone()),
            event_span,
        ),
        (
            naming::tag_enum(&event_ident, event_span).to_string(),
            Origin::EventTag(event_enum.clone()),
            event_span,
        ),
        (
            naming::view_enum(&event_ident, event_span).to_string(),
            Origin::ViewEnum(event_enum.clone()),
            event_span,
        ),
        (
            machine.clone(),
            Origin::StateEnum(machine.clone()),
            machine_span,
        ),
        (
            model.tag.to_string(),
            Origin::StateTag(machine.clone()),
            machine_span,
        ),
        (
            model.handler_trait.to_string(),
            Origin::HandlerTrait(machine.clone()),
            machine_span,
        ),
    ];
    for (name, origin, span) in fixed {
        types.claim(cx, name, origin, span);
    }

    // The views first, so that a targets enum named like a view is the one left out: the view
    // exists whatever this derive does.
    for transition in &model.transitions {
        let Some(view) = transition.view.segments.last() else {
            continue;
        };
        let origin = Origin::View {
            event_enum: event_enum.clone(),
            variant: unraw(&transition.event),
        };
        types.claim(cx, view.ident.to_string(), origin, transition.event.span());
    }

    let mut dropped = Vec::new();
    for (index, transition) in model.transitions.iter().enumerate() {
        let pair = |origin: fn(String, String) -> Origin| {
            origin(
                unraw(&model.states[transition.source].ident),
                unraw(&transition.event),
            )
        };
        let span = transition.event.span();
        let claimed = types.claim(
            cx,
            transition.targets_enum.to_string(),
            pair(|source, event| Origin::Targets { source, event }),
            span,
        ) && handlers.claim(
            cx,
            transition.handler.to_string(),
            pair(|source, event| Origin::Handler { source, event }),
            span,
        );
        if !claimed {
            dropped.push(index);
        }
    }
    for index in dropped.into_iter().rev() {
        let transition = model.transitions.remove(index);
        let event = unraw(&transition.event);
        model.states[transition.source]
            .timeouts
            .retain(|timeout| unraw(&timeout.variant) != event);
    }
}

/// The names of one namespace (the module's types, or the handler trait's methods), each with
/// the declaration that claimed it first.
#[derive(Default)]
struct Namespace {
    claims: BTreeMap<String, Origin>,
}

impl Namespace {
    /// Claims `name` for `origin`. A name claimed by another origin is reported at `span`, and
    /// `false` returned; the same origin may claim a name again (two rules naming one view).
    fn claim(&mut self, cx: &mut Ctxt, name: String, origin: Origin, span: Span) -> bool {
        match self.claims.entry(name) {
            Entry::Vacant(vacant) => {
                vacant.insert(origin);
                true
            }
            Entry::Occupied(occupied) if *occupied.get() == origin => true,
            Entry::Occupied(occupied) => {
                let first = occupied.get();
                let mut renames = first.renames();
                for rename in origin.renames() {
                    if !renames.contains(&rename) {
                        renames.push(rename);
                    }
                }
                cx.push(syn::Error::new(
                    span,
                    format!(
                        "`{}` would name both {} and {}: rename {}",
                        occupied.key(),
                        first.describe(),
                        origin.describe(),
                        alternatives(&renames)
                    ),
                ));
                false
            }
        }
    }
}

/// The declaration a name comes from.
#[derive(Clone, PartialEq, Eq)]
enum Origin {
    /// The event enum itself.
    EventEnum(String),
    /// `<Event>Tag`, generated by `#[derive(Event)]`.
    EventTag(String),
    /// `<Event>View`, generated by `#[derive(Event)]`.
    ViewEnum(String),
    /// `<Event><Variant>`, generated by `#[derive(Event)]`.
    View { event_enum: String, variant: String },
    /// The state enum itself.
    StateEnum(String),
    /// `<Machine>Tag`.
    StateTag(String),
    /// `<Machine>Transitions`.
    HandlerTrait(String),
    /// `<Machine><Source>On<Event>`.
    Targets { source: String, event: String },
    /// `<source>_<event>`.
    Handler { source: String, event: String },
}

impl Origin {
    /// What the name would stand for, for the message.
    fn describe(&self) -> String {
        match self {
            Self::EventEnum(event_enum) => format!("the event enum `{event_enum}`"),
            Self::EventTag(event_enum) => format!("the event tags of `{event_enum}`"),
            Self::ViewEnum(event_enum) => format!("the event view enum of `{event_enum}`"),
            Self::View {
                event_enum,
                variant,
            } => format!("the view of `{event_enum}::{variant}`"),
            Self::StateEnum(machine) => format!("the state enum `{machine}`"),
            Self::StateTag(machine) => format!("the state tags of `{machine}`"),
            Self::HandlerTrait(machine) => format!("the handler trait of `{machine}`"),
            Self::Targets { source, event } => format!("the targets of `{source}` on `{event}`"),
            Self::Handler { source, event } => format!("the handler of `{source}` on `{event}`"),
        }
    }

    /// The declarations whose renaming gives the name up.
    fn renames(&self) -> Vec<String> {
        match self {
            Self::EventEnum(event_enum)
            | Self::EventTag(event_enum)
            | Self::ViewEnum(event_enum) => {
                vec![format!("the event enum `{event_enum}`")]
            }
            Self::View {
                event_enum,
                variant,
            } => vec![
                format!("the event `{variant}`"),
                format!("the event enum `{event_enum}`"),
            ],
            Self::StateEnum(machine) | Self::StateTag(machine) | Self::HandlerTrait(machine) => {
                vec![format!("the state enum `{machine}`")]
            }
            Self::Targets { source, event } | Self::Handler { source, event } => vec![
                format!("the state `{source}`"),
                format!("the event `{event}`"),
            ],
        }
    }
}

/// "a", "a or b", "a, b or c".
fn alternatives(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use crate::internals::ctxt::Ctxt;
    use crate::internals::machine::MachineModel;

    /// The model of `input` with the messages of its errors.
    fn model(input: syn::DeriveInput) -> (MachineModel, Vec<String>) {
        let mut cx = Ctxt::default();
        let model = MachineModel::from_ast(&mut cx, &input).expect("a model");
        let errors = cx
            .into_error()
            .map(|error| error.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default();
        (model, errors)
    }

    fn handlers(model: &MachineModel) -> Vec<String> {
        model
            .transitions
            .iter()
            .map(|transition| transition.handler.to_string())
            .collect()
    }

    #[test]
    fn a_state_named_event_is_fine() {
        let (model, errors) = model(syn::parse_quote! {
            #[machine(event = OrderEvent)]
            enum Order {
                #[initial]
                #[on(Pay => Done)]
                Event,
                #[terminal] Done,
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(model.transitions[0].targets_enum, "OrderEventOnPay");
    }

    #[test]
    fn targets_enums_that_coincide_are_refused() {
        let (model, errors) = model(syn::parse_quote! {
            #[machine(event = OrderEvent)]
            enum Order {
                #[initial]
                #[on(Pay => Done)]
                PendingOn,
                #[on(OnPay => Done)]
                Pending,
                #[terminal] Done,
            }
        });
        assert_eq!(
            errors,
            ["`OrderPendingOnOnPay` would name both the targets of `PendingOn` on `Pay` and the \
              targets of `Pending` on `OnPay`: rename the state `PendingOn`, the event `Pay`, \
              the state `Pending` or the event `OnPay`"]
        );
        assert_eq!(handlers(&model), ["pending_on_pay"]);
    }

    #[test]
    fn handlers_that_coincide_are_refused() {
        let (model, errors) = model(syn::parse_quote! {
            #[machine(event = OrderEvent)]
            enum Order {
                #[initial]
                #[on(PayNow => Done)]
                Pending,
                #[on(Now => Done)]
                PendingPay,
                #[terminal] Done,
            }
        });
        assert_eq!(
            errors,
            [
                "`pending_pay_now` would name both the handler of `Pending` on `PayNow` and the \
              handler of `PendingPay` on `Now`: rename the state `Pending`, the event `PayNow`, \
              the state `PendingPay` or the event `Now`"
            ]
        );
        assert_eq!(handlers(&model), ["pending_pay_now"]);
    }

    #[test]
    fn a_targets_enum_named_like_a_view_is_refused() {
        let (model, errors) = model(syn::parse_quote! {
            #[machine(event = OrderPending)]
            enum Order {
                #[initial]
                #[on(Pay => Done, OnPay => Done)]
                Pending,
                #[terminal] Done,
            }
        });
        assert_eq!(
            errors,
            [
                "`OrderPendingOnPay` would name both the view of `OrderPending::OnPay` and the \
              targets of `Pending` on `Pay`: rename the event `OnPay`, the event enum \
              `OrderPending`, the state `Pending` or the event `Pay`"
            ]
        );
        assert_eq!(handlers(&model), ["pending_on_pay"]);
    }

    #[test]
    fn an_event_enum_named_like_a_generated_item_is_refused() {
        let (_, errors) = model(syn::parse_quote! {
            #[machine(event = events::OrderTransitions)]
            enum Order {
                #[initial]
                Idle,
            }
        });
        assert_eq!(
            errors,
            [
                "`OrderTransitions` would name both the event enum `OrderTransitions` and the \
              handler trait of `Order`: rename the event enum `OrderTransitions` or the state \
              enum `Order`"
            ]
        );
    }

    #[test]
    fn a_timeout_of_a_refused_rule_is_left_out_too() {
        let (model, errors) = model(syn::parse_quote! {
            #[machine(event = OrderEvent)]
            enum Order {
                #[initial]
                #[on(Pay => Done)]
                PendingOn,
                #[on(OnPay => Done)]
                #[timeout(after = "1s", event = OnPay)]
                Pending,
                #[terminal] Done,
            }
        });
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(model.states.iter().all(|state| state.timeouts.is_empty()));
    }
}
