//! The standalone commands for a filesystem inside an image, for a person at 3 a.m.:
//! `salvage fsck`, `salvage mount`, `salvage copy`, `salvage verify`, `salvage inspect`.
//! Exit codes: 0 all good, 1 the op ran and found problems, 2 the op could not run (or a copy
//! recovered nothing), 6 a copy completed with losses (entries not recovered, or files marked
//! damaged from a damage report) or a verified copy holds damaged files, 130 interrupted (SIGINT, SIGTERM or
//! SIGHUP; cleanup ran).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::signals::Interrupt;
use salvage_filesystem::{
    Attachment, CleanupStack, CopyDamage, CopyMethod, CopyOptions, ExtTree, FsError, FsErrorKind,
    FsType, FsckMode, FsckRequest, HostTree, InspectReport, Inspection, LoopDevice, Manifest,
    MountRequest, PartitionRef, Progress, ReadPath, SourceSpec, SourceTree, Unreadable, copy_tree,
    damage_report, fsck, inspect_tree, verify,
};

const EXIT_OK: i32 = 0;
const EXIT_FOUND: i32 = 1;
const EXIT_FAILED: i32 = 2;
/// `salvage copy` completed with losses (as `salvage run`).
const EXIT_LOSSES: i32 = 6;

/// Where the filesystem is: an image (or device) and a byte range of it.
#[derive(Debug, Args)]
pub(crate) struct PartitionArgs {
    /// Byte offset of the filesystem in the image (`2048s` for sectors, `1MiB`, ...). Default:
    /// the filesystem of the image's partition table when it has exactly one, else byte 0.
    #[arg(long, value_parser = parse_bytes)]
    pub offset: Option<u64>,
    /// Byte size of the filesystem (default: to the end of the image).
    #[arg(long, value_parser = parse_bytes)]
    pub size: Option<u64>,
    /// Filesystem type (default: probed from its signature).
    #[arg(long = "type")]
    pub fs_type: Option<String>,
}

