//! md RAID member images without the md driver: a superblock (v0.90 or v1.x) laid out as the
//! kernel's `md_p.h` says, written into a member image with a filesystem image at its data
//! offset. What mdadm --examine reads back from them is what the tests compare with.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A v1 `dev_roles` entry: a spare.
pub const ROLE_SPARE: u16 = 0xffff;
/// A v1 `dev_roles` entry: faulty.
pub const ROLE_FAULTY: u16 = 0xfffe;

/// What one member's superblock says.
#[derive(Clone, Debug)]
pub struct MdSpec {
    /// "0.90", "1.0", "1.1" or "1.2".
    pub version: &'static str,
    pub uuid: [u8; 16],
    /// v1 only: `host:name`.
    pub name: &'static str,
    pub level: i32,
    pub raid_disks: u32,
    /// This member's number in `roles`.
    pub dev_number: u32,
    /// The role of each member number: a slot, [`ROLE_SPARE`] or [`ROLE_FAULTY`].
    pub roles: Vec<u16>,
    pub events: u64,
    /// Stopped cleanly (no resync pending).
    pub clean: bool,
    /// v1: where the data starts in the member, in 512-byte sectors (v0.90: always 0).
    pub data_offset: u64,
    /// The used size of the member's data, in sectors.
    pub data_sectors: u64,
    /// v1: the member was being rebuilt, this many sectors done.
    pub recovery_offset: Option<u64>,
    /// When the array was made (seconds since 1970).
    pub created: u64,
    /// The layout number (RAID10: near copies in the low byte, far copies in the next).
    pub layout: u32,
    /// v1: this member replaces another in its slot.
    pub replacement: bool,
    /// v1: bad-block log entries, `(sector from the data offset, sectors)` (at most 1023 each).
    pub bad_blocks: Vec<(u64, u64)>,
}

impl MdSpec {
    /// A clean two-slot RAID1 member `dev_number` (v1.2, data at 1 MiB) of `data_sectors`.
    pub fn raid1(version: &'static str, dev_number: u32, data_sectors: u64) -> MdSpec {
        MdSpec {
            version,
            uuid: *b"salvage-md-test!",
            name: "rescue:0",
            level: 1,
            raid_disks: 2,
            dev_number,
            roles: vec![0, 1],
            events: 20,
            clean: true,
            data_offset: if matches!(version, "1.1" | "1.2") {
                2048
            } else {
                0
            },
            data_sectors,
            recovery_offset: None,
            created: 1_700_000_000,
            layout: 0,
            replacement: false,
            bad_blocks: Vec::new(),
        }
    }

    /// The member size this spec fits in: data plus the superblock's room.
    pub fn member_size(&self) -> u64 {
        let data_end = (self.data_offset + self.data_sectors) * 512;
        match self.version {
            // Room after the data for the superblock, rounded as the kernel places it.
            "0.90" => (data_end + 0x10000 + 0xFFFF) & !0xFFFF,
            "1.0" => data_end + 8 * 512 + 4096,
            _ => data_end,
        }
    }
}

/// The superblock for `spec` in a member of `size` bytes: `(byte offset, bytes)`.
pub fn md_superblock(size: u64, spec: &MdSpec) -> (u64, Vec<u8>) {
    match spec.version {
        "0.90" => v090(size, spec),
        v => v1(size, v, spec),
    }
}

