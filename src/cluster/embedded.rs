//! `Cluster` on the in-process store. STUB.
