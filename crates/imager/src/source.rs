//! `Source`: the device or file being rescued, opened read-only (never writable), read with
//! `pread`, optionally with O_DIRECT, optionally through a simulated bad map (test mode).

use std::fs::File;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::bad_map::BadMap;
use super::error::{ImageError, ImageErrorKind};

/// The outcome of one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadOutcome {
    /// Every byte asked for was read.
    Full,
    /// The first `good` bytes were read, then a read error.
    Failed { good: usize },
}

/// The outcome of a kernel copy ([`Source::copy_to`]).
#[derive(Debug)]
pub(crate) enum KernelCopy {
    /// The kernel cannot copy between these files; nothing was copied. Read instead.
    Unsupported,
    /// The first `good` bytes were copied; `failed`: then a read error.
    Copied { good: u64, failed: bool },
    /// The first `good` bytes were copied, then writing the image failed.
    WriteFailed { good: u64, err: std::io::Error },
}

/// One read attempt, kept in test builds to check the algorithm never re-reads rescued data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadRecord {
    pub(crate) pos: u64,
    pub(crate) len: u64,
    pub(crate) good: u64,
    /// A kernel copy (`copy_file_range`) rather than a read.
    pub(crate) kernel: bool,
}

/// The source, opened read-only.
pub(crate) struct Source {
    path: PathBuf,
    buffered: File,
    direct: Option<File>,
    pub(crate) size: u64,
    pub(crate) sector_size: u64,
    pub(crate) is_device: bool,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) rdev: u64,
    bad_map: Option<BadMap>,
    /// Kernel copies may be tried: a regular file read without O_DIRECT or a simulated map.
    kernel_copy: bool,
    pub(crate) log: Option<Vec<ReadRecord>>,
}

fn device_size_and_sector(file: &File) -> std::io::Result<(u64, u64)> {
    let size = salvage_sys::block_device::size_bytes(file)?;
    let sector = salvage_sys::block_device::logical_sector_size(file)?;
    Ok((size, u64::from(sector).max(1)))
}

fn is_fatal(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(
            libc::ENODEV
                | libc::ENXIO
                | libc::ENOMEDIUM
                | libc::EBADF
                | libc::EINVAL
                | libc::EFAULT
        )
    )
}

