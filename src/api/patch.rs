//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902).
//! STUB: signatures fixed; implementation pending.

use crate::api::error::ApiResult;
use serde_json::Value;

/// Apply an RFC 7386 merge patch in place.
pub fn merge_patch(_target: &mut Value, _patch: &Value) {
    todo!()
}

/// Apply an RFC 6902 patch (an array of operations); atomic: on error nothing is changed.
pub fn json_patch(_target: &Value, _ops: &Value) -> ApiResult<Value> {
    todo!()
}

/// The merge patch that turns `from` into `to`.
pub fn create_merge_patch(_from: &Value, _to: &Value) -> Value {
    todo!()
}
