//! `#[timeout(after = "72h", event = Cancel)]`: an event the runtime sends to the actor when a
//! state has been current for a while.

use syn::{Attribute, Expr, ExprPath, Ident, LitStr, Path};

use super::duration::parse_millis;

/// One declared timeout of a state.
pub(crate) struct Timeout {
    /// The duration in milliseconds.
    pub(crate) after_millis: u64,
    /// The duration as written (`72h`), for diagrams.
    pub(crate) after_text: String,
    /// The event variant the timeout sends.
    pub(crate) variant: Ident,
    /// How the event is written.
    pub(crate) event: TimeoutEvent,
}

/// The event a timeout sends.
pub(crate) enum TimeoutEvent {
    /// `event = Cancel`: a unit variant of the machine's event enum.
    Unit,
    /// `event = Expire { .. }`, `event = Expire(..)`, or any path to the variant
    /// (`OrderEvent::Cancel`): built in `enter`, where the state's fields are in scope.
    Expr(Expr),
}

/// What `#[timeout(...)]` must look like, for error messages.
const SYNTAX: &str = "expected `#[timeout(after = \"72h\", event = Cancel)]`";

/// Parses one `#[timeout(...)]`.
pub(crate) fn parse_timeout(attr: &Attribute, event_enum: &Path) -> syn::Result<Timeout> {
    let mut after: Option<(u64, String)> = None;
    let mut event: Option<Expr> = None;
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("after") {
            let text: LitStr = meta.value()?.parse()?;
            let millis = parse_millis(&text.value())
                .map_err(|error| syn::Error::new(text.span(), error.0))?;
            after = Some((millis, text.value().trim().to_owned()));
            Ok(())
        } else if meta.path.is_ident("event") {
            event = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown `timeout` option; expected `after` and `event`, as in {}",
                &SYNTAX["expected ".len()..]
            )))
        }
    })?;
    let (after_millis, after_text) = after.ok_or_else(|| {
        syn::Error::new_spanned(attr, format!("missing `after = \"...\"`: {SYNTAX}"))
    })?;
    let event = event
        .ok_or_else(|| syn::Error::new_spanned(attr, format!("missing `event = ...`: {SYNTAX}")))?;
    let (variant, event) = classify(event, event_enum)?;
    Ok(Timeout {
        after_millis,
        after_text,
        variant,
        event,
    })
}

/// Finds the event variant a timeout expression builds. Single names are variants of the
/// machine's event enum; longer paths are used as written.
fn classify(expr: Expr, event_enum: &Path) -> syn::Result<(Ident, TimeoutEvent)> {
    if let Expr::Path(ExprPath {
        qself: None, path, ..
    }) = &expr
    {
        if let Some(ident) = path.get_ident() {
            return Ok((ident.clone(), TimeoutEvent::Unit));
        }
    }
    let path = match &expr {
        Expr::Path(expr) if expr.qself.is_none() => Some(&expr.path),
        Expr::Call(call) => match &*call.func {
            Expr::Path(func) if func.qself.is_none() => Some(&func.path),
            _ => None,
        },
        Expr::Struct(expr) if expr.qself.is_none() => Some(&expr.path),
        _ => None,
    };
    let Some(path) = path else {
        return Err(syn::Error::new_spanned(
            &expr,
            "cannot tell which event this timeout sends: write `event = Variant`, \
             `event = Variant(..)`, `event = Variant { .. }` or a path such as \
             `event = OrderEvent::Variant { .. }`",
        ));
    };
    let variant = path
        .segments
        .last()
        .map(|segment| segment.ident.clone())
        .ok_or_else(|| syn::Error::new_spanned(path, SYNTAX))?;
    let expr = if path.segments.len() == 1 && path.leading_colon.is_none() {
        qualify(expr, event_enum)
    } else {
        expr
    };
    Ok((variant, TimeoutEvent::Expr(expr)))
}

/// Prefixes a single-name call or struct expression (`Expire { .. }`) with the event enum.
fn qualify(mut expr: Expr, event_enum: &Path) -> Expr {
    let path = match &mut expr {
        Expr::Call(call) => match &mut *call.func {
            Expr::Path(func) => &mut func.path,
            _ => return expr,
        },
        Expr::Struct(expr) => &mut expr.path,
        _ => return expr,
    };
    let mut qualified = event_enum.clone();
    qualified.segments.extend(path.segments.iter().cloned());
    *path = qualified;
    expr
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn timeout(attr: Attribute) -> syn::Result<Timeout> {
        let event_enum: Path = syn::parse_quote!(OrderEvent);
        parse_timeout(&attr, &event_enum)
    }

    #[test]
    fn unit_shorthand() {
        let parsed = timeout(syn::parse_quote!(#[timeout(after = "72h", event = Cancel)])).unwrap();
        assert_eq!(parsed.after_millis, 72 * 3_600_000);
        assert_eq!(parsed.after_text, "72h");
        assert_eq!(parsed.variant, "Cancel");
        assert!(matches!(parsed.event, TimeoutEvent::Unit));
    }

    #[test]
    fn expressions_are_qualified_when_short() {
        let parsed =
            timeout(syn::parse_quote!(#[timeout(event = Expire { id: id.clone() }, after = "5m")]))
                .unwrap();
        assert_eq!(parsed.variant, "Expire");
        let TimeoutEvent::Expr(expr) = parsed.event else {
            panic!("expected an expression");
        };
        assert_eq!(
            expr.to_token_stream().to_string(),
            quote::quote!(OrderEvent::Expire { id: id.clone() }).to_string()
        );

        let parsed =
            timeout(syn::parse_quote!(#[timeout(after = "1s", event = other::Ev::Ping(1))]))
                .unwrap();
        assert_eq!(parsed.variant, "Ping");
    }

    #[test]
    fn refuses_incomplete_or_unreadable_timeouts() {
        for attr in [
            syn::parse_quote!(#[timeout(after = "72h")]),
            syn::parse_quote!(#[timeout(event = Cancel)]),
            syn::parse_quote!(#[timeout(after = "72 hours", event = Cancel)]),
            syn::parse_quote!(#[timeout(after = "1h", event = { Cancel })]),
            syn::parse_quote!(#[timeout(after = "1h", event = Cancel, every = "1h")]),
        ] {
            assert!(timeout(attr).is_err());
        }
    }
}
