//! Networking that peapod runs on the host: the service proxy, port-forward into pod network
//! namespaces and the cluster DNS server. Knows `api` and `runtime` only.

pub mod dns;
pub mod portforward;
pub mod proxy;
