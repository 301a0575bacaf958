//! An in-memory `Cluster` for the verbs' unit tests: enough of the store's behaviour (keys,
//! simple selectors, merge patch, apply outcomes, delayed deletion) to check what the verbs
//! print and send, without the real store.

use super::{CliError, Ctx};
use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, kind_of};
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, EventType, ListOptions, LogOptions,
    ObjectList, Patch, WatchEvent, WriteOptions,
};
use crate::cluster::{Cluster, LogStream, WatchStream};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

pub const CREATED: &str = "2024-05-01T11:59:00Z";

/// A context with a fixed clock one minute after `CREATED`.
pub fn ctx() -> Ctx {
    Ctx {
        state: std::env::temp_dir().join("peapod-cli-fake"),
        namespace: "default".into(),
        namespace_explicit: false,
        embedded: false,
        clock: Some("2024-05-01T12:00:00Z".parse().expect("fixed time")),
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// (exit code, stdout, stderr) of a verb result, printing the error as `main` does.
pub fn finish(res: Result<(), CliError>, out: Vec<u8>, mut err: Vec<u8>) -> (i32, String, String) {
    let code = match res {
        Ok(()) => 0,
        Err(e) => {
            if let Some(l) = e.line() {
                err.extend_from_slice(l.as_bytes());
                err.push(b'\n');
            }
            1
        }
    };
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// Run `|io| verb(..., io)` with captured output: `(code, stdout, stderr)`.
macro_rules! run_verb {
    (|$io:ident| $body:expr) => {{
        let mut out = Vec::new();
        let mut err = Vec::new();
        let res = {
            let mut io_val = $crate::cli::Io {
                out: &mut out,
                err: &mut err,
            };
            let $io = &mut io_val;
            $crate::cli::fake::block_on($body)
        };
        $crate::cli::fake::finish(res, out, err)
    }};
}
pub(crate) use run_verb;

/// Parse a command line (without the program name).
pub fn parse(args: &[&str]) -> super::args::Command {
    use clap::Parser;
    let cli =
        super::args::Cli::try_parse_from(std::iter::once("peapod").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    cli.command.expect("a verb")
}

type Key = (String, String, String);

#[derive(Default)]
pub struct FakeCluster {
    objects: Mutex<BTreeMap<Key, Value>>,
    next_rv: Mutex<u64>,
    watch_events: Mutex<Vec<WatchEvent>>,
    /// Every write, as `verb resource ns/name detail`.
    pub calls: Mutex<Vec<String>>,
    /// Deleted objects linger (with a deletionTimestamp) for this many reads.
    pub linger_reads: Mutex<u32>,
    lingering: Mutex<BTreeMap<Key, u32>>,
    pub log_text: Mutex<String>,
}

fn key_of(kind: &KindInfo, ns: Option<&str>, name: &str) -> Key {
    let ns = if kind.namespaced {
        ns.unwrap_or("default")
    } else {
        ""
    };
    (kind.resource(), ns.to_string(), name.to_string())
}

/// What a user wrote: without server-set metadata and status.
fn user_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
            m.remove(f);
        }
    }
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    v
}

impl FakeCluster {
    fn bump(&self) -> u64 {
        let mut rv = self.next_rv.lock().unwrap();
        *rv += 1;
        *rv
    }

    fn record(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// Store an object as the server would (uid, resourceVersion, creationTimestamp).
    pub fn insert(&self, mut obj: Value) -> Value {
        let kind = kind_of(&obj).expect("test object has a known kind");
        let key = key_of(kind, obj.namespace(), obj.name());
        let rv = self.bump();
        let meta = obj["metadata"].as_object_mut().expect("metadata");
        if kind.namespaced {
            meta.insert("namespace".into(), json!(key.1));
        }
        meta.entry("uid").or_insert(json!(format!("uid-{}", key.2)));
        meta.entry("creationTimestamp").or_insert(json!(CREATED));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        self.objects.lock().unwrap().insert(key, obj.clone());
        obj
    }

    pub fn object(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        self.objects
            .lock()
            .unwrap()
            .get(&(resource.to_string(), ns.to_string(), name.to_string()))
            .cloned()
    }

    pub fn push_watch_event(&self, t: EventType, obj: Value) {
        self.watch_events.lock().unwrap().push(WatchEvent {
            event_type: t,
            object: obj,
        });
    }

    /// Lingering deletions finish after a few reads, as finalizers/kubelet would.
    fn tick(&self, key: &Key) {
        let mut l = self.lingering.lock().unwrap();
        if let Some(n) = l.get_mut(key) {
            if *n == 0 {
                l.remove(key);
                self.objects.lock().unwrap().remove(key);
            } else {
                *n -= 1;
            }
        }
    }
}

#[async_trait::async_trait]
impl Cluster for FakeCluster {
    fn endpoint(&self) -> String {
        "fake".into()
    }

    async fn get(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Value> {
        let key = key_of(kind, namespace, name);
        self.tick(&key);
        self.objects
            .lock()
            .unwrap()
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&kind.resource(), name))
    }

    async fn list(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<ObjectList> {
        let items = self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|((r, ns, _), _)| {
                *r == kind.resource()
                    && (namespace.is_none() || !kind.namespaced || Some(ns.as_str()) == namespace)
            })
            .filter(|(_, o)| {
                opts.label_selector.as_deref().is_none_or(|s| {
                    crate::api::selector::LabelSelector::parse(s)
                        .is_ok_and(|sel| sel.matches_object(o))
                })
            })
            .filter(|(_, o)| {
                opts.field_selector.as_deref().is_none_or(|s| {
                    crate::api::selector::FieldSelector::parse(kind.kind, s)
                        .is_ok_and(|f| f.matches(o))
                })
            })
            .map(|(_, o)| o.clone())
            .collect();
        Ok(ObjectList {
            items,
            resource_version: *self.next_rv.lock().unwrap(),
        })
    }

    async fn watch(
        &self,
        _kind: &'static KindInfo,
        _ns: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<WatchStream> {
        self.record(format!(
            "watch rv={}",
            opts.resource_version.clone().unwrap_or_default()
        ));
        let events: Vec<ApiResult<WatchEvent>> = self
            .watch_events
            .lock()
            .unwrap()
            .drain(..)
            .map(Ok)
            .collect();
        Ok(Box::pin(futures::stream::iter(events)))
    }

    async fn create(&self, obj: Value, _opts: &WriteOptions) -> ApiResult<Value> {
        let kind = kind_of(&obj)?;
        let key = key_of(kind, obj.namespace(), obj.name());
        if self.objects.lock().unwrap().contains_key(&key) {
            return Err(ApiError::already_exists(&kind.resource(), obj.name()));
        }
        self.record(format!("create {} {}/{}", key.0, key.1, key.2));
        Ok(self.insert(obj))
    }

    async fn update(&self, obj: Value, _opts: &WriteOptions) -> ApiResult<Value> {
        let kind = kind_of(&obj)?;
        let key = key_of(kind, obj.namespace(), obj.name());
        let cur = self.objects.lock().unwrap().get(&key).cloned();
        let cur = cur.ok_or_else(|| ApiError::not_found(&kind.resource(), obj.name()))?;
        if !obj.resource_version().is_empty() && obj.resource_version() != cur.resource_version() {
            return Err(ApiError::conflict(
                &kind.resource(),
                obj.name(),
                "the object has been modified",
            ));
        }
        self.record(format!("update {} {}/{}", key.0, key.1, key.2));
        Ok(self.insert(obj))
    }

    async fn update_status(&self, obj: Value) -> ApiResult<Value> {
        Ok(self.insert(obj))
    }

    async fn patch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        patch: Patch,
        _opts: &WriteOptions,
    ) -> ApiResult<Value> {
        let key = key_of(kind, namespace, name);
        let cur = self.objects.lock().unwrap().get(&key).cloned();
        let mut cur = cur.ok_or_else(|| ApiError::not_found(&kind.resource(), name))?;
        let body = patch.body().clone();
        self.record(format!("patch {} {}/{} {}", key.0, key.1, key.2, body));
        if let Some(rv) = body
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && rv != cur.resource_version()
        {
            return Err(ApiError::conflict(
                &kind.resource(),
                name,
                "the object has been modified",
            ));
        }
        crate::api::patch::merge_patch(&mut cur, &body);
        Ok(self.insert(cur))
    }

    async fn delete(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<DeleteOutcome> {
        let key = key_of(kind, namespace, name);
        let cur = self.objects.lock().unwrap().get(&key).cloned();
        let mut cur = cur.ok_or_else(|| ApiError::not_found(&kind.resource(), name))?;
        self.record(format!(
            "delete {} {}/{} grace={:?} propagation={:?} dry_run={}",
            key.0,
            key.1,
            key.2,
            opts.grace_period_seconds,
            opts.propagation.map(|p| p.as_str()),
            opts.dry_run
        ));
        if opts.dry_run {
            return Ok(DeleteOutcome::Deleted(cur));
        }
        let linger = *self.linger_reads.lock().unwrap();
        if linger > 0 && opts.grace_period_seconds != Some(0) {
            cur["metadata"]["deletionTimestamp"] = json!("2024-05-01T12:00:00Z");
            self.objects
                .lock()
                .unwrap()
                .insert(key.clone(), cur.clone());
            self.lingering.lock().unwrap().insert(key, linger);
            return Ok(DeleteOutcome::Pending(cur));
        }
        self.objects.lock().unwrap().remove(&key);
        Ok(DeleteOutcome::Deleted(cur))
    }

    async fn apply_batch(
        &self,
        objs: Vec<Value>,
        mode: BatchMode,
        default_namespace: &str,
        opts: &WriteOptions,
    ) -> ApiResult<Vec<ApplyOutcome>> {
        let mut out = Vec::new();
        let mut writes = Vec::new();
        for mut obj in objs {
            let kind = kind_of(&obj)?;
            if kind.namespaced && obj.namespace().is_none() {
                obj["metadata"]["namespace"] = json!(default_namespace);
            }
            let key = key_of(kind, obj.namespace(), obj.name());
            let existing = self.objects.lock().unwrap().get(&key).cloned();
            match existing {
                Some(_) if mode == BatchMode::Create => {
                    return Err(ApiError::already_exists(&kind.resource(), obj.name()));
                }
                Some(cur) if user_part(&cur) == user_part(&obj) => {
                    out.push(ApplyOutcome::Unchanged(cur))
                }
                Some(_) => {
                    out.push(ApplyOutcome::Configured(obj.clone()));
                    writes.push(obj);
                }
                None => {
                    out.push(ApplyOutcome::Created(obj.clone()));
                    writes.push(obj);
                }
            }
        }
        self.record(format!(
            "apply_batch {:?} n={} dry_run={}",
            mode,
            writes.len(),
            opts.dry_run
        ));
        if !opts.dry_run {
            for w in writes {
                self.insert(w);
            }
        }
        Ok(out)
    }

    async fn logs(&self, namespace: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream> {
        let kind = kinds::lookup("pods").expect("pods");
        self.get(kind, Some(namespace), pod).await?;
        self.record(format!("logs {namespace}/{pod} {opts:?}"));
        let text = self.log_text.lock().unwrap().clone();
        let chunks: Vec<ApiResult<bytes::Bytes>> = text
            .split_inclusive('\n')
            .map(|l| Ok(bytes::Bytes::from(l.to_string())))
            .collect();
        Ok(Box::pin(futures::stream::iter(chunks)))
    }
}
