//! The kinds registry: what the API serves, under which group/version, plural and short names,
//! and whether a kind lives in a namespace. Every layer resolves user input (`po`, `deploy`,
//! `deployments.apps`, `Pod`) through here.

/// Static description of one served kind.
#[derive(Debug, PartialEq, Eq)]
pub struct KindInfo {
    pub kind: &'static str,
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Categories such as `all` (what `get all` expands to).
    pub categories: &'static [&'static str],
    /// Whether the kind has a `status` subresource (status written separately from spec).
    pub has_status: bool,
}

impl KindInfo {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods` or `deployments.apps`: how kubectl names a resource in messages and how the store
    /// keys it.
    pub fn resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// URL prefix of the group/version: `/api/v1` or `/apis/apps/v1`.
    pub fn api_prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// Collection path, namespaced when the kind is and a namespace is given.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => {
                format!("{}/namespaces/{}/{}", self.api_prefix(), ns, self.plural)
            }
            _ => format!("{}/{}", self.api_prefix(), self.plural),
        }
    }

    pub fn object_path(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{}", self.collection_path(namespace), name)
    }

    pub fn in_category(&self, category: &str) -> bool {
        self.categories.contains(&category)
    }
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

macro_rules! kind {
    ($kind:expr, $group:expr, $plural:expr, $singular:expr, $ns:expr, $short:expr, $cat:expr, $status:expr) => {
        KindInfo {
            kind: $kind,
            group: $group,
            version: "v1",
            plural: $plural,
            singular: $singular,
            namespaced: $ns,
            short_names: $short,
            categories: $cat,
            has_status: $status,
        }
    };
}

/// Every kind peapod serves, in the order `api-resources` prints them (core group first).
pub static KINDS: &[KindInfo] = &[
    kind!(
        "ConfigMap",
        "",
        "configmaps",
        "configmap",
        true,
        &["cm"],
        NONE,
        false
    ),
    kind!(
        "Endpoints",
        "",
        "endpoints",
        "endpoints",
        true,
        &["ep"],
        NONE,
        false
    ),
    kind!("Event", "", "events", "event", true, &["ev"], NONE, false),
    kind!(
        "Namespace",
        "",
        "namespaces",
        "namespace",
        false,
        &["ns"],
        NONE,
        true
    ),
    kind!("Node", "", "nodes", "node", false, &["no"], NONE, true),
    kind!(
        "PersistentVolumeClaim",
        "",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        true,
        &["pvc"],
        NONE,
        true
    ),
    kind!(
        "PersistentVolume",
        "",
        "persistentvolumes",
        "persistentvolume",
        false,
        &["pv"],
        NONE,
        true
    ),
    kind!("Pod", "", "pods", "pod", true, &["po"], ALL, true),
    kind!(
        "ReplicationController",
        "",
        "replicationcontrollers",
        "replicationcontroller",
        true,
        &["rc"],
        ALL,
        true
    ),
    kind!(
        "Secret",
        "",
        "secrets",
        "secret",
        true,
        &["secret"],
        NONE,
        false
    ),
    kind!(
        "ServiceAccount",
        "",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
        NONE,
        false
    ),
    kind!(
        "Service",
        "",
        "services",
        "service",
        true,
        &["svc"],
        ALL,
        true
    ),
    kind!(
        "DaemonSet",
        "apps",
        "daemonsets",
        "daemonset",
        true,
        &["ds"],
        ALL,
        true
    ),
    kind!(
        "Deployment",
        "apps",
        "deployments",
        "deployment",
        true,
        &["deploy"],
        ALL,
        true
    ),
    kind!(
        "ReplicaSet",
        "apps",
        "replicasets",
        "replicaset",
        true,
        &["rs"],
        ALL,
        true
    ),
    kind!(
        "StatefulSet",
        "apps",
        "statefulsets",
        "statefulset",
        true,
        &["sts"],
        ALL,
        true
    ),
    kind!(
        "CronJob",
        "batch",
        "cronjobs",
        "cronjob",
        true,
        &["cj"],
        ALL,
        true
    ),
    kind!("Job", "batch", "jobs", "job", true, &["job"], ALL, true),
    kind!(
        "EndpointSlice",
        "discovery.k8s.io",
        "endpointslices",
        "endpointslice",
        true,
        NONE,
        NONE,
        false
    ),
];

/// Resolve what a user typed: kind (`Pod`), plural (`pods`), singular, short name (`po`),
/// any of them case-insensitively and optionally qualified by group (`deployments.apps`,
/// `deploy.apps`).
pub fn lookup(name: &str) -> Option<&'static KindInfo> {
    let lower = name.to_ascii_lowercase();
    let (base, group) = match lower.split_once('.') {
        Some((b, g)) => (b.to_string(), Some(g.to_string())),
        None => (lower.clone(), None),
    };
    KINDS.iter().find(|k| {
        let group_ok = match &group {
            Some(g) => {
                // `v1.apps`-style qualifiers are accepted too: `deployments.v1.apps`.
                k.group == g || format!("{}.{}", k.version, k.group) == *g
            }
            None => true,
        };
        group_ok
            && (k.kind.eq_ignore_ascii_case(&base)
                || k.plural == base
                || k.singular == base
                || k.short_names.contains(&base.as_str()))
    })
}

/// Find a kind by `apiVersion` and `kind` as written in a manifest.
pub fn by_api_version(api_version: &str, kind: &str) -> Option<&'static KindInfo> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    KINDS
        .iter()
        .find(|k| k.kind == kind && k.group == group && k.version == version)
}

/// Find a kind by group and plural (how URLs name it).
pub fn by_resource(group: &str, plural: &str) -> Option<&'static KindInfo> {
    KINDS
        .iter()
        .find(|k| k.group == group && k.plural == plural)
}

/// Kinds in a category (`all`).
pub fn category(name: &str) -> Vec<&'static KindInfo> {
    KINDS.iter().filter(|k| k.in_category(name)).collect()
}

/// A did-you-mean for an unknown resource name: the closest known name, if close enough.
pub fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for k in KINDS {
        for cand in [k.plural, k.singular].iter().chain(k.short_names.iter()) {
            let d = crate::api::text::edit_distance(&lower, cand);
            if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, k.plural));
            }
        }
    }
    best.map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_spelling() {
        for n in ["po", "pod", "pods", "Pod", "PODS"] {
            assert_eq!(lookup(n).map(|k| k.kind), Some("Pod"), "{n}");
        }
        assert_eq!(lookup("deploy").map(|k| k.kind), Some("Deployment"));
        assert_eq!(
            lookup("deployments.apps").map(|k| k.kind),
            Some("Deployment")
        );
        assert_eq!(
            lookup("deployments.v1.apps").map(|k| k.kind),
            Some("Deployment")
        );
        assert!(lookup("deployments.batch").is_none());
        assert_eq!(
            lookup("cj").map(|k| k.resource()),
            Some("cronjobs.batch".into())
        );
        assert_eq!(lookup("ep").map(|k| k.kind), Some("Endpoints"));
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn every_short_name_of_the_issue_resolves() {
        for s in [
            "po", "deploy", "rs", "rc", "ds", "sts", "svc", "ep", "ns", "no", "cm", "secret", "sa",
            "pvc", "pv", "ev", "job", "cj",
        ] {
            assert!(lookup(s).is_some(), "{s}");
        }
    }

    #[test]
    fn paths_and_versions() {
        let d = lookup("deploy").unwrap();
        assert_eq!(d.api_version(), "apps/v1");
        assert_eq!(
            d.object_path(Some("x"), "web"),
            "/apis/apps/v1/namespaces/x/deployments/web"
        );
        let n = lookup("ns").unwrap();
        assert_eq!(n.object_path(Some("ignored"), "x"), "/api/v1/namespaces/x");
        assert_eq!(
            by_api_version("batch/v1", "Job").map(|k| k.plural),
            Some("jobs")
        );
        assert_eq!(category("all").len(), 9);
        assert_eq!(suggest("pdos"), Some("pods"));
    }
}
