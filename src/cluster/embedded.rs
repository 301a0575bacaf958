//! `Cluster` on the in-process store: what `peapod serve`, the console and a CLI verb with no
//! server running use. Blocking store writes (fsync) run on tokio's blocking pool.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::KindInfo;
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, EventType, ListOptions, LogOptions,
    ObjectList, Patch, SharedList, SharedWatchEvent, WatchEvent, WriteOptions,
};
use crate::api::selector::{FieldSelector, LabelSelector};
use crate::cluster::metrics::PodMetricsSource;
use crate::cluster::{
    Cluster, EncodedList, EncodedWatchStream, LogStream, SharedWatchStream, WatchStream,
};
use crate::store::{Initial, Store};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub struct EmbeddedCluster {
    store: Arc<Store>,
    /// Where pod logs live (`<state>/logs`).
    log_dir: PathBuf,
    /// Pod metrics from the node agent's cgroups (none without a cgroup parent).
    metrics: PodMetricsSource,
    /// Bounds the store writes running on tokio's blocking pool. Writes are serialized by the
    /// store anyway; without a bound, a burst of 500 pod creations parked 250 threads on
    /// the store's lock (each thread with its own allocator heap: +500 MiB RSS).
    write_slots: tokio::sync::Semaphore,
}

/// Store writes in flight on the blocking pool: one committing, one syncing, one queued.
const WRITE_SLOTS: usize = 3;

impl EmbeddedCluster {
    pub fn new(store: Arc<Store>, log_dir: PathBuf) -> EmbeddedCluster {
        EmbeddedCluster {
            store,
            log_dir,
            metrics: PodMetricsSource::new(None),
            write_slots: tokio::sync::Semaphore::new(WRITE_SLOTS),
        }
    }

    /// Measure pods in the cgroups under `parent` (the node agent's `cgroup_parent`).
    pub fn with_cgroup_parent(mut self, parent: String) -> EmbeddedCluster {
        self.metrics = PodMetricsSource::new(Some(parent));
        self
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Run store writes on the blocking pool, then wait for them to be durable without
    /// holding a thread (see `store::durable`).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let _slot = self
            .write_slots
            .acquire()
            .await
            .map_err(|_| ApiError::internal("store closed"))?;
        let store = self.store.clone();
        let (result, revision) = tokio::task::spawn_blocking(move || store.deferring_durability(f))
            .await
            .map_err(|e| ApiError::internal(format!("store task failed: {e}")))?;
        drop(_slot);
        if let Some(revision) = revision {
            self.store.wait_durable_async(revision).await?;
        }
        result
    }
}

/// Label and field selectors of a request, parsed once.
#[derive(Clone)]
pub struct Filter {
    labels: Option<LabelSelector>,
    fields: Option<FieldSelector>,
}

impl Filter {
    pub fn new(kind: &KindInfo, opts: &ListOptions) -> ApiResult<Filter> {
        let labels = match opts.label_selector.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => Some(LabelSelector::parse(s)?),
            _ => None,
        };
        let fields = match opts.field_selector.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => Some(FieldSelector::parse(kind.kind, s)?),
            _ => None,
        };
        Ok(Filter { labels, fields })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.as_ref().is_none_or(|l| l.matches_object(obj))
            && self.fields.as_ref().is_none_or(|f| f.matches(obj))
    }
}

/// Translate a stored change into what a filtered watcher sees: an object that starts
/// matching is ADDED, one that stops matching is DELETED (as the API server's watch does).
fn filtered_type(
    filter: &Filter,
    t: EventType,
    obj: &Value,
    prev: Option<&Value>,
) -> Option<EventType> {
    let now = filter.matches(obj);
    let before = prev.map(|p| filter.matches(p));
    let event_type = match (t, before, now) {
        (EventType::Deleted, _, _) => {
            if before.unwrap_or(now) {
                EventType::Deleted
            } else {
                return None;
            }
        }
        (_, Some(true), true) => EventType::Modified,
        (_, Some(true), false) => EventType::Deleted,
        (_, Some(false), true) => EventType::Added,
        (_, Some(false), false) => return None,
        // Replayed from the log: no previous state is known.
        (t, None, true) => t,
        (_, None, false) => return None,
    };
    Some(event_type)
}

