//! `get`: tables like kubectl's (NAMESPACE with -A, -L label columns, --show-labels, kind
//! prefixes for several kinds), `-o yaml|json|name|jsonpath`, `--sort-by`, and `-w` watching.

use super::args::GetArgs;
use super::jsonpath::JsonPath;
use super::output::{self, OutputFormat, object_ref};
use super::{CliError, Ctx, Io, server_error_line, target};
use crate::api::error::ApiError;
use crate::api::kinds::{self, KindInfo};
use crate::api::request::{EventType, ListOptions};
use crate::api::table;
use crate::cluster::Cluster;
use futures::StreamExt;
use serde_json::Value;
use std::cmp::Ordering;

const FORMATS: &[&str] = &["wide", "yaml", "json", "name", "jsonpath"];

/// How rows of one kind are laid out.
pub(crate) struct TableSpec<'a> {
    pub kind: &'static KindInfo,
    pub wide: bool,
    /// Add the NAMESPACE column (with -A, for namespaced kinds).
    pub namespace_column: bool,
    /// Prefix names with `pod/` (several kinds were asked for).
    pub show_kind: bool,
    pub label_columns: &'a [String],
    pub show_labels: bool,
}

impl TableSpec<'_> {
    fn visible(&self) -> impl Iterator<Item = (usize, &'static table::Column)> + '_ {
        table::columns(self.kind)
            .iter()
            .enumerate()
            .filter(move |(_, c)| self.wide || !c.wide_only)
    }

    pub fn headers(&self) -> Vec<String> {
        let mut h = Vec::new();
        if self.namespace_column {
            h.push("NAMESPACE".to_string());
        }
        h.extend(self.visible().map(|(_, c)| c.header()));
        for l in self.label_columns {
            // kubectl shows the last path segment of the key, upper-cased.
            h.push(l.rsplit('/').next().unwrap_or(l).to_uppercase());
        }
        if self.show_labels {
            h.push("LABELS".to_string());
        }
        h
    }

    pub fn cells(&self, obj: &Value, now: jiff::Timestamp) -> Vec<String> {
        let all = table::row(self.kind, obj, now);
        let mut out = Vec::new();
        if self.namespace_column {
            out.push(
                obj.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            );
        }
        for (i, c) in self.visible() {
            let cell = all.get(i).cloned().unwrap_or_default();
            if self.show_kind && c.format == "name" {
                out.push(object_ref(self.kind, &cell));
            } else {
                out.push(cell);
            }
        }
        for l in self.label_columns {
            out.push(
                obj.pointer("/metadata/labels")
                    .and_then(|m| m.get(l))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            );
        }
        if self.show_labels {
            let labels = crate::api::object::ObjectExt::labels(obj);
            out.push(table::format_labels(&labels));
        }
        out
    }
}

/// Aligns rows as kubectl's tabwriter does (min width 6, padding 3), and keeps the widths for
/// rows printed later while watching (columns only grow, as in `kubectl get -w`).
#[derive(Default)]
pub(crate) struct RowPrinter {
    widths: Vec<usize>,
}

impl RowPrinter {
    pub fn fit(&mut self, cells: &[String]) {
        let n = cells.len().saturating_sub(1);
        if self.widths.len() < n {
            self.widths.resize(n, 6);
        }
        for (w, c) in self.widths.iter_mut().zip(cells.iter().take(n)) {
            *w = (*w).max(c.chars().count() + 3);
        }
    }

    pub fn format(&self, cells: &[String]) -> String {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            line.push_str(c);
            if i + 1 < cells.len() {
                let w = self.widths.get(i).copied().unwrap_or(6);
                line.extend(std::iter::repeat_n(
                    ' ',
                    w.saturating_sub(c.chars().count()),
                ));
            }
        }
        line
    }

    /// Fit and format a whole table (header included when given).
    pub fn table(&mut self, rows: &[Vec<String>]) -> String {
        for r in rows {
            self.fit(r);
        }
        rows.iter().map(|r| self.format(r) + "\n").collect()
    }
}

