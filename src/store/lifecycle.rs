//! What the API server does around a write: admission (names, system fields, defaults,
//! validation, namespace checks), optimistic concurrency, generation, graceful deletion with
//! finalizers, and apply. Every operation works inside a `Txn`, so a batch composes them.

use crate::api::apply;
use crate::api::error::{ApiError, ApiResult, FieldError, FieldErrorType};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{
    FOREGROUND_FINALIZER, ORPHAN_FINALIZER, ObjectExt, ObjectKey, kind_of, now_rfc3339, set_meta,
};
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, FieldValidation, Patch, Propagation,
    WriteOptions,
};
use crate::api::{defaults, patch, schema, validation};
use crate::store::{Store, Txn, service_alloc};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Namespaces every cluster has from its first start.
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];
/// Namespaces that cannot be deleted.
pub const PROTECTED_NAMESPACES: [&str; 4] = SYSTEM_NAMESPACES;

/// Metadata only the server sets; copied from the stored object on update.
const SYSTEM_META: [&str; 6] = [
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "namespace",
];

fn namespace_kind() -> &'static KindInfo {
    kinds::by_resource("", "namespaces").unwrap_or(&kinds::KINDS[3])
}

/// Resolve kind and the object's key, putting the namespace where it belongs.
fn locate(obj: &mut Value, default_ns: Option<&str>) -> ApiResult<(&'static KindInfo, ObjectKey)> {
    let kind = kind_of(obj)?;
    if kind.namespaced {
        if obj.namespace().is_none() {
            let ns = default_ns.unwrap_or("default");
            set_meta(obj, "namespace", Some(Value::String(ns.to_string())))?;
        }
    } else {
        set_meta(obj, "namespace", None)?;
    }
    let key = ObjectKey::new(kind, obj.namespace(), obj.name());
    Ok((kind, key))
}

/// Unknown fields and wrong types, by the requested strictness.
fn check_schema(kind: &KindInfo, obj: &Value, mode: FieldValidation) -> Vec<FieldError> {
    schema::check_fields(kind, obj)
        .into_iter()
        .filter(|e| e.kind != FieldErrorType::Unknown || mode == FieldValidation::Strict)
        .collect()
}

fn invalid(kind: &KindInfo, obj: &Value, causes: Vec<FieldError>) -> ApiResult<()> {
    if causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(kind.kind, obj.name(), causes))
}

/// Kubernetes' generateName suffix: 5 characters from an alphabet without vowels and
/// look-alike digits.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The namespace an object is written into must exist and not be terminating.
fn check_namespace(txn: &Txn, kind: &KindInfo, obj: &Value) -> ApiResult<()> {
    if !kind.namespaced {
        return Ok(());
    }
    let ns = obj.namespace().unwrap_or("default");
    let nsk = namespace_kind();
    match txn.get(&ObjectKey::new(nsk, None, ns)) {
        None => Err(ApiError::not_found("namespaces", ns)),
        Some(n) if n.deletion_timestamp().is_some() => Err(ApiError::forbidden(format!(
            "{} {:?} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            kind.resource(),
            obj.name()
        ))),
        Some(_) => Ok(()),
    }
}

/// The status an object starts with (the API server resets client-sent status on create).
fn initial_status(kind: &KindInfo, obj: &Value) -> Option<Value> {
    match kind.kind {
        "Pod" => Some(json!({"phase": "Pending", "qosClass": qos_class(obj)})),
        "Namespace" => Some(json!({"phase": "Active"})),
        "PersistentVolumeClaim" | "PersistentVolume" => Some(json!({"phase": "Pending"})),
        "Service" => Some(json!({"loadBalancer": {}})),
        "Node" => obj.get("status").cloned(),
        _ if kind.has_status => Some(json!({})),
        _ => obj.get("status").cloned(),
    }
}

