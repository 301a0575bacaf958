//! URL → route: which endpoint a request is about. Paths follow the Kubernetes API layout
//! (`/api/v1/namespaces/{ns}/pods/{name}/status`, `/apis/apps/v1/deployments`, ...).

use crate::api::kinds::{self, KINDS, KindInfo};

/// The peapod extension group (atomic batch apply); not listed in discovery so kubectl never
/// mistakes `batch` for a resource.
pub const PEAPOD_GROUP: &str = "peapod.dev";

#[derive(Debug, PartialEq)]
pub enum Route {
    Version,
    Healthz,
    /// `/api`
    ApiVersions,
    /// `/apis`
    ApiGroupList,
    /// `/apis/{group}`
    ApiGroup(&'static str),
    /// `/api/v1` (group "") or `/apis/{group}/v1`
    ResourceList(&'static str),
    Resource(ResourcePath),
    /// `/apis/peapod.dev/v1/namespaces/{ns}/batch`
    Batch {
        namespace: String,
    },
    /// `/apis/metrics.k8s.io/v1beta1/pods`, `.../namespaces/{ns}/pods[/{name}]` (read only).
    PodMetrics {
        namespace: Option<String>,
        name: Option<String>,
    },
}

/// The metrics-server API group, served for pods only.
pub const METRICS_GROUP: &str = "metrics.k8s.io";

/// A resource URL: collection (no name) or object, optionally a subresource.
#[derive(Debug, PartialEq)]
pub struct ResourcePath {
    pub kind: &'static KindInfo,
    /// The namespace named in the URL; `None` for cluster-scoped kinds and all-namespace lists.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<Subresource>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    Status,
    Log,
    Binding,
}

/// Parse a request path; `None` means nothing is served there (404).
pub fn parse(path: &str) -> Option<Route> {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["version"] => Some(Route::Version),
        ["healthz"] | ["livez"] | ["readyz"] => Some(Route::Healthz),
        ["api"] => Some(Route::ApiVersions),
        ["apis"] => Some(Route::ApiGroupList),
        ["api", "v1"] => Some(Route::ResourceList("")),
        ["api", "v1", rest @ ..] => resource("", rest).map(Route::Resource),
        ["apis", g, "v1", "namespaces", ns, "batch"] if *g == PEAPOD_GROUP => Some(Route::Batch {
            namespace: ns.to_string(),
        }),
        ["apis", g, "v1beta1", rest @ ..] if *g == METRICS_GROUP => pod_metrics(rest),
        ["apis", g] => known_group(g).map(Route::ApiGroup),
        ["apis", g, "v1"] => known_group(g).map(Route::ResourceList),
        ["apis", g, "v1", rest @ ..] => resource(known_group(g)?, rest).map(Route::Resource),
        _ => None,
    }
}

/// The served API groups besides core, in registry order.
pub fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in KINDS {
        if !k.group.is_empty() && !out.contains(&k.group) {
            out.push(k.group);
        }
    }
    out
}

fn known_group(g: &str) -> Option<&'static str> {
    groups().into_iter().find(|k| *k == g)
}

fn pod_metrics(rest: &[&str]) -> Option<Route> {
    let (namespace, name) = match rest {
        ["pods"] => (None, None),
        ["namespaces", ns, "pods"] => (Some(ns.to_string()), None),
        ["namespaces", ns, "pods", name] => (Some(ns.to_string()), Some(name.to_string())),
        _ => return None,
    };
    Some(Route::PodMetrics { namespace, name })
}

fn resource(group: &str, rest: &[&str]) -> Option<ResourcePath> {
    // `namespaces/{ns}/{plural}...` is a namespaced resource only when {plural} is a namespaced
    // kind of this group; otherwise it is the Namespace object itself (`namespaces/x/status`).
    if let ["namespaces", ns, plural, tail @ ..] = rest
        && let Some(kind) = kinds::by_resource(group, plural).filter(|k| k.namespaced)
    {
        return object(kind, Some(ns.to_string()), tail);
    }
    let (plural, tail) = rest.split_first()?;
    let kind = kinds::by_resource(group, plural)?;
    // A namespaced kind addressed without a namespace (`/api/v1/pods/x`) is passed on with no
    // namespace so the remote client behaves exactly like the cluster it fronts.
    object(kind, None, tail)
}

fn object(
    kind: &'static KindInfo,
    namespace: Option<String>,
    tail: &[&str],
) -> Option<ResourcePath> {
    let (name, subresource) = match tail {
        [] => (None, None),
        [name] => (Some(name.to_string()), None),
        [name, "status"] if kind.has_status => (Some(name.to_string()), Some(Subresource::Status)),
        [name, "log"] if kind.kind == "Pod" => (Some(name.to_string()), Some(Subresource::Log)),
        [name, "binding"] if kind.kind == "Pod" => {
            (Some(name.to_string()), Some(Subresource::Binding))
        }
        _ => return None,
    };
    Some(ResourcePath {
        kind,
        namespace,
        name,
        subresource,
    })
}

/// Query parameters in order, percent-decoded (`+` is a space, as in forms).
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(q: &str) -> Query {
        Query(
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k, true), decode(v, true))
                })
                .collect(),
        )
    }

    /// The first value of a parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that is present and not empty.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }
}

