//! Where each field of a parsed document was written, and lookup by field path.
//!
//! Positions are kept as a tree shaped like the document rather than as path strings, because
//! field paths are ambiguous on their own: a mapping key is written `spec.replicas` when it is a
//! struct field but `metadata.labels[app.kubernetes.io/name]` when it is a map entry, and keys
//! may themselves contain dots and brackets. Walking the tree with the real keys accepts both
//! notations and any key.

/// Position (1-based line and column) of one node, and of its children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PosNode {
    pub line: usize,
    pub col: usize,
    pub kids: Kids,
}

/// Children of a node: mapping entries (at their key's position) or sequence items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Kids {
    #[default]
    Leaf,
    Map(Vec<(String, PosNode)>),
    Seq(Vec<PosNode>),
}

impl Kids {
    /// Mapping entries, sorted by key so lookups can binary-search.
    pub fn map(mut entries: Vec<(String, PosNode)>) -> Kids {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Kids::Map(entries)
    }
}

impl PosNode {
    pub fn leaf(line: usize, col: usize) -> Self {
        PosNode {
            line,
            col,
            kids: Kids::Leaf,
        }
    }

    /// The node a field path names, or its nearest ancestor that was written.
    ///
    /// Accepts `a.b`, `a[b]` for mapping keys and `a[0]` for sequence items; a leading `.` is
    /// ignored. When several keys could match (`a` and `a.b` for `a.b.c`) the longest wins.
    pub fn lookup(&self, path: &str) -> &PosNode {
        let mut node = self;
        let mut rest = path;
        loop {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            if rest.is_empty() {
                return node;
            }
            let next = match &node.kids {
                Kids::Leaf => None,
                Kids::Map(entries) => {
                    match_exact(entries, rest).or_else(|| match_key(entries, rest))
                }
                Kids::Seq(items) => match_index(items, rest),
            };
            match next {
                Some((child, remaining)) => {
                    node = child;
                    rest = remaining;
                }
                None => return node,
            }
        }
    }

    /// Mutable access to the child at a sequence index (used to split `kind: List` items off).
    pub fn take_item(&mut self, key: &str, index: usize) -> Option<PosNode> {
        let Kids::Map(entries) = &mut self.kids else {
            return None;
        };
        let (_, items) = entries.iter_mut().find(|(k, _)| k == key)?;
        match &mut items.kids {
            Kids::Seq(list) => list.get_mut(index).map(std::mem::take),
            _ => None,
        }
    }
}

/// True when a path segment ends at `rest[at..]`: end of path, or another segment starts.
fn boundary(rest: &str, at: usize) -> bool {
    matches!(rest.as_bytes().get(at), None | Some(b'.') | Some(b'['))
}

/// The usual case, fast: the next segment (`name` up to `.`/`[`, or `[name]`) is a key.
fn match_exact<'n, 'p>(
    entries: &'n [(String, PosNode)],
    rest: &'p str,
) -> Option<(&'n PosNode, &'p str)> {
    let find = |key: &str| {
        entries
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &entries[i].1)
    };
    if let Some(inner) = rest.strip_prefix('[') {
        // The key ends at the first `]` that ends a segment.
        let mut from = 0;
        while let Some(offset) = inner[from..].find(']') {
            let end = from + offset;
            if boundary(inner, end + 1) {
                return find(&inner[..end]).map(|node| (node, &inner[end + 1..]));
            }
            from = end + 1;
        }
        None
    } else {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        find(&rest[..end]).map(|node| (node, &rest[end..]))
    }
}

