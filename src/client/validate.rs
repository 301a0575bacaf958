//! Checking manifests before anything is written: kind, schema (unknown fields, wrong types)
//! and the API server's validation on a defaulted copy. Every problem is located in the file:
//! `error: pod.yaml:7:9: Pod "web": spec.containers[0].imagee: unknown field "imagee" ...`.

use crate::api::error::{FieldError, FieldErrorType};
use crate::api::kinds::KindInfo;
use crate::api::manifest::Document;
use crate::api::object::{ObjectExt, kind_of};
use crate::api::request::FieldValidation;
use serde_json::Value;

/// A manifest document as the checks see it (lets tests supply positions).
pub trait Located {
    fn source(&self) -> &str;
    fn value(&self) -> &Value;
    /// Line and column of a field path (or its nearest written ancestor).
    fn position(&self, path: &str) -> (usize, usize);
}

impl Located for Document {
    fn source(&self) -> &str {
        &self.source
    }
    fn value(&self) -> &Value {
        &self.value
    }
    fn position(&self, path: &str) -> (usize, usize) {
        Document::position(self, path)
    }
}

/// The checks to run on one object; the API's by default, `validate_update` for edits.
pub trait Checks {
    /// Unknown fields and type mismatches.
    fn fields(&self, kind: &KindInfo, obj: &Value) -> Vec<FieldError>;
    /// Validation of the object after defaulting (the caller passes the original).
    fn object(&self, kind: &KindInfo, obj: &Value) -> Vec<FieldError>;
}

/// Checks for objects about to be created or applied.
pub struct CreateChecks;

impl Checks for CreateChecks {
    fn fields(&self, kind: &KindInfo, obj: &Value) -> Vec<FieldError> {
        crate::api::schema::check_fields(kind, obj)
    }
    fn object(&self, kind: &KindInfo, obj: &Value) -> Vec<FieldError> {
        let mut defaulted = obj.clone();
        crate::api::defaults::apply_defaults(kind, &mut defaulted);
        crate::api::validation::validate_create(kind, &defaulted)
    }
}

/// Checks for an edited object replacing `old` (which is stored, hence defaulted).
pub struct UpdateChecks<'a> {
    pub old: &'a Value,
}

impl Checks for UpdateChecks<'_> {
    fn fields(&self, kind: &KindInfo, obj: &Value) -> Vec<FieldError> {
        crate::api::schema::check_fields(kind, obj)
    }
    fn object(&self, kind: &KindInfo, obj: &Value) -> Vec<FieldError> {
        let mut defaulted = obj.clone();
        crate::api::defaults::apply_defaults(kind, &mut defaulted);
        crate::api::validation::validate_update(kind, &defaulted, self.old)
    }
}

/// What the checks found, as printable lines (without the `error: `/`Warning: ` prefix).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

fn locate(doc: &dyn Located, kind: &str, name: &str, e: &FieldError) -> String {
    let (line, col) = doc.position(&e.path);
    let name = if name.is_empty() {
        "(no name)".to_string()
    } else {
        format!("{name:?}")
    };
    // Messages that already quote their path (`unknown field "spec.x"`) are not prefixed.
    let problem = if !e.path.is_empty() && e.message.contains(&format!("\"{}\"", e.path)) {
        e.message.clone()
    } else {
        e.to_string()
    };
    format!("{}:{line}:{col}: {kind} {name}: {problem}", doc.source())
}

/// Check one document; unknown fields follow `mode`, every other problem is an error.
pub fn check_document(
    doc: &dyn Located,
    mode: FieldValidation,
    checks: &dyn Checks,
    report: &mut Report,
) {
    let obj = doc.value();
    if !obj.is_object() {
        let (line, col) = doc.position("");
        report.errors.push(format!("{}:{line}:{col}: the document is not a mapping (an object with apiVersion, kind, metadata)", doc.source()));
        return;
    }
    let kind = match kind_of(obj) {
        Ok(k) => k,
        Err(e) => {
            // A known kind with the wrong version points at apiVersion, anything else at kind.
            let known = crate::api::kinds::KINDS
                .iter()
                .any(|k| k.kind == obj.kind_str());
            let at = if known && !obj.kind_str().is_empty() {
                "apiVersion"
            } else {
                "kind"
            };
            let (line, col) = doc.position(at);
            report
                .errors
                .push(format!("{}:{line}:{col}: {}", doc.source(), e.message));
            return;
        }
    };
    let shown_kind = kind.kind;
    let name = obj.name();
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut push = |e: &FieldError, warning: bool, report: &mut Report| {
        let id = (e.path.clone(), e.message.clone());
        if seen.contains(&id) {
            return;
        }
        seen.push(id);
        let line = locate(doc, shown_kind, name, e);
        if warning {
            report.warnings.push(line)
        } else {
            report.errors.push(line)
        }
    };
    let mut mistyped: Vec<String> = Vec::new();
    for e in checks.fields(kind, obj) {
        if e.kind == FieldErrorType::TypeMismatch {
            mistyped.push(e.path.clone());
        }
        match (e.kind, mode) {
            (FieldErrorType::Unknown, FieldValidation::Ignore) => {}
            (FieldErrorType::Unknown, FieldValidation::Warn) => push(&e, true, report),
            _ => push(&e, false, report),
        }
    }
    // Validation sees a value of the wrong type as absent; the type error already says it.
    let under = |path: &str, base: &str| {
        path == base
            || path
                .strip_prefix(base)
                .is_some_and(|r| r.starts_with(['.', '[']))
    };
    for e in checks.object(kind, obj) {
        if !mistyped.iter().any(|m| under(&e.path, m)) {
            push(&e, false, report);
        }
    }
}

