//! `#[derive(Machine)]`: assembles the generated items for a state enum.

use proc_macro2::TokenStream;
use quote::quote;

use super::{checks, dispatch, effects, handlers, state_tag, table, targets};
use crate::internals::machine::MachineModel;

/// Everything `#[derive(Machine)]` generates for `model`.
pub(crate) fn expand(model: &MachineModel) -> TokenStream {
    let state_tag = state_tag::expand(model);
    let targets = targets::expand(model);
    let handlers = handlers::expand(model);
    let machine_impl = machine_impl(model);
    let forwarded = effects::forwarded_marker(model);
    let table = table::expand(model);
    let checks = checks::expand(model);
    quote! {
        #state_tag
        #targets
        #handlers
        #machine_impl
        #forwarded
        #table
        #checks
    }
}

/// `impl Machine`: the associated types, the tag, the dispatch and the effect declarations.
fn machine_impl(model: &MachineModel) -> TokenStream {
    let MachineModel {
        ident,
        krate,
        name,
        event,
        env,
        error,
        ..
    } = model;
    let state_tag = &model.tag;
    let tag_fn = state_tag::tag_fn(model);
    let transition_fn = dispatch::transition_fn(model);
    let effect_fns = effects::expand(model);
    quote! {
        impl #krate::Machine for #ident {
            type Event = #event;
            type Env = #env;
            type Error = #error;
            type StateTag = #state_tag;

            const NAME: &'static str = #name;

            #tag_fn
            #transition_fn
            #effect_fns
        }
    }
}
