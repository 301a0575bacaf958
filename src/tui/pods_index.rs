//! What the namespaces and labels panes need from the pod watch, kept up to date one event at a
//! time: pods per namespace and, per namespace, how many pods carry each `key=value` label.
//! The console may hold 10,000 pods, so a watch event costs O(labels of that pod · log n), never
//! a scan of all pods, and reading a namespace's labels walks only that namespace's distinct
//! label pairs.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// One row of the labels pane: how many pods carry `key=value`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelCount {
    pub key: String,
    pub value: String,
    pub count: usize,
}

/// Counts for one namespace.
#[derive(Debug, Default)]
struct NsCounts {
    pods: usize,
    labels: BTreeMap<(String, String), usize>,
}

/// Pods by `namespace/name` with their labels, and the counts derived from them.
#[derive(Debug, Default)]
pub struct PodIndex {
    /// (namespace, name) → the pod's labels, sorted by key (what was counted for it, so a
    /// relabel or delete can take exactly those counts back).
    pods: HashMap<(String, String), Vec<(String, String)>>,
    namespaces: HashMap<String, NsCounts>,
    /// The label counts over all namespaces, kept alongside so `labels(None)` need not merge.
    all: BTreeMap<(String, String), usize>,
}

/// `metadata.labels` as sorted pairs. A label whose value is not a string is left out: label
/// selectors treat it as absent (`LabelSelector::matches_object`), so the pane must not offer
/// it.
fn labels_of(obj: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
}

/// (namespace, name) of a pod; a pod without a namespace counts under `""`.
fn key_of(obj: &Value) -> (String, String) {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    (
        s("/metadata/namespace").to_string(),
        s("/metadata/name").to_string(),
    )
}

fn add(map: &mut BTreeMap<(String, String), usize>, pair: &(String, String)) {
    match map.get_mut(pair) {
        Some(n) => *n += 1,
        None => {
            map.insert(pair.clone(), 1);
        }
    }
}

fn sub(map: &mut BTreeMap<(String, String), usize>, pair: &(String, String)) {
    if let Some(n) = map.get_mut(pair) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(pair);
        }
    }
}

fn rows(map: &BTreeMap<(String, String), usize>) -> Vec<LabelCount> {
    map.iter()
        .map(|((key, value), count)| LabelCount {
            key: key.clone(),
            value: value.clone(),
            count: *count,
        })
        .collect()
}

impl PodIndex {
    pub fn new() -> PodIndex {
        PodIndex::default()
    }

    /// Record a pod from an ADDED or MODIFIED event (or a list). A pod seen before has its old
    /// labels' counts moved to the new ones. An object without a name is ignored.
    pub fn upsert(&mut self, obj: &Value) {
        let key = key_of(obj);
        if key.1.is_empty() {
            return; // not a pod (every pod has a name); nothing to count
        }
        let labels = labels_of(obj);
        if let Some(old) = self.pods.get(&key) {
            if *old == labels {
                return; // the usual MODIFIED event: status changed, labels did not
            }
            let old = old.clone();
            self.uncount(&key.0, &old);
            self.count(&key.0, &labels);
        } else {
            self.namespaces.entry(key.0.clone()).or_default().pods += 1;
            self.count(&key.0, &labels);
        }
        self.pods.insert(key, labels);
    }

    /// Forget a pod from a DELETED event. Returns whether it was known.
    pub fn remove(&mut self, obj: &Value) -> bool {
        let (ns, name) = key_of(obj);
        self.remove_key(&ns, &name)
    }

    /// Forget the pod `namespace/name`. Returns whether it was known.
    pub fn remove_key(&mut self, namespace: &str, name: &str) -> bool {
        let Some(labels) = self.pods.remove(&(namespace.to_string(), name.to_string())) else {
            return false;
        };
        self.uncount(namespace, &labels);
        if let Some(c) = self.namespaces.get_mut(namespace) {
            c.pods = c.pods.saturating_sub(1);
            if c.pods == 0 {
                self.namespaces.remove(namespace);
            }
        }
        true
    }

    /// Forget everything (the pod watch restarted and will list again).
    pub fn reset(&mut self) {
        *self = PodIndex::default();
    }

    /// Pods in all namespaces.
    pub fn total(&self) -> usize {
        self.pods.len()
    }

    /// Pods in one namespace.
    pub fn count_in(&self, namespace: &str) -> usize {
        self.namespaces.get(namespace).map_or(0, |c| c.pods)
    }

    /// Whether the pod `namespace/name` is known.
    pub fn contains(&self, namespace: &str, name: &str) -> bool {
        self.pods
            .contains_key(&(namespace.to_string(), name.to_string()))
    }

    /// Namespaces that have pods, with their counts, sorted by name. A namespace can have pods
    /// before the namespace watch delivers it (or after it was deleted), so the namespaces pane
    /// may want to show these too.
    pub fn namespaces_with_pods(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = self
            .namespaces
            .iter()
            .map(|(ns, c)| (ns.clone(), c.pods))
            .collect();
        v.sort();
        v
    }

