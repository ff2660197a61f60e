//! FAT12/16/32: the reserved sectors, the FATs and (FAT12/16) the root directory are metadata;
//! a data cluster is in use when its FAT entry is not zero. The first FAT is read; if it cannot
//! be read whole, the second is; if neither can, the whole filesystem counts as used.

use super::UsedSpace;
use super::recorder::Recorder;
use crate::fat_geometry::FatGeometry;

/// Adds the used clusters of the FAT filesystem at `offset`; the note, or why it cannot be read.
pub(super) fn used(
    rec: &Recorder,
    offset: u64,
    size: u64,
    out: &mut UsedSpace,
) -> Result<String, String> {
    let boot = rec
        .read_whole(offset, 512)
        .ok_or("its boot sector could not be read")?;
    let g = FatGeometry::parse(&boot, size)?;
    out.metadata.add(offset, g.data_offset());
    let fat_bytes = usize::try_from(g.fat_bytes()).unwrap_or(0);
    let fat = (0..g.fats)
        .find_map(|i| rec.read_whole(offset + g.fat_offset(i), fat_bytes))
        .ok_or("no copy of its FAT could be read")?;
    let bits = u64::from(g.bits);
    let max = g.clusters.min((fat_bytes as u64 * 8 / bits) - 2);
    let cluster_bytes = g.cluster_bytes();
    let data = offset + g.data_offset();
    let mut used = 0u64;
    let mut run: Option<u64> = None;
    for c in 0..=max {
        let set = c < max && g.entry(&fat, c + 2).is_some_and(|v| v != 0);
        match (set, run) {
            (true, None) => run = Some(c),
            (false, Some(s)) => {
                out.used
                    .add(data + s * cluster_bytes, (c - s) * cluster_bytes);
                used += c - s;
                run = None;
            }
            _ => {}
        }
    }
    Ok(format!(
        "FAT{bits}, {} clusters of {cluster_bytes} bytes, {} bytes in use",
        g.clusters,
        used * cluster_bytes
    ))
}
