//! The effect side of `impl Machine`: `#[timeout]`s registered in `enter`, `#[reenter]` in
//! `is_entry`, and, with `#[machine(effects)]`, `actions`/`enter`/`background` forwarded to
//! the user's `impl Effects`, which only then may exist (see [`forwarded_marker`]).

use proc_macro2::{Group, Literal, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::Ident;

use super::variant::{any, bound};
use crate::internals::machine::MachineModel;
use crate::internals::timeout::{Timeout, TimeoutEvent};

/// The overridden effect methods; methods with nothing to add keep `Machine`'s defaults.
pub(crate) fn expand(model: &MachineModel) -> TokenStream {
    let is_entry = is_entry_fn(model);
    let enter = enter_fn(model);
    let forwarded = model.effects.map(|span| forwarded_fns(model, span));
    quote! {
        #is_entry
        #enter
        #forwarded
    }
}

/// `is_entry`: a step enters when the tag changes, or when it loops on a `#[reenter]` state.
fn is_entry_fn(model: &MachineModel) -> Option<TokenStream> {
    let krate = &model.krate;
    let tag = &model.tag;
    let reentered: Vec<&Ident> = model
        .states
        .iter()
        .filter(|state| state.reenter)
        .map(|state| &state.ident)
        .collect();
    if reentered.is_empty() {
        return None;
    }
    let step = Ident::new("step", Span::mixed_site());
    Some(quote! {
        fn is_entry(#step: &#krate::Step<'_, Self>) -> bool {
            let from = <Self as #krate::Machine>::tag(#step.from);
            let to = <Self as #krate::Machine>::tag(#step.to);
            from != to || ::core::matches!(to, #(#tag::#reentered)|*)
        }
    })
}

/// `enter`: the state's timeouts, then the user's `Effects::enter`.
fn enter_fn(model: &MachineModel) -> Option<TokenStream> {
    let krate = &model.krate;
    let scope = Ident::new("scope", Span::mixed_site());
    let arms: Vec<TokenStream> = model
        .states
        .iter()
        .filter(|state| !state.timeouts.is_empty())
        .map(|state| {
            let name = &state.ident;
            let needs_fields = state
                .timeouts
                .iter()
                .any(|timeout| matches!(timeout.event, TimeoutEvent::Expr(_)));
            let pattern = if needs_fields {
                bound(quote!(Self::#name), &state.fields)
            } else {
                any(quote!(Self::#name))
            };
            let registrations = state
                .timeouts
                .iter()
                .map(|timeout| register(model, &scope, timeout));
            // Expressions may use some of the state's fields; the others stay unused.
            let allow = needs_fields.then(|| quote!(#[allow(unused_variables)]));
            quote! {
                #allow
                #pattern => {
                    #(#registrations)*
                }
            }
        })
        .collect();
    if arms.is_empty() && model.effects.is_none() {
        return None;
    }
    let timeouts = (!arms.is_empty()).then(|| {
        quote! {
            match self {
                #(#arms)*
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    });
    let forward = model.effects.map(|span| {
        quote_spanned! {span=>
            <Self as #krate::Effects>::enter(self, #scope);
        }
    });
    Some(quote! {
        fn enter(&self, #scope: &mut #krate::Scope<Self>) {
            #timeouts
            #forward
        }
    })
}

/// `scope.timeout(after, event);` for one declared timeout.
fn register(model: &MachineModel, scope: &Ident, timeout: &Timeout) -> TokenStream {
    let after = duration(timeout.after_millis);
    let event = match &timeout.event {
        TimeoutEvent::Unit => {
            // Located at the variant as written, so that an unknown one is reported there
            // rather than across the attributes from `event = ...` to the timeout.
            let event_enum = located_at(model.event.to_token_stream(), timeout.variant.span());
            let variant = &timeout.variant;
            quote!(#event_enum::#variant)
        }
        TimeoutEvent::Expr(expr) => quote!(#expr),
    };
    quote! {
        #scope.timeout(#after, #event);
    }
}

/// `tokens` shown at `span`, keeping their hygiene.
fn located_at(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), located_at(group.stream(), span));
                inner.set_span(group.span().located_at(span));
                return TokenTree::Group(inner);
            }
            token.set_span(token.span().located_at(span));
            token
        })
        .collect()
}

/// A `Duration` expression for `millis`, in whole seconds when it is a whole number of them.
pub(crate) fn duration(millis: u64) -> TokenStream {
    if millis % 1_000 == 0 {
        let secs = Literal::u64_unsuffixed(millis / 1_000);
        quote!(::core::time::Duration::from_secs(#secs))
    } else {
        let millis = Literal::u64_unsuffixed(millis);
        quote!(::core::time::Duration::from_millis(#millis))
    }
}

/// `actions` and `background`, forwarded to the user's `impl Effects` (spanned at the
/// `effects` flag, where a missing impl is reported).
fn forwarded_fns(model: &MachineModel, span: Span) -> TokenStream {
    let krate = &model.krate;
    let step = Ident::new("step", Span::mixed_site());
    let actions = Ident::new("actions", Span::mixed_site());
    let tasks = Ident::new("tasks", Span::mixed_site());
    quote_spanned! {span=>
        fn actions(#step: &#krate::Step<'_, Self>, #actions: &mut #krate::Actions<Self>) {
            <Self as #krate::Effects>::actions(#step, #actions);
        }

        fn background(&self, #tasks: &mut #krate::Background<Self>) {
            <Self as #krate::Effects>::background(self, #tasks);
        }
    }
}

/// With `#[machine(effects)]`, the marker `Effects` requires as a supertrait: without it an
/// `impl Effects` does not compile, since its effects would never run.
pub(crate) fn forwarded_marker(model: &MachineModel) -> Option<TokenStream> {
    let MachineModel { ident, krate, .. } = model;
    model.effects.map(|span| {
        quote_spanned! {span=>
            impl #krate::__private::EffectsForwarded for #ident {}
        }
    })
}
