//! Node operations as kubectl does them: `cordon` / `uncordon` (spec.unschedulable),
//! `taint` (spec.taints) and `drain` (cordon, then evict the node's pods, refusing what an
//! eviction would lose unless told: bare pods, DaemonSet pods, emptyDir data).

use super::args::{DrainArgs, NodeArgs, TaintArgs};
use super::{CliError, Io};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::ObjectExt;
use crate::api::request::{DeleteOptions, ListOptions, Patch, WriteOptions};
use crate::cluster::Cluster;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn kind(plural: &str) -> Result<&'static KindInfo, CliError> {
    kinds::lookup(plural).ok_or_else(|| CliError::msg(format!("{plural} are not served")))
}

/// `NAME`, `node/NAME` or `nodes/NAME`.
fn node_name(arg: &str) -> Result<String, CliError> {
    match arg.split_once('/') {
        Some((k, name)) if kinds::lookup(k).is_some_and(|k| k.kind == "Node") => {
            Ok(name.to_string())
        }
        Some((k, _)) => Err(CliError::msg(format!(
            "{k:?} is not a node: use NODE or node/NODE"
        ))),
        None => Ok(arg.to_string()),
    }
}

async fn set_unschedulable(
    cluster: &dyn Cluster,
    name: &str,
    on: bool,
    dry_run: bool,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let nodes = kind("nodes")?;
    let node = cluster.get(nodes, None, name).await?;
    let now = node
        .pointer("/spec/unschedulable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let word = if on { "cordoned" } else { "uncordoned" };
    let suffix = if dry_run { " (dry run)" } else { "" };
    if now == on {
        io.outln(format!("node/{name} already {word}{suffix}"));
        return Ok(());
    }
    if !dry_run {
        // kubectl removes the field when uncordoning.
        let value = if on { json!(true) } else { Value::Null };
        let patch = Patch::Merge(json!({"spec": {"unschedulable": value}}));
        cluster
            .patch(nodes, None, name, patch, &WriteOptions::default())
            .await?;
    }
    io.outln(format!("node/{name} {word}{suffix}"));
    Ok(())
}

pub async fn cordon(
    cluster: &dyn Cluster,
    a: NodeArgs,
    on: bool,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let name = node_name(&a.node)?;
    set_unschedulable(cluster, &name, on, a.dry_run != "none", io).await
}

/// One taint change: `key=value:Effect`, `key:Effect` (add) or `key:Effect-`, `key-` (remove).
#[derive(Debug, Clone, PartialEq, Eq)]
enum TaintChange {
    Add {
        key: String,
        value: String,
        effect: String,
    },
    Remove {
        key: String,
        effect: Option<String>,
    },
}

const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

fn parse_taint(spec: &str) -> Result<TaintChange, CliError> {
    let bad = |why: &str| CliError::msg(format!("invalid taint spec: {spec}, {why}"));
    let check_effect = |e: &str| -> Result<(), CliError> {
        if EFFECTS.contains(&e) {
            Ok(())
        } else {
            Err(bad(&format!(
                "unsupported taint effect {e:?}: supported values are NoSchedule, \
                 PreferNoSchedule, NoExecute"
            )))
        }
    };
    if let Some(rest) = spec.strip_suffix('-') {
        let (key, effect) = match rest.split_once(':') {
            Some((k, e)) => {
                check_effect(e)?;
                (k, Some(e.to_string()))
            }
            None => (rest, None),
        };
        crate::api::selector::validate_label_key(key).map_err(|e| bad(&e))?;
        return Ok(TaintChange::Remove {
            key: key.to_string(),
            effect,
        });
    }
    let (kv, effect) = spec
        .rsplit_once(':')
        .ok_or_else(|| bad("the effect is missing (key=value:NoSchedule)"))?;
    check_effect(effect)?;
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    crate::api::selector::validate_label_key(key).map_err(|e| bad(&e))?;
    if !value.is_empty() {
        crate::api::selector::validate_label_value(value).map_err(|e| bad(&e))?;
    }
    Ok(TaintChange::Add {
        key: key.to_string(),
        value: value.to_string(),
        effect: effect.to_string(),
    })
}

/// The node's taints after the changes; an error names a clash (kubectl's wording).
fn apply_taints(
    node: &str,
    current: &[Value],
    changes: &[TaintChange],
    overwrite: bool,
) -> Result<Vec<Value>, CliError> {
    let mut taints: Vec<Value> = current.to_vec();
    for c in changes {
        match c {
            TaintChange::Add { key, value, effect } => {
                let same = |t: &Value| t["key"] == key.as_str() && t["effect"] == effect.as_str();
                if let Some(t) = taints.iter_mut().find(|t| same(t)) {
                    if !overwrite {
                        return Err(CliError::msg(format!(
                            "node {node} already has {key} taint(s) with same effect(s) \
                             and --overwrite is false"
                        )));
                    }
                    *t = taint_json(key, value, effect);
                } else {
                    taints.push(taint_json(key, value, effect));
                }
            }
            TaintChange::Remove { key, effect } => {
                let before = taints.len();
                taints.retain(|t| {
                    !(t["key"] == key.as_str()
                        && effect.as_deref().is_none_or(|e| t["effect"] == e))
                });
                if taints.len() == before {
                    let what = match effect {
                        Some(e) => format!("{key}:{e}"),
                        None => key.clone(),
                    };
                    return Err(CliError::msg(format!("taint {what:?} not found")));
                }
            }
        }
    }
    Ok(taints)
}

fn taint_json(key: &str, value: &str, effect: &str) -> Value {
    let mut t = json!({"key": key, "effect": effect});
    if !value.is_empty() {
        t["value"] = json!(value);
    }
    t
}

pub async fn taint(cluster: &dyn Cluster, a: TaintArgs, io: &mut Io<'_>) -> Result<(), CliError> {
    // `nodes NAME specs...` or `node/NAME specs...`.
    let mut args = a.args.iter();
    let first = args.next().ok_or_else(|| {
        CliError::msg(
            "you must specify a node and taints: peapod taint nodes NODE key=value:NoSchedule",
        )
    })?;
    let name = if first.contains('/') {
        node_name(first)?
    } else if kinds::lookup(first).is_some_and(|k| k.kind == "Node") {
        args.next()
            .cloned()
            .ok_or_else(|| CliError::msg("you must specify a node name"))?
    } else {
        return Err(CliError::msg(format!(
            "taint applies to nodes only: peapod taint nodes NODE key=value:NoSchedule (got {first:?})"
        )));
    };
    let changes: Vec<TaintChange> = args.map(|s| parse_taint(s)).collect::<Result<_, _>>()?;
    if changes.is_empty() {
        return Err(CliError::msg("at least one taint update is required"));
    }
    let nodes = kind("nodes")?;
    let node = cluster.get(nodes, None, &name).await?;
    let current = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let next = apply_taints(&name, &current, &changes, a.overwrite)?;
    let patch = Patch::Merge(json!({"spec": {"taints": next}}));
    cluster
        .patch(nodes, None, &name, patch, &WriteOptions::default())
        .await?;
    let removed_only = changes
        .iter()
        .all(|c| matches!(c, TaintChange::Remove { .. }));
    let word = if removed_only { "untainted" } else { "tainted" };
    io.outln(format!("node/{name} {word}"));
    Ok(())
}

/// Why drain must not evict a pod without being told, or `None`.
fn drain_refusal(pod: &Value, a: &DrainArgs) -> Option<(&'static str, &'static str)> {
    let controller = pod["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["controller"] == true);
    match controller {
        Some(r) if r["kind"] == "DaemonSet" && !a.ignore_daemonsets => Some((
            "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)",
            "daemonset",
        )),
        None if !a.force => Some((
            "cannot delete Pods that declare no controller (use --force to override)",
            "bare",
        )),
        _ => {
            let local = pod["spec"]["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v.get("emptyDir").is_some());
            (local && !a.delete_emptydir_data).then_some((
                "cannot delete Pods with local storage (use --delete-emptydir-data to override)",
                "local",
            ))
        }
    }
}

fn is_daemonset_pod(pod: &Value) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["controller"] == true && r["kind"] == "DaemonSet")
}

pub async fn drain(cluster: &dyn Cluster, a: DrainArgs, io: &mut Io<'_>) -> Result<(), CliError> {
    let name = node_name(&a.node)?;
    let timeout = super::parse_duration(&a.timeout)?;
    set_unschedulable(cluster, &name, true, false, io).await?;
    let pods_kind = kind("pods")?;
    let opts = ListOptions {
        field_selector: Some(format!("spec.nodeName={name}")),
        ..Default::default()
    };
    let pods = cluster.list(pods_kind, None, &opts).await?.items;
    // Finished pods go without questions, as kubectl's.
    let live: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            !matches!(
                p.pointer("/status/phase").and_then(Value::as_str),
                Some("Succeeded" | "Failed")
            )
        })
        .collect();
    let mut refused: Vec<(&str, Vec<String>)> = Vec::new();
    for p in &live {
        if let Some((why, _)) = drain_refusal(p, &a) {
            let who = format!("{}/{}", p.namespace().unwrap_or(""), p.name());
            match refused.iter_mut().find(|(w, _)| *w == why) {
                Some((_, list)) => list.push(who),
                None => refused.push((why, vec![who])),
            }
        }
    }
    if !refused.is_empty() {
        let parts: Vec<String> = refused
            .iter()
            .map(|(why, who)| format!("{why}: {}", who.join(", ")))
            .collect();
        return Err(CliError::msg(format!(
            "unable to drain node {name:?} due to error: {}, continuing command...\n\
             There are pending nodes to be drained:\n {name}",
            parts.join("; ")
        )));
    }
    let victims: Vec<&Value> = pods.iter().filter(|p| !is_daemonset_pod(p)).collect();
    if a.ignore_daemonsets {
        let ds: Vec<String> = live
            .iter()
            .filter(|p| is_daemonset_pod(p))
            .map(|p| format!("{}/{}", p.namespace().unwrap_or(""), p.name()))
            .collect();
        if !ds.is_empty() {
            io.errln(format!(
                "Warning: ignoring DaemonSet-managed Pods: {}",
                ds.join(", ")
            ));
        }
    }
    let delete = DeleteOptions {
        grace_period_seconds: (a.grace_period >= 0).then_some(a.grace_period),
        ..Default::default()
    };
    for p in &victims {
        io.outln(format!(
            "evicting pod {}/{}",
            p.namespace().unwrap_or(""),
            p.name()
        ));
        match cluster
            .delete(pods_kind, p.namespace(), p.name(), &delete)
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Wait until every evicted pod is gone (kubectl waits for each, forever by default).
    let deadline = (!timeout.is_zero()).then(|| Instant::now() + timeout);
    for p in &victims {
        loop {
            match cluster.get(pods_kind, p.namespace(), p.name()).await {
                Err(e) if e.is_not_found() => break,
                Ok(now) if now.uid() != p.uid() => break,
                _ => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(CliError::msg(format!(
                    "drain did not complete within {}: pod {}/{} is still there",
                    a.timeout,
                    p.namespace().unwrap_or(""),
                    p.name()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        io.outln(format!("pod/{} evicted", p.name()));
    }
    io.outln(format!("node/{name} drained"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_specs_parse_like_kubectl() {
        assert_eq!(
            parse_taint("gpu=true:NoSchedule").unwrap(),
            TaintChange::Add {
                key: "gpu".into(),
                value: "true".into(),
                effect: "NoSchedule".into()
            }
        );
        assert_eq!(
            parse_taint("dedicated:NoExecute").unwrap(),
            TaintChange::Add {
                key: "dedicated".into(),
                value: "".into(),
                effect: "NoExecute".into()
            }
        );
        assert_eq!(
            parse_taint("gpu:NoSchedule-").unwrap(),
            TaintChange::Remove {
                key: "gpu".into(),
                effect: Some("NoSchedule".into())
            }
        );
        assert_eq!(
            parse_taint("gpu-").unwrap(),
            TaintChange::Remove {
                key: "gpu".into(),
                effect: None
            }
        );
        let e = parse_taint("gpu=true:Sometimes").unwrap_err().to_string();
        assert!(e.contains("unsupported taint effect"), "{e}");
        assert!(parse_taint("gpu=true").is_err());
    }

    #[test]
    fn taints_add_replace_and_remove() {
        let add = parse_taint("gpu=true:NoSchedule").unwrap();
        let t = apply_taints("n1", &[], std::slice::from_ref(&add), false).unwrap();
        assert_eq!(
            t,
            vec![json!({"key": "gpu", "value": "true", "effect": "NoSchedule"})]
        );
        let e = apply_taints("n1", &t, std::slice::from_ref(&add), false).unwrap_err();
        assert!(e.to_string().contains("--overwrite is false"), "{e}");
        let other = parse_taint("gpu=false:NoSchedule").unwrap();
        let t2 = apply_taints("n1", &t, &[other], true).unwrap();
        assert_eq!(t2[0]["value"], "false");
        let gone = apply_taints("n1", &t2, &[parse_taint("gpu-").unwrap()], false).unwrap();
        assert!(gone.is_empty());
        assert!(apply_taints("n1", &gone, &[parse_taint("gpu-").unwrap()], false).is_err());
    }

    #[test]
    fn drain_refuses_bare_daemonset_and_local_storage_pods_unless_told() {
        let bare = json!({"metadata": {"name": "a"}});
        let ds = json!({"metadata": {"name": "b", "ownerReferences": [
            {"kind": "DaemonSet", "name": "d", "uid": "1", "controller": true}]}});
        let rs_local = json!({"metadata": {"name": "c", "ownerReferences": [
            {"kind": "ReplicaSet", "name": "r", "uid": "2", "controller": true}]},
            "spec": {"volumes": [{"name": "scratch", "emptyDir": {}}]}});
        let plain = DrainArgs::default();
        assert_eq!(drain_refusal(&bare, &plain).map(|r| r.1), Some("bare"));
        assert_eq!(drain_refusal(&ds, &plain).map(|r| r.1), Some("daemonset"));
        assert_eq!(drain_refusal(&rs_local, &plain).map(|r| r.1), Some("local"));
        let told = DrainArgs {
            force: true,
            ignore_daemonsets: true,
            delete_emptydir_data: true,
            ..Default::default()
        };
        for p in [&bare, &ds, &rs_local] {
            assert_eq!(drain_refusal(p, &told), None);
        }
        assert!(is_daemonset_pod(&ds) && !is_daemonset_pod(&rs_local));
    }
}
