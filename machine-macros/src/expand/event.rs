//! `#[derive(Event)]`: the tag enum, `impl Event` and the borrowed views.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::tag::TagEnum;
use super::variant::any;
use super::views;
use crate::internals::event::EventModel;
use crate::internals::naming::joined;

/// Everything `#[derive(Event)]` generates for `model`.
pub(crate) fn expand(model: &EventModel) -> TokenStream {
    let tag = joined(&model.ident, "Tag", Span::call_site());
    let tag_enum = TagEnum {
        krate: &model.krate,
        vis: &model.vis,
        ident: &tag,
        source: &model.ident,
        what: "event",
        variants: model
            .variants
            .iter()
            .map(|variant| (&variant.ident, variant.name.as_str()))
            .collect(),
    }
    .expand();
    let event_impl = event_impl(model, &tag);
    let views = views::expand(model);
    quote! {
        #tag_enum
        #event_impl
        #views
    }
}

/// `impl Event`: the tag of each event.
fn event_impl(model: &EventModel, tag: &syn::Ident) -> TokenStream {
    let EventModel { ident, krate, .. } = model;
    let arms = model.variants.iter().map(|variant| {
        let name = &variant.ident;
        let pattern = any(quote!(Self::#name));
        quote!(#pattern => #tag::#name,)
    });
    quote! {
        impl #krate::Event for #ident {
            type Tag = #tag;

            fn tag(&self) -> #tag {
                match self {
                    #(#arms)*
                }
            }
        }
    }
}
