//! The runbook's `partition` value: the JSON object ops hand each other, and its conversion to
//! the filesystem module's [`PartitionRef`].

use super::{OpError, op_args};
use salvage_filesystem::{FsType, PartitionRef};
use salvage_language::ops::partition_args::PartitionArgs;
use salvage_partition::{Partition, PartitionTable, Role};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One partition as runbooks see it: `source number offset size fstype label uuid`.
pub(crate) fn partition_json(source: &str, p: &Partition) -> Value {
    json!({
        "source": source,
        "number": p.number,
        "offset": p.offset,
        "size": p.size_bytes,
        "start": p.start,
        "sectors": p.size,
        "type": p.type_code,
        "type_name": p.type_name,
        "fstype": p.filesystem.as_ref().map(|f| f.fs_type.clone()),
        "label": p.filesystem.as_ref().and_then(|f| f.label.clone()),
        "uuid": p.filesystem.as_ref().and_then(|f| f.uuid.clone()),
    })
}

/// The table as runbooks see it; `partition` lists the data partitions (not extended ones).
pub(crate) fn table_json(source: &str, t: &PartitionTable) -> Value {
    let parts: Vec<Value> = t
        .partitions
        .iter()
        .filter(|p| p.role != Some(Role::Extended))
        .map(|p| partition_json(source, p))
        .collect();
    json!({
        "source": source,
        "label": t.label,
        "sector_size": t.sector_size,
        "device_size": t.device_size,
        "warnings": t.warnings,
        "partition": parts,
    })
}

/// The partition an op works on: `partition:` or `image:` + `offset:` + `size:`.
pub(crate) fn partition_arg(args: &BTreeMap<String, Value>) -> Result<PartitionRef, OpError> {
    let args: PartitionArgs = op_args("partition", args)?;
    if let Some(p) = args.partition.as_ref().filter(|v| v.is_object()) {
        let source = p
            .get("source")
            .and_then(Value::as_str)
            .ok_or_else(|| OpError::new("the partition has no source"))?;
        let offset = p.get("offset").and_then(Value::as_u64).unwrap_or(0);
        let size = p.get("size").and_then(Value::as_u64);
        let mut r = PartitionRef::new(source, offset, size);
        r.fs_type = p
            .get("fstype")
            .and_then(Value::as_str)
            .and_then(fs_type_named);
        return Ok(r);
    }
    let image = args
        .image
        .ok_or_else(|| OpError::new("give `partition:` or `image:`"))?;
    let mut r = PartitionRef::new(image, args.offset.unwrap_or(0), args.size);
    r.fs_type = args.fstype.as_deref().and_then(fs_type_named);
    Ok(r)
}

/// The filesystem type named as blkid names it.
pub(crate) fn fs_type_named(name: &str) -> Option<FsType> {
    Some(match name {
        "ext2" => FsType::Ext2,
        "ext3" => FsType::Ext3,
        "ext4" => FsType::Ext4,
        "xfs" => FsType::Xfs,
        "btrfs" => FsType::Btrfs,
        "vfat" => FsType::Vfat,
        "exfat" => FsType::Exfat,
        "ntfs" => FsType::Ntfs,
        _ => return None,
    })
}

/// Whether salvage runs as root (loop devices and mounts need it).
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A userspace view of an ext filesystem, for when there is no root to mount it: the
/// `mount` op's `path` output, which `copy`, `verify` and `inspect` understand.
pub(crate) const USERSPACE_PREFIX: &str = "userspace-ext:";

/// `userspace-ext:/abs/image?offset=N&size=M`.
pub(crate) fn userspace_path(r: &PartitionRef) -> String {
    let size = r.size.map(|s| format!("&size={s}")).unwrap_or_default();
    format!(
        "{USERSPACE_PREFIX}{}?offset={}{size}",
        r.image().display(),
        r.offset
    )
}

/// Parses a userspace view back into the partition it reads.
pub(crate) fn parse_userspace(path: &str) -> Option<PartitionRef> {
    let rest = path.strip_prefix(USERSPACE_PREFIX)?;
    let (image, query) = rest.rsplit_once('?')?;
    let mut offset = 0;
    let mut size = None;
    for kv in query.split('&') {
        match kv.split_once('=') {
            Some(("offset", v)) => offset = v.parse().ok()?,
            Some(("size", v)) => size = Some(v.parse().ok()?),
            _ => {}
        }
    }
    Some(PartitionRef::new(image, offset, size))
}
