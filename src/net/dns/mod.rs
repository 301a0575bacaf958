//! The cluster DNS server: the names of the Kubernetes DNS specification for Services and
//! their pods under `cluster.local`, other names forwarded to the host's resolvers.
//!
//! - `wire`: the message format (parse a query, build a response, truncation);
//! - `zone`: the records of every name, and the lookup;
//! - `objects`: Services/Endpoints/Pods JSON into zone entries;
//! - `server`: UDP + TCP serving and upstream forwarding.
//!
//! The zone is fed by a watch through the `Cluster` trait in `node::dns`, which lives above
//! this layer.

pub mod objects;
pub mod server;
pub mod wire;
pub mod zone;

pub use server::{DnsServer, Resolver, SharedZone, Transport, Upstream, serve};
pub use zone::Zone;

/// The cluster domain (kubelet's `--cluster-domain`).
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// The port pods query.
pub const DNS_PORT: u16 = 53;

#[cfg(test)]
mod tests;
