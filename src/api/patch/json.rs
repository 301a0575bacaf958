//! RFC 6902 JSON patch over `serde_json::Value`, with RFC 6901 pointers. The whole patch is
//! decoded first (a malformed patch is a 400 Bad Request, as in the API server) and then
//! applied to a copy, so a failing operation (422 Invalid) leaves nothing half-done.

use crate::api::error::{ApiError, ApiResult, Reason};
use serde_json::Value;

/// The API server refuses longer patches.
const MAX_OPS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
}

/// One decoded operation.
struct Op<'a> {
    kind: Kind,
    /// `json patch op 2 (replace /spec/replicas)`: the prefix of every message about this op.
    context: String,
    path: Vec<String>,
    from: Vec<String>,
    value: Option<&'a Value>,
}

/// Apply an RFC 6902 patch (an array of operations); atomic: on error nothing is changed.
pub fn json_patch(target: &Value, ops: &Value) -> ApiResult<Value> {
    let ops = decode(ops)?;
    let mut doc = target.clone();
    for op in &ops {
        apply(&mut doc, op)
            .map_err(|e| ApiError::new(Reason::Invalid, format!("{}: {e}", op.context)))?;
    }
    Ok(doc)
}

fn decode(ops: &Value) -> ApiResult<Vec<Op<'_>>> {
    let bad = |m: String| ApiError::bad_request(m);
    let Value::Array(list) = ops else {
        return Err(bad(format!(
            "json patch must be a JSON array of operations, not {}",
            type_name(ops)
        )));
    };
    if list.len() > MAX_OPS {
        return Err(bad(format!(
            "The allowed maximum operations in a JSON patch is {MAX_OPS}, got {}",
            list.len()
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let Some(obj) = raw.as_object() else {
            return Err(bad(format!(
                "json patch op {i}: must be an object like {{\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 3}}, not {}",
                type_name(raw)
            )));
        };
        let name = match obj.get("op") {
            Some(Value::String(s)) => s.as_str(),
            None | Some(Value::Null) => {
                return Err(bad(format!("json patch op {i}: missing \"op\"")));
            }
            Some(other) => {
                return Err(bad(format!(
                    "json patch op {i}: \"op\" must be a string, not {}",
                    type_name(other)
                )));
            }
        };
        let kind = match name {
            "add" => Kind::Add,
            "remove" => Kind::Remove,
            "replace" => Kind::Replace,
            "move" => Kind::Move,
            "copy" => Kind::Copy,
            "test" => Kind::Test,
            other => {
                return Err(bad(format!(
                    "json patch op {i}: unknown op {other:?} (use add, remove, replace, move, copy or test)"
                )));
            }
        };
        let path_text = string_member(obj, "path")
            .map_err(|e| bad(format!("json patch op {i} ({name}): {e}")))?;
        let (context, from_text) = if matches!(kind, Kind::Move | Kind::Copy) {
            let from = string_member(obj, "from")
                .map_err(|e| bad(format!("json patch op {i} ({name} to {path_text}): {e}")))?;
            (
                format!("json patch op {i} ({name} {from} to {path_text})"),
                from,
            )
        } else {
            (format!("json patch op {i} ({name} {path_text})"), "")
        };
        let path =
            parse_pointer(path_text).map_err(|e| bad(format!("{context}: invalid path: {e}")))?;
        let from =
            parse_pointer(from_text).map_err(|e| bad(format!("{context}: invalid from: {e}")))?;
        let value = match kind {
            Kind::Add | Kind::Replace | Kind::Test => match obj.get("value") {
                // `"value": null` is a value; only a missing member is an error.
                Some(v) => Some(v),
                None => return Err(bad(format!("{context}: missing \"value\""))),
            },
            _ => None,
        };
        out.push(Op {
            kind,
            context,
            path,
            from,
            value,
        });
    }
    Ok(out)
}

fn string_member<'a>(
    obj: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<&'a str, String> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(format!("missing {name:?}")),
        Some(other) => Err(format!(
            "{name:?} must be a string, not {}",
            type_name(other)
        )),
    }
}

