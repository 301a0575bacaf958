//! The Deployment controller against a real store, with a stand-in for the ReplicaSet
//! controller that reports every ReplicaSet's pods (available at once unless their image is
//! "bad"), so rollouts can be followed step by step.

use super::DeploymentController;
use super::conditions::{AVAILABLE, NEW_RS_AVAILABLE, PROGRESSING, get};
use super::util::{REVISION, REVISION_HISTORY, available, spec_replicas};
use crate::api::kinds::lookup;
use crate::api::object::ObjectExt;
use crate::api::request::{ListOptions, Patch, WriteOptions};
use crate::cluster::Cluster;
use crate::cluster::embedded::EmbeddedCluster;
use crate::controllers::runtime;
use crate::store::{Store, StoreOptions};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

struct Env {
    _dir: tempfile::TempDir,
    cluster: Arc<dyn Cluster>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Report status for every ReplicaSet: all its pods exist; available unless the image is bad.
async fn fake_rs_controller(c: Arc<dyn Cluster>) {
    let rs_kind = lookup("rs").unwrap();
    loop {
        if let Ok(list) = c.list(rs_kind, None, &ListOptions::default()).await {
            for mut rs in list.items {
                let n = spec_replicas(&rs);
                let bad = rs.str_at("/spec/template/spec/containers/0/image") == Some("bad");
                let ok = if bad { 0 } else { n };
                let status = json!({"replicas": n, "readyReplicas": ok, "availableReplicas": ok,
                                    "observedGeneration": rs.generation()});
                if rs.get("status") != Some(&status) {
                    rs["status"] = status;
                    let _ = c.update_status(rs).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
    let cluster: Arc<dyn Cluster> = Arc::new(EmbeddedCluster::new(store, dir.path().join("logs")));
    let mut handles = runtime::spawn(cluster.clone(), Arc::new(DeploymentController::default()));
    handles.push(tokio::spawn(fake_rs_controller(cluster.clone())));
    Env {
        _dir: dir,
        cluster,
        handles,
    }
}

fn deployment(replicas: i64, image: &str, strategy: Value) -> Value {
    json!({"apiVersion":"apps/v1","kind":"Deployment",
           "metadata":{"name":"web","namespace":"default"},
           "spec":{"replicas":replicas,"selector":{"matchLabels":{"app":"web"}},"strategy":strategy,
                   "template":{"metadata":{"labels":{"app":"web"}},
                               "spec":{"containers":[{"name":"c","image":image}]}}}})
}

fn rolling(surge: Value, unavailable: Value) -> Value {
    json!({"type":"RollingUpdate","rollingUpdate":{"maxSurge":surge,"maxUnavailable":unavailable}})
}

async fn replica_sets(c: &dyn Cluster) -> Vec<Value> {
    let mut v = c
        .list(
            lookup("rs").unwrap(),
            Some("default"),
            &ListOptions::default(),
        )
        .await
        .unwrap()
        .items;
    v.sort_by(super::util::by_creation);
    v
}

async fn get_deploy(c: &dyn Cluster) -> Value {
    c.get(lookup("deploy").unwrap(), Some("default"), "web")
        .await
        .unwrap()
}

async fn set_image(c: &dyn Cluster, image: &str) {
    let p = json!({"spec":{"template":{"spec":{"containers":[{"name":"c","image":image}]}}}});
    c.patch(
        lookup("deploy").unwrap(),
        Some("default"),
        "web",
        Patch::Merge(p),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
}

/// Poll until `check` holds on (deployment, replica sets); panics with the state after 10 s.
async fn wait(
    c: &dyn Cluster,
    what: &str,
    check: impl Fn(&Value, &[Value]) -> bool,
) -> (Value, Vec<Value>) {
    for _ in 0..1000 {
        let d = get_deploy(c).await;
        let rss = replica_sets(c).await;
        if check(&d, &rss) {
            return (d, rss);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{what}: {:#}\n{:#}",
        get_deploy(c).await,
        json!(replica_sets(c).await)
    );
}

fn complete(d: &Value) -> bool {
    d.pointer("/status/observedGeneration") == d.pointer("/metadata/generation")
        && d.pointer("/status/updatedReplicas") == d.pointer("/spec/replicas")
        && d.pointer("/status/replicas") == d.pointer("/spec/replicas")
        && d.pointer("/status/availableReplicas") == d.pointer("/spec/replicas")
        && d.get("status")
            .and_then(|s| get(s, PROGRESSING))
            .is_some_and(|c| c["reason"] == NEW_RS_AVAILABLE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_a_hashed_replica_set_with_revision_1() {
    let e = env();
    let c = e.cluster.as_ref();
    c.create(
        deployment(3, "a", rolling(json!("25%"), json!("25%"))),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let (d, rss) = wait(c, "first rollout", |d, _| complete(d)).await;
    assert_eq!(rss.len(), 1);
    let rs = &rss[0];
    let hash = rs.label("pod-template-hash").unwrap().to_string();
    assert_eq!(rs.name(), format!("web-{hash}"));
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash.as_str()
    );
    assert_eq!(
        rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"],
        hash.as_str()
    );
    assert_eq!(rs["spec"]["replicas"], 3);
    assert_eq!(rs.annotation(REVISION), Some("1"));
    assert_eq!(
        rs.annotation("deployment.kubernetes.io/desired-replicas"),
        Some("3")
    );
    assert_eq!(
        rs.annotation("deployment.kubernetes.io/max-replicas"),
        Some("4")
    );
    let owner = &rs.owner_references()[0];
    assert!(owner.controller && owner.block_owner_deletion && owner.uid == d.uid());
    assert_eq!(d.annotation(REVISION), Some("1"));
    let avail = get(&d["status"], AVAILABLE).unwrap();
    assert_eq!(avail["status"], "True");
    // Events name the scaling.
    let evs = c
        .list(
            lookup("events").unwrap(),
            Some("default"),
            &ListOptions::default(),
        )
        .await
        .unwrap();
    assert!(
        evs.items.iter().any(|e| e["reason"] == "ScalingReplicaSet"
            && e["message"] == format!("Scaled up replica set web-{hash} from 0 to 3").as_str()),
        "{:#}",
        json!(evs.items)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_keeps_availability_and_rollback_reuses_the_old_replica_set() {
    let e = env();
    let c = e.cluster.as_ref();
    c.create(
        deployment(5, "a", rolling(json!(1), json!(0))),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let (_, first) = wait(c, "first rollout", |d, _| complete(d)).await;
    let first_name = first[0].name().to_string();
    set_image(c, "b").await;
    // Sample while rolling: never fewer than 5 available, never more than 6 pods.
    for _ in 0..2000 {
        let rss = replica_sets(c).await;
        let avail: i64 = rss.iter().map(available).sum();
        let pods: i64 = rss
            .iter()
            .map(|r| r["status"]["replicas"].as_i64().unwrap_or(0))
            .sum();
        assert!(avail >= 5, "availability dropped: {:#}", json!(rss));
        assert!(pods <= 6, "surge exceeded: {:#}", json!(rss));
        if complete(&get_deploy(c).await) && rss.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (d, rss) = wait(c, "second rollout", |d, rss| complete(d) && rss.len() == 2).await;
    assert_eq!(d.annotation(REVISION), Some("2"));
    assert_eq!(rss[0].name(), first_name);
    assert_eq!(rss[0]["spec"]["replicas"], 0);
    assert_eq!(rss[1].annotation(REVISION), Some("2"));
    // Back to the first template: the first ReplicaSet comes back as revision 3.
    set_image(c, "a").await;
    let (d, rss) = wait(c, "rollback", |d, rss| {
        complete(d) && rss.iter().any(|r| r.annotation(REVISION) == Some("3"))
    })
    .await;
    assert_eq!(rss.len(), 2);
    let back = rss.iter().find(|r| r.name() == first_name).unwrap();
    assert_eq!(back.annotation(REVISION), Some("3"));
    assert_eq!(back.annotation(REVISION_HISTORY), Some("1"));
    assert_eq!(back["spec"]["replicas"], 5);
    assert_eq!(d.annotation(REVISION), Some("3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_image_stalls_within_max_unavailable_and_times_out() {
    let e = env();
    let c = e.cluster.as_ref();
    let mut d = deployment(4, "a", rolling(json!(1), json!(1)));
    d["spec"]["progressDeadlineSeconds"] = json!(1);
    c.create(d, &WriteOptions::default()).await.unwrap();
    wait(c, "first rollout", |d, _| complete(d)).await;
    set_image(c, "bad").await;
    let (d, rss) = wait(c, "stall", |d, _| {
        d.get("status")
            .and_then(|s| get(s, PROGRESSING))
            .is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded")
    })
    .await;
    // Old: 3 available (4 - maxUnavailable); new: 2 (ceiling 5) none available.
    assert_eq!(
        rss.iter().map(available).sum::<i64>(),
        3,
        "{:#}",
        json!(rss)
    );
    assert_eq!(rss.iter().map(spec_replicas).sum::<i64>(), 5);
    assert_eq!(get(&d["status"], PROGRESSING).unwrap()["status"], "False");
    // Fixing the image recovers.
    set_image(c, "a").await;
    wait(c, "recovery", |d, rss| {
        complete(d) && rss.iter().filter(|r| spec_replicas(r) > 0).count() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_mid_rollout_is_proportional() {
    let e = env();
    let c = e.cluster.as_ref();
    c.create(
        deployment(10, "a", rolling(json!(3), json!(2))),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    wait(c, "first rollout", |d, _| complete(d)).await;
    set_image(c, "bad").await;
    // Stalled: old 8, new 5 (ceiling 13).
    wait(c, "stall", |_, rss| {
        rss.len() == 2 && spec_replicas(&rss[0]) == 8 && spec_replicas(&rss[1]) == 5
    })
    .await;
    let p = json!({"spec":{"replicas":15}});
    c.patch(
        lookup("deploy").unwrap(),
        Some("default"),
        "web",
        Patch::Merge(p),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    // Ceiling 18: +5 split 3 to old, 2 to new (Kubernetes' documented example).
    wait(c, "proportional scale", |_, rss| {
        spec_replicas(&rss[0]) == 11 && spec_replicas(&rss[1]) == 7
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_paused_and_history_limit() {
    let e = env();
    let c = e.cluster.as_ref();
    let mut d = deployment(2, "a", json!({"type":"Recreate"}));
    d["spec"]["revisionHistoryLimit"] = json!(1);
    c.create(d, &WriteOptions::default()).await.unwrap();
    wait(c, "first rollout", |d, _| complete(d)).await;
    set_image(c, "b").await;
    wait(c, "recreate", |d, rss| complete(d) && rss.len() == 2).await;
    set_image(c, "c").await;
    // Limit 1: the oldest empty ReplicaSet goes.
    let (_, rss) = wait(c, "third rollout and clean-up", |d, rss| {
        complete(d) && rss.len() == 2 && rss.iter().any(|r| r.annotation(REVISION) == Some("3"))
    })
    .await;
    assert!(rss.iter().all(|r| r.annotation(REVISION) != Some("1")));
    // Paused: a template change makes no new ReplicaSet, scaling still works.
    let p = json!({"spec":{"paused":true}});
    let k = lookup("deploy").unwrap();
    c.patch(
        k,
        Some("default"),
        "web",
        Patch::Merge(p),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    wait(c, "paused condition", |d, _| {
        d.get("status")
            .and_then(|s| get(s, PROGRESSING))
            .is_some_and(|c| c["reason"] == "DeploymentPaused")
    })
    .await;
    set_image(c, "d").await;
    let p = json!({"spec":{"replicas":4}});
    c.patch(
        k,
        Some("default"),
        "web",
        Patch::Merge(p),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    // While paused every ReplicaSet is old (none matches the template): the history limit
    // leaves only revision 3, which takes the new size. The scale and the clean-up are
    // separate syncs, so wait for both.
    let (_, rss) = wait(c, "paused scale and clean-up", |_, rss| {
        rss.len() == 1 && rss.iter().map(spec_replicas).sum::<i64>() == 4
    })
    .await;
    assert_eq!(rss[0].annotation(REVISION), Some("3"));
    let p = json!({"spec":{"paused":false}});
    c.patch(
        k,
        Some("default"),
        "web",
        Patch::Merge(p),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    wait(c, "resumed rollout", |d, rss| {
        complete(d) && rss.iter().any(|r| r.annotation(REVISION) == Some("4"))
    })
    .await;
}
