//! [`Persistable`]: the machines this crate can persist.

use machine_core::Machine;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A machine whose states and events serde can write and read: the bound every persistent API
/// takes. Implemented automatically; derive `Serialize` and `Deserialize` on both enums.
pub trait Persistable:
    Machine<Event: Serialize + DeserializeOwned> + Serialize + DeserializeOwned
{
}

impl<M> Persistable for M
where
    M: Machine + Serialize + DeserializeOwned,
    M::Event: Serialize + DeserializeOwned,
{
}
