//! PersistentVolume binding and a local provisioner, as the kube-controller-manager's PV
//! controller and a hostPath provisioner do together: a pending claim binds to a matching
//! Available volume, or else gets a new volume `pvc-<claim uid>` backed by a directory under
//! the state directory. When its claim is gone a volume is deleted with its directory
//! (reclaim policy Delete, what this provisioner sets) or kept as Released (Retain).

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey};
use crate::api::quantity::Quantity;
use crate::api::request::{DeleteOptions, EventType, ListOptions, SharedWatchEvent, WriteOptions};
use crate::cluster::Cluster;
use crate::controllers::runtime::{self, Action, Reconciler};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The provisioner name recorded on the volumes it creates.
pub const PROVISIONER: &str = "peapod.io/local";
const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";

pub struct LocalProvisioner {
    volumes_dir: PathBuf,
}

impl LocalProvisioner {
    /// Volumes are directories `<volumes_dir>/pvc-<uid>`.
    pub fn new(volumes_dir: PathBuf) -> LocalProvisioner {
        LocalProvisioner { volumes_dir }
    }
}

/// Start the binder and provisioner; abort the handle to stop it.
pub fn spawn_provisioner(cluster: Arc<dyn Cluster>, volumes_dir: PathBuf) -> JoinHandle<()> {
    struct AbortOnDrop(Vec<JoinHandle<()>>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            for h in &self.0 {
                h.abort();
            }
        }
    }
    tokio::spawn(async move {
        let _tasks = AbortOnDrop(runtime::spawn(
            cluster,
            Arc::new(LocalProvisioner::new(volumes_dir)),
        ));
        futures::future::pending::<()>().await
    })
}

fn pvc_kind() -> ApiResult<&'static KindInfo> {
    kinds::lookup("persistentvolumeclaims").ok_or_else(|| ApiError::internal("PVC kind missing"))
}

fn pv_kind() -> ApiResult<&'static KindInfo> {
    kinds::lookup("persistentvolumes").ok_or_else(|| ApiError::internal("PV kind missing"))
}

fn not_found_ok<T>(r: ApiResult<T>) -> ApiResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn phase(obj: &Value) -> &str {
    obj.str_at("/status/phase").unwrap_or("")
}

fn storage(v: Option<&Value>) -> Option<Quantity> {
    v.and_then(|q| Quantity::from_json(q).ok())
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl Reconciler for LocalProvisioner {
    fn name(&self) -> &'static str {
        "persistentvolume-binder"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        [pvc_kind(), pv_kind()].into_iter().flatten().collect()
    }

    fn keys_for(&self, kind: &'static KindInfo, event: &SharedWatchEvent) -> Vec<ObjectKey> {
        let o = &event.object;
        let mut keys = vec![ObjectKey::new(kind, o.namespace(), o.name())];
        if kind.kind == "PersistentVolumeClaim" {
            // A deleted claim releases its volume.
            if event.event_type == EventType::Deleted
                && let (Some(v), Ok(pv)) = (o.str_at("/spec/volumeName"), pv_kind())
            {
                keys.push(ObjectKey::new(pv, None, v));
            }
        } else if let (Some(ns), Some(name), Ok(pvc)) = (
            o.str_at("/spec/claimRef/namespace"),
            o.str_at("/spec/claimRef/name"),
            pvc_kind(),
        ) {
            keys.push(ObjectKey::new(pvc, Some(ns), name));
        }
        keys
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        match runtime::kind_of_key(key).map(|k| k.kind) {
            Some("PersistentVolumeClaim") => self.claim(cluster, key).await,
            Some("PersistentVolume") => self.volume(cluster, &key.name).await,
            _ => Ok(Action::Done),
        }
    }
}