/// Any key that is a prefix of the path (keys containing `.` or `[`): the longest wins.
fn match_key<'n, 'p>(
    entries: &'n [(String, PosNode)],
    rest: &'p str,
) -> Option<(&'n PosNode, &'p str)> {
    let mut best: Option<(usize, &'n PosNode)> = None;
    for (key, node) in entries {
        // Dotted form `key` (an empty key can only be written in brackets).
        let dotted = !key.is_empty() && rest.starts_with(key.as_str()) && boundary(rest, key.len());
        let dotted_len = if dotted { Some(key.len()) } else { None };
        // Bracketed form `[key]`.
        let bracketed = rest.len() >= key.len() + 2
            && rest.starts_with('[')
            && rest[1..].starts_with(key.as_str())
            && rest.as_bytes().get(key.len() + 1) == Some(&b']')
            && boundary(rest, key.len() + 2);
        let bracket_len = if bracketed { Some(key.len() + 2) } else { None };
        for len in [dotted_len, bracket_len].into_iter().flatten() {
            if best.is_none_or(|(l, _)| len > l) {
                best = Some((len, node));
            }
        }
    }
    best.map(|(len, node)| (node, &rest[len..]))
}

fn match_index<'n, 'p>(items: &'n [PosNode], rest: &'p str) -> Option<(&'n PosNode, &'p str)> {
    let inner = rest.strip_prefix('[')?;
    let close = inner.find(']')?;
    let index: usize = inner[..close].parse().ok()?;
    let consumed = close + 2;
    if !boundary(rest, consumed) {
        return None;
    }
    items.get(index).map(|node| (node, &rest[consumed..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(&str, PosNode)>, line: usize, col: usize) -> PosNode {
        PosNode {
            line,
            col,
            kids: Kids::map(
                entries
                    .into_iter()
                    .map(|(k, n)| (k.to_string(), n))
                    .collect(),
            ),
        }
    }

    fn sample() -> PosNode {
        let labels = map(
            vec![
                ("app.kubernetes.io/name", PosNode::leaf(5, 5)),
                ("a", PosNode::leaf(6, 5)),
            ],
            4,
            3,
        );
        let metadata = map(vec![("labels", labels)], 3, 1);
        let c0 = map(vec![("name", PosNode::leaf(9, 5))], 9, 5);
        let c1 = map(vec![("name", PosNode::leaf(11, 5))], 11, 5);
        let containers = PosNode {
            line: 8,
            col: 3,
            kids: Kids::Seq(vec![c0, c1]),
        };
        let spec = map(vec![("containers", containers)], 7, 1);
        map(vec![("metadata", metadata), ("spec", spec)], 1, 1)
    }

    fn at(n: &PosNode) -> (usize, usize) {
        (n.line, n.col)
    }

    #[test]
    fn both_key_notations_and_indexes() {
        let root = sample();
        assert_eq!(at(root.lookup("spec.containers[1].name")), (11, 5));
        assert_eq!(at(root.lookup(".spec.containers[0]")), (9, 5));
        assert_eq!(
            at(root.lookup("metadata.labels[app.kubernetes.io/name]")),
            (5, 5)
        );
        assert_eq!(
            at(root.lookup("metadata.labels.app.kubernetes.io/name")),
            (5, 5)
        );
        assert_eq!(at(root.lookup("metadata.labels[a]")), (6, 5));
        assert_eq!(at(root.lookup("")), (1, 1));
    }

    #[test]
    fn falls_back_to_nearest_written_ancestor() {
        let root = sample();
        assert_eq!(at(root.lookup("metadata.name")), (3, 1));
        assert_eq!(at(root.lookup("spec.containers[7].image")), (8, 3));
        assert_eq!(at(root.lookup("spec.containers[0].image")), (9, 5));
        assert_eq!(at(root.lookup("status")), (1, 1));
        // A prefix of a key is not the key.
        assert_eq!(at(root.lookup("spec.container")), (7, 1));
        assert_eq!(at(root.lookup("metadata.labels[app]")), (4, 3));
        // Garbage never panics.
        for p in [
            "[",
            "]",
            "[[",
            "spec[",
            "spec.containers[",
            "spec.containers[x]",
            "..",
            "[]",
        ] {
            let _ = root.lookup(p);
        }
    }
}
