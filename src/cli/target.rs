//! What a verb operates on, as kubectl's resource builder reads it: `KIND [NAME...]`,
//! `KIND1,KIND2 [NAME...]`, `all`, or `KIND/NAME...`.

use super::CliError;
use crate::api::kinds::{self, KindInfo};

/// A parsed target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// (kind, name) pairs when names were given; `name` is `None` for "every object".
    pub items: Vec<(&'static KindInfo, Option<String>)>,
    /// Several kinds were asked for (`po,svc`, `all`, `po/a svc/b`): kubectl then prefixes
    /// names with the kind (`pod/web`).
    pub multiple_kinds: bool,
    /// Some names were given.
    pub named: bool,
}

impl Target {
    /// The distinct kinds, in order.
    pub fn kinds(&self) -> Vec<&'static KindInfo> {
        let mut out: Vec<&'static KindInfo> = Vec::new();
        for (k, _) in &self.items {
            if !out.iter().any(|o| std::ptr::eq(*o, *k)) {
                out.push(k);
            }
        }
        out
    }
}

/// Resolve one resource name (`po`, `deployments.apps`) or fail like kubectl, with a hint.
pub fn resolve_kind(name: &str) -> Result<&'static KindInfo, CliError> {
    kinds::lookup(name).ok_or_else(|| {
        let hint = kinds::suggest(name)
            .map(|s| format!("; did you mean {s:?}?"))
            .unwrap_or_default();
        CliError::msg(format!(
            "the server doesn't have a resource type {name:?}{hint}"
        ))
    })
}

/// Resolve `po,svc` or `all` (which expands to the kinds in category `all`).
pub fn resolve_kinds(list: &str) -> Result<Vec<&'static KindInfo>, CliError> {
    let mut out: Vec<&'static KindInfo> = Vec::new();
    for part in list.split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let found = if part.eq_ignore_ascii_case("all") {
            kinds::category("all")
        } else {
            vec![resolve_kind(part)?]
        };
        for k in found {
            if !out.iter().any(|o| std::ptr::eq(*o, k)) {
                out.push(k);
            }
        }
    }
    if out.is_empty() {
        return Err(CliError::msg(format!("no resource type in {list:?}")));
    }
    Ok(out)
}

/// Parse positional arguments. `verb` is used in the message for missing arguments.
pub fn parse(args: &[String], verb: &str) -> Result<Target, CliError> {
    let Some(first) = args.first() else {
        return Err(CliError::msg(format!(
            "You must specify the type of resource to {verb}. Use \"peapod api-resources\" for a complete list of supported resources."
        )));
    };
    if first.contains('/') {
        let mut items = Vec::new();
        for a in args {
            let Some((kind, name)) = a.split_once('/') else {
                return Err(CliError::msg(
                    "arguments in resource/name form must have a single resource and name"
                        .to_string(),
                ));
            };
            if kind.is_empty() || name.is_empty() || name.contains('/') {
                return Err(CliError::msg(format!(
                    "arguments in resource/name form must have a single resource and name: {a:?}"
                )));
            }
            items.push((resolve_kind(kind)?, Some(name.to_string())));
        }
        let multiple = {
            let t = Target {
                items: items.clone(),
                multiple_kinds: false,
                named: true,
            };
            t.kinds().len() > 1
        };
        return Ok(Target {
            items,
            multiple_kinds: multiple,
            named: true,
        });
    }
    let names = &args[1..];
    if names.iter().any(|n| n.contains('/')) {
        return Err(CliError::msg(format!(
            "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'peapod {verb} resource/<resource_name>' instead of 'peapod {verb} resource resource/<resource_name>'"
        )));
    }
    let kinds = resolve_kinds(first)?;
    let multiple_kinds = kinds.len() > 1
        || first
            .split(',')
            .any(|p| p.trim().eq_ignore_ascii_case("all"));
    let mut items = Vec::new();
    for k in &kinds {
        if names.is_empty() {
            items.push((*k, None));
        } else {
            for n in names {
                items.push((*k, Some(n.clone())));
            }
        }
    }
    Ok(Target {
        items,
        multiple_kinds,
        named: !names.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Target, CliError> {
        parse(
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "get",
        )
    }

    fn pairs(t: &Target) -> Vec<(String, Option<String>)> {
        t.items
            .iter()
            .map(|(k, n)| (k.plural.to_string(), n.clone()))
            .collect()
    }

    #[test]
    fn kind_and_names() {
        let t = p(&["po", "a", "b"]).unwrap();
        assert_eq!(
            pairs(&t),
            [
                ("pods".into(), Some("a".into())),
                ("pods".into(), Some("b".into()))
            ]
        );
        assert!(t.named && !t.multiple_kinds);
        let t = p(&["deployments.apps"]).unwrap();
        assert_eq!(pairs(&t), [("deployments".into(), None)]);
        assert!(!t.named);
    }

    #[test]
    fn comma_lists_and_all() {
        let t = p(&["po,svc,po"]).unwrap();
        assert_eq!(
            t.kinds().iter().map(|k| k.plural).collect::<Vec<_>>(),
            ["pods", "services"]
        );
        assert!(t.multiple_kinds);
        let t = p(&["all"]).unwrap();
        assert!(t.multiple_kinds);
        assert!(t.kinds().iter().any(|k| k.plural == "deployments"));
        assert!(!t.kinds().iter().any(|k| k.plural == "configmaps"));
    }

    #[test]
    fn slash_form() {
        let t = p(&["po/a", "deploy/web"]).unwrap();
        assert_eq!(
            pairs(&t),
            [
                ("pods".into(), Some("a".into())),
                ("deployments".into(), Some("web".into()))
            ]
        );
        assert!(t.multiple_kinds);
        let t = p(&["po/a", "pod/b"]).unwrap();
        assert!(!t.multiple_kinds);
        assert!(
            p(&["po", "po/a"])
                .unwrap_err()
                .to_string()
                .contains("no need to specify a resource type")
        );
        assert!(
            p(&["po/a", "b"])
                .unwrap_err()
                .to_string()
                .contains("single resource and name")
        );
        assert!(p(&["po/"]).is_err());
    }

    #[test]
    fn unknown_and_missing() {
        let e = p(&["pdos"]).unwrap_err().to_string();
        assert_eq!(
            e,
            "the server doesn't have a resource type \"pdos\"; did you mean \"pods\"?"
        );
        assert_eq!(
            p(&["zzzzzz"]).unwrap_err().to_string(),
            "the server doesn't have a resource type \"zzzzzz\""
        );
        assert!(
            p(&[])
                .unwrap_err()
                .to_string()
                .starts_with("You must specify the type of resource to get.")
        );
    }
}
