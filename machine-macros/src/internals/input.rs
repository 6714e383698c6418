//! Checks shared by both derives on the item they are applied to.

use syn::meta::ParseNestedMeta;
use syn::{Data, DataEnum, DeriveInput, LitStr, Path};

use super::ctxt::Ctxt;

/// The enum behind `input`, or an error saying that `derive` only works on enums.
///
/// `what` names what each variant stands for ("state", "event"), for the message.
pub(crate) fn require_enum<'a>(
    input: &'a DeriveInput,
    derive: &str,
    what: &str,
) -> syn::Result<&'a DataEnum> {
    let name = &input.ident;
    let enum_data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(data) => {
            return Err(syn::Error::new(
                data.struct_token.span,
                format!(
                    "`#[derive({derive})]` only works on enums: make `{name}` an enum with one \
                     variant per {what}"
                ),
            ))
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span,
                format!(
                    "`#[derive({derive})]` only works on enums: make `{name}` an enum with one \
                     variant per {what}"
                ),
            ))
        }
    };
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            format!(
                "`#[derive({derive})]` does not support generic enums: use concrete types in \
                 the variants of `{name}`"
            ),
        ));
    }
    if enum_data.variants.is_empty() {
        return Err(syn::Error::new_spanned(
            name,
            format!("`{name}` has no variants: `#[derive({derive})]` needs at least one {what}"),
        ));
    }
    Ok(enum_data)
}

/// Parses the value of `crate = ...`: a path (`::machine::core`) or, as in serde, a string
/// holding one (`"::machine::core"`).
pub(crate) fn parse_crate_path(meta: &ParseNestedMeta<'_>) -> syn::Result<Path> {
    let value = meta.value()?;
    if value.peek(LitStr) {
        let text: LitStr = value.parse()?;
        text.parse_with(Path::parse_mod_style)
    } else {
        Path::parse_mod_style(value)
    }
}

/// Reports the helper attributes `helpers` where they do not belong: on the enum itself
/// (`place = "the enum"`) or on fields.
pub(crate) fn reject_misplaced<'a>(
    cx: &mut Ctxt,
    attrs: impl IntoIterator<Item = &'a syn::Attribute>,
    helpers: &[&str],
    place: &str,
) {
    for attr in attrs {
        if let Some(helper) = helpers.iter().find(|helper| attr.path().is_ident(helper)) {
            cx.error_at(
                attr,
                format!("`#[{helper}]` belongs on a variant, not on {place}"),
            );
        }
    }
}
