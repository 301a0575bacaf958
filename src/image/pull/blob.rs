//! Streaming a blob from a response body into the store: the body is read here (async) and
//! handed through a bounded channel to `ImageStore::put_blob` on a blocking thread, which
//! hashes it as it writes and refuses content with another digest.

use super::http;
use crate::image::ImageStore;
use crate::image::spec::Descriptor;
use bytes::{Buf, Bytes};
use hyper::body::Incoming;
use std::io::{self, Read};
use tokio::sync::mpsc;

/// Chunks in flight between the network and the disk.
const QUEUE: usize = 16;

/// Store the blob `desc` from `body`, verified against its digest and size.
pub async fn store_blob(
    store: &ImageStore,
    mut body: Incoming,
    desc: &Descriptor,
    what: &str,
) -> Result<(), String> {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(QUEUE);
    // The blocking thread needs its own handle on the store: opening one is cheap.
    let dir = store.dir().to_path_buf();
    let digest = desc.digest.clone();
    let what_owned = what.to_string();
    let writer = tokio::task::spawn_blocking(move || {
        let store = ImageStore::open(dir).map_err(|e| e.to_string())?;
        let reader = ChannelReader {
            rx,
            chunk: Bytes::new(),
        };
        store
            .put_blob(reader, &digest, &what_owned)
            .map_err(|e| e.to_string())
    });
    let mut received = 0u64;
    let mut feed_error = None;
    loop {
        let chunk = match http::next_chunk(&mut body, what).await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                feed_error = Some(e);
                break;
            }
        };
        received += chunk.len() as u64;
        if received > desc.size {
            // A registry sending more than the descriptor says could fill the disk.
            feed_error = Some(format!(
                "{what}: the registry sent more than the {} bytes its descriptor says",
                desc.size
            ));
            break;
        }
        if tx.send(Ok(chunk)).await.is_err() {
            break; // The writer failed; its error is reported below.
        }
    }
    if let Some(e) = &feed_error {
        let _ = tx.send(Err(io::Error::other(e.clone()))).await;
    }
    drop(tx);
    let written = writer
        .await
        .map_err(|e| format!("{what}: the writer thread failed: {e}"))?;
    if let Some(e) = feed_error {
        return Err(e);
    }
    let size = written?;
    if size != desc.size {
        return Err(format!(
            "{what}: {size} bytes, but its descriptor says {}",
            desc.size
        ));
    }
    Ok(())
}

/// `Read` over chunks sent from the async side; an `Err` chunk fails the read.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(c)) => self.chunk = c,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}
