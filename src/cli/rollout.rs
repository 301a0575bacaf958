//! `peapod rollout status|history|undo|pause|resume|restart deploy/NAME`, as kubectl's:
//! status waits on the Deployment's observedGeneration/updated/available counts; history
//! lists the revisions of its ReplicaSets; undo copies an old ReplicaSet's template back
//! (client-side, a JSON patch of the template and annotations); pause/resume flip
//! `spec.paused`; restart stamps `kubectl.kubernetes.io/restartedAt` on the template.

use super::{CliError, Ctx, Io};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::ObjectExt;
use crate::api::request::{ListOptions, Patch, WriteOptions};
use crate::client::text::{object_ref, tabwrite};
use crate::cluster::Cluster;
use crate::controllers::deployment::conditions::{PROGRESSING, TIMED_OUT, get};
use crate::controllers::deployment::hash::POD_TEMPLATE_HASH;
use crate::controllers::deployment::history::{history_rows, rollback_target};
use crate::controllers::deployment::util::{
    equal_ignore_hash, int_at, revision, skip_annotation, spec_replicas,
};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Wait until a Deployment's rollout finishes (or print where it is with --watch=false).
    Status(StatusArgs),
    /// List a Deployment's revisions with their change-cause.
    History(HistoryArgs),
    /// Go back to the previous revision, or to --to-revision=N.
    Undo(UndoArgs),
    /// Stop rolling out template changes (scaling still works).
    Pause(RolloutTarget),
    /// Roll out again after `rollout pause`.
    Resume(RolloutTarget),
    /// Replace every pod by rolling out a restartedAt annotation.
    Restart(RolloutTarget),
}

#[derive(Debug, Args)]
pub struct RolloutTarget {
    /// `deploy/NAME` or `deploy NAME`.
    #[arg(value_name = "TARGET", required = true)]
    pub target: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(value_name = "TARGET", required = true)]
    pub target: Vec<String>,
    /// Keep waiting until the rollout finishes (default true).
    #[arg(short = 'w', long, default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub watch: bool,
    /// Give up after this long (0 waits forever), e.g. 30s, 5m.
    #[arg(long, default_value = "0s")]
    pub timeout: String,
    /// Fail unless the Deployment is at this revision (0: any).
    #[arg(long, default_value_t = 0)]
    pub revision: i64,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(value_name = "TARGET", required = true)]
    pub target: Vec<String>,
    /// Show the pod template of this revision.
    #[arg(long, default_value_t = 0)]
    pub revision: i64,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    #[arg(value_name = "TARGET", required = true)]
    pub target: Vec<String>,
    /// The revision to go back to (0: the previous one).
    #[arg(long, default_value_t = 0)]
    pub to_revision: i64,
}

fn deployments() -> Result<&'static KindInfo, CliError> {
    kinds::lookup("deployments").ok_or_else(|| CliError::msg("deployments are not served"))
}

/// The one Deployment named by `deploy/NAME` or `deploy NAME`.
fn deployment_name(args: &[String]) -> Result<String, CliError> {
    let t = super::target::parse(args, "rollout")?;
    let d = deployments()?;
    match t.items.as_slice() {
        [(k, Some(name))] if std::ptr::eq(*k, d) => Ok(name.clone()),
        [(k, Some(_))] => Err(CliError::msg(format!(
            "rollout is implemented for deployments only, not {}",
            k.plural
        ))),
        [(_, None)] => Err(CliError::msg(
            "required resource not specified: use deploy/NAME",
        )),
        _ => Err(CliError::msg("rollout takes exactly one deployment")),
    }
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    cmd: RolloutCommand,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    match cmd {
        RolloutCommand::Status(a) => status(cluster, ctx, &a, io).await,
        RolloutCommand::History(a) => history(cluster, ctx, &a, io).await,
        RolloutCommand::Undo(a) => undo(cluster, ctx, &a, io).await,
        RolloutCommand::Pause(a) => set_paused(cluster, ctx, &a, true, io).await,
        RolloutCommand::Resume(a) => set_paused(cluster, ctx, &a, false, io).await,
        RolloutCommand::Restart(a) => restart(cluster, ctx, &a, io).await,
    }
}

async fn get_deployment(cluster: &dyn Cluster, ctx: &Ctx, name: &str) -> Result<Value, CliError> {
    Ok(cluster
        .get(deployments()?, Some(&ctx.namespace), name)
        .await?)
}

