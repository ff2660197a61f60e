//! `ImageHasher`: the image's hash over the rescue domain, computed from the data as it is
//! copied, never by reading the source again. BLAKE3 (the default) takes the data in any order
//! ([`Blake3Tree`]); SHA-256 is sequential, so it takes the data in order until the first gap
//! (a bad area, or data rescued by an earlier run) and reads the rest back from the image.

use std::fs::File;
use std::os::unix::fs::FileExt;

use sha2::Digest;

use super::blake3_tree::Blake3Tree;
use super::options::HashAlgorithm;

/// SHA-256 fed in order from `cursor`.
struct Sequential {
    hasher: Box<sha2::Sha256>,
    cursor: u64,
    end: u64,
    inline_bytes: u64,
}

impl Sequential {
    fn offer(&mut self, pos: u64, data: &[u8]) {
        if pos == self.cursor {
            let take = data
                .len()
                .min(usize::try_from(self.end - self.cursor).unwrap_or(usize::MAX));
            self.hasher.update(&data[..take]);
            self.cursor += take as u64;
            self.inline_bytes += take as u64;
        }
    }

    fn finish(mut self, image: &File) -> std::io::Result<String> {
        let mut buf = vec![0u8; 1 << 20];
        while self.cursor < self.end {
            let n = usize::try_from(self.end - self.cursor)
                .unwrap_or(buf.len())
                .min(buf.len());
            let got = match image.read_at(&mut buf[..n], self.cursor)? {
                0 => {
                    // Past the end of the file: the image reads as zeros there.
                    buf[..n].fill(0);
                    n
                }
                k => k,
            };
            self.hasher.update(&buf[..got]);
            self.cursor += got as u64;
        }
        Ok(hex::encode(self.hasher.finalize()))
    }
}

enum State {
    Sha256(Sequential),
    Blake3(Box<Blake3Tree>),
    None,
}

/// The hash over the image bytes `[start, end)`.
pub(crate) struct ImageHasher {
    state: State,
}

impl ImageHasher {
    pub(crate) fn new(algorithm: HashAlgorithm, start: u64, end: u64) -> Self {
        let state = match algorithm {
            HashAlgorithm::Sha256 => State::Sha256(Sequential {
                hasher: Box::default(),
                cursor: start,
                end,
                inline_bytes: 0,
            }),
            HashAlgorithm::Blake3 => State::Blake3(Box::new(Blake3Tree::new(start, end))),
            HashAlgorithm::None => State::None,
        };
        Self { state }
    }

    /// True when a hash is being computed.
    pub(crate) fn enabled(&self) -> bool {
        !matches!(self.state, State::None)
    }

    /// Bytes hashed from memory while copying.
    pub(crate) fn inline_bytes(&self) -> u64 {
        match &self.state {
            State::Sha256(s) => s.inline_bytes,
            State::Blake3(t) => t.inline_bytes,
            State::None => 0,
        }
    }

    /// Offers the bytes written at `pos`.
    pub(crate) fn offer(&mut self, pos: u64, data: &[u8]) {
        match &mut self.state {
            State::Sha256(s) => s.offer(pos, data),
            State::Blake3(t) => t.offer(pos, data),
            State::None => {}
        }
    }

    /// Reads back from the image what was not hashed from memory; returns `algorithm:hex`.
    pub(crate) fn finish(self, image: &File) -> std::io::Result<Option<String>> {
        Ok(match self.state {
            State::Sha256(s) => Some(format!("sha256:{}", s.finish(image)?)),
            State::Blake3(t) => Some(format!("blake3:{}", t.finish(image)?)),
            State::None => None,
        })
    }
}
