//! `fsck`: runs the right checker for a filesystem inside an image. `check` never writes: the
//! partition is attached through a read-only loop device (or, without root, e2fsck reads
//! `image?offset=N` read-only) and the checker runs in its no-change mode. `repair` changes a
//! copy of the partition in the work directory, or the evidence itself only with `in_place`
//! and the operator's confirmation.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use super::attachment::Attachment;
use super::error::{FsError, FsErrorKind};
use super::fs_type::FsType;
use super::fsck_exit::FsckExit;
use super::loop_device::LoopDevice;
use super::partition_ref::PartitionRef;
use super::repair_copy::RepairCopy;

/// How much checker output a report keeps (the end of it, where the summary is).
const OUTPUT_KEPT: usize = 64 * 1024;

/// Check only, or repair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsckMode {
    Check,
    Repair,
}

/// What to check and how.
#[derive(Clone, Debug)]
pub struct FsckRequest {
    pub partition: PartitionRef,
    pub mode: FsckMode,
    /// Repair the evidence itself instead of a copy (needs `confirmed` too).
    pub in_place: bool,
    /// The operator confirmed an in-place repair.
    pub confirmed: bool,
    /// Where a repair copy goes (required for a repair that is not in place).
    pub work_dir: Option<PathBuf>,
    /// Set by an interrupt: a check (or a repair of a copy) stops its checker and cleans up.
    /// An in-place repair of the evidence is never stopped halfway: it runs to its end.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// The outcome of a check or repair.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FsckReport {
    pub fs_type: FsType,
    pub mode: FsckMode,
    /// The checker program.
    pub checker: String,
    /// The full command line run.
    pub argv: Vec<String>,
    /// What the checker ran on: a loop device, the image with an offset, or the repair copy.
    pub target: PathBuf,
    pub exit_code: i32,
    /// The exit status in words, one per e2fsck bit.
    pub bits: Vec<String>,
    pub clean: bool,
    /// Whether the evidence image could have been written (only an in-place repair).
    pub evidence_writable: bool,
    /// The repaired copy, when the repair was made on a copy.
    pub repair_copy: Option<RepairCopy>,
    /// The end of the checker's output (stdout and stderr).
    pub output: String,
}

/// How the checker reaches the filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// A block device holding exactly the filesystem.
    Device,
    /// A regular file holding exactly the filesystem.
    File,
    /// e2fsprogs' `image?offset=N` syntax (a file with the filesystem at an offset).
    ExtOffset,
}

/// The checker's command line for `fs_type` in `mode` on `target`.
fn checker_argv(fs_type: FsType, mode: FsckMode, target: &str, kind: Target) -> Vec<String> {
    let mut argv: Vec<&str> = match (fs_type, mode) {
        (FsType::Ext2 | FsType::Ext3 | FsType::Ext4, FsckMode::Check) => vec!["e2fsck", "-f", "-n"],
        (FsType::Ext2 | FsType::Ext3 | FsType::Ext4, FsckMode::Repair) => {
            vec!["e2fsck", "-f", "-y"]
        }
        (FsType::Xfs, FsckMode::Check) => vec!["xfs_repair", "-n"],
        (FsType::Xfs, FsckMode::Repair) => vec!["xfs_repair"],
        (FsType::Btrfs, FsckMode::Check) => vec!["btrfs", "check", "--readonly"],
        (FsType::Btrfs, FsckMode::Repair) => vec!["btrfs", "check", "--repair", "--force"],
        (FsType::Vfat, FsckMode::Check) => vec!["fsck.vfat", "-n"],
        (FsType::Vfat, FsckMode::Repair) => vec!["fsck.vfat", "-a"],
        (FsType::Exfat, FsckMode::Check) => vec!["fsck.exfat", "-n"],
        (FsType::Exfat, FsckMode::Repair) => vec!["fsck.exfat", "-y"],
        (FsType::Ntfs, FsckMode::Check) => vec!["ntfsfix", "-n"],
        (FsType::Ntfs, FsckMode::Repair) => vec!["ntfsfix"],
    };
    if fs_type == FsType::Xfs && kind == Target::File {
        argv.push("-f");
    }
    argv.push(target);
    argv.into_iter().map(str::to_string).collect()
}

impl FsckRequest {
    /// A read-only check of `partition`.
    pub fn check(partition: PartitionRef) -> Self {
        Self {
            partition,
            mode: FsckMode::Check,
            in_place: false,
            confirmed: false,
            work_dir: None,
            cancel: None,
        }
    }

    /// What will run, in words, for a dry-run plan.
    pub fn describe_plan(&self) -> Result<String, FsError> {
        let fs_type = self.partition.resolve_fs_type()?;
        let root = nix::unistd::geteuid().is_root();
        Ok(match (self.mode, self.in_place) {
            (FsckMode::Check, _) if root => format!(
                "attach {} read-only as a loop device, run {}, detach",
                self.partition.describe(),
                checker_argv(fs_type, FsckMode::Check, "/dev/loopN", Target::Device).join(" ")
            ),
            (FsckMode::Check, _) => format!(
                "run {} (read-only, no root)",
                checker_argv(
                    fs_type,
                    FsckMode::Check,
                    &self.ext_offset_target(),
                    Target::ExtOffset
                )
                .join(" ")
            ),
            (FsckMode::Repair, false) => format!(
                "copy {} into {} (reflink if possible), then run {} on the copy; the evidence is not written",
                self.partition.describe(),
                self.work_dir
                    .as_deref()
                    .unwrap_or(Path::new("(work dir)"))
                    .display(),
                checker_argv(fs_type, FsckMode::Repair, "COPY", Target::File).join(" ")
            ),
            (FsckMode::Repair, true) => format!(
                "REPAIR THE EVIDENCE IN PLACE: attach {} read-write, run {}",
                self.partition.describe(),
                checker_argv(fs_type, FsckMode::Repair, "/dev/loopN", Target::Device).join(" ")
            ),
        })
    }

