//! `salvage domain SRC --used`: the bytes of a disk or image that matter (partition table,
//! filesystem metadata, blocks in use) as a GNU ddrescue domain mapfile, for
//! `ddrescue --domain-mapfile` or `salvage image --domain-mapfile`.

use std::path::PathBuf;

use clap::Args;
use salvage_imager::{BlockStatus, Mapfile};
use salvage_partition::Disk;
use salvage_partition::used_space::{Known, Step, used_space};

const AFTER_HELP: &str = "\
The domain is read from SRC as it is: on a failing disk, bad sectors in a table, a superblock or
a bitmap make the area they describe count as used (never free). To read it while rescuing,
with the metadata rescued first, use `salvage image SRC IMG --domain used` instead.

Blocks marked `+` are the domain (metadata and blocks in use); `?` blocks are free space. The
notes on stderr say how each partition was read (ext2/3/4 bitmaps, FAT tables; other
filesystems count as used whole).

Examples:
    salvage domain /dev/sdb --used -o sdb.domain
    ddrescue --domain-mapfile=sdb.domain /dev/sdb sdb.img sdb.map";

/// `salvage domain SRC --used [-o FILE]`.
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP)]
pub(crate) struct DomainArgs {
    /// The disk or image (opened read-only).
    pub source: PathBuf,
    /// The used domain: metadata and blocks in use (the only domain there is today).
    #[arg(long, required = true)]
    pub used: bool,
    /// Write the domain mapfile to FILE [default: stdout].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `salvage domain`; 0 written, 1 the source or the output failed.
pub(crate) fn command(args: &DomainArgs) -> i32 {
    let disk = match Disk::open(&args.source) {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "salvage domain: cannot open {} read-only: {e}",
                args.source.display()
            );
            return 1;
        }
    };
    let used = match used_space(&disk, &|_, _| Known::Rescued) {
        Step::Done(u) => u,
        Step::Need(_) => unreachable!("every byte is readable from the source itself"),
    };
    use salvage_partition::ByteSource;
    let size = disk.size_bytes();
    let mut map = Mapfile::new(0, size);
    for &(s, n) in used.domain().clipped(size).as_slice() {
        map.set_status(s, n, BlockStatus::Finished);
    }
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let now = salvage_imager::now_text();
    let text = map.render(&command_line, &now, &now);
    for n in &used.notes {
        eprintln!("salvage domain: {n}");
    }
    eprintln!(
        "salvage domain: {} bytes of metadata and data in use out of {size}",
        used.domain().clipped(size).bytes()
    );
    let written = match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| (path.display().to_string(), e)),
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| ("stdout".to_string(), e))
        }
    };
    match written {
        Ok(()) => 0,
        Err((what, e)) => {
            eprintln!("salvage domain: cannot write {what}: {e}");
            1
        }
    }
}
