//! The per-pod shim: the pod's infra ("pause") process.
//!
//! `peapod shim <pod-dir>` (a hidden subcommand, dispatched first thing in main so that no
//! async runtime or CLI parsing runs in it) double-forks, `setsid`s, becomes a child
//! subreaper, creates the pod's `Sandbox` and serves a control socket `<pod-dir>/shim.sock`.
//! It starts containers as its children, owns their stdout/stderr pipes and writes their CRI
//! log files, and records every container exit as `<pod-dir>/containers/<name>/<attempt>.json`
//! (so that a node agent that restarts, or finds the shim gone, still knows how each run
//! ended). It keeps running when peapod exits; `connect` re-adopts it.
//!
//! Protocol: one JSON `Request` per line on a fresh connection, answered by one JSON
//! `Response` line; `Watch` is answered with `Ok` once the watcher is registered, then keeps
//! the connection and sends one `ContainerRecord` line per container exit until the shim
//! exits. An exit record goes out only when the container's pipes reached EOF (or 2 s after
//! the exit, when a background process of a shared pid namespace still holds them), so its
//! log is complete by then. No async runtime runs inside the shim.
//!
//! Files in the pod directory: `shim.json` (the `ShimConfig`, written by `launch`),
//! `shim.sock` (0600) and `shim.pid` while the shim serves, and
//! `containers/<name>/<attempt>.json` (each run's `ContainerRecord`, written atomically at
//! start and again at exit). SIGKILL of the shim itself cannot be caught: its containers
//! and sandbox holder then keep running without anyone reading their output, `connect`
//! reports `Gone`, and the caller cleans up by the pids in the records.

mod client;
mod os;
mod protocol;
mod runs;
mod serve;
mod server;

pub use client::{ShimClient, ShimError, connect, launch, reap_if_child};
pub use protocol::{
    ContainerRecord, Request, Response, ShimConfig, ShimState, StartError, StartErrorKind,
    StartRequest,
};
pub use server::run;

/// The shim's control socket inside the pod directory.
pub const SOCKET: &str = "shim.sock";
/// The shim's configuration, written by `launch` before it starts.
pub const CONFIG: &str = "shim.json";
/// The shim's pid, written once it serves (for humans and cleanup tools; clients use the
/// socket's `State`).
pub const PID_FILE: &str = "shim.pid";
