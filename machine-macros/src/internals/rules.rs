//! The grammar of `#[on(...)]`: the transition table, declared on each source state.
//!
//! ```text
//! #[on(Pay => Paid | Cancelled, Cancel => Cancelled)]
//!      ^^^    ^^^^^^^^^^^^^^^^
//!      event  every state the handler may return
//! ```

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Token};

/// What a rule must look like, for error messages.
const SYNTAX: &str = "expected `Event => Target`, or `Event => Target | OtherTarget`; separate \
                      rules with commas, e.g. `#[on(Pay => Paid | Cancelled, Cancel => Cancelled)]`";

/// One rule: in this state, `event` leads to one of `targets`.
pub(crate) struct Rule {
    /// The event variant's name.
    pub(crate) event: Ident,
    /// The target state variants' names, as written.
    pub(crate) targets: Vec<Ident>,
}

impl Parse for Rule {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let event = parse_variant_name(input, "event")?;
        input
            .parse::<Token![=>]>()
            .map_err(|error| syn::Error::new(error.span(), SYNTAX))?;
        let mut targets = vec![parse_variant_name(input, "target state")?];
        while input.peek(Token![|]) {
            input.parse::<Token![|]>()?;
            targets.push(parse_variant_name(input, "target state")?);
        }
        if !input.is_empty() && !input.peek(Token![,]) {
            return Err(input.error(SYNTAX));
        }
        Ok(Self { event, targets })
    }
}

/// Parses the rules of one `#[on(...)]`.
pub(crate) fn parse_rules(attr: &Attribute) -> syn::Result<Vec<Rule>> {
    let rules = attr.parse_args_with(Punctuated::<Rule, Token![,]>::parse_terminated)?;
    if rules.is_empty() {
        return Err(syn::Error::new_spanned(attr, SYNTAX));
    }
    Ok(rules.into_iter().collect())
}

/// A bare variant name; paths such as `OrderEvent::Pay` are refused with a hint.
fn parse_variant_name(input: ParseStream<'_>, what: &str) -> syn::Result<Ident> {
    let ident: Ident = input
        .parse()
        .map_err(|error| syn::Error::new(error.span(), SYNTAX))?;
    if input.peek(Token![::]) {
        return Err(syn::Error::new(
            ident.span(),
            format!("write the {what} variant's name alone (e.g. `Pay`, not `OrderEvent::Pay`)"),
        ));
    }
    Ok(ident)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(tokens: proc_macro2::TokenStream) -> syn::Result<Vec<Rule>> {
        let attr: Attribute = syn::parse_quote!(#[on(#tokens)]);
        parse_rules(&attr)
    }

    #[test]
    fn parses_rules_with_alternatives() {
        let parsed = rules(quote::quote!(Pay => Paid | Cancelled, Cancel => Cancelled,)).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].event, "Pay");
        assert_eq!(parsed[0].targets, ["Paid", "Cancelled"]);
        assert_eq!(parsed[1].targets, ["Cancelled"]);
    }

    #[test]
    fn refuses_malformed_rules() {
        for bad in [
            quote::quote!(),
            quote::quote!(Pay),
            quote::quote!(Pay => ),
            quote::quote!(Pay -> Paid),
            quote::quote!(Pay => Paid Cancelled),
            quote::quote!(OrderEvent::Pay => Paid),
            quote::quote!(Pay => Order::Paid),
        ] {
            assert!(rules(bad.clone()).is_err(), "{bad} was accepted");
        }
    }
}
