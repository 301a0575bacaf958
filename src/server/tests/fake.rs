//! A small in-memory `Cluster` for driving the server: a map of objects, a broadcast channel for
//! watches, and a record of the options each call received so tests can check pass-through.

use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::ObjectExt;
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, EventType, ListOptions, LogOptions,
    ObjectList, Patch, WatchEvent, WriteOptions,
};
use crate::cluster::{Cluster, LogStream, WatchStream};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

type Key = (String, String, String);

#[derive(Default)]
pub struct Calls {
    pub list: Option<(Option<String>, ListOptions)>,
    pub watch: Option<(Option<String>, ListOptions)>,
    pub write: Option<WriteOptions>,
    pub patch: Option<Patch>,
    pub delete: Option<DeleteOptions>,
    pub logs: Option<(String, String, LogOptions)>,
    pub batch: Option<(BatchMode, String)>,
}

pub struct Fake {
    objects: Mutex<BTreeMap<Key, Value>>,
    rev: Mutex<u64>,
    /// Watch events as the store would publish them; tests also push errors here.
    pub events: broadcast::Sender<ApiResult<WatchEvent>>,
    /// Log lines appended while a follow is open.
    pub log_lines: broadcast::Sender<Bytes>,
    pub calls: Mutex<Calls>,
}

fn key(kind: &KindInfo, ns: Option<&str>, name: &str) -> Key {
    let ns = if kind.namespaced {
        ns.unwrap_or("default")
    } else {
        ""
    };
    (kind.resource(), ns.to_string(), name.to_string())
}

fn kind_of(obj: &Value) -> ApiResult<&'static KindInfo> {
    kinds::by_api_version(obj.api_version(), obj.kind_str())
        .ok_or_else(|| ApiError::bad_request(format!("unknown kind {:?}", obj.kind_str())))
}

/// Just enough label selection for the tests: comma-separated `key=value`.
fn selected(obj: &Value, selector: Option<&str>) -> bool {
    selector.is_none_or(|s| {
        s.split(',').all(|term| match term.split_once('=') {
            Some((k, v)) => obj.label(k.trim()) == Some(v.trim()),
            None => true,
        })
    })
}

fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

impl Fake {
    pub fn new() -> Fake {
        Fake {
            objects: Mutex::new(BTreeMap::new()),
            rev: Mutex::new(1),
            events: broadcast::channel(64).0,
            log_lines: broadcast::channel(64).0,
            calls: Mutex::new(Calls::default()),
        }
    }

    pub fn calls(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap()
    }

    pub fn stored(&self, kind: &str, ns: Option<&str>, name: &str) -> Option<Value> {
        let kind = kinds::lookup(kind).unwrap();
        self.objects
            .lock()
            .unwrap()
            .get(&key(kind, ns, name))
            .cloned()
    }

    fn bump(&self, obj: &mut Value) -> u64 {
        let mut rev = self.rev.lock().unwrap();
        *rev += 1;
        obj["metadata"]["resourceVersion"] = json!(rev.to_string());
        *rev
    }

    fn publish(&self, t: EventType, obj: &Value) {
        let _ = self.events.send(Ok(WatchEvent {
            event_type: t,
            object: obj.clone(),
        }));
    }

    fn put(&self, mut obj: Value, t: EventType) -> Value {
        let kind = kinds::by_api_version(obj.api_version(), obj.kind_str()).unwrap();
        self.bump(&mut obj);
        let k = key(kind, obj.namespace(), obj.name());
        self.objects.lock().unwrap().insert(k, obj.clone());
        self.publish(t, &obj);
        obj
    }

    /// Creation checks shared by create and batch; the object is returned ready to store.
    fn prepare_create(&self, mut obj: Value) -> ApiResult<(&'static KindInfo, Value)> {
        let kind = kind_of(&obj)?;
        if obj.name() == "invalid" {
            return Err(ApiError::invalid(
                kind.kind,
                "invalid",
                vec![
                    FieldError::required("spec.containers"),
                    FieldError::required("spec.containers[0].image"),
                ],
            ));
        }
        if kind.namespaced && obj.namespace().is_none() {
            obj["metadata"]["namespace"] = json!("default");
        }
        if self
            .objects
            .lock()
            .unwrap()
            .contains_key(&key(kind, obj.namespace(), obj.name()))
        {
            return Err(ApiError::already_exists(&kind.resource(), obj.name()));
        }
        obj["metadata"]["uid"] = json!(format!("uid-{}", obj.name()));
        Ok((kind, obj))
    }
}

#[async_trait::async_trait]
impl Cluster for Fake {
    fn endpoint(&self) -> String {
        "fake".into()
    }

