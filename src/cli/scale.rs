//! `scale KIND/NAME --replicas=N [--current-replicas=M] [--resource-version=V]`, as kubectl:
//! deployments, replicasets, replicationcontrollers and statefulsets; `-l` / `--all` pick
//! objects by label. kubectl writes the scale subresource; peapod sends the same change as a
//! merge patch of `spec.replicas` (carrying the resourceVersion when a precondition was
//! checked, so a concurrent change fails instead of being overwritten).

use super::apply::DryRun;
use super::args::ScaleArgs;
use super::output::object_ref;
use super::{CliError, Ctx, Io, server_error_line, target};
use crate::api::kinds::KindInfo;
use crate::api::object::ObjectExt;
use crate::api::request::{ListOptions, Patch, WriteOptions};
use crate::cluster::Cluster;
use serde_json::{Value, json};

/// Kinds with a scale subresource.
fn scalable(kind: &KindInfo) -> bool {
    matches!(
        kind.kind,
        "Deployment" | "ReplicaSet" | "ReplicationController" | "StatefulSet"
    )
}

/// The objects named or selected, or the first error about them.
async fn objects(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: &ScaleArgs,
    io: &mut Io<'_>,
) -> Result<(Vec<(&'static KindInfo, Value)>, bool), CliError> {
    let t = target::parse(&a.targets, "scale")?;
    for kind in t.kinds() {
        if !scalable(kind) {
            return Err(CliError::msg(format!(
                "{} cannot be scaled; scale works on deployments, replicasets, replicationcontrollers and statefulsets",
                kind.resource()
            )));
        }
    }
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
            match cluster.get(kind, Some(&ctx.namespace), name).await {
                Ok(o) => out.push((*kind, o)),
                Err(e) => {
                    io.errln(server_error_line(&e));
                    failed = true;
                }
            }
        }
        return Ok((out, failed));
    }
    if a.selector.is_none() && !a.all {
        return Err(CliError::msg(
            "resource(s) were provided, but no name was specified; give names, -l SELECTOR or --all",
        ));
    }
    let opts = ListOptions {
        label_selector: a.selector.clone(),
        ..Default::default()
    };
    for kind in t.kinds() {
        for o in cluster.list(kind, Some(&ctx.namespace), &opts).await?.items {
            out.push((kind, o));
        }
    }
    Ok((out, failed))
}