impl Source {
    /// Opens `path` read-only (O_RDONLY, plus an O_DIRECT descriptor when `direct`).
    pub(crate) fn open(
        path: &Path,
        sector_size: Option<u64>,
        direct: bool,
        bad_map: Option<BadMap>,
    ) -> Result<Self, ImageError> {
        let open_err = |e: std::io::Error| {
            let kind = if salvage_sys::open_source::is_not_a_disk(&e) {
                ImageErrorKind::SourceNotADisk(path.to_path_buf())
            } else {
                ImageErrorKind::OpenSource(path.to_path_buf())
            };
            ImageError::io(kind, e)
        };
        let buffered = salvage_sys::open_source::open_source(path).map_err(open_err)?;
        let meta = buffered.metadata().map_err(open_err)?;
        let is_device = meta.file_type().is_block_device();
        let (size, detected) = if is_device {
            device_size_and_sector(&buffered).map_err(open_err)?
        } else if meta.is_file() {
            (meta.len(), 512)
        } else {
            return Err(ImageError::io(
                ImageErrorKind::OpenSource(path.to_path_buf()),
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a regular file or block device",
                ),
            ));
        };
        let sector_size = sector_size.unwrap_or(detected);
        let direct = if direct {
            Some(
                salvage_sys::open_source::open_source_with(path, false, libc::O_DIRECT)
                    .map_err(open_err)?,
            )
        } else {
            None
        };
        let kernel_copy = meta.is_file() && direct.is_none() && bad_map.is_none();
        Ok(Self {
            path: path.to_path_buf(),
            buffered,
            direct,
            size,
            sector_size,
            is_device,
            dev: meta.dev(),
            ino: meta.ino(),
            rdev: meta.rdev(),
            kernel_copy,
            bad_map,
            log: None,
        })
    }

    /// The path it was opened from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// True while good areas may be copied inside the kernel ([`Source::copy_to`]).
    pub(crate) fn kernel_copies(&self) -> bool {
        self.kernel_copy
    }

    /// Reads `buf.len()` bytes at `pos` (the caller keeps `pos + len` within the source).
    /// Read errors are outcomes; only a vanished or shrunk source is an `Err`. With
    /// `short_ends`, a short read ends the read as a failure at the first byte not returned,
    /// without asking for that byte again: a disk returns fewer bytes than asked only when
    /// it hit an error there, and asking again would read the bad sector a second time (the
    /// copying phase leaves such an area for trimming, which reads it sector by sector).
    pub(crate) fn read(
        &mut self,
        pos: u64,
        buf: &mut [u8],
        short_ends: bool,
    ) -> Result<ReadOutcome, ImageError> {
        let len = buf.len();
        let mut limit = len;
        let mut simulated_error = false;
        if let Some(bad) = &self.bad_map {
            if let Some(first) = bad.first_bad(pos, len as u64) {
                // A sector with one bad byte is a bad sector, as on a real disk.
                let first = (first - first % self.sector_size).max(pos);
                limit = usize::try_from(first - pos).unwrap_or(len);
                simulated_error = true;
            }
        }
        let (got, mut error) = self.read_real(pos, &mut buf[..limit], short_ends)?;
        if simulated_error && error.is_none() {
            error = Some(());
        }
        if let Some(log) = &mut self.log {
            log.push(ReadRecord {
                pos,
                len: len as u64,
                good: got as u64,
                kernel: false,
            });
        }
        Ok(match error {
            None => ReadOutcome::Full,
            Some(()) => ReadOutcome::Failed { good: got },
        })
    }

    /// Copies source bytes `[pos, pos + len)` to the same offsets of `image` inside the kernel
    /// (`copy_file_range`: the bytes never pass through user space, as `cp` copies), for good
    /// areas of a regular-file source. Read errors are outcomes, as for [`Source::read`]; the
    /// first copy the kernel refuses turns kernel copies off for the rest of the run.
    pub(crate) fn copy_to(
        &mut self,
        pos: u64,
        len: u64,
        image: &File,
    ) -> Result<KernelCopy, ImageError> {
        if !self.kernel_copy {
            return Ok(KernelCopy::Unsupported);
        }
        let mut good = 0u64;
        let outcome = loop {
            if good == len {
                break KernelCopy::Copied {
                    good,
                    failed: false,
                };
            }
            let Ok(want) = usize::try_from(len - good) else {
                break KernelCopy::Copied {
                    good,
                    failed: false,
                };
            };
            let copied = salvage_sys::copy_range::copy_file_range(
                &self.buffered,
                pos + good,
                image,
                pos + good,
                want,
            );
            let err = match copied {
                Ok(n) if n > 0 => {
                    good += n as u64;
                    continue;
                }
                Ok(_) => {
                    return Err(ImageError::new(ImageErrorKind::SourceGone {
                        source: self.path.clone(),
                        pos: pos + good,
                    }));
                }
                Err(err) => err,
            };
            match err.raw_os_error() {
                Some(libc::EINTR) => {}
                Some(
                    libc::EXDEV | libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EBADF,
                ) => {
                    self.kernel_copy = false;
                    if good == 0 {
                        return Ok(KernelCopy::Unsupported);
                    }
                    break KernelCopy::Copied {
                        good,
                        failed: false,
                    };
                }
                // The image's side: no space, too large, read-only, quota.
                Some(libc::ENOSPC | libc::EFBIG | libc::EROFS | libc::EDQUOT | libc::EPERM) => {
                    break KernelCopy::WriteFailed { good, err };
                }
                // A vanished source, as `read_real` judges it.
                _ if is_fatal(&err) => {
                    return Err(ImageError::io(
                        ImageErrorKind::SourceGone {
                            source: self.path.clone(),
                            pos: pos + good,
                        },
                        err,
                    ));
                }
                _ => break KernelCopy::Copied { good, failed: true },
            }
        };
        if let Some(log) = &mut self.log {
            let good = match &outcome {
                KernelCopy::Copied { good, .. } | KernelCopy::WriteFailed { good, .. } => *good,
                KernelCopy::Unsupported => 0,
            };
            log.push(ReadRecord {
                pos,
                len,
                good,
                kernel: true,
            });
        }
        Ok(outcome)
    }

    /// Reads with `pread` until full, an error or end of file (or, with `short_ends`, the first
    /// short read). Returns the bytes read and whether a read error stopped it.
    fn read_real(
        &self,
        pos: u64,
        buf: &mut [u8],
        short_ends: bool,
    ) -> Result<(usize, Option<()>), ImageError> {
        let sector = self.sector_size as usize;
        let mut got = 0usize;
        while got < buf.len() {
            let at = pos + got as u64;
            let rest = &mut buf[got..];
            let rest_len = rest.len();
            let aligned = sector > 0
                && at % self.sector_size == 0
                && rest.len() % sector == 0
                && (rest.as_ptr() as usize) % super::aligned_buf::ALIGN == 0;
            let file = match &self.direct {
                Some(d) if aligned => d,
                _ => &self.buffered,
            };
            match file.read_at(rest, at) {
                Ok(0) => {
                    return Err(ImageError::new(ImageErrorKind::SourceGone {
                        source: self.path.clone(),
                        pos: at,
                    }));
                }
                Ok(n) => {
                    got += n;
                    if short_ends && n < rest_len {
                        return Ok((got, Some(())));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if is_fatal(&e) => {
                    return Err(ImageError::io(
                        ImageErrorKind::SourceGone {
                            source: self.path.clone(),
                            pos: at,
                        },
                        e,
                    ));
                }
                Err(_) => return Ok((got, Some(()))),
            }
        }
        Ok((got, None))
    }
}