    async fn get(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Value> {
        self.objects
            .lock()
            .unwrap()
            .get(&key(kind, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&kind.resource(), name))
    }

    async fn list(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<ObjectList> {
        self.calls().list = Some((namespace.map(str::to_string), opts.clone()));
        let items = self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|((r, ns, _), o)| {
                *r == kind.resource()
                    && namespace.is_none_or(|n| n == ns)
                    && selected(o, opts.label_selector.as_deref())
            })
            // The store keeps objects without type meta; the server must add it to list items.
            .map(|(_, o)| {
                let mut o = o.clone();
                if let Some(m) = o.as_object_mut() {
                    m.remove("kind");
                    m.remove("apiVersion");
                }
                o
            })
            .collect();
        Ok(ObjectList {
            items,
            resource_version: *self.rev.lock().unwrap(),
        })
    }

    async fn watch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<WatchStream> {
        self.calls().watch = Some((namespace.map(str::to_string), opts.clone()));
        if opts.resource_version.as_deref() == Some("1") {
            return Err(ApiError::expired("too old resource version: 1 (2)"));
        }
        let rx = self.events.subscribe();
        let initial: Vec<ApiResult<WatchEvent>> = if opts.resource_version.is_none() {
            self.list(kind, namespace, opts)
                .await?
                .items
                .into_iter()
                .map(|o| {
                    Ok(WatchEvent {
                        event_type: EventType::Added,
                        object: o,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let resource = kind.resource();
        let ns = namespace.map(str::to_string);
        let live = futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(item) => return Some((item, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .filter(move |item| {
            let keep = match item {
                Ok(ev) => {
                    kind_of(&ev.object).is_ok_and(|k| k.resource() == resource)
                        && ns
                            .as_deref()
                            .is_none_or(|n| ev.object.namespace() == Some(n))
                }
                Err(_) => true,
            };
            futures::future::ready(keep)
        });
        Ok(futures::stream::iter(initial).chain(live).boxed())
    }

    async fn create(&self, obj: Value, opts: &WriteOptions) -> ApiResult<Value> {
        self.calls().write = Some(opts.clone());
        let (_, mut obj) = self.prepare_create(obj)?;
        if opts.dry_run {
            obj["metadata"]["resourceVersion"] = json!("");
            return Ok(obj);
        }
        Ok(self.put(obj, EventType::Added))
    }

    async fn update(&self, mut obj: Value, opts: &WriteOptions) -> ApiResult<Value> {
        self.calls().write = Some(opts.clone());
        let kind = kind_of(&obj)?;
        let old = self.get(kind, obj.namespace(), obj.name()).await?;
        let rv = obj.resource_version();
        if !rv.is_empty() && rv != old.resource_version() {
            return Err(ApiError::conflict(
                &kind.resource(),
                obj.name(),
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        obj["status"] = old.get("status").cloned().unwrap_or(Value::Null);
        Ok(self.put(obj, EventType::Modified))
    }

    async fn update_status(&self, obj: Value) -> ApiResult<Value> {
        let kind = kind_of(&obj)?;
        let mut current = self.get(kind, obj.namespace(), obj.name()).await?;
        current["status"] = obj.get("status").cloned().unwrap_or(Value::Null);
        Ok(self.put(current, EventType::Modified))
    }

    async fn patch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        patch: Patch,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        {
            let mut calls = self.calls();
            calls.patch = Some(patch.clone());
            calls.write = Some(opts.clone());
        }
        let mut obj = self.get(kind, namespace, name).await?;
        match &patch {
            Patch::Merge(p) => merge(&mut obj, p),
            // JSON patches are only recorded; the test checks they arrive intact.
            Patch::Json(_) => {}
        }
        Ok(self.put(obj, EventType::Modified))
    }

    async fn delete(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<DeleteOutcome> {
        self.calls().delete = Some(opts.clone());
        let mut obj = self.get(kind, namespace, name).await?;
        if !obj.finalizers().is_empty() {
            obj["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
            return Ok(DeleteOutcome::Pending(self.put(obj, EventType::Modified)));
        }
        self.objects
            .lock()
            .unwrap()
            .remove(&key(kind, namespace, name));
        self.bump(&mut obj);
        self.publish(EventType::Deleted, &obj);
        Ok(DeleteOutcome::Deleted(obj))
    }

    async fn apply_batch(
        &self,
        objs: Vec<Value>,
        mode: BatchMode,
        default_namespace: &str,
        opts: &WriteOptions,
    ) -> ApiResult<Vec<ApplyOutcome>> {
        {
            let mut calls = self.calls();
            calls.batch = Some((mode, default_namespace.to_string()));
            calls.write = Some(opts.clone());
        }
        // Check everything first: all or nothing.
        let mut plan = Vec::new();
        for mut obj in objs {
            let kind = kind_of(&obj)?;
            if kind.namespaced && obj.namespace().is_none() {
                obj["metadata"]["namespace"] = json!(default_namespace);
            }
            match self.get(kind, obj.namespace(), obj.name()).await {
                Ok(old) if mode == BatchMode::Create => {
                    return Err(ApiError::already_exists(&kind.resource(), old.name()));
                }
                Ok(old) => plan.push((Some(old), obj)),
                Err(_) => plan.push((None, self.prepare_create(obj)?.1)),
            }
        }
        Ok(plan
            .into_iter()
            .map(|(old, obj)| match old {
                None => ApplyOutcome::Created(self.put(obj, EventType::Added)),
                Some(old) if old.get("spec") == obj.get("spec") => ApplyOutcome::Unchanged(old),
                Some(_) => ApplyOutcome::Configured(self.put(obj, EventType::Modified)),
            })
            .collect())
    }

    async fn logs(&self, namespace: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream> {
        self.calls().logs = Some((namespace.to_string(), pod.to_string(), opts.clone()));
        let pods = kinds::lookup("pods").unwrap();
        self.get(pods, Some(namespace), pod).await?;
        // Chunks that cut lines in half, as a file reader would.
        let first: Vec<ApiResult<Bytes>> = ["one\ntw", "o\nthree\n"]
            .iter()
            .map(|c| Ok(Bytes::from_static(c.as_bytes())))
            .collect();
        let head = futures::stream::iter(first);
        if !opts.follow {
            return Ok(head.boxed());
        }
        let rx = self.log_lines.subscribe();
        let more =
            futures::stream::unfold(
                rx,
                |mut rx| async move { Some((Ok(rx.recv().await.ok()?), rx)) },
            );
        Ok(head.chain(more).boxed())
    }
}
