//! `dir_entries`: the entries of one ext directory block (linear or an htree node, whose
//! entries are hidden behind a deleted-looking first entry) or of inline directory data.
//! A malformed entry ends the block's parse: what was read before it is kept.

/// Calls `each(inode, name, file_type)` for every live entry of a directory block, `.` and
/// `..` excluded (`file_type` is 0 without the filetype feature).
/// Returns false when the block stopped parsing before its end.
pub(crate) fn dir_entries(
    block: &[u8],
    filetype: bool,
    mut each: impl FnMut(u32, &[u8], u8),
) -> bool {
    let mut pos = 0usize;
    while pos + 8 <= block.len() {
        let ino = u32::from_le_bytes([block[pos], block[pos + 1], block[pos + 2], block[pos + 3]]);
        let mut rec_len = usize::from(u16::from_le_bytes([block[pos + 4], block[pos + 5]]));
        if block.len() >= 65536 && (rec_len == 0 || rec_len == 65535) {
            rec_len = 65536;
        }
        let name_len = if filetype {
            usize::from(block[pos + 6])
        } else {
            usize::from(u16::from_le_bytes([block[pos + 6], block[pos + 7]]))
        };
        if rec_len < 8 || rec_len % 4 != 0 || pos + rec_len > block.len() || 8 + name_len > rec_len
        {
            return false;
        }
        let name = &block[pos + 8..pos + 8 + name_len];
        if ino != 0 && name_len > 0 && name != b"." && name != b".." {
            each(ino, name, if filetype { block[pos + 7] } else { 0 });
        }
        pos += rec_len;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::dir_entries;

    fn entry(ino: u32, name: &[u8], rec_len: u16) -> Vec<u8> {
        let mut v = ino.to_le_bytes().to_vec();
        v.extend_from_slice(&rec_len.to_le_bytes());
        v.push(name.len() as u8);
        v.push(1);
        v.extend_from_slice(name);
        v.resize(usize::from(rec_len), 0);
        v
    }

    #[test]
    fn reads_live_entries_and_stops_at_garbage() {
        let mut b = entry(2, b".", 12);
        b.extend(entry(2, b"..", 12));
        b.extend(entry(0, b"gone", 16));
        b.extend(entry(12, b"file", 16));
        b.extend(entry(13, b"x", 12));
        let mut seen = Vec::new();
        assert!(dir_entries(&b, true, |i, n, _| seen.push((i, n.to_vec()))));
        assert_eq!(seen, vec![(12, b"file".to_vec()), (13, b"x".to_vec())]);
        b.extend([1, 0, 0, 0, 3, 0, 0, 0]);
        seen.clear();
        assert!(!dir_entries(&b, true, |i, n, _| seen.push((i, n.to_vec()))));
        assert_eq!(seen.len(), 2);
    }
}
