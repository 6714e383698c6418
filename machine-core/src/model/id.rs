//! Actor identifiers.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// The identity of one actor instance, e.g. `"order-42"`.
///
/// Cheap to clone (a reference-counted string), so it can travel with every message, record and
/// journal entry without copying the text.
///
/// ```
/// use machine_core::ActorId;
/// let id = ActorId::from("order-1");
/// assert_eq!(id.as_str(), "order-1");
/// assert_eq!(id, "order-1");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId(Arc<str>);

impl ActorId {
    /// Creates an id from any string-like value.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ActorId {
    fn from(id: &str) -> Self {
        Self(id.into())
    }
}

impl From<String> for ActorId {
    fn from(id: String) -> Self {
        Self(id.into())
    }
}

impl From<&String> for ActorId {
    fn from(id: &String) -> Self {
        Self(id.as_str().into())
    }
}

impl From<Arc<str>> for ActorId {
    fn from(id: Arc<str>) -> Self {
        Self(id)
    }
}

impl AsRef<str> for ActorId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ActorId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ActorId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for ActorId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}
