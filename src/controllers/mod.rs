//! Controllers: a shared runtime (watch → de-duplicating queue → reconcile → retry → resync)
//! and one file per controller. Controllers only talk to the cluster through `Cluster`.

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod gc;
pub mod job;
pub mod namespace;
pub mod podcontrol;
pub mod pv;
pub mod queue;
pub mod replicaset;
pub mod runtime;
pub mod scheduler;
pub mod statefulset;
#[cfg(test)]
mod test_support;

use crate::cluster::Cluster;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Start the controllers that belong to the control plane of this scope.
pub fn start_all(cluster: Arc<dyn Cluster>) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(gc::GarbageCollector::default()),
    ));
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(deployment::DeploymentController::default()),
    ));
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(namespace::NamespaceController),
    ));
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(replicaset::ReplicaSetController::default()),
    ));
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(statefulset::StatefulSetController),
    ));
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(daemonset::DaemonSetController::default()),
    ));
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(job::JobController::default()),
    ));
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(job::ttl::TtlAfterFinishedController),
    ));
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(cronjob::CronJobController),
    ));
    handles.extend(runtime::spawn(
        cluster.clone(),
        Arc::new(endpoints::EndpointsController::default()),
    ));
    handles
}

#[cfg(test)]
mod tests;
