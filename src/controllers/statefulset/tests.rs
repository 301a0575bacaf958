//! The StatefulSet controller against a real store, one reconcile at a time (no node agent:
//! the tests write pod status themselves).
