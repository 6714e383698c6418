//! The validated model of a `#[derive(Event)]` enum.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::{DeriveInput, Ident, LitStr, Path, Visibility};

use super::core_path::default_core_path;
use super::ctxt::Ctxt;
use super::fields::VariantFields;
use super::input::{parse_crate_path, reject_misplaced, require_enum};
use super::naming::{self, unraw, TAG_SUFFIX, VIEW_SUFFIX};

/// Suffixes of the items `#[derive(Event)]` generates next to the enum, besides one view per
/// variant. A variant with one of these names would collide with them.
const RESERVED_VARIANTS: &[&str] = &[TAG_SUFFIX, VIEW_SUFFIX];

/// An event enum, ready for expansion.
pub(crate) struct EventModel {
    /// The enum's name, e.g. `OrderEvent`.
    pub(crate) ident: Ident,
    /// The enum's visibility, given to every generated item.
    pub(crate) vis: Visibility,
    /// The path of the core crate in generated code.
    pub(crate) krate: Path,
    /// The tag enum, e.g. `OrderEventTag`.
    pub(crate) tag: Ident,
    /// The enum of every view, e.g. `OrderEventView`.
    pub(crate) view_enum: Ident,
    /// The variants in declaration order.
    pub(crate) variants: Vec<EventVariant>,
}

/// One event variant.
pub(crate) struct EventVariant {
    /// The variant's name.
    pub(crate) ident: Ident,
    /// The tag's persisted name: the variant's name unless `#[event(rename = "...")]`.
    pub(crate) name: String,
    /// The variant's data.
    pub(crate) fields: VariantFields,
    /// The variant's borrowed view, e.g. `OrderEventPay`, spanned at the variant.
    pub(crate) view: Ident,
}

impl EventModel {
    /// Parses and validates `input`. Errors that leave nothing to expand are returned; all
    /// others are recorded in `cx` and the offending parts left out.
    pub(crate) fn from_ast(cx: &mut Ctxt, input: &DeriveInput) -> syn::Result<Self> {
        let data = require_enum(input, "Event", "event")?;
        let krate = parse_container(cx, input);
        let mut variants = Vec::with_capacity(data.variants.len());
        let mut names: BTreeMap<String, Ident> = BTreeMap::new();
        for variant in &data.variants {
            for field in variant.fields.iter() {
                reject_misplaced(cx, &field.attrs, &["event"], "a field");
            }
            let ident = variant.ident.clone();
            let plain = unraw(&ident);
            if RESERVED_VARIANTS.contains(&plain.as_str()) {
                cx.error_at(
                    &ident,
                    format!(
                        "a variant named `{plain}` would clash with the generated `{}{plain}`; \
                         rename the variant (its persisted name can stay \"{plain}\" with \
                         `#[event(rename = \"{plain}\")]`)",
                        unraw(&input.ident)
                    ),
                );
                continue;
            }
            let name = parse_variant(cx, variant).unwrap_or(plain);
            if let Some(first) = names.get(&name) {
                cx.error_at(
                    &ident,
                    format!(
                        "the event name \"{name}\" is already used by `{first}`; tag names are \
                         persisted and must be unique: pick another with \
                         `#[event(rename = \"...\")]`"
                    ),
                );
                continue;
            }
            names.insert(name.clone(), ident.clone());
            variants.push(EventVariant {
                view: naming::view(&input.ident, &ident, ident.span()),
                ident,
                name,
                fields: VariantFields::from_syn(&variant.fields),
            });
        }
        Ok(Self {
            ident: input.ident.clone(),
            vis: input.vis.clone(),
            krate: krate.unwrap_or_else(default_core_path),
            tag: naming::tag_enum(&input.ident, Span::call_site()),
            view_enum: naming::view_enum(&input.ident, Span::call_site()),
            variants,
        })
    }
}

/// `#[event(crate = path)]` on the enum.
fn parse_container(cx: &mut Ctxt, input: &DeriveInput) -> Option<Path> {
    let mut krate = None;
    for attr in input
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("event"))
    {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = Some(parse_crate_path(&meta)?);
                Ok(())
            } else if meta.path.is_ident("rename") {
                Err(meta.error("`rename` belongs on a variant: `#[event(rename = \"...\")]`"))
            } else {
                Err(meta.error(
                    "unknown `event` option on the enum; expected `crate = path` \
                     (e.g. `#[event(crate = ::machine::core)]`)",
                ))
            }
        });
        if let Err(error) = parsed {
            cx.push(error);
        }
    }
    krate
}

/// `#[event(rename = "...")]` on a variant.
fn parse_variant(cx: &mut Ctxt, variant: &syn::Variant) -> Option<String> {
    let mut rename = None;
    for attr in variant
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("event"))
    {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let name: LitStr = meta.value()?.parse()?;
                if name.value().trim().is_empty() {
                    return Err(syn::Error::new(
                        name.span(),
                        "an event name cannot be empty",
                    ));
                }
                rename = Some(name.value());
                Ok(())
            } else if meta.path.is_ident("crate") {
                Err(meta.error("`crate` belongs on the enum: `#[event(crate = path)]`"))
            } else {
                Err(meta.error("unknown `event` option on a variant; expected `rename = \"...\"`"))
            }
        });
        if let Err(error) = parsed {
            cx.push(error);
        }
    }
    rename
}
