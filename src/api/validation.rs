//! Validation per kind, as the API server does it.
//! STUB: signatures fixed; implementation pending.

use crate::api::error::FieldError;
use crate::api::kinds::KindInfo;
use serde_json::Value;

/// Problems with a (defaulted) object about to be created.
pub fn validate_create(_kind: &KindInfo, _obj: &Value) -> Vec<FieldError> {
    todo!()
}

/// Problems with an update from `old` to `new` (both defaulted), including immutable fields.
pub fn validate_update(_kind: &KindInfo, _new: &Value, _old: &Value) -> Vec<FieldError> {
    todo!()
}
