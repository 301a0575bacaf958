//! IP address management for the pod network: one file per allocated address under
//! `<state>/network/ips/<address>`, holding the pod's uid. The file is created atomically
//! (written under a temporary name, then hard-linked to its final name, which fails if the
//! address is taken), so two allocators — threads or processes — never hand out the same
//! address, and allocations survive a restart of peapod: a re-adopted pod keeps its IP.

use super::cidr::Ipv4Cidr;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug)]
pub struct Ipam {
    dir: PathBuf,
    cidr: Ipv4Cidr,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_uid: HashMap<String, Ipv4Addr>,
    used: HashSet<u32>,
    /// Where the next search starts, so that a freed address is not reused at once.
    next: u32,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("pod network: {what} {}: {e}", path.display())
}

impl Ipam {
    /// Opens (creating) the allocation directory and loads the allocations of `cidr`.
    pub fn open(dir: &Path, cidr: Ipv4Cidr) -> Result<Ipam, String> {
        std::fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        let ipam = Ipam {
            dir: dir.to_path_buf(),
            cidr,
            inner: Mutex::new(Inner {
                next: *cidr.pod_range().start(),
                ..Default::default()
            }),
        };
        let mut inner = ipam.lock();
        for entry in std::fs::read_dir(dir).map_err(|e| io_err("read", dir, e))? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(tmp) = name.strip_prefix(".tmp-") {
                // A temporary file of an allocator that died before linking it.
                let _ = tmp;
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let Ok(ip) = name.parse::<Ipv4Addr>() else {
                continue;
            };
            let uid = std::fs::read_to_string(entry.path()).unwrap_or_default();
            inner.used.insert(u32::from(ip));
            if cidr.contains(ip) && !uid.trim().is_empty() {
                inner.by_uid.insert(uid.trim().to_string(), ip);
            }
        }
        drop(inner);
        Ok(ipam)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The maps stay consistent even if a holder panicked: each update is one insert.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn cidr(&self) -> Ipv4Cidr {
        self.cidr
    }

    /// The address of pod `uid`, if it has one.
    pub fn get(&self, uid: &str) -> Option<Ipv4Addr> {
        self.lock().by_uid.get(uid).copied()
    }

    /// Every allocation: (pod uid, address).
    pub fn allocations(&self) -> Vec<(String, Ipv4Addr)> {
        let inner = self.lock();
        inner
            .by_uid
            .iter()
            .map(|(u, ip)| (u.clone(), *ip))
            .collect()
    }

    /// The address of pod `uid`: the one it already has, else the next free one.
    pub fn allocate(&self, uid: &str) -> Result<Ipv4Addr, String> {
        if uid.is_empty() || uid.contains(['/', '\n', '\0']) {
            return Err(format!("pod network: invalid pod uid {uid:?}"));
        }
        let mut inner = self.lock();
        if let Some(ip) = inner.by_uid.get(uid) {
            return Ok(*ip);
        }
        let range = self.cidr.pod_range();
        let (first, last) = (*range.start(), *range.end());
        let total = u64::from(last - first) + 1;
        let tmp = self.dir.join(format!(".tmp-{uid}"));
        std::fs::write(&tmp, uid).map_err(|e| io_err("write", &tmp, e))?;
        let mut candidate = inner.next.clamp(first, last);
        let mut result = None;
        for _ in 0..total {
            if !inner.used.contains(&candidate) {
                let ip = Ipv4Addr::from(candidate);
                let path = self.dir.join(ip.to_string());
                match std::fs::hard_link(&tmp, &path) {
                    Ok(()) => {
                        result = Some(Ok(ip));
                        break;
                    }
                    // Taken by another allocator sharing the directory.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        inner.used.insert(candidate);
                    }
                    Err(e) => {
                        result = Some(Err(io_err("create", &path, e)));
                        break;
                    }
                }
            }
            candidate = if candidate >= last {
                first
            } else {
                candidate + 1
            };
        }
        let _ = std::fs::remove_file(&tmp);
        match result {
            Some(Ok(ip)) => {
                inner.used.insert(u32::from(ip));
                inner.by_uid.insert(uid.to_string(), ip);
                inner.next = if u32::from(ip) >= last {
                    first
                } else {
                    u32::from(ip) + 1
                };
                Ok(ip)
            }
            Some(Err(e)) => Err(e),
            None => Err(format!(
                "pod network {}: no free address for pod {uid} (all {total} in use); delete pods or choose a larger --pod-cidr",
                self.cidr
            )),
        }
    }

