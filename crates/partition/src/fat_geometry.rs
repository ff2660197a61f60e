//! `FatGeometry`: where a FAT12/16/32 filesystem keeps its parts, from its boot sector: the
//! reserved sectors, each copy of the FAT, the FAT12/16 root directory, the data clusters, and
//! how a FAT entry is read. Shared by used-space (which clusters are in use) and the damage map
//! (which file a cluster belongs to).

use crate::bytes::{le16_u64 as u16_at, le32_u64 as u32_at};

/// A FAT filesystem's layout, in sectors from its first byte unless said otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FatGeometry {
    /// Bytes per sector.
    pub sector: u64,
    /// Sectors per cluster.
    pub per_cluster: u64,
    /// Reserved sectors (the boot sector, FAT32's FSInfo and backup boot sector).
    pub reserved: u64,
    /// Copies of the FAT.
    pub fats: u64,
    /// Sectors per FAT copy.
    pub fat_sectors: u64,
    /// Root directory entries (FAT12/16; 0 on FAT32).
    pub root_entries: u64,
    /// Sectors of the FAT12/16 root directory (0 on FAT32).
    pub root_sectors: u64,
    /// The FAT32 root directory's first cluster (0 on FAT12/16).
    pub root_cluster: u64,
    /// Sectors in the filesystem.
    pub total: u64,
    /// The first data sector (cluster 2).
    pub data_start: u64,
    /// Data clusters.
    pub clusters: u64,
    /// 12, 16 or 32: the FAT entry width, from the cluster count.
    pub bits: u32,
}

impl FatGeometry {
    /// Reads the boot sector (at least 512 bytes) of a FAT filesystem of `size` bytes.
    pub fn parse(boot: &[u8], size: u64) -> Result<Self, String> {
        if boot.len() < 512 {
            return Err("short boot sector".into());
        }
        let sector = u16_at(boot, 11);
        let per_cluster = u64::from(boot[13]);
        let reserved = u16_at(boot, 14);
        let fats = u64::from(boot[16]);
        let root_entries = u16_at(boot, 17);
        let total = match u16_at(boot, 19) {
            0 => u32_at(boot, 32),
            n => n,
        };
        let fat_sectors = match u16_at(boot, 22) {
            0 => u32_at(boot, 36),
            n => n,
        };
        if !matches!(sector, 512 | 1024 | 2048 | 4096)
            || !per_cluster.is_power_of_two()
            || fats == 0
            || fat_sectors == 0
            || total == 0
            || reserved == 0
        {
            return Err("implausible FAT boot sector".into());
        }
        let root_sectors = (root_entries * 32).div_ceil(sector);
        let data_start = reserved + fats * fat_sectors + root_sectors;
        if data_start >= total || total * sector > size {
            return Err("implausible FAT geometry".into());
        }
        let clusters = (total - data_start) / per_cluster;
        let bits = if clusters < 4085 {
            12
        } else if clusters < 65525 {
            16
        } else {
            32
        };
        let root_cluster = if bits == 32 { u32_at(boot, 44) } else { 0 };
        Ok(Self {
            sector,
            per_cluster,
            reserved,
            fats,
            fat_sectors,
            root_entries,
            root_sectors,
            root_cluster,
            total,
            data_start,
            clusters,
            bits,
        })
    }

    /// Bytes per cluster.
    pub fn cluster_bytes(&self) -> u64 {
        self.per_cluster * self.sector
    }

    /// Bytes per FAT copy.
    pub fn fat_bytes(&self) -> u64 {
        self.fat_sectors * self.sector
    }

    /// The first byte of FAT copy `i`, from the filesystem's start.
    pub fn fat_offset(&self, i: u64) -> u64 {
        (self.reserved + i * self.fat_sectors) * self.sector
    }

    /// The FAT12/16 root directory's first byte, from the filesystem's start.
    pub fn root_offset(&self) -> u64 {
        (self.reserved + self.fats * self.fat_sectors) * self.sector
    }

    /// The first byte of the data area (cluster 2), from the filesystem's start.
    pub fn data_offset(&self) -> u64 {
        self.data_start * self.sector
    }

    /// The first byte of cluster `c` (2 or more), from the filesystem's start.
    pub fn cluster_offset(&self, c: u64) -> u64 {
        self.data_offset() + (c - 2) * self.cluster_bytes()
    }

    /// The byte in a FAT copy where cluster `c`'s entry starts.
    pub fn entry_offset(&self, c: u64) -> u64 {
        match self.bits {
            12 => c * 3 / 2,
            16 => c * 2,
            _ => c * 4,
        }
    }

    /// The entry of cluster `c` in `fat` (a FAT copy read whole), or `None` past its end.
    pub fn entry(&self, fat: &[u8], c: u64) -> Option<u64> {
        let at = usize::try_from(self.entry_offset(c)).ok()?;
        match self.bits {
            12 => {
                let b = fat.get(at..at + 2)?;
                let v = u16_at(b, 0);
                Some(if c % 2 == 0 { v & 0xFFF } else { v >> 4 })
            }
            16 => Some(u16_at(fat.get(at..at + 2)?, 0)),
            _ => Some(u32_at(fat.get(at..at + 4)?, 0) & 0x0FFF_FFFF),
        }
    }

    /// Whether entry value `v` ends a chain (end-of-chain marks).
    pub fn is_end(&self, v: u64) -> bool {
        v > self.bad_mark()
    }

    /// The entry value that marks a cluster bad.
    pub fn bad_mark(&self) -> u64 {
        match self.bits {
            12 => 0xFF7,
            16 => 0xFFF7,
            _ => 0x0FFF_FFF7,
        }
    }
}
