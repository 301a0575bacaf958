//! Reading a streamed body as it arrives, cut at newlines: one JSON line per watch event, whole
//! lines of a log.

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Body;

pub struct LineReader<B> {
    body: B,
    buf: BytesMut,
    eof: bool,
}

impl<B> LineReader<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    pub fn new(body: B) -> Self {
        LineReader {
            body,
            buf: BytesMut::new(),
            eof: false,
        }
    }

    /// The next line without its newline; a last line without one is returned at the end.
    pub async fn next_line(&mut self) -> Option<Result<Bytes, B::Error>> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let mut line = self.buf.split_to(i + 1);
                line.truncate(i);
                return Some(Ok(line.freeze()));
            }
            match self.fill().await {
                Some(Ok(())) => {}
                Some(Err(e)) => return Some(Err(e)),
                None => return self.rest(),
            }
        }
    }

    /// All complete lines received so far (with their newlines), waiting for at least one; the
    /// unterminated rest comes at the end.
    pub async fn next_lines(&mut self) -> Option<Result<Bytes, B::Error>> {
        loop {
            if let Some(i) = self.buf.iter().rposition(|b| *b == b'\n') {
                return Some(Ok(self.buf.split_to(i + 1).freeze()));
            }
            match self.fill().await {
                Some(Ok(())) => {}
                Some(Err(e)) => return Some(Err(e)),
                None => return self.rest(),
            }
        }
    }

    /// What is left after the body ended, if anything.
    fn rest(&mut self) -> Option<Result<Bytes, B::Error>> {
        if self.buf.is_empty() {
            None
        } else {
            Some(Ok(self.buf.split().freeze()))
        }
    }

    /// Read one more data frame; `None` once the body has ended.
    async fn fill(&mut self) -> Option<Result<(), B::Error>> {
        if self.eof {
            return None;
        }
        loop {
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                        return Some(Ok(()));
                    }
                    // Trailers carry nothing for us.
                }
                Some(Err(e)) => {
                    self.eof = true;
                    return Some(Err(e));
                }
                None => {
                    self.eof = true;
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    use std::convert::Infallible;

    fn body(chunks: &[&'static str]) -> impl Body<Data = Bytes, Error = Infallible> + Unpin {
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = chunks
            .iter()
            .map(|c| Ok(Frame::data(Bytes::from_static(c.as_bytes()))))
            .collect();
        StreamBody::new(futures::stream::iter(frames))
    }

    #[tokio::test]
    async fn lines_split_across_chunks() {
        let mut r = LineReader::new(body(&["{\"a\":", "1}\n{\"b\"", ":2}\n\n", "tail"]));
        let mut got = Vec::new();
        while let Some(l) = r.next_line().await {
            got.push(String::from_utf8(l.unwrap().to_vec()).unwrap());
        }
        assert_eq!(got, ["{\"a\":1}", "{\"b\":2}", "", "tail"]);
    }

    #[tokio::test]
    async fn whole_lines_for_logs() {
        let mut r = LineReader::new(body(&["one\ntw", "o\nthree\nfo", "", "ur"]));
        let mut got = Vec::new();
        while let Some(l) = r.next_lines().await {
            got.push(String::from_utf8(l.unwrap().to_vec()).unwrap());
        }
        // The unterminated last line is handed out as it is.
        assert_eq!(got, ["one\n", "two\nthree\n", "four"]);
        assert!(r.next_lines().await.is_none());
        let mut r = LineReader::new(body(&[]));
        assert!(r.next_lines().await.is_none());
    }
}
