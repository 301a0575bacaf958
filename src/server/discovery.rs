//! `/version` and legacy discovery (`/api`, `/apis`, `/api/v1`, `/apis/{group}/v1`), built from
//! the kinds registry so kubectl learns resources, short names and categories from us.

use crate::api::kinds::{KINDS, KindInfo};
use crate::server::routes;
use serde_json::{Value, json};

/// Verbs of every served resource (no deletecollection yet).
const VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": crate::api::server_version(),
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("linux/{}", go_arch()),
    })
}

/// Go's spelling of the architecture, as `kubectl version` shows it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

pub fn api_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
}

fn group(name: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
    json!({"name": name, "versions": [gv.clone()], "preferredVersion": gv})
}

pub fn api_group(name: &str) -> Value {
    let mut g = group(name);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    g
}

pub fn api_group_list() -> Value {
    let groups: Vec<Value> = routes::groups().into_iter().map(group).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// APIResourceList of one group version: every kind plus its `status` and `log` subresources.
pub fn resource_list(group: &str) -> Value {
    let mut resources = Vec::new();
    for k in KINDS.iter().filter(|k| k.group == group) {
        resources.push(resource(k));
        if k.has_status {
            resources.push(subresource(k, "status", &["get", "update"]));
        }
        if k.kind == "Pod" {
            resources.push(subresource(k, "log", &["get"]));
        }
    }
    let group_version = if group.is_empty() {
        "v1".to_string()
    } else {
        format!("{group}/v1")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

fn resource(k: &KindInfo) -> Value {
    let mut r = json!({
        "name": k.plural,
        "singularName": k.singular,
        "namespaced": k.namespaced,
        "kind": k.kind,
        "verbs": VERBS,
    });
    // The API server omits empty lists; kubectl reads their absence as "none".
    if !k.short_names.is_empty() {
        r["shortNames"] = json!(k.short_names);
    }
    if !k.categories.is_empty() {
        r["categories"] = json!(k.categories);
    }
    r
}

fn subresource(k: &KindInfo, sub: &str, verbs: &[&str]) -> Value {
    json!({
        "name": format!("{}/{sub}", k.plural),
        "singularName": "",
        "namespaced": k.namespaced,
        "kind": if sub == "log" { "Pod" } else { k.kind },
        "verbs": verbs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
        list["resources"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["name"] == name))
            .unwrap_or_else(|| panic!("{name} missing from {list}"))
    }

    #[test]
    fn core_resource_list_describes_pods() {
        let l = resource_list("");
        assert_eq!(l["groupVersion"], "v1");
        let pods = find(&l, "pods");
        assert_eq!(pods["singularName"], "pod");
        assert_eq!(pods["namespaced"], true);
        assert_eq!(pods["kind"], "Pod");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        assert_eq!(pods["verbs"], json!(VERBS));
        assert_eq!(find(&l, "pods/status")["verbs"], json!(["get", "update"]));
        assert_eq!(find(&l, "pods/log")["verbs"], json!(["get"]));
        let ns = find(&l, "namespaces");
        assert_eq!(ns["namespaced"], false);
        assert!(ns.get("categories").is_none());
        // Kinds without a status subresource do not advertise one.
        assert!(
            l["resources"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["name"] != "configmaps/status")
        );
        // Apps kinds are not in the core list.
        assert!(
            l["resources"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["name"] != "deployments")
        );
    }

    #[test]
    fn groups_and_versions() {
        let apps = resource_list("apps");
        assert_eq!(apps["groupVersion"], "apps/v1");
        assert_eq!(find(&apps, "deployments")["shortNames"], json!(["deploy"]));
        assert_eq!(
            find(&resource_list("batch"), "cronjobs")["shortNames"],
            json!(["cj"])
        );
        let list = api_group_list();
        let names: Vec<&str> = list["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| g["name"].as_str())
            .collect();
        assert_eq!(names, ["apps", "batch", "discovery.k8s.io"]);
        assert_eq!(
            api_group("batch")["preferredVersion"]["groupVersion"],
            "batch/v1"
        );
        let v = version();
        assert_eq!(
            (v["major"].as_str(), v["minor"].as_str()),
            (Some("1"), Some("33"))
        );
        assert_eq!(
            v["gitVersion"],
            format!("v1.33.0-peapod.{}", env!("CARGO_PKG_VERSION"))
        );
        assert!(v["platform"].as_str().unwrap().starts_with("linux/"));
    }
}
