//! Label selectors (kubectl string syntax and metav1.LabelSelector JSON) and field selectors.
//! STUB: signatures fixed; implementation pending.

use crate::api::error::ApiResult;
use serde_json::Value;
use std::collections::BTreeMap;

/// A parsed label selector; requirements are ANDed. `LabelSelector::everything()` has none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {}

impl LabelSelector {
    /// Parse kubectl syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`.
    pub fn parse(_s: &str) -> ApiResult<LabelSelector> {
        todo!()
    }
    /// Parse a `metav1.LabelSelector` (matchLabels + matchExpressions). `null`/absent gives
    /// `Ok(None)`: a nil selector, which matches nothing; `{}` matches everything.
    pub fn from_json(_v: &Value) -> ApiResult<Option<LabelSelector>> {
        todo!()
    }
    pub fn everything() -> LabelSelector {
        LabelSelector {}
    }
    pub fn is_everything(&self) -> bool {
        todo!()
    }
    /// Match against a label map.
    pub fn matches(&self, _labels: &BTreeMap<String, String>) -> bool {
        todo!()
    }
    /// Match against `metadata.labels` of an object without copying it.
    pub fn matches_object(&self, _obj: &Value) -> bool {
        todo!()
    }
}

impl std::fmt::Display for LabelSelector {
    fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        todo!()
    }
}

/// A parsed field selector (`metadata.name=x,status.phase!=Running`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {}

impl FieldSelector {
    /// Parse and check that every field is supported for `kind` (the `Kind` name, e.g. `Pod`).
    pub fn parse(_kind: &str, _s: &str) -> ApiResult<FieldSelector> {
        todo!()
    }
    pub fn matches(&self, _obj: &Value) -> bool {
        todo!()
    }
}
