//! Strict field validation against the Kubernetes OpenAPI schemas (from k8s-openapi's schemars
//! feature): unknown fields with a did-you-mean, and wrong JSON types.
//! STUB: signatures fixed; implementation pending.

use crate::api::error::FieldError;
use crate::api::kinds::KindInfo;
use serde_json::Value;

/// Every unknown field (`FieldErrorType::Unknown`) and type mismatch (`TypeMismatch`) in `obj`.
pub fn check_fields(_kind: &KindInfo, _obj: &Value) -> Vec<FieldError> {
    todo!()
}
