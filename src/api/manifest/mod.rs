//! Manifests: YAML (multi-document) and JSON, `kind: List`, files, directories, stdin, with
//! file/line/column for every field so errors can point at what the user wrote.
//!
//! JSON is read by the YAML parser too (JSON is YAML's flow style), which gives JSON input the
//! same positions and the same error messages.
//!
//! Reading rules (see `scalar` and `loader` for details):
//! - plain scalars follow the YAML 1.2 core schema (`yes`/`on` are strings), except that a
//!   leading-zero integer is octal (`defaultMode: 0644`), as kubectl reads it;
//! - duplicate keys are errors (Kubernetes' strict decoding rejects them);
//! - scalar keys that are not strings become their JSON text (`1: x` → `"1"`), as kubectl
//!   does; list or mapping keys are errors;
//! - anchors, aliases and `<<` merge keys work, within an expansion budget;
//! - `.inf`/`.nan` are errors: JSON cannot hold them.

mod files;
mod loader;
mod position;
mod scalar;

pub use files::read_paths;

use loader::RawDoc;
use position::PosNode;
use serde_json::Value;

/// How deep `kind: List` items may themselves be Lists.
const MAX_LIST_NESTING: usize = 8;

/// One object read from a manifest, with where it came from.
#[derive(Debug, Clone)]
pub struct Document {
    /// File path as given, or `STDIN`.
    pub source: String,
    pub value: Value,
    /// Line (1-based) where the document (or List item) starts.
    pub line: usize,
    positions: PosNode,
}

impl Document {
    /// A document that was not read from text (built by a command): every position is its
    /// first line.
    pub fn from_value(source: impl Into<String>, value: Value) -> Self {
        Document {
            source: source.into(),
            value,
            line: 1,
            positions: PosNode::leaf(1, 1),
        }
    }

    /// Line and column (1-based) of a field path such as `spec.containers[0].name`, or of its
    /// nearest ancestor that was written.
    ///
    /// Mapping keys may be written as fields (`metadata.labels.app`) or in brackets
    /// (`metadata.labels[app.kubernetes.io/name]`); list items as `[i]`. A path that names
    /// nothing written falls back to the document start.
    pub fn position(&self, path: &str) -> (usize, usize) {
        let node = self.positions.lookup(path);
        (node.line, node.col)
    }

    /// A located error about a field of this document: `pod.yaml:7:3: message`.
    pub fn error_at(&self, path: &str, message: impl Into<String>) -> ManifestError {
        let (line, column) = self.position(path);
        ManifestError {
            source: self.source.clone(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// A problem in a manifest, located: `pod.yaml:7:5: spec.container: unknown field ...`.
///
/// `line == 0` means the problem concerns the whole source (unreadable file) and is shown as
/// `source: message`; an empty `source` shows the message alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub source: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.source.is_empty() {
            write!(f, "{}", self.message)
        } else if self.line == 0 {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.source, self.line, self.column, self.message
            )
        }
    }
}

/// Parse text (YAML stream or JSON), expanding `kind: List`.
///
/// Every problem found is returned (one per document at least, several when a document has
/// several duplicate keys and the like); documents are returned only when there is none.
pub fn parse_str(text: &str, source: &str) -> Result<Vec<Document>, Vec<ManifestError>> {
    let (raws, load_errors) = loader::load(text);
    let mut errors: Vec<ManifestError> = load_errors
        .into_iter()
        .map(|e| ManifestError {
            source: source.to_string(),
            line: e.line,
            column: e.col,
            message: e.message,
        })
        .collect();
    let mut docs = Vec::new();
    for RawDoc { value, pos } in raws {
        collect(source, value, pos, "", 0, &mut docs, &mut errors);
    }
    // Errors come from several passes; show them in file order.
    errors.sort_by_key(|e| (e.line, e.column));
    if errors.is_empty() {
        Ok(docs)
    } else {
        Err(errors)
    }
}

/// Add one parsed object to `docs`, or its items when it is a List. `what` names the object in
/// messages (`items[2]` inside a List).
fn collect(
    source: &str,
    value: Value,
    mut pos: PosNode,
    what: &str,
    nesting: usize,
    docs: &mut Vec<Document>,
    errors: &mut Vec<ManifestError>,
) {
    let err = |line, column, message: String| ManifestError {
        source: source.to_string(),
        line,
        column,
        message: if what.is_empty() {
            message
        } else {
            format!("{what}: {message}")
        },
    };
    let Value::Object(mut obj) = value else {
        errors.push(err(
            pos.line,
            pos.col,
            format!(
                "expected an object with apiVersion and kind, got {}",
                json_type(&value)
            ),
        ));
        return;
    };
    if !is_list(&obj) {
        docs.push(Document {
            source: source.to_string(),
            value: Value::Object(obj),
            line: pos.line,
            positions: pos,
        });
        return;
    }
    if nesting >= MAX_LIST_NESTING {
        errors.push(err(
            pos.line,
            pos.col,
            format!("Lists nested more than {MAX_LIST_NESTING} deep"),
        ));
        return;
    }
    let items_at = {
        let node = pos.lookup("items");
        (node.line, node.col)
    };
    let items = match obj.remove("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            errors.push(err(
                items_at.0,
                items_at.1,
                format!("items must be a list, got {}", json_type(&other)),
            ));
            return;
        }
    };
    for (i, item) in items.into_iter().enumerate() {
        // Items from an alias have no positions of their own: use the `items` key.
        let item_pos = pos
            .take_item("items", i)
            .unwrap_or_else(|| PosNode::leaf(items_at.0, items_at.1));
        let name = format!(
            "{}items[{i}]",
            if what.is_empty() {
                String::new()
            } else {
                format!("{what}.")
            }
        );
        collect(source, item, item_pos, &name, nesting + 1, docs, errors);
    }
}

/// `kind: List`, or a typed list such as `PodList` that has `items`.
fn is_list(obj: &serde_json::Map<String, Value>) -> bool {
    match obj.get("kind").and_then(Value::as_str) {
        Some("List") => true,
        Some(kind) => kind.ends_with("List") && obj.contains_key("items"),
        None => false,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests;
