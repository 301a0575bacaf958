//! Pulling images from OCI registries (distribution API v2): bearer-token and basic auth,
//! image indexes resolved to linux/amd64, every blob verified against its digest. Plain
//! HTTP is used for registries on loopback (as docker treats localhost as insecure).
//!
//! The steps: fetch the manifest (by tag or digest; a digest is checked against the bytes),
//! through an image index to this machine's platform; fetch the layers and the config that
//! are not in the store yet, each streamed into `ImageStore::put_blob`, which refuses
//! content with another digest; store the manifest (a docker schema-2 one as OCI, as
//! imports do) and register it with `ImageStore::add_image`, which unpacks and checks the
//! layers. A pulled image is then found exactly like an imported one: by its tag, and by
//! `name@sha256:…` with the manifest's or the index's digest.

mod auth;
mod blob;
mod http;
mod manifest;
mod registry;

pub use auth::{Challenge, Credentials, parse_challenge};

use super::spec::{Descriptor, MAX_JSON};
use super::{Digest, Image, ImageStore, Reference};
use manifest::Kind;
use registry::Registry;

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Registries reached over plain HTTP besides loopback ones (`host:port`).
    pub insecure_registries: Vec<String>,
    /// Sent when the registry asks (a Basic challenge, or to the Bearer token server);
    /// without them, tokens are fetched anonymously.
    pub credentials: Option<Credentials>,
    /// PEM files of CA certificates trusted besides the Mozilla roots (a registry with its
    /// own CA, as podman's `certs.d/<host>/ca.crt`).
    pub ca_certificates: Vec<std::path::PathBuf>,
}

/// The `*.crt` files of a directory, for [`PullOptions::ca_certificates`] (podman's
/// `--cert-dir`).
pub fn certificates_in(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, String> {
    http::certs_in(dir)
}

/// What a pull is doing, for progress lines like podman's.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Fetching the manifest of this (normalized) reference.
    Resolving(String),
    /// Fetching a layer blob; `skipped` when the store has it already.
    Blob { digest: Digest, skipped: bool },
    /// Fetching the config blob; `skipped` as for layers.
    Config { digest: Digest, skipped: bool },
    /// All blobs are stored; the manifest is written and the layers unpacked.
    WritingManifest,
}

/// Pulls `reference` (tag or digest) into `store` and returns the resolved image. Errors
/// are one line with the registry's reason, e.g.
/// `pull 127.0.0.1:5000/nope:1: manifest unknown (404 from 127.0.0.1:5000)`.
pub async fn pull(
    store: &ImageStore,
    reference: &str,
    opts: &PullOptions,
) -> Result<Image, String> {
    pull_with_progress(store, reference, opts, &|_| {}).await
}

