//! `PartitionRef`: a filesystem inside an image, named by image path, byte offset and size.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{FsError, FsErrorKind};
use super::fs_type::FsType;

/// A partition (or a whole-image filesystem) of an image file or device: where it starts, how
/// long it is, and its filesystem type when known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRef {
    /// The image file or block device holding the partition.
    pub image: PathBuf,
    /// Byte offset of the partition's first byte in the image.
    pub offset: u64,
    /// Byte size of the partition; `None` means up to the end of the image.
    pub size: Option<u64>,
    /// The filesystem type, if known; probed otherwise.
    pub fs_type: Option<FsType>,
}

impl PartitionRef {
    /// A partition of `image` at `offset`, of `size` bytes (to the end if `None`), type probed.
    pub fn new(image: impl Into<PathBuf>, offset: u64, size: Option<u64>) -> Self {
        Self {
            image: image.into(),
            offset,
            size,
            fs_type: None,
        }
    }

    /// The image path.
    pub fn image(&self) -> &Path {
        &self.image
    }

    /// The filesystem type: the given one, or probed from the signature.
    pub fn resolve_fs_type(&self) -> Result<FsType, FsError> {
        if let Some(found) = self.ambivalent_types() {
            // Competing signatures: only a type the person names, and one of those found.
            return match self.fs_type {
                Some(kind) if found.iter().any(|f| FsType::from_name(f) == Some(kind)) => Ok(kind),
                _ => Err(FsError::new(FsErrorKind::Ambivalent {
                    path: self.image.clone(),
                    offset: self.offset,
                    found,
                })),
            };
        }
        if let Some(kind) = self.fs_type {
            // A forced type must not contradict the signature there: xfs_repair on an ext4
            // (or a wrong offset) would report nonsense, or worse in repair mode.
            let ext = |t: FsType| matches!(t, FsType::Ext2 | FsType::Ext3 | FsType::Ext4);
            if let Some(found) = FsType::probe(&self.image, self.offset)?
                && found != kind
                && !(ext(found) && ext(kind))
            {
                return Err(FsError::new(FsErrorKind::TypeContradicted {
                    path: self.image.clone(),
                    offset: self.offset,
                    given: kind.name().to_string(),
                    found: found.name().to_string(),
                }));
            }
            return Ok(kind);
        }
        FsType::probe(&self.image, self.offset)?.ok_or_else(|| {
            // Say what is there instead, when the partition probe knows it (swap, LUKS, an LVM
            // PV, md RAID...), or that the offset is past the end.
            let image_size = image_len(&self.image).ok();
            if image_size.is_some_and(|n| self.offset >= n) {
                return FsError::new(FsErrorKind::OutOfRange {
                    path: self.image.clone(),
                    offset: self.offset,
                    size: self.size.unwrap_or(0),
                    image_size: image_size.unwrap_or(0),
                });
            }
            let found = salvage_sys::open_source::open_source(&self.image)
                .ok()
                .and_then(|f| {
                    let size = self
                        .size
                        .or_else(|| image_size.map(|n| n - self.offset))
                        .unwrap_or(0);
                    salvage_partition::probe_filesystem(&f, self.offset, size).map(|fs| fs.fs_type)
                });
            match found {
                Some(kind) => FsError::new(FsErrorKind::NotAFilesystem {
                    path: self.image.clone(),
                    offset: self.offset,
                    found: kind,
                }),
                None => FsError::new(FsErrorKind::UnknownFilesystem {
                    path: self.image.clone(),
                    offset: self.offset,
                }),
            }
        })
    }

    /// The types of competing signatures at the offset (blkid's "ambivalent result"), if any.
    fn ambivalent_types(&self) -> Option<Vec<String>> {
        let file = salvage_sys::open_source::open_source(&self.image).ok()?;
        let size = match self.size {
            Some(n) => n,
            None => image_len(&self.image).ok()?.checked_sub(self.offset)?,
        };
        match salvage_partition::probe_signatures(&file, self.offset, size) {
            salvage_partition::Probe::Ambivalent(all) => {
                Some(all.into_iter().map(|f| f.fs_type).collect())
            }
            _ => None,
        }
    }

    /// The partition's byte length: the given size, checked against the image, or the rest of
    /// the image.
    pub fn resolved_size(&self) -> Result<u64, FsError> {
        let image_size = image_len(&self.image)?;
        let out_of_range = |size| {
            FsError::new(FsErrorKind::OutOfRange {
                path: self.image.clone(),
                offset: self.offset,
                size,
                image_size,
            })
        };
        match self.size {
            Some(size) => match self.offset.checked_add(size) {
                Some(end) if end <= image_size && size > 0 => Ok(size),
                _ => Err(out_of_range(size)),
            },
            None if self.offset < image_size => Ok(image_size - self.offset),
            None => Err(out_of_range(0)),
        }
    }

    /// "IMAGE at byte N (S bytes)" for reports.
    pub fn describe(&self) -> String {
        match self.size {
            Some(size) => {
                format!(
                    "{} at byte {} ({} bytes)",
                    self.image.display(),
                    self.offset,
                    size
                )
            }
            None => format!("{} at byte {}", self.image.display(), self.offset),
        }
    }
}

/// The length of an image file or a block device, in bytes.
pub(crate) fn image_len(path: &Path) -> Result<u64, FsError> {
    use std::io::{Seek, SeekFrom};
    let mut file = salvage_sys::open_source::open_source(path).map_err(|e| {
        FsError::io(
            FsErrorKind::Open {
                path: path.to_path_buf(),
            },
            e,
        )
    })?;
    // Seeking to the end works for regular files and block devices alike.
    file.seek(SeekFrom::End(0)).map_err(|e| {
        FsError::io(
            FsErrorKind::Read {
                path: path.to_path_buf(),
            },
            e,
        )
    })
}
