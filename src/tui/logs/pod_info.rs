//! What the follower needs to know of a pod: identity, containers and their restart counts.
//! Compared as a whole on every update, so an unchanged pod costs one small comparison.

use crate::api::object::ObjectExt;
use serde_json::Value;

/// kubectl's annotation naming the container `kubectl logs` picks by default.
const DEFAULT_CONTAINER: &str = "kubectl.kubernetes.io/default-container";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerInfo {
    pub name: String,
    pub init: bool,
    pub restarts: i64,
    /// It ran or runs: a log may exist.
    pub started: bool,
    /// `waiting`, `running` or `terminated`: a change may make a failed tail work.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// Init containers first, then the app containers, each in spec order.
    pub containers: Vec<ContainerInfo>,
    /// The container shown unless the user picks another.
    pub default: Option<String>,
}

fn statuses<'a>(pod: &'a Value, field: &str) -> &'a [Value] {
    pod.pointer(&format!("/status/{field}"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn containers(pod: &Value, spec: &str, status: &str, init: bool) -> Vec<ContainerInfo> {
    let st = statuses(pod, status);
    pod.pointer(&format!("/spec/{spec}"))
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|c| c.get("name")?.as_str())
        .map(|name| {
            let s = st
                .iter()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(name));
            let has = |p: &str| s.and_then(|s| s.pointer(p)).is_some();
            ContainerInfo {
                name: name.to_string(),
                init,
                restarts: s
                    .and_then(|s| s.get("restartCount"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                state: s
                    .and_then(|s| s.get("state")?.as_object()?.keys().next().cloned())
                    .unwrap_or_default(),
                started: has("/state/running")
                    || has("/state/terminated")
                    || has("/lastState/terminated"),
            }
        })
        .collect()
}

impl PodInfo {
    pub fn of(pod: &Value) -> PodInfo {
        let mut all = containers(pod, "initContainers", "initContainerStatuses", true);
        let app = containers(pod, "containers", "containerStatuses", false);
        let default = pod
            .annotation(DEFAULT_CONTAINER)
            .filter(|d| app.iter().chain(&all).any(|c| c.name == *d))
            .map(str::to_string)
            .or_else(|| app.first().map(|c| c.name.clone()));
        all.extend(app);
        PodInfo {
            namespace: pod.namespace().unwrap_or("default").to_string(),
            name: pod.name().to_string(),
            uid: pod.uid().to_string(),
            containers: all,
            default,
        }
    }

    pub fn container(&self, name: &str) -> Option<&ContainerInfo> {
        self.containers.iter().find(|c| c.name == name)
    }

    pub fn restarts(&self, name: Option<&str>) -> i64 {
        name.and_then(|n| self.container(n))
            .map_or(0, |c| c.restarts)
    }

    /// Containers the user can switch to: every app container, and init containers that ran.
    pub fn choices(&self) -> Vec<&str> {
        self.containers
            .iter()
            .filter(|c| !c.init || c.started)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Containers all-containers mode tails: those that ran or run (the rest join when they
    /// start).
    pub fn started(&self) -> Vec<&str> {
        self.containers
            .iter()
            .filter(|c| c.started)
            .map(|c| c.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_restarts_and_default() {
        let pod = json!({"metadata": {"name": "web", "namespace": "prod", "uid": "u1",
                "annotations": {DEFAULT_CONTAINER: "side"}},
            "spec": {"initContainers": [{"name": "init"}, {"name": "never"}],
                     "containers": [{"name": "app"}, {"name": "side"}]},
            "status": {
                "initContainerStatuses": [
                    {"name": "init", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
                    {"name": "never", "restartCount": 0, "state": {"waiting": {}}}],
                "containerStatuses": [
                    {"name": "app", "restartCount": 3, "state": {"running": {}}},
                    {"name": "side", "restartCount": 0, "state": {"waiting": {}}}]}});
        let p = PodInfo::of(&pod);
        assert_eq!((p.namespace.as_str(), p.uid.as_str()), ("prod", "u1"));
        assert_eq!(p.default.as_deref(), Some("side"));
        assert_eq!(p.choices(), ["init", "app", "side"]);
        assert_eq!(p.started(), ["init", "app"]);
        assert_eq!(p.restarts(Some("app")), 3);
        assert_eq!(p.restarts(Some("nope")), 0);
        // An annotation naming no container is ignored, as kubectl does.
        let mut other = pod.clone();
        other["metadata"]["annotations"][DEFAULT_CONTAINER] = json!("gone");
        assert_eq!(PodInfo::of(&other).default.as_deref(), Some("app"));
        assert_eq!(PodInfo::of(&json!({})).default, None);
    }
}
