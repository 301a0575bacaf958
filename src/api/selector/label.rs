//! Label selectors: the kubectl string syntax (a port of apimachinery's `labels.Parse`, with the
//! same grammar, the same error texts and the same treatment of `in`/`notin` as plain words in
//! key and value positions) and `metav1.LabelSelector` JSON.

use super::validate::{validate_label_key, validate_label_value};
use crate::api::error::{ApiError, ApiResult, FieldError};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How a requirement compares a label. `==` is parsed as `Equals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// One condition on one label key. Values are kept sorted and without duplicates (a set, as in
/// Kubernetes), so equal requirements compare equal whatever order the user wrote.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    key: String,
    op: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Build a validated requirement: the key and values must be valid label syntax, `In` and
    /// `NotIn` need at least one value, `Equals`/`NotEquals` exactly one, `Exists` and
    /// `DoesNotExist` none.
    pub fn new(key: &str, op: Operator, values: Vec<String>) -> ApiResult<Requirement> {
        Requirement::build(key, op, values, "").map_err(ApiError::bad_request)
    }

    /// `path` prefixes field paths in messages (`matchExpressions[0]`).
    fn build(key: &str, op: Operator, values: Vec<String>, path: &str) -> Result<Self, String> {
        let at = |field: &str| {
            if path.is_empty() {
                field.to_string()
            } else {
                format!("{path}.{field}")
            }
        };
        let mut errs: Vec<FieldError> = Vec::new();
        if let Err(e) = validate_label_key(key) {
            errs.push(FieldError::invalid(at("key"), &json!(key), e));
        }
        let problem = match op {
            Operator::In | Operator::NotIn if values.is_empty() => {
                Some("for 'in', 'notin' operators, values set can't be empty")
            }
            Operator::Equals | Operator::NotEquals if values.len() != 1 => {
                Some("exact-match compatibility requires one single value")
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                Some("values set must be empty for exists and does not exist")
            }
            _ => None,
        };
        if let Some(p) = problem {
            errs.push(FieldError::invalid(at("values"), &json!(values), p));
        }
        for (i, v) in values.iter().enumerate() {
            if let Err(e) = validate_label_value(v) {
                errs.push(FieldError::invalid(
                    format!("{}[{i}][{key}]", at("values")),
                    &json!(v),
                    e,
                ));
            }
        }
        match errs.len() {
            0 => {
                let values: BTreeSet<String> = values.into_iter().collect();
                Ok(Requirement {
                    key: key.to_string(),
                    op,
                    values: values.into_iter().collect(),
                })
            }
            1 => Err(errs[0].to_string()),
            _ => {
                let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                Err(format!("[{}]", all.join(", ")))
            }
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn operator(&self) -> Operator {
        self.op
    }
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether a label with this requirement's key and the given value (None: the object has
    /// no such label) satisfies it. `!=` and `notin` accept a missing label, as in Kubernetes.
    pub fn matches_value(&self, value: Option<&str>) -> bool {
        let listed =
            || value.is_some_and(|v| self.values.binary_search_by(|x| x.as_str().cmp(v)).is_ok());
        match self.op {
            Operator::Equals | Operator::In => listed(),
            Operator::NotEquals | Operator::NotIn => !listed(),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (pre, op) = match self.op {
            Operator::Equals => ("", "="),
            Operator::NotEquals => ("", "!="),
            Operator::In => ("", " in "),
            Operator::NotIn => ("", " notin "),
            Operator::Exists => ("", ""),
            Operator::DoesNotExist => ("!", ""),
        };
        write!(f, "{pre}{}{op}", self.key)?;
        match self.op {
            Operator::Equals | Operator::NotEquals => {
                f.write_str(self.values.first().map_or("", String::as_str))
            }
            Operator::In | Operator::NotIn => write!(f, "({})", self.values.join(",")),
            Operator::Exists | Operator::DoesNotExist => Ok(()),
        }
    }
}

/// A parsed label selector; requirements are ANDed. `LabelSelector::everything()` has none.
/// Requirements are kept sorted (by key first) so that equal selectors compare equal and print
/// the same canonical string.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parse kubectl syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`.
    pub fn parse(s: &str) -> ApiResult<LabelSelector> {
        let mut p = Parser {
            toks: lex(s),
            pos: 0,
        };
        let requirements = p.selector().map_err(ApiError::bad_request)?;
        Ok(LabelSelector::from_requirements(requirements))
    }

    /// Parse a `metav1.LabelSelector` (matchLabels + matchExpressions). `null`/absent gives
    /// `Ok(None)`: a nil selector, which matches nothing; `{}` matches everything.
    pub fn from_json(v: &Value) -> ApiResult<Option<LabelSelector>> {
        from_json_inner(v)
            .map_err(|e| ApiError::bad_request(format!("invalid label selector: {e}")))
    }

    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// A selector requiring exactly these labels (Kubernetes' `SelectorFromValidatedSet`): the
    /// form of `Service.spec.selector` and `ReplicationController.spec.selector`. Keys and values
    /// are not checked; an empty map selects everything.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> LabelSelector {
        let requirements = labels
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                op: Operator::Equals,
                values: vec![v.clone()],
            })
            .collect();
        LabelSelector::from_requirements(requirements)
    }

    pub fn from_requirements(mut requirements: Vec<Requirement>) -> LabelSelector {
        requirements.sort();
        requirements.dedup();
        LabelSelector { requirements }
    }

    /// This selector with one more requirement ANDed in.
    pub fn with(mut self, r: Requirement) -> LabelSelector {
        self.requirements.push(r);
        LabelSelector::from_requirements(self.requirements)
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The single value `key` must have to match, if the selector pins one (`key=v` or
    /// `key in (v)`): lets a store narrow a scan before matching.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.key == key)
            .and_then(|r| match r.op {
                Operator::Equals | Operator::In if r.values.len() == 1 => {
                    r.values.first().map(String::as_str)
                }
                _ => None,
            })
    }

    /// Match against a label map.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements
            .iter()
            .all(|r| r.matches_value(labels.get(&r.key).map(String::as_str)))
    }

    /// Match against `metadata.labels` of an object without copying it. A label whose value is
    /// not a string counts as absent (the API rejects such labels anyway).
    pub fn matches_object(&self, obj: &Value) -> bool {
        if self.requirements.is_empty() {
            return true;
        }
        let labels = obj
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object);
        self.requirements
            .iter()
            .all(|r| r.matches_value(labels.and_then(|l| l.get(&r.key)).and_then(Value::as_str)))
    }

    /// The `metav1.LabelSelector` form: `matchLabels` for equality, `matchExpressions` for the
    /// rest (`!=` becomes `NotIn` with one value; a second `=` on the same key becomes `In`).
    pub fn to_json(&self) -> Value {
        let mut match_labels = Map::new();
        let mut exprs = Vec::new();
        for r in &self.requirements {
            let operator = match r.op {
                Operator::Equals if !match_labels.contains_key(&r.key) => {
                    let v = r.values.first().cloned().unwrap_or_default();
                    match_labels.insert(r.key.clone(), Value::String(v));
                    continue;
                }
                Operator::Equals | Operator::In => "In",
                Operator::NotEquals | Operator::NotIn => "NotIn",
                Operator::Exists => "Exists",
                Operator::DoesNotExist => "DoesNotExist",
            };
            let mut e = json!({"key": r.key, "operator": operator});
            if !r.values.is_empty() {
                e["values"] = json!(r.values);
            }
            exprs.push(e);
        }
        let mut out = Map::new();
        if !match_labels.is_empty() {
            out.insert("matchLabels".into(), Value::Object(match_labels));
        }
        if !exprs.is_empty() {
            out.insert("matchExpressions".into(), Value::Array(exprs));
        }
        Value::Object(out)
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for LabelSelector {
    type Err = ApiError;
    fn from_str(s: &str) -> ApiResult<LabelSelector> {
        LabelSelector::parse(s)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn from_json_inner(v: &Value) -> Result<Option<LabelSelector>, String> {
    let obj = match v {
        Value::Null => return Ok(None),
        Value::Object(o) => o,
        other => {
            return Err(format!(
                "must be an object with matchLabels and/or matchExpressions, not a {}",
                type_name(other)
            ));
        }
    };
    let mut reqs = Vec::new();
    match obj.get("matchLabels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, val) in m {
                let path = format!("matchLabels[{k}]");
                let Some(s) = val.as_str() else {
                    return Err(format!(
                        "{path}: label values must be strings, not a {}",
                        type_name(val)
                    ));
                };
                if let Err(e) = validate_label_key(k) {
                    return Err(FieldError::invalid("matchLabels", &json!(k), e).to_string());
                }
                if let Err(e) = validate_label_value(s) {
                    return Err(FieldError::invalid(path, val, e).to_string());
                }
                reqs.push(Requirement {
                    key: k.clone(),
                    op: Operator::Equals,
                    values: vec![s.to_string()],
                });
            }
        }
        Some(other) => {
            return Err(format!(
                "matchLabels: must be a map of label keys to values, not a {}",
                type_name(other)
            ));
        }
    }
    match obj.get("matchExpressions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(exprs)) => {
            for (i, e) in exprs.iter().enumerate() {
                reqs.push(expression(e, &format!("matchExpressions[{i}]"))?);
            }
        }
        Some(other) => {
            return Err(format!(
                "matchExpressions: must be a list, not a {}",
                type_name(other)
            ));
        }
    }
    Ok(Some(LabelSelector::from_requirements(reqs)))
}