/// `salvage fsck IMG [--offset N] [--mode check|repair]`.
#[derive(Debug, Args)]
pub(crate) struct FsckArgs {
    /// The image or block device holding the filesystem. Never written in check mode.
    pub image: PathBuf,
    #[command(flatten)]
    pub partition: PartitionArgs,
    /// `check` never writes; `repair` repairs a copy in --work (or the evidence with --in-place).
    #[arg(long, default_value = "check", value_parser = parse_mode)]
    pub mode: FsckMode,
    /// Work directory for the repair copy [default: the current directory].
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// With --mode repair: repair the evidence itself (asks for confirmation unless --yes).
    #[arg(long)]
    pub in_place: bool,
    /// Confirms an in-place repair without asking.
    #[arg(long)]
    pub yes: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `salvage mount IMG [--offset N] DIR`.
#[derive(Debug, Args)]
pub(crate) struct MountArgs {
    /// The image or block device holding the filesystem.
    pub image: PathBuf,
    /// The directory to mount on (created; must be absent or empty).
    pub dir: PathBuf,
    #[command(flatten)]
    pub partition: PartitionArgs,
    /// Print the attachments as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `salvage copy FROM TO`.
#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// A directory (a mount), or an image with an ext filesystem (read in userspace).
    pub from: PathBuf,
    /// The new directory to copy into (must be absent or empty).
    pub to: PathBuf,
    #[command(flatten)]
    pub partition: PartitionArgs,
    /// Copy only these paths (relative to the source's root); repeatable.
    #[arg(long = "path")]
    pub paths: Vec<PathBuf>,
    /// Where to write the manifest (default: TO.manifest.jsonl).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Go on with a copy that was cut short (out of space, Ctrl-C) in TO, in place: the files
    /// its manifest lists as copied are kept, not copied again.
    #[arg(long)]
    pub resume: bool,
    /// What the image's unreadable areas hit (the JSON of `salvage damage --json` or of the
    /// `damage` op): each entry is marked intact or damaged, with its damaged byte ranges,
    /// in the manifest.
    #[arg(long, conflicts_with = "map")]
    pub damage: Option<PathBuf>,
    /// Instead of --damage: the image's ddrescue map; what its unreadable areas hit is mapped
    /// now, from FROM when it is an image, else from --image.
    #[arg(long)]
    pub map: Option<PathBuf>,
    /// With --map, when FROM is a mount: the image the map belongs to.
    #[arg(long, requires = "map")]
    pub image: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `salvage verify MANIFEST`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The manifest written by `salvage copy` (or, instead, --map and --image for an image).
    #[arg(required_unless_present = "map")]
    pub manifest: Option<PathBuf>,
    /// For an image: its ddrescue mapfile; every rescued area is checked (with --image).
    #[arg(long, conflicts_with = "manifest", requires = "image")]
    pub map: Option<PathBuf>,
    /// With --map: the image made by `salvage image` (or GNU ddrescue).
    #[arg(long, requires = "map")]
    pub image: Option<PathBuf>,
    /// With --map: the source to compare the rescued areas with (opened read-only).
    #[arg(long, requires = "map")]
    pub source: Option<PathBuf>,
    /// The copy's directory, if it moved since.
    #[arg(long)]
    pub copy: Option<PathBuf>,
    /// Do not re-read the source, only the copy.
    #[arg(long)]
    pub no_source: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `salvage inspect IMG --offset N [--offset M]...` or `salvage inspect DIR`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Images (each with every --offset) or directories.
    #[arg(required = true)]
    pub targets: Vec<PathBuf>,
    /// Byte offsets of the candidate filesystems in each image (`2048s`, `1MiB`, ...)
    /// [default: every partition with a filesystem, from the image's partition table].
    #[arg(long = "offset", value_parser = parse_bytes)]
    pub offsets: Vec<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses a byte count: `1048576`, `2048s` (512-byte sectors), `4KiB`, `1MiB`, `2GiB`.
fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a byte count"))?;
    let factor: u64 = match unit {
        "" | "B" => 1,
        "s" => 512,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        _ => return Err(format!("unknown unit {unit:?} (use s, KiB, MiB, GiB, TiB)")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

fn parse_mode(text: &str) -> Result<FsckMode, String> {
    match text {
        "check" => Ok(FsckMode::Check),
        "repair" => Ok(FsckMode::Repair),
        _ => Err(format!("{text:?}: use check or repair")),
    }
}

impl PartitionArgs {
    fn partition(&self, image: &Path) -> Result<PartitionRef, FsError> {
        let mut partition = match self.offset {
            Some(offset) => PartitionRef::new(image, offset, self.size),
            None => {
                let found = table_filesystem(image)?;
                let (offset, size) = found.unwrap_or((0, u64::MAX));
                match md_data_area(image, offset, size) {
                    Some((offset, size)) => PartitionRef::new(image, offset, Some(size)),
                    None => match found {
                        Some((offset, size)) => {
                            PartitionRef::new(image, offset, self.size.or(Some(size)))
                        }
                        None => PartitionRef::new(image, 0, self.size),
                    },
                }
            }
        };
        if let Some(name) = &self.fs_type {
            partition.fs_type = Some(FsType::from_name(name).ok_or_else(|| {
                FsError::new(FsErrorKind::Unsupported {
                    what: format!("filesystem type {name}"),
                })
            })?);
        }
        Ok(partition)
    }
}

/// Without `--offset`, when the area chosen (the whole image, or its one partition) is an md
/// member that holds the whole array (RAID1): its data area, said on stderr with the way to
/// check that this member is current (`salvage raid`); a member alone cannot tell.
fn md_data_area(image: &Path, offset: u64, size: u64) -> Option<(u64, u64)> {
    let disk = salvage_partition::Disk::open(image).ok()?;
    let (sb, _) = salvage_partition::md::read_superblock(&disk, offset, size);
    let sb = sb.filter(|sb| sb.holds_whole_array())?;
    let start = offset.checked_add(sb.data_offset)?;
    eprintln!(
        "salvage: {}: an md {} member (metadata v{}, array {}): reading the array's data at byte {start}, {} bytes; `salvage raid` with every member says whether this one is current",
        image.display(),
        sb.level_name(),
        sb.version,
        sb.array_uuid,
        sb.data_bytes
    );
    Some((start, sb.data_bytes))
}

/// Without `--offset`: the partition table of `image`, read as `salvage inspect` reads it. Its
/// one filesystem (offset and size) when it has exactly one; `None` without a table (a
/// filesystem imaged on its own); an error naming the offsets when there is a choice to make.
fn table_filesystem(image: &Path) -> Result<Option<(u64, u64)>, FsError> {
    let is_image = std::fs::metadata(image).is_ok_and(|m| !m.is_dir());
    if !is_image {
        return Ok(None);
    }
    let Ok(table) =
        salvage_partition::read_table(image, &salvage_partition::ReadOptions::default())
    else {
        return Ok(None);
    };
    if table.partitions.is_empty() {
        return Ok(None);
    }
    let with_fs: Vec<_> = table
        .partitions
        .iter()
        .filter(|p| p.filesystem.is_some() || !p.ambivalent.is_empty())
        .collect();
    if let [only] = with_fs.as_slice() {
        eprintln!(
            "salvage: {}: the filesystem at byte {} (partition {} of its partition table); pass --offset for another",
            image.display(),
            only.offset,
            only.number
        );
        return Ok(Some((only.offset, only.size_bytes)));
    }
    let listed = if with_fs.is_empty() {
        table.partitions.iter().collect()
    } else {
        with_fs
    };
    let choices = listed
        .iter()
        .map(|p| {
            let what = p.filesystem.as_ref().map_or_else(
                || "no filesystem signature".to_string(),
                |f| f.fs_type.clone(),
            );
            format!("--offset {} (partition {}, {what})", p.offset, p.number)
        })
        .collect();
    Err(FsError::new(FsErrorKind::ChoosePartition {
        path: image.to_path_buf(),
        choices,
    }))
}

fn fail(command: &str, error: &FsError) -> i32 {
    eprintln!("salvage {command}: {error}");
    if matches!(error.kind(), FsErrorKind::Interrupted) {
        // Stopped by SIGINT, SIGTERM or SIGHUP after its cleanup ran.
        crate::signals::EXIT_INTERRUPTED
    } else {
        EXIT_FAILED
    }
}

fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("salvage: cannot print JSON: {e}"),
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs `salvage fsck`; returns the process exit code.
pub(crate) fn fsck_command(args: &FsckArgs) -> i32 {
    let flag = Interrupt::install();
    let partition = match args.partition.partition(&args.image) {
        Ok(p) => p,
        Err(e) => return fail("fsck", &e),
    };
    if args.in_place && args.mode != FsckMode::Repair {
        eprintln!(
            "salvage fsck: --in-place repairs, so it goes with --mode repair; a check never writes (nothing was done)"
        );
        return EXIT_FAILED;
    }
    let mut confirmed = args.yes;
    if args.mode == FsckMode::Repair && args.in_place && !confirmed {
        confirmed = confirm_in_place(&partition);
        if !confirmed {
            eprintln!("salvage fsck: in-place repair not confirmed; nothing was done");
            return EXIT_FAILED;
        }
    }
    let work_dir = args
        .work
        .clone()
        .or_else(|| (args.mode == FsckMode::Repair && !args.in_place).then(|| PathBuf::from(".")));
    let request = FsckRequest {
        partition,
        mode: args.mode,
        in_place: args.in_place,
        confirmed,
        work_dir,
        cancel: Some(flag),
    };
    if let Ok(plan) = request.describe_plan() {
        eprintln!("salvage fsck: {plan}");
    }
    let mut on_attach = |a: &Attachment| {
        eprintln!(
            "salvage fsck: attached {} (if interrupted: {})",
            a.describe(),
            a.undo_command()
        );
    };
    match fsck(&request, &mut on_attach) {
        Ok(report) => {
            if args.json {
                print_json(&report);
            } else {
                println!("{}", report.output.trim_end());
                println!("ran: {}", report.argv.join(" "));
                println!("exit code {}: {}", report.exit_code, report.bits.join("; "));
                if let Some(copy) = &report.repair_copy {
                    let how = match copy.method {
                        CopyMethod::Reflink => "a reflink copy",
                        CopyMethod::Plain => "a plain copy",
                    };
                    println!("repaired copy: {} ({how})", copy.path.display());
                }
                println!(
                    "{}",
                    if report.evidence_writable {
                        "the evidence was opened read-write (in-place repair)"
                    } else {
                        "the evidence was not written"
                    }
                );
            }
            if report.clean { EXIT_OK } else { EXIT_FOUND }
        }
        Err(e) => fail("fsck", &e),
    }
}

/// Asks on the terminal before writing to the evidence.
fn confirm_in_place(partition: &PartitionRef) -> bool {
    if !std::io::stdin().is_terminal() {
        eprintln!("salvage fsck: --in-place needs --yes when not run from a terminal");
        return false;
    }
    eprintln!(
        "salvage fsck: this REPAIRS THE EVIDENCE ITSELF: {}. Type 'repair in place' to go on:",
        partition.describe()
    );
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).is_ok() && line.trim() == "repair in place"
}

#[derive(Serialize)]
struct MountOutput {
    path: PathBuf,
    read_path: ReadPath,
    attachments: Vec<Attachment>,
    undo: Vec<String>,
}

/// Runs `salvage mount`; returns the process exit code.
pub(crate) fn mount_command(args: &MountArgs) -> i32 {
    if !is_root() {
        let e = FsError::new(FsErrorKind::NeedsRoot {
            what: "mounting".to_string(),
        });
        eprintln!(
            "salvage mount: {e}; without root, `salvage copy` and `salvage inspect` read ext2/3/4 images directly"
        );
        return EXIT_FAILED;
    }
    let result = (|| {
        let partition = args.partition.partition(&args.image)?;
        let fs_type = partition.resolve_fs_type()?;
        let size = partition.resolved_size()?;
        let request_check = MountRequest::new(Path::new("/dev/null"), &args.dir, fs_type)?;
        drop(request_check);
        let device = LoopDevice::attach(&partition.image, partition.offset, size, true)?;
        let request = MountRequest::new(device.path(), &args.dir, fs_type)?;
        eprintln!("salvage mount: {}", request.command_line());
        match request.mount() {
            Ok(mounted) => {
                let attachments = vec![device.attachment(), mounted.attachment().clone()];
                // Our handle closes here; autoclear detaches the loop device at unmount.
                drop(device);
                Ok(MountOutput {
                    path: mounted.path().to_path_buf(),
                    read_path: ReadPath::KernelMount,
                    undo: attachments
                        .iter()
                        .rev()
                        .map(Attachment::undo_command)
                        .collect(),
                    attachments,
                })
            }
            Err(e) => {
                let _ = device.detach();
                Err(e)
            }
        }
    })();
    match result {
        Ok(output) => {
            if args.json {
                print_json(&output);
            } else {
                println!("mounted read-only on {}", output.path.display());
                println!(
                    "undo: {} (the loop device detaches itself once unmounted)",
                    output.undo.first().map(String::as_str).unwrap_or("")
                );
            }
            EXIT_OK
        }
        Err(e) => fail("mount", &e),
    }
}

/// Opens what a copy or verify reads: a directory as is, an image through the userspace reader.
fn open_source(spec: &SourceSpec) -> Result<Box<dyn SourceTree>, FsError> {
    match spec {
        SourceSpec::Directory { path } => Ok(Box::new(HostTree::open(path)?)),
        SourceSpec::ExtImage {
            image,
            offset,
            size,
        } => {
            let partition = PartitionRef::new(image, *offset, *size);
            Ok(Box::new(ExtTree::open(&partition)?))
        }
    }
}

/// The source spec for `from`: a directory, or an ext image read in userspace.
fn source_spec(from: &Path, partition: &PartitionArgs) -> Result<SourceSpec, FsError> {
    let meta = std::fs::metadata(from).map_err(|e| {
        FsError::io(
            FsErrorKind::Open {
                path: from.to_path_buf(),
            },
            e,
        )
    })?;
    let absolute = std::fs::canonicalize(from).map_err(|e| {
        FsError::io(
            FsErrorKind::Open {
                path: from.to_path_buf(),
            },
            e,
        )
    })?;
    if meta.is_dir() {
        return Ok(SourceSpec::Directory { path: absolute });
    }
    let part = partition.partition(&absolute)?;
    let fs_type = part.resolve_fs_type()?;
    match ReadPath::choose(fs_type, false) {
        Ok(ReadPath::Userspace) => Ok(SourceSpec::ExtImage {
            image: absolute,
            offset: part.offset,
            size: part.size,
        }),
        _ => Err(FsError::new(FsErrorKind::Unsupported {
            what: format!(
                "copying {fs_type} straight from an image; `salvage mount` it first and copy from the mount"
            ),
        })),
    }
}

/// Runs `salvage copy`; returns the process exit code.
pub(crate) fn copy_command(args: &CopyArgs) -> i32 {
    let flag = Interrupt::install();
    let result = (|| {
        let spec = source_spec(&args.from, &args.partition)?;
        let source = open_source(&spec)?;
        eprintln!("salvage copy: from {}", source.describe());
        let manifest = args.manifest.clone().unwrap_or_else(|| {
            let mut name = args.to.file_name().unwrap_or_default().to_os_string();
            name.push(".manifest.jsonl");
            args.to.with_file_name(name)
        });
        let damage = copy_damage(args, &spec)?;
        if let Some(d) = &damage {
            let s = d.source();
            eprintln!(
                "salvage copy: damage marks from {}: {}: {}",
                s.report, s.filesystem, s.headline
            );
        }
        let options = CopyOptions {
            paths: args.paths.clone(),
            preserve_owner: None,
            cancel: Some(flag),
            resume: args.resume,
            damage: damage.map(std::sync::Arc::new),
        };
        let mut progress = Progress::console();
        copy_tree(
            source.as_ref(),
            spec,
            &args.to,
            &manifest,
            &options,
            &mut progress,
        )
    })();
    match result {
        Ok(report) => {
            if args.json {
                print_json(&report);
            } else {
                let s = &report.summary;
                println!(
                    "copied {} files ({} bytes), {} directories, {} symlinks into {}",
                    s.files,
                    s.bytes,
                    s.dirs,
                    s.symlinks,
                    report.dest.display()
                );
                println!("skipped {}, unreadable {}", s.skipped, s.unreadable);
                for problem in &report.problems {
                    println!("  {problem}");
                }
                if let Some(line) = report.damage_line() {
                    println!("damage: {line}");
                    for d in report.damaged.iter().flatten() {
                        println!(
                            "  {}: {}",
                            d.path,
                            lost_text(d.lost_bytes, &d.ranges, &d.hit)
                        );
                    }
                }
                println!("manifest: {}", report.manifest.display());
            }
            if report.recovered_nothing() {
                eprintln!(
                    "salvage copy: FAILED: {}",
                    report.nothing_recovered_message()
                );
                EXIT_FAILED
            } else if report.losses() > 0 {
                eprintln!(
                    "salvage copy: PARTIAL: completed with losses: {} entries not recovered (exit code 6)",
                    report.losses()
                );
                EXIT_LOSSES
            } else if report.damaged.as_ref().is_some_and(|d| !d.is_empty()) {
                eprintln!(
                    "salvage copy: PARTIAL: completed with losses: {} (zeros where the image was unreadable; exit code 6)",
                    report.damage_line().unwrap_or_default()
                );
                EXIT_LOSSES
            } else {
                EXIT_OK
            }
        }
        Err(e) => fail("copy", &e),
    }
}

/// The damage marks `salvage copy` was asked for: a report, or a map to map now.
fn copy_damage(args: &CopyArgs, spec: &SourceSpec) -> Result<Option<CopyDamage>, FsError> {
    if let Some(report) = &args.damage {
        return CopyDamage::from_report_file(report, spec).map(Some);
    }
    let Some(map_path) = &args.map else {
        return Ok(None);
    };
    let image = match (&args.image, spec) {
        (Some(image), _) => image.clone(),
        (None, SourceSpec::ExtImage { image, .. }) => image.clone(),
        (None, SourceSpec::Directory { .. }) => {
            return Err(FsError::new(FsErrorKind::DamageInput {
                path: map_path.clone(),
                message: "FROM is a directory: give the image the map belongs to with --image"
                    .into(),
            }));
        }
    };
    let bad = |message: String| {
        FsError::new(FsErrorKind::DamageInput {
            path: map_path.clone(),
            message,
        })
    };
    let map = salvage_imager::BadMap::load(map_path).map_err(|e| bad(e.to_string()))?;
    let unreadable = Unreadable::new(map.ranges().iter().copied());
    let report = damage_report(&image, &unreadable)?;
    let label = format!(
        "{} (mapped now from {})",
        map_path.display(),
        image.display()
    );
    CopyDamage::from_report(&report, &label, spec)
        .map(Some)
        .map_err(bad)
}

/// "4.0 KiB lost at 4096+4096 (data)".
fn lost_text(lost: u64, ranges: &[[u64; 2]], hit: &[String]) -> String {
    let at: Vec<String> = ranges
        .iter()
        .take(8)
        .map(|[s, l]| format!("{s}+{l}"))
        .collect();
    let more = ranges.len().saturating_sub(8);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let hit = if hit.is_empty() {
        String::new()
    } else {
        format!(" ({})", hit.join(", "))
    };
    format!(
        "{} lost at {}{more}{hit}",
        salvage_text::size_text::binary_size(lost, 1),
        if at.is_empty() {
            "no byte (empty)".to_string()
        } else {
            at.join(", ")
        }
    )
}

/// Runs `salvage verify`; returns the process exit code.
pub(crate) fn verify_command(args: &VerifyArgs) -> i32 {
    let (Some(manifest_path), None) = (&args.manifest, &args.map) else {
        return match (&args.map, &args.image) {
            (Some(map), Some(image)) => salvage_engine::ops::verify_image::verify_image_command(
                map,
                image,
                args.source.as_deref(),
                args.json,
                &Interrupt::install(),
            ),
            _ => {
                eprintln!("salvage verify: give a manifest, or --map with --image");
                EXIT_FAILED
            }
        };
    };
    let result = (|| {
        let manifest = Manifest::read(manifest_path)?;
        let source = if args.no_source {
            None
        } else {
            match open_source(&manifest.header.source) {
                Ok(source) => Some(source),
                Err(e) => {
                    eprintln!(
                        "salvage verify: the source cannot be re-read ({e}); checking the copy only"
                    );
                    None
                }
            }
        };
        verify(manifest_path, args.copy.as_deref(), source.as_deref())
    })();
    match result {
        Ok(report) => {
            if args.json {
                // `ok` as the runbook op's output says it: the verdict scripts look for.
                let mut json = serde_json::to_value(&report).unwrap_or_default();
                if let Some(obj) = json.as_object_mut() {
                    obj.insert("ok".into(), report.ok().into());
                }
                print_json(&json);
            } else {
                println!("copy: {}", report.copy_root.display());
                println!(
                    "source: {}",
                    report.source.as_deref().unwrap_or("not re-read")
                );
                println!("matched: {}", report.matched);
                for (title, list) in [
                    ("DIFFERED", &report.differed),
                    ("MISSING", &report.missing),
                    ("UNREADABLE", &report.unreadable),
                    ("not copied", &report.not_copied),
                ] {
                    println!("{title}: {}", list.len());
                    for finding in list {
                        println!("  {}: {}", finding.path, finding.detail);
                    }
                }
                println!("EXTRA (not in the manifest): {}", report.extra.len());
                for path in &report.extra {
                    println!("  {path}");
                }
                if report.incomplete_copy {
                    println!("the copy did not finish (the manifest has no summary line)");
                }
                match &report.damage_source {
                    None => println!(
                        "DAMAGED: not known (the copy was made without a damage report: \
                         `salvage copy --damage` marks files holding unreadable areas)"
                    ),
                    Some(src) => {
                        println!(
                            "DAMAGED (zeros where the image was unreadable; marks from {}, {}): {}",
                            src.report,
                            src.filesystem,
                            report.damaged.len()
                        );
                        for d in &report.damaged {
                            let how = if d.matched {
                                "matches its damaged copy"
                            } else {
                                "also a mismatch (above)"
                            };
                            println!(
                                "  {}: {}; {how}",
                                d.path,
                                lost_text(d.lost_bytes, &d.ranges, &[])
                            );
                        }
                        if !report.damage_unknown.is_empty() {
                            println!(
                                "damage not known (in a damaged directory the report could not read): {}",
                                report.damage_unknown.len()
                            );
                            for p in &report.damage_unknown {
                                println!("  {p}");
                            }
                        }
                    }
                }
                println!(
                    "{}",
                    match (report.ok(), report.damage_line()) {
                        (false, _) => "NOT VERIFIED".to_string(),
                        (true, None) => "VERIFIED".to_string(),
                        (true, Some(line)) => format!(
                            "VERIFIED, WITH LOSSES: {line} (the copy holds what the image held)"
                        ),
                    }
                );
            }
            if !report.ok() {
                EXIT_FOUND
            } else if report.intact() {
                EXIT_OK
            } else {
                EXIT_LOSSES
            }
        }
        Err(e) => fail("verify", &e),
    }
}

/// Inspects one candidate, mounting it (root, non-ext) only for the time of the walk.
fn inspect_one(
    target: &Path,
    offset: u64,
    flag: &std::sync::atomic::AtomicBool,
) -> Result<Inspection, FsError> {
    let meta = std::fs::metadata(target).map_err(|e| {
        FsError::io(
            FsErrorKind::Open {
                path: target.to_path_buf(),
            },
            e,
        )
    })?;
    if meta.is_dir() {
        let tree = HostTree::open(target)?;
        return inspect_tree(&tree, &format!("{}", target.display()), Some(flag));
    }
    let partition = PartitionRef::new(target, offset, None);
    let fs_type = partition.resolve_fs_type()?;
    let label = format!("{} ({fs_type})", partition.describe());
    match ReadPath::choose(fs_type, is_root())? {
        ReadPath::Userspace => inspect_tree(&ExtTree::open(&partition)?, &label, Some(flag)),
        ReadPath::KernelMount => {
            let mut stack = CleanupStack::new();
            let size = partition.resolved_size()?;
            let device = LoopDevice::attach(&partition.image, offset, size, true)?;
            stack.push(device.attachment());
            let scratch = std::env::temp_dir()
                .join(format!("salvage-inspect-{}-{offset}", std::process::id()));
            let request = MountRequest::new(device.path(), &scratch, fs_type)?;
            stack.push(request.attachment());
            let mounted = request.mount()?;
            let tree = HostTree::open(mounted.path())?;
            let result = inspect_tree(&tree, &label, Some(flag));
            drop(tree);
            drop(device);
            for (attachment, outcome) in stack.undo_all() {
                if let Err(e) = outcome {
                    eprintln!("salvage inspect: undo {}: {e}", attachment.undo_command());
                }
            }
            result
        }
    }
}

/// Runs `salvage inspect`; returns the process exit code.
pub(crate) fn inspect_command(args: &InspectArgs) -> i32 {
    let flag = Interrupt::install();
    let offsets = if args.offsets.is_empty() {
        vec![0]
    } else {
        args.offsets.clone()
    };
    let mut candidates = Vec::new();
    let mut failed = 0;
    for target in &args.targets {
        let per_target: Vec<u64> = if target.is_dir() {
            vec![0]
        } else if args.offsets.is_empty() {
            partition_offsets(target)
        } else {
            offsets.clone()
        };
        for offset in per_target {
            match inspect_one(target, offset, &flag) {
                Ok(inspection) => candidates.push(inspection),
                Err(e) => {
                    failed += 1;
                    eprintln!(
                        "salvage inspect: {} at byte {offset}: {e}",
                        target.display()
                    );
                    if matches!(e.kind(), FsErrorKind::Interrupted) {
                        return crate::signals::EXIT_INTERRUPTED;
                    }
                }
            }
        }
    }
    let report = InspectReport::new(candidates);
    if args.json {
        print_json(&report);
    } else {
        for (i, c) in report.candidates.iter().enumerate() {
            let mark = if report.newest_root == Some(i) {
                "  <- newest OS root"
            } else {
                ""
            };
            println!("{}{mark}", c.source);
            println!(
                "  OS root: {}  (etc: {}, os-release: {}, fstab: {}, bin: {})",
                if c.is_os_root { "yes" } else { "no" },
                c.has_etc,
                c.has_os_release,
                c.has_fstab,
                c.has_bin
            );
            if let Some(name) = &c.os_name {
                println!("  OS: {name}");
            }
            println!(
                "  newest: {} {}",
                c.newest_mtime_utc.as_deref().unwrap_or("-"),
                c.newest_path
                    .as_deref()
                    .map(|p| format!("{p:?}"))
                    .unwrap_or_default()
            );
            println!(
                "  {} files, {} dirs, {} symlinks, {} other, {} unreadable",
                c.files, c.dirs, c.symlinks, c.other, c.unreadable
            );
        }
    }
    if report.candidates.is_empty() {
        EXIT_FAILED
    } else if failed > 0 {
        eprintln!(
            "salvage inspect: {failed} candidate(s) could not be looked at (above); the report has the others"
        );
        EXIT_FOUND
    } else {
        EXIT_OK
    }
}

/// Without --offset: every partition of the image's table that holds a filesystem (offset 0
/// when there is no table: a bare filesystem image).
fn partition_offsets(image: &Path) -> Vec<u64> {
    let table = salvage_partition::read_table(image, &salvage_partition::ReadOptions::default());
    let offsets: Vec<u64> = table
        .map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.filesystem.is_some())
                .map(|p| p.offset)
                .collect()
        })
        .unwrap_or_default();
    if offsets.is_empty() {
        vec![0]
    } else {
        eprintln!(
            "salvage inspect: {}: the partitions at bytes {} (from its partition table)",
            image.display(),
            offsets
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        offsets
    }
}