fn put32(sb: &mut [u8], at: usize, v: u32) {
    sb[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(sb: &mut [u8], at: usize, v: u64) {
    sb[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn v1(size: u64, version: &str, spec: &MdSpec) -> (u64, Vec<u8>) {
    let at = match version {
        "1.0" => (((size >> 9) - 16) & !7) << 9,
        "1.1" => 0,
        _ => 4096,
    };
    let mut sb = vec![0u8; 1024];
    put32(&mut sb, 0, 0xa92b_4efc);
    put32(&mut sb, 4, 1);
    let features = if spec.recovery_offset.is_some() { 2 } else { 0 }
        | if spec.bad_blocks.is_empty() { 0 } else { 8 }
        | if spec.replacement { 16 } else { 0 };
    put32(&mut sb, 8, features);
    sb[16..32].copy_from_slice(&spec.uuid);
    sb[32..32 + spec.name.len()].copy_from_slice(spec.name.as_bytes());
    put64(&mut sb, 64, spec.created);
    put32(&mut sb, 72, spec.level as u32);
    put32(&mut sb, 76, spec.layout);
    put64(&mut sb, 80, spec.data_sectors);
    put32(&mut sb, 92, spec.raid_disks);
    put64(&mut sb, 128, spec.data_offset);
    let avail =
        (size >> 9).saturating_sub(spec.data_offset) - if version == "1.0" { 16 } else { 0 };
    put64(&mut sb, 136, avail);
    put64(&mut sb, 144, at >> 9);
    put64(&mut sb, 152, spec.recovery_offset.unwrap_or(0));
    put32(&mut sb, 160, spec.dev_number);
    sb[168..184].copy_from_slice(&[0x40 + spec.dev_number as u8; 16]);
    if !spec.bad_blocks.is_empty() {
        // The log: 8 sectors, 8 sectors after the superblock, counted in single sectors.
        sb[185] = 0;
        sb[186..188].copy_from_slice(&8u16.to_le_bytes());
        put32(&mut sb, 188, 8);
    }
    put64(&mut sb, 192, spec.created + spec.events);
    put64(&mut sb, 200, spec.events);
    put64(&mut sb, 208, if spec.clean { u64::MAX } else { 0 });
    put32(&mut sb, 220, spec.roles.len() as u32);
    for (i, r) in spec.roles.iter().enumerate() {
        sb[256 + 2 * i..258 + 2 * i].copy_from_slice(&r.to_le_bytes());
    }
    let len = 256 + 2 * spec.roles.len();
    let mut sum: u64 = 0;
    for w in sb[..len].chunks(4) {
        let mut word = [0u8; 4];
        word[..w.len()].copy_from_slice(w);
        sum += u64::from(u32::from_le_bytes(word));
    }
    put32(&mut sb, 216, ((sum & 0xFFFF_FFFF) + (sum >> 32)) as u32);
    (at, sb)
}

fn v090(size: u64, spec: &MdSpec) -> (u64, Vec<u8>) {
    let at = (size & !0xFFFF) - 0x10000;
    let mut sb = vec![0u8; 4096];
    let word = |sb: &mut Vec<u8>, i: usize, v: u32| put32(sb, i * 4, v);
    word(&mut sb, 0, 0xa92b_4efc);
    word(&mut sb, 2, 90);
    let uuid: Vec<u32> = spec
        .uuid
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    word(&mut sb, 5, uuid[0]);
    word(&mut sb, 6, spec.created as u32);
    word(&mut sb, 7, spec.level as u32);
    word(&mut sb, 8, (spec.data_sectors / 2) as u32);
    word(&mut sb, 9, spec.roles.len() as u32);
    word(&mut sb, 10, spec.raid_disks);
    word(&mut sb, 13, uuid[1]);
    word(&mut sb, 14, uuid[2]);
    word(&mut sb, 15, uuid[3]);
    word(&mut sb, 32, spec.created as u32 + spec.events as u32);
    word(&mut sb, 33, u32::from(spec.clean));
    let active = spec.roles.iter().filter(|r| **r < 0xff00).count() as u32;
    let failed = spec.roles.iter().filter(|r| **r == ROLE_FAULTY).count() as u32;
    let spare = spec.roles.iter().filter(|r| **r == ROLE_SPARE).count() as u32;
    word(&mut sb, 34, active);
    word(&mut sb, 35, active + spare);
    word(&mut sb, 36, failed);
    word(&mut sb, 37, spare);
    word(&mut sb, 39, spec.events as u32);
    word(&mut sb, 40, (spec.events >> 32) as u32);
    let descriptor = |n: usize, role: u16| -> [u32; 5] {
        match role {
            ROLE_FAULTY => [n as u32, 8, 16 * n as u32, n as u32, 1],
            ROLE_SPARE => [n as u32, 8, 16 * n as u32, spec.raid_disks + n as u32, 0],
            slot => [n as u32, 8, 16 * n as u32, u32::from(slot), 6],
        }
    };
    for (n, role) in spec.roles.iter().enumerate() {
        for (k, v) in descriptor(n, *role).iter().enumerate() {
            word(&mut sb, 128 + 32 * n + k, *v);
        }
    }
    let me = descriptor(
        spec.dev_number as usize,
        spec.roles[spec.dev_number as usize],
    );
    for (k, v) in me.iter().enumerate() {
        word(&mut sb, 992 + k, *v);
    }
    let sum: u64 = sb
        .chunks(4)
        .map(|w| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
        .sum();
    word(&mut sb, 38, ((sum & 0xFFFF_FFFF) + (sum >> 32)) as u32);
    (at, sb)
}

/// Writes member image `member` of `size` bytes (at least `spec.member_size()`): `fs_image`'s
/// bytes at the data offset and the superblock, the rest zeros (sparse).
pub fn write_member(member: &Path, size: u64, spec: &MdSpec, fs_image: Option<&Path>) {
    let f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(member)
        .expect("create the member image");
    f.set_len(size).expect("size the member image");
    if let Some(img) = fs_image {
        let data = std::fs::read(img).expect("read the filesystem image");
        assert!(
            data.len() as u64 <= spec.data_sectors * 512,
            "the filesystem image is larger than the member's data area"
        );
        f.write_all_at(&data, spec.data_offset * 512)
            .expect("write the data");
    }
    let (at, sb) = md_superblock(size, spec);
    f.write_all_at(&sb, at).expect("write the superblock");
    if !spec.bad_blocks.is_empty() {
        let mut log = vec![0xffu8; 8 * 512];
        for (i, (sector, len)) in spec.bad_blocks.iter().enumerate() {
            // The kernel's on-disk form: sector << 10 | count.
            let v = (sector << 10) | len;
            log[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        f.write_all_at(&log, at + 8 * 512)
            .expect("write the bad-block log");
    }
}