    fn ext_offset_target(&self) -> String {
        format!(
            "{}?offset={}",
            self.partition.image.display(),
            self.partition.offset
        )
    }
}

/// Runs the check or repair. `on_attach` is called with every attachment (a loop device)
/// before it is used, so the executor can journal it; the attachment is undone before
/// returning, and being attached with autoclear it vanishes by itself if this process dies.
pub fn fsck(
    request: &FsckRequest,
    on_attach: &mut dyn FnMut(&Attachment),
) -> Result<FsckReport, FsError> {
    let partition = &request.partition;
    let cancel = request.cancel.as_deref();
    let fs_type = partition.resolve_fs_type()?;
    let size = partition.resolved_size()?;
    let root = nix::unistd::geteuid().is_root();
    match request.mode {
        FsckMode::Check => {
            if root {
                on_loop(partition, size, true, on_attach, |device| {
                    run(
                        fs_type,
                        FsckMode::Check,
                        device,
                        Target::Device,
                        false,
                        cancel,
                    )
                })
            } else if fs_type.is_ext() {
                let target = PathBuf::from(request.ext_offset_target());
                run(
                    fs_type,
                    FsckMode::Check,
                    &target,
                    Target::ExtOffset,
                    false,
                    cancel,
                )
            } else {
                Err(FsError::new(FsErrorKind::NeedsRoot {
                    what: format!("checking {fs_type} inside an image (a loop device)"),
                }))
            }
        }
        FsckMode::Repair if request.in_place => {
            if !request.confirmed {
                return Err(FsError::new(FsErrorKind::InPlaceNotConfirmed {
                    path: partition.image.clone(),
                }));
            }
            if root {
                on_loop(partition, size, false, on_attach, |device| {
                    run(
                        fs_type,
                        FsckMode::Repair,
                        device,
                        Target::Device,
                        true,
                        None,
                    )
                })
            } else if fs_type.is_ext() {
                let target = PathBuf::from(request.ext_offset_target());
                run(
                    fs_type,
                    FsckMode::Repair,
                    &target,
                    Target::ExtOffset,
                    true,
                    None,
                )
            } else {
                Err(FsError::new(FsErrorKind::NeedsRoot {
                    what: format!("repairing {fs_type} inside an image in place"),
                }))
            }
        }
        FsckMode::Repair => {
            let work_dir = request.work_dir.as_deref().ok_or_else(|| {
                FsError::new(FsErrorKind::Unsupported {
                    what: "a repair on a copy without a work directory".to_string(),
                })
            })?;
            let copy = RepairCopy::create(partition, work_dir)?;
            let mut report = run(
                fs_type,
                FsckMode::Repair,
                &copy.path,
                Target::File,
                false,
                cancel,
            )?;
            report.repair_copy = Some(copy);
            Ok(report)
        }
    }
}

/// Attaches the partition as a loop device, runs `body` on it, detaches.
fn on_loop(
    partition: &PartitionRef,
    size: u64,
    read_only: bool,
    on_attach: &mut dyn FnMut(&Attachment),
    body: impl FnOnce(&Path) -> Result<FsckReport, FsError>,
) -> Result<FsckReport, FsError> {
    let device = LoopDevice::attach(&partition.image, partition.offset, size, read_only)?;
    on_attach(&device.attachment());
    let result = body(device.path());
    let detached = device.detach();
    let report = result?;
    detached?;
    Ok(report)
}

fn run(
    fs_type: FsType,
    mode: FsckMode,
    target: &Path,
    kind: Target,
    evidence_writable: bool,
    cancel: Option<&AtomicBool>,
) -> Result<FsckReport, FsError> {
    let target_text = target.to_string_lossy().into_owned();
    let argv = checker_argv(fs_type, mode, &target_text, kind);
    let program = argv[0].clone();
    let mut child = Command::new(&program)
        .args(&argv[1..])
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                FsErrorKind::CheckerMissing {
                    program: program.clone(),
                }
            } else {
                FsErrorKind::CheckerSpawn {
                    program: program.clone(),
                }
            };
            FsError::io(kind, e)
        })?;
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    // Wait for the checker, watching the interrupt: a check is stopped (it writes nothing), so
    // the loop device is detached before this process exits.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                return Err(FsError::io(
                    FsErrorKind::CheckerSpawn {
                        program: program.clone(),
                    },
                    e,
                ));
            }
        }
        if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(FsError::new(FsErrorKind::Interrupted));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let output = std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    let code = output.status.code().unwrap_or(-1);
    let exit = FsckExit::interpret(fs_type, code);
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    if text.len() > OUTPUT_KEPT {
        let mut cut = text.len() - OUTPUT_KEPT;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text = format!("[... {cut} bytes cut ...]\n{}", &text[cut..]);
    }
    Ok(FsckReport {
        fs_type,
        mode,
        checker: program,
        argv,
        target: target.to_path_buf(),
        exit_code: code,
        bits: exit.words,
        clean: exit.clean,
        evidence_writable,
        repair_copy: None,
        output: text,
    })
}