    /// Frees the address of pod `uid` (nothing when it has none).
    pub fn release(&self, uid: &str) -> Result<Option<Ipv4Addr>, String> {
        let mut inner = self.lock();
        let Some(ip) = inner.by_uid.remove(uid) else {
            return Ok(None);
        };
        let path = self.dir.join(ip.to_string());
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                inner.by_uid.insert(uid.to_string(), ip);
                return Err(io_err("remove", &path, e));
            }
        }
        inner.used.remove(&u32::from(ip));
        Ok(Some(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn allocates_persists_and_releases() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::open(dir.path(), cidr("10.7.0.0/24")).unwrap();
        let a = ipam.allocate("uid-a").unwrap();
        let b = ipam.allocate("uid-b").unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 7, 0, 2));
        assert_eq!(b, Ipv4Addr::new(10, 7, 0, 3));
        assert_eq!(
            ipam.allocate("uid-a").unwrap(),
            a,
            "allocation is idempotent"
        );
        drop(ipam);
        let again = Ipam::open(dir.path(), cidr("10.7.0.0/24")).unwrap();
        assert_eq!(again.get("uid-a"), Some(a), "survives a reopen");
        assert_eq!(again.allocate("uid-b").unwrap(), b);
        assert_eq!(again.release("uid-a").unwrap(), Some(a));
        assert_eq!(again.release("uid-a").unwrap(), None);
        assert!(!dir.path().join(a.to_string()).exists());
        let c = again.allocate("uid-c").unwrap();
        assert_ne!(c, b);
        assert_eq!(
            Ipam::open(dir.path(), cidr("10.7.0.0/24"))
                .unwrap()
                .get("uid-a"),
            None
        );
    }

    #[test]
    fn never_hands_out_network_gateway_or_broadcast_and_reports_exhaustion() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::open(dir.path(), cidr("10.7.0.0/29")).unwrap();
        let got: Vec<Ipv4Addr> = (0..5)
            .map(|i| ipam.allocate(&format!("u{i}")).unwrap())
            .collect();
        let want: Vec<Ipv4Addr> = (2..=6).map(|i| Ipv4Addr::new(10, 7, 0, i)).collect();
        assert_eq!(got, want);
        let e = ipam.allocate("u-last").unwrap_err();
        assert!(
            e.contains("10.7.0.0/29") && e.contains("no free address"),
            "{e}"
        );
        assert!(e.contains("u-last") && e.contains("--pod-cidr"), "{e}");
        ipam.release("u3").unwrap();
        assert_eq!(ipam.allocate("u-last").unwrap(), Ipv4Addr::new(10, 7, 0, 5));
        assert!(ipam.allocate("bad/uid").is_err());
    }

    #[test]
    fn concurrent_allocators_never_share_an_address() {
        let dir = tempfile::tempdir().unwrap();
        // Two allocators on one directory stand for two processes; threads share each.
        let first = Arc::new(Ipam::open(dir.path(), cidr("10.7.0.0/24")).unwrap());
        let second = Arc::new(Ipam::open(dir.path(), cidr("10.7.0.0/24")).unwrap());
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let ipam = if t % 2 == 0 {
                    first.clone()
                } else {
                    second.clone()
                };
                std::thread::spawn(move || {
                    (0..25)
                        .map(|i| ipam.allocate(&format!("t{t}-{i}")).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<Ipv4Addr> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(all.len(), 200);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 200, "an address was handed out twice");
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 200, "one file per allocation, no temporary left");
    }
}
