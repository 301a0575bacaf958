//! A cluster that only serves logs, scripted by the tests of the follower and its rendering.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::KindInfo;
use crate::api::request::{
    BatchMode, DeleteOptions, DeleteOutcome, ListOptions, LogOptions, ObjectList, Patch,
    WriteOptions,
};
use crate::cluster::{Cluster, LogStream, WatchStream};
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

fn nope<T>() -> ApiResult<T> {
    Err(ApiError::internal("not in this fake"))
}

#[async_trait::async_trait]
impl Cluster for FakeLogs {
    fn endpoint(&self) -> String {
        "fake".into()
    }
    async fn get(&self, _: &'static KindInfo, _: Option<&str>, _: &str) -> ApiResult<Value> {
        nope()
    }
    async fn list(
        &self,
        _: &'static KindInfo,
        _: Option<&str>,
        _: &ListOptions,
    ) -> ApiResult<ObjectList> {
        nope()
    }
    async fn watch(
        &self,
        _: &'static KindInfo,
        _: Option<&str>,
        _: &ListOptions,
    ) -> ApiResult<WatchStream> {
        nope()
    }
    async fn create(&self, _: Value, _: &WriteOptions) -> ApiResult<Value> {
        nope()
    }
    async fn update(&self, _: Value, _: &WriteOptions) -> ApiResult<Value> {
        nope()
    }
    async fn update_status(&self, _: Value) -> ApiResult<Value> {
        nope()
    }
    async fn patch(
        &self,
        _: &'static KindInfo,
        _: Option<&str>,
        _: &str,
        _: Patch,
        _: &WriteOptions,
    ) -> ApiResult<Value> {
        nope()
    }
    async fn delete(
        &self,
        _: &'static KindInfo,
        _: Option<&str>,
        _: &str,
        _: &DeleteOptions,
    ) -> ApiResult<DeleteOutcome> {
        nope()
    }
    async fn apply_batch(
        &self,
        _: Vec<Value>,
        _: BatchMode,
        _: &str,
        _: &WriteOptions,
    ) -> ApiResult<Vec<crate::api::request::ApplyOutcome>> {
        nope()
    }
    async fn logs(&self, _: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream> {
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
