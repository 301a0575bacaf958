//! The Job controller's arithmetic, from Kubernetes' job_controller.go behaviour.

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn failed_at(t: &str) -> Value {
    json!({"status": {"phase": "Failed", "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": 1, "finishedAt": t}}}]}})
}

fn succeeded_at(t: &str) -> Value {
    json!({"status": {"phase": "Succeeded", "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": 0, "finishedAt": t}}}]}})
}

#[test]
fn wanted_active_pods() {
    // completions 5, parallelism 2.
    assert_eq!(want_active(Some(5), 2, 0, 0), 2);
    assert_eq!(want_active(Some(5), 2, 2, 4), 1);
    assert_eq!(want_active(Some(5), 2, 0, 5), 0);
    assert_eq!(want_active(Some(5), 2, 0, 7), 0);
    // A work queue: parallelism until one succeeds, then what still runs.
    assert_eq!(want_active(None, 3, 0, 0), 3);
    assert_eq!(want_active(None, 3, 2, 1), 2);
    assert!(is_complete(None, 1, 0));
    assert!(!is_complete(None, 1, 1));
    assert!(is_complete(Some(5), 5, 0));
    assert!(!is_complete(Some(5), 5, 1));
    assert!(!is_complete(Some(5), 4, 0));
}

#[test]
fn backoff_doubles_from_ten_seconds_up_to_ten_minutes() {
    let d = |n| backoff_delay(n, DEFAULT_BACKOFF, MAX_BACKOFF).as_secs();
    assert_eq!(
        [d(0), d(1), d(2), d(3), d(4), d(6), d(7), d(30)],
        [0, 10, 20, 40, 80, 320, 600, 600]
    );
    let now = ts("2024-05-01T10:00:15Z");
    let last = Some(ts("2024-05-01T10:00:00Z"));
    assert_eq!(
        remaining_backoff(2, last, DEFAULT_BACKOFF, now),
        Duration::from_secs(5)
    );
    assert_eq!(
        remaining_backoff(1, last, DEFAULT_BACKOFF, now),
        Duration::ZERO
    );
    assert_eq!(
        remaining_backoff(0, None, DEFAULT_BACKOFF, now),
        Duration::ZERO
    );
}

#[test]
fn failures_count_only_after_the_last_success() {
    let f1 = failed_at("2024-05-01T10:00:00Z");
    let s1 = succeeded_at("2024-05-01T10:00:05Z");
    let f2 = failed_at("2024-05-01T10:00:10Z");
    let f3 = failed_at("2024-05-01T10:00:20Z");
    assert_eq!(
        failures_after_last_success(&[&s1], &[&f1, &f2, &f3]),
        (2, Some(ts("2024-05-01T10:00:20Z")))
    );
    assert_eq!(failures_after_last_success(&[&s1], &[&f1]), (0, None));
    assert_eq!(
        failures_after_last_success(&[], &[&f1]),
        (1, Some(ts("2024-05-01T10:00:00Z")))
    );
}

#[test]
fn completion_indexes() {
    let set = parse_indexes("0-2,4, 7,9-10");
    assert_eq!(
        set.iter().copied().collect::<Vec<_>>(),
        [0, 1, 2, 4, 7, 9, 10]
    );
    assert_eq!(format_indexes(&set), "0-2,4,7,9-10");
    assert_eq!(format_indexes(&BTreeSet::from([1, 2])), "1-2");
    assert_eq!(format_indexes(&BTreeSet::new()), "");
    assert!(parse_indexes("x,5-3").is_empty());
    let done = BTreeSet::from([0, 2]);
    let active = BTreeSet::from([1]);
    assert_eq!(first_pending_indexes(6, &done, &active, 2), [3, 4]);
    assert_eq!(
        first_pending_indexes(3, &done, &active, 2),
        Vec::<i64>::new()
    );
    assert_eq!(generate_name("pi", Some(3)), "pi-3-");
    assert_eq!(generate_name("pi", None), "pi-");
    assert_eq!(generate_name(&"x".repeat(70), Some(12)).len(), 58);
}

