//! One pod's worker: the kubelet's pod lifecycle. It sets the pod up (directory, cgroup,
//! volumes, shim), runs init containers one at a time, then sidecars and app containers,
//! restarts them by the restart policy with back-off, follows probes, writes the status
//! whenever it changes, and on deletion stops the pod gracefully and removes it.

use super::Shared;
use super::container::{
    BACKOFF_MAX, Ctr, Run, finished_run, probe_target, read_environ, read_record, restarts,
};
use super::probes::{self, ProbeMsg, Report};
use super::setup::{self, Fetched};
use super::status::{self, ContainerView, PodFacts};
use super::stop;
use crate::api::object::{ObjectExt, now_rfc3339};
use crate::node::volumes::{self, PodVolumes};
use crate::runtime::shim::{ContainerRecord, ShimClient, StartErrorKind, StartRequest};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Connects the pod's sandbox to the pod network (on the pod network's thread).
async fn attach(shared: &Arc<Shared>, uid: &str, shim: &ShimClient) -> Result<(), String> {
    shared
        .network
        .attach_pod(uid, shim.sandbox_pid)
        .await
        .map(|_| ())
}

/// How long a postStart hook may run.
const POST_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often configMap, secret, downwardAPI and projected volumes are brought up to date
/// (the kubelet's sync period is a minute; users expect edits to show sooner).
const VOLUME_REFRESH: Duration = Duration::from_secs(10);

pub(super) struct Worker {
    pub shared: Arc<Shared>,
    pub pod: Value,
    pub shim: Option<ShimClient>,
    pub exits: Option<mpsc::Receiver<ContainerRecord>>,
    pub probe_tx: mpsc::UnboundedSender<Report>,
    pub probe_rx: mpsc::UnboundedReceiver<Report>,
    pub init: Vec<Ctr>,
    pub app: Vec<Ctr>,
    pub facts: PodFacts,
    pub volumes: Option<PodVolumes>,
    pub fetched: Fetched,
    last_status: Value,
    setup_retry: Option<Instant>,
    setup_backoff: Duration,
    /// When to rewrite volumes made from objects, if the pod has any.
    refresh_at: Option<Instant>,
    /// The pod reached a terminal phase and its sandbox was shut down.
    pub wound_down: bool,
}

pub async fn run(shared: Arc<Shared>, mut rx: watch::Receiver<Option<Value>>) {
    let Some(pod) = rx.borrow_and_update().clone() else {
        return;
    };
    let mut w = Worker::new(shared, pod);
    w.main(rx).await;
}

impl Worker {
    fn new(shared: Arc<Shared>, pod: Value) -> Worker {
        let has_init = pod["spec"]["initContainers"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        let list = |field: &str, init: bool| -> Vec<Ctr> {
            pod["spec"][field]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| Ctr::new(c, init, has_init && !init))
                .collect()
        };
        let init = list("initContainers", true);
        let app = list("containers", false);
        let (probe_tx, probe_rx) = mpsc::unbounded_channel();
        let terminal = matches!(pod.str_at("/status/phase"), Some("Succeeded" | "Failed"));
        // A pod on the pod network has its address from the IPAM (kept across restarts of
        // peapod); a finished pod keeps the one its status shows, as in Kubernetes.
        let pod_ip = if pod["spec"]["hostNetwork"].as_bool() == Some(true) {
            shared.host_ip.clone()
        } else if let Some(ip) = shared.network.ip_of(pod.uid()) {
            ip.to_string()
        } else if terminal {
            pod.str_at("/status/podIP").unwrap_or("").to_string()
        } else {
            String::new()
        };
        let facts = PodFacts {
            host_ip: shared.host_ip.clone(),
            pod_ip,
            start_time: pod.str_at("/status/startTime").unwrap_or("").to_string(),
            sandbox_ready: false,
            failed: None,
        };
        Worker {
            shared,
            last_status: pod["status"].clone(),
            pod,
            shim: None,
            exits: None,
            probe_tx,
            probe_rx,
            init,
            app,
            facts,
            volumes: None,
            fetched: Fetched::default(),
            setup_retry: None,
            setup_backoff: Duration::ZERO,
            refresh_at: None,
            wound_down: terminal,
        }
    }

