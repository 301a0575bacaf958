//! One cgroup (a pod's, a container's or peapod's parent) across every hierarchy it lives in:
//! plain file I/O on the cgroup filesystem.

use super::CgroupError;
use super::layout::{Controller, Layout, Version};
use super::resources::{Resources, shares_to_weight};
use std::ffi::CString;
use std::io::{ErrorKind, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// v2 controllers a pod needs delegated to its children.
const V2_CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

/// Live usage of a cgroup (its descendants included), as the console and `top pod` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Total CPU time consumed, nanoseconds.
    pub cpu_usage_ns: u64,
    /// Working set as the kubelet reports it: usage minus inactive file cache.
    pub memory_bytes: u64,
    /// Processes and threads.
    pub pids: u64,
}

/// A cgroup path (relative to each hierarchy root) and the layout that places it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    layout: Layout,
    rel: PathBuf,
}

impl Cgroup {
    pub(super) fn new(layout: Layout, rel: PathBuf) -> Cgroup {
        Cgroup { layout, rel }
    }

    /// The cgroup's path as /proc/PID/cgroup shows it, e.g. `/peapod/pod<uid>/ctr-app`.
    pub fn path(&self) -> String {
        format!("/{}", self.rel.display())
    }

    pub fn version(&self) -> Version {
        self.layout.version
    }

    /// The directory of this cgroup in `c`'s hierarchy.
    pub fn dir(&self, c: Controller) -> PathBuf {
        self.layout.root(c).join(&self.rel)
    }