fn parse_revision(rv: Option<&str>) -> ApiResult<Option<u64>> {
    match rv.map(str::trim) {
        None | Some("") | Some("0") => Ok(None),
        Some(s) => s.parse::<u64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!("invalid resourceVersion {s:?}: expected a number"))
        }),
    }
}

/// A watch event that still shares the stored object and, when unchanged, its encoding.
struct RawEvent {
    event_type: EventType,
    object: Arc<Value>,
    json: Option<Bytes>,
}

impl RawEvent {
    /// `{"type":..,"object":..}`, reusing the stored encoding when there is one.
    fn encode(&self) -> Bytes {
        let json = match &self.json {
            Some(j) => j.clone(),
            None => Bytes::from(serde_json::to_vec(&*self.object).unwrap_or_default()),
        };
        let mut out = Vec::with_capacity(json.len() + 32);
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(self.event_type.as_str().as_bytes());
        out.extend_from_slice(b"\",\"object\":");
        out.extend_from_slice(&json);
        out.push(b'}');
        Bytes::from(out)
    }
}

impl EmbeddedCluster {
    /// The watch shared by `watch` and `watch_encoded`: snapshot or replay, then live changes
    /// filtered by the selectors, ending with Expired if this watcher fell behind.
    fn watch_raw(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<BoxStream<'static, ApiResult<RawEvent>>> {
        let filter = Filter::new(kind, opts)?;
        let from = parse_revision(opts.resource_version.as_deref())?;
        let start = self.store.watch(kind, namespace, from)?;
        let initial: Vec<ApiResult<RawEvent>> = match start.initial {
            Initial::Snapshot(items) => items
                .into_iter()
                .filter(|e| filter.matches(&e.value))
                .map(|e| {
                    Ok(RawEvent {
                        event_type: EventType::Added,
                        object: e.value,
                        json: Some(e.json),
                    })
                })
                .collect(),
            Initial::Replay(events) => events
                .into_iter()
                .filter_map(|e| {
                    let t = filtered_type(&filter, e.event_type, &e.object, None)?;
                    Some(Ok(RawEvent {
                        event_type: t,
                        object: Arc::new(e.object),
                        json: None,
                    }))
                })
                .collect(),
        };
        let resource = kind.resource();
        let start_rev = start.revision;
        let live = futures::stream::unfold(
            (start.receiver, filter, false),
            move |(mut recv, filter, done)| {
                let resource = resource.clone();
                async move {
                    if done {
                        return None;
                    }
                    loop {
                        match recv.rx.recv().await {
                            // Changes up to the start revision are already in the snapshot
                            // or replay (they may be published after the subscription).
                            Some(c) if c.revision <= start_rev => {}
                            Some(c) => {
                                let prev = c.prev.as_deref();
                                if let Some(t) =
                                    filtered_type(&filter, c.event_type, &c.object, prev)
                                {
                                    let ev = RawEvent {
                                        event_type: t,
                                        object: c.object.clone(),
                                        json: Some(c.json.clone()),
                                    };
                                    return Some((Ok(ev), (recv, filter, false)));
                                }
                            }
                            None => {
                                if recv.overflowed.load(Ordering::Acquire) {
                                    let e = ApiError::expired(format!(
                                        "watch of {resource} fell too far behind and was closed; list and watch again"
                                    ));
                                    return Some((Err(e), (recv, filter, true)));
                                }
                                return None;
                            }
                        }
                    }
                }
            },
        );
        Ok(futures::stream::iter(initial).chain(live).boxed())
    }
}

#[async_trait::async_trait]
impl Cluster for EmbeddedCluster {
    fn endpoint(&self) -> String {
        format!("embedded {}", self.store.path().display())
    }

