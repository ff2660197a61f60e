//! Partition tables (MBR with EBR chains, GPT) and filesystem signatures inside an image:
//! the library behind `salvage partitions IMG` and the `partitions(...)` op. It reads, never
//! writes, and knows nothing of runbooks.

mod bsd;
mod bytes;
mod error;
mod fat_geometry;
mod filesystem;
mod foreign_label;
mod gpt;
mod mbr;
pub mod md;
mod probe;
mod read;
mod render;
mod scan;
mod scan_hit;
mod source;
mod table;
#[cfg(test)]
mod tests;
mod types;
mod unreadable;
pub mod used_space;

pub use error::{PartitionError, PartitionErrorKind};
pub use fat_geometry::FatGeometry;
pub use filesystem::{Filesystem, Probe};
pub use probe::{probe_filesystem, probe_signatures};
pub use read::{ReadOptions, read_table, read_table_from};
pub use render::render_text;
pub use scan::scan;
pub use scan_hit::ScanHit;
pub use source::{ByteSource, Disk};
pub use table::{GptHeaderUsed, Label, Partition, PartitionTable, ProtectiveMbr, Role};
