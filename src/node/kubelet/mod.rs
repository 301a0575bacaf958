//! The kubelet's pure rules for turning a pod's container spec plus its image into what the
//! runtime runs: command and arguments, environment, user and security settings. No I/O
//! except reading the image's /etc/passwd and /etc/group for user names.

pub mod command;
pub mod dns;
pub mod downward;
pub mod env;
pub mod security;
