//! Checking an edited object (`peapod edit` and the console's editor): the edited text is read
//! like a manifest, must still be the same object (kind, name, namespace), and passes the
//! update checks. The messages are the ones `peapod edit` prints.

use crate::api::kinds::KindInfo;
use crate::api::manifest;
use crate::api::object::{ObjectExt, kind_of};
use crate::api::request::FieldValidation;
use crate::client::text::to_yaml;
use crate::client::validate::{self, UpdateChecks};
use serde_json::Value;

/// What an edit amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum EditResult {
    /// Nothing meaningful changed (or the text was emptied): no update is sent.
    Unchanged,
    /// The object to send as an update, and warnings to show (unknown fields under `warn`).
    Changed {
        object: Value,
        warnings: Vec<String>,
    },
}

/// Why an edit cannot be saved, as the lines to show the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    /// Problems located in the text (without the `error: ` prefix).
    pub errors: Vec<String>,
    /// Warnings found before the errors (without the `Warning: ` prefix).
    pub warnings: Vec<String>,
    /// The one-line conclusion: `configmap/cm is invalid`, `expected one object, found 2`.
    pub summary: String,
}

impl EditError {
    fn summary(summary: String) -> EditError {
        EditError {
            errors: Vec::new(),
            warnings: Vec::new(),
            summary,
        }
    }

    /// Every line as `peapod edit` prints them: warnings, errors, then the summary.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .warnings
            .iter()
            .map(|w| format!("Warning: {w}"))
            .collect();
        out.extend(self.errors.iter().map(|e| format!("error: {e}")));
        out.push(format!("error: {}", self.summary));
        out
    }
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

pub use crate::client::text::object_ref;

/// Text without comment lines and surrounding blank space: what decides "no changes".
pub fn meaningful(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Check `edited` (the text the user saved) against `original` (the stored object of
/// `kind`). `source` names the text in positions (`/tmp/peapod-edit-...yaml`, `edit`).
pub fn check_edit(
    kind: &'static KindInfo,
    original: &Value,
    edited: &str,
    source: &str,
    validation: FieldValidation,
) -> Result<EditResult, EditError> {
    let text = meaningful(edited);
    if text.is_empty() || text == meaningful(&to_yaml(original)) {
        return Ok(EditResult::Unchanged);
    }
    let name = original.name();
    let docs = manifest::parse_str(edited, source).map_err(|errs| EditError {
        errors: errs.iter().map(ToString::to_string).collect(),
        warnings: Vec::new(),
        summary: "the edited object could not be read".into(),
    })?;
    let [doc] = docs.as_slice() else {
        return Err(EditError::summary(format!(
            "expected one object, found {}",
            docs.len()
        )));
    };
    if doc.value == *original {
        return Ok(EditResult::Unchanged);
    }
    let edited_kind = kind_of(&doc.value).map_err(|e| EditError::summary(e.message))?;
    if !std::ptr::eq(edited_kind, kind)
        || doc.value.name() != name
        || doc.value.namespace() != original.namespace()
    {
        return Err(EditError::summary(format!(
            "the kind, name and namespace of {} cannot be changed by edit",
            object_ref(kind, name)
        )));
    }
    let report = validate::check_all(
        std::slice::from_ref(doc),
        validation,
        &UpdateChecks { old: original },
    );
    if !report.is_ok() {
        return Err(EditError {
            errors: report.errors,
            warnings: report.warnings,
            summary: format!("{} is invalid", object_ref(kind, name)),
        });
    }
    Ok(EditResult::Changed {
        object: doc.value.clone(),
        warnings: report.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kinds;
    use serde_json::json;

    fn cm() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "cm", "namespace": "default", "resourceVersion": "5"},
               "data": {"mode": "fast"}})
    }

    fn check(edited: &str) -> Result<EditResult, EditError> {
        let kind = kinds::lookup("configmaps").unwrap();
        check_edit(kind, &cm(), edited, "edit", FieldValidation::Strict)
    }

    #[test]
    fn unchanged_and_empty_texts_are_no_edit() {
        let yaml = to_yaml(&cm());
        assert_eq!(check(&yaml), Ok(EditResult::Unchanged));
        assert_eq!(
            check(&format!("# a comment\n{yaml}\n\n")),
            Ok(EditResult::Unchanged)
        );
        assert_eq!(check("# all gone\n\n"), Ok(EditResult::Unchanged));
        // The same object written differently is no change either.
        let json = serde_json::to_string(&cm()).unwrap();
        assert_eq!(check(&json), Ok(EditResult::Unchanged));
    }

    #[test]
    fn a_changed_value_is_the_object_to_update() {
        let edited = to_yaml(&cm()).replace("fast", "slow");
        let Ok(EditResult::Changed { object, warnings }) = check(&edited) else {
            panic!("{:?}", check(&edited))
        };
        assert_eq!(object["data"]["mode"], "slow");
        assert_eq!(object.name(), "cm");
        assert!(warnings.is_empty());
    }

    #[test]
    fn renames_and_kind_changes_are_refused() {
        let edited = to_yaml(&cm()).replace("name: cm", "name: other");
        let e = check(&edited).unwrap_err();
        assert_eq!(
            e.summary,
            "the kind, name and namespace of configmap/cm cannot be changed by edit"
        );
        assert_eq!(
            e.lines(),
            vec!["error: the kind, name and namespace of configmap/cm cannot be changed by edit"]
        );
        let edited = to_yaml(&cm()).replace("kind: ConfigMap", "kind: Secret");
        assert!(
            check(&edited)
                .unwrap_err()
                .summary
                .contains("cannot be changed")
        );
    }

    #[test]
    fn two_documents_and_bad_yaml_are_errors() {
        let yaml = to_yaml(&cm());
        let e = check(&format!("{yaml}---\n{yaml}")).unwrap_err();
        assert_eq!(e.summary, "expected one object, found 2");
        let e = check("data: [unclosed\n").unwrap_err();
        assert_eq!(e.summary, "the edited object could not be read");
        assert!(!e.errors.is_empty());
        assert!(e.errors[0].starts_with("edit:"), "{:?}", e.errors);
    }

    #[test]
    fn validation_errors_are_located_in_the_text() {
        let edited = to_yaml(&cm()).replace("\ndata:", "\ndataa:");
        let e = check(&edited).unwrap_err();
        assert_eq!(e.summary, "configmap/cm is invalid");
        assert!(
            e.errors
                .iter()
                .any(|l| l.contains("edit:") && l.contains("dataa")),
            "{:?}",
            e.errors
        );
        // Under `warn` the unknown field is a warning and the edit goes through.
        let kind = kinds::lookup("configmaps").unwrap();
        let Ok(EditResult::Changed { warnings, .. }) =
            check_edit(kind, &cm(), &edited, "edit", FieldValidation::Warn)
        else {
            panic!()
        };
        assert!(warnings.iter().any(|w| w.contains("dataa")), "{warnings:?}");
    }
}
