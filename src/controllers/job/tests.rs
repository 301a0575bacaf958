//! The Job sync against a real store, one reconcile at a time (no node agent: the tests write
//! pod status themselves).

use super::*;
use crate::api::kinds::lookup;
use crate::controllers::podcontrol::tests::cluster;
use crate::controllers::test_support::{active, pods};

fn job(name: &str, spec: Value) -> Value {
    let mut j = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox:1", "command": ["true"]}]}}}});
    if let (Some(s), Some(extra)) = (j["spec"].as_object_mut(), spec.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    j
}

fn key(name: &str) -> ObjectKey {
    ObjectKey::new(lookup("jobs").unwrap(), Some("default"), name)
}

async fn get_job(c: &dyn Cluster, name: &str) -> Value {
    c.get(lookup("jobs").unwrap(), Some("default"), name)
        .await
        .unwrap()
}

/// Finish `pod` with `exit` (0: Succeeded) now.
async fn finish(c: &dyn Cluster, pod: &Value, exit: i64) {
    let mut p = c
        .get(lookup("po").unwrap(), Some("default"), pod.name())
        .await
        .unwrap();
    p["status"] = json!({"phase": if exit == 0 {"Succeeded"} else {"Failed"},
        "containerStatuses": [{"name": "c", "restartCount": 0, "state": {"terminated": {
            "exitCode": exit, "finishedAt": now_rfc3339()}}}]});
    c.update_status(p).await.unwrap();
}

async fn events(c: &dyn Cluster, reason: &str) -> Vec<String> {
    c.list(
        lookup("events").unwrap(),
        Some("default"),
        &ListOptions::default(),
    )
    .await
    .unwrap()
    .items
    .iter()
    .filter(|e| e["reason"] == reason)
    .map(|e| e["message"].as_str().unwrap_or("").to_string())
    .collect()
}

fn cond<'a>(job: &'a Value, kind: &str) -> Option<&'a Value> {
    logic::true_condition(job, kind)
}

#[tokio::test]
async fn runs_completions_with_parallelism_and_completes() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = JobController::with_backoff(Duration::ZERO);
    let created = c
        .create(
            job("pi", json!({"completions": 3, "parallelism": 2})),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    ctl.reconcile(c, &key("pi")).await.unwrap();
    let ps = active(c).await;
    assert_eq!(ps.len(), 2);
    for p in &ps {
        assert!(p.name().starts_with("pi-"), "{}", p.name());
        assert!(podcontrol::is_controlled_by(p, created.uid()));
        assert_eq!(p.label("job-name"), Some("pi"));
        assert_eq!(p.label("batch.kubernetes.io/job-name"), Some("pi"));
        assert_eq!(p.label("controller-uid"), Some(created.uid()));
        assert_eq!(
            p.label("batch.kubernetes.io/controller-uid"),
            Some(created.uid())
        );
        assert_eq!(p.label("app"), Some("pi"));
    }
    let j = get_job(c, "pi").await;
    assert_eq!(j["status"]["active"], 2);
    assert!(j["status"]["startTime"].is_string());
    // Level-triggered: nothing more while both run.
    ctl.reconcile(c, &key("pi")).await.unwrap();
    assert_eq!(pods(c).await.len(), 2);

    finish(c, &ps[0], 0).await;
    finish(c, &ps[1], 0).await;
    ctl.reconcile(c, &key("pi")).await.unwrap();
    // Only one more: 3 completions minus 2 succeeded.
    let now_active = active(c).await;
    assert_eq!(now_active.len(), 1);
    assert_eq!(get_job(c, "pi").await["status"]["succeeded"], 2);

    finish(c, &now_active[0], 0).await;
    ctl.reconcile(c, &key("pi")).await.unwrap();
    let j = get_job(c, "pi").await;
    assert_eq!(j["status"]["succeeded"], 3);
    assert_eq!(j["status"]["active"], 0);
    assert!(cond(&j, "SuccessCriteriaMet").is_some(), "{j:#}");
    assert_eq!(
        cond(&j, "Complete").unwrap()["reason"],
        "CompletionsReached"
    );
    assert!(j["status"]["completionTime"].is_string());
    assert_eq!(pods(c).await.len(), 3);
    assert_eq!(events(c, "Completed").await, ["Job completed"]);
    assert_eq!(events(c, "SuccessfulCreate").await.len(), 3);
    // A finished Job is left alone.
    ctl.reconcile(c, &key("pi")).await.unwrap();
    assert_eq!(pods(c).await.len(), 3);
}