fn decode_segment(s: &str) -> String {
    decode(s, false)
}

/// Percent-decode; malformed escapes are kept literally rather than rejected.
fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Some(Route::Resource(r)) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_and_cluster_scoped_paths() {
        let r = res("/api/v1/namespaces/team/pods/web/log");
        assert_eq!(
            (r.kind.kind, r.namespace.as_deref(), r.name.as_deref()),
            ("Pod", Some("team"), Some("web"))
        );
        assert_eq!(r.subresource, Some(Subresource::Log));

        let r = res("/api/v1/namespaces/team");
        assert_eq!(
            (r.kind.kind, r.namespace, r.name.as_deref()),
            ("Namespace", None, Some("team"))
        );
        let r = res("/api/v1/namespaces/team/status");
        assert_eq!(
            (r.kind.kind, r.name.as_deref(), r.subresource),
            ("Namespace", Some("team"), Some(Subresource::Status))
        );
        let r = res("/api/v1/namespaces");
        assert_eq!((r.kind.kind, r.name), ("Namespace", None));

        let r = res("/apis/apps/v1/namespaces/a/deployments/");
        assert_eq!(
            (r.kind.kind, r.namespace.as_deref(), r.name),
            ("Deployment", Some("a"), None)
        );
        let r = res("/apis/batch/v1/jobs");
        assert_eq!((r.kind.kind, r.namespace), ("Job", None));
        let r = res("/api/v1/nodes/n1/status");
        assert_eq!((r.kind.kind, r.name.as_deref()), ("Node", Some("n1")));
    }

    #[test]
    fn unknown_paths_are_none() {
        for p in [
            "/",
            "/api/v2/pods",
            "/api/v1/widgets",
            "/apis/apps/v1/pods",
            "/apis/extensions/v1",
            "/api/v1/namespaces/a/pods/x/exec",
            "/api/v1/namespaces/a/configmaps/x/status",
            "/api/v1/namespaces/a/deployments/x/log",
            "/api/v1/namespaces/a/nodes/n1",
            "/api/v1/namespaces/a/pods/x/status/extra",
        ] {
            assert_eq!(parse(p), None, "{p}");
        }
    }

    #[test]
    fn discovery_and_batch_routes() {
        assert_eq!(parse("/api"), Some(Route::ApiVersions));
        assert_eq!(parse("/apis"), Some(Route::ApiGroupList));
        assert_eq!(parse("/apis/apps"), Some(Route::ApiGroup("apps")));
        assert_eq!(parse("/apis/batch/v1"), Some(Route::ResourceList("batch")));
        assert_eq!(parse("/api/v1"), Some(Route::ResourceList("")));
        assert_eq!(parse("/apis/peapod.dev/v1"), None);
        assert_eq!(
            parse("/apis/peapod.dev/v1/namespaces/x/batch"),
            Some(Route::Batch {
                namespace: "x".into()
            })
        );
        assert_eq!(groups(), vec!["apps", "batch", "discovery.k8s.io"]);
    }

    #[test]
    fn pod_metrics_routes() {
        let m = |ns: Option<&str>, name: Option<&str>| {
            Some(Route::PodMetrics {
                namespace: ns.map(String::from),
                name: name.map(String::from),
            })
        };
        assert_eq!(parse("/apis/metrics.k8s.io/v1beta1/pods"), m(None, None));
        assert_eq!(
            parse("/apis/metrics.k8s.io/v1beta1/namespaces/dev/pods"),
            m(Some("dev"), None)
        );
        assert_eq!(
            parse("/apis/metrics.k8s.io/v1beta1/namespaces/dev/pods/web"),
            m(Some("dev"), Some("web"))
        );
        for p in [
            "/apis/metrics.k8s.io/v1beta1/nodes",
            "/apis/metrics.k8s.io/v1beta1/pods/web",
            "/apis/metrics.k8s.io/v1/pods",
            "/apis/metrics.k8s.io/v1beta1/namespaces/dev/pods/web/log",
        ] {
            assert_eq!(parse(p), None, "{p}");
        }
    }

    #[test]
    fn query_decoding() {
        let q =
            Query::parse("labelSelector=app+in+%28web%2C%20db%29%2Ctier%21%3Dx&watch=1&bad=%zz&e=");
        assert_eq!(q.get("labelSelector"), Some("app in (web, db),tier!=x"));
        assert_eq!(q.get("watch"), Some("1"));
        assert_eq!(q.get("bad"), Some("%zz"));
        assert_eq!(q.get("e"), Some(""));
        assert_eq!(q.non_empty("e"), None);
        assert_eq!(q.get("missing"), None);
        // A path segment keeps `+` and decodes escapes.
        let r = res("/api/v1/namespaces/a%2Db/configmaps/x+y");
        assert_eq!(
            (r.namespace.as_deref(), r.name.as_deref()),
            (Some("a-b"), Some("x+y"))
        );
        // A truncated escape at the end must not panic.
        assert_eq!(decode("abc%4", false), "abc%4");
        assert_eq!(decode("%", true), "%");
    }
}
