//! `Machine::transition`: one match arm per declared `(state, event)` pair, calling its
//! handler; every other pair is `Outcome::Unhandled`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

use super::handlers::{self, view_binding};
use super::variant::bound;
use crate::internals::machine::MachineModel;
use crate::internals::naming::sibling;

/// The `transition` method.
pub(crate) fn transition_fn(model: &MachineModel) -> TokenStream {
    let MachineModel {
        ident,
        krate,
        event: event_enum,
        error,
        ..
    } = model;
    let event = Ident::new("event", Span::mixed_site());
    let next = Ident::new("next", Span::mixed_site());
    let rejection = Ident::new("error", Span::mixed_site());
    let view_enum = sibling(event_enum, "View", Span::call_site());
    let handler_trait = handlers::ident(model);
    let arms = model.transitions.iter().map(|transition| {
        let source = &model.states[transition.source];
        let source_ident = &source.ident;
        let state_pattern = bound(quote!(Self::#source_ident), &source.fields);
        let event_variant = &transition.event;
        let view = view_binding(transition);
        let handler = &transition.handler;
        let arguments = source.fields.fields.iter().map(|field| &field.binding);
        // Spanned at the enum: a missing `impl OrderTransitions for Order` is reported there.
        let call = quote_spanned! {ident.span()=>
            <#ident as #handler_trait>::#handler(#(#arguments,)* #view)
        };
        quote! {
            (#state_pattern, #view_enum::#event_variant(#view)) => match #call {
                ::core::result::Result::Ok(#next) => #krate::Outcome::Next(Self::from(#next)),
                ::core::result::Result::Err(#rejection) => #krate::Outcome::Rejected(#rejection),
            },
        }
    });
    quote! {
        fn transition(&self, #event: &#event_enum) -> #krate::Outcome<Self, #error> {
            match (self, #view_enum::from(#event)) {
                #(#arms)*
                #[allow(unreachable_patterns)]
                _ => #krate::Outcome::Unhandled,
            }
        }
    }
}
