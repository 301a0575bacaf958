//! peapod: a terminal console that is itself a one-machine Kubernetes.
//! Layers (lower never imports higher): api → store → cluster → controllers/server → cli/tui.

pub mod api;
pub mod bench;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod controllers;
pub mod daemon;
pub mod image;
pub mod net;
pub mod node;
pub mod runtime;
pub mod server;
pub mod store;
pub mod tui;
