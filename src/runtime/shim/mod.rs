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
//! `Response` line; `Watch` instead keeps the connection and sends one `ContainerRecord`
//! line per container exit until the shim exits. No async runtime runs inside the shim.

mod client;
mod os;
mod protocol;
mod runs;
mod serve;
mod server;

pub use client::{ShimClient, ShimError, connect, launch};
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
