//! Preparing a pod and its containers: the pod directory, managed /etc files, the pod's
//! /dev/shm, its cgroup and shim; for each container run: image, environment, command,
//! user, mounts, root filesystem and cgroup, turned into a runtime `ContainerSpec`.

use super::Shared;
use super::layout::PodLayout;
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::image::Image;
use crate::node::kubelet::{command, env, security};
use crate::node::volumes::{PodVolumes, VolumeSources};
use crate::runtime::cgroup::{K8sResources, Resources};
use crate::runtime::container::{ContainerSpec, EtcFiles, Rootfs};
use crate::runtime::shim::{self, ShimClient, ShimConfig};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Objects the pod refers to, fetched from the cluster (missing ones are absent).
#[derive(Debug, Default)]
pub struct Fetched {
    pub config_maps: BTreeMap<String, Value>,
    pub secrets: BTreeMap<String, Value>,
    pub pvc_paths: BTreeMap<String, PathBuf>,
}

pub async fn fetch(shared: &Shared, pod: &Value) -> Fetched {
    let refs = env::references(pod);
    let ns = pod.namespace().unwrap_or("default");
    let cluster = shared.cluster.as_ref();
    let mut out = Fetched::default();
    let get = |kind: &str, name: String| {
        let kind = kinds::lookup(kind);
        async move {
            match kind {
                Some(k) => cluster
                    .get(k, Some(ns), &name)
                    .await
                    .ok()
                    .map(|v| (name, v)),
                None => None,
            }
        }
    };
    for name in refs.config_maps {
        if let Some((n, v)) = get("configmaps", name).await {
            out.config_maps.insert(n, v);
        }
    }
    for name in refs.secrets {
        if let Some((n, v)) = get("secrets", name).await {
            out.secrets.insert(n, v);
        }
    }
    for name in refs.pvcs {
        let Some((n, pvc)) = get("persistentvolumeclaims", name).await else {
            continue;
        };
        let Some(volume) = pvc.str_at("/spec/volumeName").filter(|s| !s.is_empty()) else {
            continue;
        };
        let Some(pv_kind) = kinds::lookup("persistentvolumes") else {
            continue;
        };
        if let Ok(pv) = cluster.get(pv_kind, None, volume).await
            && let Some(path) = pv
                .str_at("/spec/hostPath/path")
                .or_else(|| pv.str_at("/spec/local/path"))
        {
            out.pvc_paths.insert(n, PathBuf::from(path));
        }
    }
    out
}

impl Fetched {
    pub fn volume_sources(&self, node: &str, pod_ip: &str) -> VolumeSources<'_> {
        VolumeSources {
            config_maps: self
                .config_maps
                .iter()
                .map(|(k, v)| (k.clone(), v))
                .collect(),
            secrets: self.secrets.iter().map(|(k, v)| (k.clone(), v)).collect(),
            pvc_paths: self.pvc_paths.clone(),
            node_name: node.to_string(),
            pod_ip: pod_ip.to_string(),
        }
    }

    pub fn env_sources(&self, node: &str, pod_ip: &str, host_ip: &str) -> env::EnvSources<'_> {
        env::EnvSources {
            config_maps: self
                .config_maps
                .iter()
                .map(|(k, v)| (k.clone(), v))
                .collect(),
            secrets: self.secrets.iter().map(|(k, v)| (k.clone(), v)).collect(),
            pod_ip: pod_ip.to_string(),
            host_ip: host_ip.to_string(),
            node_name: node.to_string(),
        }
    }
}

