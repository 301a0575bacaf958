//! The steps that build a container's world before its process runs: cgroups, the pod's
//! namespaces, the root filesystem and everything mounted into it, then pivot_root. The order
//! follows runc/youki: join cgroups and namespaces, make mounts private, mount the rootfs,
//! /proc, /sys, /dev (devices, pts, shm, mqueue), /etc files, user mounts, masked and
//! read-only paths, pivot_root, read-only rootfs.

use super::plan::{Create, Op, Plan, cstring, host_path, rel_path};
use super::{ContainerSpec, Error, MountKind, Rootfs};
use std::os::fd::RawFd;
use std::path::Path;

/// Kernel limit for mount(2) option strings (one page).
const MAX_MOUNT_DATA: usize = 4095;

/// Device nodes every container gets, as runc creates them: (name, major, minor).
const DEVICES: [(&str, u32, u32); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const DEV_LINKS: [(&str, &str); 6] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
    ("core", "/proc/kcore"),
];

/// Escapes a path for overlayfs options, where ',' separates options and ':' layers.
fn overlay_escape(p: &Path) -> Result<String, Error> {
    let Some(s) = p.to_str() else {
        return Err(Error::Invalid(format!(
            "rootfs: layer path {p:?} must be valid UTF-8"
        )));
    };
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, ',' | ':' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// overlayfs options for the layers; the first lowerdir is the uppermost layer, as in the
/// kernel's lowerdir= list (image layers must be passed newest first).
pub(crate) fn overlay_options(
    lower: &[std::path::PathBuf],
    upper: &Path,
    work: &Path,
) -> Result<String, Error> {
    if lower.is_empty() {
        return Err(Error::Invalid(
            "rootfs: an overlay needs at least one lowerdir".to_string(),
        ));
    }
    for (field, p) in lower
        .iter()
        .map(|p| ("rootfs.lowerdirs", p.as_path()))
        .chain([("rootfs.upper", upper), ("rootfs.work", work)])
    {
        host_path(p, field)?;
    }
    let lowers = lower
        .iter()
        .map(|p| overlay_escape(p))
        .collect::<Result<Vec<_>, _>>()?
        .join(":");
    let opts = format!(
        "lowerdir={lowers},upperdir={},workdir={}",
        overlay_escape(upper)?,
        overlay_escape(work)?
    );
    if opts.len() > MAX_MOUNT_DATA {
        return Err(Error::Invalid(format!(
            "rootfs: {} layers give overlay options of {} bytes, more than the kernel's {MAX_MOUNT_DATA}; use shorter layer paths",
            lower.len(),
            opts.len()
        )));
    }
    Ok(opts)
}

fn mount_in(
    source: Option<&str>,
    rel: &str,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
    create: Create,
) -> Result<Op, Error> {
    let opt = |s: Option<&str>| s.map(|s| cstring(s, "mount")).transpose();
    Ok(Op::MountIn {
        source: opt(source)?,
        rel: cstring(rel, "mount")?,
        fstype: opt(fstype)?,
        flags,
        data: opt(data)?,
        create,
        readonly: false,
    })
}

/// Everything up to and including pivot_root (and the read-only remount of the rootfs).
pub(crate) fn push_setup(
    plan: &mut Plan,
    spec: &ContainerSpec,
    // The sandbox's network, IPC and UTS namespace fds.
    ns: [RawFd; 3],
) -> Result<(), Error> {
    use libc::{MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_STRICTATIME};
    // Cgroups first, with host paths, so that everything the setup costs is accounted.
    for p in &spec.cgroup_procs {
        plan.push(
            Op::JoinCgroup(host_path(p, "cgroup")?),
            format!("join cgroup {}", p.display()),
        );
    }
    // The network namespace before sysfs (which shows its devices), IPC before mqueue.
    for (fd, nstype, name) in [
        (ns[0], libc::CLONE_NEWNET, "network"),
        (ns[1], libc::CLONE_NEWIPC, "IPC"),
        (ns[2], libc::CLONE_NEWUTS, "UTS"),
    ] {
        plan.push(
            Op::Setns { fd, nstype },
            format!("join the pod's {name} namespace"),
        );
    }
    plan.push(Op::Umask(0), "set umask");
    plan.push(Op::RprivateRoot, "make / a private mount");

    let root = match &spec.rootfs {
        Rootfs::Overlay {
            lowerdirs,
            upper,
            work,
            merged,
        } => {
            let opts = overlay_options(lowerdirs, upper, work)?;
            let target = host_path(merged, "rootfs.merged")?;
            let op = Op::MountHost {
                source: Some(c"overlay".into()),
                target,
                fstype: Some(c"overlay".into()),
                flags: 0,
                data: Some(cstring(opts, "rootfs")?),
            };
            plan.push(op, format!("mount overlay on {}", merged.display()));
            merged
        }
        Rootfs::Dir(dir) => {
            let path = host_path(dir, "rootfs")?;
            // A bind onto itself makes the directory a mount point, as pivot_root requires.
            let op = Op::MountHost {
                source: Some(path.clone()),
                target: path,
                fstype: None,
                flags: MS_BIND | MS_REC,
                data: None,
            };
            plan.push(op, format!("bind rootfs {}", dir.display()));
            dir
        }
    };
    plan.push(
        Op::OpenRoot(host_path(root, "rootfs")?),
        format!("open rootfs {}", root.display()),
    );

    let basic = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    plan.push(
        mount_in(Some("proc"), "proc", Some("proc"), basic, None, Create::Dir)?,
        "mount proc on /proc",
    );
    let sys_flags = if spec.privileged {
        basic
    } else {
        basic | MS_RDONLY
    };
    plan.push(
        mount_in(
            Some("sysfs"),
            "sys",
            Some("sysfs"),
            sys_flags,
            None,
            Create::Dir,
        )?,
        "mount sysfs on /sys",
    );
    let dev = mount_in(
        Some("tmpfs"),
        "dev",
        Some("tmpfs"),
        MS_NOSUID | MS_STRICTATIME,
        Some("mode=755,size=65536k"),
        Create::Dir,
    )?;
    plan.push(dev, "mount tmpfs on /dev");
    for (name, major, minor) in DEVICES {
        let op = Op::Mknod {
            dir: c"dev".into(),
            name: cstring(name, "device")?,
            mode: libc::S_IFCHR | 0o666,
            dev: libc::makedev(major, minor),
        };
        plan.push(op, format!("mknod /dev/{name}"));
    }
    for (name, to) in DEV_LINKS {
        let op = Op::Symlink {
            dir: c"dev".into(),
            name: cstring(name, "link")?,
            to: cstring(to, "link")?,
        };
        plan.push(op, format!("symlink /dev/{name} to {to}"));
    }
    let pts = "newinstance,ptmxmode=0666,mode=0620,gid=5";
    plan.push(
        mount_in(
            Some("devpts"),
            "dev/pts",
            Some("devpts"),
            MS_NOSUID | MS_NOEXEC,
            Some(pts),
            Create::Dir,
        )?,
        "mount devpts on /dev/pts",
    );
    match &spec.shm {
        Some(host) => {
            let op = Op::MountIn {
                source: Some(host_path(host, "shm")?),
                rel: c"dev/shm".into(),
                fstype: None,
                flags: MS_BIND | MS_REC,
                data: None,
                create: Create::Dir,
                readonly: false,
            };
            plan.push(op, format!("bind {} on /dev/shm", host.display()));
        }
        None => {
            let op = mount_in(
                Some("shm"),
                "dev/shm",
                Some("tmpfs"),
                basic,
                Some("mode=1777,size=65536k"),
                Create::Dir,
            )?;
            plan.push(op, "mount tmpfs on /dev/shm");
        }
    }
    plan.push(
        mount_in(
            Some("mqueue"),
            "dev/mqueue",
            Some("mqueue"),
            basic,
            None,
            Create::Dir,
        )?,
        "mount mqueue on /dev/mqueue",
    );

    for (dest, src) in [
        ("/etc/hosts", &spec.etc.hosts),
        ("/etc/hostname", &spec.etc.hostname),
        ("/etc/resolv.conf", &spec.etc.resolv_conf),
    ] {
        if let Some(src) = src {
            let op = Op::MountIn {
                source: Some(host_path(src, dest)?),
                rel: cstring(&dest[1..], dest)?,
                fstype: None,
                flags: MS_BIND,
                data: None,
                create: Create::File,
                readonly: false,
            };
            plan.push(op, format!("bind {} on {dest}", src.display()));
        }
    }

    // Parents before children, as containerd sorts them; otherwise in the given order.
    let mut mounts: Vec<_> = spec.mounts.iter().enumerate().collect();
    mounts.sort_by_key(|(_, m)| m.destination.components().count());
    for (i, m) in mounts {
        let field = format!("mounts[{i}]");
        let dest_str = m
            .destination
            .to_str()
            .ok_or_else(|| Error::Invalid(format!("{field}.destination: must be valid UTF-8")))?;
        let rel = cstring(rel_path(dest_str, &format!("{field}.destination"))?, &field)?;
        let (op, what) = match &m.kind {
            MountKind::Bind { readonly } => {
                let source = host_path(&m.source, &format!("{field}.source"))?;
                // A missing source is left to mount(2), whose error names it.
                let create = if m.source.is_dir() || !m.source.exists() {
                    Create::Dir
                } else {
                    Create::File
                };
                let flags = MS_BIND | MS_REC;
                let op = Op::MountIn {
                    source: Some(source),
                    rel,
                    fstype: None,
                    flags,
                    data: None,
                    create,
                    readonly: *readonly,
                };
                (op, format!("bind {} on {dest_str}", m.source.display()))
            }
            MountKind::Tmpfs { size, mode } => {
                let mut data = format!("mode={:o}", mode.unwrap_or(0o1777));
                if let Some(size) = size {
                    data.push_str(&format!(",size={size}"));
                }
                let data = Some(cstring(data, &field)?);
                let op = Op::MountIn {
                    source: Some(c"tmpfs".into()),
                    rel,
                    fstype: Some(c"tmpfs".into()),
                    flags: MS_NOSUID | MS_NODEV,
                    data,
                    create: Create::Dir,
                    readonly: false,
                };
                (op, format!("mount tmpfs on {dest_str}"))
            }
        };
        plan.push(op, what);
    }

    if !spec.privileged {
        for p in &spec.masked_paths {
            plan.push(
                Op::Mask(cstring(rel_path(p, "maskedPaths")?, "maskedPaths")?),
                format!("mask {p}"),
            );
        }
        for p in &spec.readonly_paths {
            plan.push(
                Op::ReadonlyIn(cstring(rel_path(p, "readonlyPaths")?, "readonlyPaths")?),
                format!("make {p} read-only"),
            );
        }
    }
    let cwd = rel_path(
        if spec.cwd.is_empty() { "/" } else { &spec.cwd },
        "workingDir",
    )?;
    if cwd != "." {
        plan.push(
            Op::MkdirIn(cstring(cwd, "workingDir")?),
            format!("create workingDir {}", spec.cwd),
        );
    }
    plan.push(Op::PivotRoot, format!("pivot_root into {}", root.display()));
    if spec.readonly_rootfs {
        plan.push(Op::RemountRootReadonly, "remount the rootfs read-only");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::container::Mount;
    use std::path::PathBuf;

    #[test]
    fn setup_steps_follow_the_runtime_order() {
        let rootfs = Rootfs::Overlay {
            lowerdirs: vec!["/l".into()],
            upper: "/u".into(),
            work: "/w".into(),
            merged: "/m".into(),
        };
        let mut spec = ContainerSpec::new(rootfs, vec!["/bin/sh".into()]);
        spec.cgroup_procs = vec!["/cg/pids/p/cgroup.procs".into()];
        spec.etc.hosts = Some("/state/hosts".into());
        spec.mounts = vec![
            Mount {
                source: "/v".into(),
                destination: "/data/sub".into(),
                kind: MountKind::Bind { readonly: true },
            },
            Mount {
                source: PathBuf::new(),
                destination: "/data".into(),
                kind: MountKind::Tmpfs {
                    size: None,
                    mode: None,
                },
            },
        ];
        spec.readonly_rootfs = true;
        spec.cwd = "/app".into();
        let mut plan = Plan::default();
        push_setup(&mut plan, &spec, [10, 11, 12]).unwrap();
        let what: Vec<&str> = plan.what.iter().map(String::as_str).collect();
        let head = [
            "join cgroup /cg/pids/p/cgroup.procs",
            "join the pod's network namespace",
            "join the pod's IPC namespace",
            "join the pod's UTS namespace",
            "set umask",
            "make / a private mount",
            "mount overlay on /m",
            "open rootfs /m",
            "mount proc on /proc",
            "mount sysfs on /sys",
            "mount tmpfs on /dev",
            "mknod /dev/null",
        ];
        assert_eq!(&what[..head.len()], head);
        let etc = what
            .iter()
            .position(|w| *w == "bind /state/hosts on /etc/hosts")
            .unwrap();
        // Parent mounts before children, then masks, read-only paths, cwd, pivot_root.
        assert_eq!(
            &what[etc + 1..etc + 4],
            [
                "mount tmpfs on /data",
                "bind /v on /data/sub",
                "mask /proc/kcore"
            ]
        );
        let tail = [
            "make /proc/sysrq-trigger read-only",
            "create workingDir /app",
            "pivot_root into /m",
            "remount the rootfs read-only",
        ];
        assert_eq!(&what[what.len() - tail.len()..], tail);
        let sys_ro = plan.ops.iter().any(|op| {
            matches!(op, Op::MountIn { rel, flags, .. } if rel.to_bytes() == b"sys" && flags & libc::MS_RDONLY != 0)
        });
        assert!(sys_ro, "/sys is read-only unless privileged");

        spec.privileged = true;
        let mut plan = Plan::default();
        push_setup(&mut plan, &spec, [10, 11, 12]).unwrap();
        assert!(
            !plan.what.iter().any(
                |w| w.starts_with("mask ") || w.ends_with("read-only") && w.starts_with("make")
            )
        );
    }

    #[test]
    fn overlay_options_escape_and_order() {
        let lower = vec![PathBuf::from("/l/top"), PathBuf::from("/l/a,b:c")];
        let opts = overlay_options(&lower, Path::new("/u"), Path::new("/w")).unwrap();
        assert_eq!(opts, r"lowerdir=/l/top:/l/a\,b\:c,upperdir=/u,workdir=/w");
    }

    #[test]
    fn overlay_options_refuse_empty_relative_and_too_long() {
        assert!(overlay_options(&[], Path::new("/u"), Path::new("/w")).is_err());
        let err = overlay_options(&[PathBuf::from("l")], Path::new("/u"), Path::new("/w"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rootfs.lowerdirs") && err.contains("absolute"),
            "{err}"
        );
        let many: Vec<_> = (0..200)
            .map(|i| PathBuf::from(format!("/var/lib/peapod/images/layers/{i:064}")))
            .collect();
        let err = overlay_options(&many, Path::new("/u"), Path::new("/w"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("200 layers"), "{err}");
    }
}
