//! The validated model of a `#[derive(Machine)]` enum: states, the transition table and the
//! options, checked against each other.
//!
//! Everything the derive can check without seeing the event enum is checked here, with the
//! error on the offending token. What only the event enum knows (that `Pay` is one of its
//! variants) is checked by constants generated at the user's tokens (`expand::checks`).

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::{DeriveInput, Ident, Path, Type, Visibility};

use super::clashes::check_names;
use super::core_path::default_core_path;
use super::ctxt::Ctxt;
use super::fields::VariantFields;
use super::input::{reject_misplaced, require_enum};
use super::machine_options::MachineOptions;
use super::naming::{self, closest, next_to, unraw};
use super::state_attrs::{StateAttrs, VARIANT_HELPERS};
use super::timeout::Timeout;
use super::transitions::{build_transitions, Transition};

/// A state machine enum, ready for expansion.
pub(crate) struct MachineModel {
    /// The enum's name, e.g. `Order`.
    pub(crate) ident: Ident,
    /// The enum's visibility, given to every generated item.
    pub(crate) vis: Visibility,
    /// The path of the core crate in generated code.
    pub(crate) krate: Path,
    /// `Machine::NAME`.
    pub(crate) name: String,
    /// The event enum, as written in `#[machine(event = ...)]`.
    pub(crate) event: Path,
    /// The event tag enum next to it, e.g. `OrderEventTag`.
    pub(crate) event_tag: Path,
    /// The state tag enum, e.g. `OrderTag`.
    pub(crate) tag: Ident,
    /// The handler trait, e.g. `OrderTransitions`, spanned at the enum (where a missing
    /// `impl` is reported).
    pub(crate) handler_trait: Ident,
    /// `Machine::Env`.
    pub(crate) env: Type,
    /// `Machine::Error`.
    pub(crate) error: Type,
    /// The span of the `effects` flag, when effects are forwarded to `impl Effects`.
    pub(crate) effects: Option<Span>,
    /// The states in declaration order.
    pub(crate) states: Vec<State>,
    /// The index of the `#[initial]` state (`None` only while reporting its absence).
    pub(crate) initial: Option<usize>,
    /// The declared transitions, grouped by source state in declaration order.
    pub(crate) transitions: Vec<Transition>,
}

/// One state variant.
pub(crate) struct State {
    /// The variant's name.
    pub(crate) ident: Ident,
    /// The tag's persisted name: the variant's name unless renamed.
    pub(crate) name: String,
    /// The variant's data.
    pub(crate) fields: VariantFields,
    /// `#[terminal]`: a final state.
    pub(crate) terminal: bool,
    /// `#[reenter]`: a transition to the same state enters it anew.
    pub(crate) reenter: bool,
    /// The state's timeouts.
    pub(crate) timeouts: Vec<Timeout>,
}

impl MachineModel {
    /// Parses and validates `input`. Errors that leave nothing to expand are returned; all
    /// others are recorded in `cx` and the offending declarations left out.
    pub(crate) fn from_ast(cx: &mut Ctxt, input: &DeriveInput) -> syn::Result<Self> {
        let data = require_enum(input, "Machine", "state")?;
        let options = MachineOptions::from_ast(cx, input);
        reject_misplaced(cx, &input.attrs, VARIANT_HELPERS, "the enum");
        let ident = input.ident.clone();
        let event = options.event.clone().ok_or_else(|| {
            let name = unraw(&ident);
            syn::Error::new_spanned(
                &ident,
                format!(
                    "missing `#[machine(event = ...)]`: name the `#[derive(Event)]` enum `{name}` \
                     handles, e.g. `#[machine(event = {name}Event)]`"
                ),
            )
        })?;

        let variant_attrs: Vec<StateAttrs> = data
            .variants
            .iter()
            .map(|variant| {
                for field in variant.fields.iter() {
                    reject_misplaced(cx, &field.attrs, VARIANT_HELPERS, "a field");
                }
                StateAttrs::from_ast(cx, variant, &event)
            })
            .collect();
        let states = build_states(cx, data, &variant_attrs);
        let initial = find_initial(cx, &ident, &variant_attrs);
        let transitions = build_transitions(cx, &ident, &event, &states, &variant_attrs);
        let mut model = Self {
            name: options
                .name
                .as_ref()
                .map(syn::LitStr::value)
                .unwrap_or_else(|| unraw(&ident)),
            vis: input.vis.clone(),
            krate: options.krate.unwrap_or_else(default_core_path),
            event_tag: next_to(&event, |event| naming::tag_enum(event, Span::call_site())),
            tag: naming::tag_enum(&ident, Span::call_site()),
            handler_trait: naming::handler_trait(&ident, ident.span()),
            event,
            env: options.env.unwrap_or_else(|| syn::parse_quote!(())),
            error: options
                .error
                .unwrap_or_else(|| syn::parse_quote!(::core::convert::Infallible)),
            effects: options.effects,
            ident,
            states,
            initial,
            transitions,
        };
        model.check_terminal_states(cx, &variant_attrs);
        model.check_reentries(cx, &variant_attrs);
        model.attach_timeouts(cx, variant_attrs);
        check_names(cx, &mut model);
        Ok(model)
    }

