//! `Machine::transition`: in the current state, each event a rule of it declares is tried in
//! turn; the one the event is calls its handler with the state's fields and the event's view.
//! Any other event is `Outcome::Unhandled`.
//!
//! The dispatch never names an event variant: the view type of the handler's signature
//! (`OrderEventPay`) picks its event out (the hidden `View` trait `#[derive(Event)]`
//! implements), so an event that is not a variant of the event enum adds no error here to the
//! one where the signature names its view and the one of the derive's check.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

use super::handlers::{view_binding, view_type};
use super::variant::bound;
use crate::internals::machine::MachineModel;

/// The `transition` method.
pub(crate) fn transition_fn(model: &MachineModel) -> TokenStream {
    let MachineModel {
        ident,
        krate,
        event: event_enum,
        error,
        handler_trait,
        ..
    } = model;
    let event = Ident::new("event", Span::mixed_site());
    let next = Ident::new("next", Span::mixed_site());
    let rejection = Ident::new("error", Span::mixed_site());
    let arms = model
        .states
        .iter()
        .enumerate()
        .filter_map(|(index, state)| {
            let tries: Vec<TokenStream> = model
                .transitions_from(index)
                .map(|transition| {
                    let view = view_binding(transition);
                    let view_type = view_type(transition);
                    let handler = &transition.handler;
                    let arguments = state.fields.fields.iter().map(|field| &field.binding);
                    // Spanned at the enum: a missing `impl OrderTransitions for Order` is reported
                    // there.
                    let call = quote_spanned! {ident.span()=>
                        <#ident as #handler_trait>::#handler(#(#arguments,)* #view)
                    };
                    quote! {
                        if let ::core::option::Option::Some(#view) =
                            #krate::__private::view::<#view_type>(#event)
                        {
                            return match #call {
                                ::core::result::Result::Ok(#next) => {
                                    #krate::Outcome::Next(Self::from(#next))
                                }
                                ::core::result::Result::Err(#rejection) => {
                                    #krate::Outcome::Rejected(#rejection)
                                }
                            };
                        }
                    }
                })
                .collect();
            if tries.is_empty() {
                return None;
            }
            let source = &state.ident;
            let pattern = bound(quote!(Self::#source), &state.fields);
            Some(quote! {
                #pattern => {
                    #(#tries)*
                }
            })
        });
    quote! {
        fn transition(&self, #event: &#event_enum) -> #krate::Outcome<Self, #error> {
            match self {
                #(#arms)*
                #[allow(unreachable_patterns)]
                _ => {}
            }
            #krate::Outcome::Unhandled
        }
    }
}
