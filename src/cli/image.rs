//! `peapod image import|pull|ls|rm|inspect`: the local image store in `<state>/images`,
//! used directly (no cluster needed), printed like podman.

use super::output::{tabwrite, to_json, write_all};
use super::{CliError, Ctx, Io};
use crate::image::pull::{Credentials, Progress, PullOptions};
use crate::image::{ImageError, ImageStore, ImageSummary};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Import an OCI image layout (directory or tar), a docker-save tar, or a root
    /// filesystem tar (as `podman import`).
    Import(ImportArgs),
    /// Pull an image from a registry (distribution API v2); registries on loopback are
    /// reached over plain HTTP.
    Pull(PullArgs),
    /// List images.
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove images (by name, id or digest); unused layers are deleted.
    #[command(visible_alias = "remove", visible_alias = "rmi")]
    Rm(RmArgs),
    /// Show an image's manifest and configuration as JSON.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The archive, layout directory or rootfs tar (gzip allowed).
    #[arg(value_name = "FILE|DIR")]
    pub path: PathBuf,
    /// Name for the image (`busybox`, `localhost/app:1`); archives otherwise keep their own.
    #[arg(value_name = "REF")]
    pub reference: Option<String>,
    /// Dockerfile instruction applied to a rootfs import's config: CMD, ENTRYPOINT, ENV,
    /// EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR (repeatable).
    #[arg(short = 'c', long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// What to pull: `busybox:1.36`, `127.0.0.1:5000/app:1`, `name@sha256:...`.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Reach this registry over plain HTTP (repeatable).
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    pub insecure_registries: Vec<String>,
    /// Trust the CA certificates (`*.crt`, PEM) in this directory besides the Mozilla roots.
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Credentials for the registry, as podman's `--creds`.
    #[arg(long, value_name = "USER:PASSWORD", env = "PEAPOD_REGISTRY_CREDS")]
    pub creds: Option<String>,
    /// Print only the image id, no progress.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only image ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Full image ids.
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,
    /// Remove an image by id even when several names point at it.
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,
}

pub fn run(cmd: ImageCommand, ctx: &Ctx, io: &mut Io<'_>) -> Result<(), CliError> {
    let store = ImageStore::open(ctx.state.join("images")).map_err(err)?;
    match cmd {
        ImageCommand::Import(a) => {
            let images = store
                .import(&a.path, a.reference.as_deref(), &a.changes)
                .map_err(err)?;
            for img in images {
                if img.names.is_empty() {
                    io.outln(format!("Loaded image: {}", img.id));
                }
                for n in &img.names {
                    io.outln(format!("Loaded image: {n}"));
                }
            }
            Ok(())
        }
        ImageCommand::Pull(a) => pull(&store, a, io),
        ImageCommand::Ls(a) => {
            let images = store.list().map_err(err)?;
            let now = ctx.now();
            let text = if a.quiet {
                let mut seen = std::collections::BTreeSet::new();
                images
                    .iter()
                    .filter(|i| seen.insert(i.id.clone()))
                    .map(|i| format!("{}\n", id_text(i, a.no_trunc)))
                    .collect()
            } else {
                ls_table(&images, now, a.no_trunc, a.no_headers)
            };
            write_all(io.out, &text)
        }
        ImageCommand::Rm(a) => {
            let mut failed = false;
            for r in &a.references {
                match store.remove(r, a.force) {
                    Ok(removed) => {
                        for u in removed.untagged {
                            io.outln(format!("Untagged: {u}"));
                        }
                        if let Some(id) = removed.deleted {
                            io.outln(format!("Deleted: {}", id.hex()));
                        }
                    }
                    Err(e) => {
                        io.errln(format!("error: {e}"));
                        failed = true;
                    }
                }
            }
            if failed {
                Err(CliError::Reported)
            } else {
                Ok(())
            }
        }
        ImageCommand::Inspect(a) => {
            let mut docs = Vec::new();
            for r in &a.references {
                docs.push(store.inspect(r).map_err(err)?);
            }
            write_all(
                io.out,
                &format!("{}\n", to_json(&serde_json::Value::Array(docs))),
            )
        }
    }
}

/// Pull on a thread of its own with its own runtime (this verb is synchronous), printing
/// progress on stderr as it comes, as podman does, and the image id on stdout.
fn pull(store: &ImageStore, a: PullArgs, io: &mut Io<'_>) -> Result<(), CliError> {
    let credentials = a
        .creds
        .as_deref()
        .map(|c| match c.split_once(':') {
            Some((u, p)) if !u.is_empty() => Ok(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            }),
            _ => Err(CliError::msg(
                "--creds: expected USER:PASSWORD (the user name must not be empty)",
            )),
        })
        .transpose()?;
    let ca_certificates = match &a.cert_dir {
        Some(d) => crate::image::pull::certificates_in(d).map_err(CliError::Msg)?,
        None => Vec::new(),
    };
    let opts = PullOptions {
        insecure_registries: a.insecure_registries,
        credentials,
        ca_certificates,
    };
    let (tx, rx) = std::sync::mpsc::channel::<Progress>();
    let reference = a.reference;
    let result = std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?;
            let report = move |p: Progress| {
                let _ = tx.send(p);
            };
            rt.block_on(crate::image::pull::pull_with_progress(
                store, &reference, &opts, &report,
            ))
        });
        // Ends when the worker is done and drops the sender.
        for p in rx {
            if !a.quiet {
                io.errln(progress_line(&p));
            }
        }
        worker
            .join()
            .unwrap_or_else(|_| Err("pull: the pull thread panicked".to_string()))
    });
    let image = result.map_err(CliError::Msg)?;
    io.outln(image.id.hex());
    Ok(())
}