#[tokio::test]
async fn fails_past_the_backoff_limit() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = JobController::with_backoff(Duration::ZERO);
    c.create(
        job("bad", json!({"backoffLimit": 1})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    ctl.reconcile(c, &key("bad")).await.unwrap();
    let first = active(c).await;
    assert_eq!(first.len(), 1);
    finish(c, &first[0], 1).await;
    ctl.reconcile(c, &key("bad")).await.unwrap();
    let second = active(c).await;
    assert_eq!(second.len(), 1, "a replacement after the first failure");
    assert_ne!(second[0].name(), first[0].name());
    assert_eq!(get_job(c, "bad").await["status"]["failed"], 1);
    finish(c, &second[0], 1).await;
    ctl.reconcile(c, &key("bad")).await.unwrap();
    let j = get_job(c, "bad").await;
    assert_eq!(j["status"]["failed"], 2);
    assert_eq!(
        cond(&j, "FailureTarget").unwrap()["reason"],
        "BackoffLimitExceeded"
    );
    let failed = cond(&j, "Failed").unwrap();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(
        failed["message"],
        "Job has reached the specified backoff limit"
    );
    assert!(active(c).await.is_empty());
    assert_eq!(
        events(c, "BackoffLimitExceeded").await,
        ["Job has reached the specified backoff limit"]
    );
}

#[tokio::test]
async fn waits_for_the_failure_backoff() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = JobController::with_backoff(Duration::from_secs(10));
    c.create(job("slow", json!({})), &WriteOptions::default())
        .await
        .unwrap();
    ctl.reconcile(c, &key("slow")).await.unwrap();
    let first = active(c).await;
    finish(c, &first[0], 1).await;
    let action = ctl.reconcile(c, &key("slow")).await.unwrap();
    let Action::RequeueAfter(d) = action else {
        panic!("expected a requeue, got {action:?}");
    };
    assert!(
        d > Duration::from_secs(9) && d <= Duration::from_millis(10_020),
        "{d:?}"
    );
    assert!(
        active(c).await.is_empty(),
        "no pod before the back-off ends"
    );
}

#[tokio::test]
async fn indexed_jobs_give_each_pod_its_index() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = JobController::with_backoff(Duration::ZERO);
    c.create(
        job(
            "ix",
            json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"}),
        ),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    ctl.reconcile(c, &key("ix")).await.unwrap();
    let ps = active(c).await;
    let mut idx: Vec<i64> = ps.iter().filter_map(logic::pod_index).collect();
    idx.sort();
    assert_eq!(idx, [0, 1, 2]);
    for p in &ps {
        let i = logic::pod_index(p).unwrap();
        assert!(p.name().starts_with(&format!("ix-{i}-")), "{}", p.name());
        assert_eq!(p["spec"]["hostname"], format!("ix-{i}"));
        assert_eq!(
            p.label(logic::COMPLETION_INDEX),
            Some(i.to_string().as_str())
        );
    }
    // Index 1 succeeds, index 2 fails: only index 2 is run again.
    let by = |i: i64| {
        ps.iter()
            .find(|p| logic::pod_index(p) == Some(i))
            .unwrap()
            .clone()
    };
    finish(c, &by(1), 0).await;
    finish(c, &by(2), 1).await;
    ctl.reconcile(c, &key("ix")).await.unwrap();
    let j = get_job(c, "ix").await;
    assert_eq!(j["status"]["completedIndexes"], "1");
    assert_eq!(j["status"]["succeeded"], 1);
    let mut now: Vec<i64> = active(c)
        .await
        .iter()
        .filter_map(logic::pod_index)
        .collect();
    now.sort();
    assert_eq!(now, [0, 2]);
}

