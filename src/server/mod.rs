//! Kubernetes-style REST API over the local unix socket. STUB.