impl LocalProvisioner {
    async fn claim(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let (pvc_k, pv_k) = (pvc_kind()?, pv_kind()?);
        let ns = runtime::namespace_of(key);
        let Some(pvc) = not_found_ok(cluster.get(pvc_k, ns, &key.name).await)? else {
            return Ok(Action::Done);
        };
        if pvc.deletion_timestamp().is_some() {
            return Ok(Action::Done);
        }
        let volume_name = pvc.str_at("/spec/volumeName").unwrap_or("").to_string();
        if volume_name.is_empty() {
            let pv = match self.find_match(cluster, &pvc).await? {
                Some(pv) => pv,
                None => {
                    // An explicit empty class asks for a pre-made volume only.
                    if pvc.str_at("/spec/storageClassName") == Some("") {
                        return Ok(Action::RequeueAfter(Duration::from_secs(5)));
                    }
                    self.provision(cluster, &pvc).await?
                }
            };
            let pv = claim_volume(cluster, pv, &pvc).await?;
            let pvc = set_volume_name(cluster, pvc, pv.name()).await?;
            bind_status(cluster, &pvc, &pv).await?;
            return Ok(Action::Done);
        }
        let pv = not_found_ok(cluster.get(pv_k, None, &volume_name).await)?;
        match pv {
            None if phase(&pvc) == "Bound" => {
                // The volume vanished under a bound claim: the claim is Lost, as Kubernetes says.
                let mut pvc = pvc;
                pvc["status"]["phase"] = json!("Lost");
                cluster.update_status(pvc).await?;
                Ok(Action::Done)
            }
            None => Ok(Action::RequeueAfter(Duration::from_secs(5))),
            Some(pv) => {
                let claimed_by_other = pv
                    .str_at("/spec/claimRef/uid")
                    .is_some_and(|u| !u.is_empty() && u != pvc.uid());
                if claimed_by_other {
                    return Ok(Action::RequeueAfter(Duration::from_secs(5)));
                }
                let pv = claim_volume(cluster, pv, &pvc).await?;
                bind_status(cluster, &pvc, &pv).await?;
                Ok(Action::Done)
            }
        }
    }

    /// The smallest Available volume that fits the claim: same class and volume mode,
    /// every requested access mode, enough capacity.
    async fn find_match(&self, cluster: &dyn Cluster, pvc: &Value) -> ApiResult<Option<Value>> {
        let list = cluster
            .list(pv_kind()?, None, &ListOptions::default())
            .await?;
        let want = storage(pvc.pointer("/spec/resources/requests/storage"));
        let class = pvc.str_at("/spec/storageClassName").unwrap_or("");
        let mode = pvc.str_at("/spec/volumeMode").unwrap_or("Filesystem");
        let modes = strings(pvc.pointer("/spec/accessModes"));
        let mut best: Option<(Quantity, Value)> = None;
        for pv in list.items {
            // Free, or pre-bound to this claim (by name, with or without its uid).
            let claim_uid = pv.str_at("/spec/claimRef/uid").unwrap_or("");
            let free = pv.pointer("/spec/claimRef").is_none()
                || ((claim_uid.is_empty() || claim_uid == pvc.uid())
                    && pv.str_at("/spec/claimRef/name") == Some(pvc.name())
                    && pv.str_at("/spec/claimRef/namespace") == pvc.namespace());
            let cap = storage(pv.pointer("/spec/capacity/storage"));
            let fits = free
                && pv.deletion_timestamp().is_none()
                && matches!(phase(&pv), "" | "Pending" | "Available")
                && pv.str_at("/spec/storageClassName").unwrap_or("") == class
                && pv.str_at("/spec/volumeMode").unwrap_or("Filesystem") == mode
                && modes
                    .iter()
                    .all(|m| strings(pv.pointer("/spec/accessModes")).contains(m))
                && matches!((&cap, &want), (Some(c), Some(w)) if c >= w);
            if let (true, Some(cap)) = (fits, cap)
                && best.as_ref().is_none_or(|(b, _)| cap < *b)
            {
                best = Some((cap, pv));
            }
        }
        Ok(best.map(|(_, pv)| pv))
    }

