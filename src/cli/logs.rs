//! `logs POD [-c C] [-f] [--previous] [--timestamps] [--tail N] [--since 5m]`.

use super::args::LogsArgs;
use super::{CliError, Ctx, Io, parse_duration};
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::LogOptions;
use crate::cluster::Cluster;
use futures::StreamExt;
use serde_json::Value;

/// `POD`, `pod/POD` or `po/POD`, optionally followed by the container.
fn pod_and_container(a: &LogsArgs) -> Result<(String, Option<String>), CliError> {
    let (first, rest) = a
        .targets
        .split_first()
        .ok_or_else(|| CliError::msg("a pod name is required"))?;
    let pod = match first.split_once('/') {
        Some((kind, name)) => {
            if kinds::lookup(kind).is_none_or(|k| k.kind != "Pod") {
                return Err(CliError::msg(format!(
                    "peapod logs reads pods only; {kind:?} is not a pod"
                )));
            }
            name.to_string()
        }
        None => first.clone(),
    };
    let container = match (rest, &a.container) {
        ([], c) => c.clone(),
        ([c], None) => Some(c.clone()),
        ([_], Some(_)) => {
            return Err(CliError::msg(
                "use either a CONTAINER argument or -c, not both",
            ));
        }
        _ => return Err(CliError::msg("expected POD [CONTAINER]")),
    };
    Ok((pod, container))
}

/// kubectl's default container: the `kubectl.kubernetes.io/default-container` annotation,
/// else the first; returns the note kubectl prints when it had to choose.
pub fn default_container(pod: &Value) -> (Option<String>, Option<String>) {
    let names: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    if let Some(d) = pod.annotation("kubectl.kubernetes.io/default-container")
        && names.contains(&d)
    {
        return (Some(d.to_string()), None);
    }
    match names.as_slice() {
        [] => (None, None),
        [only] => (Some(only.to_string()), None),
        [first, ..] => (
            Some(first.to_string()),
            Some(format!(
                "Defaulted container {first:?} out of: {}",
                names.join(", ")
            )),
        ),
    }
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: LogsArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let (pod, mut container) = pod_and_container(&a)?;
    let since_seconds = match &a.since {
        Some(s) => Some(parse_duration(s)?.as_secs_f64().ceil() as i64),
        None => None,
    };
    if container.is_none() {
        let kind = kinds::lookup("pods").ok_or_else(|| CliError::msg("pods are not served"))?;
        let obj = cluster.get(kind, Some(&ctx.namespace), &pod).await?;
        let (c, note) = default_container(&obj);
        if let Some(n) = note {
            io.errln(n);
        }
        container = c;
    }
    let opts = LogOptions {
        container,
        follow: a.follow,
        previous: a.previous,
        timestamps: a.timestamps,
        tail_lines: (a.tail >= 0).then_some(a.tail),
        since_seconds,
    };
    let mut stream = cluster.logs(&ctx.namespace, &pod, &opts).await?;
    while let Some(chunk) = stream.next().await {
        let bytes = chunk?;
        if io
            .out
            .write_all(&bytes)
            .and_then(|_| io.out.flush())
            .is_err()
        {
            // The reader went away (`| head`): stop quietly as kubectl does.
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Command;
    use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};
    use serde_json::json;

    #[test]
    fn default_container_rules() {
        let p = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(
            default_container(&p),
            (
                Some("a".into()),
                Some("Defaulted container \"a\" out of: a, b".into())
            )
        );
        let mut p2 = p.clone();
        p2["metadata"] = json!({"annotations": {"kubectl.kubernetes.io/default-container": "b"}});
        assert_eq!(default_container(&p2), (Some("b".into()), None));
        assert_eq!(
            default_container(&json!({"spec": {"containers": [{"name": "x"}]}}))
                .0
                .as_deref(),
            Some("x")
        );
    }

    #[test]
    fn streams_logs_with_options() {
        let c = FakeCluster::default();
        c.insert(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "app"}, {"name": "side"}]}}));
        *c.log_text.lock().unwrap() = "one\ntwo\n".into();
        let Command::Logs(a) = parse(&["logs", "pod/web", "--tail", "5", "--since", "90s", "-f"])
        else {
            panic!()
        };
        let (code, out, err) = run_verb!(|io| run(&c, &ctx(), a, io));
        assert_eq!((code, out.as_str()), (0, "one\ntwo\n"));
        assert_eq!(err, "Defaulted container \"app\" out of: app, side\n");
        let call = c
            .calls()
            .into_iter()
            .find(|l| l.starts_with("logs"))
            .unwrap();
        assert!(
            call.contains("container: Some(\"app\")")
                && call.contains("tail_lines: Some(5)")
                && call.contains("since_seconds: Some(90)")
                && call.contains("follow: true"),
            "{call}"
        );
        let Command::Logs(a) = parse(&["logs", "nope", "side"]) else {
            panic!()
        };
        let (code, _, err) = run_verb!(|io| run(&c, &ctx(), a, io));
        assert_eq!(
            (code, err.as_str()),
            (1, "Error from server (NotFound): pods \"nope\" not found\n")
        );
        let Command::Logs(a) = parse(&["logs", "deploy/web"]) else {
            panic!()
        };
        assert_eq!(run_verb!(|io| run(&c, &ctx(), a, io)).0, 1);
    }
}
