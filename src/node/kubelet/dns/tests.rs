use super::*;
use serde_json::json;

fn host() -> ResolvConf {
    ResolvConf::parse(
        "# host\nnameserver 192.168.1.1\nnameserver 192.168.1.2 ; second\nsearch corp.example. lab\noptions edns0 ndots:1\n",
    )
}

fn dns() -> Option<IpAddr> {
    Some("10.88.0.1".parse().unwrap())
}

fn pod(spec: serde_json::Value) -> serde_json::Value {
    json!({"metadata": {"name": "p", "namespace": "shop"}, "spec": spec})
}

#[test]
fn host_resolv_conf_parses_like_the_kubelet() {
    let h = host();
    assert_eq!(h.nameservers, ["192.168.1.1", "192.168.1.2"]);
    assert_eq!(h.searches, ["corp.example", "lab"]);
    assert_eq!(h.options, ["edns0", "ndots:1"]);
}

#[test]
fn cluster_first_uses_the_cluster_dns_and_search_path() {
    let conf = pod_resolv_conf(&pod(json!({})), &host(), dns(), "cluster.local");
    assert_eq!(
        conf.render(),
        "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab\n\
         nameserver 10.88.0.1\noptions ndots:5\n"
    );
    let explicit = pod(json!({"dnsPolicy": "ClusterFirst"}));
    assert_eq!(
        pod_resolv_conf(&explicit, &host(), dns(), "cluster.local"),
        conf
    );
}

#[test]
fn host_network_pods_use_the_host_unless_cluster_first_with_host_net() {
    let hn = pod(json!({"hostNetwork": true}));
    assert_eq!(
        pod_resolv_conf(&hn, &host(), dns(), "cluster.local"),
        host()
    );
    let chn = pod(json!({"hostNetwork": true, "dnsPolicy": "ClusterFirstWithHostNet"}));
    let conf = pod_resolv_conf(&chn, &host(), dns(), "cluster.local");
    assert_eq!(conf.nameservers, ["10.88.0.1"]);
    // Without host network, ClusterFirstWithHostNet is ClusterFirst.
    let plain = pod(json!({"dnsPolicy": "ClusterFirstWithHostNet"}));
    assert_eq!(
        pod_resolv_conf(&plain, &host(), dns(), "cluster.local"),
        conf
    );
}

#[test]
fn default_policy_and_no_cluster_dns_give_the_hosts_resolver() {
    let d = pod(json!({"dnsPolicy": "Default"}));
    assert_eq!(pod_resolv_conf(&d, &host(), dns(), "cluster.local"), host());
    let cf = pod(json!({}));
    assert_eq!(pod_resolv_conf(&cf, &host(), None, "cluster.local"), host());
}

#[test]
fn none_policy_takes_only_dns_config() {
    let p = pod(json!({"dnsPolicy": "None", "dnsConfig": {
        "nameservers": ["1.2.3.4"], "searches": ["ns1.svc.cluster-domain.example"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}}));
    assert_eq!(
        pod_resolv_conf(&p, &host(), dns(), "cluster.local").render(),
        "search ns1.svc.cluster-domain.example\nnameserver 1.2.3.4\noptions ndots:2 edns0\n"
    );
    let empty = pod(json!({"dnsPolicy": "None"}));
    assert_eq!(
        pod_resolv_conf(&empty, &host(), dns(), "cluster.local").render(),
        ""
    );
}

#[test]
fn dns_config_merges_onto_cluster_first() {
    let p = pod(json!({"dnsConfig": {
        "nameservers": ["10.88.0.1", "8.8.8.8", "8.8.4.4", "1.1.1.1"],
        "searches": ["lab", "extra.example"],
        "options": [{"name": "ndots", "value": "1"}, {"name": "single-request-reopen"}]}}));
    let conf = pod_resolv_conf(&p, &host(), dns(), "cluster.local");
    // Duplicates dropped, three nameservers at most.
    assert_eq!(conf.nameservers, ["10.88.0.1", "8.8.8.8", "8.8.4.4"]);
    assert_eq!(
        conf.searches,
        [
            "shop.svc.cluster.local",
            "svc.cluster.local",
            "cluster.local",
            "corp.example",
            "lab",
            "extra.example"
        ]
    );
    // ndots overridden in place.
    assert_eq!(conf.options, ["ndots:1", "single-request-reopen"]);
}

#[test]
fn default_policy_options_override_the_hosts() {
    let p = pod(json!({"dnsPolicy": "Default", "dnsConfig": {
        "options": [{"name": "ndots", "value": "3"}]}}));
    let conf = pod_resolv_conf(&p, &host(), dns(), "cluster.local");
    assert_eq!(conf.options, ["edns0", "ndots:3"]);
}
