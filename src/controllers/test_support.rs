//! Helpers shared by the controllers' tests.

use crate::api::kinds::lookup;
use crate::api::object::ObjectExt;
use crate::api::request::ListOptions;
use crate::cluster::Cluster;
use crate::controllers::podcontrol;
use serde_json::Value;

/// The pods of `default`, by name.
pub async fn pods(c: &dyn Cluster) -> Vec<Value> {
    let mut items = c
        .list(
            lookup("po").unwrap(),
            Some("default"),
            &ListOptions::default(),
        )
        .await
        .unwrap()
        .items;
    items.sort_by(|a, b| a.name().cmp(b.name()));
    items
}

/// The active pods of `default` (not finished, not being deleted), by name.
pub async fn active(c: &dyn Cluster) -> Vec<Value> {
    pods(c)
        .await
        .into_iter()
        .filter(podcontrol::is_active)
        .collect()
}