/// One `LabelSelectorRequirement`: `{key, operator, values}`.
fn expression(e: &Value, path: &str) -> Result<Requirement, String> {
    if !e.is_object() {
        return Err(format!(
            "{path}: must be an object with key, operator and values, not a {}",
            type_name(e)
        ));
    }
    let key = match e.get("key") {
        Some(Value::String(k)) => k.as_str(),
        None | Some(Value::Null) => return Err(format!("{path}.key: Required value")),
        Some(other) => {
            return Err(format!(
                "{path}.key: must be a string, not a {}",
                type_name(other)
            ));
        }
    };
    let op = match e.get("operator") {
        Some(Value::String(o)) => match o.as_str() {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            other => {
                return Err(format!(
                    "{path}.operator: {other:?} is not a valid label selector operator (use In, NotIn, Exists or DoesNotExist)"
                ));
            }
        },
        None | Some(Value::Null) => return Err(format!("{path}.operator: Required value")),
        Some(other) => {
            return Err(format!(
                "{path}.operator: must be a string, not a {}",
                type_name(other)
            ));
        }
    };
    let values = match e.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(vs)) => {
            let mut out = Vec::with_capacity(vs.len());
            for (j, v) in vs.iter().enumerate() {
                match v.as_str() {
                    Some(s) => out.push(s.to_string()),
                    None => {
                        return Err(format!(
                            "{path}.values[{j}]: must be a string, not a {}",
                            type_name(v)
                        ));
                    }
                }
            }
            out
        }
        Some(other) => {
            return Err(format!(
                "{path}.values: must be a list of strings, not a {}",
                type_name(other)
            ));
        }
    };
    Requirement::build(key, op, values, path)
}

