//! `Cluster` over HTTP on the local socket of a running peapod. STUB.
