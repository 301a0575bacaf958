//! A container process is set up as a list of steps computed before the fork: every C string,
//! pointer array and path is ready, so the child only walks the list making system calls
//! (see child.rs), and the parent, which keeps the list, turns a failed step number plus errno
//! into a readable message ("mount proc on /proc: Permission denied").

use super::{Error, Rlimit};
use std::ffi::CString;
use std::os::fd::RawFd;
use std::path::{Component, Path};

/// What to create when a path inside the rootfs is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    No,
    Dir,
    File,
}

/// One step of the child. Paths named "rel" are relative to the container's root and are
/// resolved with RESOLVE_IN_ROOT; "." is the root itself.
#[derive(Debug)]
pub(crate) enum Op {
    Umask(libc::mode_t),
    /// Writes "0" into a cgroup.procs file, which moves the writer (cgroup v1 and v2).
    JoinCgroup(CString),
    Setns {
        fd: RawFd,
        nstype: libc::c_int,
    },
    /// mount --make-rprivate /: nothing we mount propagates back to the host.
    RprivateRoot,
    /// A mount whose target is a host path (the rootfs itself).
    MountHost {
        source: Option<CString>,
        target: CString,
        fstype: Option<CString>,
        flags: libc::c_ulong,
        data: Option<CString>,
    },
    /// Opens the new root; the in-root steps below resolve paths against it.
    OpenRoot(CString),
    MountIn {
        source: Option<CString>,
        rel: CString,
        fstype: Option<CString>,
        flags: libc::c_ulong,
        data: Option<CString>,
        create: Create,
        readonly: bool,
    },
    Mknod {
        dir: CString,
        name: CString,
        mode: libc::mode_t,
        dev: libc::dev_t,
    },
    Symlink {
        dir: CString,
        name: CString,
        to: CString,
    },
    /// /dev/null over a file, an empty read-only tmpfs over a directory; skipped if missing.
    Mask(CString),
    /// The path bound onto itself read-only; skipped if missing.
    ReadonlyIn(CString),
    MkdirIn(CString),
    PivotRoot,
    RemountRootReadonly,
    Rlimit {
        resource: libc::c_int,
        soft: u64,
        hard: u64,
    },
    Setsid,
    Stdio([RawFd; 3]),
    SetCtty,
    /// Marks every fd from 3 up close-on-exec, so nothing of the caller leaks in.
    CloseFds,
    DropBounding {
        keep: u64,
        last_cap: u32,
    },
    KeepCaps,
    SetUser {
        uid: u32,
        gid: u32,
        groups: Vec<libc::gid_t>,
    },
    Capset {
        effective: u64,
        permitted: u64,
        inheritable: u64,
    },
    ClearAmbient,
    Chdir(CString),
    NoNewPrivs,
    Exec(ExecArgs),
}

/// The steps and, for each, what it does in words.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub ops: Vec<Op>,
    pub what: Vec<String>,
}

impl Plan {
    pub fn push(&mut self, op: Op, what: impl Into<String>) {
        self.ops.push(op);
        self.what.push(what.into());
    }

    /// The error for a report from the child: step number and errno.
    pub fn error(&self, step: u32, errno: i32) -> Error {
        let text = super::sys::errno_text(errno);
        match (self.ops.get(step as usize), self.what.get(step as usize)) {
            (Some(Op::Exec(x)), _) if errno == libc::ENOENT && x.searched => Error::Exec(format!(
                "exec {:?}: executable file not found in $PATH",
                x.program
            )),
            (Some(Op::Exec(x)), _) => Error::Exec(format!("exec {:?}: {text}", x.program)),
            (_, Some(what)) => Error::Setup(format!("{what}: {text}")),
            _ => Error::Setup(format!("container setup: {text}")),
        }
    }
}

/// execve arguments; the pointer arrays point into the owned strings (moving the Vecs does
/// not move their heap buffers).
#[derive(Debug)]
pub(crate) struct ExecArgs {
    pub program: String,
    /// True when the program had no '/' and the candidates come from $PATH.
    pub searched: bool,
    pub candidates: Vec<CString>,
    _argv: Vec<CString>,
    _env: Vec<CString>,
    pub argv_ptrs: Vec<*const libc::c_char>,
    pub env_ptrs: Vec<*const libc::c_char>,
}

/// runc's PATH when the container's environment has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub(crate) fn cstring(s: impl Into<Vec<u8>>, field: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::Invalid(format!("{field}: must not contain a NUL byte")))
}

pub(crate) fn host_path(p: &Path, field: &str) -> Result<CString, Error> {
    use std::os::unix::ffi::OsStrExt;
    if !p.is_absolute() {
        return Err(Error::Invalid(format!(
            "{field} {:?}: must be an absolute path",
            p.display().to_string()
        )));
    }
    cstring(p.as_os_str().as_bytes(), field)
}

