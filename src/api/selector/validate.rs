//! Syntax checks of label keys and values, worded as apimachinery's `IsQualifiedName`,
//! `IsValidLabelValue` and `IsDNS1123Subdomain` so messages match what the API server prints.
//! Lengths are in bytes, as Go's `len` counts them.

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MAX: usize = 63;
const DNS1123_SUBDOMAIN_FMT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX: usize = 253;

/// Check a label (or annotation) key: an optional DNS-1123 subdomain prefix and `/`, then a
/// name of at most 63 characters. The error joins every problem with `; `, as Kubernetes does.
pub fn validate_label_key(key: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else if let Err(e) = subdomain_errors(prefix) {
                errs.extend(e.into_iter().map(|m| format!("prefix part {m}")));
            }
            *name
        }
        _ => {
            return Err(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX {
        errs.push(format!(
            "name part must be no more than {QUALIFIED_NAME_MAX} characters"
        ));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    join(errs)
}

/// Check a label value: empty, or at most 63 characters of `[-A-Za-z0-9_.]` that start and end
/// with an alphanumeric character.
pub fn validate_label_value(value: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        errs.push(format!("must be no more than {LABEL_VALUE_MAX} characters"));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    join(errs)
}

/// Check a lowercase RFC 1123 subdomain (`example.com`), at most 253 characters.
pub fn validate_dns1123_subdomain(value: &str) -> Result<(), String> {
    subdomain_errors(value).map_err(|e| e.join("; "))
}

fn subdomain_errors(value: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    if !value.split('.').all(is_dns1123_label_syntax) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` without the length limit.
fn is_dns1123_label_syntax(s: &str) -> bool {
    let b = s.as_bytes();
    let end_ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            end_ok(first) && end_ok(last) && b.iter().all(|c| end_ok(c) || *c == b'-')
        }
        _ => false,
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`: non-empty, alphanumeric at both ends.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// apimachinery's `RegexError`, including its peculiar `',  or '` spacing between examples.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = format!("{msg} (e.g. ");
    for (i, ex) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{ex}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

fn join(errs: Vec<String>) -> Result<(), String> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kubernetes_label_keys() {
        for k in [
            "app",
            "app.kubernetes.io/name",
            "a",
            "A_b-c.D",
            "example.com/x",
            "k8s.io/1",
            &"a".repeat(63),
            &format!("{}/{}", "a".repeat(253), "b"),
        ] {
            assert_eq!(validate_label_key(k), Ok(()), "{k}");
        }
    }

    #[test]
    fn rejects_bad_label_keys_with_apimachinery_wording() {
        let e = validate_label_key("bad key").unwrap_err();
        assert_eq!(
            e,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        let e = validate_label_key("").unwrap_err();
        assert!(
            e.starts_with("name part must be non-empty; name part must consist"),
            "{e}"
        );
        let e = validate_label_key(&"a".repeat(64)).unwrap_err();
        assert_eq!(e, "name part must be no more than 63 characters");
        let e = validate_label_key("/x").unwrap_err();
        assert_eq!(e, "prefix part must be non-empty");
        let e = validate_label_key("Example.com/x").unwrap_err();
        assert!(
            e.starts_with("prefix part a lowercase RFC 1123 subdomain"),
            "{e}"
        );
        assert!(e.contains("(e.g. 'example.com', regex used"), "{e}");
        let e = validate_label_key(&format!("{}/x", "a".repeat(254))).unwrap_err();
        assert_eq!(e, "prefix part must be no more than 253 characters");
        let e = validate_label_key("a/b/c").unwrap_err();
        assert!(e.starts_with("a qualified name must consist"), "{e}");
        assert!(e.ends_with(
            "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ));
        for k in ["-a", "a-", "a.", "_a", "é", "a b", "x/", "a..b/c"] {
            assert!(validate_label_key(k).is_err(), "{k}");
        }
    }

    #[test]
    fn label_values() {
        for v in ["", "a", "prod", "1.2.3", "a_b-c", &"x".repeat(63)] {
            assert_eq!(validate_label_value(v), Ok(()), "{v:?}");
        }
        let e = validate_label_value("foo$").unwrap_err();
        assert_eq!(
            e,
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        let e = validate_label_value(&"x".repeat(64)).unwrap_err();
        assert_eq!(e, "must be no more than 63 characters");
        let e = validate_label_value(&format!("-{}", "x".repeat(64))).unwrap_err();
        assert!(
            e.starts_with("must be no more than 63 characters; a valid label"),
            "{e}"
        );
        for v in ["-", "a-", ".a", "a b", "a/b"] {
            assert!(validate_label_value(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn subdomains() {
        assert_eq!(validate_dns1123_subdomain("example.com"), Ok(()));
        assert_eq!(validate_dns1123_subdomain("a-b.c9"), Ok(()));
        for s in ["", "a..b", ".a", "a.", "A.com", "a_b", "-a"] {
            assert!(validate_dns1123_subdomain(s).is_err(), "{s:?}");
        }
    }
}
