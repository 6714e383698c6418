//! What only the event enum knows, checked by rustc where the user wrote it.
//!
//! `#[derive(Machine)]` cannot see the event enum, so it cannot tell whether `Asign` in
//! `#[on(Asign => Done)]` is one of its variants. It generates a constant per event named in an
//! `#[on]` rule, spanned at that name, that compares it with the variant names
//! `#[derive(Event)]` lists:
//!
//! ```text
//! const _: () = {
//!     use ::machine_core::__private::expect_variant;
//!     const VARIANTS: &[&str] = <OrderEvent as ::machine_core::__private::EventVariants>::VARIANTS;
//!     const _: () = expect_variant(VARIANTS, "Asign", "an event must be a variant of `OrderEvent`");
//! };
//! ```
//!
//! A name that is not a variant fails the constant's evaluation, which rustc reports at that
//! name: "unknown event `Asign` (did you mean `Assign`?); an event must be a variant of
//! `OrderEvent`: one of ...". An event enum without `#[derive(Event)]` fails `VARIANTS` once,
//! at the `event = ...` path, with the message of `EventVariants`.
//!
//! A `#[timeout]` needs no constant: its event is one a rule of its state names (checked when
//! parsing), and the event it builds is an expression of the event enum, which rustc checks
//! where it is written.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{Ident, Path};

use crate::internals::machine::MachineModel;
use crate::internals::naming::unraw;

/// The checks of every event the rules of `model` name.
pub(crate) fn expand(model: &MachineModel) -> TokenStream {
    let MachineModel {
        krate,
        event: event_enum,
        ..
    } = model;
    if model.transitions.is_empty() {
        return TokenStream::new();
    }
    let variants = Ident::new("VARIANTS", Span::mixed_site());
    let expected = format!("an event must be a variant of `{}`", written(event_enum));
    let checks = model.transitions.iter().map(|transition| {
        let event = &transition.event;
        let name = unraw(event);
        // Every token at the event as written: rustc reports the failed evaluation there.
        let variants = Ident::new("VARIANTS", variants.span().located_at(event.span()));
        quote_spanned! {event.span()=>
            const _: () = expect_variant(#variants, #name, #expected);
        }
    });
    quote! {
        const _: () = {
            use #krate::__private::expect_variant;
            const #variants: &[&str] = <#event_enum as #krate::__private::EventVariants>::VARIANTS;
            #(#checks)*
        };
    }
}

/// The path as the user wrote it, for messages: `events::OrderEvent`.
fn written(path: &Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|segment| unraw(&segment.ident))
        .collect();
    let leading = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{leading}{}", segments.join("::"))
}