    async fn get(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Value> {
        Ok((*self.store.get(kind, namespace, name)?).clone())
    }

    async fn list(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<ObjectList> {
        let filter = Filter::new(kind, opts)?;
        let (items, rev) = self.store.list(kind, namespace, |o| filter.matches(o));
        Ok(ObjectList {
            items: items.iter().map(|o| (**o).clone()).collect(),
            resource_version: rev,
        })
    }

    async fn watch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<WatchStream> {
        let raw = self.watch_raw(kind, namespace, opts)?;
        Ok(raw
            .map(|r| {
                r.map(|e| WatchEvent {
                    event_type: e.event_type,
                    object: (*e.object).clone(),
                })
            })
            .boxed())
    }

    async fn list_shared(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<SharedList> {
        let filter = Filter::new(kind, opts)?;
        let (items, resource_version) = self.store.list(kind, namespace, |o| filter.matches(o));
        Ok(SharedList {
            items,
            resource_version,
        })
    }

    async fn watch_shared(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<SharedWatchStream> {
        let raw = self.watch_raw(kind, namespace, opts)?;
        Ok(raw
            .map(|r| {
                r.map(|e| SharedWatchEvent {
                    event_type: e.event_type,
                    object: e.object.clone(),
                })
            })
            .boxed())
    }

    async fn list_encoded(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<EncodedList> {
        let filter = Filter::new(kind, opts)?;
        let (entries, rev) = self
            .store
            .list_entries(kind, namespace, |o| filter.matches(o));
        Ok(EncodedList {
            items: entries.into_iter().map(|e| e.json).collect(),
            resource_version: rev,
        })
    }

    async fn watch_encoded(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<EncodedWatchStream> {
        let raw = self.watch_raw(kind, namespace, opts)?;
        Ok(raw.map(|r| r.map(|e| e.encode())).boxed())
    }

    async fn create(&self, obj: Value, opts: &WriteOptions) -> ApiResult<Value> {
        let opts = opts.clone();
        self.blocking(move |s| Ok((*s.create(obj, &opts)?).clone()))
            .await
    }

    async fn update(&self, obj: Value, opts: &WriteOptions) -> ApiResult<Value> {
        let opts = opts.clone();
        self.blocking(move |s| Ok((*s.update(obj, &opts)?).clone()))
            .await
    }

    async fn update_status(&self, obj: Value) -> ApiResult<Value> {
        self.blocking(move |s| Ok((*s.update_status(obj)?).clone()))
            .await
    }

    async fn patch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        patch: Patch,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        let (ns, name, opts) = (
            namespace.map(str::to_string),
            name.to_string(),
            opts.clone(),
        );
        self.blocking(move |s| Ok((*s.patch(kind, ns.as_deref(), &name, &patch, &opts)?).clone()))
            .await
    }

    async fn delete(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<DeleteOutcome> {
        let (ns, name, opts) = (
            namespace.map(str::to_string),
            name.to_string(),
            opts.clone(),
        );
        self.blocking(move |s| s.delete(kind, ns.as_deref(), &name, &opts))
            .await
    }

    async fn apply_batch(
        &self,
        objs: Vec<Value>,
        mode: BatchMode,
        default_namespace: &str,
        opts: &WriteOptions,
    ) -> ApiResult<Vec<ApplyOutcome>> {
        let (ns, opts) = (default_namespace.to_string(), opts.clone());
        self.blocking(move |s| s.apply_batch(objs, mode, &ns, &opts))
            .await
    }

    async fn bind(&self, namespace: &str, pod: &str, node: &str) -> ApiResult<Value> {
        let (ns, pod, node) = (namespace.to_string(), pod.to_string(), node.to_string());
        self.blocking(move |s| Ok((*s.bind(&ns, &pod, &node)?).clone()))
            .await
    }

    async fn logs(&self, namespace: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream> {
        let kind = crate::api::kinds::lookup("pods")
            .ok_or_else(|| ApiError::internal("pods kind missing"))?;
        let obj = self.store.get(kind, Some(namespace), pod)?;
        crate::cluster::logs::stream(&self.log_dir, &obj, opts, self.store.clone())
    }

    async fn pod_metrics(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<Vec<Value>> {
        let kind = crate::api::kinds::lookup("pods")
            .ok_or_else(|| ApiError::internal("pods kind missing"))?;
        let filter = Filter::new(kind, opts)?;
        let (pods, _) = self.store.list(kind, namespace, |o| filter.matches(o));
        self.metrics.collect(&pods).await
    }
}
