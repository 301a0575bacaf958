//! The StatefulSet controller against a real store, one reconcile at a time (no node agent:
//! the tests write pod status themselves).

use super::*;
use crate::api::kinds::lookup;
use crate::controllers::podcontrol::tests::cluster;

fn set(replicas: i64) -> Value {
    json!({"apiVersion":"apps/v1","kind":"StatefulSet",
           "metadata":{"name":"web","namespace":"default"},
           "spec":{"replicas":replicas,"serviceName":"web","podManagementPolicy":"Parallel",
             "persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain","whenScaled":"Delete"},
             "selector":{"matchLabels":{"app":"web"}},
             "template":{"metadata":{"labels":{"app":"web"}},
               "spec":{"containers":[{"name":"c","image":"busybox:1"}]}},
             "volumeClaimTemplates":[{"metadata":{"name":"data"},
               "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Mi"}}}}]}})
}

async fn names(c: &dyn Cluster, kind: &str) -> Vec<String> {
    let mut n: Vec<String> = c
        .list(
            lookup(kind).unwrap(),
            Some("default"),
            &ListOptions::default(),
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    n.sort();
    n
}

async fn bind_claims(c: &dyn Cluster) {
    let pvc = lookup("pvc").unwrap();
    for mut claim in c
        .list(pvc, Some("default"), &ListOptions::default())
        .await
        .unwrap()
        .items
    {
        claim["status"] = json!({"phase":"Bound"});
        c.update_status(claim).await.unwrap();
    }
}

#[tokio::test]
async fn claims_come_before_pods_and_follow_when_scaled() {
    let (_dir, c) = cluster();
    let c = c.as_ref();
    let sts = lookup("sts").unwrap();
    c.create(set(2), &WriteOptions::default()).await.unwrap();
    let key = ObjectKey::new(sts, Some("default"), "web");
    let ctl = StatefulSetController;
    // Claims first; the pods wait (briefly) for them to be bound.
    let a = ctl.reconcile(c, &key).await.unwrap();
    assert_eq!(a, Action::RequeueAfter(Duration::from_millis(100)));
    assert_eq!(names(c, "pvc").await, ["data-web-0", "data-web-1"]);
    assert!(names(c, "pods").await.is_empty());
    bind_claims(c).await;
    ctl.reconcile(c, &key).await.unwrap();
    assert_eq!(names(c, "pods").await, ["web-0", "web-1"]);
    let pod = c
        .get(lookup("po").unwrap(), Some("default"), "web-1")
        .await
        .unwrap();
    assert_eq!(
        pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "data-web-1"
    );
    let status = c.get(sts, Some("default"), "web").await.unwrap()["status"].clone();
    assert_eq!(status["replicas"], 0, "counted before this sync's creates");
    ctl.reconcile(c, &key).await.unwrap();
    let status = c.get(sts, Some("default"), "web").await.unwrap()["status"].clone();
    assert_eq!(status["replicas"], 2);
    assert_eq!(status["updatedReplicas"], 2);

    // Scale to 1 with whenScaled: Delete: web-1's claim gets web-1 as its owner (the
    // garbage collector deletes it with the pod); web-0's claim stays unowned.
    c.patch(
        sts,
        Some("default"),
        "web",
        crate::api::request::Patch::Merge(json!({"spec":{"replicas":1}})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    ctl.reconcile(c, &key).await.unwrap();
    let pvc = lookup("pvc").unwrap();
    let claim1 = c.get(pvc, Some("default"), "data-web-1").await.unwrap();
    assert_eq!(claim1["metadata"]["ownerReferences"][0]["kind"], "Pod");
    assert_eq!(claim1["metadata"]["ownerReferences"][0]["name"], "web-1");
    let claim0 = c.get(pvc, Some("default"), "data-web-0").await.unwrap();
    assert!(claim0["metadata"]["ownerReferences"].is_null());
    let web1 = c.get(lookup("po").unwrap(), Some("default"), "web-1").await;
    assert!(web1.is_err() || web1.unwrap().deletion_timestamp().is_some());
}
