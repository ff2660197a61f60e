//! `salvage raid [MEMBER...] [--json]`: md RAID arrays read from their members' superblocks
//! (no md driver, no mdadm), and the kernel's /proc/mdstat when it exists (the reading:
//! `salvage_engine::raid_array`).

use clap::Args;
use salvage_engine::raid_array;

/// `salvage raid`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  salvage raid                          the kernel's arrays (/proc/mdstat)
  salvage raid sda.img sdb.img          the arrays whose members these disk images hold
  salvage raid /dev/sdb1 /dev/sdc1      the same for devices, read-only
  salvage raid sdb.img --json           for scripts

A RAID1 member holds a whole copy of the array: the answer names its data area (image, byte
offset, size), which `salvage copy IMAGE DEST --offset N --size M`, `fsck` and `mount` read
with no md driver at all.

Exit status: 0 every array (and kernel array) is clean with all its members given; 1 one is
degraded, failed, being rebuilt, not stopped cleanly, or incomplete (members not given), or has
a member failed or stale; 2 an error (a path unreadable or holding no md member).")]
pub(crate) struct RaidArgs {
    /// Member images or devices: each is read whole, or by its partitions when it has a
    /// partition table. None: only the kernel's view.
    pub members: Vec<String>,
    /// Where the kernel lists its running arrays.
    #[arg(long, default_value = salvage_language::ops::raid::DEFAULT_MDSTAT)]
    pub mdstat: String,
    /// Read this member's data area whatever its state (a stale or rebuilding member, chosen
    /// knowingly); with several arrays, name one with --array.
    #[arg(long)]
    pub member: Option<String>,
    /// The array (UUID or name) --member belongs to, when the members hold several.
    #[arg(long)]
    pub array: Option<String>,
    /// Print what was read as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `salvage raid`: 0 all well, 1 something degraded, failed, unclean or not seen, 2 an error.
pub(crate) fn command(args: &RaidArgs) -> i32 {
    let reading = match raid_array::read(&args.members, &args.mdstat) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("salvage raid: {e}");
            return 2;
        }
    };
    let chosen = match &args.member {
        None => None,
        Some(m) => {
            let picked = raid_array::pick_array(&reading, args.array.as_deref())
                .and_then(|a| raid_array::chosen_data(a, Some(m)).map(|d| (a, d)));
            match picked {
                Ok((a, Some(d))) => Some(raid_array::partition_value(&d, a)),
                Ok((_, None)) => None,
                Err(e) => {
                    eprintln!("salvage raid: {e}");
                    return 2;
                }
            }
        }
    };
    if args.json {
        let mut value = match serde_json::to_value(&reading) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("salvage raid: cannot print JSON: {e}");
                return 2;
            }
        };
        if let Some(o) = value.as_object_mut() {
            let data: Vec<_> = reading
                .arrays
                .iter()
                .map(|a| a.data().map(|d| raid_array::partition_value(d, a)))
                .collect();
            o.insert("data".into(), data.into());
            if let Some(c) = &chosen {
                o.insert("chosen".into(), c.clone());
            }
            o.insert("all_well".into(), reading.all_well().into());
        }
        match serde_json::to_string_pretty(&value) {
            Ok(t) => println!("{t}"),
            Err(e) => {
                eprintln!("salvage raid: cannot print JSON: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", raid_array::render_text(&reading));
        if let Some(c) = &chosen {
            println!(
                "chosen member {}: data at byte {}, {} bytes ({})",
                c["source"].as_str().unwrap_or_default(),
                c["offset"],
                c["size"],
                c["fstype"].as_str().unwrap_or("no filesystem recognised")
            );
        }
    }
    if reading.all_well() { 0 } else { 1 }
}
