//! Fuzz target: any bytes through loading, parsing, checking and plan rendering must give a
//! plan or diagnostics, never a panic, a hang or a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salvage::checker::check;
use salvage::source_file::SourceFile;
use salvage::stdlib::EmbeddedLoader;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let params = [("disk".to_string(), "/dev/sdb".to_string())];
    for p in [None, Some(&params[..])] {
        let checked = check(SourceFile::new("fuzz.salvage", text), p, &EmbeddedLoader);
        let _ = salvage::diagnostic_report::render(&checked.diagnostics, false);
        for plan in &checked.plans {
            let _ = salvage::plan_text::render(plan);
            let _ = salvage::plan_json::render(plan);
            let _ = salvage::graph::to_dot(plan);
        }
    }
});
