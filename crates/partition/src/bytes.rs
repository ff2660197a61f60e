//! Little- and big-endian fields and on-disk strings read out of a byte buffer, bounds-checked.

/// Reads `N` bytes at `at`, or `None` when the buffer is too short.
pub(crate) fn array<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    buf.get(at..end)?.try_into().ok()
}

/// Little-endian u16 at `at` (0 when out of bounds).
pub(crate) fn le16(buf: &[u8], at: usize) -> u16 {
    array::<2>(buf, at).map_or(0, u16::from_le_bytes)
}

/// Little-endian u32 at `at` (0 when out of bounds).
pub(crate) fn le32(buf: &[u8], at: usize) -> u32 {
    array::<4>(buf, at).map_or(0, u32::from_le_bytes)
}

/// Little-endian u16 at `at`, widened to u64 for offset arithmetic (0 when out of bounds).
pub(crate) fn le16_u64(buf: &[u8], at: usize) -> u64 {
    u64::from(le16(buf, at))
}

/// Little-endian u32 at `at`, widened to u64 for offset arithmetic (0 when out of bounds).
pub(crate) fn le32_u64(buf: &[u8], at: usize) -> u64 {
    u64::from(le32(buf, at))
}

/// Little-endian u64 at `at` (0 when out of bounds).
pub(crate) fn le64(buf: &[u8], at: usize) -> u64 {
    array::<8>(buf, at).map_or(0, u64::from_le_bytes)
}

/// Big-endian u16 at `at` (0 when out of bounds).
pub(crate) fn be16(buf: &[u8], at: usize) -> u16 {
    array::<2>(buf, at).map_or(0, u16::from_be_bytes)
}

/// Big-endian u32 at `at` (0 when out of bounds).
pub(crate) fn be32(buf: &[u8], at: usize) -> u32 {
    array::<4>(buf, at).map_or(0, u32::from_be_bytes)
}

/// Big-endian u64 at `at` (0 when out of bounds).
pub(crate) fn be64(buf: &[u8], at: usize) -> u64 {
    array::<8>(buf, at).map_or(0, u64::from_be_bytes)
}

/// True when `buf` holds `magic` at `at`.
/// CRC-32C (Castagnoli, reflected) from `seed`, without the final inversion: the kernel's
/// `crc32c_le`, which ext4's metadata checksums use with a seed of !0.
pub(crate) fn crc32c(seed: u32, data: &[u8]) -> u32 {
    let mut crc = seed;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    crc
}

pub(crate) fn has(buf: &[u8], at: usize, magic: &[u8]) -> bool {
    at.checked_add(magic.len())
        .and_then(|end| buf.get(at..end))
        .is_some_and(|b| b == magic)
}

/// The bytes `at..at+len`, clipped to the buffer.
pub(crate) fn slice(buf: &[u8], at: usize, len: usize) -> &[u8] {
    let start = at.min(buf.len());
    let end = at.saturating_add(len).min(buf.len());
    &buf[start..end]
}

/// A NUL-terminated (or NUL/space-padded) 8-bit label, as blkid reports it: cut at the first
/// NUL, trailing spaces dropped, its bytes kept: valid UTF-8 as it is, any other byte written
/// `\xHH` (a code-page label such as E5 E5 E5 stays those bytes, as udev's `ID_FS_LABEL_ENC`
/// writes them). `None` when empty.
pub(crate) fn label8(bytes: &[u8]) -> Option<String> {
    let cut = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut raw = &bytes[..cut];
    while let [rest @ .., b' '] = raw {
        raw = rest;
    }
    (!raw.is_empty()).then(|| escape_bytes(raw))
}

/// `bytes` as text: UTF-8 sequences kept, every byte outside one written `\xhh`.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A UTF-16LE label cut at the first NUL; `None` when empty.
pub(crate) fn label16(bytes: &[u8]) -> Option<String> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    let text = String::from_utf16_lossy(&units);
    (!text.is_empty()).then_some(text)
}

/// A 16-byte UUID in the byte order it is stored (ext, xfs, btrfs, swap, md), lower-case with
/// dashes as blkid prints it. `None` when all zero.
pub(crate) fn uuid_be(b: &[u8; 16]) -> Option<String> {
    if b.iter().all(|&x| x == 0) {
        return None;
    }
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    ))
}

/// A GPT GUID (first three fields little-endian), upper-case as sfdisk prints it.
pub(crate) fn guid(b: &[u8; 16]) -> String {
    format!(
        "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_out_of_bounds_are_zero_not_panics() {
        let b = [1u8, 2, 3];
        assert_eq!(le16(&b, 0), 0x0201);
        assert_eq!(le32(&b, 0), 0);
        assert_eq!(le64(&b, usize::MAX), 0);
        assert!(!has(&b, usize::MAX, b"x"));
        assert!(slice(&b, 2, usize::MAX) == [3]);
    }

    #[test]
    fn labels_keep_their_bytes() {
        assert_eq!(
            label8(b"\xE5\xE5\xE5AB   \0x").as_deref(),
            Some("\\xe5\\xe5\\xe5AB")
        );
        assert_eq!(label8("caf\u{e9}".as_bytes()).as_deref(), Some("caf\u{e9}"));
        assert_eq!(label8(b"   \0"), None);
    }

    #[test]
    fn guid_is_mixed_endian() {
        let b = [
            0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47,
            0x7d, 0xe4,
        ];
        assert_eq!(guid(&b), "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
    }
}
