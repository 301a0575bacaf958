//! `delete`: by name, `KIND/NAME`, selector, `--all` or manifest; grace period, force,
//! cascade; then (by default) wait until the objects are gone, as kubectl does.

use super::args::DeleteArgs;
use super::output::{kind_name, object_ref};
use super::{CliError, Ctx, Io, parse_duration, server_error_line, target};
use crate::api::kinds::KindInfo;
use crate::api::manifest;
use crate::api::object::{ObjectExt, kind_of};
use crate::api::request::{DeleteOptions, DeleteOutcome, ListOptions, Propagation};
use crate::cluster::Cluster;
use std::time::{Duration, Instant};

use super::apply::DryRun;

/// One object to delete.
#[derive(Debug, Clone, PartialEq)]
struct Victim {
    kind: &'static KindInfo,
    namespace: Option<String>,
    name: String,
}

/// kubectl's grace period rules: `--now` is 1s; `--grace-period=0` without `--force` becomes
/// 1s; `--force` without a grace period is 0 (immediate). Returns (grace, immediate warning).
fn grace_period(a: &DeleteArgs) -> Result<(Option<i64>, bool), CliError> {
    let mut grace = a.grace_period;
    if a.now {
        if grace >= 0 {
            return Err(CliError::msg(
                "--now and --grace-period cannot be specified together",
            ));
        }
        grace = 1;
    }
    if grace == 0 && !a.force {
        grace = 1;
    }
    if a.force && grace < 0 {
        grace = 0;
    }
    let warn = a.force && grace == 0;
    Ok((if grace >= 0 { Some(grace) } else { None }, warn))
}

