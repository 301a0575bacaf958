//! Running the console's effects against the cluster. Each runs as its own task and reports
//! one line (or a text to show) back to the UI loop, so no request ever blocks the UI.

use crate::api::error::ApiError;
use crate::api::manifest;
use crate::api::object::ObjectExt;
use crate::api::request::{
    BatchMode, DeleteOptions, FieldValidation, Patch, Propagation, WriteOptions,
};
use crate::client::validate::{self, CreateChecks};
use crate::cluster::Cluster;
use crate::tui::app::{Effect, Target};
use serde_json::{Value, json};
use std::sync::Arc;

/// What an effect reports back.
#[derive(Debug)]
pub enum Report {
    /// A one-line result; `error` colours it.
    Line { text: String, error: bool },
    /// A text to show full screen (describe); `usage` names the pod (`ns/name`) whose CPU
    /// and memory history shows above it.
    Text {
        title: String,
        text: String,
        usage: Option<String>,
    },
}

fn ok(text: impl Into<String>) -> Report {
    Report::Line {
        text: text.into(),
        error: false,
    }
}

fn fail(text: impl Into<String>) -> Report {
    Report::Line {
        text: text.into(),
        error: true,
    }
}

/// One line for an API error: kubectl's `Error from server (Reason): message`.
fn api_line(e: &ApiError) -> String {
    format!("Error from server ({:?}): {}", e.reason, e.message)
}

/// Run one effect (not `WatchMain` or `Shell`, which the loop handles itself).
pub async fn run(cluster: Arc<dyn Cluster>, effect: Effect, namespace: Option<String>) -> Report {
    match effect {
        Effect::Describe(t) => describe(&*cluster, &t).await,
        Effect::Delete {
            targets,
            grace,
            force,
        } => delete(&*cluster, &targets, grace, force).await,
        Effect::Scale { target, replicas } => {
            let patch = Patch::Merge(json!({"spec": {"replicas": replicas}}));
            match patch_one(&*cluster, &target, patch).await {
                Ok(_) => ok(format!("{} scaled to {replicas}", target.reference())),
                Err(e) => fail(api_line(&e)),
            }
        }
        Effect::RolloutRestart(target) => {
            let now = jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            let patch = Patch::Merge(json!({"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": now
            }}}}}));
            match patch_one(&*cluster, &target, patch).await {
                Ok(_) => ok(format!("{} restarted", target.reference())),
                Err(e) => fail(api_line(&e)),
            }
        }
        Effect::Patch {
            targets,
            patch,
            what,
        } => {
            let mut done = Vec::new();
            for t in &targets {
                match patch_one(&*cluster, t, Patch::Merge(patch.clone())).await {
                    Ok(_) => done.push(t.reference()),
                    Err(e) => return fail(api_line(&e)),
                }
            }
            ok(format!("{} {what}", done.join(", ")))
        }
        Effect::Update(obj) => {
            let name = match crate::api::object::kind_of(&obj) {
                Ok(kind) => crate::client::edit::object_ref(kind, obj.name()),
                Err(_) => obj.name().to_string(),
            };
            let opts = WriteOptions {
                dry_run: false,
                field_validation: FieldValidation::Strict,
            };
            match cluster.update(obj, &opts).await {
                Ok(_) => ok(format!("{name} edited")),
                Err(e) => fail(format!("{name} was not saved: {}", api_line(&e))),
            }
        }
        Effect::Apply(path) => apply(&*cluster, &path, namespace.as_deref()).await,
        Effect::CreateNamespace(name) => {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            match cluster.create(obj, &WriteOptions::default()).await {
                Ok(_) => ok(format!("namespace/{name} created")),
                Err(e) => fail(api_line(&e)),
            }
        }
        Effect::WatchMain { .. }
        | Effect::Shell { .. }
        | Effect::PortForward { .. }
        | Effect::StopForward(_) => ok(""),
    }
}

async fn patch_one(cluster: &dyn Cluster, t: &Target, patch: Patch) -> Result<Value, ApiError> {
    cluster
        .patch(
            t.kind,
            t.namespace.as_deref(),
            &t.name,
            patch,
            &WriteOptions::default(),
        )
        .await
}

async fn describe(cluster: &dyn Cluster, t: &Target) -> Report {
    match cluster.get(t.kind, t.namespace.as_deref(), &t.name).await {
        Ok(obj) => {
            let text = crate::client::describe::describe_one(
                cluster,
                t.kind,
                &obj,
                true,
                jiff::Timestamp::now(),
            )
            .await;
            Report::Text {
                title: format!("describe {}", t.reference()),
                text,
                usage: (t.kind.kind == "Pod").then(|| t.key()),
            }
        }
        Err(e) => fail(api_line(&e)),
    }
}

async fn delete(
    cluster: &dyn Cluster,
    targets: &[Target],
    grace: Option<i64>,
    force: bool,
) -> Report {
    let opts = DeleteOptions {
        grace_period_seconds: grace,
        propagation: Some(Propagation::Background),
        ..Default::default()
    };
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for t in targets {
        match cluster
            .delete(t.kind, t.namespace.as_deref(), &t.name, &opts)
            .await
        {
            Ok(_) => done.push(t.reference()),
            Err(e) if e.is_not_found() => {}
            Err(e) => errors.push(api_line(&e)),
        }
    }
    let verb = if force { "killed" } else { "deleted" };
    match (done.as_slice(), errors.first()) {
        (_, Some(e)) => fail(if done.is_empty() {
            e.clone()
        } else {
            format!("{} {verb}; {e}", done.join(", "))
        }),
        ([], None) => ok("nothing to delete: already gone"),
        ([one], None) => ok(format!("{one} {verb}")),
        (many, None) => ok(format!("{} objects {verb}", many.len())),
    }
}

/// `:apply PATH`: what `peapod apply -f PATH` does, validated the same way; all or nothing.
async fn apply(cluster: &dyn Cluster, path: &std::path::Path, namespace: Option<&str>) -> Report {
    let paths = [path.display().to_string()];
    let docs = match manifest::read_paths(&paths, true) {
        Ok(d) => d,
        Err(errs) => {
            return fail(
                errs.first()
                    .map_or_else(|| "cannot read the manifests".into(), ToString::to_string),
            );
        }
    };
    if docs.is_empty() {
        return fail(format!("no objects in {}", path.display()));
    }
    let report = validate::check_all(&docs, FieldValidation::Strict, &CreateChecks);
    if let Some(e) = report.errors.first() {
        return fail(format!("nothing applied: {e}"));
    }
    let objs: Vec<Value> = docs.into_iter().map(|d| d.value).collect();
    let opts = WriteOptions {
        dry_run: false,
        field_validation: FieldValidation::Strict,
    };
    match cluster
        .apply_batch(
            objs,
            BatchMode::Apply,
            namespace.unwrap_or("default"),
            &opts,
        )
        .await
    {
        Ok(outcomes) => {
            let parts: Vec<String> = outcomes
                .iter()
                .map(|o| {
                    let obj = o.object();
                    format!(
                        "{}/{} {}",
                        obj.kind_str().to_lowercase(),
                        obj.name(),
                        o.verb()
                    )
                })
                .collect();
            ok(parts.join(", "))
        }
        Err(e) => fail(format!("nothing applied: {}", api_line(&e))),
    }
}
