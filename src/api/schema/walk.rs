//! Walking an object against its JSON schema, as the API server's strict decoding does:
//! unknown fields and values of the wrong JSON type are reported; everything else (required
//! fields, formats, enums) is left to validation.

use crate::api::error::{FieldError, FieldErrorType};
use crate::api::text::did_you_mean;
use serde_json::{Map, Number, Value};

/// A schema that accepts anything (missing definitions, unknown shapes).
const ANY: &Value = &Value::Null;

/// Objects are depth-limited by the manifest reader; this guards values built elsewhere.
const MAX_DEPTH: usize = 200;

pub(super) fn check(root: &Value, obj: &Value) -> Vec<FieldError> {
    let mut walker = Walker {
        defs: root.get("$defs").and_then(Value::as_object),
        errors: Vec::new(),
    };
    walker.walk(root, obj, "", 0);
    walker.errors
}

struct Walker<'a> {
    defs: Option<&'a Map<String, Value>>,
    errors: Vec<FieldError>,
}

impl<'a> Walker<'a> {
    /// Follow `$ref`s to the schema they name; also returns the definition's name.
    fn resolve(&self, mut schema: &'a Value) -> (&'a Value, Option<&'a str>) {
        let mut name = None;
        // Definitions never chain far; the bound only stops a malformed cycle.
        for _ in 0..16 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let target = reference
                .strip_prefix("#/$defs/")
                .and_then(|n| self.defs.and_then(|d| d.get_key_value(n)));
            match target {
                Some((n, s)) => {
                    name = Some(n.as_str());
                    schema = s;
                }
                None => return (ANY, None),
            }
        }
        (schema, name)
    }

    fn walk(&mut self, schema: &'a Value, value: &Value, path: &str, depth: usize) {
        // Kubernetes treats an explicit null like an absent optional field.
        if value.is_null() || depth > MAX_DEPTH {
            return;
        }
        let (schema, name) = self.resolve(schema);
        if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            let quantity = name.is_some_and(|n| n.ends_with(".resource.Quantity"));
            let ok = match value {
                Value::String(_) => true,
                Value::Number(n) => quantity || is_integral(n),
                _ => false,
            };
            if !ok {
                let expected = if quantity {
                    "quantity (string or number)"
                } else {
                    "integer or string"
                };
                self.mismatch(path, expected, value);
            }
            return;
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => self.object(schema, value, path, depth),
            Some("array") => match value {
                Value::Array(items) => {
                    let item_schema = schema.get("items").unwrap_or(ANY);
                    for (i, item) in items.iter().enumerate() {
                        self.walk(item_schema, item, &format!("{path}[{i}]"), depth + 1);
                    }
                }
                _ => self.mismatch(path, "array", value),
            },
            Some("string") => match value {
                Value::String(s) => {
                    if schema.get("format").and_then(Value::as_str) == Some("byte")
                        && let Err(at) = check_base64(s)
                    {
                        self.errors.push(FieldError::new(
                            FieldErrorType::TypeMismatch,
                            path,
                            format!("expected base64-encoded data: illegal base64 data at input byte {at}"),
                        ));
                    }
                }
                _ => self.mismatch(path, "string", value),
            },
            Some("integer") => match value {
                Value::Number(n) if is_integral(n) => {
                    let int32 = schema.get("format").and_then(Value::as_str) == Some("int32");
                    if !in_range(n, int32) {
                        let bits = if int32 { 32 } else { 64 };
                        self.errors.push(FieldError::new(
                            FieldErrorType::TypeMismatch,
                            path,
                            format!("expected a {bits}-bit integer, got {n} (out of range)"),
                        ));
                    }
                }
                Value::Number(n) => self.errors.push(FieldError::new(
                    FieldErrorType::TypeMismatch,
                    path,
                    format!("expected integer, got number {n}"),
                )),
                _ => self.mismatch(path, "integer", value),
            },
            Some("number") if !value.is_number() => self.mismatch(path, "number", value),
            Some("boolean") if !value.is_boolean() => self.mismatch(path, "boolean", value),
            _ => {}
        }
    }

    fn object(&mut self, schema: &'a Value, value: &Value, path: &str, depth: usize) {
        let Value::Object(map) = value else {
            self.mismatch(path, "object", value);
            return;
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema
            .get("additionalProperties")
            .filter(|a| **a != Value::Bool(false));
        if properties.is_none() && additional.is_none() {
            // Free-form object (FieldsV1, RawExtension): anything goes.
            return;
        }
        for (key, child) in map {
            if let Some(field_schema) = properties.and_then(|p| p.get(key)) {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                self.walk(field_schema, child, &child_path, depth + 1);
            } else if let Some(entry_schema) = additional {
                // `additionalProperties: true` is an object schema too: accept anything.
                let entry_schema = if entry_schema.is_object() {
                    entry_schema
                } else {
                    ANY
                };
                self.walk(entry_schema, child, &format!("{path}[{key}]"), depth + 1);
            } else if !(path.is_empty()
                && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
            {
                self.unknown(path, key, properties);
            }
        }
    }

    fn unknown(&mut self, path: &str, key: &str, properties: Option<&Map<String, Value>>) {
        let full = if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
        let mut message = format!("unknown field {full:?}");
        let candidates = properties
            .into_iter()
            .flat_map(|p| p.keys().map(String::as_str));
        if let Some(suggestion) = did_you_mean(key, candidates) {
            message.push_str(&format!(", did you mean {suggestion:?}?"));
        }
        self.errors
            .push(FieldError::new(FieldErrorType::Unknown, full, message));
    }

    fn mismatch(&mut self, path: &str, expected: &str, value: &Value) {
        self.errors.push(FieldError::new(
            FieldErrorType::TypeMismatch,
            path,
            format!("expected {expected}, got {}", json_type(value)),
        ));
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Integers, and floats without a fraction (YAML `3.0` is read as a float).
fn is_integral(n: &Number) -> bool {
    n.is_i64()
        || n.is_u64()
        || n.as_f64()
            .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

fn in_range(n: &Number, int32: bool) -> bool {
    let (min, max) = if int32 {
        (i64::from(i32::MIN), i64::from(i32::MAX))
    } else {
        (i64::MIN, i64::MAX)
    };
    if let Some(i) = n.as_i64() {
        return (min..=max).contains(&i);
    }
    if n.is_u64() {
        return false; // above i64::MAX
    }
    // An integral float: compare in f64 (i64::MAX as f64 rounds up to 2^63, hence `<`).
    n.as_f64()
        .is_some_and(|f| f >= min as f64 && f < (max as f64) + 1.0)
}

/// Go's `base64.StdEncoding` decoding (which ignores line breaks): `Err` holds the offset of
/// the first bad byte, as Go reports it.
fn check_base64(s: &str) -> Result<(), usize> {
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'\r' && *b != b'\n').collect();
    let mut padding_from = None;
    for (i, &b) in bytes.iter().enumerate() {
        let alphabet = b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
        match (b, padding_from) {
            (b'=', None) => padding_from = Some(i),
            (b'=', Some(_)) => {}
            (_, Some(p)) => return Err(p),
            _ if !alphabet => return Err(i),
            _ => {}
        }
    }
    let len = bytes.len();
    match padding_from {
        // Padding only completes the last quantum, and at most two `=`.
        Some(p) if !len.is_multiple_of(4) || len - p > 2 || p % 4 < 2 => Err(p),
        None if !len.is_multiple_of(4) => Err(len - len % 4),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_go() {
        assert_eq!(check_base64(""), Ok(()));
        assert_eq!(check_base64("YWJj"), Ok(()));
        assert_eq!(check_base64("YWI="), Ok(()));
        assert_eq!(check_base64("YQ=="), Ok(()));
        assert_eq!(check_base64("YWJj\nZGVm"), Ok(()));
        assert_eq!(check_base64("!!!!"), Err(0));
        assert_eq!(check_base64("YWJjZ"), Err(4));
        assert_eq!(check_base64("YW=j"), Err(2));
        assert_eq!(check_base64("Y==="), Err(1));
        assert_eq!(check_base64("YWJj YWJj"), Err(4));
    }

    #[test]
    fn integer_ranges() {
        assert!(in_range(&Number::from(2_147_483_647), true));
        assert!(!in_range(&Number::from(2_147_483_648i64), true));
        assert!(in_range(&Number::from(-2_147_483_648i64), true));
        assert!(!in_range(&Number::from(u64::MAX), false));
        let f = |x: f64| Number::from_f64(x).unwrap();
        assert!(in_range(&f(3.0), true));
        assert!(!in_range(&f(1e10), true));
        assert!(!in_range(&f(1e19), false));
        assert!(is_integral(&f(3.0)));
        assert!(!is_integral(&f(3.5)));
    }
}
