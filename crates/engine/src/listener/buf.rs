//! The read buffer of an HTTP connection (client or member side).

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Room for a head (HAProxy's `tune.bufsize`); a larger one is refused.
pub const BUFFER: usize = 16 * 1024;

/// A read buffer: bytes at `start..end` wait to be used. Allocated on first read.
#[derive(Default)]
pub struct Buf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl Buf {
    pub fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn is_full(&self) -> bool {
        self.end - self.start >= BUFFER
    }

    pub fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.clear();
        }
    }

    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Reads once into the free space; `Ok(0)` at end of stream.
    pub async fn fill(&mut self, stream: &mut (impl AsyncRead + Unpin)) -> io::Result<usize> {
        if self.data.is_empty() {
            self.data = vec![0; BUFFER];
        }
        if self.end == self.data.len() {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = stream.read(&mut self.data[self.end..]).await?;
        self.end += n;
        Ok(n)
    }
}