    fn uid(&self) -> String {
        self.pod.uid().to_string()
    }

    fn policy(&self) -> String {
        self.pod
            .str_at("/spec/restartPolicy")
            .unwrap_or("Always")
            .to_string()
    }

    async fn main(&mut self, mut rx: watch::Receiver<Option<Value>>) {
        loop {
            if self.pod.deletion_timestamp().is_some() {
                stop::terminate(self, &mut rx).await;
                return;
            }
            if !self.wound_down {
                if self.shim.is_none() && self.setup_retry.is_none_or(|t| Instant::now() >= t) {
                    self.setup().await;
                }
                self.step().await;
                if self.refresh_at.is_some_and(|t| Instant::now() >= t) {
                    self.refresh_volumes().await;
                }
            }
            self.publish().await;
            let wake = self.next_wakeup();
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let latest = rx.borrow_and_update().clone();
                    match latest {
                        Some(p) => self.pod = p,
                        None => {
                            stop::remove_now(self).await;
                            return;
                        }
                    }
                }
                rec = recv_exit(&mut self.exits) => match rec {
                    Some(rec) => self.on_exit(rec),
                    None => self.on_shim_gone(),
                },
                Some(report) = self.probe_rx.recv() => self.on_probe(report).await,
                _ = sleep_opt(wake) => {}
            }
        }
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let mut t = self
            .setup_retry
            .filter(|_| self.shim.is_none() && !self.wound_down);
        if let Some(r) = self
            .refresh_at
            .filter(|_| self.shim.is_some() && !self.wound_down)
        {
            t = Some(t.map_or(r, |t| t.min(r)));
        }
        for c in self.init.iter().chain(&self.app) {
            if let Some(r) = c.retry_at {
                t = Some(t.map_or(r, |t| t.min(r)));
            }
        }
        t
    }

    /// Pod-level setup: referenced objects, volumes, sandbox (shim). Failures are retried
    /// with back-off and reported as events, as the kubelet does.
    async fn setup(&mut self) {
        let now = Instant::now();
        let shared = self.shared.clone();
        let pod_network = self.pod["spec"]["hostNetwork"].as_bool() != Some(true);
        // The address comes first: /etc/hosts, the downward API and the containers' env
        // all carry it.
        if pod_network {
            match shared.network.allocate(&self.uid()) {
                Ok(ip) => self.facts.pod_ip = ip.to_string(),
                Err(e) => {
                    shared.events.warning(
                        &self.pod,
                        "FailedCreatePodSandBox",
                        format!("Failed to create pod sandbox: {e}"),
                    );
                    self.retry_setup(now);
                    return;
                }
            }
        }
        self.fetched = setup::fetch(&shared, &self.pod).await;
        let layout = shared.layout(&self.uid());
        let sources = self
            .fetched
            .volume_sources(&shared.opts.node_name, &self.facts.pod_ip);
        let pod = self.pod.clone();
        let dir = layout.dir.clone();
        let prepared = {
            let _ = std::fs::create_dir_all(&dir);
            volumes::prepare(&pod, &dir, &sources)
        };
        match prepared {
            Ok(v) => {
                self.volumes = Some(v);
                if has_object_volumes(&self.pod) {
                    self.refresh_at = Some(now + VOLUME_REFRESH);
                }
            }
            Err(e) => {
                shared
                    .events
                    .warning(&self.pod, "FailedMount", e.to_string());
                self.retry_setup(now);
                return;
            }
        }
        let mut sandbox = setup::sandbox(&shared, &self.pod, &self.facts.pod_ip).await;
        // The network is connected before any container starts; on failure the shim stays
        // and the retry connects it again.
        if pod_network
            && let Ok(shim) = &sandbox
            && let Err(e) = attach(&shared, &self.uid(), shim).await
        {
            sandbox = Err(e);
        }
        match sandbox {
            Ok(shim) => {
                self.exits = shim.watch().await.ok();
                self.adopt(&shim).await;
                self.shim = Some(shim);
                self.facts.sandbox_ready = true;
                if self.facts.start_time.is_empty() {
                    self.facts.start_time = now_rfc3339();
                }
            }
            Err(e) => {
                shared.events.warning(
                    &self.pod,
                    "FailedCreatePodSandBox",
                    format!("Failed to create pod sandbox: {e}"),
                );
                self.retry_setup(now);
            }
        }
    }

    /// Rewrites configMap, secret, downwardAPI and projected volumes from the current
    /// objects; the volume code swaps the files atomically and only when they changed.
    async fn refresh_volumes(&mut self) {
        let shared = self.shared.clone();
        self.fetched = setup::fetch(&shared, &self.pod).await;
        let sources = self
            .fetched
            .volume_sources(&shared.opts.node_name, &self.facts.pod_ip);
        let dir = shared.layout(&self.uid()).dir;
        match volumes::prepare(&self.pod, &dir, &sources) {
            Ok(v) => self.volumes = Some(v),
            Err(e) => shared
                .events
                .warning(&self.pod, "FailedMount", e.to_string()),
        }
        self.refresh_at = Some(Instant::now() + VOLUME_REFRESH);
    }

    fn retry_setup(&mut self, now: Instant) {
        self.setup_backoff = if self.setup_backoff.is_zero() {
            Duration::from_secs(1)
        } else {
            (self.setup_backoff * 2).min(BACKOFF_MAX)
        };
        self.setup_retry = Some(now + self.setup_backoff);
    }

    /// Takes over the runs a shim already has (after a restart of peapod).
    async fn adopt(&mut self, shim: &ShimClient) {
        let Ok(state) = shim.state().await else {
            return;
        };
        let dir = self.shared.layout(&self.uid()).dir;
        let mut resume = Vec::new();
        for rec in state.containers {
            let Some(c) = self
                .init
                .iter_mut()
                .chain(self.app.iter_mut())
                .find(|c| c.name == rec.container)
            else {
                continue;
            };
            if rec.attempt > 0 {
                c.previous = read_record(&dir, &c.name, rec.attempt - 1).map(finished_run);
            }
            let running = rec.finished_at.is_none();
            c.current = Some(if running {
                Run {
                    rec,
                    reason: String::new(),
                    message: String::new(),
                }
            } else {
                finished_run(rec)
            });
            c.last_start = Some(Instant::now());
            if running {
                // Probes start over; without them it is ready as before.
                c.started = c.spec.get("startupProbe").is_none();
                c.ready = c.spec.get("readinessProbe").is_none();
                resume.push(c.name.clone());
            }
        }
        for name in resume {
            self.resume_probes_for(&name, shim);
        }
    }

    fn resume_probes_for(&mut self, name: &str, shim: &ShimClient) {
        let pod_ip = self.facts.pod_ip.clone();
        let tx = self.probe_tx.clone();
        if let Some(c) = self
            .init
            .iter_mut()
            .chain(self.app.iter_mut())
            .find(|c| c.name == name)
            && let Some(run) = &c.current
        {
            c.env = read_environ(run.rec.pid);
            let target = probe_target(&self.pod, c, run.rec.pid, shim.sandbox_pid, &pod_ip);
            c.probes = probes::spawn(&c.spec, run.rec.attempt, target, tx);
        }
    }

    /// Starts what should run now: init containers in order, then app containers.
    async fn step(&mut self) {
        if self.shim.is_none() || self.facts.failed.is_some() {
            return;
        }
        let now = Instant::now();
        let policy = self.policy();
        for i in 0..self.init.len() {
            let c = &self.init[i];
            if c.sidecar {
                if !c.running() && c.due(now) && c.current.as_ref().is_none_or(|r| !r.running()) {
                    self.start(true, i).await;
                }
                if !self.init[i].started {
                    return;
                }
                continue;
            }
            match c.current.as_ref().map(|r| (r.running(), r.exit_code())) {
                Some((true, _)) => return,
                Some((false, Some(0))) => continue,
                Some((false, _)) if policy == "Never" => return,
                _ => {
                    if c.due(now) {
                        self.start(true, i).await;
                    }
                    return;
                }
            }
        }
        for i in 0..self.app.len() {
            let c = &self.app[i];
            let wanted = match &c.current {
                None => true,
                Some(r) if r.running() => false,
                Some(r) => restarts(&policy, false, r.exit_code().unwrap_or(1)),
            };
            if wanted && c.due(now) {
                self.start(false, i).await;
            }
        }
        if !self.wound_down
            && matches!(self.phase(), "Succeeded" | "Failed")
            && self.all_stopped_except_sidecars()
        {
            stop::wind_down(self).await;
        }
    }

    fn all_stopped_except_sidecars(&self) -> bool {
        self.init
            .iter()
            .filter(|c| !c.sidecar)
            .chain(&self.app)
            .all(|c| !c.running())
    }

    fn ctr(&mut self, init: bool, i: usize) -> &mut Ctr {
        if init {
            &mut self.init[i]
        } else {
            &mut self.app[i]
        }
    }

    async fn start(&mut self, init: bool, i: usize) {
        let shared = self.shared.clone();
        let Some(shim) = self.shim.clone() else {
            return;
        };
        let now = Instant::now();
        let pod = self.pod.clone();
        let spec = self.ctr(init, i).spec.clone();
        let name = self.ctr(init, i).name.clone();
        if self.ctr(init, i).image.is_none() {
            match setup::image(&shared, &pod, &spec).await {
                Ok(img) => self.ctr(init, i).image = Some(img),
                Err((reason, message)) => {
                    let c = self.ctr(init, i);
                    c.waiting = (reason.to_string(), message);
                    c.schedule_retry(now);
                    return;
                }
            }
        }
        // Configuration may have changed since the pod started (ConfigMaps, Secrets).
        self.fetched = setup::fetch(&shared, &pod).await;
        let attempt = self
            .ctr(init, i)
            .current
            .as_ref()
            .map_or(0, |r| r.rec.attempt + 1);
        let Some(image) = self.ctr(init, i).image.clone() else {
            return;
        };
        let volumes = self.volumes.clone().unwrap_or_default();
        let prepared = setup::container(
            &shared,
            &pod,
            &spec,
            &image,
            attempt,
            &self.fetched,
            &volumes,
            &self.facts.pod_ip,
        );
        let prepared = match prepared {
            Ok(p) => p,
            Err((reason, message)) => {
                shared
                    .events
                    .warning(&pod, "Failed", format!("Error: {message}"));
                let c = self.ctr(init, i);
                c.waiting = (reason.to_string(), message);
                c.schedule_retry(now);
                return;
            }
        };
        let req = StartRequest {
            container: name.clone(),
            attempt,
            spec: prepared.spec,
            log_dir: crate::cluster::logs::container_dir(
                &shared.opts.state_dir.join("logs"),
                &pod,
                &name,
            ),
        };
        match shim.start(req).await {
            Ok(Ok(rec)) => {
                shared
                    .events
                    .normal(&pod, "Created", format!("Created container {name}"));
                shared
                    .events
                    .normal(&pod, "Started", format!("Started container {name}"));
                let pod_ip = self.facts.pod_ip.clone();
                let tx = self.probe_tx.clone();
                let c = self.ctr(init, i);
                c.stop_signal = setup::stop_signal(Some(&image));
                c.env = prepared.env;
                c.oom_base = prepared.oom_base;
                c.previous = c.current.take();
                c.current = Some(Run {
                    rec: rec.clone(),
                    reason: String::new(),
                    message: String::new(),
                });
                c.last_start = Some(now);
                c.retry_at = None;
                c.waiting = ("ContainerCreating".into(), String::new());
                c.started = c.spec.get("startupProbe").is_none();
                c.ready = c.spec.get("readinessProbe").is_none();
                let target = probe_target(&pod, c, rec.pid, shim.sandbox_pid, &pod_ip);
                c.probes = probes::spawn(&c.spec, attempt, target.clone(), tx);
                if let Some(hook) = spec.pointer("/lifecycle/postStart")
                    && let Err(e) =
                        crate::node::probe::run_hook(hook, &target, POST_START_TIMEOUT).await
                {
                    shared.events.warning(&pod, "FailedPostStartHook", e);
                    let _ = shim.signal(&name, libc::SIGKILL).await;
                }
            }
            Ok(Err(e)) => {
                let reason = match e.kind {
                    StartErrorKind::Exec => "RunContainerError",
                    _ => "CreateContainerError",
                };
                shared
                    .events
                    .warning(&pod, "Failed", format!("Error: {}", e.message));
                let c = self.ctr(init, i);
                c.waiting = (reason.to_string(), e.message);
                c.schedule_retry(now);
            }
            Err(_) => self.on_shim_gone(),
        }
    }

    fn on_exit(&mut self, rec: ContainerRecord) {
        let now = Instant::now();
        let policy = self.policy();
        let pod = self.pod.clone();
        let shared = self.shared.clone();
        let Some(c) = self
            .init
            .iter_mut()
            .chain(self.app.iter_mut())
            .find(|c| c.name == rec.container)
        else {
            return;
        };
        if c.current
            .as_ref()
            .is_none_or(|r| r.rec.attempt != rec.attempt)
        {
            return;
        }
        c.stop_probes();
        c.ready = false;
        let code = rec.exit_code.unwrap_or(137);
        let oom = rec.signal == Some(libc::SIGKILL)
            && shared
                .cgroups
                .open_pod(pod.uid())
                .and_then(|p| p.open_container(&c.name))
                .and_then(|cg| cg.oom_kills())
                .is_ok_and(|n| n > c.oom_base);
        if oom {
            shared.events.warning(
                &pod,
                "OOMKilling",
                format!(
                    "Memory cgroup out of memory: Killed process {} in container {}",
                    rec.pid, c.name
                ),
            );
        }
        let reason = status::terminated_reason(code, oom).to_string();
        c.current = Some(Run {
            rec,
            reason,
            message: String::new(),
        });
        let restart = if c.init && !c.sidecar {
            policy != "Never" && code != 0
        } else {
            restarts(&policy, c.sidecar, code)
        };
        if restart {
            let applied = c.schedule_retry(now);
            let delay = c.retry_at.map(|t| t.saturating_duration_since(now));
            if delay.is_some_and(|d| !d.is_zero()) {
                let secs = applied.as_secs();
                c.waiting = (
                    "CrashLoopBackOff".into(),
                    format!(
                        "back-off {secs}s restarting failed container={} pod={}_{}({})",
                        c.name,
                        pod.name(),
                        pod.namespace().unwrap_or("default"),
                        pod.uid()
                    ),
                );
                shared.events.warning(
                    &pod,
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {} in pod {}_{}({})",
                        c.name,
                        pod.name(),
                        pod.namespace().unwrap_or("default"),
                        pod.uid()
                    ),
                );
            } else {
                c.waiting = ("ContainerCreating".into(), String::new());
            }
        } else {
            c.retry_at = None;
            c.waiting = ("Terminated".into(), String::new());
        }
    }

    /// The shim exited without being asked to: its containers are gone. The pod fails, as
    /// the issue asks, so that controllers replace it.
    pub fn on_shim_gone(&mut self) {
        self.exits = None;
        if self.shim.is_none() || self.pod.deletion_timestamp().is_some() {
            return;
        }
        let Some(shim) = self.shim.take() else {
            return;
        };
        for c in self.init.iter_mut().chain(self.app.iter_mut()) {
            c.stop_probes();
            c.retry_at = None;
            c.ready = false;
            if let Some(run) = c.current.as_mut()
                && run.running()
            {
                run.rec.finished_at = Some(now_rfc3339());
                run.rec.exit_code = Some(137);
                run.reason = "ContainerStatusUnknown".into();
                run.message =
                    "The container could not be located when the pod was terminated".into();
            }
        }
        self.facts.sandbox_ready = false;
        self.facts.failed = Some((
            "ShimDied".into(),
            "the pod's shim process exited unexpectedly; its containers were stopped".into(),
        ));
        self.shared.events.warning(
            &self.pod,
            "ShimDied",
            "the pod's shim process exited unexpectedly; the pod is marked Failed",
        );
        self.wound_down = true;
        let shared = self.shared.clone();
        let pod = self.pod.clone();
        tokio::spawn(async move {
            stop::release_runtime(&shared, &pod).await;
            // The kernel kills the holder with its shim; when we launched that shim, both
            // were re-parented to us (child subreaper) and are reaped here.
            crate::runtime::shim::reap_if_child(shim.shim_pid);
            crate::runtime::shim::reap_if_child(shim.sandbox_pid);
        });
    }

    async fn on_probe(&mut self, (name, attempt, msg): Report) {
        let pod = self.pod.clone();
        let shared = self.shared.clone();
        let shim = self.shim.clone();
        let Some(c) = self
            .init
            .iter_mut()
            .chain(self.app.iter_mut())
            .find(|c| c.name == name)
        else {
            return;
        };
        if c.current
            .as_ref()
            .is_none_or(|r| r.rec.attempt != attempt || !r.running())
        {
            return;
        }
        match msg {
            ProbeMsg::Started => c.started = true,
            ProbeMsg::Ready(r) => c.ready = r,
            ProbeMsg::Unhealthy(m) => shared.events.warning(&pod, "Unhealthy", m),
            ProbeMsg::Kill(m) => {
                shared.events.normal(&pod, "Killing", m);
                c.ready = false;
                let sig = c.stop_signal;
                let grace = pod["spec"]["terminationGracePeriodSeconds"]
                    .as_i64()
                    .unwrap_or(30)
                    .max(0) as u64;
                if let Some(shim) = shim {
                    let _ = shim.signal(&name, sig).await;
                    // The exit record arrives through the watch; make sure it comes.
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(grace)).await;
                        let _ = shim.signal(&name, libc::SIGKILL).await;
                    });
                }
            }
        }
    }

    pub fn phase(&self) -> &'static str {
        let now = Instant::now();
        let uid = self.uid();
        let init: Vec<ContainerView> = self.init.iter().map(|c| c.view(&uid, now)).collect();
        let app: Vec<ContainerView> = self.app.iter().map(|c| c.view(&uid, now)).collect();
        status::phase(&self.pod, &init, &app)
    }

    /// Writes the status when it differs from what was last written.
    pub async fn publish(&mut self) {
        let now = Instant::now();
        let uid = self.uid();
        let init: Vec<ContainerView> = self.init.iter().map(|c| c.view(&uid, now)).collect();
        let app: Vec<ContainerView> = self.app.iter().map(|c| c.view(&uid, now)).collect();
        let mut status = status::pod_status(&self.pod, &init, &app, &self.facts, &now_rfc3339());
        if self.last_status == status || self.pod["status"] == status {
            return;
        }
        let mut obj = self.pod.clone();
        obj["status"] = status.clone();
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        match self.shared.cluster.update_status(obj).await {
            Ok(written) => {
                self.last_status = written["status"].clone();
                self.pod["status"] = written["status"].clone();
            }
            Err(e) => {
                tracing::debug!("status of pod {} not written: {e}", self.pod.name());
                // Keep the computed one so the next change retries.
                status = serde_json::Value::Null;
                self.last_status = status;
            }
        }
    }
}

async fn recv_exit(exits: &mut Option<mpsc::Receiver<ContainerRecord>>) -> Option<ContainerRecord> {
    match exits {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Whether the pod has volumes whose content comes from objects that may change.
fn has_object_volumes(pod: &Value) -> bool {
    pod["spec"]["volumes"].as_array().is_some_and(|vs| {
        vs.iter().any(|v| {
            ["configMap", "secret", "downwardAPI", "projected"]
                .iter()
                .any(|k| v.get(k).is_some())
        })
    })
}
