//! Label selectors (kubectl string syntax and metav1.LabelSelector JSON) and field selectors,
//! with Kubernetes' semantics: requirements are ANDed, `!=` and `notin` match objects without
//! the key, a nil `metav1.LabelSelector` matches nothing and `{}` everything.

mod field;
mod label;
mod validate;

pub use field::{FieldOp, FieldSelector, FieldTerm, field_value, supported_fields};
pub use label::{LabelSelector, Operator, Requirement};
pub use validate::{validate_dns1123_subdomain, validate_label_key, validate_label_value};
