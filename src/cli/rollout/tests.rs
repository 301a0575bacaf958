use super::*;
use crate::cli::args::Command;
use crate::cli::fake::{ctx, parse, run_verb};
use crate::cluster::embedded::EmbeddedCluster;
use crate::store::{Store, StoreOptions};
use std::sync::Arc;

fn d(gen_: i64, observed: i64, status: Value) -> Value {
    let mut s = status;
    s["observedGeneration"] = json!(observed);
    json!({"metadata":{"name":"web","generation":gen_},"spec":{"replicas":3},"status":s})
}

#[test]
fn status_messages_are_kubectls() {
    let m = |v: Value| status_message(&v, 0).map_err(|e| e.to_string());
    assert_eq!(
        m(d(2, 1, json!({}))).unwrap().0,
        "Waiting for deployment spec update to be observed..."
    );
    assert_eq!(
        m(d(1, 1, json!({"updatedReplicas":1}))).unwrap().0,
        "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
    );
    assert_eq!(
        m(d(1, 1, json!({"replicas":5,"updatedReplicas":3})))
            .unwrap()
            .0,
        "Waiting for deployment \"web\" rollout to finish: 2 old replicas are pending termination..."
    );
    assert_eq!(
        m(d(
            1,
            1,
            json!({"replicas":3,"updatedReplicas":3,"availableReplicas":1})
        ))
        .unwrap()
        .0,
        "Waiting for deployment \"web\" rollout to finish: 1 of 3 updated replicas are available..."
    );
    assert_eq!(
        m(d(
            1,
            1,
            json!({"replicas":3,"updatedReplicas":3,"availableReplicas":3})
        ))
        .unwrap(),
        (
            "deployment \"web\" successfully rolled out".to_string(),
            true
        )
    );
    let timed_out = json!({"conditions":[{"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded"}]});
    assert_eq!(
        m(d(1, 1, timed_out)).unwrap_err(),
        "deployment \"web\" exceeded its progress deadline"
    );
    let mut with_rev = d(1, 1, json!({}));
    with_rev["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "2"});
    assert_eq!(
        status_message(&with_rev, 3).unwrap_err().to_string(),
        "desired revision (3) is different from the running revision (2)"
    );
}

/// A store with the Deployment controller running; pods are not needed for these verbs.
fn cluster() -> (
    tempfile::TempDir,
    Arc<dyn Cluster>,
    Vec<tokio::task::JoinHandle<()>>,
    tokio::runtime::Runtime,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
    let c: Arc<dyn Cluster> = Arc::new(EmbeddedCluster::new(store, dir.path().join("logs")));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let handles = {
        let _g = rt.enter();
        crate::controllers::runtime::spawn(
            c.clone(),
            Arc::new(crate::controllers::deployment::DeploymentController::default()),
        )
    };
    (dir, c, handles, rt)
}

fn verb(c: &dyn Cluster, args: &[&str]) -> (i32, String, String) {
    match parse(args) {
        Command::Rollout(cmd) => run_verb!(|io| run(c, &ctx(), cmd, io)),
        Command::Set(cmd) => run_verb!(|io| crate::cli::set_image::run(c, &ctx(), cmd, io)),
        _ => panic!("not a rollout verb"),
    }
}

fn wait_rs_count(rt: &tokio::runtime::Runtime, c: &dyn Cluster, n: usize) -> Vec<Value> {
    let rs = kinds::lookup("rs").unwrap();
    for _ in 0..500 {
        let items = rt
            .block_on(c.list(rs, Some("default"), &ListOptions::default()))
            .unwrap()
            .items;
        if items.len() == n && items.iter().all(|r| revision(r).is_some()) {
            return items;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("expected {n} replica sets");
}

#[test]
fn set_image_history_undo_pause_resume_restart() {
    let (_dir, c, handles, rt) = cluster();
    let c = c.as_ref();
    let dep = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default",
        "annotations":{"kubernetes.io/change-cause":"first"}},
        "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
                "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"a"}]}}}});
    rt.block_on(c.create(dep, &WriteOptions::default()))
        .unwrap();
    wait_rs_count(&rt, c, 1);
    let (code, out, err) = verb(c, &["set", "image", "deploy/web", "web=b"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "deployment.apps/web image updated\n", "")
    );
    let (code, _, err) = verb(c, &["set", "image", "deploy/web", "nope=b"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "error: unable to find container named \"nope\"\n")
    );
    let rss = wait_rs_count(&rt, c, 2);
    let first = rss
        .iter()
        .find(|r| revision(r) == Some(1))
        .unwrap()
        .name()
        .to_string();

    let (code, out, _) = verb(c, &["rollout", "history", "deploy/web"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         first\n2         first\n\n"
    );
    let (_, out, _) = verb(c, &["rollout", "history", "deploy/web", "--revision=1"]);
    assert!(
        out.starts_with("deployment.apps/web with revision #1\nPod Template:\n"),
        "{out}"
    );
    assert!(out.contains("Image:") && out.contains(" a\n"), "{out}");

    let (code, _, err) = verb(c, &["rollout", "undo", "deploy/web", "--to-revision=7"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "error: unable to find specified revision 7 in history\n")
    );
    let (code, out, _) = verb(c, &["rollout", "undo", "deploy/web"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "deployment.apps/web rolled back\n")
    );
    let k = kinds::lookup("deploy").unwrap();
    let d = rt.block_on(c.get(k, Some("default"), "web")).unwrap();
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "a");
    assert!(
        d.pointer("/spec/template/metadata/labels/pod-template-hash")
            .is_none()
    );
    // The old ReplicaSet is reused as revision 3.
    let rs_kind = kinds::lookup("rs").unwrap();
    let mut reused = Value::Null;
    for _ in 0..500 {
        reused = rt
            .block_on(c.get(rs_kind, Some("default"), &first))
            .unwrap();
        if revision(&reused) == Some(3) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(revision(&reused), Some(3));
    let (_, out, _) = verb(c, &["rollout", "undo", "deploy/web", "--to-revision=3"]);
    assert_eq!(
        out,
        "deployment.apps/web skipped rollback (current template already matches revision 3)\n"
    );

    let (_, out, _) = verb(c, &["rollout", "pause", "deploy/web"]);
    assert_eq!(out, "deployment.apps/web paused\n");
    let (code, _, err) = verb(c, &["rollout", "pause", "deploy/web"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "error: deployments.apps \"web\" is already paused\n")
    );
    let (code, _, err) = verb(c, &["rollout", "undo", "deploy/web"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot rollback a paused deployment"), "{err}");
    let (code, _, err) = verb(c, &["rollout", "restart", "deploy/web"]);
    assert_eq!(code, 1, "{err}");
    let (_, out, _) = verb(c, &["rollout", "resume", "deploy/web"]);
    assert_eq!(out, "deployment.apps/web resumed\n");
    let (code, _, err) = verb(c, &["rollout", "resume", "deploy/web"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "error: deployments.apps \"web\" is not paused\n")
    );
    let (_, out, _) = verb(c, &["rollout", "restart", "deploy/web"]);
    assert_eq!(out, "deployment.apps/web restarted\n");
    let d = rt.block_on(c.get(k, Some("default"), "web")).unwrap();
    assert_eq!(
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
        "2024-05-01T12:00:00Z"
    );
    let (code, _, err) = verb(c, &["rollout", "status", "rs/web"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: rollout is implemented for deployments only, not replicasets\n"
        )
    );
    for h in handles {
        h.abort();
    }
}
