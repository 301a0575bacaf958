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
pub mod table;
pub mod text;
pub mod validation;