/// kubectl's ScalePrecondition check: `Expected replicas to be 3, was 2`.
fn check_preconditions(a: &ScaleArgs, obj: &Value) -> Result<(), CliError> {
    if let Some(want) = a.current_replicas.filter(|n| *n >= 0) {
        let was = obj
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        if was != want {
            return Err(CliError::msg(format!(
                "Expected replicas to be {want}, was {was}"
            )));
        }
    }
    if let Some(rv) = a.resource_version.as_deref().filter(|s| !s.is_empty())
        && rv != obj.resource_version()
    {
        return Err(CliError::msg(format!(
            "Expected resource version to be {rv}, was {}",
            obj.resource_version()
        )));
    }
    Ok(())
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: ScaleArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let replicas = match a.replicas {
        Some(n) if n >= 0 => n,
        _ => {
            return Err(CliError::msg(
                "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
            ));
        }
    };
    let name_only = match a.output.as_deref() {
        None | Some("") => false,
        Some("name") => true,
        Some(other) => {
            return Err(CliError::msg(format!(
                "unable to match a printer suitable for the output format {other:?}, allowed formats are: name"
            )));
        }
    };
    let dry = DryRun::parse(&a.dry_run)?;
    let (objs, mut failed) = objects(cluster, ctx, &a, io).await?;
    if objs.is_empty() && !failed {
        return Err(CliError::msg("no objects passed to scale"));
    }
    if objs.len() > 1 && a.resource_version.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(CliError::msg(
            "cannot use --resource-version with multiple resources",
        ));
    }
    let opts = WriteOptions {
        dry_run: dry.active(),
        ..Default::default()
    };
    let checked = a.current_replicas.is_some_and(|n| n >= 0)
        || a.resource_version.as_deref().is_some_and(|s| !s.is_empty());
    for (kind, obj) in objs {
        if let Err(e) = check_preconditions(&a, &obj) {
            io.errln(e.line().unwrap_or_default());
            failed = true;
            continue;
        }
        let reference = object_ref(kind, obj.name());
        if dry != DryRun::Client {
            let mut body = json!({"spec": {"replicas": replicas}});
            if checked {
                body["metadata"] = json!({"resourceVersion": obj.resource_version()});
            }
            if let Err(e) = cluster
                .patch(kind, obj.namespace(), obj.name(), Patch::Merge(body), &opts)
                .await
            {
                io.errln(server_error_line(&e));
                failed = true;
                continue;
            }
        }
        if name_only {
            io.outln(reference);
        } else {
            io.outln(format!("{reference} scaled{}", dry.suffix()));
        }
    }
    if failed {
        Err(CliError::Reported)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::args::Command;
    use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};
    use serde_json::json;

    fn cluster() -> FakeCluster {
        let c = FakeCluster::default();
        c.insert(json!({"apiVersion":"apps/v1","kind":"Deployment",
            "metadata":{"name":"web","namespace":"default","labels":{"app":"web"}},
            "spec":{"replicas":3}}));
        c.insert(json!({"apiVersion":"apps/v1","kind":"ReplicaSet",
            "metadata":{"name":"web-1","namespace":"default","labels":{"app":"web"}},
            "spec":{"replicas":2}}));
        c.insert(json!({"apiVersion":"v1","kind":"ReplicationController",
            "metadata":{"name":"old","namespace":"default"},"spec":{"replicas":1}}));
        c.insert(json!({"apiVersion":"v1","kind":"Pod",
            "metadata":{"name":"p","namespace":"default"},"spec":{}}));
        c
    }

    fn verb(c: &FakeCluster, args: &[&str]) -> (i32, String, String) {
        let Command::Scale(a) = parse(args) else {
            panic!("not scale")
        };
        let ctx = ctx();
        run_verb!(|io| super::run(c, &ctx, a, io))
    }

    fn replicas(c: &FakeCluster, resource: &str, name: &str) -> i64 {
        c.object(resource, "default", name).unwrap()["spec"]["replicas"]
            .as_i64()
            .unwrap()
    }

    #[test]
    fn scales_each_kind_and_prints_like_kubectl() {
        let c = cluster();
        let (code, out, err) = verb(&c, &["scale", "deploy/web", "--replicas=5"]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "deployment.apps/web scaled\n", "")
        );
        assert_eq!(replicas(&c, "deployments.apps", "web"), 5);
        let (code, out, _) = verb(&c, &["scale", "rs", "web-1", "--replicas", "0"]);
        assert_eq!((code, out.as_str()), (0, "replicaset.apps/web-1 scaled\n"));
        assert_eq!(replicas(&c, "replicasets.apps", "web-1"), 0);
        let (code, out, _) = verb(&c, &["scale", "rc/old", "--replicas=2", "-o", "name"]);
        assert_eq!((code, out.as_str()), (0, "replicationcontroller/old\n"));
        assert_eq!(replicas(&c, "replicationcontrollers", "old"), 2);
    }

    #[test]
    fn selector_scales_every_match() {
        let c = cluster();
        let (code, out, _) = verb(&c, &["scale", "deploy,rs", "-l", "app=web", "--replicas=1"]);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "deployment.apps/web scaled\nreplicaset.apps/web-1 scaled\n"
        );
        assert_eq!(replicas(&c, "deployments.apps", "web"), 1);
        assert_eq!(replicas(&c, "replicasets.apps", "web-1"), 1);
    }

    #[test]
    fn current_replicas_is_a_precondition() {
        let c = cluster();
        let (code, out, err) = verb(
            &c,
            &[
                "scale",
                "deploy/web",
                "--replicas=5",
                "--current-replicas=2",
            ],
        );
        assert_eq!(code, 1);
        assert_eq!(out, "");
        assert_eq!(err, "error: Expected replicas to be 2, was 3\n");
        assert_eq!(replicas(&c, "deployments.apps", "web"), 3);
        let (code, _, _) = verb(
            &c,
            &[
                "scale",
                "deploy/web",
                "--replicas=5",
                "--current-replicas=3",
            ],
        );
        assert_eq!(code, 0);
        assert_eq!(replicas(&c, "deployments.apps", "web"), 5);
    }

    #[test]
    fn errors_match_kubectl() {
        let c = cluster();
        let (code, _, err) = verb(&c, &["scale", "deploy/web"]);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0\n"
        );
        let (code, _, err) = verb(&c, &["scale", "deploy/web", "--replicas=-1"]);
        assert_eq!(code, 1);
        assert!(err.contains("--replicas=COUNT"), "{err}");
        let (code, _, err) = verb(&c, &["scale", "deploy/nope", "--replicas=1"]);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "Error from server (NotFound): deployments.apps \"nope\" not found\n"
        );
        let (code, _, err) = verb(&c, &["scale", "pod/p", "--replicas=1"]);
        assert_eq!(code, 1);
        assert!(err.starts_with("error: pods cannot be scaled"), "{err}");
        let (code, _, err) = verb(&c, &["scale", "deploy", "--replicas=1"]);
        assert_eq!(code, 1);
        assert!(err.contains("no name was specified"), "{err}");
        let (code, out, _) = verb(&c, &["scale", "deploy/web", "--replicas=9", "--dry-run"]);
        assert_eq!(
            (code, out.as_str()),
            (0, "deployment.apps/web scaled (dry run)\n")
        );
        assert_eq!(replicas(&c, "deployments.apps", "web"), 3);
    }
}
