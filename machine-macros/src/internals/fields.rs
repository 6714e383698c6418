//! The data of one enum variant: its shape and typed fields.
//!
//! Both derives mirror variant data in generated code (event views borrow it, transition
//! targets copy it), so they share this description.

use quote::format_ident;
use syn::{Attribute, Fields, Ident, Type};

/// How a variant carries its data.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `Variant`
    Unit,
    /// `Variant(A, B)`
    Tuple,
    /// `Variant { a: A, b: B }`
    Named,
}

/// One field of a variant.
pub(crate) struct Field {
    /// The field's name for named fields, `None` for tuple fields.
    pub(crate) name: Option<Ident>,
    /// A local name for the field's value: its name, or `field_0`, `field_1`, ... for tuple
    /// fields.
    pub(crate) binding: Ident,
    /// The field's type.
    pub(crate) ty: Type,
    /// The field's doc comments, repeated on the generated fields that mirror it.
    pub(crate) docs: Vec<Attribute>,
}

/// The fields of a variant.
pub(crate) struct VariantFields {
    /// Unit, tuple or named.
    pub(crate) shape: Shape,
    /// The fields in declaration order.
    pub(crate) fields: Vec<Field>,
}

impl VariantFields {
    /// Describes the fields of a parsed variant. Attributes on fields (`#[serde(..)]` and the
    /// like) are left to the derives they belong to.
    pub(crate) fn from_syn(fields: &Fields) -> Self {
        let shape = match fields {
            Fields::Unit => Shape::Unit,
            Fields::Unnamed(_) => Shape::Tuple,
            Fields::Named(_) => Shape::Named,
        };
        let fields = fields
            .iter()
            .enumerate()
            .map(|(index, field)| Field {
                name: field.ident.clone(),
                binding: field
                    .ident
                    .clone()
                    .unwrap_or_else(|| format_ident!("field_{}", index)),
                ty: field.ty.clone(),
                docs: field
                    .attrs
                    .iter()
                    .filter(|attr| attr.path().is_ident("doc"))
                    .cloned()
                    .collect(),
            })
            .collect();
        Self { shape, fields }
    }
}