/// The pod's hostname: spec.hostname, else its name (truncated to 63 like the kubelet).
pub fn hostname(pod: &Value) -> String {
    let h = pod
        .str_at("/spec/hostname")
        .filter(|s| !s.is_empty())
        .unwrap_or(pod.name());
    h.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches(['-', '.'])
        .to_string()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

/// The kubelet's managed /etc/hosts, /etc/hostname and /etc/resolv.conf.
fn write_etc(
    layout: &PodLayout,
    pod: &Value,
    pod_ip: &str,
    cluster_dns: Option<std::net::IpAddr>,
) -> Result<EtcFiles, String> {
    let etc = layout.etc();
    std::fs::create_dir_all(&etc).map_err(|e| format!("create {}: {e}", etc.display()))?;
    let host = hostname(pod);
    let host_network = pod["spec"]["hostNetwork"].as_bool() == Some(true);
    let mut hosts = String::from(
        "# Kubernetes-managed hosts file (peapod).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    if host_network {
        hosts = std::fs::read_to_string("/etc/hosts").unwrap_or(hosts);
    } else {
        let ip = if pod_ip.is_empty() {
            "127.0.1.1"
        } else {
            pod_ip
        };
        hosts.push_str(&format!("{ip}\t{host}\n"));
    }
    for alias in pod["spec"]["hostAliases"].as_array().into_iter().flatten() {
        let names: Vec<&str> = alias["hostnames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if let Some(ip) = alias["ip"].as_str() {
            hosts.push_str(&format!("{ip}\t{}\n", names.join("\t")));
        }
    }
    write(&etc.join("hosts"), &hosts)?;
    let node_host = if host_network {
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default()
    } else {
        format!("{host}\n")
    };
    write(&etc.join("hostname"), &node_host)?;
    let host_resolv = crate::node::kubelet::dns::ResolvConf::parse(
        &std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
    );
    let resolv = crate::node::kubelet::dns::pod_resolv_conf(
        pod,
        &host_resolv,
        cluster_dns,
        crate::net::dns::CLUSTER_DOMAIN,
    )
    .render();
    write(&etc.join("resolv.conf"), &resolv)?;
    Ok(EtcFiles {
        hosts: Some(etc.join("hosts")),
        hostname: Some(etc.join("hostname")),
        resolv_conf: Some(etc.join("resolv.conf")),
    })
}

/// Mounts the pod's /dev/shm: one tmpfs shared by its containers (they share IPC too).
fn mount_shm(layout: &PodLayout) -> Result<(), String> {
    let shm = layout.shm();
    std::fs::create_dir_all(&shm).map_err(|e| format!("create {}: {e}", shm.display()))?;
    if crate::runtime::mountinfo::is_mountpoint(&shm) {
        return Ok(());
    }
    nix::mount::mount(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        nix::mount::MsFlags::MS_NOSUID
            | nix::mount::MsFlags::MS_NODEV
            | nix::mount::MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(|e| format!("mount the pod's /dev/shm on {}: {e}", shm.display()))
}

fn k8s_resources(containers: &Value, sidecars_only: bool) -> Vec<K8sResources> {
    containers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let mut r = K8sResources::from_container(c).ok()?;
            if sidecars_only {
                r.sidecar = c["restartPolicy"] == "Always";
            }
            Some(r)
        })
        .collect()
}

/// The pod-level setup: directory, /etc files, /dev/shm, pod cgroup, and the shim (a fresh
/// one, or the running one when re-adopting). Returns the shim.
pub async fn sandbox(shared: &Shared, pod: &Value, pod_ip: &str) -> Result<ShimClient, String> {
    let layout = shared.layout(pod.uid());
    if let Ok(client) = shim::connect(&layout.dir).await {
        return Ok(client);
    }
    std::fs::create_dir_all(&layout.dir)
        .map_err(|e| format!("create {}: {e}", layout.dir.display()))?;
    write_etc(&layout, pod, pod_ip, shared.opts.cluster_dns)?;
    mount_shm(&layout)?;
    let cg = shared.cgroups.pod(pod.uid()).map_err(|e| e.to_string())?;
    let resources = Resources::for_pod(
        &k8s_resources(&pod["spec"]["containers"], false),
        &k8s_resources(&pod["spec"]["initContainers"], true),
        shared.cgroups.pod_pids_limit(),
    );
    cg.apply(&resources).map_err(|e| e.to_string())?;
    let config = ShimConfig {
        pod_uid: pod.uid().to_string(),
        pod: format!("{}/{}", pod.namespace().unwrap_or("default"), pod.name()),
        hostname: hostname(pod),
        share_pid: pod["spec"]["shareProcessNamespace"].as_bool() == Some(true),
        host_network: pod["spec"]["hostNetwork"].as_bool() == Some(true),
        log_max_size: 10 * 1024 * 1024,
        log_max_files: 5,
        // The shim and the sandbox holder stay out of the pod's cgroup, as conmon does: on
        // cgroup v1 every migration may wait for an RCU grace period (~10 ms here), which
        // would be paid on every pod start. The containers are in it.
        cgroup_procs: Vec::new(),
    };
    shim::launch(&shared.opts.shim_exe, &layout.dir, &config)
        .await
        .map_err(|e| e.to_string())
}