    /// The label pairs of the pods in `namespace` (None: all namespaces) with how many pods
    /// carry each, sorted by key then value. Costs the number of distinct pairs returned.
    pub fn labels(&self, namespace: Option<&str>) -> Vec<LabelCount> {
        match namespace {
            None => rows(&self.all),
            Some(ns) => self
                .namespaces
                .get(ns)
                .map(|c| rows(&c.labels))
                .unwrap_or_default(),
        }
    }

    fn count(&mut self, ns: &str, labels: &[(String, String)]) {
        let c = self.namespaces.entry(ns.to_string()).or_default();
        for pair in labels {
            add(&mut c.labels, pair);
            add(&mut self.all, pair);
        }
    }

    fn uncount(&mut self, ns: &str, labels: &[(String, String)]) {
        if let Some(c) = self.namespaces.get_mut(ns) {
            for pair in labels {
                sub(&mut c.labels, pair);
            }
        }
        for pair in labels {
            sub(&mut self.all, pair);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(ns: &str, name: &str, labels: &[(&str, &str)]) -> Value {
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"namespace": ns, "name": name, "labels": labels}})
    }

    fn lc(key: &str, value: &str, count: usize) -> LabelCount {
        LabelCount {
            key: key.into(),
            value: value.into(),
            count,
        }
    }

    /// The counts recomputed from scratch, to compare the incremental ones against.
    fn recount(
        pods: &BTreeMap<(String, String), Vec<(String, String)>>,
        ns: Option<&str>,
    ) -> Vec<LabelCount> {
        let mut m: BTreeMap<(String, String), usize> = BTreeMap::new();
        for ((pns, _), labels) in pods {
            if ns.is_none_or(|n| n == pns) {
                for p in labels {
                    *m.entry(p.clone()).or_default() += 1;
                }
            }
        }
        rows(&m)
    }

    #[test]
    fn counts_pods_and_labels_per_namespace() {
        let mut ix = PodIndex::new();
        ix.upsert(&pod("shop", "web-1", &[("app", "web"), ("env", "prod")]));
        ix.upsert(&pod("shop", "web-2", &[("app", "web"), ("env", "staging")]));
        ix.upsert(&pod("shop", "db-0", &[("app", "db"), ("env", "prod")]));
        ix.upsert(&pod("default", "web-1", &[("app", "web")]));
        assert_eq!(ix.total(), 4);
        assert_eq!(ix.count_in("shop"), 3);
        assert_eq!(ix.count_in("default"), 1);
        assert_eq!(ix.count_in("nowhere"), 0);
        assert_eq!(
            ix.labels(Some("shop")),
            vec![
                lc("app", "db", 1),
                lc("app", "web", 2),
                lc("env", "prod", 2),
                lc("env", "staging", 1)
            ]
        );
        assert_eq!(ix.labels(Some("default")), vec![lc("app", "web", 1)]);
        assert_eq!(
            ix.labels(None),
            vec![
                lc("app", "db", 1),
                lc("app", "web", 3),
                lc("env", "prod", 2),
                lc("env", "staging", 1)
            ]
        );
        assert_eq!(ix.labels(Some("nowhere")), vec![]);
        assert_eq!(
            ix.namespaces_with_pods(),
            vec![("default".to_string(), 1), ("shop".to_string(), 3)]
        );
        assert!(ix.contains("shop", "db-0"));
        assert!(!ix.contains("default", "db-0"));
    }

    #[test]
    fn modified_pod_with_same_labels_changes_nothing() {
        let mut ix = PodIndex::new();
        let p = pod("shop", "web-1", &[("app", "web")]);
        ix.upsert(&p);
        ix.upsert(&p);
        ix.upsert(&p);
        assert_eq!(ix.total(), 1);
        assert_eq!(ix.count_in("shop"), 1);
        assert_eq!(ix.labels(Some("shop")), vec![lc("app", "web", 1)]);
    }

    #[test]
    fn relabel_moves_counts_and_drops_empty_pairs() {
        let mut ix = PodIndex::new();
        ix.upsert(&pod("shop", "a", &[("app", "web"), ("tier", "front")]));
        ix.upsert(&pod("shop", "b", &[("app", "web")]));
        // `kubectl label pod a app=api tier-` : one pair changes value, one goes away.
        ix.upsert(&pod("shop", "a", &[("app", "api")]));
        assert_eq!(ix.count_in("shop"), 2);
        assert_eq!(
            ix.labels(Some("shop")),
            vec![lc("app", "api", 1), lc("app", "web", 1)]
        );
        assert_eq!(ix.labels(None), ix.labels(Some("shop")));
        // All labels removed: the pod still counts, no pairs left for it.
        ix.upsert(&pod("shop", "a", &[]));
        assert_eq!(ix.count_in("shop"), 2);
        assert_eq!(ix.labels(Some("shop")), vec![lc("app", "web", 1)]);
    }

    #[test]
    fn delete_takes_back_what_was_counted() {
        let mut ix = PodIndex::new();
        ix.upsert(&pod("shop", "a", &[("app", "web")]));
        ix.upsert(&pod("shop", "b", &[("app", "web")]));
        ix.upsert(&pod("dev", "a", &[("app", "web")]));
        // The DELETED event carries the last state; its labels are not trusted, the stored
        // ones are taken back.
        assert!(ix.remove(&pod("shop", "a", &[("something", "else")])));
        assert_eq!(ix.count_in("shop"), 1);
        assert_eq!(ix.labels(Some("shop")), vec![lc("app", "web", 1)]);
        assert_eq!(ix.labels(None), vec![lc("app", "web", 2)]);
        assert!(!ix.remove(&pod("shop", "a", &[])), "already gone");
        assert!(ix.remove_key("shop", "b"));
        assert_eq!(ix.count_in("shop"), 0);
        assert_eq!(ix.labels(Some("shop")), vec![]);
        assert_eq!(ix.namespaces_with_pods(), vec![("dev".to_string(), 1)]);
        assert_eq!(ix.total(), 1);
        ix.reset();
        assert_eq!(ix.total(), 0);
        assert_eq!(ix.labels(None), vec![]);
        assert_eq!(ix.namespaces_with_pods(), vec![]);
    }

    #[test]
    fn odd_objects_do_not_break_counts() {
        let mut ix = PodIndex::new();
        // No labels at all, labels not an object, a non-string value, no namespace.
        ix.upsert(&json!({"metadata": {"namespace": "a", "name": "p"}}));
        ix.upsert(&json!({"metadata": {"namespace": "a", "name": "q", "labels": "x"}}));
        ix.upsert(&json!({"metadata": {"namespace": "a", "name": "r",
                                        "labels": {"n": 1, "app": "web"}}}));
        ix.upsert(&json!({"metadata": {"name": "s", "labels": {"app": "web"}}}));
        ix.upsert(&json!(null));
        assert_eq!(ix.count_in("a"), 3);
        assert_eq!(ix.count_in(""), 1, "the nameless object is not counted");
        assert_eq!(ix.total(), 4);
        assert_eq!(ix.labels(Some("a")), vec![lc("app", "web", 1)]);
        assert_eq!(ix.labels(None), vec![lc("app", "web", 2)]);
    }

    /// 10,000 pods over 10 namespaces, then 1,000 relabels and 500 deletes: the incremental
    /// counts equal counts recomputed from scratch.
    #[test]
    fn many_upserts_and_relabels_keep_counts_right() {
        let mut ix = PodIndex::new();
        let mut model: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
        let mut put =
            |ix: &mut PodIndex, ns: String, name: String, labels: Vec<(String, String)>| {
                let refs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                ix.upsert(&pod(&ns, &name, &refs));
                let mut sorted = labels;
                sorted.sort();
                model.insert((ns, name), sorted);
            };
        for i in 0..10_000usize {
            let labels = vec![
                ("app".to_string(), format!("app-{}", i % 37)),
                (
                    "env".to_string(),
                    ["prod", "staging", "dev"][i % 3].to_string(),
                ),
                ("pod-template-hash".to_string(), format!("h{}", i % 501)),
            ];
            put(
                &mut ix,
                format!("ns-{}", i % 10),
                format!("pod-{i}"),
                labels,
            );
        }
        for j in 0..1_000usize {
            let i = (j * 7919) % 10_000;
            let mut labels = vec![("app".to_string(), format!("app-{}", (i + j) % 41))];
            if j % 2 == 0 {
                labels.push(("canary".to_string(), "true".to_string()));
            }
            put(
                &mut ix,
                format!("ns-{}", i % 10),
                format!("pod-{i}"),
                labels,
            );
        }
        for j in 0..500usize {
            let i = (j * 104_729) % 10_000;
            let ns = format!("ns-{}", i % 10);
            let name = format!("pod-{i}");
            let known = model.remove(&(ns.clone(), name.clone())).is_some();
            assert_eq!(ix.remove_key(&ns, &name), known);
        }
        assert_eq!(ix.total(), model.len());
        assert_eq!(ix.labels(None), recount(&model, None));
        for n in 0..10 {
            let ns = format!("ns-{n}");
            assert_eq!(ix.labels(Some(&ns)), recount(&model, Some(&ns)), "{ns}");
            let pods = model.keys().filter(|(pns, _)| *pns == ns).count();
            assert_eq!(ix.count_in(&ns), pods, "{ns}");
        }
        let total: usize = ix.namespaces_with_pods().iter().map(|(_, n)| n).sum();
        assert_eq!(total, model.len());
    }
}
