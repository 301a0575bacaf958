//! Manifests: YAML (multi-document) and JSON, `kind: List`, files, directories, stdin, with
//! file/line/column for every field so errors can point at what the user wrote.
//! STUB: signatures fixed; implementation pending.

use serde_json::Value;

/// One object read from a manifest, with where it came from.
#[derive(Debug, Clone)]
pub struct Document {
    /// File path as given, or `STDIN`.
    pub source: String,
    pub value: Value,
    /// Line (1-based) where the document (or List item) starts.
    pub line: usize,
    positions: Vec<(String, usize, usize)>,
}

impl Document {
    /// Line and column (1-based) of a field path such as `spec.containers[0].name`, or of its
    /// nearest ancestor that was written.
    pub fn position(&self, _path: &str) -> (usize, usize) {
        let _ = &self.positions;
        todo!()
    }
}

/// A problem in a manifest, located: `pod.yaml:7:5: spec.container: unknown field ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub source: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.source, self.line, self.column, self.message
        )
    }
}

/// Parse text (YAML stream or JSON), expanding `kind: List`.
pub fn parse_str(_text: &str, _source: &str) -> Result<Vec<Document>, Vec<ManifestError>> {
    todo!()
}

/// Read `-f` arguments: files, directories (recursively with `recursive`), `-` for stdin.
pub fn read_paths(
    _paths: &[String],
    _recursive: bool,
) -> Result<Vec<Document>, Vec<ManifestError>> {
    todo!()
}
