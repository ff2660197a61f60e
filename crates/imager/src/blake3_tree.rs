//! `Blake3Tree`: the image's BLAKE3 hash computed from data arriving in any order. BLAKE3 is a
//! tree hash: every 1 MiB-aligned piece of the input is a subtree whose chaining value can be
//! computed alone, so each leaf is hashed as soon as its bytes have been copied, whatever the
//! order of the rescue's phases, and the leaves are merged at the end. Only leaves not copied
//! whole in order by this run (those holding unrescued sectors, or rescued by an earlier run)
//! are read back from the image. The result equals `b3sum` of the image.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

use blake3::hazmat::{
    ChainingValue, HasherExt, Mode, left_subtree_len, merge_subtrees_non_root, merge_subtrees_root,
};

/// Bytes per leaf at least: a power of two of BLAKE3 chunks.
const MIN_LEAF: u64 = 1 << 20;

/// Leaves at most (their chaining values are kept until the end: 33 MB at most).
const MAX_LEAVES: u64 = 1 << 20;

/// Leaves being filled at once; beyond this the oldest pieces are left for the read-back.
const MAX_PARTIAL: usize = 256;

/// A leaf being filled: its hasher and the next byte (relative to the leaf) it needs.
struct Partial {
    hasher: Box<blake3::Hasher>,
    next: u64,
}

/// The hash over image bytes `[start, start + len)`.
pub(crate) struct Blake3Tree {
    start: u64,
    len: u64,
    /// Bytes per leaf: a power of two, at least `MIN_LEAF`.
    leaf: u64,
    /// Per leaf: its chaining value (or, for a single-leaf input, its root hash) once known.
    done: Vec<Option<[u8; 32]>>,
    partial: HashMap<u64, Partial>,
    /// Bytes hashed from memory.
    pub(crate) inline_bytes: u64,
}

impl Blake3Tree {
    pub(crate) fn new(start: u64, end: u64) -> Self {
        let len = end.saturating_sub(start);
        Self::with_leaf(
            start,
            end,
            len.div_ceil(MAX_LEAVES).next_power_of_two().max(MIN_LEAF),
        )
    }

    /// A tree with leaves of `leaf` bytes (a power of two, at least `MIN_LEAF`).
    fn with_leaf(start: u64, end: u64, leaf: u64) -> Self {
        let len = end.saturating_sub(start);
        let leaves = usize::try_from(len.div_ceil(leaf)).unwrap_or(0);
        Self {
            start,
            len,
            leaf,
            done: vec![None; leaves],
            partial: HashMap::new(),
            inline_bytes: 0,
        }
    }

    fn leaf_len(&self, leaf: u64) -> u64 {
        (self.len - leaf * self.leaf).min(self.leaf)
    }

    fn finish_leaf(&self, hasher: &blake3::Hasher) -> [u8; 32] {
        if self.len <= self.leaf {
            *hasher.finalize().as_bytes()
        } else {
            hasher.finalize_non_root()
        }
    }

    /// Offers the bytes written at image position `pos`.
    pub(crate) fn offer(&mut self, pos: u64, data: &[u8]) {
        let mut pos = pos;
        let mut data = data;
        let end = self.start + self.len;
        if pos < self.start {
            let skip = usize::try_from(self.start - pos)
                .unwrap_or(usize::MAX)
                .min(data.len());
            data = &data[skip..];
            pos = self.start;
        }
        if pos >= end {
            return;
        }
        let keep = usize::try_from(end - pos)
            .unwrap_or(usize::MAX)
            .min(data.len());
        data = &data[..keep];
        while !data.is_empty() {
            let rel = pos - self.start;
            let leaf = rel / self.leaf;
            let in_leaf = rel % self.leaf;
            let leaf_len = self.leaf_len(leaf);
            let take = usize::try_from(leaf_len - in_leaf)
                .unwrap_or(usize::MAX)
                .min(data.len());
            self.feed(leaf, in_leaf, &data[..take]);
            data = &data[take..];
            pos += take as u64;
        }
    }

    fn feed(&mut self, leaf: u64, in_leaf: u64, piece: &[u8]) {
        let Some(slot) = usize::try_from(leaf).ok().filter(|&i| i < self.done.len()) else {
            return;
        };
        if self.done[slot].is_some() {
            return;
        }
        let leaf_len = self.leaf_len(leaf);
        let room = self.partial.len() < MAX_PARTIAL;
        let partial = match self.partial.entry(leaf) {
            std::collections::hash_map::Entry::Occupied(e) if e.get().next == in_leaf => {
                e.into_mut()
            }
            // Out of order inside the leaf: read back at the end.
            std::collections::hash_map::Entry::Occupied(_) => return,
            std::collections::hash_map::Entry::Vacant(e) if in_leaf == 0 && room => {
                let mut hasher = Box::new(blake3::Hasher::new());
                hasher.set_input_offset(leaf * self.leaf);
                e.insert(Partial { hasher, next: 0 })
            }
            std::collections::hash_map::Entry::Vacant(_) => return,
        };
        partial.hasher.update(piece);
        partial.next += piece.len() as u64;
        self.inline_bytes += piece.len() as u64;
        if partial.next == leaf_len {
            if let Some(p) = self.partial.remove(&leaf) {
                self.done[slot] = Some(self.finish_leaf(&p.hasher));
            }
        }
    }

