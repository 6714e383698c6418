//! Code generation: from a validated model to tokens.
//!
//! Each file generates one kind of item; [`event`] and [`machine`] assemble them. Generated
//! code refers to the core crate through the model's `krate` path (found from the user's
//! `Cargo.toml` by `internals::core_path` unless `crate = ...` says otherwise) and to std
//! items by absolute `::core`/`::std` paths, so it works whatever the user imported.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::internals::ctxt::Ctxt;
use crate::internals::event::EventModel;
use crate::internals::machine::MachineModel;

mod checks;
mod dispatch;
mod effects;
mod event;
mod handlers;
mod machine;
mod mermaid;
mod state_tag;
mod table;
mod tag;
mod targets;
mod variant;
mod views;

/// `#[derive(Event)]`. On any error only the errors are emitted: a partial event enum would
/// make every `match` generated for it fail as well.
pub(crate) fn derive_event(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let expanded = match EventModel::from_ast(&mut cx, input) {
        Ok(model) => event::expand(&model),
        Err(error) => {
            cx.push(error);
            TokenStream::new()
        }
    };
    match cx.into_error() {
        Some(errors) => errors.to_compile_error(),
        None => expanded,
    }
}

/// `#[derive(Machine)]`. Errors are emitted together with the code for the declarations that
/// were valid, so user code naming generated items (`impl OrderTransitions for Order`) does not
/// add follow-up errors to the real ones.
pub(crate) fn derive_machine(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let expanded = match MachineModel::from_ast(&mut cx, input) {
        Ok(model) => machine::expand(&model),
        Err(error) => {
            cx.push(error);
            TokenStream::new()
        }
    };
    let errors = cx.into_error().map(|errors| errors.to_compile_error());
    quote! {
        #errors
        #expanded
    }
}
