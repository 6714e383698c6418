//! Introspection: `initial_tag()`, `transition_table()`, `timeout_table()` and `mermaid()` as
//! associated functions of the state enum, all answered from `'static` data, and the last three
//! again as the core crate's `Diagram` trait.

use proc_macro2::TokenStream;
use quote::quote;

use super::effects::duration;
use super::mermaid;
use crate::internals::machine::MachineModel;
use crate::internals::naming::unraw;
use crate::internals::transitions::Transition;

/// The inherent `impl` with the introspection functions.
pub(crate) fn expand(model: &MachineModel) -> TokenStream {
    let MachineModel {
        ident,
        krate,
        tag,
        event_tag,
        ..
    } = model;
    let transition_info = quote!(#krate::TransitionInfo<#tag, #event_tag>);
    let timeout_info = quote!(#krate::TimeoutInfo<#tag, #event_tag>);
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
        let event = event_tag_of(model, transition);
        let targets = transition
            .targets
            .iter()
            .map(|(index, _)| &model.states[*index].ident);
        quote! {
            #krate::TransitionInfo {
                from: #tag::#from,
                event: #event,
                targets: &[#(#tag::#targets),*],
            },
        }
    });
    let timeouts = model.states.iter().enumerate().flat_map(|(index, state)| {
        let name = &state.ident;
        state.timeouts.iter().filter_map(move |timeout| {
            let after = duration(timeout.after_millis);
            let wanted = unraw(&timeout.variant);
            // A timeout's event is one its state has a rule for: its tag is that rule's.
            let transition = model
                .transitions_from(index)
                .find(|transition| unraw(&transition.event) == wanted)?;
            let event = event_tag_of(model, transition);
            Some(quote! {
                #krate::TimeoutInfo {
                    state: #tag::#name,
                    after: #after,
                    event: #event,
                },
            })
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

        // The same answers through a trait, for tools generic over the machine. Inherent
        // functions win name resolution, so these delegate rather than recurse.
        impl #krate::Diagram for #ident {
            type EventTag = #event_tag;

            fn transition_table() -> &'static [#transition_info] {
                #ident::transition_table()
            }

            fn timeout_table() -> &'static [#timeout_info] {
                #ident::timeout_table()
            }

            fn mermaid() -> ::std::string::String {
                #ident::mermaid()
            }
        }
    }
}

/// The tag of a rule's event, through its view, so that an event missing from the event enum
/// is reported once, where the handler signature names the view.
fn event_tag_of(model: &MachineModel, transition: &Transition) -> TokenStream {
    let krate = &model.krate;
    let view = &transition.view;
    quote!(#krate::__private::tag_of::<#view<'static>>())
}
