//! Introspection: `initial_tag()`, `transition_table()`, `timeout_table()` and `mermaid()` as
//! associated functions of the state enum, all answered from `'static` data.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::effects::duration;
use super::{mermaid, state_tag};
use crate::internals::machine::MachineModel;
use crate::internals::naming::{sibling, unraw};

/// The inherent `impl` with the introspection functions.
pub(crate) fn expand(model: &MachineModel) -> TokenStream {
    let MachineModel {
        ident,
        krate,
        event,
        ..
    } = model;
    let tag = state_tag::ident(model);
    let event_tag = sibling(event, "Tag", Span::call_site());
    let transition_info = quote!(#krate::model::TransitionInfo<#tag, #event_tag>);
    let timeout_info = quote!(#krate::model::TimeoutInfo<#tag, #event_tag>);
    let initial_tag = model.initial.map(|index| {
        let initial = &model.states[index].ident;
        let doc = format!(
            "The state a new [`{ident}`] starts in: `{}`.",
            unraw(initial)
        );
        quote! {
            #[doc = #doc]
            pub const fn initial_tag() -> #tag {
                #tag::#initial
            }
        }
    });
    let transitions = model.transitions.iter().map(|transition| {
        let from = &model.states[transition.source].ident;
        let event_variant = &transition.event;
        let targets = transition
            .targets
            .iter()
            .map(|(index, _)| &model.states[*index].ident);
        quote! {
            #krate::model::TransitionInfo {
                from: #tag::#from,
                event: #event_tag::#event_variant,
                targets: &[#(#tag::#targets),*],
            },
        }
    });
    let timeouts = model.states.iter().flat_map(|state| {
        let name = &state.ident;
        let (tag, event_tag) = (&tag, &event_tag);
        state.timeouts.iter().map(move |timeout| {
            let after = duration(timeout.after_millis);
            let variant = &timeout.variant;
            quote! {
                #krate::model::TimeoutInfo {
                    state: #tag::#name,
                    after: #after,
                    event: #event_tag::#variant,
                },
            }
        })
    });
    let diagram = mermaid::render(model);
    let table_doc = format!(
        "Every transition declared with `#[on]` on [`{ident}`], in declaration order: source, \
         event and the targets its handler may return."
    );
    let timeout_doc = format!("Every `#[timeout]` declared on [`{ident}`], in declaration order.");
    let mermaid_doc = format!(
        "The state diagram of [`{ident}`] in Mermaid syntax (`stateDiagram-v2`):\n\n```text\n{diagram}```"
    );
    quote! {
        #[allow(dead_code)]
        impl #ident {
            #initial_tag

            #[doc = #table_doc]
            pub fn transition_table() -> &'static [#transition_info] {
                const TABLE: &[#transition_info] = &[
                    #(#transitions)*
                ];
                TABLE
            }

            #[doc = #timeout_doc]
            pub fn timeout_table() -> &'static [#timeout_info] {
                const TABLE: &[#timeout_info] = &[
                    #(#timeouts)*
                ];
                TABLE
            }

            #[doc = #mermaid_doc]
            pub fn mermaid() -> ::std::string::String {
                ::std::string::String::from(#diagram)
            }
        }
    }
}
