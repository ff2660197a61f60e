//! The log's anchor, `<log>.head`: rewritten after every append with the number of lines and
//! the sha256 of the last one, and an HMAC of both under the run's state key. Nothing later in
//! a hash chain covers its last line, so without the anchor an edited last line, a cut tail or
//! a forged line appended with the right `prev` would all verify; with it they do not.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What an anchor records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Lines in the log when it was written.
    pub lines: u64,
    /// sha256 of the last of them.
    pub sha256: String,
    /// HMAC-SHA256 of `lines` and `sha256` under the state key, when the log had one.
    pub mac: Option<String>,
}

/// Where the anchor of the log at `log` lives.
pub fn anchor_path(log: &Path) -> PathBuf {
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(".head");
    log.with_file_name(name)
}

/// The state key beside a log in the default layout (`STATE/log.jsonl`, `STATE/key`).
pub fn key_beside(log: &Path) -> Option<[u8; 32]> {
    let bytes = std::fs::read(log.with_file_name("key")).ok()?;
    bytes.try_into().ok()
}

/// HMAC-SHA256 (RFC 2104) of the anchor's message.
fn mac(key: &[u8; 32], lines: u64, sha256: &str) -> String {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(format!("salvage log head {lines} {sha256}"))
        .finalize();
    hex::encode(
        Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize(),
    )
}

impl Anchor {
    /// The anchor of a log of `lines` lines whose last line hashes to `sha256`.
    pub fn new(lines: u64, sha256: &str, key: Option<&[u8; 32]>) -> Self {
        Self {
            lines,
            sha256: sha256.to_string(),
            mac: key.map(|k| mac(k, lines, sha256)),
        }
    }

    /// Whether the MAC is right under `key` (an anchor without a MAC never is).
    pub fn mac_holds(&self, key: &[u8; 32]) -> bool {
        self.mac
            .as_deref()
            .is_some_and(|m| m == mac(key, self.lines, &self.sha256))
    }

    /// The file's text: always the same length, so a rewrite in place is one small write.
    fn render(&self) -> String {
        format!(
            "{:020} {} {}\n",
            self.lines,
            self.sha256,
            self.mac.as_deref().unwrap_or(&"-".repeat(64))
        )
    }

    /// Parses an anchor file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut f = text.split_whitespace();
        let (Some(lines), Some(sha256), Some(mac), None) = (f.next(), f.next(), f.next(), f.next())
        else {
            return Err("not `LINES SHA256 MAC`".into());
        };
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let lines = lines
            .parse()
            .map_err(|_| format!("bad line count `{lines}`"))?;
        if !hex64(sha256) {
            return Err(format!("bad sha256 `{sha256}`"));
        }
        let mac = match mac {
            m if m.bytes().all(|b| b == b'-') => None,
            m if hex64(m) => Some(m.to_string()),
            m => return Err(format!("bad mac `{m}`")),
        };
        Ok(Self {
            lines,
            sha256: sha256.to_string(),
            mac,
        })
    }

    /// Reads the anchor of the log at `log`: `None` when there is none.
    pub fn read(log: &Path) -> Option<Result<Self, String>> {
        match std::fs::read_to_string(anchor_path(log)) {
            Ok(text) => Some(Self::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => Some(Err(e.to_string())),
        }
    }
}

/// The open anchor file of a log being written.
pub(crate) struct AnchorWriter {
    file: File,
    key: Option<[u8; 32]>,
    /// The file has the anchor's (fixed) length: a rewrite need not cut it.
    sized: bool,
}

impl AnchorWriter {
    /// Opens (creating, mode 0600) the anchor of the log at `log`.
    pub(crate) fn open(log: &Path, key: Option<[u8; 32]>) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(anchor_path(log))?;
        Ok(Self {
            file,
            key,
            sized: false,
        })
    }

    /// The anchor file again (for syncing it from another thread).
    pub(crate) fn try_clone_file(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    /// Records the log's new head: one write in place (the file cut to its length the first
    /// time), then `fdatasync` when `sync`.
    pub(crate) fn record(&mut self, lines: u64, sha256: &str, sync: bool) -> std::io::Result<()> {
        let text = Anchor::new(lines, sha256, self.key.as_ref()).render();
        self.file.write_all_at(text.as_bytes(), 0)?;
        if !self.sized {
            self.file.set_len(text.len() as u64)?;
            self.sized = true;
        }
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_round_trips_and_its_mac_needs_the_key() {
        let key = [7u8; 32];
        let sha = "ab".repeat(32);
        let a = Anchor::new(12, &sha, Some(&key));
        let back = Anchor::parse(&a.render()).expect("parses");
        assert_eq!(back, a);
        assert!(back.mac_holds(&key));
        assert!(!back.mac_holds(&[8u8; 32]));
        let forged = Anchor {
            lines: 13,
            ..back.clone()
        };
        assert!(!forged.mac_holds(&key), "the count is covered by the mac");
        let plain = Anchor::new(12, &sha, None);
        assert_eq!(Anchor::parse(&plain.render()).expect("parses").mac, None);
        assert!(Anchor::parse("12 xyz -").is_err());
    }
}
