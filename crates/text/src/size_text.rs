//! Byte counts as people read them in progress lines and summaries: `512 B`, `1.5 GiB`
//! (powers of 1024, to the decimals the display asks for).

/// `bytes` in the largest binary unit (B, KiB, ... PiB) that keeps the number at or above 1;
/// whole bytes are written without decimals.
pub fn binary_size(bytes: u64, decimals: usize) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.decimals$} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::binary_size;

    #[test]
    fn units_and_decimals() {
        assert_eq!(binary_size(1023, 2), "1023 B");
        assert_eq!(binary_size(1536, 1), "1.5 KiB");
        assert_eq!(binary_size(1536, 2), "1.50 KiB");
        assert_eq!(binary_size(3 << 30, 1), "3.0 GiB");
        assert_eq!(binary_size(u64::MAX, 2), "16384.00 PiB");
    }
}