/// Guaranteed when every container has cpu and memory limits equal to requests, BestEffort
/// when none has any, else Burstable.
fn qos_class(pod: &Value) -> &'static str {
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|f| pod.pointer(&format!("/spec/{f}")).and_then(Value::as_array))
        .flatten()
        .collect();
    let mut any = false;
    let mut guaranteed = !containers.is_empty();
    for c in &containers {
        let req = c.pointer("/resources/requests");
        let lim = c.pointer("/resources/limits");
        for r in ["cpu", "memory"] {
            let q = req.and_then(|m| m.get(r));
            let l = lim.and_then(|m| m.get(r));
            any |= q.is_some() || l.is_some();
            if l.is_none() || (q.is_some() && q != l) {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

pub fn create(
    txn: &mut Txn,
    mut obj: Value,
    default_ns: Option<&str>,
    opts: &WriteOptions,
) -> ApiResult<Arc<Value>> {
    let (kind, _) = locate(&mut obj, default_ns)?;
    invalid(kind, &obj, check_schema(kind, &obj, opts.field_validation))?;
    if !obj.resource_version().is_empty() {
        return Err(ApiError::bad_request(format!(
            "{} {:?}: resourceVersion should not be set on objects to be created",
            kind.resource(),
            obj.name()
        )));
    }
    if obj.name().is_empty()
        && let Some(prefix) = obj.str_at("/metadata/generateName").map(str::to_string)
    {
        let mut tries = 0;
        loop {
            let name = format!("{prefix}{}", random_suffix());
            if txn
                .get(&ObjectKey::new(kind, obj.namespace(), &name))
                .is_none()
                || tries > 8
            {
                set_meta(&mut obj, "name", Some(Value::String(name)))?;
                break;
            }
            tries += 1;
        }
    }
    for f in [
        "uid",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "creationTimestamp",
    ] {
        set_meta(&mut obj, f, None)?;
    }
    defaults::apply_defaults(kind, &mut obj);
    invalid(kind, &obj, validation::validate_create(kind, &obj))?;
    check_namespace(txn, kind, &obj)?;
    let key = ObjectKey::new(kind, obj.namespace(), obj.name());
    if txn.get(&key).is_some() {
        return Err(ApiError::already_exists(&kind.resource(), obj.name()));
    }
    set_meta(
        &mut obj,
        "uid",
        Some(json!(uuid::Uuid::new_v4().to_string())),
    )?;
    set_meta(&mut obj, "creationTimestamp", Some(json!(now_rfc3339())))?;
    set_meta(&mut obj, "generation", Some(json!(1)))?;
    if kind.kind == "Job" {
        // Needs the uid, so after defaulting and validation (as the job strategy does).
        defaults::generate_job_selector(&mut obj);
    }
    if kind.kind == "Service" {
        service_alloc::allocate(txn, &key, &mut obj)?;
    }
    // The status an object starts with replaces what the client sent (Nodes report their own).
    let status = initial_status(kind, &obj);
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
    if let Some(status) = status {
        obj["status"] = status;
    }
    if kind.kind == "Namespace" {
        // As the namespace strategy does: content is cleaned up before a namespace goes.
        let mut fins: Vec<Value> = obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !fins.iter().any(|f| f == "kubernetes") {
            fins.push(json!("kubernetes"));
        }
        obj["spec"]["finalizers"] = Value::Array(fins);
    }
    Ok(txn.put(&key, obj))
}

/// Everything but metadata and status: a change here bumps `generation`.
fn spec_part(obj: &Value) -> Map<String, Value> {
    obj.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn check_preconditions(kind: &KindInfo, current: &Value, obj: &Value) -> ApiResult<()> {
    let rv = obj.resource_version();
    if !rv.is_empty() && rv != current.resource_version() {
        return Err(ApiError::conflict(
            &kind.resource(),
            current.name(),
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let uid = obj.uid();
    if !uid.is_empty() && uid != current.uid() {
        return Err(ApiError::conflict(
            &kind.resource(),
            current.name(),
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                current.uid()
            ),
        ));
    }
    Ok(())
}

/// Whether an object marked for deletion may now be removed.
fn ready_to_remove(kind: &KindInfo, obj: &Value) -> bool {
    if obj.deletion_timestamp().is_none() || !obj.finalizers().is_empty() {
        return false;
    }
    match kind.kind {
        "Namespace" => obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty()),
        // A pod on a node stays until the node agent confirms it stopped (grace 0).
        "Pod" => {
            pod_unbound(obj)
                || obj
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    == Some(0)
        }
        _ => true,
    }
}

fn pod_unbound(pod: &Value) -> bool {
    pod.str_at("/spec/nodeName").is_none_or(str::is_empty)
}

/// Outcome of an update: the stored object, and whether it was removed (last finalizer gone).
pub enum Updated {
    Stored(Arc<Value>),
    Removed(Arc<Value>),
}

impl Updated {
    pub fn object(self) -> Arc<Value> {
        match self {
            Updated::Stored(v) | Updated::Removed(v) => v,
        }
    }
}

pub fn update(
    txn: &mut Txn,
    mut obj: Value,
    opts: &WriteOptions,
    status_only: bool,
) -> ApiResult<Updated> {
    let (kind, key) = locate(&mut obj, None)?;
    let current = txn
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&kind.resource(), obj.name()))?;
    check_preconditions(kind, &current, &obj)?;
    let mut new = if status_only {
        // Status writes change nothing but status.
        let mut n = (*current).clone();
        match obj.get("status") {
            Some(s) => n["status"] = s.clone(),
            None => {
                if let Some(m) = n.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        n
    } else {
        invalid(kind, &obj, check_schema(kind, &obj, opts.field_validation))?;
        let mut n = obj;
        for f in SYSTEM_META {
            set_meta(
                &mut n,
                f,
                current.pointer(&format!("/metadata/{f}")).cloned(),
            )?;
        }
        if kind.has_status {
            match current.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    if let Some(m) = n.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        defaults::apply_defaults(kind, &mut n);
        if kind.kind == "Service" {
            service_alloc::keep_allocated(&mut n, &current);
        }
        invalid(kind, &n, validation::validate_update(kind, &n, &current))?;
        if kind.kind == "Service" {
            service_alloc::allocate(txn, &key, &mut n)?;
        }
        if current.deletion_timestamp().is_some() {
            let old = current.finalizers();
            let added: Vec<String> = n
                .finalizers()
                .into_iter()
                .filter(|f| !old.contains(f))
                .collect();
            if !added.is_empty() {
                let list: Vec<String> = added.iter().map(|f| format!("{f:?}")).collect();
                let cause = FieldError::forbidden(
                    "metadata.finalizers",
                    format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                        list.join(", ")
                    ),
                );
                return Err(ApiError::invalid(kind.kind, n.name(), vec![cause]));
            }
        }
        if spec_part(&n) != spec_part(&current) {
            set_meta(&mut n, "generation", Some(json!(current.generation() + 1)))?;
        }
        n
    };
    set_meta(
        &mut new,
        "resourceVersion",
        current.pointer("/metadata/resourceVersion").cloned(),
    )?;
    if ready_to_remove(kind, &new) {
        txn.put(&key, new);
        let gone = txn.remove(&key).unwrap_or(current);
        return Ok(Updated::Removed(gone));
    }
    if new == *current {
        return Ok(Updated::Stored(current));
    }
    Ok(Updated::Stored(txn.put(&key, new)))
}

pub fn patch(
    txn: &mut Txn,
    kind: &'static KindInfo,
    namespace: Option<&str>,
    name: &str,
    p: &Patch,
    opts: &WriteOptions,
) -> ApiResult<Updated> {
    let key = ObjectKey::new(kind, namespace, name);
    let current = txn
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&kind.resource(), name))?;
    let mut patched = match p {
        Patch::Merge(body) => {
            if !body.is_object() {
                return Err(ApiError::bad_request(
                    "merge patch body must be a JSON object",
                ));
            }
            let mut v = (*current).clone();
            patch::merge_patch(&mut v, body);
            v
        }
        Patch::Json(ops) => patch::json_patch(&current, ops)?,
    };
    if patched.name() != name || patched.namespace() != current.namespace() {
        return Err(ApiError::bad_request(format!(
            "{} {name:?}: a patch may not change metadata.name or metadata.namespace",
            kind.resource()
        )));
    }
    if patched.resource_version().is_empty() {
        set_meta(
            &mut patched,
            "resourceVersion",
            current.pointer("/metadata/resourceVersion").cloned(),
        )?;
    }
    // As on the API server, a patch of the main resource leaves status alone (status has its
    // own write path).
    update(txn, patched, opts, false)
}

pub fn delete(
    txn: &mut Txn,
    kind: &'static KindInfo,
    namespace: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
) -> ApiResult<DeleteOutcome> {
    let key = ObjectKey::new(kind, namespace, name);
    let current = txn
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&kind.resource(), name))?;
    if let Some(uid) = &opts.precondition_uid
        && uid != current.uid()
    {
        return Err(ApiError::conflict(
            &kind.resource(),
            name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                current.uid()
            ),
        ));
    }
    if let Some(rv) = &opts.precondition_resource_version
        && rv != current.resource_version()
    {
        return Err(ApiError::conflict(
            &kind.resource(),
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    if kind.kind == "Namespace" && PROTECTED_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(format!(
            "namespaces {name:?} is forbidden: this namespace may not be deleted"
        )));
    }
    let mut obj = (*current).clone();
    let mut finalizers = obj.finalizers();
    match opts.propagation.unwrap_or_default() {
        Propagation::Foreground if !finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) => {
            finalizers.retain(|f| f != ORPHAN_FINALIZER);
            finalizers.push(FOREGROUND_FINALIZER.into());
        }
        Propagation::Orphan if !finalizers.iter().any(|f| f == ORPHAN_FINALIZER) => {
            finalizers.retain(|f| f != FOREGROUND_FINALIZER);
            finalizers.push(ORPHAN_FINALIZER.into());
        }
        _ => {}
    }
    let fin_value = if finalizers.is_empty() {
        None
    } else {
        Some(json!(finalizers))
    };
    set_meta(&mut obj, "finalizers", fin_value)?;

    let grace = match kind.kind {
        "Pod" if pod_unbound(&obj) => 0,
        "Pod" => opts.grace_period_seconds.unwrap_or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(30)
        }),
        _ => 0,
    }
    .max(0);
    let already = current.deletion_timestamp().is_some();
    let previous_grace = obj
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64);
    // A second delete may only shorten the grace period.
    let grace = match (already, previous_grace) {
        (true, Some(p)) => grace.min(p),
        _ => grace,
    };
    if !already || previous_grace != Some(grace) {
        let when = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace);
        set_meta(
            &mut obj,
            "deletionTimestamp",
            Some(json!(when.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())),
        )?;
        set_meta(&mut obj, "deletionGracePeriodSeconds", Some(json!(grace)))?;
    }
    if kind.kind == "Namespace" {
        obj["status"]["phase"] = json!("Terminating");
    }
    if ready_to_remove(kind, &obj) && grace == 0 {
        let gone = txn.remove(&key).unwrap_or(current);
        return Ok(DeleteOutcome::Deleted((*gone).clone()));
    }
    if obj == *current {
        return Ok(DeleteOutcome::Pending(obj));
    }
    if !already {
        set_meta(
            &mut obj,
            "generation",
            Some(json!(current.generation() + 1)),
        )?;
    }
    Ok(DeleteOutcome::Pending((*txn.put(&key, obj)).clone()))
}