/// Split an RFC 6901 pointer into unescaped reference tokens (`~1` is `/`, `~0` is `~`).
fn parse_pointer(s: &str) -> Result<Vec<String>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = s.strip_prefix('/') else {
        return Err(format!("{s:?} must be empty or start with \"/\""));
    };
    rest.split('/')
        .map(|tok| {
            let mut out = String::with_capacity(tok.len());
            let mut chars = tok.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => out.push('~'),
                    Some('1') => out.push('/'),
                    _ => return Err(format!("in {s:?}, \"~\" must be followed by 0 or 1 (write ~0 for ~ and ~1 for /)")),
                }
            }
            Ok(out)
        })
        .collect()
}

fn pointer_text(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Where and why a pointer does not resolve. `at` counts the tokens that name the offending
/// location: `tokens[..at]`.
#[derive(Debug)]
enum PathError {
    Missing { at: usize },
    NotContainer { at: usize, kind: &'static str },
    BadIndex { at: usize },
    OutOfBounds { at: usize, index: usize, len: usize },
    Dash { at: usize },
    RemoveRoot,
}

impl PathError {
    /// `which` is "path" or "from path".
    fn describe(&self, tokens: &[String], which: &str) -> String {
        let loc = |n: usize| {
            if n == 0 {
                "the document".to_string()
            } else {
                pointer_text(&tokens[..n.min(tokens.len())])
            }
        };
        match *self {
            PathError::Missing { at } if at >= tokens.len() => format!("{which} not found"),
            PathError::Missing { at } => format!("{which} not found: {} does not exist", loc(at)),
            PathError::NotContainer { at, kind } => {
                format!(
                    "{which} not found: {} is {kind}, not an object or array",
                    loc(at)
                )
            }
            PathError::BadIndex { at } => format!(
                "{which} not found: {:?} is not an index into the array at {}",
                tokens.get(at).map_or("", String::as_str),
                loc(at)
            ),
            PathError::OutOfBounds { at, index, len } => {
                format!(
                    "index {index} is out of bounds for the array at {} (length {len})",
                    loc(at)
                )
            }
            PathError::Dash { at } => {
                format!(
                    "\"-\" (past the end of the array at {}) names no element; only add can use it",
                    loc(at)
                )
            }
            PathError::RemoveRoot => "cannot remove the whole document".to_string(),
        }
    }
}

/// An array index token: `0` or digits without a leading zero; `-` is the end of the array.
fn parse_index(tok: &str, at: usize) -> Result<usize, PathError> {
    if tok == "-" {
        return Err(PathError::Dash { at });
    }
    let digits = !tok.is_empty() && tok.bytes().all(|b| b.is_ascii_digit());
    if !digits || (tok.len() > 1 && tok.starts_with('0')) {
        return Err(PathError::BadIndex { at });
    }
    // Too many digits to fit: certainly past the end.
    Ok(tok.parse().unwrap_or(usize::MAX))
}

fn get<'v>(doc: &'v Value, tokens: &[String]) -> Result<&'v Value, PathError> {
    let mut cur = doc;
    for (i, tok) in tokens.iter().enumerate() {
        cur = match cur {
            Value::Object(m) => m.get(tok).ok_or(PathError::Missing { at: i + 1 })?,
            Value::Array(a) => {
                let index = parse_index(tok, i)?;
                a.get(index).ok_or(PathError::OutOfBounds {
                    at: i,
                    index,
                    len: a.len(),
                })?
            }
            other => {
                return Err(PathError::NotContainer {
                    at: i,
                    kind: type_name(other),
                });
            }
        };
    }
    Ok(cur)
}