    /// Reads back the leaves not hashed from memory and returns the BLAKE3 hash as hex.
    pub(crate) fn finish(mut self, image: &File) -> std::io::Result<String> {
        if self.len == 0 {
            return Ok(blake3::hash(b"").to_hex().to_string());
        }
        let mut buf = vec![0u8; usize::try_from(self.leaf).unwrap_or(0)];
        for slot in 0..self.done.len() {
            if self.done[slot].is_some() {
                continue;
            }
            let leaf = slot as u64;
            let n = self.leaf_len(leaf) as usize;
            let at = self.start + leaf * self.leaf;
            let mut got = 0;
            while got < n {
                match image.read_at(&mut buf[got..n], at + got as u64)? {
                    0 => {
                        // Past the end of the file: the image reads as zeros there.
                        buf[got..n].fill(0);
                        got = n;
                    }
                    k => got += k,
                }
            }
            let mut hasher = blake3::Hasher::new();
            hasher.set_input_offset(leaf * self.leaf);
            hasher.update(&buf[..n]);
            self.done[slot] = Some(self.finish_leaf(&hasher));
        }
        let cvs: Vec<ChainingValue> = self.done.iter().map(|cv| cv.unwrap_or([0; 32])).collect();
        if self.len <= self.leaf {
            return Ok(hex::encode(cvs.first().copied().unwrap_or([0; 32])));
        }
        let left = left_subtree_len(self.len);
        let l = subtree(&cvs, self.leaf, 0, left);
        let r = subtree(&cvs, self.leaf, left, self.len - left);
        let root = merge_subtrees_root(&l, &r, Mode::Hash);
        Ok(root.to_hex().to_string())
    }
}

/// The chaining value of the subtree over `[offset, offset + len)` (relative, leaf-aligned).
fn subtree(cvs: &[ChainingValue], leaf: u64, offset: u64, len: u64) -> ChainingValue {
    if len <= leaf {
        let i = usize::try_from(offset / leaf).unwrap_or(usize::MAX);
        return cvs.get(i).copied().unwrap_or([0; 32]);
    }
    let left = left_subtree_len(len);
    let l = subtree(cvs, leaf, offset, left);
    let r = subtree(cvs, leaf, offset + left, len - left);
    merge_subtrees_non_root(&l, &r, Mode::Hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u64).wrapping_mul(2_654_435_761).rotate_right(13) as u8)
            .collect()
    }

    /// Offers `pieces` of `[start, end)` in the given order; the file holds the whole image.
    fn check(total: usize, start: u64, end: u64, pieces: &[(u64, u64)]) {
        check_leaf(total, start, end, pieces, MIN_LEAF);
    }

    fn check_leaf(total: usize, start: u64, end: u64, pieces: &[(u64, u64)], leaf: u64) {
        let img = data(total);
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("img");
        std::fs::write(&path, &img).expect("img");
        let mut t = Blake3Tree::with_leaf(start, end, leaf);
        for &(p, n) in pieces {
            t.offer(p, &img[p as usize..(p + n) as usize]);
        }
        let file = File::open(&path).expect("open");
        let got = t.finish(&file).expect("finish");
        let want = blake3::hash(&img[start as usize..end as usize])
            .to_hex()
            .to_string();
        assert_eq!(
            got, want,
            "total {total} domain {start}..{end} pieces {pieces:?}"
        );
    }

    #[test]
    fn equals_b3sum_whatever_the_order() {
        const M: u64 = MIN_LEAF;
        for &len in &[
            0u64,
            1,
            1023,
            1024,
            5000,
            M - 1,
            M,
            M + 1,
            2 * M,
            3 * M + 512,
            5 * M + 7,
            8 * M,
        ] {
            let total = len as usize;
            // In order, 1 MiB at a time.
            let fwd: Vec<(u64, u64)> = (0..len.div_ceil(M))
                .map(|i| (i * M, (len - i * M).min(M)))
                .collect();
            check(total, 0, len, &fwd);
            // Reversed, in 64 KiB pieces.
            let step = 65_536;
            let mut rev: Vec<(u64, u64)> = (0..len.div_ceil(step))
                .map(|i| (i * step, (len - i * step).min(step)))
                .collect();
            rev.reverse();
            check(total, 0, len, &rev);
            // Sector pieces, every third one missing (read back), in order.
            let sec: Vec<(u64, u64)> = (0..len.div_ceil(512))
                .filter(|i| i % 3 != 1)
                .map(|i| (i * 512, (len - i * 512).min(512)))
                .collect();
            check(total, 0, len, &sec);
            // Nothing offered at all.
            check(total, 0, len, &[]);
        }
    }

    #[test]
    fn hashes_a_domain_inside_the_image() {
        let total = (6 * MIN_LEAF) as usize;
        let (s, e) = (MIN_LEAF / 2 + 512, 5 * MIN_LEAF - 4096);
        let pieces: Vec<(u64, u64)> = (0..6).map(|i| (i * MIN_LEAF, MIN_LEAF)).collect();
        check(total, s, e, &pieces);
    }

    #[test]
    fn larger_leaves_for_large_domains() {
        assert_eq!(Blake3Tree::new(0, 1 << 40).leaf, MIN_LEAF);
        assert_eq!(Blake3Tree::new(0, 16 << 40).leaf, 16 << 20);
        let total = (10 * MIN_LEAF + 3) as usize;
        let pieces: Vec<(u64, u64)> = (0..11)
            .map(|i| (i * MIN_LEAF, (total as u64 - i * MIN_LEAF).min(MIN_LEAF)))
            .collect();
        check_leaf(total, 0, total as u64, &pieces, 4 * MIN_LEAF);
        check_leaf(total, 0, total as u64, &pieces[3..], 4 * MIN_LEAF);
    }
}