    /// Every directory of this cgroup: one per v1 hierarchy, one on v2.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.layout
            .roots()
            .into_iter()
            .map(|r| r.join(&self.rel))
            .collect()
    }

    pub(super) fn child(&self, name: &str) -> Cgroup {
        Cgroup::new(self.layout.clone(), self.rel.join(name))
    }

    pub fn exists(&self) -> bool {
        self.dirs().iter().all(|d| d.is_dir())
    }

    /// Creates the cgroup and any missing ancestors. On v2, cpu, memory and pids are enabled in
    /// `cgroup.subtree_control` of every ancestor, and of this cgroup too when `delegate` is set
    /// (a pod, whose containers need them). v2 only lets processes live in cgroups that do not
    /// delegate, so a delegating cgroup must stay empty: put processes in its children.
    pub(super) fn create(&self, delegate: bool) -> Result<(), CgroupError> {
        if self.layout.version == Version::V1 {
            for d in self.dirs() {
                std::fs::create_dir_all(&d).map_err(|e| CgroupError::io("create", &d, e))?;
            }
            return Ok(());
        }
        let root = self.layout.root(Controller::Memory).to_path_buf();
        let available = read(&root.join("cgroup.controllers"))?;
        let missing: Vec<&str> = V2_CONTROLLERS
            .into_iter()
            .filter(|c| !available.split_whitespace().any(|a| a == *c))
            .collect();
        if !missing.is_empty() {
            return Err(CgroupError::Unsupported(format!(
                "cgroup v2 controller(s) {} are not available in {} (cgroup.controllers lists {:?}): they may be bound to a v1 hierarchy",
                missing.join(", "),
                root.display(),
                available.trim()
            )));
        }
        let mut dir = root;
        let parts: Vec<_> = self.rel.components().collect();
        for part in &parts {
            enable_v2_controllers(&dir)?;
            dir.push(part);
            mkdir(&dir)?;
        }
        if delegate {
            enable_v2_controllers(&dir)?;
        }
        Ok(())
    }

    /// Writes every limit in `r`; `None` writes "unlimited" (or the default weight), so the
    /// files always end up describing exactly `r`.
    pub fn apply(&self, r: &Resources) -> Result<(), CgroupError> {
        let cpu = self.dir(Controller::Cpu);
        let mem = self.dir(Controller::Memory);
        match self.layout.version {
            Version::V1 => {
                write(&cpu.join("cpu.cfs_period_us"), &r.cpu_period_us.to_string())?;
                let quota = r.cpu_quota_us.unwrap_or(-1);
                write(&cpu.join("cpu.cfs_quota_us"), &quota.to_string())?;
                let shares = r.cpu_shares.unwrap_or(1024);
                write(&cpu.join("cpu.shares"), &shares.to_string())?;
                let limit = r.memory_limit.unwrap_or(-1);
                write(&mem.join("memory.limit_in_bytes"), &limit.to_string())?;
            }
            Version::V2 => {
                let quota = r.cpu_quota_us.map_or("max".to_string(), |q| q.to_string());
                write(
                    &cpu.join("cpu.max"),
                    &format!("{quota} {}", r.cpu_period_us),
                )?;
                let weight = r.cpu_shares.map_or(100, shares_to_weight);
                write(&cpu.join("cpu.weight"), &weight.to_string())?;
                let limit = r.memory_limit.map_or("max".to_string(), |m| m.to_string());
                write(&mem.join("memory.max"), &limit)?;
            }
        }
        self.set_pids_limit(r.pids_limit)
    }

    /// Sets only `pids.max` (`None`: unlimited).
    pub fn set_pids_limit(&self, limit: Option<i64>) -> Result<(), CgroupError> {
        let value = limit.map_or("max".to_string(), |n| n.to_string());
        write(&self.dir(Controller::Pids).join("pids.max"), &value)
    }

    /// Moves process `pid` (all its threads) into this cgroup in every hierarchy.
    pub fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        for d in self.dirs() {
            write(&d.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The `cgroup.procs` paths, computed now so a child can join between fork and exec.
    pub fn procs_paths(&self) -> Result<ProcsPaths, CgroupError> {
        let mut paths = Vec::new();
        for d in self.dirs() {
            let p = d.join("cgroup.procs");
            let c = CString::new(p.as_os_str().as_bytes()).map_err(|_| {
                CgroupError::Invalid(format!("cgroup path {} contains a NUL byte", p.display()))
            })?;
            paths.push(c);
        }
        Ok(ProcsPaths { paths })
    }

    /// The processes directly in this cgroup (any hierarchy), sorted. A missing cgroup has none.
    pub fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        let mut out = Vec::new();
        for d in self.dirs() {
            out.extend(procs_in(&d)?);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The processes in this cgroup and all its descendants, sorted.
    pub fn procs_recursive(&self) -> Result<Vec<i32>, CgroupError> {
        let mut out = Vec::new();
        for d in self.dirs() {
            for dir in tree(&d)? {
                out.extend(procs_in(&dir)?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// CPU time, working set and pid count, descendants included.
    pub fn usage(&self) -> Result<Usage, CgroupError> {
        let mem = self.dir(Controller::Memory);
        let pids = read_u64(&self.dir(Controller::Pids).join("pids.current"))?;
        let (cpu_usage_ns, usage, inactive) = match self.layout.version {
            Version::V1 => (
                read_u64(&self.dir(Controller::Cpuacct).join("cpuacct.usage"))?,
                read_u64(&mem.join("memory.usage_in_bytes"))?,
                keyed(&mem.join("memory.stat"), "total_inactive_file")?,
            ),
            Version::V2 => (
                keyed(&self.dir(Controller::Cpu).join("cpu.stat"), "usage_usec")?
                    .saturating_mul(1000),
                read_u64(&mem.join("memory.current"))?,
                keyed(&mem.join("memory.stat"), "inactive_file")?,
            ),
        };
        Ok(Usage {
            cpu_usage_ns,
            memory_bytes: usage.saturating_sub(inactive),
            pids,
        })
    }

    /// How many processes the kernel's OOM killer has killed in this cgroup and its
    /// descendants. Counters only grow: compare with the value seen before a start.
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        let mem = self.dir(Controller::Memory);
        match self.layout.version {
            // v2's memory.events already counts descendants.
            Version::V2 => keyed(&mem.join("memory.events"), "oom_kill"),
            // v1 counts a kill only in the victim's own cgroup, so add up the subtree (kills in
            // a container cgroup that was removed are no longer counted).
            Version::V1 => {
                let mut total: u64 = 0;
                for dir in tree(&mem)? {
                    total =
                        total.saturating_add(keyed(&dir.join("memory.oom_control"), "oom_kill")?);
                }
                Ok(total)
            }
        }
    }

    /// Reads one file of this cgroup, e.g. `cpu.cfs_quota_us` or `memory.max`; the
    /// controller's directory is chosen by the file's prefix.
    pub fn read(&self, file: &str) -> Result<String, CgroupError> {
        let c = if file.starts_with("cpuacct.") {
            Controller::Cpuacct
        } else if file.starts_with("memory.") {
            Controller::Memory
        } else if file.starts_with("pids.") {
            Controller::Pids
        } else {
            Controller::Cpu
        };
        Ok(read(&self.dir(c).join(file))?.trim_end().to_string())
    }

    /// The effective limit files and their values, for describe and tests.
    pub fn limits(&self) -> Result<Vec<(&'static str, String)>, CgroupError> {
        let files: &[&'static str] = match self.layout.version {
            Version::V1 => &[
                "cpu.cfs_period_us",
                "cpu.cfs_quota_us",
                "cpu.shares",
                "memory.limit_in_bytes",
                "pids.max",
            ],
            Version::V2 => &["cpu.max", "cpu.weight", "memory.max", "pids.max"],
        };
        files.iter().map(|f| Ok((*f, self.read(f)?))).collect()
    }

    /// [`Cgroup::limits`] as `file: value` lines.
    pub fn limits_text(&self) -> Result<String, CgroupError> {
        Ok(self
            .limits()?
            .iter()
            .map(|(f, v)| format!("{f}: {v}\n"))
            .collect())
    }

    /// Removes this cgroup and its descendants, bottom-up, in every hierarchy. Never kills
    /// anything: if a process is still inside, nothing is removed and the error names the
    /// pids. A cgroup that does not exist is removed already.
    pub fn remove(&self) -> Result<(), CgroupError> {
        let pids = self.procs_recursive()?;
        if !pids.is_empty() {
            return Err(CgroupError::Busy {
                cgroup: self.path(),
                pids,
            });
        }
        for d in self.dirs() {
            // Deepest first: `tree` lists parents before children.
            for dir in tree(&d)?.iter().rev() {
                self.rmdir(dir)?;
            }
        }
        Ok(())
    }

    /// rmdir, waiting briefly for exiting processes: a process that just died keeps its cgroup
    /// populated until its parent has reaped it.
    fn rmdir(&self, dir: &Path) -> Result<(), CgroupError> {
        for _ in 0..50 {
            match std::fs::remove_dir(dir) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => return Err(CgroupError::io("remove", dir, e)),
            }
        }
        Err(CgroupError::Busy {
            cgroup: self.path(),
            pids: procs_in(dir)?,
        })
    }
}

/// Precomputed `cgroup.procs` paths of one cgroup, for a child to join it between fork and
/// exec (`Command::pre_exec`), where allocating is not allowed.
#[derive(Debug, Clone)]
pub struct ProcsPaths {
    paths: Vec<CString>,
}

impl ProcsPaths {
    /// Moves the calling process into the cgroup. Async-signal-safe: only open, write and
    /// close, no allocation. Writing "0" means "the writer", which also holds in a new pid
    /// namespace where getpid() would name a different process to the kernel's reader.
    pub fn join_self(&self) -> std::io::Result<()> {
        for p in &self.paths {
            // SAFETY: `p` is a valid NUL-terminated string; open/write/close are
            // async-signal-safe and the buffer is a static.
            unsafe {
                let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                let err = std::io::Error::last_os_error();
                libc::close(fd);
                if n != 1 {
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    pub fn paths(&self) -> &[CString] {
        &self.paths
    }
}

fn mkdir(dir: &Path) -> Result<(), CgroupError> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(CgroupError::io("create", dir, e)),
    }
}

/// Enables our controllers for `dir`'s children, writing only the missing ones (a write is
/// refused once the cgroup has processes, even when nothing would change).
fn enable_v2_controllers(dir: &Path) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let current = read(&file)?;
    let missing: Vec<String> = V2_CONTROLLERS
        .iter()
        .filter(|c| !current.split_whitespace().any(|x| x == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write(&file, &missing.join(" "))
}

/// `dir` and all directories below it, parents first. A missing `dir` gives an empty list.
fn tree(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(CgroupError::io("list", &d, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| CgroupError::io("list", &d, e))?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
        out.push(d);
    }
    // The stack visits depth-first; sort so every parent precedes its children.
    out.sort_by_key(|p| p.components().count());
    Ok(out)
}

fn procs_in(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let file = dir.join("cgroup.procs");
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(CgroupError::io("read", &file, e)),
    }
}

fn read(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|e| CgroupError::io("read", path, e))
}

/// One write(2) of the whole value, as the cgroup filesystem expects.
fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| CgroupError::io("open", path, e))?;
    f.write_all(value.as_bytes())
        .map_err(|e| CgroupError::io(&format!("write {value:?} to"), path, e))
}

fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    let text = read(path)?;
    parse_u64(text.trim(), path)
}

/// The value of `key` in a `key value` file such as memory.stat; a missing key is 0 (older
/// kernels lack some counters, e.g. oom_kill before 4.13).
fn keyed(path: &Path, key: &str) -> Result<u64, CgroupError> {
    let text = read(path)?;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        if it.next() == Some(key) {
            return parse_u64(it.next().unwrap_or(""), path);
        }
    }
    Ok(0)
}

fn parse_u64(s: &str, path: &Path) -> Result<u64, CgroupError> {
    s.parse().map_err(|_| {
        CgroupError::Unsupported(format!(
            "unexpected value {s:?} in {}: expected a number",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_parsed_as_the_kernel_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let stat = dir.path().join("memory.stat");
        std::fs::write(
            &stat,
            "cache 10\ninactive_file 4096\ntotal_inactive_file 8192\n",
        )
        .unwrap();
        assert_eq!(keyed(&stat, "inactive_file").unwrap(), 4096);
        assert_eq!(keyed(&stat, "total_inactive_file").unwrap(), 8192);
        assert_eq!(keyed(&stat, "absent").unwrap(), 0);
        std::fs::write(&stat, "oom_kill x\n").unwrap();
        let e = keyed(&stat, "oom_kill").unwrap_err().to_string();
        assert!(e.contains("memory.stat") && e.contains("\"x\""), "{e}");
        let procs = dir.path().join("cgroup.procs");
        std::fs::write(&procs, "12\n7\n").unwrap();
        assert_eq!(procs_in(dir.path()).unwrap(), vec![12, 7]);
        assert_eq!(
            procs_in(&dir.path().join("gone")).unwrap(),
            Vec::<i32>::new()
        );
    }

    #[test]
    fn tree_lists_parents_before_children() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b/c")).unwrap();
        std::fs::create_dir_all(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("a/file"), "").unwrap();
        let t = tree(dir.path()).unwrap();
        assert_eq!(t.len(), 5);
        let pos = |p: &str| t.iter().position(|x| x == &dir.path().join(p)).unwrap();
        assert!(pos("a") < pos("a/b") && pos("a/b") < pos("a/b/c"));
        assert!(tree(&dir.path().join("missing")).unwrap().is_empty());
    }
}
