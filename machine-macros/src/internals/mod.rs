//! Parsing and validation: from the derive input to a checked model of the machine or event.
//!
//! Nothing here produces code. Each derive first builds its model (`EventModel`,
//! `MachineModel`), collecting every mistake with its span in a [`ctxt::Ctxt`]; the `expand`
//! modules then generate code from the model alone.

pub(crate) mod clashes;
pub(crate) mod core_path;
pub(crate) mod ctxt;
pub(crate) mod duration;
pub(crate) mod event;
pub(crate) mod fields;
pub(crate) mod input;
pub(crate) mod machine;
pub(crate) mod machine_options;
pub(crate) mod naming;
pub(crate) mod rules;
pub(crate) mod state_attrs;
pub(crate) mod timeout;
pub(crate) mod transitions;
