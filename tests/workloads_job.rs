//! Jobs and CronJobs through the CLI against `peapod serve`, with pods that really run (as
//! root): completions 5 / parallelism 2 never runs more than 2 pods and ends Complete; a
//! failing Job stops at its backoffLimit; an Indexed Job's pods see their index; `create job
//! --from=cronjob/X`. The pod failure back-off is shortened with PEAPOD_JOB_BACKOFF_BASE_MS.

mod cli_support;

use cli_support::{Cleanup, Peapod, import_busybox};
use serde_json::Value;
use std::time::{Duration, Instant};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the job tests need root (CI runs them as root)"
    );
}

fn apply(p: &Peapod, name: &str, yaml: &str) {
    let f = p.file(&format!("{name}.yaml"), yaml);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();
}

fn get_json(p: &Peapod, args: &[&str]) -> Value {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "json"]);
    let out = p.run(&a);
    serde_json::from_str(out.ok()).unwrap_or(Value::Null)
}

fn job_pods(p: &Peapod, job: &str) -> Vec<Value> {
    let sel = format!("job-name={job}");
    get_json(p, &["pods", "-l", &sel])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn condition(job: &Value, kind: &str) -> Option<Value> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
        .cloned()
}

/// Wait (at most `secs`) until the job has a True condition of `kind`; samples `each` on the
/// way. Returns the job.
#[track_caller]
fn wait_condition(p: &Peapod, job: &str, kind: &str, secs: u64, mut each: impl FnMut()) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        each();
        let j = get_json(p, &["job", job]);
        if condition(&j, kind).is_some() {
            return j;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} never got {kind}: {j:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("")
}

const PARALLEL: &str = "\
apiVersion: batch/v1
kind: Job
metadata:
  name: par
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox:test
        command: [sh, -c, 'sleep 0.3']
";

const FAILING: &str = "\
apiVersion: batch/v1
kind: Job
metadata:
  name: bad
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox:test
        command: [sh, -c, 'exit 1']
";

const INDEXED: &str = "\
apiVersion: batch/v1
kind: Job
metadata:
  name: ix
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox:test
        command: [sh, -c, 'echo index=$JOB_COMPLETION_INDEX host=$(hostname)']
";

const CRON: &str = "\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: '0 3 * * *'
  jobTemplate:
    metadata:
      labels:
        team: ops
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox:test
            command: [sh, -c, 'echo from-cron']
";

#[test]
fn jobs_run_to_completion_fail_at_the_limit_and_index_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve_env(&[("PEAPOD_JOB_BACKOFF_BASE_MS", "300")]);
    let _cleanup = Cleanup(&p);
    let started = Instant::now();

    // completions 5, parallelism 2: never more than 2 active, exactly 5 succeed.
    apply(&p, "par", PARALLEL);
    let mut max_active = 0;
    let job = wait_condition(&p, "par", "Complete", 40, || {
        let active = job_pods(&p, "par")
            .iter()
            .filter(|pod| !matches!(phase(pod), "Succeeded" | "Failed"))
            .count();
        max_active = max_active.max(active);
    });
    assert!(max_active <= 2, "saw {max_active} active pods");
    assert!(max_active >= 1);
    assert_eq!(job["status"]["succeeded"], 5, "{job:#}");
    let pods = job_pods(&p, "par");
    assert_eq!(pods.len(), 5);
    assert!(pods.iter().all(|pod| phase(pod) == "Succeeded"));
    assert!(job["status"]["completionTime"].is_string());
    let parallel_took = started.elapsed();

    // A failing Job: 3 failed pods (backoffLimit 2), then Failed/BackoffLimitExceeded.
    apply(&p, "bad", FAILING);
    let job = wait_condition(&p, "bad", "Failed", 30, || {});
    assert_eq!(
        condition(&job, "Failed").unwrap()["reason"],
        "BackoffLimitExceeded"
    );
    assert_eq!(job["status"]["failed"], 3, "{job:#}");
    let pods = job_pods(&p, "bad");
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|pod| phase(pod) == "Failed"));
    let describe = p.run(&["get", "events", "--for", "job/bad"]);
    assert!(
        describe.ok().contains("BackoffLimitExceeded"),
        "{describe:?}"
    );

    // Indexed: each pod sees its index and hostname.
    apply(&p, "ix", INDEXED);
    wait_condition(&p, "ix", "Complete", 30, || {});
    let mut seen = Vec::new();
    for pod in job_pods(&p, "ix") {
        let name = pod["metadata"]["name"].as_str().unwrap();
        let logs = p.run(&["logs", name]);
        seen.push(logs.ok().trim().to_string());
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "index=0 host=ix-0",
            "index=1 host=ix-1",
            "index=2 host=ix-2"
        ]
    );
    let job = get_json(&p, &["job", "ix"]);
    assert_eq!(job["status"]["completedIndexes"], "0-2");
    eprintln!(
        "parallel job: {parallel_took:?}; all jobs: {:?}",
        started.elapsed()
    );
}

#[test]
fn create_job_from_a_cronjob_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    apply(&p, "cron", CRON);
    let out = p.run(&["create", "job", "manual-1", "--from=cronjob/nightly"]);
    assert_eq!(out.ok().trim(), "job.batch/manual-1 created");
    let job = get_json(&p, &["job", "manual-1"]);
    assert_eq!(
        job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert_eq!(job["metadata"]["labels"]["team"], "ops");
    let owner = &job["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "CronJob");
    assert_eq!(owner["name"], "nightly");
    assert_eq!(owner["controller"], true);
    wait_condition(&p, "manual-1", "Complete", 30, || {});
    let pods = job_pods(&p, "manual-1");
    assert_eq!(pods.len(), 1);
    let logs = p.run(&["logs", pods[0]["metadata"]["name"].as_str().unwrap()]);
    assert_eq!(logs.ok().trim(), "from-cron");
    // The CronJob saw it complete.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let cj = get_json(&p, &["cronjob", "nightly"]);
        if cj["status"]["lastSuccessfulTime"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "{cj:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Errors name what is wrong.
    let err = p.run(&["create", "job", "x", "--from=deploy/nightly"]);
    assert!(
        err.failed().contains("unknown object type Deployment"),
        "{err:?}"
    );
    let err = p.run(&["create", "job", "x", "--from=cronjob/missing"]);
    assert!(err.failed().contains("missing"), "{err:?}");
    let err = p.run(&["create", "job", "x"]);
    assert!(err.failed().contains("--from=cronjob/NAME"), "{err:?}");
}
