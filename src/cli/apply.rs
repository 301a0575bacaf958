//! `apply -f` and `create -f` / `create namespace`: read manifests, check every document, then
//! write them in one atomic batch and print kubectl's `pod/web created` lines.

use super::args::{ApplyArgs, CreateArgs};
use super::output::{self, OutputFormat, object_ref};
use super::{CliError, Ctx, Io};
use crate::api::error::ApiError;
use crate::api::kinds::{self, KindInfo};
use crate::api::manifest::{self, Document};
use crate::api::object::{ObjectExt, kind_of};
use crate::api::request::{ApplyOutcome, BatchMode, FieldValidation, WriteOptions};
use crate::client::validate::{self, CreateChecks};
use crate::cluster::Cluster;
use serde_json::{Value, json};

/// `--dry-run` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DryRun {
    None,
    Client,
    Server,
}

impl DryRun {
    pub fn parse(s: &str) -> Result<DryRun, CliError> {
        match s {
            "none" | "false" => Ok(DryRun::None),
            "client" | "true" => Ok(DryRun::Client),
            "server" => Ok(DryRun::Server),
            other => Err(CliError::msg(format!(
                "Invalid dry-run value ({other}). Must be \"none\", \"server\", or \"client\"."
            ))),
        }
    }
    /// What kubectl appends to `pod/web created`.
    pub fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }
    pub fn active(self) -> bool {
        self != DryRun::None
    }
}

fn field_validation(s: &str) -> Result<FieldValidation, CliError> {
    FieldValidation::parse(s).map_err(|_| {
        CliError::msg(format!(
            "invalid --validate value {s:?}: use strict (or true), warn, or ignore (or false)"
        ))
    })
}

struct Batch {
    filenames: Vec<String>,
    recursive: bool,
    validate: String,
    dry_run: String,
    output: Option<String>,
}

pub async fn run_apply(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: ApplyArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let b = Batch {
        filenames: a.filenames,
        recursive: a.recursive,
        validate: a.validate,
        dry_run: a.dry_run,
        output: a.output,
    };
    run_batch(cluster, ctx, b, BatchMode::Apply, io).await
}

pub async fn run_create(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: CreateArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    if !a.what.is_empty() {
        if !a.filenames.is_empty() {
            return Err(CliError::msg(
                "use either -f FILE or a resource to create, not both",
            ));
        }
        return create_named(cluster, ctx, &a, io).await;
    }
    if a.filenames.is_empty() {
        return Err(CliError::msg(
            "must specify one of -f, or a resource to create (namespace NAME)",
        ));
    }
    let b = Batch {
        filenames: a.filenames,
        recursive: a.recursive,
        validate: a.validate,
        dry_run: a.dry_run,
        output: a.output,
    };
    run_batch(cluster, ctx, b, BatchMode::Create, io).await
}

/// `create namespace NAME` (`create ns NAME`).
async fn create_named(
    cluster: &dyn Cluster,
    _ctx: &Ctx,
    a: &CreateArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let dry = DryRun::parse(&a.dry_run)?;
    let fmt = OutputFormat::parse(a.output.as_deref(), &["name", "yaml", "json"])?;
    let (what, rest) = a
        .what
        .split_first()
        .ok_or_else(|| CliError::msg("nothing to create"))?;
    let kind = match what.as_str() {
        "job" => return super::create_job::run(cluster, _ctx, a, io).await,
        "namespace" | "ns" => {
            kinds::lookup("namespaces").ok_or_else(|| CliError::msg("namespaces are not served"))?
        }
        other => {
            return Err(CliError::msg(format!(
                "peapod create does not know {other:?}; use `create namespace NAME` or `create -f FILE`"
            )));
        }
    };
    let [name] = rest else {
        return Err(CliError::msg(format!(
            "exactly one NAME is required, e.g. `peapod create {what} dev`"
        )));
    };
    let obj =
        json!({"apiVersion": kind.api_version(), "kind": kind.kind, "metadata": {"name": name}});
    let opts = WriteOptions {
        dry_run: dry.active(),
        field_validation: FieldValidation::Strict,
    };
    let created = if dry == DryRun::Client {
        obj
    } else {
        cluster.create(obj, &opts).await?
    };
    if fmt.is_table() {
        io.outln(format!(
            "{} created{}",
            object_ref(kind, name),
            dry.suffix()
        ));
        Ok(())
    } else {
        output::print_objects(&fmt, &[(kind, created)], true, io.out)
    }
}

/// The document an API error is about (by kind and name), for `error when creating "f.yaml"`.
fn document_of<'a>(docs: &'a [Document], e: &ApiError) -> Option<&'a Document> {
    if docs.len() == 1 {
        return docs.first();
    }
    let name = e.name.as_deref()?;
    let kind = e.kind.as_deref().unwrap_or("");
    docs.iter().find(|d| {
        d.value.name() == name
            && kind_of(&d.value).is_ok_and(|k| {
                kind.is_empty() || k.kind == kind || k.plural == kind || k.resource() == kind
            })
    })
}

/// Kinds whose objects become running pods: worth a note when nothing runs them.
fn runs_pods(kind: &KindInfo) -> bool {
    matches!(
        kind.kind,
        "Pod"
            | "Deployment"
            | "ReplicaSet"
            | "ReplicationController"
            | "DaemonSet"
            | "StatefulSet"
            | "Job"
            | "CronJob"
    )
}