async fn collect(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: &DeleteArgs,
) -> Result<(Vec<Victim>, bool), CliError> {
    if !a.filenames.is_empty() {
        if !a.targets.is_empty() {
            return Err(CliError::msg("use either -f FILE or KIND NAME, not both"));
        }
        let docs = manifest::read_paths(&a.filenames, a.recursive).map_err(|errs| {
            CliError::msg(
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let mut out = Vec::new();
        for d in docs {
            let kind = kind_of(&d.value)
                .map_err(|e| CliError::msg(format!("{}: {}", d.source, e.message)))?;
            let ns = kind
                .namespaced
                .then(|| d.value.namespace().unwrap_or(&ctx.namespace).to_string());
            out.push(Victim {
                kind,
                namespace: ns,
                name: d.value.name().to_string(),
            });
        }
        return Ok((out, false));
    }
    if a.targets.is_empty() {
        return Err(CliError::msg(
            "You must provide one or more resources by argument or filename (e.g. `peapod delete pod web`, `peapod delete -f pod.yaml`).",
        ));
    }
    let t = target::parse(&a.targets, "delete")?;
    let selecting = a.selector.is_some() || a.field_selector.is_some() || a.all;
    if t.named {
        if a.selector.is_some() {
            return Err(CliError::msg(
                "name cannot be provided when a selector is specified",
            ));
        }
        if a.all {
            return Err(CliError::msg("cannot set --all and names together"));
        }
        if a.all_namespaces {
            return Err(CliError::msg(
                "a resource cannot be retrieved by name across all namespaces",
            ));
        }
        let out = t
            .items
            .iter()
            .filter_map(|(k, n)| {
                n.as_ref().map(|n| Victim {
                    kind: k,
                    namespace: k.namespaced.then(|| ctx.namespace.clone()),
                    name: n.clone(),
                })
            })
            .collect();
        return Ok((out, false));
    }
    if !selecting {
        return Err(CliError::msg(
            "resource(s) were provided, but no name was specified; give names, -l SELECTOR or --all",
        ));
    }
    let opts = ListOptions {
        label_selector: a.selector.clone(),
        field_selector: a.field_selector.clone(),
        resource_version: None,
    };
    let mut out = Vec::new();
    for kind in t.kinds() {
        let ns = if kind.namespaced && !a.all_namespaces {
            Some(ctx.namespace.as_str())
        } else {
            None
        };
        for o in cluster.list(kind, ns, &opts).await?.items {
            out.push(Victim {
                kind,
                namespace: o.namespace().map(str::to_string),
                name: o.name().to_string(),
            });
        }
    }
    Ok((out, true))
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: DeleteArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let (grace, immediate) = grace_period(&a)?;
    let propagation = Propagation::parse(&a.cascade).map_err(|_| {
        CliError::msg(format!(
            "invalid --cascade {:?}: use background, foreground or orphan",
            a.cascade
        ))
    })?;
    let dry = DryRun::parse(&a.dry_run)?;
    let timeout = parse_duration(&a.timeout)?;
    let name_output = match a.output.as_deref() {
        None | Some("") => false,
        Some("name") => true,
        Some(o) => {
            return Err(CliError::msg(format!(
                "unable to match a printer suitable for the output format {o:?}, allowed formats are: name"
            )));
        }
    };

    let (victims, listed) = collect(cluster, ctx, &a).await?;
    if victims.is_empty() && listed {
        io.outln("No resources found");
        return Ok(());
    }
    if immediate {
        io.errln(
            "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.",
        );
    }
    let opts = DeleteOptions {
        grace_period_seconds: grace,
        propagation: Some(propagation),
        dry_run: dry.active(),
        ..Default::default()
    };

    let mut failed = false;
    let mut waiting: Vec<(Victim, String)> = Vec::new();
    for v in victims {
        if dry == DryRun::Client {
            // Client dry run only checks that the object exists.
            match cluster.get(v.kind, v.namespace.as_deref(), &v.name).await {
                Ok(_) => print_deleted(io, &v, name_output, dry),
                Err(e) if e.is_not_found() && a.ignore_not_found => {}
                Err(e) => {
                    io.errln(server_error_line(&e));
                    failed = true;
                }
            }
            continue;
        }
        match cluster
            .delete(v.kind, v.namespace.as_deref(), &v.name, &opts)
            .await
        {
            Ok(outcome) => {
                print_deleted(io, &v, name_output, dry);
                if let DeleteOutcome::Pending(obj) = &outcome {
                    waiting.push((v.clone(), obj.uid().to_string()));
                } else if !dry.active() && !immediate {
                    // The store may still hold it (e.g. a remote cluster answering 200 before
                    // finalizers ran); confirm like kubectl's wait does.
                    waiting.push((v.clone(), outcome.object().uid().to_string()));
                }
            }
            Err(e) if e.is_not_found() && a.ignore_not_found => {}
            Err(e) => {
                io.errln(server_error_line(&e));
                failed = true;
            }
        }
    }

    if a.wait && !dry.active() && !waiting.is_empty() {
        let deadline = if timeout.is_zero() {
            None
        } else {
            Some(Instant::now() + timeout)
        };
        for (v, uid) in waiting {
            if let Err(e) = wait_gone(cluster, &v, &uid, deadline).await {
                io.errln(e.line().unwrap_or_default());
                failed = true;
            }
        }
    }
    if failed {
        Err(CliError::Reported)
    } else {
        Ok(())
    }
}

fn print_deleted(io: &mut Io<'_>, v: &Victim, name_output: bool, dry: DryRun) {
    if name_output {
        io.outln(object_ref(v.kind, &v.name));
    } else {
        io.outln(format!(
            "{} {:?} deleted{}",
            kind_name(v.kind),
            v.name,
            dry.suffix()
        ));
    }
}

/// Poll until the object is gone (or replaced by a new one with another uid).
async fn wait_gone(
    cluster: &dyn Cluster,
    v: &Victim,
    uid: &str,
    deadline: Option<Instant>,
) -> Result<(), CliError> {
    let mut pause = Duration::from_millis(50);
    loop {
        match cluster.get(v.kind, v.namespace.as_deref(), &v.name).await {
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
            Ok(obj) if !uid.is_empty() && obj.uid() != uid => return Ok(()),
            Ok(_) => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(CliError::msg(format!(
                "timed out waiting for the condition on {}/{}",
                v.kind.resource(),
                v.name
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Command;
    use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};
    use serde_json::json;

    fn cluster() -> FakeCluster {
        let c = FakeCluster::default();
        for (n, rel) in [("a", "stable"), ("b", "canary"), ("c", "canary")] {
            c.insert(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n, "namespace": "default", "labels": {"rel": rel}}}));
        }
        c.insert(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}}));
        c
    }

    fn delete(c: &FakeCluster, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["delete"];
        all.extend_from_slice(args);
        let Command::Delete(a) = parse(&all) else {
            panic!()
        };
        run_verb!(|io| run(c, &ctx(), a, io))
    }

    #[test]
    fn grace_rules() {
        let g = |args: &[&str]| {
            let mut all = vec!["delete", "po", "x"];
            all.extend_from_slice(args);
            let Command::Delete(a) = parse(&all) else {
                panic!()
            };
            grace_period(&a).map_err(|e| e.to_string())
        };
        assert_eq!(g(&[]).unwrap(), (None, false));
        assert_eq!(g(&["--grace-period=0"]).unwrap(), (Some(1), false));
        assert_eq!(
            g(&["--grace-period=0", "--force"]).unwrap(),
            (Some(0), true)
        );
        assert_eq!(g(&["--force"]).unwrap(), (Some(0), true));
        assert_eq!(
            g(&["--force", "--grace-period=5"]).unwrap(),
            (Some(5), false)
        );
        assert_eq!(g(&["--now"]).unwrap(), (Some(1), false));
        assert!(g(&["--now", "--grace-period=3"]).is_err());
    }

    #[test]
    fn by_name_selector_and_not_found() {
        let c = cluster();
        let (code, out, err) = delete(&c, &["po", "a"]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "pod \"a\" deleted\n", "")
        );
        let (code, out, err) = delete(&c, &["po", "zz", "b"]);
        assert_eq!(code, 1);
        assert_eq!(
            out, "pod \"b\" deleted\n",
            "other names are still processed"
        );
        assert_eq!(err, "Error from server (NotFound): pods \"zz\" not found\n");
        let (code, _, _) = delete(&c, &["po", "zz", "--ignore-not-found"]);
        assert_eq!(code, 0);
        let (code, out, _) = delete(&c, &["deploy/web"]);
        assert_eq!(
            (code, out.as_str()),
            (0, "deployment.apps \"web\" deleted\n")
        );
        let (_, out, _) = delete(&c, &["po", "-l", "rel=canary"]);
        assert_eq!(out, "pod \"c\" deleted\n");
        let (code, out, _) = delete(&c, &["po", "-l", "rel=canary"]);
        assert_eq!((code, out.as_str()), (0, "No resources found\n"));
        assert!(delete(&c, &["po"]).2.contains("no name was specified"));
        assert!(
            delete(&c, &[])
                .2
                .contains("You must provide one or more resources")
        );
    }

    #[test]
    fn options_sent_and_force_warning() {
        let c = cluster();
        let (_, _, err) = delete(
            &c,
            &["po", "a", "--force", "--grace-period=0", "--cascade=orphan"],
        );
        assert!(
            err.starts_with("Warning: Immediate deletion does not wait"),
            "{err}"
        );
        assert!(c.calls().iter().any(|l| l == "delete pods default/a grace=Some(0) propagation=Some(\"Orphan\") dry_run=false"), "{:?}", c.calls());
        let (_, out, _) = delete(&c, &["po", "b", "--dry-run=server"]);
        assert_eq!(out, "pod \"b\" deleted (server dry run)\n");
        assert!(c.object("pods", "default", "b").is_some());
        let (_, out, _) = delete(&c, &["po", "--all", "-o", "name", "--cascade=false"]);
        assert_eq!(out, "pod/b\npod/c\n");
    }

    #[test]
    fn waits_until_gone_or_times_out() {
        let c = cluster();
        *c.linger_reads.lock().unwrap() = 2;
        let (code, out, _) = delete(&c, &["po", "a"]);
        assert_eq!((code, out.as_str()), (0, "pod \"a\" deleted\n"));
        assert!(c.object("pods", "default", "a").is_none());
        *c.linger_reads.lock().unwrap() = 1_000_000;
        let (code, _, err) = delete(&c, &["po", "b", "--timeout=200ms"]);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "error: timed out waiting for the condition on pods/b\n"
        );
        let (code, _, _) = delete(&c, &["po", "c", "--wait=false"]);
        assert_eq!(code, 0);
    }
}
