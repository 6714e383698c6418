//! [`SerializedCause`]: an error as data, so a failure outlives the process that saw it.
//!
//! A Rust error is a live value (`dyn Error`), often not `Clone` and never `Serialize`. What a
//! failed effect (an action, a durable action, a state task) leaves behind must survive a
//! restart, be shown to observers, `history` and the inspector, and be handed to the machine as
//! event data; so it is captured once, when it happens, as plain data: the error's type name (when known), its message, the messages of its
//! [`source`](std::error::Error::source) chain, and optionally a structured JSON value.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An error captured as data: type name, message, `source()` chain and an optional value.
///
/// It round-trips through serde (and so through every store), compares by value and displays as
/// the message followed by its sources.
///
/// ```
/// use machine_core::SerializedCause;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("card declined")]
/// struct Declined(#[source] std::io::Error);
///
/// let error = Declined(std::io::Error::other("issuer unreachable"));
/// let cause = SerializedCause::of(&error);
/// assert_eq!(cause.message, "card declined");
/// assert_eq!(cause.chain(), ["card declined", "issuer unreachable"]);
/// assert_eq!(cause.to_string(), "card declined: issuer unreachable");
///
/// let json = serde_json::to_string(&cause).unwrap();
/// assert_eq!(serde_json::from_str::<SerializedCause>(&json).unwrap(), cause);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerializedCause {
    /// The error's type name, when it was known where the cause was captured
    /// ([`of_typed`](Self::of_typed)); `None` for a boxed error of unknown type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// The error's own message (its `Display`).
    pub message: String,
    /// The error's sources, outermost first: each one's message and, recursively, its sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Box<SerializedCause>>,
    /// Structured detail chosen by whoever captured the cause (a decline code, an HTTP status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

impl SerializedCause {
    /// A cause with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    /// Captures `error` and its whole `source()` chain (type names unknown).
    ///
    /// An error that *is* a `SerializedCause` (an effect returned one, boxed, to keep a type
    /// name or a structured value) is taken as it is.
    pub fn of(error: &(dyn std::error::Error + 'static)) -> Self {
        if let Some(cause) = error.downcast_ref::<SerializedCause>() {
            return cause.clone();
        }
        let mut messages = Vec::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(current) = next {
            messages.push(current.to_string());
            next = current.source();
        }
        let mut cause: Option<Box<SerializedCause>> = None;
        for message in messages.into_iter().rev() {
            cause = Some(Box::new(SerializedCause {
                type_name: None,
                message,
                source: cause,
                value: None,
            }));
        }
        cause.map(|cause| *cause).unwrap_or_default()
    }

    /// Captures `error` like [`of`](Self::of), recording its type name too.
    pub fn of_typed<E: std::error::Error + 'static>(error: &E) -> Self {
        Self {
            type_name: Some(std::any::type_name::<E>().to_owned()),
            ..Self::of(error)
        }
    }

    /// The cause of a panic, from its payload.
    pub fn panic(message: impl Into<String>) -> Self {
        Self {
            type_name: Some("panic".to_owned()),
            ..Self::new(message)
        }
    }

    /// Sets the type name (for a cause built by hand, or one whose type only the caller knows).
    pub fn with_type_name(mut self, type_name: impl Into<String>) -> Self {
        self.type_name = Some(type_name.into());
        self
    }

    /// Attaches a structured value.
    pub fn with_value(mut self, value: serde_json::Value) -> Self {
        self.value = Some(value);
        self
    }

    /// The messages of this cause and its sources, outermost first.
    pub fn chain(&self) -> Vec<&str> {
        let mut chain = Vec::new();
        let mut next = Some(self);
        while let Some(current) = next {
            chain.push(current.message.as_str());
            next = current.source.as_deref();
        }
        chain
    }
}

impl fmt::Display for SerializedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chain().join(": "))
    }
}

/// A cause is an error too, so that an effect can return one (boxed, as its `EffectError`) with
/// a type name or a structured value of its choosing. Its display already holds the whole
/// chain, so it reports no `source()`.
impl std::error::Error for SerializedCause {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn nested_sources_round_trip_through_json() {
        let error = Outer(Middle(std::io::Error::other("inner")));
        let cause = SerializedCause::of_typed(&error)
            .with_value(serde_json::json!({ "code": "card_declined" }));
        assert_eq!(cause.chain(), ["outer", "middle", "inner"]);
        assert!(cause
            .type_name
            .as_deref()
            .is_some_and(|name| name.ends_with("Outer")));
        let json = serde_json::to_vec(&cause).unwrap();
        let back: SerializedCause = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, cause);
        assert_eq!(back.to_string(), "outer: middle: inner");
        assert_eq!(back.value.unwrap()["code"], "card_declined");
    }

    #[test]
    fn a_boxed_cause_is_taken_as_it_is() {
        let cause = SerializedCause::new("declined")
            .with_value(serde_json::json!({ "code": 51 }))
            .with_type_name("Declined");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(cause.clone());
        assert_eq!(SerializedCause::of(boxed.as_ref()), cause);
    }

    #[test]
    fn a_boxed_error_keeps_its_chain() {
        let boxed: Box<dyn std::error::Error + Send + Sync> =
            Box::new(Middle(std::io::Error::other("inner")));
        let cause = SerializedCause::of(boxed.as_ref());
        assert_eq!(cause.chain(), ["middle", "inner"]);
        assert_eq!(cause.type_name, None);
    }
}
