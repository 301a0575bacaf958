//! A cluster that only serves logs, scripted by the tests of the follower and its rendering.

use crate::api::error::{ApiError, ApiResult};
use crate::api::request::LogOptions;
use crate::cluster::LogStream;
use crate::cluster::logs_only::{LogSource, LogsOnly};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// What one `logs` call of a container answers.
#[derive(Clone)]
pub(crate) enum Script {
    /// This text; then the stream ends (`true`: the container stopped) or stays open.
    Lines(&'static str, bool),
    Fail(&'static str),
}

/// A cluster that only serves logs: every call is recorded; each container answers its
/// scripts in turn (the last one again and again), an open empty stream without one.
#[derive(Default)]
pub(crate) struct FakeLogs {
    calls: Mutex<Vec<LogOptions>>,
    scripts: Mutex<HashMap<String, VecDeque<Script>>>,
}

impl FakeLogs {
    pub fn script(&self, container: &str, s: Script) {
        let mut m = self.scripts.lock().unwrap();
        m.entry(container.to_string()).or_default().push_back(s);
    }

    pub fn calls(&self) -> Vec<LogOptions> {
        self.calls.lock().unwrap().clone()
    }
}

/// The cluster the tests use: [`FakeLogs`] behind the shared logs-only cluster.
pub(crate) type FakeCluster = LogsOnly<FakeLogs>;

/// A fresh scripted cluster.
pub(crate) fn cluster() -> FakeCluster {
    LogsOnly(FakeLogs::default())
}

impl LogSource for FakeLogs {
    fn logs(&self, _: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream> {
        self.calls.lock().unwrap().push(opts.clone());
        let c = opts.container.clone().unwrap_or_default();
        let script = {
            let mut m = self.scripts.lock().unwrap();
            let q = m.entry(c.clone()).or_default();
            if q.len() > 1 {
                q.pop_front()
            } else {
                q.front().cloned()
            }
        };
        let (text, end) = match script {
            None => ("", false),
            Some(Script::Fail(m)) => {
                return Err(ApiError::bad_request(format!(
                    "container {c:?} in pod {pod:?} {m}"
                )));
            }
            Some(Script::Lines(t, end)) => (t, end),
        };
        let lines = futures::stream::iter(
            text.split_inclusive('\n')
                .map(|l| Ok(Bytes::from(l.to_string())))
                .collect::<Vec<_>>(),
        );
        Ok(if end {
            lines.boxed()
        } else {
            lines.chain(futures::stream::pending()).boxed()
        })
    }
}

/// A pod with app containers `(name, restarts, state)` and init containers alike.
pub(crate) fn pod(uid: &str, init: &[(&str, i64, &str)], app: &[(&str, i64, &str)]) -> Value {
    let spec = |cs: &[(&str, i64, &str)]| -> Vec<Value> {
        cs.iter().map(|(n, _, _)| json!({"name": n})).collect()
    };
    let status = |cs: &[(&str, i64, &str)]| -> Vec<Value> {
        cs.iter()
            .map(|(n, r, s)| json!({"name": n, "restartCount": r, "state": {*s: {}}}))
            .collect()
    };
    json!({"metadata": {"name": "web", "namespace": "prod", "uid": uid},
        "spec": {"initContainers": spec(init), "containers": spec(app)},
        "status": {"initContainerStatuses": status(init), "containerStatuses": status(app)}})
}

/// `web`: init containers `init` (ran) and `later` (waiting), app containers `app` (the
/// default) and `side`, all running.
pub(crate) fn two() -> Value {
    pod(
        "u1",
        &[("init", 0, "terminated"), ("later", 0, "waiting")],
        &[("app", 0, "running"), ("side", 0, "running")],
    )
}
