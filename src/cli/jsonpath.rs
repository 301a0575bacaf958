//! The JSONPath templates of `-o jsonpath=...` and `--sort-by`, as kubectl implements them
//! (k8s.io/client-go/util/jsonpath): text with `{...}` actions holding paths (`.a.b`, `[0]`,
//! `[*]`, `[1:3]`, `..name`, `['key']`, `[?(@.type=="Ready")]`), string literals, and
//! `range`/`end`. Missing keys print nothing, as kubectl allows them for `get`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Expr(Vec<Step>),
    Range(Vec<Step>, Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Wildcard,
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    Recursive(String),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    path: Vec<Step>,
    op: Option<(String, Value)>,
}

impl JsonPath {
    /// Parse a template; `{` opens an action, text outside actions is printed as is.
    pub fn parse(template: &str) -> Result<JsonPath, String> {
        let mut stack: Vec<(Vec<Step>, Vec<Node>)> = Vec::new();
        let mut nodes: Vec<Node> = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                nodes.push(Node::Text(rest.to_string()));
                break;
            };
            if open > 0 {
                nodes.push(Node::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close =
                find_close(after).ok_or_else(|| format!("unclosed action in {template:?}"))?;
            let action = after[..close].trim();
            rest = &after[close + 1..];
            if let Some(expr) = action.strip_prefix("range ") {
                stack.push((parse_path(expr.trim())?, std::mem::take(&mut nodes)));
            } else if action == "end" {
                let (steps, outer) = stack.pop().ok_or("not in range, nothing to end")?;
                let body = std::mem::replace(&mut nodes, outer);
                nodes.push(Node::Range(steps, body));
            } else if action.starts_with('"') || action.starts_with('\'') {
                nodes.push(Node::Text(unquote(action)?));
            } else {
                nodes.push(Node::Expr(parse_path(action)?));
            }
        }
        if !stack.is_empty() {
            return Err("unclosed range".into());
        }
        Ok(JsonPath { nodes })
    }

    /// `--sort-by` accepts a bare path (`.metadata.name`) as well as a template.
    pub fn parse_relaxed(expr: &str) -> Result<JsonPath, String> {
        let e = expr.trim();
        if e.starts_with('{') {
            Self::parse(e)
        } else {
            Self::parse(&format!("{{{e}}}"))
        }
    }

    pub fn render(&self, data: &Value) -> Result<String, String> {
        let mut out = String::new();
        render_nodes(&self.nodes, data, data, &mut out);
        Ok(out)
    }

    /// The values the first expression of the template selects (for sorting).
    pub fn values<'a>(&self, data: &'a Value) -> Vec<&'a Value> {
        match self.nodes.iter().find(|n| matches!(n, Node::Expr(_))) {
            Some(Node::Expr(steps)) => eval(steps, data, data),
            _ => Vec::new(),
        }
    }
}

fn find_close(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '}' => return Some(i),
            None => {}
        }
    }
    None
}

fn unquote(s: &str) -> Result<String, String> {
    let q = s.chars().next().ok_or("empty literal")?;
    let inner = s
        .strip_prefix(q)
        .and_then(|x| x.strip_suffix(q))
        .ok_or_else(|| format!("unterminated string {s}"))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Ok(out)
}

fn parse_path(expr: &str) -> Result<Vec<Step>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    if matches!(chars.first(), Some('$') | Some('@')) {
        i = 1;
    }
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'.') => {
                let (name, next) = ident(&chars, i + 2);
                if name.is_empty() {
                    return Err(format!("missing field name after '..' in {expr:?}"));
                }
                steps.push(Step::Recursive(name));
                i = next;
            }
            '.' => {
                let (name, next) = ident(&chars, i + 1);
                match name.as_str() {
                    "" => {}
                    "*" => steps.push(Step::Wildcard),
                    _ => steps.push(Step::Field(name)),
                }
                i = next;
            }
            '[' => {
                let close = matching_bracket(&chars, i)
                    .ok_or_else(|| format!("unterminated [ in {expr:?}"))?;
                let inner: String = chars[i + 1..close].iter().collect();
                steps.push(parse_bracket(inner.trim())?);
                i = close + 1;
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                // A leading bare identifier (`metadata.name`) is a field too.
                let (name, next) = ident(&chars, i);
                if name.is_empty() {
                    return Err(format!("unrecognized character {:?} in {expr:?}", chars[i]));
                }
                steps.push(Step::Field(name));
                i = next;
            }
        }
    }
    Ok(steps)
}

fn ident(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    while i < chars.len() && !matches!(chars[i], '.' | '[' | ' ') {
        i += 1;
    }
    (chars[start..i].iter().collect(), i)
}

fn matching_bracket(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(open) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '[' => depth += 1,
            None if c == ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            None => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    if inner.starts_with('\'') || inner.starts_with('"') {
        return Ok(Step::Field(unquote(inner)?));
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        return parse_filter(f.trim()).map(Step::Filter);
    }
    if let Some((a, b)) = inner.split_once(':') {
        let num = |s: &str| -> Result<Option<i64>, String> {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse()
                    .map(Some)
                    .map_err(|_| format!("invalid slice {inner:?}"))
            }
        };
        // A step after a second colon is not supported; kubectl users rarely write one.
        let b = b.split(':').next().unwrap_or("");
        return Ok(Step::Slice(num(a)?, num(b)?));
    }
    inner
        .parse()
        .map(Step::Index)
        .map_err(|_| format!("invalid array index {inner:?}"))
}

