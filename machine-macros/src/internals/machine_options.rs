//! The options of `#[machine(...)]` on the state enum.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{DeriveInput, LitStr, Path, Type};

use super::ctxt::Ctxt;
use super::input::parse_crate_path;
use super::naming::closest;

/// Every key `#[machine(...)]` accepts on the enum.
const KEYS: &[&str] = &["event", "env", "error", "name", "effects", "crate"];

/// What `#[machine(...)]` on the enum said; absent keys are `None`.
#[derive(Default)]
pub(crate) struct MachineOptions {
    /// `event = Path`: the event enum (required).
    pub(crate) event: Option<Path>,
    /// `env = Type`: the effects' environment (default `()`).
    pub(crate) env: Option<Type>,
    /// `error = Type`: the guards' error (default `Infallible`).
    pub(crate) error: Option<Type>,
    /// `name = "..."`: `Machine::NAME` (default: the enum's name).
    pub(crate) name: Option<LitStr>,
    /// `effects`: forward effect declarations to `impl Effects`; the span of the flag.
    pub(crate) effects: Option<Span>,
    /// `crate = path`: the core crate's path (default: found from `Cargo.toml`).
    pub(crate) krate: Option<Path>,
}

impl MachineOptions {
    /// Parses every `#[machine(...)]` on the enum into one set of options.
    pub(crate) fn from_ast(cx: &mut Ctxt, input: &DeriveInput) -> Self {
        let mut options = Self::default();
        for attr in input
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("machine"))
        {
            if let Err(error) = attr.parse_nested_meta(|meta| options.parse_key(&meta)) {
                cx.push(error);
            }
        }
        options
    }

    fn parse_key(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let duplicate = || meta.error(format!("`{key}` is given twice"));
        match key.as_str() {
            "event" => {
                let path: Path = meta.value()?.parse()?;
                reject_generic_event(&path)?;
                set_once(&mut self.event, path, duplicate)
            }
            "env" => set_once(&mut self.env, meta.value()?.parse()?, duplicate),
            "error" => set_once(&mut self.error, meta.value()?.parse()?, duplicate),
            "name" => {
                let name: LitStr = meta.value()?.parse()?;
                if name.value().trim().is_empty() {
                    return Err(syn::Error::new(
                        name.span(),
                        "a machine name cannot be empty",
                    ));
                }
                set_once(&mut self.name, name, duplicate)
            }
            "effects" => {
                if meta.input.peek(syn::Token![=]) {
                    return Err(meta.error(
                        "`effects` is a flag: write `effects` and implement \
                         `Effects` for the enum",
                    ));
                }
                set_once(&mut self.effects, meta.path.span(), duplicate)
            }
            "crate" => set_once(&mut self.krate, parse_crate_path(meta)?, duplicate),
            "rename" => Err(meta.error(
                "`rename` belongs on a variant; to name the machine write `name = \"...\"`",
            )),
            _ => {
                let hint = closest(&key, KEYS.iter().copied())
                    .map(|key| format!(" (did you mean `{key}`?)"))
                    .unwrap_or_default();
                Err(meta.error(format!(
                    "unknown `machine` option{hint}; expected one of `event`, `env`, `error`, \
                     `name`, `effects`, `crate`"
                )))
            }
        }
    }
}

fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    duplicate: impl FnOnce() -> syn::Error,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate());
    }
    *slot = Some(value);
    Ok(())
}

fn reject_generic_event(path: &Path) -> syn::Result<()> {
    match path
        .segments
        .iter()
        .find(|segment| !segment.arguments.is_none())
    {
        Some(segment) => Err(syn::Error::new_spanned(
            &segment.arguments,
            "the event enum cannot be generic: name a concrete `#[derive(Event)]` enum",
        )),
        None => Ok(()),
    }
}