#[test]
fn pod_template_of_an_indexed_job() {
    let job = json!({"metadata": {"name": "pi", "uid": "u1"}, "spec": {"completionMode": "Indexed",
        "template": {"metadata": {"labels": {"app": "pi"}}, "spec": {"containers": [
            {"name": "c", "image": "busybox", "env": [{"name": "A", "value": "1"}]}]}}}});
    let t = pod_template(&job, Some(2));
    let labels = &t["metadata"]["labels"];
    assert_eq!(labels["app"], "pi");
    assert_eq!(labels[CONTROLLER_UID_LABEL], "u1");
    assert_eq!(labels[LEGACY_CONTROLLER_UID_LABEL], "u1");
    assert_eq!(labels[JOB_NAME_LABEL], "pi");
    assert_eq!(labels[LEGACY_JOB_NAME_LABEL], "pi");
    assert_eq!(labels[COMPLETION_INDEX], "2");
    assert_eq!(t["metadata"]["annotations"][COMPLETION_INDEX], "2");
    assert_eq!(t["spec"]["hostname"], "pi-2");
    let env = &t["spec"]["containers"][0]["env"];
    assert_eq!(env[0]["name"], "A");
    assert_eq!(env[1]["name"], COMPLETION_INDEX_ENV);
    assert_eq!(
        env[1]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    // The generated selector matches those labels.
    let pod = json!({"metadata": {"labels": labels.clone()}});
    assert!(selector(&job).unwrap().matches_object(&pod));
    // A manual selector: no generated labels, the given selector.
    let manual = json!({"metadata": {"name": "m", "uid": "u2"}, "spec": {"manualSelector": true,
        "selector": {"matchLabels": {"app": "m"}}, "template": {}}});
    assert!(generated_labels(&manual).is_empty());
    assert!(
        selector(&manual)
            .unwrap()
            .matches_object(&json!({"metadata": {"labels": {"app": "m"}}}))
    );
    let no_sel = json!({"metadata": {"name": "m"}, "spec": {"manualSelector": true}});
    assert!(selector(&no_sel).is_none());
}

#[test]
fn restarts_count_against_the_limit_with_on_failure() {
    let job = |limit| {
        json!({"spec": {"backoffLimit": limit,
            "template": {"spec": {"restartPolicy": "OnFailure"}}}})
    };
    let pod = |phase: &str, restarts: i64| json!({"status": {"phase": phase, "containerStatuses": [{"name": "c", "restartCount": restarts}]}});
    assert!(past_backoff_limit_on_failure(
        &job(2),
        &[pod("Running", 1), pod("Pending", 1)]
    ));
    assert!(!past_backoff_limit_on_failure(
        &job(3),
        &[pod("Running", 2)]
    ));
    // Finished pods do not count.
    assert!(!past_backoff_limit_on_failure(&job(1), [&pod("Failed", 5)]));
    assert!(past_backoff_limit_on_failure(&job(0), [&pod("Running", 1)]));
    let never =
        json!({"spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never"}}}});
    assert!(!past_backoff_limit_on_failure(&never, [&pod("Running", 4)]));
}

#[test]
fn deadline() {
    let job = json!({"spec": {"activeDeadlineSeconds": 30}, "status": {"startTime": "2024-05-01T10:00:00Z"}});
    let left = deadline_left(&job, ts("2024-05-01T10:00:20Z")).unwrap();
    assert_eq!(left, SignedDuration::from_secs(10));
    assert!(deadline_left(&job, ts("2024-05-01T10:00:31Z")).unwrap() < SignedDuration::ZERO);
    let mut suspended = job.clone();
    suspended["spec"]["suspend"] = json!(true);
    assert!(deadline_left(&suspended, ts("2024-05-01T10:00:31Z")).is_none());
}

#[test]
fn pod_failure_policy_rules() {
    let job = json!({"spec": {"podFailurePolicy": {"rules": [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
        {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
        {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1, 2]}},
    ]}}});
    let pod = |name: &str, code: i64, conds: Value| {
        json!({"metadata": {"name": "p", "namespace": "default"}, "status": {"phase": "Failed",
            "conditions": conds,
            "containerStatuses": [{"name": name, "state": {"terminated": {"exitCode": code}}}]}})
    };
    let disrupted = pod(
        "main",
        137,
        json!([{"type": "DisruptionTarget", "status": "True"}]),
    );
    assert_eq!(
        match_pod_failure_policy(&job, &disrupted),
        Some(PolicyAction::Ignore)
    );
    assert_eq!(
        match_pod_failure_policy(&job, &pod("main", 42, json!([]))),
        Some(PolicyAction::FailJob(
            "Container main for pod default/p failed with exit code 42 matching FailJob rule at index 1".into()
        ))
    );
    // Another container with 42: the FailJob rule names "main" only; NotIn [1,2] counts it.
    assert_eq!(
        match_pod_failure_policy(&job, &pod("side", 42, json!([]))),
        Some(PolicyAction::Count)
    );
    // Exit code 1: no rule (NotIn excludes it).
    assert_eq!(
        match_pod_failure_policy(&job, &pod("main", 1, json!([]))),
        None
    );
    // Exit code 0 never matches.
    assert_eq!(
        match_pod_failure_policy(&job, &pod("x", 0, json!([]))),
        None
    );
    assert_eq!(
        match_pod_failure_policy(&json!({}), &pod("main", 42, json!([]))),
        None
    );
}

#[test]
fn finished_jobs() {
    let done = json!({"status": {"completionTime": "2024-05-01T10:00:00Z",
        "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": "2024-05-01T10:00:01Z"}]}});
    assert!(is_finished(&done));
    assert_eq!(finished_at(&done), Some(ts("2024-05-01T10:00:00Z")));
    let failed = json!({"status": {"conditions": [
        {"type": "FailureTarget", "status": "True"},
        {"type": "Failed", "status": "True", "lastTransitionTime": "2024-05-01T11:00:00Z"}]}});
    assert_eq!(finished_at(&failed), Some(ts("2024-05-01T11:00:00Z")));
    let interim = json!({"status": {"conditions": [{"type": "FailureTarget", "status": "True"}]}});
    assert!(!is_finished(&interim));
}