async fn run_batch(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    b: Batch,
    mode: BatchMode,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let validation = field_validation(&b.validate)?;
    let dry = DryRun::parse(&b.dry_run)?;
    let fmt = OutputFormat::parse(b.output.as_deref(), &["name", "yaml", "json"])?;
    let verb = if mode == BatchMode::Apply {
        "apply"
    } else {
        "create"
    };

    let docs = match manifest::read_paths(&b.filenames, b.recursive) {
        Ok(d) => d,
        Err(errs) => {
            for e in errs {
                io.errln(format!("error: {e}"));
            }
            return Err(CliError::Reported);
        }
    };
    if docs.is_empty() {
        return Err(CliError::msg(format!("no objects passed to {verb}")));
    }

    let report = validate::check_all(&docs, validation, &CreateChecks);
    for w in &report.warnings {
        io.errln(format!("Warning: {w}"));
    }
    if !report.is_ok() {
        for e in &report.errors {
            io.errln(format!("error: {e}"));
        }
        return Err(CliError::Reported);
    }

    let mut kinds_of: Vec<&'static KindInfo> = Vec::with_capacity(docs.len());
    for d in &docs {
        let kind = kind_of(&d.value)?;
        if kind.namespaced
            && ctx.namespace_explicit
            && let Some(ns) = d.value.namespace()
            && ns != ctx.namespace
        {
            return Err(CliError::msg(format!(
                "the namespace from the provided object {ns:?} does not match the namespace {:?}. You must pass '--namespace={ns}' to perform this operation.",
                ctx.namespace
            )));
        }
        kinds_of.push(kind);
    }

    let objs: Vec<Value> = docs.iter().map(|d| d.value.clone()).collect();
    let opts = WriteOptions {
        dry_run: dry.active(),
        field_validation: validation,
    };
    let outcomes = match cluster.apply_batch(objs, mode, &ctx.namespace, &opts).await {
        Ok(o) => o,
        Err(e) => {
            let action = if mode == BatchMode::Create
                || e.is_not_found()
                || e.reason == crate::api::error::Reason::AlreadyExists
            {
                "creating"
            } else {
                "applying"
            };
            let mut e2 = e.clone();
            if let Some(d) = document_of(&docs, &e) {
                e2.message = format!("error when {action} {:?}: {}", d.source, e.message);
            }
            return Err(CliError::Server(e2));
        }
    };

    let mut printed: Vec<(&KindInfo, Value)> = Vec::new();
    let mut started_pods = false;
    for (i, outcome) in outcomes.iter().enumerate() {
        let obj = outcome.object();
        let kind = kinds::by_api_version(obj.api_version(), obj.kind_str())
            .or_else(|| kinds_of.get(i).copied())
            .ok_or_else(|| {
                CliError::msg(format!(
                    "the cluster returned an object of unknown kind {:?}",
                    obj.kind_str()
                ))
            })?;
        if !matches!(outcome, ApplyOutcome::Unchanged(_)) && runs_pods(kind) {
            started_pods = true;
        }
        match fmt {
            OutputFormat::Table | OutputFormat::Wide => {
                let word = if mode == BatchMode::Create {
                    "created"
                } else {
                    outcome.verb()
                };
                io.outln(format!(
                    "{} {word}{}",
                    object_ref(kind, obj.name()),
                    dry.suffix()
                ));
            }
            _ => printed.push((kind, obj.clone())),
        }
    }
    if !printed.is_empty() {
        let single = printed.len() == 1;
        output::print_objects(&fmt, &printed, single, io.out)?;
    }
    if ctx.embedded && started_pods && !dry.active() {
        io.errln("note: no peapod console or `peapod serve` is running; pods start once one runs");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Command;
    use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};

    #[test]
    fn dry_run_values() {
        assert_eq!(
            DryRun::parse("server").unwrap().suffix(),
            " (server dry run)"
        );
        assert_eq!(DryRun::parse("client").unwrap().suffix(), " (dry run)");
        assert!(!DryRun::parse("none").unwrap().active());
        assert!(
            DryRun::parse("maybe")
                .unwrap_err()
                .to_string()
                .contains("Must be \"none\"")
        );
        assert!(field_validation("true").is_ok() && field_validation("warn").is_ok());
        assert!(field_validation("loose").is_err());
    }

    #[test]
    fn create_namespace() {
        let c = FakeCluster::default();
        let Command::Create(a) = parse(&["create", "ns", "dev"]) else {
            panic!()
        };
        let (code, out, _) = run_verb!(|io| run_create(&c, &ctx(), a, io));
        assert_eq!((code, out.as_str()), (0, "namespace/dev created\n"));
        let Command::Create(a) = parse(&["create", "namespace", "dev"]) else {
            panic!()
        };
        let (code, _, err) = run_verb!(|io| run_create(&c, &ctx(), a, io));
        assert_eq!(
            (code, err.as_str()),
            (
                1,
                "Error from server (AlreadyExists): namespaces \"dev\" already exists\n"
            )
        );
        let Command::Create(a) = parse(&["create", "configmap", "x"]) else {
            panic!()
        };
        assert_eq!(run_verb!(|io| run_create(&c, &ctx(), a, io)).0, 1);
        let Command::Create(a) = parse(&["create"]) else {
            panic!()
        };
        assert!(
            run_verb!(|io| run_create(&c, &ctx(), a, io))
                .2
                .starts_with("error: must specify one of -f")
        );
    }

    #[test]
    fn runs_pods_kinds() {
        assert!(runs_pods(kinds::lookup("deploy").unwrap()));
        assert!(!runs_pods(kinds::lookup("cm").unwrap()));
    }
}
