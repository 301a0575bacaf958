//! YAML stream → JSON values with positions, in one pass over saphyr-parser events.
//!
//! Building the value ourselves (instead of deserializing with serde) lets every node carry the
//! line and column it was written at, lets us apply Kubernetes' rules (duplicate keys are
//! errors, JSON cannot hold infinities) and bounds the work an adversarial document can cause
//! (alias expansion budget, nesting limit).

use super::position::{Kids, PosNode};
use super::scalar::{key_string, resolve_plain, resolve_tagged};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Deepest nesting accepted. Kubernetes objects stay far below; the limit keeps recursive code
/// (value drop, schema walk) away from stack exhaustion.
pub(crate) const MAX_DEPTH: usize = 100;

/// How much alias expansion may add to one stream, in bytes of text (see `alias_cost`): enough
/// for any real manifest, far too little for a "billion laughs" document.
pub(crate) const MAX_ALIAS_BYTES: usize = 4_000_000;

/// One parsed YAML document (not yet checked to be an object).
#[derive(Debug)]
pub(crate) struct RawDoc {
    pub value: Value,
    pub pos: PosNode,
}

/// A problem at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoadError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Parse a whole YAML (or JSON) stream. Documents with problems are left out and their
/// problems reported; after a syntax error parsing resumes at the next `---` line, so one
/// broken document does not hide the problems of the others.
pub(crate) fn load(text: &str) -> (Vec<RawDoc>, Vec<LoadError>) {
    // YAML treats a lone CR as a line break too; normalizing keeps our line numbers (used to
    // resume after errors) in step with the parser's.
    let normalized;
    let text = if text.contains('\r') {
        normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        text
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut loader = Loader {
        docs: Vec::new(),
        errors: Vec::new(),
        alias_budget: MAX_ALIAS_BYTES,
    };
    let mut start_line = 1;
    while let Some(&offset) = line_starts.get(start_line - 1) {
        let Err(e) = loader.parse_chunk(&text[offset..], start_line - 1) else {
            break;
        };
        let err_line = e.marker().line().max(1) + start_line - 1;
        loader.errors.push(LoadError {
            line: err_line,
            col: e.marker().col() + 1,
            message: e.info().to_string(),
        });
        let restart = (err_line.max(start_line + 1)..=line_starts.len())
            .find(|&l| is_document_marker(&text[line_starts[l - 1]..]));
        match restart {
            Some(l) => start_line = l,
            None => break,
        }
    }
    (loader.docs, loader.errors)
}

/// A line starting with `---` followed by whitespace or the end of the line.
fn is_document_marker(rest: &str) -> bool {
    rest.strip_prefix("---").is_some_and(|after| {
        matches!(
            after.bytes().next(),
            None | Some(b' ' | b'\t' | b'\r' | b'\n')
        )
    })
}

struct Loader {
    docs: Vec<RawDoc>,
    errors: Vec<LoadError>,
    alias_budget: usize,
}

impl Loader {
    fn parse_chunk(&mut self, chunk: &str, line_offset: usize) -> Result<(), ScanError> {
        let mut parser = Parser::new_from_str(chunk);
        let mut doc: Option<DocBuilder> = None;
        while let Some(item) = parser.next_event() {
            let (event, span) = item?;
            let at = At {
                line: span.start.line() + line_offset,
                col: span.start.col() + 1,
            };
            match event {
                Event::DocumentStart(_) => doc = Some(DocBuilder::default()),
                Event::DocumentEnd => {
                    if let Some(d) = doc.take() {
                        self.finish(d);
                    }
                }
                Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
                other => {
                    if let Some(d) = doc.as_mut() {
                        d.event(other, at, &mut self.alias_budget);
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, doc: DocBuilder) {
        if !doc.errors.is_empty() {
            self.errors.extend(doc.errors);
            return;
        }
        // A document of only comments (or `---` alone) is null: nothing to apply.
        if let Some((value, pos)) = doc.root
            && !value.is_null()
        {
            self.docs.push(RawDoc { value, pos });
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct At {
    line: usize,
    col: usize,
}

#[derive(Default)]
struct DocBuilder {
    stack: Vec<Frame>,
    /// Anchored values with what an alias to them costs (`alias_cost`).
    anchors: HashMap<usize, (Value, usize)>,
    root: Option<(Value, PosNode)>,
    errors: Vec<LoadError>,
    /// While > 0 we are inside a collection nested too deep and ignore its events.
    skip: usize,
    skip_at: Option<At>,
    alias_refused: bool,
}

struct Frame {
    at: At,
    anchor: usize,
    body: Body,
}

enum Body {
    Seq(Vec<Value>, Vec<PosNode>),
    Map(MapFrame),
}

#[derive(Default)]
struct MapFrame {
    map: Map<String, Value>,
    pos: Vec<(String, PosNode)>,
    /// The key whose value comes next; `None` when the next node is a key.
    key: Option<Key>,
    /// `<<: *base` merges, applied when the mapping ends (explicit keys win).
    merges: Vec<(Value, At)>,
}

enum Key {
    Name(String, At),
    Merge(At),
    /// A key we could not use; its value is dropped (the error is already recorded).
    Invalid,
}

impl DocBuilder {
    fn error(&mut self, at: At, message: impl Into<String>) {
        self.errors.push(LoadError {
            line: at.line,
            col: at.col,
            message: message.into(),
        });
    }

    fn awaiting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame { body: Body::Map(m), .. }) if m.key.is_none())
    }

    fn event(&mut self, event: Event<'_>, at: At, alias_budget: &mut usize) {
        if self.skip > 0 {
            match event {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skip += 1,
                Event::SequenceEnd | Event::MappingEnd => {
                    self.skip -= 1;
                    if self.skip == 0 {
                        let start = self.skip_at.unwrap_or(at);
                        self.complete(Value::Null, PosNode::leaf(start.line, start.col));
                    }
                }
                _ => {}
            }
            return;
        }
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                if self.awaiting_key() {
                    let key = scalar_key(&text, style, tag.as_deref(), at);
                    if anchor > 0
                        && let Key::Name(name, _) = &key
                    {
                        let cost = alias_cost(&Value::String(name.clone()));
                        self.anchors
                            .insert(anchor, (Value::String(name.clone()), cost));
                    }
                    self.set_key(key);
                    return;
                }
                let value = match scalar_value(&text, style, tag.as_deref()) {
                    Ok(v) => v,
                    Err(message) => {
                        self.error(at, message);
                        Value::Null
                    }
                };
                if anchor > 0 {
                    self.anchors
                        .insert(anchor, (value.clone(), alias_cost(&value)));
                }
                self.complete(value, PosNode::leaf(at.line, at.col));
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    self.error(at, format!("nested more than {MAX_DEPTH} levels deep"));
                    self.skip = 1;
                    self.skip_at = Some(at);
                    return;
                }
                let body = if matches!(event, Event::SequenceStart(..)) {
                    Body::Seq(Vec::new(), Vec::new())
                } else {
                    Body::Map(MapFrame::default())
                };
                self.stack.push(Frame { at, anchor, body });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return;
                };
                let (value, kids) = match frame.body {
                    Body::Seq(items, pos) => (Value::Array(items), Kids::Seq(pos)),
                    Body::Map(m) => m.finish(),
                };
                if frame.anchor > 0 {
                    let size = alias_cost(&value);
                    self.anchors.insert(frame.anchor, (value.clone(), size));
                }
                self.complete(
                    value,
                    PosNode {
                        line: frame.at.line,
                        col: frame.at.col,
                        kids,
                    },
                );
            }
            Event::Alias(id) => {
                let value = match self.anchors.get(&id) {
                    None => {
                        self.error(
                            at,
                            "alias to an anchor that is not defined in this document",
                        );
                        Value::Null
                    }
                    Some((_, size)) if self.alias_refused || *size > *alias_budget => {
                        if !self.alias_refused {
                            self.alias_refused = true;
                            self.error(
                                at,
                                "aliases expand to more than 4 MB of data; refusing to expand them (a \"billion laughs\" document?)",
                            );
                        }
                        Value::Null
                    }
                    Some((value, size)) => {
                        *alias_budget -= size;
                        value.clone()
                    }
                };
                // Positions inside an expanded alias all point at the alias itself.
                self.complete(value, PosNode::leaf(at.line, at.col));
            }
            _ => {}
        }
    }

    /// Record the next mapping key, rejecting duplicates as Kubernetes' strict decoding does.
    fn set_key(&mut self, key: Key) {
        let first_line = match (&key, self.stack.last()) {
            (
                Key::Name(name, _),
                Some(Frame {
                    body: Body::Map(m), ..
                }),
            ) if m.map.contains_key(name) => {
                m.pos.iter().find(|(k, _)| k == name).map(|(_, n)| n.line)
            }
            _ => None,
        };
        let key = match (first_line, key) {
            (Some(first), Key::Name(name, at)) => {
                let path = join(&self.current_path(), &name);
                self.error(
                    at,
                    format!("duplicate field {path:?} (first set at line {first})"),
                );
                Key::Invalid
            }
            (_, key) => key,
        };
        if let Some(Frame {
            body: Body::Map(m), ..
        }) = self.stack.last_mut()
        {
            m.key = Some(key);
        }
    }

    /// Attach a finished node to its parent (or make it the document root).
    fn complete(&mut self, value: Value, node: PosNode) {
        let Some(top) = self.stack.last_mut() else {
            self.root = Some((value, node));
            return;
        };
        let m = match &mut top.body {
            Body::Seq(items, pos) => {
                items.push(value);
                pos.push(node);
                return;
            }
            Body::Map(m) => m,
        };
        let at = At {
            line: node.line,
            col: node.col,
        };
        match m.key.take() {
            // A collection or an alias used as a key.
            None => match key_string(&value) {
                Some(name) => self.set_key(Key::Name(name, at)),
                None => {
                    m.key = Some(Key::Invalid);
                    self.error(at, "a mapping key must be a string, not a list or mapping");
                }
            },
            Some(Key::Name(name, key_at)) => {
                m.map.insert(name.clone(), value);
                m.pos.push((
                    name,
                    PosNode {
                        line: key_at.line,
                        col: key_at.col,
                        kids: node.kids,
                    },
                ));
            }
            Some(Key::Merge(merge_at)) => {
                let ok = match &value {
                    Value::Object(_) => true,
                    Value::Array(items) => items.iter().all(Value::is_object),
                    _ => false,
                };
                if ok {
                    m.merges.push((value, merge_at));
                } else {
                    self.error(
                        merge_at,
                        "merge key << needs a mapping or a list of mappings",
                    );
                }
            }
            Some(Key::Invalid) => {}
        }
    }

    /// Path of the node being built, for messages: `spec.containers[0]`.
    fn current_path(&self) -> String {
        let mut path = String::new();
        // The last frame's pending key is the one being checked; only ancestors count.
        let ancestors = self.stack.len().saturating_sub(1);
        for frame in &self.stack[..ancestors] {
            match &frame.body {
                Body::Seq(items, _) => path.push_str(&format!("[{}]", items.len())),
                Body::Map(m) => match &m.key {
                    Some(Key::Name(name, _)) => path = join(&path, name),
                    Some(Key::Merge(_)) => path = join(&path, "<<"),
                    _ => {}
                },
            }
        }
        path
    }
}

impl MapFrame {
    fn finish(mut self) -> (Value, Kids) {
        for (merged, at) in std::mem::take(&mut self.merges) {
            let sources = match merged {
                Value::Object(o) => vec![o],
                Value::Array(items) => items
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::Object(o) => Some(o),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for source in sources {
                for (k, v) in source {
                    if !self.map.contains_key(&k) {
                        self.pos.push((k.clone(), PosNode::leaf(at.line, at.col)));
                        self.map.insert(k, v);
                    }
                }
            }
        }
        (Value::Object(self.map), Kids::map(self.pos))
    }
}

/// `a.b` for plain keys, `a[app.kubernetes.io/name]` for keys that contain separators.
fn join(path: &str, key: &str) -> String {
    let needs_brackets = key.is_empty() || key.contains(['.', '/', '[', ']']);
    match (path.is_empty(), needs_brackets) {
        (_, true) => format!("{path}[{key}]"),
        (true, false) => key.to_string(),
        (false, false) => format!("{path}.{key}"),
    }
}

fn core_tag(tag: Option<&Tag>) -> Option<&str> {
    tag.filter(|t| t.is_yaml_core_schema())
        .map(|t| t.suffix.as_str())
}

fn scalar_value(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(resolved) = core_tag(tag).and_then(|suffix| resolve_tagged(text, suffix)) {
        return resolved;
    }
    match style {
        ScalarStyle::Plain => resolve_plain(text),
        _ => Ok(Value::String(text.to_string())),
    }
}

fn scalar_key(text: &str, style: ScalarStyle, tag: Option<&Tag>, at: At) -> Key {
    let suffix = core_tag(tag);
    if suffix == Some("merge") || (style == ScalarStyle::Plain && tag.is_none() && text == "<<") {
        return Key::Merge(at);
    }
    // A key that does not resolve (`.inf`) is still a fine key: use its text.
    let name = scalar_value(text, style, tag)
        .ok()
        .and_then(|v| key_string(&v))
        .unwrap_or_else(|| text.to_string());
    Key::Name(name, at)
}

/// Roughly the bytes a copy of `value` takes: a fixed amount per node plus its text, so that
/// both many small nodes and a few huge strings count.
fn alias_cost(value: &Value) -> usize {
    const NODE: usize = 8;
    match value {
        Value::String(s) => NODE + s.len(),
        Value::Array(items) => NODE + items.iter().map(alias_cost).sum::<usize>(),
        Value::Object(map) => {
            NODE + map
                .iter()
                .map(|(k, v)| k.len() + alias_cost(v))
                .sum::<usize>()
        }
        _ => NODE,
    }
}
