//! `label` and `annotate`: `KIND NAME... key=value key2-` (or `KIND/NAME`, `-l`, `--all`),
//! `--overwrite`, `--list`, `--resource-version`; sent as a JSON merge patch.

use super::args::LabelArgs;
use super::output::{self, OutputFormat, object_ref};
use super::{CliError, Ctx, Io, server_error_line, target};
use crate::api::kinds::KindInfo;
use crate::api::object::ObjectExt;
use crate::api::request::{ListOptions, Patch, WriteOptions};
use crate::api::selector::{validate_label_key, validate_label_value};
use crate::cluster::Cluster;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use super::apply::DryRun;

/// Which metadata map the verb edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Labels,
    Annotations,
}

impl Field {
    fn map(self) -> &'static str {
        match self {
            Field::Labels => "labels",
            Field::Annotations => "annotations",
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Field::Labels => "label",
            Field::Annotations => "annotation",
        }
    }
    fn done(self) -> &'static str {
        match self {
            Field::Labels => "labeled",
            Field::Annotations => "annotated",
        }
    }
}

/// The requested changes: keys to set and keys to remove.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

/// Split arguments into resources and `k=v` / `k-` pairs (kubectl's GetResourcesAndPairs):
/// every resource must come before the first pair.
pub fn split_args(args: &[String], field: Field) -> Result<(Vec<String>, Vec<String>), CliError> {
    let mut resources = Vec::new();
    let mut pairs = Vec::new();
    for a in args {
        if a.contains('=') || a.ends_with('-') {
            pairs.push(a.clone());
        } else if !pairs.is_empty() {
            return Err(CliError::msg(format!(
                "all resources must be specified before {} changes: {a}",
                field.noun()
            )));
        } else {
            resources.push(a.clone());
        }
    }
    Ok((resources, pairs))
}

/// Parse `k=v` and `k-` pairs.
pub fn parse_changes(pairs: &[String], field: Field) -> Result<Changes, CliError> {
    let mut c = Changes::default();
    for p in pairs {
        // kubectl's wording: `invalid label spec: <spec>, <problems>`.
        let bad_key = |e: String| CliError::msg(format!("invalid {} spec: {p}, {e}", field.noun()));
        if let Some((k, v)) = p.split_once('=') {
            validate_label_key(k).map_err(bad_key)?;
            if field == Field::Labels {
                validate_label_value(v)
                    .map_err(|e| CliError::msg(format!("invalid label value: {p:?}: {e}")))?;
            }
            c.set.insert(k.to_string(), v.to_string());
        } else if let Some(k) = p.strip_suffix('-') {
            validate_label_key(k).map_err(bad_key)?;
            c.remove.push(k.to_string());
        } else {
            return Err(CliError::msg(format!("invalid {} spec: {p}", field.noun())));
        }
    }
    if c.remove.iter().any(|k| c.set.contains_key(k)) {
        return Err(CliError::msg(format!(
            "can not both modify and remove {} in the same command",
            field.noun()
        )));
    }
    Ok(c)
}

/// The new map and whether it differs; errors when a value would change without --overwrite.
pub fn apply_changes(
    current: &BTreeMap<String, String>,
    c: &Changes,
    overwrite: bool,
) -> Result<(BTreeMap<String, String>, bool), CliError> {
    if !overwrite {
        let clashes: Vec<String> = c
            .set
            .iter()
            .filter_map(|(k, v)| {
                current.get(k).filter(|cur| *cur != v).map(|cur| {
                    format!("'{k}' already has a value ({cur}), and --overwrite is false")
                })
            })
            .collect();
        if !clashes.is_empty() {
            return Err(CliError::msg(clashes.join("; ")));
        }
    }
    let mut next = current.clone();
    for (k, v) in &c.set {
        next.insert(k.clone(), v.clone());
    }
    for k in &c.remove {
        next.remove(k);
    }
    let changed = next != *current;
    Ok((next, changed))
}

fn merge_patch(field: Field, c: &Changes, resource_version: Option<&str>) -> Value {
    let mut m = Map::new();
    for (k, v) in &c.set {
        m.insert(k.clone(), json!(v));
    }
    for k in &c.remove {
        m.insert(k.clone(), Value::Null);
    }
    let mut meta = json!({ field.map(): m });
    if let Some(rv) = resource_version {
        meta["resourceVersion"] = json!(rv);
    }
    json!({ "metadata": meta })
}

