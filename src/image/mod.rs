//! peapod's content-addressed image store. It knows nothing above it (no store, no cluster).
//!
//! Layout under `<state>/images/` (mode 0700: unpacked layers hold setuid files):
//! ```text
//! blobs/sha256/<hex>     manifests, configs, image indexes and layer blobs, named by digest
//! index.json             refs (name:tag) → manifest digest, and the images kept
//! layers/<diffid-hex>/   unpacked layers (overlay whiteouts), shared by every image using them
//! tmp/                   half-written blobs and layers; anything here is garbage
//! lock, gc.lock          flock(2) files: index updates, and imports vs garbage collection
//! ```
//! Every blob is checked against its digest when it enters the store and whenever it is
//! read (manifests and configs on every `resolve`, layer blobs whenever they are unpacked);
//! every layer's uncompressed content is checked against the config's diffID.
//!
//! For the runtime: [`ImageStore::open`], [`ImageStore::resolve`] (an [`Image`] with its run
//! configuration and its unpacked layer directories, ready as overlay lowerdirs), `list`,
//! `remove`, `inspect`, `verify`. Imports: [`ImageStore::import`] (OCI layouts, docker-save
//! archives, rootfs tars). A registry pull fetches blobs with [`ImageStore::put_blob`] and
//! registers the image with [`ImageStore::add_image`], as the importers do.

mod blobs;
pub mod busybox;
pub mod digest;
mod import;
mod index;
pub mod pull;
pub mod reference;
pub mod spec;
mod store;
pub mod unpack;

pub use digest::Digest;
pub use import::changes::apply_changes;
pub use reference::Reference;
pub use store::ImageStore;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why an image operation failed; the message is one line for users.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image reference {reference:?}: {reason}")]
    Reference { reference: String, reason: String },
    #[error("image {0:?} not found in the local image store")]
    NotFound(String),
    #[error(
        "blob {digest} is corrupted (its content hashes to {actual}): remove the image and import it again"
    )]
    Corrupt { digest: Digest, actual: Digest },
    /// `layer` names the layer (`layer sha256:…`).
    #[error("{layer}: entry {path:?} {reason}")]
    Unsafe {
        layer: String,
        path: String,
        reason: String,
    },
    /// A malformed or unsupported input, or a conflict; the text says which and why.
    #[error("{0}")]
    Invalid(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl ImageError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ImageError {
        let what = what.into();
        move |source| ImageError::Io { what, source }
    }
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;

/// An image ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The reference it was resolved from, normalized (`docker.io/library/busybox:latest`),
    /// or the id / digest that named it.
    pub reference: String,
    /// The image id: the digest of its config blob, as podman and docker show it.
    pub id: Digest,
    pub manifest_digest: Digest,
    pub config: ImageConfig,
    /// Unpacked layer directories, lowest first (overlay's `lowerdir=` lists them in
    /// reverse: topmost first). Whiteouts are overlay whiteouts (char 0/0) and opaque
    /// directories carry `trusted.overlay.opaque=y`.
    pub layers: Vec<PathBuf>,
}

/// How containers of an image run by default (the image config's `config` object).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `KEY=value` strings. Empty when the image sets none: the runtime should then give
    /// the default PATH as containerd does.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    /// As written in the image (`SIGTERM`, `TERM`, `15`); `None` means SIGTERM.
    pub stop_signal: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl ImageConfig {
    pub(crate) fn from_run_config(c: &spec::RunConfig) -> ImageConfig {
        let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        ImageConfig {
            entrypoint: c.entrypoint.clone().unwrap_or_default(),
            cmd: c.cmd.clone().unwrap_or_default(),
            env: c.env.clone().unwrap_or_default(),
            working_dir: non_empty(&c.working_dir),
            user: non_empty(&c.user),
            stop_signal: non_empty(&c.stop_signal),
            labels: c.labels.clone().unwrap_or_default(),
        }
    }
}

/// One row of `image ls`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSummary {
    pub id: Digest,
    pub manifest_digest: Digest,
    /// The references that name it (`docker.io/library/busybox:latest`); empty for an
    /// untagged image (`<none>`).
    pub names: Vec<Reference>,
    /// The config's `created` time.
    pub created: Option<jiff::Timestamp>,
    /// Uncompressed size of its layers in bytes.
    pub size: u64,
}

/// An image that an import added (or found already there).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedImage {
    pub id: Digest,
    pub manifest_digest: Digest,
    pub names: Vec<Reference>,
}

/// What `remove` did, for printing like `podman rmi`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Removed {
    /// References taken off the image.
    pub untagged: Vec<String>,
    /// The image id when the image itself went away (no name left).
    pub deleted: Option<Digest>,
}