/// Assign a pod to a node, as the binding subresource does: `spec.nodeName` is set once (it is
/// immutable for ordinary updates) and the PodScheduled condition becomes True.
pub fn bind(txn: &mut Txn, namespace: &str, name: &str, node: &str) -> ApiResult<Arc<Value>> {
    let kind =
        kinds::by_resource("", "pods").ok_or_else(|| ApiError::internal("pods kind missing"))?;
    let key = ObjectKey::new(kind, Some(namespace), name);
    let current = txn
        .get(&key)
        .ok_or_else(|| ApiError::not_found("pods", name))?;
    if current.deletion_timestamp().is_some() {
        return Err(ApiError::conflict(
            "pods",
            name,
            "pod is being deleted, cannot be assigned to a host",
        ));
    }
    match current.str_at("/spec/nodeName").filter(|n| !n.is_empty()) {
        Some(n) if n == node => return Ok(current),
        Some(n) => {
            return Err(ApiError::conflict(
                "pods",
                name,
                &format!("pod {name} is already assigned to node {n:?}"),
            ));
        }
        None => {}
    }
    let mut pod = (*current).clone();
    pod["spec"]["nodeName"] = json!(node);
    let now = now_rfc3339();
    let mut conditions: Vec<Value> = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    conditions.retain(|c| c["type"] != "PodScheduled");
    conditions.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}));
    pod["status"]["conditions"] = json!(conditions);
    Ok(txn.put(&key, pod))
}

