//! How generated items are named, in one place so the guide and the code agree.
//!
//! Every generated type starts with the name of the enum it was derived from, so two machines
//! in one module never collide and a reader can tell where a name comes from. For
//! `#[derive(Event)] enum OrderEvent` and `#[derive(Machine)] enum Order`:
//!
//! | name | function | what |
//! |---|---|---|
//! | `OrderEventTag`, `OrderTag` | [`tag_enum`] | the tags of the event or state enum |
//! | `OrderEventView` | [`view_enum`] | any event, borrowed |
//! | `OrderEventPay` | [`view`] | the borrowed view of `OrderEvent::Pay` |
//! | `OrderTransitions` | [`handler_trait`] | the handler trait |
//! | `OrderPendingOnPay` | [`targets_enum`] | the targets of `Pending` on `Pay` |
//! | `pending_pay` | [`handler`] | the handler of `Pending` on `Pay` |
//!
//! `internals::clashes` checks that no two of them coincide.

use proc_macro2::Span;
use quote::format_ident;
use syn::{Ident, Path};

/// The suffix of the tag enums, `OrderTag` and `OrderEventTag`.
pub(crate) const TAG_SUFFIX: &str = "Tag";
/// The suffix of the view enum, `OrderEventView`.
pub(crate) const VIEW_SUFFIX: &str = "View";
/// The suffix of the handler trait, `OrderTransitions`.
const HANDLER_TRAIT_SUFFIX: &str = "Transitions";
/// What joins the source state and the event in a targets enum: `OrderPendingOnPay`.
const TARGETS_INFIX: &str = "On";

/// `<Enum>Tag`: the tag enum of a state or event enum.
pub(crate) fn tag_enum(enum_ident: &Ident, span: Span) -> Ident {
    joined(enum_ident, TAG_SUFFIX, span)
}

/// `<Event>View`: the enum of every borrowed event view.
pub(crate) fn view_enum(event_enum: &Ident, span: Span) -> Ident {
    joined(event_enum, VIEW_SUFFIX, span)
}

/// `<Event><Variant>`: the borrowed view of one event variant.
pub(crate) fn view(event_enum: &Ident, variant: &Ident, span: Span) -> Ident {
    joined(event_enum, &unraw(variant), span)
}

/// `<Machine>Transitions`: the handler trait.
pub(crate) fn handler_trait(machine: &Ident, span: Span) -> Ident {
    joined(machine, HANDLER_TRAIT_SUFFIX, span)
}

/// `<Machine><Source>On<Event>`: the states a handler may return.
pub(crate) fn targets_enum(machine: &Ident, source: &Ident, event: &Ident, span: Span) -> Ident {
    let suffix = format!("{}{TARGETS_INFIX}{}", unraw(source), unraw(event));
    joined(machine, &suffix, span)
}

/// `<source>_<event>` in snake case: a method of the handler trait.
pub(crate) fn handler(source: &Ident, event: &Ident, span: Span) -> Ident {
    Ident::new(
        &format!("{}_{}", snake_case(source), snake_case(event)),
        span,
    )
}

/// The path of the item named `name(last segment)` next to the item `path` points to:
/// `a::b::OrderEvent` and [`tag_enum`] give `a::b::OrderEventTag`.
pub(crate) fn next_to(path: &Path, name: impl FnOnce(&Ident) -> Ident) -> Path {
    let mut sibling = path.clone();
    if let Some(last) = sibling.segments.last_mut() {
        last.ident = name(&last.ident);
    }
    sibling
}

/// The identifier as written, without a raw-identifier prefix (`r#type` -> `type`).
pub(crate) fn unraw(ident: &Ident) -> String {
    let text = ident.to_string();
    match text.strip_prefix("r#") {
        Some(stripped) => stripped.to_owned(),
        None => text,
    }
}

/// `prefix` and `suffix` glued together, spanned at `span` (errors about it point there).
fn joined(prefix: &Ident, suffix: &str, span: Span) -> Ident {
    format_ident!("{}{}", unraw(prefix), suffix, span = span)
}

/// `snake_case` of a `CamelCase` identifier: `PaymentFailed` -> `payment_failed`.
pub(crate) fn snake_case(ident: &Ident) -> String {
    let text = unraw(ident);
    let mut snake = String::with_capacity(text.len() + 4);
    let mut previous_lower = false;
    for ch in text.chars() {
        if ch.is_uppercase() {
            if previous_lower {
                snake.push('_');
            }
            snake.extend(ch.to_lowercase());
            previous_lower = false;
        } else {
            snake.push(ch);
            previous_lower = ch.is_lowercase() || ch.is_ascii_digit();
        }
    }
    snake
}

/// The candidate closest to `wanted`, if any is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(wanted, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= candidate.len().max(wanted.len()) / 3 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `a`, `b` and `c` as "`a`, `b`, `c`" for error messages.
pub(crate) fn listing<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Levenshtein distance, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(text: &str) -> Ident {
        Ident::new(text, Span::call_site())
    }

    #[test]
    fn snake_case_splits_words() {
        assert_eq!(snake_case(&ident("Pending")), "pending");
        assert_eq!(snake_case(&ident("PaymentFailed")), "payment_failed");
        assert_eq!(snake_case(&ident("Step2Done")), "step2_done");
        assert_eq!(snake_case(&ident("HTTPError")), "httperror");
        assert_eq!(
            snake_case(&Ident::new_raw("type", Span::call_site())),
            "type"
        );
    }

    #[test]
    fn generated_names_follow_the_scheme() {
        let span = Span::call_site();
        let (order, pending, pay) = (ident("Order"), ident("Pending"), ident("Pay"));
        assert_eq!(tag_enum(&order, span), "OrderTag");
        assert_eq!(handler_trait(&order, span), "OrderTransitions");
        assert_eq!(
            targets_enum(&order, &pending, &pay, span),
            "OrderPendingOnPay"
        );
        assert_eq!(
            handler(&ident("PendingPay"), &ident("NowOrNever"), span),
            "pending_pay_now_or_never"
        );
        let event = ident("OrderEvent");
        assert_eq!(view(&event, &pay, span), "OrderEventPay");
        assert_eq!(view_enum(&event, span), "OrderEventView");
    }

    #[test]
    fn next_to_replaces_the_last_segment() {
        let path: Path = syn::parse_quote!(crate::events::OrderEvent);
        let pay = ident("Pay");
        let sibling = next_to(&path, |event| view(event, &pay, Span::call_site()));
        let expected: Path = syn::parse_quote!(crate::events::OrderEventPay);
        assert_eq!(sibling, expected);
    }

    #[test]
    fn closest_finds_typos_only() {
        let states = ["Pending", "Paid", "Shipped", "Cancelled"];
        assert_eq!(closest("Shiped", states), Some("Shipped"));
        assert_eq!(closest("canceled", states), Some("Cancelled"));
        assert_eq!(closest("Refunded", states), None);
    }

    #[test]
    fn listing_quotes_names() {
        assert_eq!(listing(["a", "b"]), "`a`, `b`");
    }
}
