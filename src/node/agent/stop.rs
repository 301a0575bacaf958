//! Stopping pods: graceful termination on deletion (preStop, stop signal, grace period,
//! SIGKILL), immediate removal when the pod object is gone, winding down a pod that
//! finished, and removing everything a pod had on the host.

use super::Shared;
use super::worker::Worker;
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::DeleteOptions;
use crate::node::probe::Target;
use crate::node::volumes;
use crate::runtime::shim;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long to wait for exits after SIGKILL before giving up on a container.
const KILL_WAIT: Duration = Duration::from_secs(5);

fn grace_of(pod: &Value) -> Duration {
    let secs = pod["metadata"]["deletionGracePeriodSeconds"]
        .as_i64()
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30)
        .max(0);
    Duration::from_secs(secs as u64)
}

/// The pod is being deleted: stop it gracefully, remove it from the host, write its final
/// status and confirm the deletion (grace period 0), as the kubelet does.
pub async fn terminate(w: &mut Worker, rx: &mut watch::Receiver<Option<Value>>) {
    let started = Instant::now();
    let mut deadline = started + grace_of(&w.pod);
    let mut gone = false;
    if let Some(shim) = w.shim.clone() {
        let running: Vec<(String, i32, Target, Option<Value>)> = w
            .app
            .iter()
            .chain(w.init.iter())
            .filter(|c| c.running())
            .filter_map(|c| {
                let run = c.current.as_ref()?;
                Some((
                    c.name.clone(),
                    c.stop_signal,
                    super::container::probe_target(
                        &w.pod,
                        c,
                        run.rec.pid,
                        shim.sandbox_pid,
                        &w.facts.pod_ip,
                    ),
                    c.spec.pointer("/lifecycle/preStop").cloned(),
                ))
            })
            .collect();
        for c in w.init.iter_mut().chain(w.app.iter_mut()) {
            if let Some(h) = c.probes.take() {
                h.abort();
            }
            c.ready = false;
            c.retry_at = None;
        }
        for (name, ..) in &running {
            w.shared
                .events
                .normal(&w.pod, "Killing", format!("Stopping container {name}"));
        }
        w.publish().await;
        // preStop hooks run in parallel, counted against the grace period; then the stop
        // signal. Each container gets its signal as soon as its own hook is done.
        let hooks = running.into_iter().map(|(name, sig, target, hook)| {
            let shim = shim.clone();
            let pod = w.pod.clone();
            let events = w.shared.events.clone();
            async move {
                if let Some(hook) = hook {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if let Err(e) = crate::node::probe::run_hook(&hook, &target, left).await {
                        events.warning(&pod, "FailedPreStopHook", e);
                    }
                }
                let _ = shim.signal(&name, sig).await;
            }
        });
        let all_hooks = futures::future::join_all(hooks);
        tokio::pin!(all_hooks);
        let mut hooks_done = false;
        let mut killed = false;
        loop {
            if hooks_done && !w.init.iter().chain(&w.app).any(|c| c.running()) {
                break;
            }
            if killed && Instant::now() >= deadline + KILL_WAIT {
                break;
            }
            let wake = if killed {
                deadline + KILL_WAIT
            } else {
                deadline
            };
            tokio::select! {
                _ = &mut all_hooks, if !hooks_done => hooks_done = true,
                rec = next_exit(&mut w.exits) => match rec {
                    Some(rec) => record_exit(w, rec),
                    None => break,
                },
                changed = rx.changed(), if !gone => {
                    if changed.is_err() {
                        gone = true;
                    } else {
                        let latest = rx.borrow_and_update().clone();
                        match latest {
                            // A second delete may shorten the grace period.
                            Some(p) => {
                                let d = started + grace_of(&p);
                                if d < deadline && !killed {
                                    deadline = d;
                                }
                                w.pod = p;
                            }
                            None => {
                                gone = true;
                                deadline = Instant::now();
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(wake) => {
                    if !killed {
                        killed = true;
                        hooks_done = true;
                        for c in w.init.iter().chain(&w.app).filter(|c| c.running()) {
                            let _ = shim.signal(&c.name, libc::SIGKILL).await;
                        }
                    }
                }
            }
        }
        let _ = shim.shutdown().await;
        w.shim = None;
        w.exits = None;
    }
    for c in w.init.iter_mut().chain(w.app.iter_mut()) {
        if let Some(run) = c.current.as_mut()
            && run.running()
        {
            run.rec.finished_at = Some(crate::api::object::now_rfc3339());
            run.rec.exit_code = Some(137);
            run.reason = "Error".into();
        }
        c.retry_at = None;
    }
    w.facts.sandbox_ready = false;
    release_runtime(&w.shared, &w.pod).await;
    remove_files(&w.shared, &w.pod);
    if gone {
        return;
    }
    w.publish().await;
    if let Some(kind) = kinds::lookup("pods") {
        let opts = DeleteOptions {
            grace_period_seconds: Some(0),
            precondition_uid: Some(w.pod.uid().to_string()),
            ..Default::default()
        };
        if let Err(e) = w
            .shared
            .cluster
            .delete(kind, w.pod.namespace(), w.pod.name(), &opts)
            .await
            && !e.is_not_found()
        {
            tracing::warn!("pod {} could not be removed: {e}", w.pod.name());
        }
    }
}

fn record_exit(w: &mut Worker, rec: shim::ContainerRecord) {
    if let Some(c) = w
        .init
        .iter_mut()
        .chain(w.app.iter_mut())
        .find(|c| c.name == rec.container)
        && let Some(run) = c.current.as_mut()
        && run.rec.attempt == rec.attempt
    {
        let code = rec.exit_code.unwrap_or(137);
        run.reason = super::status::terminated_reason(code, false).to_string();
        run.rec = rec;
    }
}

async fn next_exit(
    exits: &mut Option<tokio::sync::mpsc::Receiver<shim::ContainerRecord>>,
) -> Option<shim::ContainerRecord> {
    match exits {
        Some(rx) => rx.recv().await,
        None => None,
    }
}

/// The pod object is gone (force deletion): kill everything now and remove it.
pub async fn remove_now(w: &mut Worker) {
    for c in w.init.iter_mut().chain(w.app.iter_mut()) {
        if let Some(h) = c.probes.take() {
            h.abort();
        }
    }
    if let Some(shim) = w.shim.take() {
        let _ = shim.shutdown().await;
    }
    release_runtime(&w.shared, &w.pod).await;
    remove_files(&w.shared, &w.pod);
}

/// The pod finished (Succeeded or Failed): stop what is left (sidecars) and free the
/// sandbox, keeping logs and exit records until the pod is deleted.
pub async fn wind_down(w: &mut Worker) {
    for c in w.init.iter_mut().chain(w.app.iter_mut()) {
        if let Some(h) = c.probes.take() {
            h.abort();
        }
        c.ready = false;
        c.retry_at = None;
    }
    if let Some(shim) = w.shim.take() {
        let _ = shim.shutdown().await;
    }
    w.exits = None;
    for c in w.init.iter_mut().chain(w.app.iter_mut()) {
        if let Some(run) = c.current.as_mut()
            && run.running()
        {
            run.rec.finished_at = Some(crate::api::object::now_rfc3339());
            run.rec.exit_code = Some(137);
            run.reason = "Error".into();
        }
    }
    w.facts.sandbox_ready = false;
    w.wound_down = true;
    release_runtime(&w.shared, &w.pod).await;
}

/// Frees what a pod holds on the host besides its files: processes left in its cgroup
/// (only ever ours: the cgroup is the pod's), its cgroup, /dev/shm and volume mounts.
pub async fn release_runtime(shared: &Shared, pod: &Value) {
    let uid = pod.uid().to_string();
    release_uid(shared, &uid).await;
}

async fn release_uid(shared: &Shared, uid: &str) {
    let layout = shared.layout(uid);
    if let Ok(client) = shim::connect(&layout.dir).await {
        let _ = client.shutdown().await;
    }
    if let Ok(cg) = shared.cgroups.open_pod(uid) {
        let deadline = Instant::now() + KILL_WAIT;
        loop {
            let pids = cg.procs_recursive().unwrap_or_default();
            if pids.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in pids {
                // The pid was read from the pod's own cgroup: it is one of the pod's processes.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Err(e) = cg.remove() {
            tracing::warn!("pod {uid}: cgroup not removed: {e}");
        }
    }
    // The pod's veth and address go in the background: deleting a network device waits for
    // the kernel's RCU grace periods and reference drops (tens of ms, more on a busy
    // machine), which the pod's deletion need not wait for. The pair dies with the pod's
    // namespace anyway; an address left by a crash is freed by `clean_orphans`.
    let network = shared.network.clone();
    let owner = uid.to_string();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = network.detach(&owner) {
            tracing::warn!("pod {owner}: network not released: {e}");
        }
    });
    let shm = layout.shm();
    if crate::runtime::mountinfo::is_mountpoint(&shm) {
        let _ = nix::mount::umount2(&shm, nix::mount::MntFlags::MNT_DETACH);
    }
    if let Err(e) = volumes::cleanup(&layout.dir) {
        tracing::warn!("pod {uid}: volumes not cleaned up: {e}");
    }
}

/// Removes the pod's directory and its logs.
fn remove_files(shared: &Shared, pod: &Value) {
    let layout = shared.layout(pod.uid());
    let _ = std::fs::remove_dir_all(&layout.dir);
    let logs = shared.opts.state_dir.join("logs").join(format!(
        "{}_{}_{}",
        pod.namespace().unwrap_or("default"),
        pod.name(),
        pod.uid()
    ));
    let _ = std::fs::remove_dir_all(logs);
}

/// At start: pods whose objects are gone may still have a directory (and a running shim).
/// Remove them, with their cgroups and logs. Only directories of this state directory
/// count: another peapod's pods may share the cgroup parent.
pub async fn clean_orphans(shared: &Shared, present: &HashSet<String>) {
    // Addresses of pods that are gone count too (a pod directory may have been removed).
    let mut uids: HashSet<String> = shared.network.pods_with_addresses().into_iter().collect();
    if let Ok(entries) = std::fs::read_dir(shared.opts.state_dir.join("pods")) {
        for e in entries.flatten() {
            uids.insert(e.file_name().to_string_lossy().into_owned());
        }
    }
    for uid in uids.difference(present) {
        tracing::info!("removing pod {uid}: its object no longer exists");
        release_uid(shared, uid).await;
        let _ = std::fs::remove_dir_all(shared.layout(uid).dir);
        if let Ok(entries) = std::fs::read_dir(shared.opts.state_dir.join("logs")) {
            for e in entries.flatten() {
                if e.file_name()
                    .to_string_lossy()
                    .ends_with(&format!("_{uid}"))
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
}