/// podman's progress lines (as it prints them without a terminal).
fn progress_line(p: &Progress) -> String {
    let skipped = |s: bool| if s { " skipped: already exists" } else { "" };
    match p {
        Progress::Resolving(r) => format!("Trying to pull {r}..."),
        Progress::Blob { digest, skipped: s } => format!("Copying blob {digest}{}", skipped(*s)),
        Progress::Config { digest, skipped: s } => {
            format!("Copying config {digest}{}", skipped(*s))
        }
        Progress::WritingManifest => "Writing manifest to image destination".to_string(),
    }
}

fn err(e: ImageError) -> CliError {
    CliError::msg(e.to_string())
}

fn id_text(i: &ImageSummary, no_trunc: bool) -> String {
    if no_trunc {
        i.id.to_string()
    } else {
        i.id.short().to_string()
    }
}

/// `REPOSITORY TAG IMAGE ID CREATED SIZE`, one row per name (`<none>` when untagged).
fn ls_table(
    images: &[ImageSummary],
    now: jiff::Timestamp,
    no_trunc: bool,
    no_headers: bool,
) -> String {
    let mut text = String::new();
    if !no_headers {
        text.push_str("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n");
    }
    for i in images {
        let created = match i.created {
            Some(t) => {
                let secs = now.duration_since(t).as_secs_f64().max(0.0);
                format!("{} ago", human_duration(secs))
            }
            None => "unknown".to_string(),
        };
        let size = human_size(i.size);
        let id = id_text(i, no_trunc);
        let mut rows: Vec<(String, String)> = i
            .names
            .iter()
            .map(|n| (n.name(), n.tag.clone().unwrap_or_else(|| "<none>".into())))
            .collect();
        if rows.is_empty() {
            rows.push(("<none>".into(), "<none>".into()));
        }
        for (repo, tag) in rows {
            text.push_str(&format!("{repo}\t{tag}\t{id}\t{created}\t{size}\n"));
        }
    }
    // podman's tabwriter: minwidth 12, padding 2.
    tabwrite(&text, 12, 2)
}

/// go-units HumanDuration, as `podman images` shows CREATED.
pub fn human_duration(secs: f64) -> String {
    let s = secs as u64;
    let minutes = s / 60;
    let hours = (secs / 3600.0).round() as u64;
    if s < 1 {
        "Less than a second".into()
    } else if s == 1 {
        "1 second".into()
    } else if s < 60 {
        format!("{s} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", (secs / 3600.0) as u64 / 24 / 365)
    }
}

/// go-units HumanSizeWithPrecision(size, 3): decimal units, three significant digits.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < UNITS.len() {
        v /= 1000.0;
        i += 1;
    }
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s} {}", UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Digest, Reference};

    #[test]
    fn sizes_like_podman() {
        assert_eq!(human_size(877), "877 B");
        assert_eq!(human_size(1240), "1.24 kB");
        assert_eq!(human_size(4_261_550), "4.26 MB");
        assert_eq!(human_size(4_500_000), "4.5 MB");
        assert_eq!(human_size(12_345_678), "12.3 MB");
        assert_eq!(human_size(123_456_789), "123 MB");
        assert_eq!(human_size(0), "0 B");
    }

    #[test]
    fn durations_like_podman() {
        assert_eq!(human_duration(0.5), "Less than a second");
        assert_eq!(human_duration(30.0), "30 seconds");
        assert_eq!(human_duration(90.0), "About a minute");
        assert_eq!(human_duration(600.0), "10 minutes");
        assert_eq!(human_duration(3600.0), "About an hour");
        assert_eq!(human_duration(5.0 * 3600.0), "5 hours");
        assert_eq!(human_duration(3.0 * 86400.0), "3 days");
        assert_eq!(human_duration(20.0 * 86400.0), "2 weeks");
        assert_eq!(human_duration(90.0 * 86400.0), "3 months");
        assert_eq!(human_duration(800.0 * 86400.0), "2 years");
    }

    #[test]
    fn table_has_a_row_per_name_and_none_for_untagged() {
        let now: jiff::Timestamp = "2024-05-15T10:00:00Z".parse().unwrap();
        let images = vec![
            ImageSummary {
                id: Digest::of(b"a"),
                manifest_digest: Digest::of(b"m"),
                names: vec![
                    Reference::parse("busybox").unwrap(),
                    Reference::parse("localhost/bb:1").unwrap(),
                ],
                created: Some("2024-05-01T10:00:00Z".parse().unwrap()),
                size: 4_261_550,
            },
            ImageSummary {
                id: Digest::of(b"b"),
                manifest_digest: Digest::of(b"n"),
                names: vec![],
                created: None,
                size: 877,
            },
        ];
        let t = ls_table(&images, now, false, false);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "REPOSITORY                 TAG         IMAGE ID      CREATED      SIZE"
        );
        let a = Digest::of(b"a");
        assert_eq!(
            lines[1],
            format!(
                "docker.io/library/busybox  latest      {}  2 weeks ago  4.26 MB",
                a.short()
            )
        );
        assert!(lines[2].starts_with("localhost/bb               1 "), "{t}");
        assert!(
            lines[3].starts_with("<none>                     <none>"),
            "{t}"
        );
        assert!(lines[3].ends_with("unknown      877 B"), "{t}");
    }
}
