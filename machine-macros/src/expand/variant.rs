//! Patterns and constructors for enum variants, shared by every generated `match`.

use proc_macro2::TokenStream;
use quote::quote;

use syn::Ident;

use crate::internals::fields::{Field, Shape, VariantFields};

/// `path { a, b }`, `path(field_0, field_1)` or `path`: a pattern binding every field to a local
/// of the same name, which is also the expression rebuilding the variant from those locals.
pub(crate) fn bound(path: TokenStream, fields: &VariantFields) -> TokenStream {
    let bindings = fields.fields.iter().map(|field| &field.binding);
    match fields.shape {
        Shape::Unit => path,
        Shape::Tuple => quote!(#path( #(#bindings),* )),
        Shape::Named => quote!(#path { #(#bindings),* }),
    }
}

/// `path { .. }`: matches the variant whatever its shape.
pub(crate) fn any(path: TokenStream) -> TokenStream {
    quote!(#path { .. })
}

/// The variant's fields as a declaration body: `{ a: A, b: B }`, `(A, B)` or nothing. Named
/// fields keep their doc comments, or get `fallback_doc(name)`.
pub(crate) fn declaration(
    fields: &VariantFields,
    fallback_doc: impl Fn(&Ident) -> String,
) -> TokenStream {
    let types = fields.fields.iter().map(|field| &field.ty);
    match fields.shape {
        Shape::Unit => TokenStream::new(),
        Shape::Tuple => quote!(( #(#types),* )),
        Shape::Named => {
            let declared = fields.fields.iter().filter_map(|field| {
                let name = field.name.as_ref()?;
                let ty = &field.ty;
                let docs = documentation(field, &fallback_doc);
                Some(quote!(#docs #name: #ty))
            });
            quote!({ #(#declared),* })
        }
    }
}

/// The doc comments of `field`, or `fallback_doc(name)` when it has none.
pub(crate) fn documentation(field: &Field, fallback_doc: impl Fn(&Ident) -> String) -> TokenStream {
    if !field.docs.is_empty() {
        let docs = &field.docs;
        return quote!(#(#docs)*);
    }
    let doc = field.name.as_ref().map(fallback_doc).unwrap_or_default();
    quote!(#[doc = #doc])
}
