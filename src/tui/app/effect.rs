//! What a key asks of the world outside the console's state: cluster requests, a shell, a
//! new watch. The event loop runs them (`tui::effects`) and reports back as messages.

use crate::api::kinds::KindInfo;
use crate::api::object::ObjectExt;
use serde_json::Value;
use std::path::PathBuf;

/// One object an action applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static KindInfo,
    pub namespace: Option<String>,
    pub name: String,
}

impl Target {
    pub fn of(kind: &'static KindInfo, obj: &Value) -> Target {
        Target {
            kind,
            namespace: obj.namespace().map(str::to_string),
            name: obj.name().to_string(),
        }
    }

    /// `pod/web` or `deployment.apps/web`, as kubectl names objects in its messages.
    pub fn reference(&self) -> String {
        crate::client::text::object_ref(self.kind, &self.name)
    }

    /// `default/web` or `web` for cluster-scoped objects.
    pub fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start the watch of the main table's kind; events carry `generation`.
    WatchMain {
        kind: &'static KindInfo,
        generation: u64,
    },
    /// Fetch and show `describe` of an object.
    Describe(Target),
    /// Delete objects (graceful; `grace: Some(0)` with `force` is kill).
    Delete {
        targets: Vec<Target>,
        grace: Option<i64>,
        force: bool,
    },
    /// Set `spec.replicas`.
    Scale {
        target: Target,
        replicas: i64,
    },
    /// `kubectl rollout restart`: a new `restartedAt` annotation on the pod template.
    RolloutRestart(Target),
    /// A merge patch on each target (`:label`, `:annotate`); `what` ends the message.
    Patch {
        targets: Vec<Target>,
        patch: Value,
        what: String,
    },
    /// Save an edited object.
    Update(Value),
    /// `:apply PATH`.
    Apply(PathBuf),
    CreateNamespace(String),
    /// Start port-forward `id` to a pod or service (the ports as typed, `[LOCAL:]REMOTE`).
    PortForward {
        id: u64,
        target: Target,
        ports: Vec<String>,
    },
    /// Stop port-forward `id`.
    StopForward(u64),
    /// Suspend the console and run a shell in a container.
    Shell {
        namespace: String,
        pod: String,
        container: Option<String>,
    },
}
