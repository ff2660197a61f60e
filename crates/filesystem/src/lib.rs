//! Working inside a filesystem of an image: loop devices, fsck, read-only mounts, the userspace
//! ext reader, copy out, verify, inspect, and the damage map (which files an image's unreadable
//! areas hit).
//!
//! Every function here blocks (the executor calls them in `spawn_blocking`). Reversible system
//! state (loop devices, mounts) is described by an [`Attachment`] the executor journals before
//! use and undoes with [`Attachment::undo`], which checks the device or mount is still ours.
//! The evidence is never written: loop devices are read-only, mounts are
//! `ro,noload,nosuid,nodev,noexec`, checks use the checker's no-change mode, and repairs change
//! a copy unless an in-place repair is asked for and confirmed.

mod attachment;
mod cleanup_stack;
mod copy;
mod copy_damage;
mod copy_job;
mod copy_ledger;
mod damage;
mod dest_dir;
mod dir_identity;
mod error;
mod ext_tree;
mod fs_type;
mod fsck;
mod fsck_exit;
mod hole_reader;
mod host_tree;
mod inspect;
mod loop_device;
mod loop_node;
mod manifest;
mod mount;
mod mount_info;
mod partition_ref;
mod progress;
mod read_path;
mod repair_copy;
mod source_tree;
mod sparse_writer;
mod unmount;
mod verify;

pub use attachment::{Attachment, UndoOutcome};
pub use cleanup_stack::CleanupStack;
pub use copy::{CopyOptions, CopyReport, DamagedEntry, copy_tree, resumable};
pub use copy_damage::CopyDamage;
pub use damage::{
    Area, ByteRange, DamageCounts, DamageReport, DamagedFile, LostInode, MappedFilesystem,
    MetadataHit, Unreadable, damage_report, ext_uuid_at, render_damage_text,
};
pub use dir_identity::DirIdentity;
pub use error::{FsError, FsErrorKind};
pub use ext_tree::ExtTree;
pub use fs_type::FsType;
pub use fsck::{FsckMode, FsckReport, FsckRequest, fsck};
pub use fsck_exit::FsckExit;
pub use host_tree::HostTree;
pub use inspect::{InspectReport, Inspection, inspect_tree};
pub use loop_device::LoopDevice;
pub use manifest::{
    ContentHash, DamageSource, DamageState, EntryStatus, MANIFEST_FORMAT, Manifest, ManifestEntry,
    ManifestHeader, ManifestRecord, ManifestSummary, SourceSpec,
};
pub use mount::{MountRequest, Mounted, mount_readonly};
pub use partition_ref::PartitionRef;
pub use progress::Progress;
pub use read_path::ReadPath;
pub use repair_copy::{CopyMethod, RepairCopy};
pub use source_tree::{DirEntry, EntryKind, EntryMeta, SourceTree, Timestamp, resolve_in_tree};
pub use verify::{DamagedFinding, Finding, VerifyReport, verify};