fn get_mut<'v>(doc: &'v mut Value, tokens: &[String]) -> Result<&'v mut Value, PathError> {
    let mut cur = doc;
    for (i, tok) in tokens.iter().enumerate() {
        cur = match cur {
            Value::Object(m) => m.get_mut(tok).ok_or(PathError::Missing { at: i + 1 })?,
            Value::Array(a) => {
                let index = parse_index(tok, i)?;
                let len = a.len();
                a.get_mut(index)
                    .ok_or(PathError::OutOfBounds { at: i, index, len })?
            }
            other => {
                return Err(PathError::NotContainer {
                    at: i,
                    kind: type_name(other),
                });
            }
        };
    }
    Ok(cur)
}

fn add(doc: &mut Value, tokens: &[String], value: Value) -> Result<(), PathError> {
    let Some((last, parents)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    let at = parents.len();
    match get_mut(doc, parents)? {
        // Replaces an existing member in place, keeping its position.
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            let index = if last == "-" {
                a.len()
            } else {
                parse_index(last, at)?
            };
            if index > a.len() {
                return Err(PathError::OutOfBounds {
                    at,
                    index,
                    len: a.len(),
                });
            }
            a.insert(index, value);
        }
        other => {
            return Err(PathError::NotContainer {
                at,
                kind: type_name(other),
            });
        }
    }
    Ok(())
}

fn remove(doc: &mut Value, tokens: &[String]) -> Result<Value, PathError> {
    let Some((last, parents)) = tokens.split_last() else {
        return Err(PathError::RemoveRoot);
    };
    let at = parents.len();
    match get_mut(doc, parents)? {
        Value::Object(m) => m
            .shift_remove(last)
            .ok_or(PathError::Missing { at: at + 1 }),
        Value::Array(a) => {
            let index = parse_index(last, at)?;
            if index >= a.len() {
                return Err(PathError::OutOfBounds {
                    at,
                    index,
                    len: a.len(),
                });
            }
            Ok(a.remove(index))
        }
        other => Err(PathError::NotContainer {
            at,
            kind: type_name(other),
        }),
    }
}

fn apply(doc: &mut Value, op: &Op<'_>) -> Result<(), String> {
    let on_path = |e: PathError| e.describe(&op.path, "path");
    let on_from = |e: PathError| e.describe(&op.from, "from path");
    let value = || op.value.cloned().unwrap_or(Value::Null);
    match op.kind {
        Kind::Add => add(doc, &op.path, value()).map_err(on_path),
        Kind::Remove => remove(doc, &op.path).map(drop).map_err(on_path),
        Kind::Replace => {
            *get_mut(doc, &op.path).map_err(on_path)? = value();
            Ok(())
        }
        Kind::Test => {
            let actual = get(doc, &op.path).map_err(on_path)?;
            let expected = op.value.unwrap_or(&Value::Null);
            if json_eq(actual, expected) {
                Ok(())
            } else {
                Err(format!(
                    "test failed: value is {}, not {}",
                    short(actual),
                    short(expected)
                ))
            }
        }
        Kind::Copy => {
            let v = get(doc, &op.from).map_err(on_from)?.clone();
            add(doc, &op.path, v).map_err(on_path)
        }
        Kind::Move => {
            if op.from == op.path {
                return get(doc, &op.from).map(drop).map_err(on_from);
            }
            if op.path.len() > op.from.len() && op.path.starts_with(&op.from) {
                return Err(format!(
                    "cannot move {} into its own child {}",
                    pointer_text(&op.from),
                    pointer_text(&op.path)
                ));
            }
            let v = remove(doc, &op.from).map_err(on_from)?;
            add(doc, &op.path, v).map_err(on_path)
        }
    }
}

/// JSON equality as RFC 6902 `test` defines it: numbers compare by value (`1` equals `1.0`),
/// objects ignore member order.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A value for an error message, cut to one short line.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 60 {
        s
    } else {
        format!("{}...", s.chars().take(57).collect::<String>())
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
