//! The kubelet's /etc/resolv.conf for a pod (pkg/kubelet/network/dns): dnsPolicy picks the
//! base (the cluster DNS, the host's resolver, or nothing) and dnsConfig is merged on top.
//!
//! - `ClusterFirst` (the default): `nameserver <cluster DNS>`, `search <ns>.svc.<domain>
//!   svc.<domain> <domain> <host searches>`, `options ndots:5`; a hostNetwork pod gets the
//!   host's resolver instead, unless the policy is `ClusterFirstWithHostNet`.
//! - `Default`: the host's resolver (nameservers, search, options).
//! - `None`: only what dnsConfig gives.
//! - No cluster DNS configured: ClusterFirst falls back to the host's resolver, as the
//!   kubelet does without `--cluster-dns`.
//!
//! dnsConfig nameservers and searches are appended without duplicates, options override by
//! name; at most 3 nameservers and 32 search domains are kept (the resolver's limits).

use serde_json::Value;
use std::net::IpAddr;

const MAX_NAMESERVERS: usize = 3;
const MAX_SEARCHES: usize = 32;

/// What a resolv.conf says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

impl ResolvConf {
    /// Parses a resolv.conf as the kubelet does: the last `search` line wins, trailing dots
    /// are dropped, comments (`#`, `;`) ignored.
    pub fn parse(text: &str) -> ResolvConf {
        let mut r = ResolvConf::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => r.nameservers.extend(words.next().map(str::to_string)),
                Some("search") => {
                    r.searches = words
                        .map(|w| w.trim_end_matches('.').to_string())
                        .filter(|w| !w.is_empty())
                        .collect();
                }
                Some("options") => r.options.extend(words.map(str::to_string)),
                _ => {}
            }
        }
        r
    }

    /// The file text: search, nameserver and options lines.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.searches.is_empty() {
            out.push_str(&format!("search {}\n", self.searches.join(" ")));
        }
        for ns in &self.nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.options.is_empty() {
            out.push_str(&format!("options {}\n", self.options.join(" ")));
        }
        out
    }
}

fn push_unique(list: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for i in items {
        if !list.contains(&i) {
            list.push(i);
        }
    }
}

/// Options by name, later ones replacing earlier ones in place (`ndots:5` then `ndots:2`).
fn merge_options(base: &[String], extra: &[(String, Option<String>)]) -> Vec<String> {
    let mut merged: Vec<(String, Option<String>)> = Vec::new();
    let mut set =
        |name: String, value: Option<String>| match merged.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => merged.push((name, value)),
        };
    for o in base {
        match o.split_once(':') {
            Some((n, v)) => set(n.to_string(), Some(v.to_string())),
            None => set(o.clone(), None),
        }
    }
    for (n, v) in extra {
        set(n.clone(), v.clone());
    }
    merged
        .into_iter()
        .map(|(n, v)| match v {
            Some(v) if !v.is_empty() => format!("{n}:{v}"),
            _ => n,
        })
        .collect()
}

/// The resolv.conf of `pod`, given the host's and the cluster DNS address (if any).
pub fn pod_resolv_conf(
    pod: &Value,
    host: &ResolvConf,
    cluster_dns: Option<IpAddr>,
    cluster_domain: &str,
) -> ResolvConf {
    let spec = &pod["spec"];
    let host_network = spec["hostNetwork"].as_bool() == Some(true);
    let policy = spec["dnsPolicy"].as_str().unwrap_or("ClusterFirst");
    let cluster = match policy {
        "None" => None,
        "Default" => Some(false),
        "ClusterFirstWithHostNet" => Some(true),
        // ClusterFirst and anything unknown (validation refuses those).
        _ => Some(!host_network),
    };
    let mut conf = match (cluster, cluster_dns) {
        (None, _) => ResolvConf::default(),
        (Some(true), Some(dns)) => {
            let ns = pod["metadata"]["namespace"].as_str().unwrap_or("default");
            let mut searches = vec![
                format!("{ns}.svc.{cluster_domain}"),
                format!("svc.{cluster_domain}"),
                cluster_domain.to_string(),
            ];
            push_unique(&mut searches, host.searches.iter().cloned());
            ResolvConf {
                nameservers: vec![dns.to_string()],
                searches,
                options: vec!["ndots:5".to_string()],
            }
        }
        (Some(_), _) => host.clone(),
    };
    let cfg = &spec["dnsConfig"];
    let strings = |key: &str| -> Vec<String> {
        cfg[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    push_unique(&mut conf.nameservers, strings("nameservers"));
    push_unique(&mut conf.searches, strings("searches"));
    let extra: Vec<(String, Option<String>)> = cfg["options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let name = o["name"].as_str()?.to_string();
            Some((name, o["value"].as_str().map(str::to_string)))
        })
        .collect();
    conf.options = merge_options(&conf.options, &extra);
    conf.nameservers.truncate(MAX_NAMESERVERS);
    conf.searches.truncate(MAX_SEARCHES);
    conf
}

#[cfg(test)]
mod tests;
