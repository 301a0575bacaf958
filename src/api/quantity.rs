//! Resource quantities (`500m`, `0.5`, `128Mi`, `1G`, `1e3`), exact, as apimachinery parses them.
//! STUB: signatures fixed; implementation pending.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {}

impl Quantity {
    pub fn parse(_s: &str) -> Result<Quantity, String> {
        todo!()
    }
    /// Accepts a JSON string or number, as Kubernetes does.
    pub fn from_json(_v: &Value) -> Result<Quantity, String> {
        todo!()
    }
    /// Value in thousandths, rounded up (cpu: millicores).
    pub fn milli_value(&self) -> i128 {
        todo!()
    }
    /// Value rounded up to a whole number (memory: bytes).
    pub fn value(&self) -> i128 {
        todo!()
    }
}
