//! How generated items are named, in one place so the guide and the code agree.
//!
//! Every generated type starts with the name of the enum it was derived from (`OrderTag`,
//! `OrderEventPay`, `OrderPendingPay`), so two machines in one module never collide and a
//! reader can tell where a name comes from.

use proc_macro2::Span;
use quote::format_ident;
use syn::{Ident, Path};

/// The identifier as written, without a raw-identifier prefix (`r#type` -> `type`).
pub(crate) fn unraw(ident: &Ident) -> String {
    let text = ident.to_string();
    match text.strip_prefix("r#") {
        Some(stripped) => stripped.to_owned(),
        None => text,
    }
}

/// `prefix` and `suffix` glued together, spanned at `span` (errors about it point there).
pub(crate) fn joined(prefix: &Ident, suffix: &str, span: Span) -> Ident {
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

/// The path of an item declared next to the item `path` points to: `a::b::OrderEvent` with
/// `Pay` becomes `a::b::OrderEventPay`.
pub(crate) fn sibling(path: &Path, suffix: &str, span: Span) -> Path {
    let mut sibling = path.clone();
    if let Some(last) = sibling.segments.last_mut() {
        last.ident = joined(&last.ident, suffix, span);
    }
    sibling
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
    fn sibling_replaces_the_last_segment() {
        let path: Path = syn::parse_quote!(crate::events::OrderEvent);
        let sibling = sibling(&path, "Pay", Span::call_site());
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
