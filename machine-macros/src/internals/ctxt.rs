//! Error collection while parsing and validating.
//!
//! A derive should report every mistake in one compile, not stop at the first. Parsers push
//! their errors here and carry on with what they could understand; the expansion still runs on
//! the sanitized model, so that user code referring to generated items does not drown the real
//! errors in follow-up "cannot find" errors.

use std::fmt::Display;

use quote::ToTokens;

/// Collects the errors of one derive invocation.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records `message` spanned at `tokens`.
    pub(crate) fn error_at<T: ToTokens, M: Display>(&mut self, tokens: T, message: M) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error that already carries its span.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// All collected errors as one, or `None` when everything was fine.
    pub(crate) fn into_error(self) -> Option<syn::Error> {
        let mut errors = self.errors.into_iter();
        let mut first = errors.next()?;
        for error in errors {
            first.combine(error);
        }
        Some(first)
    }
}