/// Create, or three-way update, one manifest.
pub fn apply_one(
    txn: &mut Txn,
    mut obj: Value,
    mode: BatchMode,
    default_ns: &str,
    opts: &WriteOptions,
) -> ApiResult<ApplyOutcome> {
    let (kind, key) = locate(&mut obj, Some(default_ns))?;
    if mode == BatchMode::Create {
        return Ok(ApplyOutcome::Created(
            (*create(txn, obj, None, opts)?).clone(),
        ));
    }
    if obj.name().is_empty() {
        return Err(ApiError::bad_request(format!(
            "{}: metadata.name is required for apply (generateName works only with create)",
            kind.kind
        )));
    }
    let manifest = apply::with_last_applied(&obj)?;
    match txn.get(&key) {
        None => Ok(ApplyOutcome::Created(
            (*create(txn, manifest, None, opts)?).clone(),
        )),
        Some(current) => {
            let mut desired = apply::three_way(&current, &manifest);
            set_meta(
                &mut desired,
                "resourceVersion",
                current.pointer("/metadata/resourceVersion").cloned(),
            )?;
            match update(txn, desired, opts, false)? {
                Updated::Stored(o) if o.resource_version() == current.resource_version() => {
                    Ok(ApplyOutcome::Unchanged((*o).clone()))
                }
                u => Ok(ApplyOutcome::Configured((*u.object()).clone())),
            }
        }
    }
}