/// Check every document; the caller prints the report and writes nothing if it has errors.
pub fn check_all<D: Located>(docs: &[D], mode: FieldValidation, checks: &dyn Checks) -> Report {
    let mut report = Report::default();
    for d in docs {
        check_document(d, mode, checks, &mut report);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Doc {
        value: Value,
        positions: Vec<(&'static str, usize, usize)>,
    }

    impl Located for Doc {
        fn source(&self) -> &str {
            "pod.yaml"
        }
        fn value(&self) -> &Value {
            &self.value
        }
        fn position(&self, path: &str) -> (usize, usize) {
            // Nearest written ancestor, like Document::position.
            let mut p = path.to_string();
            loop {
                if let Some((_, l, c)) = self.positions.iter().find(|(q, _, _)| *q == p) {
                    return (*l, *c);
                }
                match p.rfind(['.', '[']) {
                    Some(i) => p.truncate(i),
                    None => return (1, 1),
                }
            }
        }
    }

    /// Reports an unknown `spec.containers[0].imagee`, a type mismatch on `containerPort` and
    /// a missing image, whatever the object.
    struct Canned;
    impl Checks for Canned {
        fn fields(&self, _k: &KindInfo, obj: &Value) -> Vec<FieldError> {
            let mut v = vec![FieldError::new(
                FieldErrorType::Unknown,
                "spec.containers[0].imagee",
                "unknown field \"imagee\", did you mean \"image\"?",
            )];
            if obj.pointer("/spec/containers/0/ports").is_some() {
                v.push(FieldError::new(
                    FieldErrorType::TypeMismatch,
                    "spec.containers[0].ports[0].containerPort",
                    "expected an integer, got string \"80\"",
                ));
            }
            v
        }
        fn object(&self, _k: &KindInfo, _obj: &Value) -> Vec<FieldError> {
            vec![
                FieldError::required("spec.containers[0].image"),
                // Follows from the type mismatch: not reported twice.
                FieldError::required("spec.containers[0].ports[0].containerPort"),
            ]
        }
    }

    fn doc(value: Value) -> Doc {
        Doc {
            value,
            positions: vec![
                ("kind", 2, 1),
                ("spec.containers[0]", 7, 5),
                ("spec.containers[0].imagee", 8, 7),
                ("spec.containers[0].ports[0].containerPort", 10, 24),
            ],
        }
    }

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
               "spec": {"containers": [{"name": "a", "imagee": "nginx", "ports": [{"containerPort": "80"}]}]}})
    }

    #[test]
    fn strict_reports_everything_with_positions() {
        let r = check_all(&[doc(pod())], FieldValidation::Strict, &Canned);
        assert_eq!(
            r.errors,
            [
                "pod.yaml:8:7: Pod \"web\": spec.containers[0].imagee: unknown field \"imagee\", did you mean \"image\"?",
                "pod.yaml:10:24: Pod \"web\": spec.containers[0].ports[0].containerPort: expected an integer, got string \"80\"",
                "pod.yaml:7:5: Pod \"web\": spec.containers[0].image: Required value",
            ]
        );
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn warn_and_ignore_only_soften_unknown_fields() {
        let r = check_all(&[doc(pod())], FieldValidation::Warn, &Canned);
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(
            r.errors.len(),
            2,
            "type mismatch and validation stay errors"
        );
        let r = check_all(&[doc(pod())], FieldValidation::Ignore, &Canned);
        assert!(r.warnings.is_empty());
        assert_eq!(r.errors.len(), 2);
    }

    #[test]
    fn messages_quoting_their_path_are_not_prefixed() {
        struct Quoting;
        impl Checks for Quoting {
            fn fields(&self, _k: &KindInfo, _o: &Value) -> Vec<FieldError> {
                vec![FieldError::new(
                    FieldErrorType::Unknown,
                    "spec.containers[0].imagee",
                    "unknown field \"spec.containers[0].imagee\"",
                )]
            }
            fn object(&self, _k: &KindInfo, _o: &Value) -> Vec<FieldError> {
                Vec::new()
            }
        }
        let r = check_all(&[doc(pod())], FieldValidation::Strict, &Quoting);
        assert_eq!(
            r.errors,
            ["pod.yaml:8:7: Pod \"web\": unknown field \"spec.containers[0].imagee\""]
        );
    }

    #[test]
    fn bad_kind_and_missing_name() {
        let mut p = pod();
        p["kind"] = json!("Pdo");
        let r = check_all(&[doc(p)], FieldValidation::Strict, &Canned);
        assert_eq!(r.errors.len(), 1);
        assert!(
            r.errors[0].starts_with("pod.yaml:2:1: no matches for kind \"Pdo\""),
            "{:?}",
            r.errors
        );
        let mut p = pod();
        p["metadata"] = json!({});
        let r = check_all(&[doc(p)], FieldValidation::Ignore, &Canned);
        assert!(r.errors[0].contains("Pod (no name): "), "{:?}", r.errors);
        let r = check_all(&[doc(json!(["x"]))], FieldValidation::Strict, &Canned);
        assert!(r.errors[0].contains("not a mapping"));
    }
}