async fn objects(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: &LabelArgs,
    resources: &[String],
    io: &mut Io<'_>,
) -> Result<(Vec<(&'static KindInfo, Value)>, bool, bool), CliError> {
    let t = target::parse(resources, if a.list { "list" } else { "label" })?;
    let mut out = Vec::new();
    let mut failed = false;
    if t.named {
        if a.selector.is_some() || a.all {
            return Err(CliError::msg(
                "name cannot be provided when a selector or --all is specified",
            ));
        }
        for (kind, name) in &t.items {
            let Some(name) = name else { continue };
            let ns = kind.namespaced.then_some(ctx.namespace.as_str());
            match cluster.get(kind, ns, name).await {
                Ok(o) => out.push((*kind, o)),
                Err(e) => {
                    io.errln(server_error_line(&e));
                    failed = true;
                }
            }
        }
        return Ok((out, failed, t.items.len() == 1));
    }
    if a.selector.is_none() && a.field_selector.is_none() && !a.all {
        return Err(CliError::msg(
            "resource(s) were provided, but no name was specified; give names, -l SELECTOR or --all",
        ));
    }
    let opts = ListOptions {
        label_selector: a.selector.clone(),
        field_selector: a.field_selector.clone(),
        resource_version: None,
    };
    for kind in t.kinds() {
        let ns = if kind.namespaced && !a.all_namespaces {
            Some(ctx.namespace.as_str())
        } else {
            None
        };
        for o in cluster.list(kind, ns, &opts).await?.items {
            out.push((kind, o));
        }
    }
    Ok((out, failed, false))
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: LabelArgs,
    field: Field,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let dry = DryRun::parse(&a.dry_run)?;
    let fmt = OutputFormat::parse(a.output.as_deref(), &["name", "yaml", "json"])?;
    let (resources, pairs) = split_args(&a.args, field)?;
    let changes = parse_changes(&pairs, field)?;
    if pairs.is_empty() && !a.list {
        return Err(CliError::msg(format!(
            "at least one {} update is required",
            field.noun()
        )));
    }
    let (objs, mut failed, one) = objects(cluster, ctx, &a, &resources, io).await?;
    if objs.is_empty() && !failed {
        io.errln(super::get::no_resources(
            ctx,
            &target::parse(&resources, "label")?.kinds(),
            a.all_namespaces,
        ));
        return Ok(());
    }

    if a.list {
        for (kind, o) in &objs {
            let indent = if one {
                ""
            } else {
                io.outln(format!(
                    "Listing {} for {}.{}/{}:",
                    field.map(),
                    kind.kind,
                    kind.group,
                    o.name()
                ));
                " "
            };
            let map = if field == Field::Labels {
                o.labels()
            } else {
                o.annotations()
            };
            for (k, v) in map {
                io.outln(format!("{indent}{k}={v}"));
            }
        }
        return if failed {
            Err(CliError::Reported)
        } else {
            Ok(())
        };
    }

    let opts = WriteOptions {
        dry_run: dry.active(),
        ..Default::default()
    };
    let mut printed = Vec::new();
    for (kind, o) in objs {
        let current = if field == Field::Labels {
            o.labels()
        } else {
            o.annotations()
        };
        if field == Field::Labels {
            for k in &changes.remove {
                if !current.contains_key(k) {
                    io.errln(format!("label {k:?} not found."));
                }
            }
        }
        let (_, changed) = match apply_changes(&current, &changes, a.overwrite) {
            Ok(x) => x,
            Err(e) => {
                io.errln(e.line().unwrap_or_default());
                failed = true;
                continue;
            }
        };
        let reference = object_ref(kind, o.name());
        let result = if !changed && a.resource_version.is_none() {
            Ok(o.clone())
        } else if dry == DryRun::Client {
            let mut preview = o.clone();
            crate::cli::label::merge_into(&mut preview, &merge_patch(field, &changes, None));
            Ok(preview)
        } else {
            let patch = Patch::Merge(merge_patch(field, &changes, a.resource_version.as_deref()));
            cluster
                .patch(kind, o.namespace(), o.name(), patch, &opts)
                .await
        };
        match result {
            Ok(updated) => {
                if fmt.is_table() {
                    // kubectl's label says "not labeled" when nothing changed; annotate does not.
                    let word = if !changed && field == Field::Labels {
                        "not labeled"
                    } else {
                        field.done()
                    };
                    io.outln(format!("{reference} {word}{}", dry.suffix()));
                } else {
                    printed.push((kind, updated));
                }
            }
            Err(e) => {
                io.errln(server_error_line(&e));
                failed = true;
            }
        }
    }
    if !printed.is_empty() {
        let single = printed.len() == 1;
        output::print_objects(&fmt, &printed, single, io.out)?;
    }
    if failed {
        Err(CliError::Reported)
    } else {
        Ok(())
    }
}

/// RFC 7386 merge of a small patch, for client-side dry runs.
fn merge_into(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_into(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Command;
    use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn splitting_and_parsing_pairs() {
        let (r, p) = split_args(&s(&["po", "x", "env=prod", "tier-"]), Field::Labels).unwrap();
        assert_eq!((r, p.clone()), (s(&["po", "x"]), s(&["env=prod", "tier-"])));
        let c = parse_changes(&p, Field::Labels).unwrap();
        assert_eq!(
            c.set,
            BTreeMap::from([("env".to_string(), "prod".to_string())])
        );
        assert_eq!(c.remove, ["tier"]);
        assert!(
            split_args(&s(&["po", "a=b", "x"]), Field::Labels)
                .unwrap_err()
                .to_string()
                .contains("before label changes")
        );
        assert!(
            parse_changes(&s(&["a=b", "a-"]), Field::Labels)
                .unwrap_err()
                .to_string()
                .contains("both modify and remove")
        );
        assert!(
            parse_changes(&s(&["env=bad value"]), Field::Labels)
                .unwrap_err()
                .to_string()
                .starts_with("invalid label value")
        );
        assert!(parse_changes(&s(&["note=any text at all!"]), Field::Annotations).is_ok());
        assert!(parse_changes(&s(&["-bad=x"]), Field::Labels).is_err());
        assert!(
            parse_changes(
                &s(&["example.com/app=x", "app.kubernetes.io/name-"]),
                Field::Labels
            )
            .is_ok()
        );
        assert!(parse_changes(&s(&["Example.com/app=x"]), Field::Labels).is_err());
        assert!(
            parse_changes(&s(&["k="]), Field::Labels).is_ok(),
            "empty values are valid"
        );
    }

    #[test]
    fn overwrite_rules() {
        let cur = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let c = parse_changes(&s(&["env=debug"]), Field::Labels).unwrap();
        let e = apply_changes(&cur, &c, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "'env' already has a value (prod), and --overwrite is false"
        );
        let (next, changed) = apply_changes(&cur, &c, true).unwrap();
        assert!(changed);
        assert_eq!(next["env"], "debug");
        let same = parse_changes(&s(&["env=prod"]), Field::Labels).unwrap();
        assert!(
            !apply_changes(&cur, &same, false).unwrap().1,
            "same value needs no --overwrite"
        );
    }

    fn cluster() -> FakeCluster {
        let c = FakeCluster::default();
        c.insert(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "default", "labels": {"env": "prod"}}}));
        c.insert(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "y", "namespace": "default", "labels": {"env": "dev"}}}));
        c
    }

    fn verb(c: &FakeCluster, args: &[&str]) -> (i32, String, String) {
        let cmd = parse(args);
        let (a, f) = match cmd {
            Command::Label(a) => (a, Field::Labels),
            Command::Annotate(a) => (a, Field::Annotations),
            _ => panic!(),
        };
        run_verb!(|io| run(c, &ctx(), a, f, io))
    }

    #[test]
    fn label_flow() {
        let c = cluster();
        let (code, _, err) = verb(&c, &["label", "po", "x", "env=debug"]);
        assert_eq!(
            (code, err.as_str()),
            (
                1,
                "error: 'env' already has a value (prod), and --overwrite is false\n"
            )
        );
        let (code, out, _) = verb(&c, &["label", "po", "x", "env=debug", "--overwrite"]);
        assert_eq!((code, out.as_str()), (0, "pod/x labeled\n"));
        assert_eq!(
            c.object("pods", "default", "x").unwrap()["metadata"]["labels"]["env"],
            "debug"
        );
        let (_, out, _) = verb(&c, &["label", "pod/x", "env=debug"]);
        assert_eq!(out, "pod/x not labeled\n");
        let (_, out, err) = verb(&c, &["label", "po", "x", "nope-"]);
        assert_eq!(
            (out.as_str(), err.as_str()),
            ("pod/x not labeled\n", "label \"nope\" not found.\n")
        );
        let (_, out, _) = verb(&c, &["label", "po", "-l", "env=dev", "tier=web"]);
        assert_eq!(out, "pod/y labeled\n");
        let (_, out, _) = verb(&c, &["label", "po", "y", "--list"]);
        assert_eq!(out, "env=dev\ntier=web\n");
        let (code, out, _) = verb(&c, &["label", "po", "--all", "env-"]);
        assert_eq!((code, out.as_str()), (0, "pod/x labeled\npod/y labeled\n"));
        assert!(
            c.calls()
                .iter()
                .any(|l| l.contains(r#"{"metadata":{"labels":{"env":null}}}"#)),
            "{:?}",
            c.calls()
        );
        let (code, _, err) = verb(&c, &["label", "po", "x"]);
        assert_eq!(
            (code, err.as_str()),
            (1, "error: at least one label update is required\n")
        );
    }

    #[test]
    fn annotate_and_resource_version() {
        let c = cluster();
        let (code, out, _) = verb(&c, &["annotate", "po", "x", "note=hello world"]);
        assert_eq!((code, out.as_str()), (0, "pod/x annotated\n"));
        let (_, out, _) = verb(&c, &["annotate", "po", "x", "note=hello world"]);
        assert_eq!(out, "pod/x annotated\n");
        let (code, _, err) = verb(&c, &["annotate", "po", "x", "k=v", "--resource-version=1"]);
        assert_eq!(code, 1);
        assert!(err.starts_with("Error from server (Conflict)"), "{err}");
        let (code, _, err) = verb(&c, &["annotate", "po", "nope", "k=v"]);
        assert_eq!(
            (code, err.as_str()),
            (1, "Error from server (NotFound): pods \"nope\" not found\n")
        );
    }
}
