//! `peapod set image KIND/NAME CONTAINER=IMAGE...`, as kubectl's: every named container
//! (init containers too; `*` means all) of a pod or a workload's pod template gets the new
//! image; prints `deployment.apps/web image updated`.

use super::{CliError, Ctx, Io};
use crate::api::kinds::KindInfo;
use crate::api::request::{Patch, WriteOptions};
use crate::client::text::object_ref;
use crate::cluster::Cluster;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum SetCommand {
    /// Update container images: `set image deploy/web web=nginx:1.27`.
    Image(SetImageArgs),
}

#[derive(Debug, Args)]
pub struct SetImageArgs {
    /// `KIND/NAME... CONTAINER=IMAGE...` or `KIND NAME... CONTAINER=IMAGE...`.
    #[arg(value_name = "ARGS", required = true)]
    pub args: Vec<String>,
}

/// Where the pod spec lives in an object of this kind.
pub fn pod_spec_path(kind: &KindInfo) -> Option<&'static str> {
    match kind.kind {
        "Pod" => Some("/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicationController"
        | "Job"
        | "PodTemplate" => Some("/spec/template/spec"),
        _ => None,
    }
}

/// Split `KIND/NAME ... C=IMAGE ...` into targets and (container, image) pairs.
/// Targets and (container, image) pairs.
pub type Split = (Vec<String>, Vec<(String, String)>);

pub fn split(args: &[String]) -> Result<Split, CliError> {
    let mut targets = Vec::new();
    let mut pairs = Vec::new();
    for a in args {
        match a.split_once('=') {
            Some((c, i)) => {
                if c.is_empty() || i.is_empty() {
                    return Err(CliError::msg(format!(
                        "invalid image update {a:?}: use CONTAINER=IMAGE"
                    )));
                }
                pairs.push((c.to_string(), i.to_string()));
            }
            None if pairs.is_empty() => targets.push(a.clone()),
            None => {
                return Err(CliError::msg(format!(
                    "all resources must be specified before image changes: {a}"
                )));
            }
        }
    }
    if pairs.is_empty() {
        return Err(CliError::msg("at least one image update is required"));
    }
    Ok((targets, pairs))
}

/// JSON-patch operations setting the images (each guarded by a test of the container name),
/// or the container names that matched nothing.
pub fn image_ops(
    obj: &Value,
    spec_path: &str,
    pairs: &[(String, String)],
) -> Result<Vec<Value>, String> {
    let mut ops = Vec::new();
    let mut missing = Vec::new();
    for (container, image) in pairs {
        let mut found = false;
        for list in ["initContainers", "containers"] {
            let path = format!("{spec_path}/{list}");
            let Some(cs) = obj.pointer(&path).and_then(Value::as_array) else {
                continue;
            };
            for (i, c) in cs.iter().enumerate() {
                let name = c["name"].as_str().unwrap_or_default();
                if container == "*" || container == name {
                    found = true;
                    ops.push(
                        json!({"op": "test", "path": format!("{path}/{i}/name"), "value": name}),
                    );
                    ops.push(json!({"op": "replace", "path": format!("{path}/{i}/image"), "value": image}));
                }
            }
        }
        if !found {
            missing.push(container.clone());
        }
    }
    match missing.first() {
        Some(m) => Err(format!("unable to find container named {m:?}")),
        None => Ok(ops),
    }
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    cmd: SetCommand,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let SetCommand::Image(a) = cmd;
    let (targets, pairs) = split(&a.args)?;
    let target = super::target::parse(&targets, "set image")?;
    if !target.named {
        return Err(CliError::msg("set image needs KIND/NAME or KIND NAME"));
    }
    for (kind, name) in &target.items {
        let Some(name) = name else { continue };
        let Some(path) = pod_spec_path(kind) else {
            return Err(CliError::msg(format!(
                "{} have no pod template to set images in",
                kind.plural
            )));
        };
        let obj = cluster.get(kind, Some(&ctx.namespace), name).await?;
        let ops = image_ops(&obj, path, &pairs).map_err(CliError::Msg)?;
        cluster
            .patch(
                kind,
                Some(&ctx.namespace),
                name,
                Patch::Json(json!(ops)),
                &WriteOptions::default(),
            )
            .await?;
        io.outln(format!("{} image updated", object_ref(kind, name)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn splits_targets_and_images() {
        let (t, p) = split(&s(&["deploy/web", "c=x:1", "d=y"])).unwrap();
        assert_eq!(t, ["deploy/web"]);
        assert_eq!(
            p,
            [
                ("c".to_string(), "x:1".to_string()),
                ("d".to_string(), "y".to_string())
            ]
        );
        assert!(split(&s(&["deploy/web"])).is_err());
        assert!(split(&s(&["deploy/web", "c="])).is_err());
        assert!(split(&s(&["c=x", "deploy/web"])).is_err());
    }

    #[test]
    fn ops_cover_init_containers_and_star() {
        let d = json!({"spec":{"template":{"spec":{
            "initContainers":[{"name":"init","image":"a"}],
            "containers":[{"name":"web","image":"a"},{"name":"side","image":"a"}]}}}});
        let ops = image_ops(&d, "/spec/template/spec", &[("web".into(), "b".into())]).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1]["path"], "/spec/template/spec/containers/0/image");
        let ops = image_ops(&d, "/spec/template/spec", &[("*".into(), "b".into())]).unwrap();
        assert_eq!(ops.len(), 6);
        let patched = crate::api::patch::json_patch(&d, &json!(ops)).unwrap();
        assert_eq!(
            patched["spec"]["template"]["spec"]["initContainers"][0]["image"],
            "b"
        );
        assert_eq!(
            image_ops(&d, "/spec/template/spec", &[("nope".into(), "b".into())]).unwrap_err(),
            "unable to find container named \"nope\""
        );
    }
}