impl Store {
    pub(super) fn ensure_system_namespaces(&self) -> ApiResult<()> {
        self.write(|txn| {
            for ns in SYSTEM_NAMESPACES {
                let key = ObjectKey::new(namespace_kind(), None, ns);
                if txn.get(&key).is_none() {
                    let obj =
                        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                    create(txn, obj, None, &WriteOptions::default())?;
                }
            }
            Ok(())
        })
    }

    fn write_or_dry<T>(
        &self,
        dry_run: bool,
        f: impl FnOnce(&mut Txn) -> ApiResult<T>,
    ) -> ApiResult<T> {
        self.transact(!dry_run, f)
    }

    pub fn create(&self, obj: Value, opts: &WriteOptions) -> ApiResult<Arc<Value>> {
        self.write_or_dry(opts.dry_run, |txn| create(txn, obj, None, opts))
    }

    pub fn update(&self, obj: Value, opts: &WriteOptions) -> ApiResult<Arc<Value>> {
        self.write_or_dry(opts.dry_run, |txn| {
            Ok(update(txn, obj, opts, false)?.object())
        })
    }

    pub fn update_status(&self, obj: Value) -> ApiResult<Arc<Value>> {
        self.write(|txn| Ok(update(txn, obj, &WriteOptions::default(), true)?.object()))
    }

    pub fn patch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        p: &Patch,
        opts: &WriteOptions,
    ) -> ApiResult<Arc<Value>> {
        self.write_or_dry(opts.dry_run, |txn| {
            Ok(patch(txn, kind, namespace, name, p, opts)?.object())
        })
    }

    pub fn delete(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<DeleteOutcome> {
        self.write_or_dry(opts.dry_run, |txn| delete(txn, kind, namespace, name, opts))
    }

    pub fn bind(&self, namespace: &str, name: &str, node: &str) -> ApiResult<Arc<Value>> {
        self.write(|txn| bind(txn, namespace, name, node))
    }

    /// All objects or none: the first failure aborts the whole batch, naming the object.
    pub fn apply_batch(
        &self,
        objs: Vec<Value>,
        mode: BatchMode,
        default_ns: &str,
        opts: &WriteOptions,
    ) -> ApiResult<Vec<ApplyOutcome>> {
        self.write_or_dry(opts.dry_run, |txn| {
            let mut out = Vec::with_capacity(objs.len());
            for obj in objs {
                out.push(apply_one(txn, obj, mode, default_ns, opts)?);
            }
            Ok(out)
        })
    }
}
