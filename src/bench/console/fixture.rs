//! The console benchmark's fixture: 10,000 pods over 20 namespaces, the console state they
//! load into, and the log lines and streams the logs pane ingests.

use super::*;

/// A pod as the API serves it once running: labels, owner, resources, conditions, IPs.
/// `restarts` varies the status so a MODIFIED event changes what the table shows.
pub fn pod(i: usize, restarts: usize) -> Value {
    let ns = format!("ns-{:02}", i % NAMESPACES);
    let app = format!("web-{}", i % 50);
    let tier = ["web", "db", "cache"][i % 3];
    let env = ["prod", "staging"][i % 2];
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{app}-{i:05}"), "namespace": ns, "uid": format!("uid-{i:08}"),
            "resourceVersion": format!("{}", 1000 + i + restarts),
            "creationTimestamp": format!("2026-11-22T{:02}:{:02}:00Z", (i / 60) % 10, i % 60),
            "labels": {"app": app, "tier": tier, "env": env, "pod-template-hash": format!("7f{:04x}", i % 97)},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": format!("{app}-7f{:04x}", i % 97), "uid": format!("rs-{}", i % 97),
                "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {
            "nodeName": "node-1", "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "containers": [{"name": "main", "image": "busybox:1.36",
                "command": ["sh", "-c", "while true; do echo hi; sleep 1; done"],
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                    "limits": {"memory": "64Mi"}}}]
        },
        "status": {
            "phase": "Running", "hostIP": "10.0.0.1", "podIP": format!("10.88.{}.{}", i / 250, i % 250),
            "podIPs": [{"ip": format!("10.88.{}.{}", i / 250, i % 250)}],
            "qosClass": "Burstable", "startTime": "2026-11-22T00:00:00Z",
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-22T00:00:00Z"},
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-11-22T00:00:00Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-11-22T00:00:01Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-22T00:00:01Z"}],
            "containerStatuses": [{"name": "main", "ready": true, "started": true,
                "restartCount": restarts, "image": "busybox:1.36", "imageID": "sha256:3f57d9401f8d",
                "containerID": format!("peapod://{i:016x}"),
                "state": {"running": {"startedAt": "2026-11-22T00:00:01Z"}}}]
        }
    })
}

pub(super) fn event(event_type: EventType, object: Value) -> WatchEvent {
    WatchEvent { event_type, object }
}

/// A console on all namespaces with a fixed clock, the default config, keys and theme, and
/// the namespaces (no pods yet).
pub fn new_app() -> App {
    let mut app = App::new(
        Session {
            endpoint: "unix:///var/lib/peapod/peapod.sock".into(),
            version: crate::api::server_version(),
            readonly: false,
        },
        Config::default(),
        Keymap::default_map(),
        Theme::default_theme(),
    );
    app.clock = "2026-11-22T12:00:00Z".parse().ok();
    app.apply_node(event(
        EventType::Added,
        json!({"kind": "Node", "metadata": {"name": "node-1"}}),
    ));
    for n in 0..NAMESPACES {
        app.apply_namespace(event(
            EventType::Added,
            json!({"kind": "Namespace", "metadata": {"name": format!("ns-{n:02}")},
                "status": {"phase": "Active"}}),
        ));
    }
    app
}

/// The pod watch's initial list, applied in bursts as the event loop drains its channel.
pub fn load_pods(app: &mut App, pods: usize, burst: usize) {
    let burst = burst.max(1);
    for from in (0..pods).step_by(burst) {
        let events = (from..(from + burst).min(pods))
            .map(|i| event(EventType::Added, pod(i, 0)))
            .collect();
        app.apply_pods(events);
    }
}

/// The logs of the benchmark's cluster: the next `logs` call gets the stream set with
/// [`NextStream::serve`], every other one an open stream with no lines (a quiet container).
#[derive(Default)]
pub struct NextStream {
    next: Mutex<Option<LogStream>>,
}

impl NextStream {
    pub fn serve(&self, stream: LogStream) {
        if let Ok(mut n) = self.next.lock() {
            *n = Some(stream);
        }
    }
}

impl LogSource for NextStream {
    fn logs(&self, _: &str, _: &str, _: &LogOptions) -> ApiResult<LogStream> {
        let next = self.next.lock().ok().and_then(|mut n| n.take());
        Ok(next.unwrap_or_else(|| futures::stream::pending().boxed()))
    }
}

/// The text of log line `i` (one in ten coloured, as an app logging with levels).
pub fn log_text(i: usize) -> String {
    if i.is_multiple_of(10) {
        format!("\x1b[32mINFO\x1b[0m request {i} served in 3ms")
    } else {
        format!("GET /api/v1/items/{i} 200 OK user=alice")
    }
}

/// `n` lines as the log API sends them with timestamps, in 64 KiB chunks, generated as the
/// stream is read (so they cost no memory up front), then the stream stays open.
pub fn log_stream(n: usize) -> LogStream {
    const CHUNK: usize = 64 * 1024;
    let mut next = 0usize;
    let chunks = futures::stream::iter(std::iter::from_fn(move || {
        if next >= n {
            return None;
        }
        let mut text = String::with_capacity(CHUNK + 128);
        while next < n && text.len() < CHUNK {
            text.push_str(&format!(
                "2026-11-22T11:{:02}:{:02}.{:09}Z {}\n",
                (next / 60_000_000) % 60,
                (next / 1_000_000) % 60,
                next % 1_000_000_000,
                log_text(next)
            ));
            next += 1;
        }
        Some(Ok(Bytes::from(text)))
    }));
    chunks.chain(futures::stream::pending()).boxed()
}