/// An absolute container path as a clean path relative to the container root ("." for /).
/// `..` is refused: it could only be a mistake or an attempt to leave the rootfs.
pub(crate) fn rel_path(p: &str, field: &str) -> Result<String, Error> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return Err(Error::Invalid(format!(
            "{field} {p:?}: must be an absolute path"
        )));
    }
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => match s.to_str() {
                Some(s) => parts.push(s),
                None => {
                    return Err(Error::Invalid(format!(
                        "{field} {p:?}: must be valid UTF-8"
                    )));
                }
            },
            Component::ParentDir => {
                return Err(Error::Invalid(format!(
                    "{field} {p:?}: must not contain '..'"
                )));
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    if parts.is_empty() {
        Ok(".".to_string())
    } else {
        Ok(parts.join("/"))
    }
}

pub(crate) fn exec_args(argv: &[String], env: &[String]) -> Result<ExecArgs, Error> {
    let Some(program) = argv.first().filter(|p| !p.is_empty()) else {
        return Err(Error::Invalid(
            "command: must name a program to run".to_string(),
        ));
    };
    let argv_c = argv
        .iter()
        .enumerate()
        .map(|(i, a)| cstring(a.as_str(), &format!("command[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let env_c = env
        .iter()
        .enumerate()
        .map(|(i, e)| cstring(e.as_str(), &format!("env[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let searched = !program.contains('/');
    let candidates = if searched {
        let path = env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        path.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| cstring(format!("{}/{program}", d.trim_end_matches('/')), "PATH"))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![cstring(program.as_str(), "command[0]")?]
    };
    let mut argv_ptrs: Vec<_> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<_> = env_c.iter().map(|c| c.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    Ok(ExecArgs {
        program: program.clone(),
        searched,
        candidates,
        _argv: argv_c,
        _env: env_c,
        argv_ptrs,
        env_ptrs,
    })
}

/// Who the process becomes and what it may do; shared by spawn and exec.
pub(crate) struct Process<'a> {
    pub argv: &'a [String],
    pub env: &'a [String],
    pub cwd: &'a str,
    pub tty: bool,
    pub stdio: [RawFd; 3],
    pub rlimits: &'a [Rlimit],
    pub uid: u32,
    pub gid: u32,
    pub groups: &'a [u32],
    /// Bounding set; also the permitted/effective set handed to execve.
    pub bounding: u64,
    pub inheritable: u64,
    pub no_new_privs: bool,
    pub last_cap: u32,
    /// What the caller itself holds: capset cannot grant more.
    pub own_caps: u64,
}

/// Rejects limits this host cannot grant: raising a hard limit needs CAP_SYS_RESOURCE, which
/// peapod may not have (and must not use), so the error says so before anything starts.
pub(crate) fn check_rlimits(rlimits: &[Rlimit]) -> Result<(), Error> {
    for r in rlimits {
        let name = r.resource.name();
        if r.soft > r.hard {
            return Err(Error::Invalid(format!(
                "rlimit {name}: soft limit {} is above the hard limit {}",
                r.soft, r.hard
            )));
        }
        let (_, host_hard) =
            super::sys::get_rlimit(r.resource.number()).map_err(|e| Error::Sys {
                context: format!("read rlimit {name}"),
                source: e,
            })?;
        if r.hard > host_hard {
            return Err(Error::Invalid(format!(
                "rlimit {name}: hard limit {} is above this host's hard limit {host_hard}; \
                 peapod never raises a hard limit (lower it to at most {host_hard})",
                r.hard
            )));
        }
    }
    Ok(())
}

/// The steps from "limits" to "execve" that every container process goes through.
pub(crate) fn push_process(plan: &mut Plan, p: &Process<'_>) -> Result<(), Error> {
    check_rlimits(p.rlimits)?;
    let exec = exec_args(p.argv, p.env)?;
    let cwd_rel = rel_path(if p.cwd.is_empty() { "/" } else { p.cwd }, "workingDir")?;
    let cwd = cstring(
        if cwd_rel == "." {
            "/".to_string()
        } else {
            format!("/{cwd_rel}")
        },
        "workingDir",
    )?;
    for r in p.rlimits {
        let op = Op::Rlimit {
            resource: r.resource.number(),
            soft: r.soft,
            hard: r.hard,
        };
        plan.push(
            op,
            format!("set rlimit {} to {}/{}", r.resource.name(), r.soft, r.hard),
        );
    }
    // Its own session: the caller's terminal signals (Ctrl-C) do not reach the container.
    plan.push(Op::Setsid, "start a new session");
    plan.push(Op::Stdio(p.stdio), "set up stdin/stdout/stderr");
    if p.tty {
        plan.push(Op::SetCtty, "make stdin the controlling terminal");
    }
    plan.push(Op::CloseFds, "close inherited file descriptors");
    plan.push(
        Op::DropBounding {
            keep: p.bounding,
            last_cap: p.last_cap,
        },
        "reduce the capability bounding set",
    );
    if p.uid != 0 {
        plan.push(Op::KeepCaps, "keep capabilities across setuid");
    }
    let groups: Vec<libc::gid_t> = p.groups.to_vec();
    let what = format!("set user {}:{} with groups {:?}", p.uid, p.gid, groups);
    plan.push(
        Op::SetUser {
            uid: p.uid,
            gid: p.gid,
            groups,
        },
        what,
    );
    let allowed = p.bounding & p.own_caps;
    let caps = Op::Capset {
        effective: allowed,
        permitted: allowed,
        inheritable: p.inheritable & allowed,
    };
    plan.push(caps, "set capabilities");
    plan.push(Op::ClearAmbient, "clear ambient capabilities");
    plan.push(Op::Chdir(cwd), format!("chdir to workingDir {:?}", p.cwd));
    if p.no_new_privs {
        plan.push(Op::NoNewPrivs, "set no_new_privs");
    }
    plan.push(Op::Umask(0o022), "set umask");
    plan.push(Op::Exec(exec), "exec");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rel_path_cleans_and_refuses_dotdot() {
        assert_eq!(rel_path("/", "f").unwrap(), ".");
        assert_eq!(rel_path("/etc//hosts/", "f").unwrap(), "etc/hosts");
        assert_eq!(rel_path("/a/./b", "f").unwrap(), "a/b");
        let err = rel_path("/a/../b", "mounts[0].destination")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mounts[0].destination") && err.contains(".."),
            "{err}"
        );
        assert!(
            rel_path("data", "f")
                .unwrap_err()
                .to_string()
                .contains("absolute")
        );
    }

    #[test]
    fn exec_args_search_path_only_without_slash() {
        let env = vec!["A=1".to_string(), "PATH=/x:/y/".to_string()];
        let x = exec_args(&["sh".to_string(), "-c".to_string()], &env).unwrap();
        assert!(x.searched);
        let c: Vec<_> = x.candidates.iter().map(|c| c.to_str().unwrap()).collect();
        assert_eq!(c, ["/x/sh", "/y/sh"]);
        assert_eq!(x.argv_ptrs.len(), 3);
        assert!(x.argv_ptrs[2].is_null() && x.env_ptrs[2].is_null());
        let x = exec_args(&["/bin/sh".to_string()], &[]).unwrap();
        assert!(!x.searched && x.candidates.len() == 1);
        let x = exec_args(&["ls".to_string()], &[]).unwrap();
        assert_eq!(x.candidates.len(), 6, "default PATH");
    }

    #[test]
    fn exec_args_refuse_empty_and_nul() {
        assert!(exec_args(&[], &[]).is_err());
        let err = exec_args(&["/bin/sh".to_string(), "a\0b".to_string()], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("command[1]"), "{err}");
    }

    #[test]
    fn process_steps_follow_the_runtime_order() {
        use super::super::{Rlimit, RlimitResource};
        let argv = vec!["/bin/sh".to_string()];
        let rlimits = [Rlimit {
            resource: RlimitResource::Nofile,
            soft: 10,
            hard: 20,
        }];
        let p = Process {
            argv: &argv,
            env: &[],
            cwd: "/app",
            tty: true,
            stdio: [0, 1, 2],
            rlimits: &rlimits,
            uid: 1000,
            gid: 1000,
            groups: &[2000],
            bounding: 0xa804_25fb,
            inheritable: 0,
            no_new_privs: true,
            last_cap: 40,
            own_caps: 0x1ff_feff_ffff,
        };
        let mut plan = Plan::default();
        push_process(&mut plan, &p).unwrap();
        let what: Vec<&str> = plan.what.iter().map(String::as_str).collect();
        assert_eq!(
            what,
            [
                "set rlimit RLIMIT_NOFILE to 10/20",
                "start a new session",
                "set up stdin/stdout/stderr",
                "make stdin the controlling terminal",
                "close inherited file descriptors",
                "reduce the capability bounding set",
                "keep capabilities across setuid",
                "set user 1000:1000 with groups [2000]",
                "set capabilities",
                "clear ambient capabilities",
                "chdir to workingDir \"/app\"",
                "set no_new_privs",
                "set umask",
                "exec",
            ]
        );
        assert!(plan.ops.iter().any(|op| matches!(
            op,
            Op::Capset {
                effective: 0xa804_25fb,
                permitted: 0xa804_25fb,
                ..
            }
        )));
    }

    #[test]
    fn errors_name_the_failed_step() {
        let mut plan = Plan::default();
        plan.push(Op::PivotRoot, "mount overlay on /x");
        plan.push(
            Op::Exec(exec_args(&["/bin/nosuch".to_string()], &[]).unwrap()),
            "exec",
        );
        plan.push(
            Op::Exec(exec_args(&["nosuch".to_string()], &[]).unwrap()),
            "exec",
        );
        assert_eq!(
            plan.error(0, libc::EINVAL).to_string(),
            "mount overlay on /x: Invalid argument"
        );
        assert_eq!(
            plan.error(1, libc::ENOENT).to_string(),
            "exec \"/bin/nosuch\": No such file or directory"
        );
        assert_eq!(
            plan.error(2, libc::ENOENT).to_string(),
            "exec \"nosuch\": executable file not found in $PATH"
        );
        assert_eq!(
            plan.error(2, libc::EACCES).to_string(),
            "exec \"nosuch\": Permission denied"
        );
    }
}