    /// A new volume for the claim (or the one an earlier attempt created).
    async fn provision(&self, cluster: &dyn Cluster, pvc: &Value) -> ApiResult<Value> {
        let name = format!("pvc-{}", pvc.uid());
        if let Some(pv) = not_found_ok(cluster.get(pv_kind()?, None, &name).await)? {
            return Ok(pv);
        }
        let dir = self.volumes_dir.join(&name);
        // World-writable like the kubelet's emptyDir, so a non-root pod can use its claim.
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)))
            .map_err(|e| {
                ApiError::internal(format!(
                    "cannot create the directory {} for persistentvolumeclaim {}/{}: {e}",
                    dir.display(),
                    pvc.namespace().unwrap_or("default"),
                    pvc.name()
                ))
            })?;
        let mut spec = json!({
            "capacity": {"storage": pvc.pointer("/spec/resources/requests/storage").cloned().unwrap_or(json!("0"))},
            "accessModes": pvc.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])),
            "persistentVolumeReclaimPolicy": "Delete",
            "volumeMode": pvc.str_at("/spec/volumeMode").unwrap_or("Filesystem"),
            "hostPath": {"path": dir.to_string_lossy(), "type": ""},
            // Bound from the start, so no other claim can take it meanwhile.
            "claimRef": {
                "kind": "PersistentVolumeClaim",
                "apiVersion": "v1",
                "namespace": pvc.namespace().unwrap_or("default"),
                "name": pvc.name(),
                "uid": pvc.uid(),
                "resourceVersion": pvc.resource_version(),
            },
        });
        if let Some(class) = pvc.str_at("/spec/storageClassName") {
            spec["storageClassName"] = json!(class);
        }
        let pv = json!({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER}},
            "spec": spec,
        });
        match cluster.create(pv, &WriteOptions::default()).await {
            Ok(pv) => Ok(pv),
            Err(e) if e.reason == crate::api::error::Reason::AlreadyExists => {
                cluster.get(pv_kind()?, None, &name).await
            }
            Err(e) => Err(e),
        }
    }

    async fn volume(&self, cluster: &dyn Cluster, name: &str) -> ApiResult<Action> {
        let Some(mut pv) = not_found_ok(cluster.get(pv_kind()?, None, name).await)? else {
            return Ok(Action::Done);
        };
        if pv.deletion_timestamp().is_some() {
            return Ok(Action::Done);
        }
        let Some(claim) = pv.pointer("/spec/claimRef").cloned() else {
            if matches!(phase(&pv), "" | "Pending") {
                pv["status"]["phase"] = json!("Available");
                cluster.update_status(pv).await?;
            }
            return Ok(Action::Done);
        };
        let ns = claim.str_at("/namespace").unwrap_or("default");
        let claim_name = claim.str_at("/name").unwrap_or("");
        let uid = claim.str_at("/uid").unwrap_or("");
        let pvc = not_found_ok(cluster.get(pvc_kind()?, Some(ns), claim_name).await)?;
        if pvc
            .as_ref()
            .is_some_and(|c| uid.is_empty() || c.uid() == uid)
        {
            return Ok(Action::Done);
        }
        if uid.is_empty() {
            // Pre-bound by name to a claim that does not exist yet: wait for it.
            return set_phase(cluster, pv, "Available", None).await;
        }
        // The claim is gone: reclaim.
        match pv
            .str_at("/spec/persistentVolumeReclaimPolicy")
            .unwrap_or("Retain")
        {
            "Delete" if pv.annotation(PROVISIONED_BY) == Some(PROVISIONER) => {
                self.remove_dir(&pv)?;
                match cluster
                    .delete(pv_kind()?, None, name, &DeleteOptions::default())
                    .await
                {
                    Ok(_) => Ok(Action::Done),
                    Err(e) if e.is_not_found() => Ok(Action::Done),
                    Err(e) => Err(e),
                }
            }
            "Delete" => {
                set_phase(cluster, pv, "Failed", Some(&format!(
                    "error getting deleter volume plugin for volume \"{name}\": no deletable volume plugin matched"
                )))
                .await
            }
            "Recycle" => {
                set_phase(
                    cluster,
                    pv,
                    "Failed",
                    Some("the Recycle reclaim policy is not supported; use Delete or Retain"),
                )
                .await
            }
            _ => set_phase(cluster, pv, "Released", None).await,
        }
    }

    /// Remove a provisioned volume's directory, only when it is ours: directly under
    /// volumes_dir and named after the volume.
    fn remove_dir(&self, pv: &Value) -> ApiResult<()> {
        let Some(path) = pv.str_at("/spec/hostPath/path").map(Path::new) else {
            return Ok(());
        };
        if path.parent() != Some(self.volumes_dir.as_path())
            || path.file_name().and_then(|n| n.to_str()) != Some(pv.name())
        {
            return Ok(());
        }
        match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ApiError::internal(format!(
                "cannot remove {} of persistentvolume {}: {e}",
                path.display(),
                pv.name()
            ))),
            _ => Ok(()),
        }
    }
}

async fn set_phase(
    cluster: &dyn Cluster,
    mut pv: Value,
    to: &str,
    message: Option<&str>,
) -> ApiResult<Action> {
    if phase(&pv) == to {
        return Ok(Action::Done);
    }
    pv["status"]["phase"] = json!(to);
    if let Some(m) = message {
        pv["status"]["message"] = json!(m);
    }
    cluster.update_status(pv).await?;
    Ok(Action::Done)
}