    /// The transitions whose source is state `index`.
    pub(crate) fn transitions_from(&self, index: usize) -> impl Iterator<Item = &Transition> {
        self.transitions
            .iter()
            .filter(move |transition| transition.source == index)
    }

    /// Terminal states must not declare anything that leaves or re-enters them, and the initial
    /// state cannot be terminal.
    fn check_terminal_states(&mut self, cx: &mut Ctxt, attrs: &[StateAttrs]) {
        for (index, attrs) in attrs.iter().enumerate() {
            let Some(terminal) = &attrs.terminal else {
                continue;
            };
            let state = unraw(&self.states[index].ident);
            for (attr, _) in &attrs.on {
                cx.error_at(
                    attr,
                    format!(
                        "`{state}` is `#[terminal]`: a final state has no transitions; remove \
                         this `#[on(..)]` or the `#[terminal]`"
                    ),
                );
            }
            for (attr, _) in &attrs.timeouts {
                cx.error_at(
                    attr,
                    format!(
                        "`{state}` is `#[terminal]`: the actor stops there, so a timeout would \
                         never fire; remove this `#[timeout(..)]` or the `#[terminal]`"
                    ),
                );
            }
            if let Some(reenter) = &attrs.reenter {
                cx.error_at(
                    reenter,
                    format!("`{state}` is `#[terminal]` and can never be re-entered; remove `#[reenter]`"),
                );
            }
            if attrs.initial.is_some() {
                cx.error_at(
                    terminal,
                    format!(
                        "`{state}` is the initial state and cannot be `#[terminal]`: the \
                         machine would stop before its first event"
                    ),
                );
            }
        }
        let states = &self.states;
        self.transitions
            .retain(|transition| !states[transition.source].terminal);
    }

    /// Keeps the timeouts whose event the state handles; a timeout sending an event the state
    /// has no rule for would be silently dropped at run time.
    fn attach_timeouts(&mut self, cx: &mut Ctxt, attrs: Vec<StateAttrs>) {
        for (index, attrs) in attrs.into_iter().enumerate() {
            if self.states[index].terminal {
                continue;
            }
            for (_, timeout) in attrs.timeouts {
                let handled: Vec<String> = self
                    .transitions_from(index)
                    .map(|transition| unraw(&transition.event))
                    .collect();
                let wanted = unraw(&timeout.variant);
                if handled.contains(&wanted) {
                    self.states[index].timeouts.push(timeout);
                    continue;
                }
                let state = unraw(&self.states[index].ident);
                let hint = closest(&wanted, handled.iter().map(String::as_str))
                    .map(|name| format!(" (did you mean `{name}`?)"))
                    .unwrap_or_default();
                cx.error_at(
                    &timeout.variant,
                    format!(
                        "`{state}` has no `#[on]` rule for `{wanted}`{hint}: a timeout sends an \
                         event its state handles; add `{wanted} => <Target>` to the \
                         `#[on(..)]` of `{state}`"
                    ),
                );
            }
        }
    }

    /// `#[reenter]` only matters for a state with a transition to itself.
    fn check_reentries(&self, cx: &mut Ctxt, attrs: &[StateAttrs]) {
        for (index, attrs) in attrs.iter().enumerate() {
            let Some(reenter) = &attrs.reenter else {
                continue;
            };
            let loops = self.transitions_from(index).any(|transition| {
                transition
                    .targets
                    .iter()
                    .any(|(target, _)| *target == index)
            });
            if !loops && !self.states[index].terminal {
                let name = unraw(&self.states[index].ident);
                cx.error_at(
                    reenter,
                    format!(
                        "`#[reenter]` has no effect: no `#[on]` rule of `{name}` leads back to \
                         `{name}` (write e.g. `#[on(Touch => {name})]`)"
                    ),
                );
            }
        }
    }
}

fn build_states(cx: &mut Ctxt, data: &syn::DataEnum, attrs: &[StateAttrs]) -> Vec<State> {
    let mut names: BTreeMap<String, Ident> = BTreeMap::new();
    data.variants
        .iter()
        .zip(attrs)
        .map(|(variant, attrs)| {
            let ident = variant.ident.clone();
            let mut name = unraw(&ident);
            if let Some(rename) = &attrs.rename {
                name = rename.value();
            }
            if let Some(first) = names.get(&name) {
                let message = format!(
                    "the state name \"{name}\" is already used by `{first}`; tag names are \
                     persisted and must be unique: pick another with \
                     `#[machine(rename = \"...\")]`"
                );
                match &attrs.rename {
                    Some(rename) => cx.push(syn::Error::new(rename.span(), message)),
                    None => cx.error_at(&ident, message),
                }
            } else {
                names.insert(name.clone(), ident.clone());
            }
            State {
                ident,
                name,
                fields: VariantFields::from_syn(&variant.fields),
                terminal: attrs.terminal.is_some(),
                reenter: attrs.reenter.is_some(),
                timeouts: Vec::new(),
            }
        })
        .collect()
}