#[tokio::test]
async fn suspended_jobs_run_no_pods() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = JobController::with_backoff(Duration::ZERO);
    c.create(
        job("s", json!({"parallelism": 2, "completions": 4})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    ctl.reconcile(c, &key("s")).await.unwrap();
    assert_eq!(active(c).await.len(), 2);
    let mut j = get_job(c, "s").await;
    j["spec"]["suspend"] = json!(true);
    c.update(j, &WriteOptions::default()).await.unwrap();
    ctl.reconcile(c, &key("s")).await.unwrap();
    assert!(active(c).await.is_empty());
    let j = get_job(c, "s").await;
    assert_eq!(cond(&j, "Suspended").unwrap()["reason"], "JobSuspended");
    assert_eq!(events(c, "Suspended").await, ["Job suspended"]);
    assert_eq!(events(c, "SuccessfulDelete").await.len(), 2);
    // Resumed: pods again, condition False.
    let mut j = get_job(c, "s").await;
    j["spec"]["suspend"] = json!(false);
    c.update(j, &WriteOptions::default()).await.unwrap();
    ctl.reconcile(c, &key("s")).await.unwrap();
    assert_eq!(active(c).await.len(), 2);
    let j = get_job(c, "s").await;
    assert!(cond(&j, "Suspended").is_none());
    assert_eq!(events(c, "Resumed").await, ["Job resumed"]);
}

#[tokio::test]
async fn active_deadline_stops_the_job() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = JobController::with_backoff(Duration::ZERO);
    c.create(
        job("dl", json!({"activeDeadlineSeconds": 30})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let action = ctl.reconcile(c, &key("dl")).await.unwrap();
    assert!(
        matches!(action, Action::RequeueAfter(d) if d > Duration::from_secs(29)),
        "{action:?}"
    );
    assert_eq!(active(c).await.len(), 1);
    // Started a minute ago.
    let mut j = get_job(c, "dl").await;
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    j["status"]["startTime"] = json!(past.to_string());
    c.update_status(j).await.unwrap();
    ctl.reconcile(c, &key("dl")).await.unwrap();
    assert!(active(c).await.is_empty());
    // Once the pods are gone, Failed.
    ctl.reconcile(c, &key("dl")).await.unwrap();
    let j = get_job(c, "dl").await;
    assert_eq!(
        cond(&j, "Failed").unwrap()["reason"],
        "DeadlineExceeded",
        "{j:#}"
    );
    assert_eq!(
        events(c, "DeadlineExceeded").await,
        ["Job was active longer than specified deadline"]
    );
}

#[tokio::test]
async fn fail_job_rule_of_the_pod_failure_policy() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = JobController::with_backoff(Duration::ZERO);
    let spec = json!({"podFailurePolicy": {"rules": [
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}});
    c.create(job("pf", spec), &WriteOptions::default())
        .await
        .unwrap();
    ctl.reconcile(c, &key("pf")).await.unwrap();
    let p = active(c).await;
    finish(c, &p[0], 42).await;
    ctl.reconcile(c, &key("pf")).await.unwrap();
    let j = get_job(c, "pf").await;
    let failed = cond(&j, "Failed").unwrap();
    assert_eq!(failed["reason"], "PodFailurePolicy");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("failed with exit code 42 matching FailJob rule at index 0"),
        "{failed}"
    );
    assert!(active(c).await.is_empty());
}

#[tokio::test]
async fn ttl_after_finished_deletes_the_job() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let mut j = c
        .create(
            job("t", json!({"ttlSecondsAfterFinished": 0})),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    let ttl_ctl = ttl::TtlAfterFinishedController;
    assert_eq!(ttl_ctl.reconcile(c, &key("t")).await.unwrap(), Action::Done);
    assert!(
        c.get(lookup("jobs").unwrap(), Some("default"), "t")
            .await
            .is_ok()
    );
    j["status"] = json!({"completionTime": now_rfc3339(), "conditions": [
        {"type": "Complete", "status": "True", "lastTransitionTime": now_rfc3339()}]});
    c.update_status(j.clone()).await.unwrap();
    ttl_ctl.reconcile(c, &key("t")).await.unwrap();
    let gone = c.get(lookup("jobs").unwrap(), Some("default"), "t").await;
    // Foreground deletion: gone, or marked for deletion until its dependents are.
    assert!(
        gone.as_ref().is_err_and(|e| e.is_not_found())
            || gone
                .as_ref()
                .is_ok_and(|j| j.deletion_timestamp().is_some()),
        "{gone:?}"
    );
    // A TTL in the future: requeued for then.
    let mut later = job("later", json!({"ttlSecondsAfterFinished": 100}));
    later["status"] = j["status"].clone();
    assert!(ttl::expires_at(&later).is_some());
}
