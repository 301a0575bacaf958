//! Turning YAML scalars into JSON values.
//!
//! Plain (unquoted) scalars follow the YAML 1.2 core schema: `null`/`~`/empty, `true`/`false`,
//! integers (decimal, `0x`, `0o`), floats; everything else is a string. One deliberate YAML 1.1
//! holdover: an integer with a leading zero (`0644`) is octal, because Kubernetes documents file
//! modes (`defaultMode: 0644`) that way and kubectl's YAML reader reads them so. Quoted and
//! block scalars are always strings. JSON has no infinity or NaN, so those are errors.

use serde_json::{Number, Value};

/// Resolve a plain scalar. `Err` carries a message for the user.
pub(crate) fn resolve_plain(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Some(n) = parse_int(text) {
        return Ok(Value::Number(n));
    }
    if is_special_float(text) {
        return Err(non_finite(text));
    }
    if looks_like_float(text) {
        return float(text).map(Value::Number);
    }
    Ok(Value::String(text.to_string()))
}

/// Resolve a scalar carrying a core-schema tag (`!!str`, `!!int`, ...). `None` when the tag
/// does not change how the scalar is read.
pub(crate) fn resolve_tagged(text: &str, suffix: &str) -> Option<Result<Value, String>> {
    Some(match suffix {
        "str" | "binary" | "timestamp" => Ok(Value::String(text.to_string())),
        "null" => Ok(Value::Null),
        "bool" => match resolve_plain(text) {
            Ok(Value::Bool(b)) => Ok(Value::Bool(b)),
            _ => Err(format!(
                "{text:?} is not a boolean (!!bool wants true or false)"
            )),
        },
        "int" => match parse_int(text) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(format!("{text:?} is not an integer (!!int)")),
        },
        "float" => {
            if is_special_float(text) {
                Err(non_finite(text))
            } else if let Some(n) = parse_int(text) {
                n.as_f64()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| non_finite(text))
            } else if looks_like_float(text) {
                float(text).map(Value::Number)
            } else {
                Err(format!("{text:?} is not a number (!!float)"))
            }
        }
        _ => return None,
    })
}

/// The mapping-key string for a resolved plain scalar, as kubectl converts YAML keys to JSON
/// object keys (`1` → `"1"`, `true` → `"true"`, `~` → `"null"`).
pub(crate) fn key_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Null => Some("null".to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn non_finite(text: &str) -> String {
    format!("{text} is not a finite number and JSON cannot hold it; quote it to use it as a string")
}

fn parse_int(text: &str) -> Option<Number> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (digits, radix) = if let Some(hex) = body.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(oct) = body.strip_prefix("0o") {
        (oct, 8)
    } else if body.len() > 1
        && body.starts_with('0')
        && body.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        (&body[1..], 8)
    } else {
        (body, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok();
    match magnitude {
        Some(m) if negative && m <= i64::MAX as u128 + 1 => {
            // -(2^63) fits i64 exactly; checked above.
            Some(Number::from(-(m as i128) as i64))
        }
        Some(m) if !negative && m <= u64::MAX as u128 => Some(Number::from(m as u64)),
        // Too big for a 64-bit integer: read it as a float as YAML readers do.
        _ if radix == 10 => text.parse::<f64>().ok().and_then(Number::from_f64),
        _ => None,
    }
}

fn is_special_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    matches!(body, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN")
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn looks_like_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

fn float(text: &str) -> Result<Number, String> {
    // Rust's parser accepts everything `looks_like_float` does except a bare trailing dot.
    let cleaned = text.strip_suffix('.').unwrap_or(text);
    cleaned
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(Number::from_f64)
        .ok_or_else(|| non_finite(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(s: &str) -> Value {
        resolve_plain(s).unwrap()
    }

    #[test]
    fn core_schema() {
        assert_eq!(plain(""), Value::Null);
        assert_eq!(plain("~"), Value::Null);
        assert_eq!(plain("NULL"), Value::Null);
        assert_eq!(plain("True"), json!(true));
        assert_eq!(plain("false"), json!(false));
        assert_eq!(plain("42"), json!(42));
        assert_eq!(plain("-7"), json!(-7));
        assert_eq!(plain("+7"), json!(7));
        assert_eq!(plain("0x1F"), json!(31));
        assert_eq!(plain("0o17"), json!(15));
        assert_eq!(plain("1.5"), json!(1.5));
        assert_eq!(plain(".5"), json!(0.5));
        assert_eq!(plain("1e3"), json!(1000.0));
        assert_eq!(plain("1."), json!(1.0));
        assert_eq!(plain("-9223372036854775808"), json!(i64::MIN));
        assert_eq!(plain("18446744073709551615"), json!(u64::MAX));
        assert_eq!(plain("1e2e3"), json!("1e2e3"));
    }

    #[test]
    fn yaml_1_1_words_stay_strings() {
        for s in [
            "yes", "no", "on", "off", "y", "n", "1.2.3", "0x", "0xZZ", "1_000", "v1", "e3", ".",
        ] {
            assert_eq!(plain(s), json!(s), "{s}");
        }
    }

    #[test]
    fn file_modes_with_leading_zero_are_octal() {
        assert_eq!(plain("0644"), json!(420));
        assert_eq!(plain("0755"), json!(493));
        assert_eq!(plain("0"), json!(0));
        // Not octal digits: plain decimal.
        assert_eq!(plain("089"), json!(89));
    }

    #[test]
    fn non_finite_numbers_are_errors() {
        for s in [".inf", "-.inf", "+.INF", ".nan", ".NaN", "1e999", "-1e999"] {
            assert!(resolve_plain(s).is_err(), "{s}");
        }
        assert!(resolve_plain("99999999999999999999").is_ok());
    }

    #[test]
    fn tags() {
        assert_eq!(resolve_tagged("1", "str"), Some(Ok(json!("1"))));
        assert_eq!(resolve_tagged("12", "int"), Some(Ok(json!(12))));
        assert!(matches!(resolve_tagged("abc", "int"), Some(Err(_))));
        assert_eq!(resolve_tagged("3", "float"), Some(Ok(json!(3.0))));
        assert_eq!(resolve_tagged("true", "bool"), Some(Ok(json!(true))));
        assert_eq!(resolve_tagged("x", "null"), Some(Ok(Value::Null)));
        assert_eq!(resolve_tagged("x", "map"), None);
    }

    #[test]
    fn keys() {
        assert_eq!(key_string(&plain("1")), Some("1".into()));
        assert_eq!(key_string(&plain("~")), Some("null".into()));
        assert_eq!(key_string(&plain("true")), Some("true".into()));
        assert_eq!(key_string(&json!([1])), None);
    }
}
