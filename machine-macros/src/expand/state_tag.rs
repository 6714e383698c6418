//! The state tag enum (`OrderTag`), its `StateTag` impl and `Machine::tag`.

use proc_macro2::TokenStream;
use quote::quote;

use super::tag::TagEnum;
use super::variant::any;
use crate::internals::machine::MachineModel;

/// The tag enum with `Tag` and `StateTag`.
pub(crate) fn expand(model: &MachineModel) -> TokenStream {
    let tag = &model.tag;
    let krate = &model.krate;
    let tag_enum = TagEnum {
        krate,
        vis: &model.vis,
        ident: tag,
        source: &model.ident,
        what: "state",
        variants: model
            .states
            .iter()
            .map(|state| (&state.ident, state.name.as_str()))
            .collect(),
    }
    .expand();
    let terminal = model
        .states
        .iter()
        .filter(|state| state.terminal)
        .map(|state| &state.ident);
    let is_final = quote!(::core::matches!(self, #(Self::#terminal)|*));
    let is_final = if model.states.iter().any(|state| state.terminal) {
        is_final
    } else {
        quote!(false)
    };
    let is_initial = match model.initial {
        Some(index) => {
            let initial = &model.states[index].ident;
            quote!(::core::matches!(self, Self::#initial))
        }
        None => quote!(false),
    };
    quote! {
        #tag_enum

        impl #krate::StateTag for #tag {
            fn is_final(self) -> bool {
                #is_final
            }

            fn is_initial(self) -> bool {
                #is_initial
            }
        }
    }
}

/// `Machine::tag`.
pub(crate) fn tag_fn(model: &MachineModel) -> TokenStream {
    let tag = &model.tag;
    let arms = model.states.iter().map(|state| {
        let name = &state.ident;
        let pattern = any(quote!(Self::#name));
        quote!(#pattern => #tag::#name,)
    });
    quote! {
        fn tag(&self) -> #tag {
            match self {
                #(#arms)*
            }
        }
    }
}