/// Point the volume's claimRef at the claim and mark it Bound.
async fn claim_volume(cluster: &dyn Cluster, mut pv: Value, pvc: &Value) -> ApiResult<Value> {
    let uid_matches = pv.str_at("/spec/claimRef/uid") == Some(pvc.uid());
    if !uid_matches {
        pv["spec"]["claimRef"] = json!({
            "kind": "PersistentVolumeClaim",
            "apiVersion": "v1",
            "namespace": pvc.namespace().unwrap_or("default"),
            "name": pvc.name(),
            "uid": pvc.uid(),
            "resourceVersion": pvc.resource_version(),
        });
        pv = cluster.update(pv, &WriteOptions::default()).await?;
    }
    if phase(&pv) != "Bound" {
        pv["status"]["phase"] = json!("Bound");
        pv = cluster.update_status(pv).await?;
    }
    Ok(pv)
}

async fn set_volume_name(cluster: &dyn Cluster, mut pvc: Value, pv: &str) -> ApiResult<Value> {
    pvc["spec"]["volumeName"] = json!(pv);
    let annotations = &mut pvc["metadata"]["annotations"];
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations["pv.kubernetes.io/bind-completed"] = json!("yes");
    annotations["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    cluster.update(pvc, &WriteOptions::default()).await
}

/// The claim's status once bound: phase, the volume's capacity and access modes.
async fn bind_status(cluster: &dyn Cluster, pvc: &Value, pv: &Value) -> ApiResult<()> {
    if phase(pvc) == "Bound" {
        return Ok(());
    }
    let mut pvc = pvc.clone();
    pvc["status"] = json!({
        "phase": "Bound",
        "accessModes": pv.pointer("/spec/accessModes").cloned().unwrap_or(json!([])),
        "capacity": pv.pointer("/spec/capacity").cloned().unwrap_or(json!({})),
    });
    cluster.update_status(pvc).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::embedded::EmbeddedCluster;
    use crate::store::{Store, StoreOptions};

    struct Env {
        dir: tempfile::TempDir,
        cluster: Arc<dyn Cluster>,
        handle: JoinHandle<()>,
    }

    impl Drop for Env {
        fn drop(&mut self) {
            self.handle.abort();
        }
    }

    fn env() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
        let cluster: Arc<dyn Cluster> =
            Arc::new(EmbeddedCluster::new(store, dir.path().join("logs")));
        let handle = spawn_provisioner(cluster.clone(), dir.path().join("volumes"));
        Env {
            dir,
            cluster,
            handle,
        }
    }

    fn claim(name: &str, class: Option<&str>) -> Value {
        let mut c = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        if let Some(class) = class {
            c["spec"]["storageClassName"] = json!(class);
        }
        c
    }

    /// Poll until `f` holds for the object (None = gone).
    async fn wait_for(
        c: &dyn Cluster,
        kind: &'static KindInfo,
        ns: Option<&str>,
        name: &str,
        f: impl Fn(Option<&Value>) -> bool,
    ) -> Option<Value> {
        for _ in 0..250 {
            let got = not_found_ok(c.get(kind, ns, name).await).unwrap();
            if f(got.as_ref()) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{name} never reached the expected state");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pending_claim_gets_a_provisioned_volume_deleted_with_it() {
        let e = env();
        let c = e.cluster.as_ref();
        let (pvc_k, pv_k) = (pvc_kind().unwrap(), pv_kind().unwrap());
        let created = c
            .create(claim("data", Some("standard")), &WriteOptions::default())
            .await
            .unwrap();
        let pvc = wait_for(c, pvc_k, Some("default"), "data", |o| {
            o.is_some_and(|o| phase(o) == "Bound")
        })
        .await
        .unwrap();
        let pv_name = format!("pvc-{}", created.uid());
        assert_eq!(pvc.str_at("/spec/volumeName"), Some(pv_name.as_str()));
        assert_eq!(pvc.pointer("/status/capacity/storage"), Some(&json!("1Gi")));
        assert_eq!(
            pvc.pointer("/status/accessModes"),
            Some(&json!(["ReadWriteOnce"]))
        );
        let pv = c.get(pv_k, None, &pv_name).await.unwrap();
        assert_eq!(phase(&pv), "Bound");
        assert_eq!(pv.pointer("/spec/capacity/storage"), Some(&json!("1Gi")));
        assert_eq!(
            pv.str_at("/spec/persistentVolumeReclaimPolicy"),
            Some("Delete")
        );
        assert_eq!(pv.str_at("/spec/storageClassName"), Some("standard"));
        assert_eq!(pv.str_at("/spec/claimRef/uid"), Some(created.uid()));
        assert_eq!(pv.str_at("/spec/claimRef/name"), Some("data"));
        let dir = e.dir.path().join("volumes").join(&pv_name);
        assert_eq!(pv.str_at("/spec/hostPath/path"), dir.to_str());
        assert!(dir.is_dir());
        std::fs::write(dir.join("row"), "1").unwrap();

        c.delete(pvc_k, Some("default"), "data", &DeleteOptions::default())
            .await
            .unwrap();
        wait_for(c, pv_k, None, &pv_name, |o| o.is_none()).await;
        assert!(!dir.exists(), "the volume's directory is removed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn claim_binds_a_matching_retained_volume_which_is_released_after() {
        let e = env();
        let c = e.cluster.as_ref();
        let (pvc_k, pv_k) = (pvc_kind().unwrap(), pv_kind().unwrap());
        let keep = e.dir.path().join("keep");
        std::fs::create_dir(&keep).unwrap();
        let pv = |name: &str, size: &str| {
            json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
                "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                         "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                         "hostPath": {"path": keep.to_str().unwrap()}}})
        };
        let w = WriteOptions::default();
        c.create(pv("small", "512Mi"), &w).await.unwrap();
        c.create(pv("huge", "100Gi"), &w).await.unwrap();
        c.create(pv("fits", "2Gi"), &w).await.unwrap();
        wait_for(c, pv_k, None, "fits", |o| {
            o.is_some_and(|o| phase(o) == "Available")
        })
        .await;
        c.create(claim("static", Some("")), &w).await.unwrap();
        let pvc = wait_for(c, pvc_k, Some("default"), "static", |o| {
            o.is_some_and(|o| phase(o) == "Bound")
        })
        .await
        .unwrap();
        // the smallest volume that fits, with its capacity in the claim's status
        assert_eq!(pvc.str_at("/spec/volumeName"), Some("fits"));
        assert_eq!(pvc.pointer("/status/capacity/storage"), Some(&json!("2Gi")));
        assert_eq!(
            phase(&c.get(pv_k, None, "small").await.unwrap()),
            "Available"
        );
        c.delete(pvc_k, Some("default"), "static", &DeleteOptions::default())
            .await
            .unwrap();
        wait_for(c, pv_k, None, "fits", |o| {
            o.is_some_and(|o| phase(o) == "Released")
        })
        .await;
        assert!(keep.is_dir(), "Retain keeps the data");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn empty_class_claim_without_a_match_stays_pending() {
        let e = env();
        let c = e.cluster.as_ref();
        c.create(claim("wait", Some("")), &WriteOptions::default())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let pvc = c
            .get(pvc_kind().unwrap(), Some("default"), "wait")
            .await
            .unwrap();
        assert_eq!(phase(&pvc), "Pending");
        let pvs = c
            .list(pv_kind().unwrap(), None, &ListOptions::default())
            .await
            .unwrap();
        assert!(pvs.items.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn volume_pre_bound_by_name_waits_for_its_claim() {
        let e = env();
        let c = e.cluster.as_ref();
        let (pvc_k, pv_k) = (pvc_kind().unwrap(), pv_kind().unwrap());
        let w = WriteOptions::default();
        let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "mine"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                     "claimRef": {"namespace": "default", "name": "later"},
                     "hostPath": {"path": "/nonexistent-peapod-test"}}});
        c.create(pv, &w).await.unwrap();
        wait_for(c, pv_k, None, "mine", |o| {
            o.is_some_and(|o| phase(o) == "Available")
        })
        .await;
        // another claim may not take it
        c.create(claim("other", Some("")), &w).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let other = c.get(pvc_k, Some("default"), "other").await.unwrap();
        assert_eq!(phase(&other), "Pending");
        c.create(claim("later", Some("")), &w).await.unwrap();
        let pvc = wait_for(c, pvc_k, Some("default"), "later", |o| {
            o.is_some_and(|o| phase(o) == "Bound")
        })
        .await
        .unwrap();
        assert_eq!(pvc.str_at("/spec/volumeName"), Some("mine"));
        let pv = c.get(pv_k, None, "mine").await.unwrap();
        assert_eq!(pv.str_at("/spec/claimRef/uid"), Some(pvc.uid()));
        assert_eq!(phase(&pv), "Bound");
    }
}
