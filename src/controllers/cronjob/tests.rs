//! The CronJob sync against a real store, one reconcile at a time.

use super::*;
use crate::api::kinds::lookup;
use crate::api::request::DeleteOptions;
use crate::controllers::podcontrol::tests::cluster;

fn cronjob(name: &str, schedule: &str, extra: Value) -> Value {
    let mut cj = json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"schedule": schedule, "jobTemplate": {
            "metadata": {"labels": {"team": "a"}, "annotations": {"note": "x"}},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox:1"}]}}}}}});
    if let (Some(s), Some(e)) = (cj["spec"].as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    cj
}

fn key(name: &str) -> ObjectKey {
    ObjectKey::new(lookup("cronjobs").unwrap(), Some("default"), name)
}

async fn jobs(c: &dyn Cluster) -> Vec<Value> {
    let mut items = c
        .list(
            lookup("jobs").unwrap(),
            Some("default"),
            &ListOptions::default(),
        )
        .await
        .unwrap()
        .items;
    items.sort_by(|a, b| a.name().cmp(b.name()));
    items
}

async fn get_cj(c: &dyn Cluster, name: &str) -> Value {
    c.get(lookup("cronjobs").unwrap(), Some("default"), name)
        .await
        .unwrap()
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

/// Pretend the CronJob last ran `minutes` minutes before the current minute.
async fn last_ran(c: &dyn Cluster, name: &str, minutes: i64) -> Timestamp {
    let now = Timestamp::now().as_second();
    let t = Timestamp::from_second(now - now.rem_euclid(60) - minutes * 60).unwrap();
    let mut cj = get_cj(c, name).await;
    cj["status"]["lastScheduleTime"] = json!(t.to_string());
    c.update_status(cj).await.unwrap();
    t
}

async fn finish_job(c: &dyn Cluster, name: &str, kind: &str, start: &str) {
    let mut j = c
        .get(lookup("jobs").unwrap(), Some("default"), name)
        .await
        .unwrap();
    j["status"] = json!({"startTime": start, "completionTime": start, "conditions": [
        {"type": kind, "status": "True", "lastTransitionTime": start}]});
    c.update_status(j).await.unwrap();
}

#[test]
fn job_names_and_templates() {
    let t: Timestamp = "2024-05-01T10:05:00Z".parse().unwrap();
    assert_eq!(job_name("hello", t), "hello-28575965");
    let mut cj = cronjob("hello", "*/5 * * * *", json!({"timeZone": "Asia/Tokyo"}));
    cj["metadata"]["uid"] = json!("u1");
    let j = job_for(&cj, t);
    assert_eq!(j["metadata"]["name"], "hello-28575965");
    assert_eq!(j["metadata"]["labels"]["team"], "a");
    assert_eq!(j["metadata"]["annotations"]["note"], "x");
    assert_eq!(
        j["metadata"]["annotations"][SCHEDULED_TIMESTAMP],
        "2024-05-01T19:05:00+09:00"
    );
    assert_eq!(j["metadata"]["ownerReferences"][0]["uid"], "u1");
    assert_eq!(j["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(
        j["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
        true
    );
    assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");

    let m = manual_job(&cj, "now");
    assert_eq!(m["metadata"]["name"], "now");
    assert_eq!(m["metadata"]["annotations"][INSTANTIATE], "manual");
    assert_eq!(m["metadata"]["annotations"]["note"], "x");
    let r = &m["metadata"]["ownerReferences"][0];
    assert_eq!(
        (r["kind"].as_str(), r["name"].as_str(), r["uid"].as_str()),
        (Some("CronJob"), Some("hello"), Some("u1"))
    );
    assert_eq!(r["controller"], true);
    assert!(r.get("blockOwnerDeletion").is_none());
}

#[tokio::test]
async fn creates_the_due_job_once_and_tracks_it() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = CronJobController;
    c.create(
        cronjob("every", "* * * * *", json!({"concurrencyPolicy": "Forbid"})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    // Just created: nothing is due yet; it looks again at the next minute.
    let action = ctl.reconcile(c, &key("every")).await.unwrap();
    assert!(
        matches!(action, Action::RequeueAfter(d) if d <= Duration::from_millis(60_100)),
        "{action:?}"
    );
    assert!(jobs(c).await.is_empty());

    let last = last_ran(c, "every", 2).await;
    ctl.reconcile(c, &key("every")).await.unwrap();
    let js = jobs(c).await;
    assert_eq!(js.len(), 1, "{js:#?}");
    let most_recent = last + jiff::SignedDuration::from_secs(120);
    assert_eq!(js[0].name(), job_name("every", most_recent));
    let cj = get_cj(c, "every").await;
    assert_eq!(cj["status"]["active"][0]["name"], js[0].name());
    assert_eq!(cj["status"]["lastScheduleTime"], most_recent.to_string());
    assert_eq!(
        events(c, "SuccessfulCreate").await,
        [format!("Created job {}", js[0].name())]
    );
    // Level-triggered: the same activation is not run twice.
    ctl.reconcile(c, &key("every")).await.unwrap();
    assert_eq!(jobs(c).await.len(), 1);

    // Forbid: an activation while another Job of it runs starts nothing.
    let cj = get_cj(c, "every").await;
    let other = c
        .create(manual_job(&cj, "other"), &WriteOptions::default())
        .await
        .unwrap();
    let mut cj = get_cj(c, "every").await;
    cj["status"]["active"] = json!([job_ref(&js[0]), job_ref(&other)]);
    c.update_status(cj).await.unwrap();
    c.delete(
        lookup("jobs").unwrap(),
        Some("default"),
        js[0].name(),
        &DeleteOptions::default(),
    )
    .await
    .unwrap();
    last_ran(c, "every", 3).await;
    ctl.reconcile(c, &key("every")).await.unwrap();
    let names: Vec<String> = jobs(c).await.iter().map(|j| j.name().to_string()).collect();
    assert_eq!(names, ["other"]);
    assert_eq!(events(c, "JobAlreadyActive").await.len(), 1);
    assert_eq!(
        events(c, "MissingJob").await,
        [format!("Active job went missing: {}", js[0].name())]
    );

    // The Job completes: out of the active list, lastSuccessfulTime set.
    let done = "2024-05-01T10:00:00Z";
    finish_job(c, "other", "Complete", done).await;
    last_ran(c, "every", 0).await;
    ctl.reconcile(c, &key("every")).await.unwrap();
    let cj = get_cj(c, "every").await;
    assert!(cj["status"].get("active").is_none(), "{cj:#}");
    assert_eq!(cj["status"]["lastSuccessfulTime"], done);
    assert_eq!(
        events(c, "SawCompletedJob").await,
        ["Saw completed job: other, condition: Complete"]
    );
}

#[tokio::test]
async fn suspended_cronjobs_and_late_starts_create_nothing() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = CronJobController;
    c.create(
        cronjob("off", "* * * * *", json!({"suspend": true})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    last_ran(c, "off", 2).await;
    assert_eq!(ctl.reconcile(c, &key("off")).await.unwrap(), Action::Done);
    assert!(jobs(c).await.is_empty());

    // Activation more than startingDeadlineSeconds ago: too late.
    c.create(
        cronjob("late", "0 0 1 1 *", json!({"startingDeadlineSeconds": 10})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    ctl.reconcile(c, &key("late")).await.unwrap();
    assert!(jobs(c).await.is_empty());
}

#[tokio::test]
async fn replace_deletes_the_running_job() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = CronJobController;
    c.create(
        cronjob("rep", "* * * * *", json!({"concurrencyPolicy": "Replace"})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let cj = get_cj(c, "rep").await;
    let old = c
        .create(manual_job(&cj, "rep-old"), &WriteOptions::default())
        .await
        .unwrap();
    last_ran(c, "rep", 2).await;
    let mut cj = get_cj(c, "rep").await;
    cj["status"]["active"] = json!([job_ref(&old)]);
    c.update_status(cj).await.unwrap();
    ctl.reconcile(c, &key("rep")).await.unwrap();
    let now: Vec<String> = jobs(c)
        .await
        .iter()
        .filter(|j| j.deletion_timestamp().is_none())
        .map(|j| j.name().to_string())
        .collect();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0], "rep-old");
    assert_eq!(events(c, "SuccessfulDelete").await, ["Deleted job rep-old"]);
    let cj = get_cj(c, "rep").await;
    assert_eq!(cj["status"]["active"].as_array().unwrap().len(), 1);
    assert_eq!(cj["status"]["active"][0]["name"], now[0]);
}

#[tokio::test]
async fn history_limits_delete_the_oldest_finished_jobs() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = CronJobController;
    let cj = c
        .create(
            cronjob(
                "hist",
                "0 0 1 1 *",
                json!({"successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 1}),
            ),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    for (i, kind) in ["Complete", "Complete", "Complete", "Failed", "Failed"]
        .iter()
        .enumerate()
    {
        let name = format!("hist-{i}");
        c.create(manual_job(&cj, &name), &WriteOptions::default())
            .await
            .unwrap();
        finish_job(c, &name, kind, &format!("2024-05-01T10:0{i}:00Z")).await;
    }
    ctl.reconcile(c, &key("hist")).await.unwrap();
    let left: Vec<String> = jobs(c)
        .await
        .iter()
        .filter(|j| j.deletion_timestamp().is_none())
        .map(|j| j.name().to_string())
        .collect();
    assert_eq!(left, ["hist-2", "hist-4"]);
    assert_eq!(events(c, "SuccessfulDelete").await.len(), 3);
}
