//! `follow`: new lines of a container's live log file as they are written, across size
//! rotation, until the container stops (as the kubelet's follow ends when the container is no
//! longer running).

use super::cri::{Joiner, Render};
use super::{container_status, restarts};
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::runtime::logs::rotated_files;
use crate::store::Store;
use serde_json::Value;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;

/// The pod's status is read every this many idle polls (of `IDLE`).
const CHECK_EVERY: u32 = 3;
pub const IDLE: std::time::Duration = std::time::Duration::from_millis(100);

/// Whose container is followed.
pub struct Who {
    pub store: Arc<Store>,
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
}

pub enum Step {
    Data(String),
    Idle,
    End,
}

pub struct Follow {
    pub dir: PathBuf,
    pub restart: u64,
    /// `<dir>/<restart>.log`, which the writer renames away when it rotates.
    pub live: PathBuf,
    /// The file being read (it stays readable after a rename, even after removal).
    pub file: Option<File>,
    /// `file` is the live file (else the rotated file `reading`).
    pub on_live: bool,
    pub reading: Option<PathBuf>,
    /// The newest rotated file read to its end.
    pub done: Option<PathBuf>,
    /// Bytes of a record not yet terminated by its newline.
    pub buf: Vec<u8>,
    pub joiner: Joiner,
    pub render: Render,
    pub who: Who,
    pub idle: u32,
    /// The container stopped: drain what is left, then end.
    pub ending: bool,
}

fn inode(f: &File) -> Option<u64> {
    f.metadata().ok().map(|m| m.ino())
}

impl Follow {
    /// Read what was appended to the open file and render its complete records.
    fn drain(&mut self) -> String {
        let Some(f) = self.file.as_mut() else {
            return String::new();
        };
        let start = self.buf.len();
        let _ = f.read_to_end(&mut self.buf);
        if self.buf.len() == start {
            return String::new();
        }
        let Some(cut) = self.buf.iter().rposition(|b| *b == b'\n') else {
            return String::new();
        };
        let complete: Vec<u8> = self.buf.drain(..=cut).collect();
        let lines = self.joiner.lines(&String::from_utf8_lossy(&complete));
        self.render.write_all(&lines)
    }

    /// Move on when the open file is finished: a rotated file is complete at its end; the
    /// live file is finished once the writer renamed it (rotation). The next file is the
    /// oldest rotated one not read yet, else the live file, so lines rotated twice between
    /// two polls are still read, in order.
    /// Returns `None` when there is nothing to move to yet, else the last lines of the
    /// finished file (written between our last read and the rename).
    fn advance(&mut self) -> Option<String> {
        let current = self.file.as_ref().and_then(inode);
        let rotated = {
            let mut r = rotated_files(&self.live);
            r.sort();
            r
        };
        if self.on_live {
            let live_ino = std::fs::metadata(&self.live).ok().map(|m| m.ino());
            if live_ino.is_none() || live_ino == current {
                return None;
            }
            // Ours was renamed: its new name is where we are in the rotated sequence.
            if let Some(ours) = rotated
                .iter()
                .find(|p| std::fs::metadata(p).is_ok_and(|m| Some(m.ino()) == current))
            {
                self.done = Some(ours.clone());
            }
        } else if let Some(c) = &self.reading {
            self.done = Some(c.clone());
        }
        let next = rotated
            .into_iter()
            .find(|p| self.done.as_ref().is_none_or(|d| p > d));
        let (path, on_live) = match next {
            Some(p) => (p, false),
            None => (self.live.clone(), true),
        };
        let f = File::open(&path).ok()?;
        let last = self.drain();
        self.file = Some(f);
        self.on_live = on_live;
        self.reading = (!on_live).then_some(path);
        // The writer rotates after whole records only; a torn record cannot continue.
        self.buf.clear();
        Some(last)
    }

    /// One step: new output, nothing yet, or the end of the stream.
    pub fn step(&mut self) -> Step {
        loop {
            if self.render.exhausted() {
                return Step::End;
            }
            let out = self.drain();
            if !out.is_empty() {
                return Step::Data(out);
            }
            if let Some(last) = self.advance() {
                if !last.is_empty() {
                    return Step::Data(last);
                }
                continue;
            }
            if self.ending {
                return Step::End;
            }
            self.idle += 1;
            if self.idle.is_multiple_of(CHECK_EVERY) && !self.still_running() {
                // Lines written just before the container stopped are read on the next turn.
                self.ending = true;
                continue;
            }
            return Step::Idle;
        }
    }

    /// Whether the followed run of the container may still write: the pod exists with the
    /// same uid, no newer run has a log file, and its status does not say it stopped.
    fn still_running(&self) -> bool {
        let Some(kind) = kinds::lookup("pods") else {
            return false;
        };
        let pod = match self
            .who
            .store
            .get(kind, Some(&self.who.namespace), &self.who.pod)
        {
            Ok(p) if p.uid() == self.who.uid => p,
            _ => return false,
        };
        if restarts(&self.dir).into_iter().any(|r| r > self.restart) {
            return false;
        }
        running(&pod, &self.who.container, self.restart)
    }
}

/// What the pod's status says about run `restart` of `container`. Without a status for it
/// (nothing reported yet) the container counts as running.
pub fn running(pod: &Value, container: &str, restart: u64) -> bool {
    let Some(st) = container_status(pod, container) else {
        return true;
    };
    let count = st.get("restartCount").and_then(Value::as_u64).unwrap_or(0);
    if restart > count {
        // The agent started a newer run than its status reports yet.
        return true;
    }
    if st.pointer("/state/terminated").is_some() {
        return false;
    }
    // Waiting to be restarted after the last run ended (CrashLoopBackOff).
    !(st.pointer("/state/waiting").is_some() && st.pointer("/lastState/terminated").is_some())
}
