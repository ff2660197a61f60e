//! Hostile input: garbage buffers, truncated images, EBR loops and absurd GPT headers must
//! never panic and must be reported as warnings.

use std::path::Path;

use super::read::{ReadOptions, read_table_from};
use super::source::ByteSource;
use super::table::Label;

fn read(bytes: &[u8]) -> super::table::PartitionTable {
    let src: Vec<u8> = bytes.to_vec();
    let src: &dyn ByteSource = &src;
    let opts = ReadOptions {
        scan: true,
        ..ReadOptions::default()
    };
    read_table_from(src, Path::new("mem.img"), &opts).expect("at least one sector")
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn entry(buf: &mut [u8], at: usize, status: u8, kind: u8, start: u32, size: u32) {
    buf[at] = status;
    buf[at + 4] = kind;
    buf[at + 8..at + 12].copy_from_slice(&start.to_le_bytes());
    buf[at + 12..at + 16].copy_from_slice(&size.to_le_bytes());
}

fn gpt_header(buf: &mut [u8], lba: u64, entries: u32, entry_size: u32, entries_lba: u64) {
    let h = &mut buf[(lba * 512) as usize..(lba * 512 + 512) as usize];
    h[..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x10000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&lba.to_le_bytes());
    h[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    h[40..48].copy_from_slice(&34u64.to_le_bytes());
    h[48..56].copy_from_slice(&1000u64.to_le_bytes());
    h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
    h[80..84].copy_from_slice(&entries.to_le_bytes());
    h[84..88].copy_from_slice(&entry_size.to_le_bytes());
    let crc = crc32fast::hash(&h[..92]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..400 {
        let len = 512 + (rng.next() % 70_000) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if round % 2 == 0 {
            buf[510] = 0x55;
            buf[511] = 0xAA;
        }
        if round % 3 == 0 {
            for i in 0..4 {
                let at = 446 + 16 * i;
                buf[at] = if rng.next() % 2 == 0 { 0 } else { 0x80 };
                buf[at + 4] = [0x05, 0x0f, 0x85, 0xee, 0x83][(rng.next() % 5) as usize];
            }
        }
        if round % 5 == 0 && len > 2048 {
            gpt_header(
                &mut buf,
                1,
                rng.next() as u32,
                rng.next() as u32,
                rng.next(),
            );
        }
        if round % 7 == 0 && len > 4096 {
            // A valid header whose entries array is random.
            gpt_header(&mut buf, 1, 4, 128, 2);
        }
        let _ = read(&buf);
    }
}

#[test]
fn truncated_prefixes_never_panic() {
    let mut img = vec![0u8; 1 << 20];
    img[510] = 0x55;
    img[511] = 0xAA;
    entry(&mut img, 446, 0x80, 0x83, 63, 1000);
    entry(&mut img, 462, 0, 0x05, 1100, 800);
    let ebr = 1100 * 512;
    img[ebr + 510] = 0x55;
    img[ebr + 511] = 0xAA;
    entry(&mut img, ebr + 446, 0, 0x83, 2, 100);
    entry(&mut img, ebr + 462, 0, 0x05, 200, 300);
    for cut in [512, 600, 4096, 32_256, 563_200, 563_712, 700_000] {
        let t = read(&img[..cut]);
        assert_eq!(t.label, Label::Dos);
    }
    let full = read(&img);
    let numbers: Vec<u32> = full.partitions.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 5]);
    assert!(
        full.warnings.iter().any(|w| w.contains("no 0x55AA")),
        "{:?}",
        full.warnings
    );
}

#[test]
fn ebr_loop_is_stopped_and_reported() {
    let mut img = vec![0u8; 1 << 20];
    img[510] = 0x55;
    img[511] = 0xAA;
    entry(&mut img, 446, 0, 0x05, 100, 1000);
    for (ebr, link) in [(100usize, 50u32), (150, 0)] {
        let at = ebr * 512;
        img[at + 510] = 0x55;
        img[at + 511] = 0xAA;
        entry(&mut img, at + 446, 0, 0x83, 1, 10);
        entry(&mut img, at + 462, 0, 0x05, link, 100);
    }
    let t = read(&img);
    let numbers: Vec<u32> = t.partitions.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 5, 6]);
    assert!(
        t.warnings.iter().any(|w| w.contains("loop")),
        "{:?}",
        t.warnings
    );
}

#[test]
fn logical_outside_extended_and_beyond_end_are_warned() {
    let mut img = vec![0u8; 1 << 20];
    img[510] = 0x55;
    img[511] = 0xAA;
    entry(&mut img, 446, 0, 0x05, 100, 50);
    entry(&mut img, 462, 0, 0x83, 1000, 100_000);
    let at = 100 * 512;
    img[at + 510] = 0x55;
    img[at + 511] = 0xAA;
    entry(&mut img, at + 446, 0, 0x83, 10, 500);
    let t = read(&img);
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("outside its extended")),
        "{:?}",
        t.warnings
    );
    assert!(
        t.warnings.iter().any(|w| w.contains("past the end")),
        "{:?}",
        t.warnings
    );
}

#[test]
fn absurd_gpt_entry_count_is_refused() {
    let mut img = vec![0u8; 1 << 20];
    img[510] = 0x55;
    img[511] = 0xAA;
    entry(&mut img, 446, 0, 0xee, 1, 2047);
    gpt_header(&mut img, 1, u32::MAX, 128, 2);
    let t = read(&img);
    assert_eq!(t.label, Label::Dos);
    assert!(
        t.warnings.iter().any(|w| w.contains("limit")),
        "{:?}",
        t.warnings
    );
}

/// A source whose bytes from 8 MiB to 24 MiB cannot be read.
struct Failing(Vec<u8>);

impl ByteSource for Failing {
    fn size_bytes(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let end = offset + buf.len() as u64;
        if offset < 24 << 20 && end > 8 << 20 {
            return Err(std::io::Error::from_raw_os_error(5));
        }
        self.0.read_at(buf, offset)
    }
}

#[test]
fn the_scan_skips_after_unreadable_candidates_and_names_what_it_did_not_probe() {
    let src = Failing(vec![0u8; 64 << 20]);
    let mut warnings = Vec::new();
    let hits = super::scan::scan(&src, 512, &[], &mut warnings);
    assert!(hits.is_empty());
    let [w] = warnings.as_slice() else {
        panic!("one warning: {warnings:?}");
    };
    // Candidates at 8, 9, 11, 15 and 23 MiB fail (then 1, 2, 4, 8 and 16 MiB are skipped);
    // the next one probed, at 39 MiB, reads, and nothing after the bad area is skipped.
    assert!(w.contains("unreadable areas not probed"), "{w}");
    assert!(w.contains("first error at byte 8388608"), "{w}");
    assert!(
        w.contains(&format!("bytes {}..{}", 8 << 20, 39 << 20)),
        "{w}"
    );
}
