//! Fuzz target: any bytes through loading (size and UTF-8 checks), parsing, checking and plan
//! rendering must give a plan or diagnostics, never a panic, a hang or a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salvage_language::check_loaded::check_loaded;
use salvage_language::source_file::SourceFile;
use salvage_language::stdlib::EmbeddedLoader;

fuzz_target!(|data: &[u8]| {
    let params = [("disk".to_string(), "/dev/sdb".to_string())];
    // A list param given as a JSON array, and again one element at a time.
    let list_params = [
        ("disk".to_string(), "/dev/sdb".to_string()),
        ("names".to_string(), r#"["a", "b c"]"#.to_string()),
        ("names".to_string(), "d".to_string()),
    ];
    for p in [None, Some(&params[..]), Some(&list_params[..])] {
        let loaded = SourceFile::from_bytes("fuzz.salvage", data.to_vec());
        let checked = check_loaded("fuzz.salvage", loaded, p, &EmbeddedLoader);
        let _ = salvage_language::diagnostic_report::render(&checked.diagnostics, false);
        for plan in &checked.plans {
            let _ = salvage_language::plan_text::render(plan);
            let _ = salvage_language::plan_json::render(plan);
            let _ = salvage_language::graph::to_dot(plan);
        }
    }
});
