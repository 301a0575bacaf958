//! placeholder
use crate::api::error::FieldError;
use crate::api::kinds::KindInfo;
use serde_json::Value;
pub fn validate_create(_kind: &KindInfo, _obj: &Value) -> Vec<FieldError> { todo!() }
pub fn validate_update(_kind: &KindInfo, _new: &Value, _old: &Value) -> Vec<FieldError> { todo!() }