/// kubectl's `DeploymentStatusViewer.Status`: (message, done).
pub fn status_message(d: &Value, want_revision: i64) -> Result<(String, bool), CliError> {
    let name = d.name();
    if want_revision > 0 {
        let rev = revision(d).unwrap_or(0);
        if rev != want_revision {
            return Err(CliError::msg(format!(
                "desired revision ({want_revision}) is different from the running revision ({rev})"
            )));
        }
    }
    if d.generation() > int_at(d, "/status/observedGeneration").unwrap_or(0) {
        return Ok((
            "Waiting for deployment spec update to be observed...".into(),
            false,
        ));
    }
    let status = d.get("status").cloned().unwrap_or(Value::Null);
    if get(&status, PROGRESSING).is_some_and(|c| c["reason"] == TIMED_OUT) {
        return Err(CliError::msg(format!(
            "deployment {name:?} exceeded its progress deadline"
        )));
    }
    let n = |k: &str| status.get(k).and_then(Value::as_i64).unwrap_or(0);
    let (replicas, updated, available) =
        (n("replicas"), n("updatedReplicas"), n("availableReplicas"));
    let want = spec_replicas(d);
    if updated < want {
        return Ok((
            format!(
                "Waiting for deployment {name:?} rollout to finish: {updated} out of {want} new replicas have been updated..."
            ),
            false,
        ));
    }
    if replicas > updated {
        return Ok((
            format!(
                "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
                replicas - updated
            ),
            false,
        ));
    }
    if available < updated {
        return Ok((
            format!(
                "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
            ),
            false,
        ));
    }
    Ok((format!("deployment {name:?} successfully rolled out"), true))
}