fn parse_filter(f: &str) -> Result<Filter, String> {
    for op in ["==", "!=", "<=", ">=", "<", ">"] {
        if let Some((l, r)) = f.split_once(op) {
            let r = r.trim();
            let value = if r.starts_with('"') || r.starts_with('\'') {
                Value::String(unquote(r)?)
            } else {
                serde_json::from_str(r).unwrap_or_else(|_| Value::String(r.to_string()))
            };
            return Ok(Filter {
                path: parse_path(l.trim())?,
                op: Some((op.to_string(), value)),
            });
        }
    }
    Ok(Filter {
        path: parse_path(f)?,
        op: None,
    })
}

fn eval<'a>(steps: &[Step], root: &'a Value, cur: &'a Value) -> Vec<&'a Value> {
    let _ = root;
    let mut vals = vec![cur];
    for step in steps {
        let mut next = Vec::new();
        for v in vals {
            apply(step, v, &mut next);
        }
        vals = next;
    }
    vals
}

fn apply<'a>(step: &Step, v: &'a Value, next: &mut Vec<&'a Value>) {
    match step {
        Step::Field(name) => {
            if let Some(x) = v.get(name.as_str()) {
                next.push(x);
            }
        }
        Step::Wildcard => match v {
            Value::Array(a) => next.extend(a.iter()),
            Value::Object(m) => next.extend(m.values()),
            _ => {}
        },
        Step::Index(i) => {
            if let Some(a) = v.as_array() {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                if let Some(x) = usize::try_from(idx).ok().and_then(|i| a.get(i)) {
                    next.push(x);
                }
            }
        }
        Step::Slice(from, to) => {
            if let Some(a) = v.as_array() {
                let len = a.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let start = norm(from.unwrap_or(0)) as usize;
                let end = norm(to.unwrap_or(len)) as usize;
                if start < end {
                    next.extend(a[start..end].iter());
                }
            }
        }
        Step::Recursive(name) => recurse(name, v, next),
        Step::Filter(f) => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for item in items {
                if filter_matches(f, item) {
                    next.push(item);
                }
            }
        }
    }
}

fn recurse<'a>(name: &str, v: &'a Value, next: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if let Some(x) = m.get(name) {
                next.push(x);
            }
            for x in m.values() {
                recurse(name, x, next);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| recurse(name, x, next)),
        _ => {}
    }
}

fn filter_matches(f: &Filter, item: &Value) -> bool {
    let found = eval(&f.path, item, item);
    let Some((op, want)) = &f.op else {
        return !found.is_empty();
    };
    found
        .iter()
        .any(|got| match (op.as_str(), got.as_f64(), want.as_f64()) {
            ("==", _, _) => *got == want || got.as_str().is_some_and(|g| Some(g) == want.as_str()),
            ("!=", _, _) => *got != want,
            ("<", Some(a), Some(b)) => a < b,
            (">", Some(a), Some(b)) => a > b,
            ("<=", Some(a), Some(b)) => a <= b,
            (">=", Some(a), Some(b)) => a >= b,
            _ => false,
        })
}

fn print_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn render_nodes(nodes: &[Node], root: &Value, cur: &Value, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Expr(steps) => {
                let vals = eval(steps, root, cur);
                let parts: Vec<String> = vals.iter().map(|v| print_value(v)).collect();
                out.push_str(&parts.join(" "));
            }
            Node::Range(steps, body) => {
                for v in eval(steps, root, cur) {
                    render_nodes(body, root, v, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list() -> Value {
        json!({"kind": "List", "items": [
            {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
             "status": {"conditions": [{"type": "Ready", "status": "True"}], "restarts": 3}},
            {"metadata": {"name": "b"}, "status": {"conditions": [{"type": "Ready", "status": "False"}], "restarts": 1}}
        ]})
    }

    fn render(t: &str) -> String {
        JsonPath::parse(t).unwrap().render(&list()).unwrap()
    }

    #[test]
    fn paths_wildcards_and_indexes() {
        assert_eq!(render("{.items[*].metadata.name}"), "a b");
        assert_eq!(render("{.items[0].metadata.name}"), "a");
        assert_eq!(render("{.items[-1].metadata.name}"), "b");
        assert_eq!(render("{.items[0:1].metadata.name}"), "a");
        assert_eq!(render("{..name}"), "a b");
        assert_eq!(
            render("{.items[0].metadata.labels['app.kubernetes.io/name']}"),
            "x"
        );
        assert_eq!(render("{.kind} has {.missing}items"), "List has items");
        assert_eq!(render("{.items[1].metadata}"), r#"{"name":"b"}"#);
    }

    #[test]
    fn range_literals_and_filters() {
        assert_eq!(
            render(r#"{range .items[*]}{.metadata.name}{"\t"}{.status.restarts}{"\n"}{end}"#),
            "a\t3\nb\t1\n"
        );
        assert_eq!(
            render(r#"{.items[?(@.status.conditions[0].status=="True")].metadata.name}"#),
            "a"
        );
        assert_eq!(
            render("{.items[?(@.status.restarts>2)].metadata.name}"),
            "a"
        );
        assert_eq!(render("{.items[?(@.metadata.labels)].metadata.name}"), "a");
    }

    #[test]
    fn errors_and_relaxed() {
        assert!(JsonPath::parse("{.a").is_err());
        assert!(JsonPath::parse("{range .items[*]}{.a}").is_err());
        assert!(JsonPath::parse("{end}").is_err());
        let p = JsonPath::parse_relaxed(".metadata.name").unwrap();
        assert_eq!(p.values(&json!({"metadata": {"name": "z"}})), [&json!("z")]);
        let p = JsonPath::parse_relaxed("{.metadata.name}").unwrap();
        assert_eq!(p.values(&json!({"metadata": {"name": "z"}})).len(), 1);
    }
}