/// [`pull`], telling `progress` what it does.
pub async fn pull_with_progress(
    store: &ImageStore,
    reference: &str,
    opts: &PullOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Image, String> {
    let r = Reference::parse(reference).map_err(|e| format!("pull {reference}: {e}"))?;
    let shown = r.to_string();
    run(store, &r, opts, progress)
        .await
        .map_err(|e| format!("pull {shown}: {e}"))
}

async fn run(
    store: &ImageStore,
    r: &Reference,
    opts: &PullOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Image, String> {
    let mut registry = Registry::new(r, opts)?;
    progress(Progress::Resolving(r.to_string()));
    let top_ref = match (&r.digest, &r.tag) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.clone(),
        (None, None) => "latest".to_string(),
    };
    let (top_bytes, top_digest, top_kind) =
        fetch_manifest(&mut registry, &top_ref, r.digest.as_ref()).await?;
    // Digests that name the image besides the stored manifest's, with their documents.
    let mut also: Vec<(Digest, Vec<u8>)> = Vec::new();
    let (bytes, digest, m, docker) = match top_kind {
        Kind::Image(m, docker) => (top_bytes, top_digest, m, docker),
        Kind::Index(index) => {
            let what = format!("image index {top_digest}");
            let chosen = manifest::pick_platform(&index, &what)?.digest.clone();
            let (bytes, digest, kind) =
                fetch_manifest(&mut registry, &chosen.to_string(), Some(&chosen)).await?;
            also.push((top_digest.clone(), top_bytes));
            match kind {
                Kind::Image(m, docker) => (bytes, digest, m, docker),
                Kind::Index(_) => {
                    return Err(format!("{what}: entry {chosen} is another image index"));
                }
            }
        }
    };
    if m.schema_version != 2 {
        return Err(format!(
            "manifest {digest} has schemaVersion {}, expected 2",
            m.schema_version
        ));
    }

    // Blobs written before the image is registered must survive a concurrent `image rm`.
    let _guard = store.import_guard().map_err(|e| e.to_string())?;
    for layer in &m.layers {
        let skipped = has_blob(store, layer);
        progress(Progress::Blob {
            digest: layer.digest.clone(),
            skipped,
        });
        if !skipped {
            fetch_blob(&mut registry, store, layer, "layer").await?;
        }
    }
    let skipped = has_blob(store, &m.config);
    progress(Progress::Config {
        digest: m.config.digest.clone(),
        skipped,
    });
    if !skipped {
        if m.config.size > MAX_JSON {
            return Err(format!(
                "config {} is {} bytes, more than the {MAX_JSON} allowed",
                m.config.digest, m.config.size
            ));
        }
        fetch_blob(&mut registry, store, &m.config, "config").await?;
    }

    progress(Progress::WritingManifest);
    let put = |bytes: &[u8], d: &Digest, what: &str| {
        store
            .put_blob(bytes, d, what)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let stored = if docker {
        // Kept as OCI, as imports do; the docker manifest stays so its digest names it.
        let (oci, oci_digest) = manifest::docker_to_oci(m)?;
        put(&oci, &oci_digest, "manifest")?;
        also.insert(0, (digest, bytes));
        oci_digest
    } else {
        put(&bytes, &digest, "manifest")?;
        digest
    };
    for (d, b) in &also {
        put(b, d, "manifest")?;
    }
    let also: Vec<Digest> = also.into_iter().map(|(d, _)| d).collect();
    // Pulled by digest, an image gets no tag (as podman); `name@digest` finds it.
    let names: Vec<Reference> = match (&r.digest, &r.tag) {
        (None, Some(_)) => vec![r.clone()],
        _ => Vec::new(),
    };
    blocking(|| store.add_image(&stored, &names, &also)).map_err(|e| e.to_string())?;
    let lookup = match &r.digest {
        Some(d) => format!("{}@{d}", r.name()),
        None => r.to_string(),
    };
    blocking(|| store.resolve(&lookup))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the image was stored but {lookup} does not find it"))
}

/// GET a manifest; its digest is the sha256 of the bytes, which must match `expected`
/// (pulling by digest) and the registry's Docker-Content-Digest when it sends one.
async fn fetch_manifest(
    registry: &mut Registry,
    reference: &str,
    expected: Option<&Digest>,
) -> Result<(Vec<u8>, Digest, Kind), String> {
    let mut resp = registry
        .get(&format!("manifests/{reference}"), Some(&manifest::accept()))
        .await?;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let content_type = header("content-type");
    let claimed = header("docker-content-digest");
    let what = format!("manifest {reference}");
    let bytes = http::read_body(resp.body_mut(), MAX_JSON, &what).await?;
    let digest = Digest::of(&bytes);
    if let Some(e) = expected
        && *e != digest
    {
        return Err(format!(
            "manifest {e} from {}: its content has digest {digest} (corrupted or altered)",
            registry.authority
        ));
    }
    if !claimed.is_empty() && claimed.starts_with("sha256:") && claimed != digest.to_string() {
        return Err(format!(
            "{what} from {}: its content has digest {digest}, but the registry says {claimed}",
            registry.authority
        ));
    }
    let kind = manifest::classify(&bytes, &content_type, &format!("manifest {digest}"))?;
    Ok((bytes, digest, kind))
}

async fn fetch_blob(
    registry: &mut Registry,
    store: &ImageStore,
    desc: &Descriptor,
    kind: &str,
) -> Result<(), String> {
    let resp = registry
        .get(&format!("blobs/{}", desc.digest), None)
        .await?;
    let what = format!("{kind} {}", desc.digest);
    blob::store_blob(store, resp.into_body(), desc, &what).await
}

fn has_blob(store: &ImageStore, desc: &Descriptor) -> bool {
    store.blob_path(&desc.digest).is_file()
}

/// Run blocking store work (unpacking layers) without stalling the other tasks of a
/// multi-threaded runtime; on a current-thread runtime it simply runs.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests;
