//! The test data generator: `size` bytes of xorshift64 output from `seed`, the same bytes for
//! the same seed on every run (images whose every block differs, so a misplaced block shows).

/// `size` deterministic, non-repeating bytes: xorshift64 (13, 7, 17) from `seed`, each state
/// little-endian. `seed` must not be 0 (xorshift stays 0).
pub fn pattern(size: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    let mut v = Vec::with_capacity(size + 8);
    while v.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(size);
    v
}