fn find_initial(cx: &mut Ctxt, ident: &Ident, attrs: &[StateAttrs]) -> Option<usize> {
    let mut initial: Option<usize> = None;
    for (index, attrs) in attrs.iter().enumerate() {
        let Some(attr) = &attrs.initial else {
            continue;
        };
        match initial {
            None => initial = Some(index),
            Some(_) => cx.error_at(
                attr,
                "only one state can be `#[initial]`: a new machine starts in exactly one state; \
                 remove this `#[initial]` or the other one",
            ),
        }
    }
    if initial.is_none() {
        let name = unraw(ident);
        cx.error_at(
            ident,
            format!("no initial state: mark the state a new `{name}` starts in with `#[initial]`"),
        );
    }
    initial
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(input: DeriveInput) -> (Option<MachineModel>, Vec<String>) {
        let mut cx = Ctxt::default();
        let model = MachineModel::from_ast(&mut cx, &input);
        let mut errors: Vec<String> = cx
            .into_error()
            .map(|error| error.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default();
        match model {
            Ok(model) => (Some(model), errors),
            Err(error) => {
                errors.push(error.to_string());
                (None, errors)
            }
        }
    }

    #[test]
    fn builds_the_transition_table_with_generated_names() {
        let (model, errors) = model(syn::parse_quote! {
            #[machine(event = ev::OrderEvent, error = OrderError, name = "order")]
            enum Order {
                #[initial]
                #[on(Pay => PaidNow | Cancelled, Cancel => Cancelled)]
                Pending { id: String },
                #[on(Ship => Shipped)]
                #[timeout(after = "72h", event = Ship)]
                #[reenter]
                #[on(Touch => PaidNow)]
                PaidNow(u64),
                #[terminal] Shipped,
                #[terminal] #[machine(rename = "order.cancelled")] Cancelled,
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let model = model.unwrap();
        assert_eq!(model.name, "order");
        assert_eq!(model.initial, Some(0));
        let summary: Vec<(String, String, Vec<usize>, String)> = model
            .transitions
            .iter()
            .map(|t| {
                (
                    t.handler.to_string(),
                    t.targets_enum.to_string(),
                    t.targets.iter().map(|(index, _)| *index).collect(),
                    t.event.to_string(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "pending_pay".into(),
                    "OrderPendingOnPay".into(),
                    vec![1, 3],
                    "Pay".into()
                ),
                (
                    "pending_cancel".into(),
                    "OrderPendingOnCancel".into(),
                    vec![3],
                    "Cancel".into()
                ),
                (
                    "paid_now_ship".into(),
                    "OrderPaidNowOnShip".into(),
                    vec![2],
                    "Ship".into()
                ),
                (
                    "paid_now_touch".into(),
                    "OrderPaidNowOnTouch".into(),
                    vec![1],
                    "Touch".into()
                ),
            ]
        );
        assert_eq!(model.states[3].name, "order.cancelled");
        assert!(model.states[1].reenter);
        assert_eq!(model.states[1].timeouts.len(), 1);
        assert!(model.states[2].terminal);
    }

    #[test]
    fn unknown_targets_are_reported_and_left_out() {
        let (model, errors) = model(syn::parse_quote! {
            #[machine(event = Ev)]
            enum M {
                #[initial]
                #[on(Go => B | Bee, Stop => C)]
                A,
                #[terminal] B,
            }
        });
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("unknown state `Bee` (did you mean `B`?)"));
        assert!(errors[1].contains("unknown state `C`"));
        let model = model.unwrap();
        assert_eq!(model.transitions.len(), 1);
        assert_eq!(model.transitions[0].targets.len(), 1);
    }

    #[test]
    fn collects_every_mistake_in_one_pass() {
        let (_, errors) = model(syn::parse_quote! {
            #[machine(event = Ev, evnt = Ev)]
            enum M {
                #[on(Go => B)]
                #[on(Go => A)]
                A,
                #[terminal]
                #[on(Go => A)]
                B,
            }
        });
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors
            .iter()
            .any(|e| e.contains("unknown `machine` option")));
        assert!(errors.iter().any(|e| e.contains("duplicate rule")));
        assert!(errors.iter().any(|e| e.contains("no initial state")));
        assert!(errors.iter().any(|e| e.contains("`B` is `#[terminal]`")));
    }
}
