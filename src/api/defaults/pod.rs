//! Pod and pod template defaults (core/v1 SetDefaults_Pod, SetDefaults_PodSpec,
//! SetDefaults_Container, SetDefaults_Probe, SetDefaults_Volume, ...).

use super::{
    canonical_resource_list, child, default_if_zero, default_str, default_value, each_item,
    ensure_child,
};
use serde_json::{Map, Value, json};

/// Keys of `VolumeSource` (one of them names a volume's type).
pub(crate) const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// 0644, the mode of files projected from secrets and config maps.
const DEFAULT_FILE_MODE: i64 = 0o644;

const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// A Pod object: pod spec defaults plus what Kubernetes applies to Pods only (not templates).
pub(super) fn default_pod(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_pod_spec(spec, Some("Always"));
    // Requests default to limits only on Pods, so templates stay as written.
    for list in ["containers", "initContainers"] {
        for c in each_item(spec, list) {
            limits_to_requests(c);
        }
    }
    default_value(spec, "enableServiceLinks", Value::Bool(true));
    if spec.get("hostNetwork") == Some(&Value::Bool(true)) {
        for list in ["containers", "initContainers"] {
            for c in each_item(spec, list) {
                for p in each_item(c, "ports") {
                    if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
                        && let Some(cp) = p.get("containerPort").cloned()
                    {
                        p.insert("hostPort".into(), cp);
                    }
                }
            }
        }
    }
}

/// A `PodTemplateSpec` (`spec.template` of workloads). `restart_policy` is the default to use,
/// or `None` where the owner requires an explicit one (Job, CronJob).
pub(super) fn default_template(owner_spec: &mut Map<String, Value>, restart_policy: Option<&str>) {
    let Some(template) = child(owner_spec, "template") else {
        return;
    };
    if let Some(spec) = child(template, "spec") {
        default_pod_spec(spec, restart_policy);
    }
}

fn default_pod_spec(spec: &mut Map<String, Value>, restart_policy: Option<&str>) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    if let Some(r) = restart_policy {
        default_str(spec, "restartPolicy", r);
    }
    default_value(spec, "securityContext", json!({}));
    default_value(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    for list in CONTAINER_LISTS {
        for c in each_item(spec, list) {
            default_container(c);
        }
    }
    for v in each_item(spec, "volumes") {
        default_volume(v);
    }
}

fn default_container(c: &mut Map<String, Value>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let policy = if image_tag(image) == Some("latest") {
        "Always"
    } else {
        "IfNotPresent"
    };
    default_str(c, "imagePullPolicy", policy);
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    for p in each_item(c, "ports") {
        default_str(p, "protocol", "TCP");
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = child(c, probe) {
            default_probe(p);
        }
    }
    if let Some(lifecycle) = child(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(get) = child(lifecycle, hook).and_then(|h| child(h, "httpGet")) {
                default_http_get(get);
            }
        }
    }
    for e in each_item(c, "env") {
        if let Some(field_ref) = child(e, "valueFrom").and_then(|v| child(v, "fieldRef")) {
            default_str(field_ref, "apiVersion", "v1");
        }
    }
    if let Some(resources) = child(c, "resources") {
        canonical_resource_list(resources, "limits");
        canonical_resource_list(resources, "requests");
    }
}

/// The tag `ParseImageName` finds: `latest` when an image has neither tag nor digest, `None`
/// when it is pinned by digest only or is empty.
fn image_tag(image: &str) -> Option<&str> {
    if image.is_empty() {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    // A ':' after the last '/' starts the tag; earlier ones belong to a registry port.
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    match last_segment.rsplit_once(':') {
        Some((_, tag)) => Some(tag),
        None if digest.is_some() => None,
        None => Some("latest"),
    }
}

fn limits_to_requests(c: &mut Map<String, Value>) {
    let Some(resources) = child(c, "resources") else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let Some(requests) = ensure_child(resources, "requests") else {
        return;
    };
    for (name, q) in limits {
        // A limit that is not a quantity is reported once, at the limit, not again here.
        if crate::api::quantity::Quantity::from_json(&q).is_ok() {
            requests.entry(name).or_insert(q);
        }
    }
}

fn default_probe(p: &mut Map<String, Value>) {
    default_if_zero(p, "timeoutSeconds", 1);
    default_if_zero(p, "periodSeconds", 10);
    default_if_zero(p, "successThreshold", 1);
    default_if_zero(p, "failureThreshold", 3);
    if let Some(get) = child(p, "httpGet") {
        default_http_get(get);
    }
}

fn default_http_get(get: &mut Map<String, Value>) {
    default_str(get, "path", "/");
    default_str(get, "scheme", "HTTP");
}

fn default_volume(v: &mut Map<String, Value>) {
    if !VOLUME_SOURCES
        .iter()
        .any(|s| v.get(*s).is_some_and(|x| !x.is_null()))
    {
        v.insert("emptyDir".into(), json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = child(v, source) {
            default_value(s, "defaultMode", json!(DEFAULT_FILE_MODE));
        }
    }
    if let Some(h) = child(v, "hostPath") {
        default_value(h, "type", json!(""));
    }
    if let Some(d) = child(v, "downwardAPI") {
        for item in each_item(d, "items") {
            if let Some(f) = child(item, "fieldRef") {
                default_str(f, "apiVersion", "v1");
            }
        }
    }
    if let Some(e) = child(v, "emptyDir")
        && let Some(limit) = e.get("sizeLimit")
        && let Ok(q) = crate::api::quantity::Quantity::from_json(limit)
        && !limit.is_null()
    {
        e.insert("sizeLimit".into(), q.to_json());
    }
}

#[cfg(test)]
mod tests {
    use super::image_tag;

    #[test]
    fn image_tags_as_parse_image_name_reads_them() {
        assert_eq!(image_tag("nginx"), Some("latest"));
        assert_eq!(image_tag("nginx:latest"), Some("latest"));
        assert_eq!(image_tag("nginx:1.25"), Some("1.25"));
        assert_eq!(image_tag("localhost:5000/nginx"), Some("latest"));
        assert_eq!(image_tag("localhost:5000/nginx:1"), Some("1"));
        assert_eq!(image_tag("nginx@sha256:abc"), None);
        assert_eq!(image_tag("nginx:1.2@sha256:abc"), Some("1.2"));
        assert_eq!(image_tag(""), None);
    }
}
