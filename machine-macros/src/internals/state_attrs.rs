//! The attributes of one state variant: `#[initial]`, `#[terminal]`, `#[reenter]`,
//! `#[on(...)]`, `#[timeout(...)]` and `#[machine(rename = "...")]`.

use syn::{Attribute, LitStr, Path, Variant};

use super::ctxt::Ctxt;
use super::rules::{parse_rules, Rule};
use super::timeout::{parse_timeout, Timeout};

/// The helper attributes of `#[derive(Machine)]` that only make sense on variants.
pub(crate) const VARIANT_HELPERS: &[&str] = &["initial", "terminal", "reenter", "on", "timeout"];

/// What the attributes of one state variant declare.
#[derive(Default)]
pub(crate) struct StateAttrs {
    /// `#[initial]`, kept for its span.
    pub(crate) initial: Option<Attribute>,
    /// `#[terminal]`, kept for its span.
    pub(crate) terminal: Option<Attribute>,
    /// `#[reenter]`, kept for its span.
    pub(crate) reenter: Option<Attribute>,
    /// `#[machine(rename = "...")]`.
    pub(crate) rename: Option<LitStr>,
    /// Every `#[on(...)]` with its rules.
    pub(crate) on: Vec<(Attribute, Vec<Rule>)>,
    /// Every `#[timeout(...)]`.
    pub(crate) timeouts: Vec<(Attribute, Timeout)>,
}

impl StateAttrs {
    /// Parses the attributes of `variant`; `event_enum` qualifies short timeout events.
    pub(crate) fn from_ast(cx: &mut Ctxt, variant: &Variant, event_enum: &Path) -> Self {
        let mut attrs = Self::default();
        for attr in &variant.attrs {
            let path = attr.path();
            if path.is_ident("initial") {
                set_marker(cx, &mut attrs.initial, attr);
            } else if path.is_ident("terminal") {
                set_marker(cx, &mut attrs.terminal, attr);
            } else if path.is_ident("reenter") {
                set_marker(cx, &mut attrs.reenter, attr);
            } else if path.is_ident("on") {
                match parse_rules(attr) {
                    Ok(rules) => attrs.on.push((attr.clone(), rules)),
                    Err(error) => cx.push(error),
                }
            } else if path.is_ident("timeout") {
                match parse_timeout(attr, event_enum) {
                    Ok(timeout) => attrs.timeouts.push((attr.clone(), timeout)),
                    Err(error) => cx.push(error),
                }
            } else if path.is_ident("machine") {
                attrs.parse_options(cx, attr);
            }
        }
        attrs
    }

    /// `#[machine(rename = "...")]` on a variant.
    fn parse_options(&mut self, cx: &mut Ctxt, attr: &Attribute) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let name: LitStr = meta.value()?.parse()?;
                if name.value().trim().is_empty() {
                    return Err(syn::Error::new(name.span(), "a state name cannot be empty"));
                }
                if self.rename.is_some() {
                    return Err(meta.error("`rename` is given twice"));
                }
                self.rename = Some(name);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown `machine` option on a variant; expected `rename = \"...\"` \
                     (the options `event`, `env`, `error`, `name`, `effects` and `crate` go on \
                     the enum)",
                ))
            }
        });
        if let Err(error) = parsed {
            cx.push(error);
        }
    }
}

/// Records a marker attribute (`#[initial]`), refusing arguments and repetitions.
fn set_marker(cx: &mut Ctxt, slot: &mut Option<Attribute>, attr: &Attribute) {
    let name = attr
        .path()
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    if attr.meta.require_path_only().is_err() {
        cx.error_at(attr, format!("`#[{name}]` takes no arguments"));
    } else if slot.is_some() {
        cx.error_at(attr, format!("`#[{name}]` is given twice"));
    } else {
        *slot = Some(attr.clone());
    }
}
