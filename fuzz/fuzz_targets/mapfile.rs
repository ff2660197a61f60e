//! Fuzz target: any bytes parsed as a GNU ddrescue mapfile give a map or an error naming the
//! line, never a panic or a hang; a parsed map survives the operations a resume performs and
//! renders to text that parses back to the same blocks.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use salvage_imager::{BlockStatus, Mapfile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut map) = Mapfile::parse(text, Path::new("fuzz.map")) else {
        return;
    };
    let rendered = map.render("salvage image fuzz", "start", "now");
    let again = Mapfile::parse(&rendered, Path::new("fuzz.map"))
        .expect("a rendered map parses again");
    assert_eq!(again.blocks(), map.blocks(), "render/parse round trip");
    let _ = map.totals();
    let _ = map.error_areas();
    let end = map.end();
    if end > 0 {
        map.set_status(end / 3, end / 5 + 1, BlockStatus::Finished);
        map.set_status(end / 2, 1, BlockStatus::BadSector);
        map.fit_domain(0, end.saturating_add(4096));
        let _ = map.find(end / 2);
        let _ = map.forget_rescued(&[(0, end / 4)]);
    }
    let _ = map.render("salvage image fuzz", "start", "now");
});
