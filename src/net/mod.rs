//! Networking on the node: the service proxy (and, from other parts of issue 6, the pod
//! network, port-forward and DNS). May import only `api` and `runtime`.

pub mod proxy;