// ---- the kubectl string syntax ----

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// Any run of characters that are neither whitespace nor special; `in`/`notin` included.
    Ident(String),
    Bang,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
    End,
}

impl Tok {
    /// The literal shown in error messages (`found 'x', expected: ...`).
    fn lit(&self) -> &str {
        match self {
            Tok::Ident(s) => s,
            Tok::Bang => "!",
            Tok::Eq => "=",
            Tok::DoubleEq => "==",
            Tok::NotEq => "!=",
            Tok::Gt => ">",
            Tok::Lt => "<",
            Tok::Open => "(",
            Tok::Close => ")",
            Tok::Comma => ",",
            Tok::End => "",
        }
    }
    fn starts_requirement(&self) -> bool {
        matches!(self, Tok::Ident(_) | Tok::Bang)
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Tokenize; the list always ends with `Tok::End`. Two-character operators are matched
/// greedily (`!=`, `==`), as apimachinery's lexer does.
fn lex(s: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if is_space(c) {
            chars.next();
        } else if is_special(c) {
            chars.next();
            let next_is_eq = chars.peek() == Some(&'=');
            let tok = match c {
                '!' if next_is_eq => Tok::NotEq,
                '=' if next_is_eq => Tok::DoubleEq,
                '!' => Tok::Bang,
                '=' => Tok::Eq,
                '>' => Tok::Gt,
                '<' => Tok::Lt,
                '(' => Tok::Open,
                ')' => Tok::Close,
                _ => Tok::Comma,
            };
            if matches!(tok, Tok::NotEq | Tok::DoubleEq) {
                chars.next();
            }
            toks.push(tok);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if is_space(c) || is_special(c) {
                    break;
                }
                word.push(c);
                chars.next();
            }
            toks.push(Tok::Ident(word));
        }
    }
    toks.push(Tok::End);
    toks
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).unwrap_or(&Tok::End)
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn selector(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let t = self.peek();
            if *t == Tok::End {
                return Ok(reqs);
            }
            if !t.starts_requirement() {
                return Err(format!(
                    "found '{}', expected: !, identifier, or 'end of string'",
                    t.lit()
                ));
            }
            let r = self
                .requirement()
                .map_err(|e| format!("unable to parse requirement: {e}"))?;
            reqs.push(r);
            match self.next() {
                Tok::End => return Ok(reqs),
                Tok::Comma => {
                    let t = self.peek();
                    if !t.starts_requirement() {
                        return Err(format!(
                            "found '{}', expected: identifier after ','",
                            t.lit()
                        ));
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: ',' or 'end of string'",
                        t.lit()
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut t = self.next();
        let negated = t == Tok::Bang;
        if negated {
            t = self.next();
        }
        let Tok::Ident(key) = t else {
            return Err(format!("found '{}', expected: identifier", t.lit()));
        };
        if let Err(e) = validate_label_key(&key) {
            return Err(FieldError::invalid("key", &json!(key), e).to_string());
        }
        // `!key` is complete by itself; whatever follows it is the caller's problem.
        if negated {
            return Requirement::build(&key, Operator::DoesNotExist, Vec::new(), "");
        }
        if matches!(self.peek(), Tok::End | Tok::Comma) {
            return Requirement::build(&key, Operator::Exists, Vec::new(), "");
        }
        let op = match self.next() {
            Tok::Ident(w) if w == "in" => Operator::In,
            Tok::Ident(w) if w == "notin" => Operator::NotIn,
            Tok::Eq | Tok::DoubleEq => Operator::Equals,
            Tok::NotEq => Operator::NotEquals,
            t => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=",
                    t.lit()
                ));
            }
        };
        let values = match op {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        Requirement::build(&key, op, values, "")
    }

    /// `(a,b)`; empty entries are the empty value, so `()` is `{""}` and `(a,,b)` has three.
    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let t = self.next();
        if t != Tok::Open {
            return Err(format!("found '{}' expected: '('", t.lit()));
        }
        let mut set = BTreeSet::new();
        if *self.peek() == Tok::Close {
            self.next();
            set.insert(String::new());
            return Ok(set.into_iter().collect());
        }
        if !matches!(self.peek(), Tok::Ident(_) | Tok::Comma) {
            return Err(format!(
                "found '{}', expected: ',', ')' or identifier",
                self.peek().lit()
            ));
        }
        loop {
            match self.next() {
                Tok::Ident(v) => {
                    set.insert(v);
                    match self.next() {
                        Tok::Comma => {}
                        Tok::Close => break,
                        t => return Err(format!("found '{}', expected: ',' or ')'", t.lit())),
                    }
                }
                Tok::Comma => {
                    // A comma not preceded by a value: an empty value before it.
                    set.insert(String::new());
                    match self.peek() {
                        Tok::Close => {
                            self.next();
                            break;
                        }
                        Tok::Comma | Tok::Ident(_) => {}
                        t => {
                            return Err(format!(
                                "found '{}', expected: ',', or identifier",
                                t.lit()
                            ));
                        }
                    }
                }
                Tok::Close => {
                    // `(a,)`: a trailing comma stands for an empty value.
                    set.insert(String::new());
                    break;
                }
                t => return Err(format!("found '{}', expected: ',', or identifier", t.lit())),
            }
        }
        Ok(set.into_iter().collect())
    }

    /// The value after `=`, `==` or `!=`; nothing (end or comma) is the empty value.
    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        if matches!(self.peek(), Tok::End | Tok::Comma) {
            return Ok(vec![String::new()]);
        }
        match self.next() {
            Tok::Ident(v) => Ok(vec![v]),
            t => Err(format!("found '{}', expected: identifier", t.lit())),
        }
    }
}

#[cfg(test)]
#[path = "label_tests.rs"]
mod tests;
