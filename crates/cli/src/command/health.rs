//! `salvage health DISK [--json]`: the disk's SMART health through `smartctl -j -a DISK`
//! (the reading: `salvage_engine::disk_health`).

use clap::Args;
use salvage_engine::disk_health::read_blocking;

/// `salvage health DISK`.
#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// The disk (/dev/sdX, /dev/nvmeN).
    pub disk: String,
    /// Print what was read as JSON (smartctl's own JSON is not repeated).
    #[arg(long)]
    pub json: bool,
}

/// Runs `salvage health`: exit 0 when healthy, 1 when SMART says failing or a count says the
/// disk is losing sectors, 2 when smartctl could not ask the disk, 3 when there is no SMART
/// to read (smartctl missing, or the disk without SMART).
pub(crate) fn command(args: &HealthArgs) -> i32 {
    let health = match read_blocking(&args.disk) {
        Ok((h, _)) => h,
        Err(e) => {
            eprintln!("salvage health: {e}");
            return 2;
        }
    };
    if args.json {
        let mut value = match serde_json::to_value(&health) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("salvage health: cannot print JSON: {e}");
                return 2;
            }
        };
        if let Some(o) = value.as_object_mut() {
            o.insert("healthy".into(), health.healthy().into());
            o.insert("summary".into(), health.summary().into());
        }
        match serde_json::to_string_pretty(&value) {
            Ok(t) => println!("{t}"),
            Err(e) => {
                eprintln!("salvage health: cannot print JSON: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", health.render_text());
    }
    if !health.available {
        3
    } else if health.healthy() {
        0
    } else {
        1
    }
}