fn list_options(args: &GetArgs, name: Option<&str>) -> ListOptions {
    let mut field = args.field_selector.clone().filter(|f| !f.is_empty());
    if let Some(n) = name {
        let by_name = format!("metadata.name={n}");
        field = Some(match field {
            Some(f) => format!("{f},{by_name}"),
            None => by_name,
        });
    }
    ListOptions {
        label_selector: args.selector.clone().filter(|s| !s.is_empty()),
        field_selector: field,
        resource_version: None,
    }
}

/// The `No resources found` message kubectl prints on stderr.
pub(crate) fn no_resources(ctx: &Ctx, kinds: &[&KindInfo], all_namespaces: bool) -> String {
    if !all_namespaces && kinds.iter().all(|k| k.namespaced) {
        format!("No resources found in {} namespace.", ctx.namespace)
    } else {
        "No resources found".to_string()
    }
}

fn compare_values(a: &[&Value], b: &[&Value]) -> Ordering {
    let key = |v: &[&Value]| v.first().map(|x| (*x).clone());
    match (key(a), key(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
            _ => match (x.as_str(), y.as_str()) {
                (Some(p), Some(q)) => p.cmp(q),
                _ => x.to_string().cmp(&y.to_string()),
            },
        },
    }
}

/// `--for KIND/NAME` as the field selector of events about that object (added to any
/// `--field-selector`). Only `get events` takes it.
fn for_selector(f: &str, args: &GetArgs) -> Result<String, CliError> {
    let events = args.targets.len() == 1
        && kinds::lookup(&args.targets[0]).is_some_and(|k| k.kind == "Event");
    if !events {
        return Err(CliError::msg("--for works with `get events` only"));
    }
    let (kind, name) = f
        .split_once('/')
        .ok_or_else(|| CliError::msg(format!("--for {f:?}: use KIND/NAME, e.g. pod/web")))?;
    let kind = kinds::lookup(kind).ok_or_else(|| {
        CliError::msg(format!(
            "--for {f:?}: the server doesn't have a resource type {kind:?}"
        ))
    })?;
    let mut sel = format!(
        "involvedObject.kind={},involvedObject.name={name}",
        kind.kind
    );
    if let Some(extra) = &args.field_selector {
        sel = format!("{extra},{sel}");
    }
    Ok(sel)
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    args: GetArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let mut args = args;
    if let Some(f) = args.for_object.take() {
        args.field_selector = Some(for_selector(&f, &args)?);
    }
    let fmt = OutputFormat::parse(args.output.as_deref(), FORMATS)?;
    let target = target::parse(&args.targets, "get")?;
    if target.named && args.selector.is_some() {
        return Err(CliError::msg(
            "name cannot be provided when a selector is specified",
        ));
    }
    if target.named && args.all_namespaces {
        return Err(CliError::msg(
            "a resource cannot be retrieved by name across all namespaces",
        ));
    }
    let sort = match &args.sort_by {
        Some(s) => Some(
            JsonPath::parse_relaxed(s)
                .map_err(|e| CliError::msg(format!("invalid --sort-by {s:?}: {e}")))?,
        ),
        None => None,
    };
    if args.watch || args.watch_only {
        return watch(cluster, ctx, &args, &target, &fmt, io).await;
    }

    let mut groups: Vec<(&'static KindInfo, Vec<Value>)> = Vec::new();
    let mut failed = false;
    for kind in target.kinds() {
        let ns = if !kind.namespaced || args.all_namespaces {
            None
        } else {
            Some(ctx.namespace.as_str())
        };
        let names: Vec<&str> = target
            .items
            .iter()
            .filter(|(k, _)| std::ptr::eq(*k, kind))
            .filter_map(|(_, n)| n.as_deref())
            .collect();
        let mut items = Vec::new();
        if names.is_empty() {
            items = cluster
                .list(kind, ns, &list_options(&args, None))
                .await?
                .items;
        } else {
            for name in names {
                match cluster.get(kind, ns, name).await {
                    Ok(o) => items.push(o),
                    Err(e) if e.is_not_found() && args.ignore_not_found => {}
                    Err(e) => {
                        io.errln(server_error_line(&e));
                        failed = true;
                    }
                }
            }
        }
        if let Some(p) = &sort {
            items.sort_by(|a, b| compare_values(&p.values(a), &p.values(b)));
        }
        groups.push((kind, items));
    }

    let total: usize = groups.iter().map(|(_, i)| i.len()).sum();
    if fmt.is_table() {
        let mut first = true;
        for (kind, items) in &groups {
            if items.is_empty() {
                continue;
            }
            let spec = TableSpec {
                kind,
                wide: fmt == OutputFormat::Wide,
                namespace_column: args.all_namespaces && kind.namespaced,
                show_kind: target.multiple_kinds,
                label_columns: &args.label_columns,
                show_labels: args.show_labels,
            };
            let now = ctx.now();
            let mut rows = Vec::new();
            if !args.no_headers {
                rows.push(spec.headers());
            }
            rows.extend(items.iter().map(|o| spec.cells(o, now)));
            let mut text = RowPrinter::default().table(&rows);
            if !first && !args.no_headers {
                text.insert(0, '\n');
            }
            first = false;
            output::write_all(io.out, &text)?;
        }
        if total == 0 && !failed && !target.named {
            io.errln(no_resources(ctx, &target.kinds(), args.all_namespaces));
        }
    } else {
        let objs: Vec<(&KindInfo, Value)> = groups
            .into_iter()
            .flat_map(|(k, items)| items.into_iter().map(move |o| (k, o)))
            .collect();
        let single = target.named && target.items.len() == 1;
        if !(single && objs.is_empty()) {
            output::print_objects(&fmt, &objs, single, io.out)?;
        }
    }
    if failed {
        Err(CliError::Reported)
    } else {
        Ok(())
    }
}

async fn watch(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    args: &GetArgs,
    target: &target::Target,
    fmt: &OutputFormat,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let kinds = target.kinds();
    let [kind] = kinds.as_slice() else {
        return Err(CliError::msg("you may only specify a single resource type"));
    };
    let names: Vec<&str> = target
        .items
        .iter()
        .filter_map(|(_, n)| n.as_deref())
        .collect();
    if names.len() > 1 {
        return Err(CliError::msg(format!(
            "watch is only supported on individual resources and resource collections, but {} resources were found",
            names.len()
        )));
    }
    let ns = if kind.namespaced && !args.all_namespaces {
        Some(ctx.namespace.as_str())
    } else {
        None
    };
    let mut opts = list_options(args, names.first().copied());
    let list = cluster.list(kind, ns, &opts).await?;
    if let Some(name) = names.first()
        && list.items.is_empty()
        && !args.ignore_not_found
    {
        return Err(ApiError::not_found(&kind.resource(), name).into());
    }
    let spec = TableSpec {
        kind,
        wide: *fmt == OutputFormat::Wide,
        namespace_column: args.all_namespaces && kind.namespaced,
        show_kind: target.multiple_kinds,
        label_columns: &args.label_columns,
        show_labels: args.show_labels,
    };
    let mut printer = RowPrinter::default();
    let mut header_printed = args.no_headers;
    let print = |obj: &Value,
                 printer: &mut RowPrinter,
                 header_printed: &mut bool,
                 io: &mut Io<'_>|
     -> Result<(), CliError> {
        if fmt.is_table() {
            let mut rows = Vec::new();
            if !*header_printed {
                rows.push(spec.headers());
                *header_printed = true;
            }
            rows.push(spec.cells(obj, ctx.now()));
            for r in &rows {
                printer.fit(r);
            }
            let text: String = rows.iter().map(|r| printer.format(r) + "\n").collect();
            output::write_all(io.out, &text)
        } else {
            let mut text = Vec::new();
            output::print_objects(fmt, &[(*kind, obj.clone())], true, &mut text)?;
            if *fmt == OutputFormat::Yaml {
                output::write_all(io.out, "---\n")?;
            }
            io.out
                .write_all(&text)
                .and_then(|_| io.out.flush())
                .map_err(|e| CliError::msg(format!("writing output: {e}")))
        }
    };
    if !args.watch_only {
        if fmt.is_table() && !list.items.is_empty() {
            // Align the listed rows together, as one kubectl table.
            let mut rows = Vec::new();
            if !header_printed {
                rows.push(spec.headers());
                header_printed = true;
            }
            let now = ctx.now();
            rows.extend(list.items.iter().map(|o| spec.cells(o, now)));
            output::write_all(io.out, &printer.table(&rows))?;
        } else if !fmt.is_table() {
            for o in &list.items {
                print(o, &mut printer, &mut header_printed, io)?;
            }
        }
    }
    opts.resource_version = Some(list.resource_version.to_string());
    let mut stream = cluster.watch(kind, ns, &opts).await?;
    while let Some(ev) = stream.next().await {
        let ev = ev?;
        if ev.event_type == EventType::Error {
            return Err(ApiError::from_status(&ev.object).into());
        }
        print(&ev.object, &mut printer, &mut header_printed, io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kinds::lookup;
    use crate::cli::args::Command;
    use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};
    use serde_json::json;

    fn pod(name: &str, ns: &str, labels: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": ns, "labels": labels, "creationTimestamp": "2024-05-01T11:59:00Z"},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]},
               "status": {"phase": "Pending"}})
    }

    fn cluster() -> FakeCluster {
        let c = FakeCluster::default();
        c.insert(pod("web", "default", json!({"app": "web", "env": "prod"})));
        c.insert(pod("db", "default", json!({"app": "db"})));
        c.insert(pod("other", "kube-system", json!({})));
        c.insert(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default",
            "creationTimestamp": "2024-05-01T11:00:00Z"}, "spec": {"clusterIP": "10.96.0.2", "ports": [{"port": 80}]}}));
        c
    }

    fn get(c: &FakeCluster, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        let Command::Get(a) = parse(&all) else {
            panic!()
        };
        run_verb!(|io| run(c, &ctx(), a, io))
    }

    #[test]
    fn table_with_labels_and_columns() {
        let c = cluster();
        let (code, out, _) = get(&c, &["po", "--show-labels", "-L", "env"]);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "NAME   READY   STATUS    RESTARTS   AGE   ENV    LABELS\n\
             db     0/1     Pending   0          60s          app=db\n\
             web    0/1     Pending   0          60s   prod   app=web,env=prod\n"
        );
    }

    #[test]
    fn all_namespaces_adds_namespace_column() {
        let (_, out, _) = get(&cluster(), &["po", "-A", "--no-headers"]);
        assert_eq!(
            out,
            "default       db      0/1   Pending   0     60s\n\
             default       web     0/1   Pending   0     60s\n\
             kube-system   other   0/1   Pending   0     60s\n"
        );
    }

    #[test]
    fn several_kinds_are_prefixed_and_separated() {
        let (_, out, _) = get(&cluster(), &["po,svc"]);
        assert!(out.contains("pod/web"), "{out}");
        assert!(out.contains("\n\nNAME          TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\nservice/web   ClusterIP   10.96.0.2    <none>        80/TCP    60m\n"), "{out}");
    }

    #[test]
    fn empty_and_not_found() {
        let c = cluster();
        let (code, out, err) = get(&c, &["cm"]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "", "No resources found in default namespace.\n")
        );
        let (code, out, err) = get(&c, &["po", "web", "nope"]);
        assert_eq!(code, 1);
        assert!(out.contains("web"));
        assert_eq!(
            err,
            "Error from server (NotFound): pods \"nope\" not found\n"
        );
        let (code, _, err) = get(&c, &["po", "nope", "--ignore-not-found"]);
        assert_eq!((code, err.as_str()), (0, ""));
        let (code, _, err) = get(&c, &["pdos"]);
        assert_eq!(code, 1);
        assert!(
            err.starts_with("error: the server doesn't have a resource type \"pdos\""),
            "{err}"
        );
        let (_, _, err) = get(&c, &["no"]);
        assert_eq!(err, "No resources found\n");
    }

    #[test]
    fn yaml_single_vs_list_and_name() {
        let c = cluster();
        let (_, out, _) = get(&c, &["po", "web", "-o", "yaml"]);
        assert!(
            out.starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"),
            "{out}"
        );
        let (_, out, _) = get(&c, &["po", "-o", "yaml"]);
        assert!(out.starts_with("apiVersion: v1\nitems:\n"), "{out}");
        let (_, out, _) = get(
            &c,
            &["po", "-o", "name", "-A", "--sort-by", ".metadata.name"],
        );
        assert_eq!(out, "pod/db\npod/other\npod/web\n");
        let (_, out, _) = get(&c, &["po", "-o", "jsonpath={.items[*].metadata.name}"]);
        assert_eq!(out, "db web");
        let (_, out, _) = get(&c, &["po", "-l", "app=web", "-o", "name"]);
        assert_eq!(out, "pod/web\n");
    }

    #[test]
    fn watch_prints_list_then_events() {
        let c = cluster();
        let mut changed = pod("web", "default", json!({}));
        changed["status"]["phase"] = json!("Running");
        c.push_watch_event(EventType::Modified, changed);
        let (code, out, _) = get(&c, &["po", "web", "-w"]);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "NAME   READY   STATUS    RESTARTS   AGE\nweb    0/1     Pending   0          60s\nweb    0/1     Running   0          60s\n"
        );
        assert!(
            c.calls().iter().any(|l| l.starts_with("watch rv=")),
            "{:?}",
            c.calls()
        );
        assert!(
            get(&c, &["po,svc", "-w"])
                .2
                .contains("single resource type")
        );
    }

    #[test]
    fn row_printer_grows_columns() {
        let mut p = RowPrinter::default();
        let t = p.table(&[
            vec!["NAME".into(), "STATUS".into(), "AGE".into()],
            vec!["a".into(), "Pending".into(), "1s".into()],
        ]);
        assert_eq!(t, "NAME   STATUS    AGE\na      Pending   1s\n");
        p.fit(&[
            "a".to_string(),
            "ContainerCreating".to_string(),
            "2s".to_string(),
        ]);
        assert_eq!(
            p.format(&["a".into(), "Running".into(), "3s".into()]),
            "a      Running             3s"
        );
        let _ = lookup("po");
    }

    #[test]
    fn events_for_one_object() {
        use crate::cli::args::Command;
        use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};
        use serde_json::json;
        let c = FakeCluster::default();
        for (name, pod, reason) in [("e1", "web", "Started"), ("e2", "db", "Pulled")] {
            c.insert(json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": pod, "namespace": "default"},
                "reason": reason, "type": "Normal", "message": format!("{reason} {pod}")}));
        }
        let get = |args: &[&str]| {
            let Command::Get(a) = parse(args) else {
                panic!()
            };
            run_verb!(|io| run(&c, &ctx(), a, io))
        };
        let (code, out, err) = get(&["get", "events", "--for", "pod/web"]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("Started web") && !out.contains("Pulled db"),
            "{out}"
        );
        let (code, _, err) = get(&["get", "pods", "--for", "pod/web"]);
        assert_eq!(code, 1);
        assert!(err.contains("--for works with `get events` only"), "{err}");
        let (code, _, err) = get(&["get", "events", "--for", "web"]);
        assert_eq!(code, 1);
        assert!(err.contains("KIND/NAME"), "{err}");
    }
}
