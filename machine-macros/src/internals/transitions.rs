//! The transition table: every `#[on]` rule resolved against the state variants.
//!
//! Each declared `(source, event)` pair becomes one [`Transition`] with the names of what it
//! generates (handler method, targets enum) and refers to (the event's view). Unknown targets,
//! repeated targets and duplicate pairs are reported and left out; `super::clashes` checks the
//! names.

use proc_macro2::Span;
use syn::{Ident, Path};

use super::ctxt::Ctxt;
use super::machine::State;
use super::naming::{self, closest, listing, next_to, unraw};
use super::rules::Rule;
use super::state_attrs::StateAttrs;

/// One declared `(source, event)` pair and its allowed targets.
pub(crate) struct Transition {
    /// The index of the source state.
    pub(crate) source: usize,
    /// The event variant, spanned where the user wrote it.
    pub(crate) event: Ident,
    /// The indices of the allowed targets, in the order written, spanned where written.
    pub(crate) targets: Vec<(usize, Ident)>,
    /// The handler method, e.g. `pending_pay`, spanned at the event in `#[on]`.
    pub(crate) handler: Ident,
    /// The enum of allowed targets, e.g. `OrderPendingOnPay`, spanned at the event in `#[on]`.
    pub(crate) targets_enum: Ident,
    /// The event's view, e.g. `OrderEventPay`, next to the event enum.
    pub(crate) view: Path,
}

/// Resolves the rules of every state, in declaration order; `event_enum` is the path of the
/// machine's event enum.
pub(crate) fn build_transitions(
    cx: &mut Ctxt,
    machine: &Ident,
    event_enum: &Path,
    states: &[State],
    attrs: &[StateAttrs],
) -> Vec<Transition> {
    let mut builder = TableBuilder {
        cx,
        machine,
        event_enum,
        states,
        state_names: states.iter().map(|state| unraw(&state.ident)).collect(),
        transitions: Vec::new(),
    };
    for (source, attrs) in attrs.iter().enumerate() {
        for rule in attrs.on.iter().flat_map(|(_, rules)| rules) {
            builder.add(source, rule);
        }
    }
    builder.transitions
}

/// The table being built, with what it needs to report mistakes.
struct TableBuilder<'a> {
    cx: &'a mut Ctxt,
    machine: &'a Ident,
    event_enum: &'a Path,
    states: &'a [State],
    state_names: Vec<String>,
    transitions: Vec<Transition>,
}

impl TableBuilder<'_> {
    /// Adds the rule `rule` of state `source`, unless it is a duplicate or has no valid target.
    fn add(&mut self, source: usize, rule: &Rule) {
        let source_name = self.state_names[source].clone();
        let event_name = unraw(&rule.event);
        let duplicate = self
            .transitions
            .iter()
            .any(|t| t.source == source && unraw(&t.event) == event_name);
        if duplicate {
            self.cx.error_at(
                &rule.event,
                format!(
                    "duplicate rule: `{source_name}` already handles `{event_name}`; list every \
                     target in one rule, e.g. `{event_name} => A | B`"
                ),
            );
            return;
        }
        let targets = self.resolve_targets(rule);
        if targets.is_empty() {
            return;
        }
        let source_ident = &self.states[source].ident;
        let span = rule.event.span();
        self.transitions.push(Transition {
            source,
            event: rule.event.clone(),
            targets,
            handler: naming::handler(source_ident, &rule.event, span),
            targets_enum: naming::targets_enum(self.machine, source_ident, &rule.event, span),
            // Spanned at the derive: for an unknown event `Py`, rustc would otherwise suggest
            // replacing the user's `Py` with a similar view name such as `OrderEventPay`.
            view: next_to(self.event_enum, |event_enum| {
                naming::view(event_enum, &rule.event, Span::call_site())
            }),
        });
    }

    /// The states `rule` may lead to; unknown and repeated ones are reported and skipped.
    fn resolve_targets(&mut self, rule: &Rule) -> Vec<(usize, Ident)> {
        let mut targets: Vec<(usize, Ident)> = Vec::new();
        for target in &rule.targets {
            let wanted = unraw(target);
            match self.state_names.iter().position(|name| *name == wanted) {
                Some(index) if targets.iter().any(|(seen, _)| *seen == index) => {
                    self.cx.error_at(
                        target,
                        format!("`{wanted}` is listed twice as a target of `{}`", rule.event),
                    );
                }
                Some(index) => targets.push((index, target.clone())),
                None => {
                    let names = self.state_names.iter().map(String::as_str);
                    let hint = closest(&wanted, names.clone())
                        .map(|name| format!(" (did you mean `{name}`?)"))
                        .unwrap_or_default();
                    self.cx.error_at(
                        target,
                        format!(
                            "unknown state `{wanted}`{hint}; a target must be a variant of `{}`: \
                             one of {}",
                            unraw(self.machine),
                            listing(names)
                        ),
                    );
                }
            }
        }
        targets
    }
}
