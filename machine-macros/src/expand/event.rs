//! `#[derive(Event)]`: the tag enum, `impl Event` and the borrowed views.

use proc_macro2::TokenStream;
use quote::quote;

use super::tag::TagEnum;
use super::variant::any;
use super::views;
use crate::internals::event::EventModel;
use crate::internals::naming::unraw;

/// Everything `#[derive(Event)]` generates for `model`.
pub(crate) fn expand(model: &EventModel) -> TokenStream {
    let tag = &model.tag;
    let tag_enum = TagEnum {
        krate: &model.krate,
        vis: &model.vis,
        ident: tag,
        source: &model.ident,
        what: "event",
        variants: model
            .variants
            .iter()
            .map(|variant| (&variant.ident, variant.name.as_str()))
            .collect(),
    }
    .expand();
    let event_impl = event_impl(model, tag);
    let variants_impl = variants_impl(model);
    let views = views::expand(model);
    quote! {
        #tag_enum
        #event_impl
        #variants_impl
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

/// The variants' names, against which `#[derive(Machine)]` checks the events its rules name.
fn variants_impl(model: &EventModel) -> TokenStream {
    let EventModel { ident, krate, .. } = model;
    let names = model.variants.iter().map(|variant| unraw(&variant.ident));
    quote! {
        impl #krate::__private::EventVariants for #ident {
            const VARIANTS: &'static [&'static str] = &[#(#names),*];
        }
    }
}
