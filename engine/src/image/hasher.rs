//! `ImageHasher`: the image's hash, fed in order from the data being copied; what cannot be fed
//! in order (areas rescued earlier, or after a gap) is read back from the image at the end,
//! never from the source.

use std::fs::File;
use std::os::unix::fs::FileExt;

use sha2::Digest;

use super::options::HashAlgorithm;

enum State {
    Sha256(Box<sha2::Sha256>),
    Blake3(Box<blake3::Hasher>),
    None,
}

/// A hash over the image bytes `[start, end)`, fed in order.
pub(crate) struct ImageHasher {
    state: State,
    algorithm: HashAlgorithm,
    /// The next byte the hash needs.
    pub(crate) cursor: u64,
    end: u64,
    /// Bytes fed from memory while copying.
    pub(crate) inline_bytes: u64,
}

impl ImageHasher {
    pub(crate) fn new(algorithm: HashAlgorithm, start: u64, end: u64) -> Self {
        let state = match algorithm {
            HashAlgorithm::Sha256 => State::Sha256(Box::default()),
            HashAlgorithm::Blake3 => State::Blake3(Box::default()),
            HashAlgorithm::None => State::None,
        };
        Self {
            state,
            algorithm,
            cursor: start,
            end,
            inline_bytes: 0,
        }
    }

    /// True when a hash is being computed.
    pub(crate) fn enabled(&self) -> bool {
        !matches!(self.state, State::None)
    }

    fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Sha256(h) => h.update(data),
            State::Blake3(h) => {
                h.update(data);
            }
            State::None => {}
        }
        self.cursor += data.len() as u64;
    }

    /// Offers the bytes written at `pos`; they are hashed only when they come next in order.
    pub(crate) fn offer(&mut self, pos: u64, data: &[u8]) {
        if pos == self.cursor && self.enabled() {
            let take = data
                .len()
                .min(usize::try_from(self.end - self.cursor).unwrap_or(usize::MAX));
            self.update(&data[..take]);
            self.inline_bytes += take as u64;
        }
    }

    /// Reads the rest of `[cursor, end)` back from the image and returns `algorithm:hex`.
    pub(crate) fn finish(mut self, image: &File) -> std::io::Result<Option<String>> {
        if !self.enabled() {
            return Ok(None);
        }
        let mut buf = vec![0u8; 1 << 20];
        while self.cursor < self.end {
            let n = usize::try_from(self.end - self.cursor)
                .unwrap_or(buf.len())
                .min(buf.len());
            let got = image.read_at(&mut buf[..n], self.cursor)?;
            if got == 0 {
                // Past the end of the file: the image reads as zeros there.
                buf[..n].fill(0);
                self.update(&buf[..n]);
            } else {
                self.update(&buf[..got]);
            }
        }
        let hex = match self.state {
            State::Sha256(h) => hex::encode(h.finalize()),
            State::Blake3(h) => h.finalize().to_hex().to_string(),
            State::None => return Ok(None),
        };
        let name = match self.algorithm {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Blake3 => "blake3",
            HashAlgorithm::None => "none",
        };
        Ok(Some(format!("{name}:{hex}")))
    }
}