fn procs_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter().map(|d| d.join("cgroup.procs")).collect()
}

/// The image's stop signal as a number (SIGTERM when unset or unknown).
pub fn stop_signal(image: Option<&Image>) -> i32 {
    let Some(name) = image.and_then(|i| i.config.stop_signal.as_deref()) else {
        return libc::SIGTERM;
    };
    if let Ok(n) = name.parse::<i32>() {
        return n;
    }
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .unwrap_or(libc::SIGTERM)
}

/// One container run, ready for the shim.
pub struct Prepared {
    pub spec: ContainerSpec,
    pub env: Vec<String>,
    /// The container cgroup's OOM kill count before the run.
    pub oom_base: u64,
}

/// Why a container could not be prepared: (waiting reason, message).
pub type PrepareError = (&'static str, String);

/// Everything for one run of `container` (attempt `attempt`).
#[allow(clippy::too_many_arguments)]
pub fn container(
    shared: &Shared,
    pod: &Value,
    container: &Value,
    image: &Image,
    attempt: u32,
    fetched: &Fetched,
    volumes: &PodVolumes,
    pod_ip: &str,
) -> Result<Prepared, PrepareError> {
    let config_err = |m: String| ("CreateContainerConfigError", m);
    let create_err = |m: String| ("CreateContainerError", m);
    let name = container["name"].as_str().unwrap_or("");
    let layout = shared.layout(pod.uid());
    let sources = fetched.env_sources(&shared.opts.node_name, pod_ip, &shared.host_ip);
    let env =
        env::container_env(pod, container, &image.config.env, &sources).map_err(config_err)?;
    let argv = command::argv(container, &image.config, &env);
    if argv.is_empty() {
        return Err(create_err(format!(
            "no command specified for container {name}: the image has no Entrypoint or Cmd; set command in the pod spec"
        )));
    }
    let layers: Vec<&Path> = image.layers.iter().rev().map(PathBuf::as_path).collect();
    let sec = security::security(pod, container, image.config.user.as_deref(), &layers)
        .map_err(config_err)?;
    let mounts = volumes
        .mounts(pod, container)
        .map_err(|e| create_err(e.to_string()))?;
    // A fresh writable layer per run, as a restarted container starts from its image.
    let run_dir = layout.rootfs(name, attempt);
    let _ = std::fs::remove_dir_all(layout.rootfs_of(name));
    let (upper, work, merged) = (
        run_dir.join("upper"),
        run_dir.join("work"),
        run_dir.join("merged"),
    );
    for d in [&upper, &work, &merged] {
        std::fs::create_dir_all(d)
            .map_err(|e| create_err(format!("create {}: {e}", d.display())))?;
    }
    let rootfs = if image.layers.is_empty() {
        Rootfs::Dir(upper)
    } else {
        Rootfs::Overlay {
            lowerdirs: image.layers.iter().rev().cloned().collect(),
            upper,
            work,
            merged,
        }
    };
    let pod_cg = shared
        .cgroups
        .open_pod(pod.uid())
        .map_err(|e| create_err(e.to_string()))?;
    let cg = pod_cg
        .container(name)
        .map_err(|e| create_err(e.to_string()))?;
    let res = K8sResources::from_container(container)
        .map_err(|e| create_err(e.to_string()))?
        .container();
    cg.apply(&res).map_err(|e| create_err(e.to_string()))?;
    let oom_base = cg.oom_kills().unwrap_or(0);
    let etc = layout.etc();
    let mut spec = ContainerSpec::new(rootfs, argv);
    spec.env = env.clone();
    spec.cwd = container["workingDir"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| image.config.working_dir.clone())
        .unwrap_or_else(|| "/".into());
    spec.etc = EtcFiles {
        hosts: Some(etc.join("hosts")),
        hostname: Some(etc.join("hostname")),
        resolv_conf: Some(etc.join("resolv.conf")),
    };
    spec.shm = Some(layout.shm());
    spec.mounts = mounts;
    spec.user = sec.user;
    spec.capabilities = sec.capabilities;
    spec.privileged = sec.privileged;
    spec.no_new_privs = sec.no_new_privs;
    spec.readonly_rootfs = sec.readonly_rootfs;
    spec.cgroup_procs = procs_files(&cg.dirs());
    spec.share_pid = pod["spec"]["shareProcessNamespace"].as_bool() == Some(true);
    if spec.privileged {
        spec.masked_paths.clear();
        spec.readonly_paths.clear();
    }
    Ok(Prepared {
        spec,
        env,
        oom_base,
    })
}

/// The image of `container` by its imagePullPolicy, recording Pulling/Pulled events. A pull
/// that fails while a local copy exists uses the local copy (with a warning event): images
/// imported with `peapod image import` must run without a registry.
pub async fn image(shared: &Shared, pod: &Value, container: &Value) -> Result<Image, PrepareError> {
    let reference = container["image"].as_str().unwrap_or("").to_string();
    if reference.is_empty() {
        return Err(("InvalidImageName", "the container has no image".into()));
    }
    let policy = container["imagePullPolicy"]
        .as_str()
        .unwrap_or("IfNotPresent");
    if moving_tag(&reference) {
        shared.events.warning(
            pod,
            "ImageTagMoves",
            format!(
                "image \"{reference}\" has the :latest tag or none: tags move and digests don't; pin a version or name@sha256:… to run the same image every time"
            ),
        );
    }
    let store = shared.images.clone();
    let r = reference.clone();
    let local = tokio::task::spawn_blocking(move || store.resolve(&r))
        .await
        .map_err(|e| ("ErrImagePull", e.to_string()))?
        .map_err(|e| ("ErrImagePull", e.to_string()))?;
    let events = &shared.events;
    match (policy, local) {
        ("Never", Some(img)) | ("IfNotPresent", Some(img)) => {
            events.normal(
                pod,
                "Pulled",
                format!("Container image \"{reference}\" already present on machine"),
            );
            Ok(img)
        }
        ("Never", None) => Err((
            "ErrImageNeverPull",
            format!(
                "Container image \"{reference}\" is not present with pull policy of Never; import it with `peapod image import`"
            ),
        )),
        (_, local) => {
            events.normal(pod, "Pulling", format!("Pulling image \"{reference}\""));
            let started = std::time::Instant::now();
            match crate::image::pull::pull(&shared.images, &reference, &Default::default()).await {
                Ok(img) => {
                    events.normal(
                        pod,
                        "Pulled",
                        format!(
                            "Successfully pulled image \"{reference}\" in {:.3}s",
                            started.elapsed().as_secs_f64()
                        ),
                    );
                    Ok(img)
                }
                Err(e) => {
                    match local {
                        Some(img) => {
                            events.warning(
                            pod,
                            "Failed",
                            format!("Failed to pull image \"{reference}\": {e}; using the local copy"),
                        );
                            Ok(img)
                        }
                        None => {
                            events.warning(
                                pod,
                                "Failed",
                                format!("Failed to pull image \"{reference}\": {e}"),
                            );
                            Err(("ErrImagePull", e))
                        }
                    }
                }
            }
        }
    }
}

/// `docker.io/library/busybox@sha256:…`, as the kubelet reports imageID.
pub fn image_id(image: &Image) -> String {
    let r = image.reference.split('@').next().unwrap_or("");
    let repo = match (r.rfind(':'), r.rfind('/')) {
        (Some(c), Some(s)) if c > s => &r[..c],
        (Some(c), None) => &r[..c],
        _ => r,
    };
    format!("{repo}@{}", image.manifest_digest)
}

/// `busybox`, `busybox:latest`: references whose image can change under the same name.
fn moving_tag(reference: &str) -> bool {
    if reference.contains('@') {
        return false;
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_and_untagged_references_move() {
        assert!(moving_tag("busybox"));
        assert!(moving_tag("busybox:latest"));
        assert!(moving_tag("localhost:5000/team/app"));
        assert!(!moving_tag("localhost:5000/team/app:1.2"));
        assert!(!moving_tag("busybox@sha256:abcd"));
        assert!(!moving_tag("busybox:1.36"));
    }

    #[test]
    fn hostnames_follow_the_kubelet() {
        let pod = serde_json::json!({"metadata": {"name": "web-0"}, "spec": {"hostname": "db"}});
        assert_eq!(hostname(&pod), "db");
        let pod = serde_json::json!({"metadata": {"name": "web-0"}, "spec": {}});
        assert_eq!(hostname(&pod), "web-0");
    }
}