async fn status(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: &StatusArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let name = deployment_name(&a.target)?;
    let timeout = super::parse_duration(&a.timeout)?;
    let start = Instant::now();
    let mut last = String::new();
    loop {
        let d = get_deployment(cluster, ctx, &name).await?;
        let (msg, done) = status_message(&d, a.revision)?;
        // kubectl prints a message only when it changes.
        if msg != last {
            io.outln(&msg);
            last = msg;
        }
        if done || !a.watch {
            return Ok(());
        }
        if !timeout.is_zero() && start.elapsed() >= timeout {
            return Err(CliError::msg("timed out waiting for the condition"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The ReplicaSets this Deployment controls.
async fn owned_replica_sets(cluster: &dyn Cluster, d: &Value) -> Result<Vec<Value>, CliError> {
    let rs =
        kinds::lookup("replicasets").ok_or_else(|| CliError::msg("replicasets are not served"))?;
    let list = cluster
        .list(rs, d.namespace(), &ListOptions::default())
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter(|r| {
            r.owner_references()
                .iter()
                .any(|o| o.controller && o.uid == d.uid())
        })
        .collect())
}

async fn history(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: &HistoryArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let name = deployment_name(&a.target)?;
    let d = get_deployment(cluster, ctx, &name).await?;
    let rss = owned_replica_sets(cluster, &d).await?;
    let who = object_ref(deployments()?, &name);
    if a.revision > 0 {
        let rs = rss
            .iter()
            .find(|r| revision(r) == Some(a.revision))
            .ok_or_else(|| {
                CliError::msg(format!(
                    "unable to find the specified revision {}",
                    a.revision
                ))
            })?;
        io.outln(format!("{who} with revision #{}", a.revision));
        io.outln("Pod Template:");
        for line in template_lines(rs.pointer("/spec/template").unwrap_or(&Value::Null)) {
            io.outln(line);
        }
        return Ok(());
    }
    let mut table = String::from("REVISION\tCHANGE-CAUSE\n");
    for (rev, cause) in history_rows(&rss) {
        let cause = if cause.is_empty() {
            "<none>".to_string()
        } else {
            cause
        };
        table.push_str(&format!("{rev}\t{cause}\n"));
    }
    io.outln(format!("{who} "));
    io.outln(tabwrite(&table, 0, 2));
    Ok(())
}

/// A pod template as `rollout history --revision` shows it (labels, annotations, containers).
fn template_lines(t: &Value) -> Vec<String> {
    let map_lines = |title: &str, m: Option<&Value>| -> Vec<String> {
        let pairs: Vec<String> = m
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        if pairs.is_empty() {
            return vec![format!("  {title}:\t<none>")];
        }
        let mut out = vec![format!("  {title}:\t{}", pairs[0])];
        out.extend(pairs[1..].iter().map(|p| format!("  \t{p}")));
        out
    };
    let mut lines = map_lines("Labels", t.pointer("/metadata/labels"));
    lines.extend(map_lines("Annotations", t.pointer("/metadata/annotations")));
    lines.push("  Containers:".into());
    for c in t
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        lines.push(format!("   {}:", c["name"].as_str().unwrap_or_default()));
        lines.push(format!(
            "    Image:\t{}",
            c["image"].as_str().unwrap_or_default()
        ));
    }
    tabwrite(&lines.join("\n"), 0, 1)
        .lines()
        .map(str::to_string)
        .collect()
}

async fn undo(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: &UndoArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let name = deployment_name(&a.target)?;
    let d = get_deployment(cluster, ctx, &name).await?;
    if d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return Err(CliError::msg(
            "you cannot rollback a paused deployment; resume it first with 'peapod rollout resume' and try again",
        ));
    }
    let rss = owned_replica_sets(cluster, &d).await?;
    let rs = rollback_target(&name, &rss, a.to_revision).map_err(CliError::Msg)?;
    let who = object_ref(deployments()?, &name);
    let template = rs.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    if equal_ignore_hash(
        &template,
        d.pointer("/spec/template").unwrap_or(&Value::Null),
    ) {
        io.outln(format!(
            "{who} skipped rollback (current template already matches revision {})",
            revision(rs).unwrap_or(a.to_revision)
        ));
        return Ok(());
    }
    let mut template = template;
    if let Some(l) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        l.remove(POD_TEMPLATE_HASH);
    }
    // The Deployment keeps its own skipped annotations (revision, last-applied) and takes the
    // ReplicaSet's others (change-cause).
    let mut annotations = Map::new();
    for (k, v) in d.annotations() {
        if skip_annotation(&k) {
            annotations.insert(k, json!(v));
        }
    }
    for (k, v) in rs.annotations() {
        if !skip_annotation(&k) {
            annotations.insert(k, json!(v));
        }
    }
    let patch = json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": if d.pointer("/metadata/annotations").is_some() { "replace" } else { "add" },
         "path": "/metadata/annotations", "value": annotations},
    ]);
    cluster
        .patch(
            deployments()?,
            Some(&ctx.namespace),
            &name,
            Patch::Json(patch),
            &WriteOptions::default(),
        )
        .await
        .map_err(|e| {
            CliError::msg(format!(
                "failed restoring revision {}: {}",
                revision(rs).unwrap_or(0),
                e.message
            ))
        })?;
    io.outln(format!("{who} rolled back"));
    Ok(())
}

async fn set_paused(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: &RolloutTarget,
    pause: bool,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let name = deployment_name(&a.target)?;
    let d = get_deployment(cluster, ctx, &name).await?;
    let is_paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
    if is_paused == pause {
        let what = if pause {
            "is already paused"
        } else {
            "is not paused"
        };
        return Err(CliError::msg(format!("deployments.apps {name:?} {what}")));
    }
    let patch =
        Patch::Merge(json!({"spec": {"paused": if pause { json!(true) } else { Value::Null }}}));
    cluster
        .patch(
            deployments()?,
            Some(&ctx.namespace),
            &name,
            patch,
            &WriteOptions::default(),
        )
        .await?;
    let verb = if pause { "paused" } else { "resumed" };
    io.outln(format!("{} {verb}", object_ref(deployments()?, &name)));
    Ok(())
}

async fn restart(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: &RolloutTarget,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let name = deployment_name(&a.target)?;
    let d = get_deployment(cluster, ctx, &name).await?;
    if d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return Err(CliError::msg(format!(
            "deployments.apps {name:?} can't restart paused deployment (run rollout resume first)"
        )));
    }
    let at = ctx.now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let patch = Patch::Merge(json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": at}}}}}));
    cluster
        .patch(
            deployments()?,
            Some(&ctx.namespace),
            &name,
            patch,
            &WriteOptions::default(),
        )
        .await?;
    io.outln(format!("{} restarted", object_ref(deployments()?, &name)));
    Ok(())
}

#[cfg(test)]
mod tests;
