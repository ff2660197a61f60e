//! Fuzz target: any bytes read as a disk image give a partition table (with warnings) or an
//! error, never a panic, a hang or an overflow; the signature scan and both renderings too.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use salvage_partition::{ReadOptions, read_table_from};

fuzz_target!(|data: &[u8]| {
    let bytes = data.to_vec();
    for (sector_size, scan) in [(None, true), (Some(4096), false)] {
        let opts = ReadOptions {
            sector_size,
            no_probe: false,
            scan,
        };
        if let Ok(table) = read_table_from(&bytes, Path::new("fuzz.img"), &opts) {
            let _ = serde_json::to_string(&table);
            let _ = salvage_partition::render_text(&table);
        }
    }
});
