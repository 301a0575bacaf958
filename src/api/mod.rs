//! Kubernetes objects: kinds, canonical JSON, typed views, defaulting, validation, selectors,
//! quantities, manifests and patches. Knows nothing of the layers above.

pub mod apply;
pub mod defaults;
pub mod error;
pub mod kinds;
pub mod manifest;
pub mod object;
pub mod patch;
pub mod quantity;
pub mod request;
pub mod schema;
pub mod selector;
pub mod services;
pub mod table;
pub mod text;
pub mod validation;

/// The version a peapod API reports, Kubernetes-style so clients that parse it (kubectl) see
/// the API level peapod follows: `v1.33.0-peapod.<crate version>`.
pub fn server_version() -> String {
    format!("v1.33.0-peapod.{}", env!("CARGO_PKG_VERSION"))
}
