//! How a machine's error travels between nodes.
//!
//! A routed call's answer carries the owner's outcome, and a rejected outcome carries the
//! machine's error. An error type with serde impls travels as its own JSON. A machine that never
//! rejects has `std::convert::Infallible` as its error (the derive's default), which serde does
//! not implement; it has no error to carry at all, so its answers are always a next state or
//! unhandled.
//!
//! Both kinds cannot be served by one blanket impl over serde's traits plus one for
//! `Infallible` (the two would overlap should serde ever implement its traits for `Infallible`,
//! so the compiler refuses them). [`WireRejection`] is therefore generic over *how* the error
//! travels: [`WithSerde`] or [`NeverRejects`]. Each error type has exactly one of the two impls,
//! so the compiler picks it and callers never name the parameter.

use std::convert::Infallible;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A machine error that can travel in a routed call's answer; `Via` says how ([`WithSerde`] or
/// [`NeverRejects`]) and is inferred.
pub trait WireRejection<Via>: Sized {
    /// The error as JSON.
    fn to_wire(&self) -> Result<serde_json::Value, serde_json::Error>;
    /// The error back from its JSON.
    fn from_wire(value: serde_json::Value) -> Result<Self, serde_json::Error>;
}

/// An error type that travels through its own serde impls.
#[derive(Debug)]
pub enum WithSerde {}

/// `Infallible`: a machine that never rejects, so there is never an error to carry.
#[derive(Debug)]
pub enum NeverRejects {}

impl<E: Serialize + DeserializeOwned> WireRejection<WithSerde> for E {
    fn to_wire(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn from_wire(value: serde_json::Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(value)
    }
}

impl WireRejection<NeverRejects> for Infallible {
    fn to_wire(&self) -> Result<serde_json::Value, serde_json::Error> {
        match *self {}
    }

    /// Always an error: an answer that says such a machine rejected came from a node that
    /// serves another machine under this type's name.
    fn from_wire(_: serde_json::Value) -> Result<Self, serde_json::Error> {
        Err(serde::de::Error::custom(
            "a rejection for a machine that never rejects",
        ))
    }
}

/// A machine error's [`WireRejection`] impl, chosen once where the `Via` parameter is known and
/// kept as plain functions, so the handles that use it carry no extra type parameter.
pub(crate) struct Rejections<E> {
    pub(crate) encode: fn(&E) -> Result<serde_json::Value, serde_json::Error>,
    pub(crate) decode: fn(serde_json::Value) -> Result<E, serde_json::Error>,
}

impl<E> Rejections<E> {
    pub(crate) fn of<Via>() -> Self
    where
        E: WireRejection<Via>,
    {
        Self {
            encode: E::to_wire,
            decode: E::from_wire,
        }
    }
}

impl<E> Clone for Rejections<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Rejections<E> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serde_error_travels_as_its_json() {
        let rejections = Rejections::<String>::of();
        let wire = (rejections.encode)(&"frozen".to_owned()).unwrap();
        assert_eq!(wire, serde_json::json!("frozen"));
        assert_eq!((rejections.decode)(wire).unwrap(), "frozen");
        assert!((rejections.decode)(serde_json::json!(7)).is_err());
    }

    #[test]
    fn a_machine_that_never_rejects_refuses_a_rejection() {
        let rejections = Rejections::<Infallible>::of();
        let refused = (rejections.decode)(serde_json::json!("frozen")).unwrap_err();
        assert!(refused.to_string().contains("never rejects"), "{refused}");
    }
}
