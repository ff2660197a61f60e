//! `verify(map: ...)`: checks an image against its ddrescue mapfile. Every area the map calls
//! rescued (`+`) must read the same in the image as on the source (when the source is given
//! and readable); areas not rescued are listed. The source is opened read-only.

use super::{OpContext, OpError};
use salvage_imager::{BlockStatus, Mapfile};
use serde_json::{Value, json};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const CHUNK: u64 = 1 << 20;

/// Compares `image` with `source` over the rescued areas of `map`; writes a report.
pub(crate) fn verify_image(
    ctx: &OpContext,
    map: &Path,
    image: &Path,
    source: Option<&Path>,
) -> Result<Value, OpError> {
    let report = compare_image(map, image, source, &|| ctx.cancelled())?;
    let ok = report["differed"].as_array().is_none_or(Vec::is_empty);
    let dir = ctx.state.work_dir(&ctx.step);
    std::fs::create_dir_all(&dir)
        .map_err(|e| OpError::new(format!("mkdir {}: {e}", dir.display())))?;
    let path = dir.join("verify-image.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    )
    .map_err(|e| OpError::new(format!("write {}: {e}", path.display())))?;
    if !ok {
        return Err(OpError::new(format!(
            "the image differs from the source in {} rescued area(s); see {}",
            report["differed"].as_array().map_or(0, Vec::len),
            path.display()
        )));
    }
    Ok(json!({
        "ok": ok,
        "matched": report["matched_bytes"],
        "differed": 0,
        "unreadable": report["unreadable_on_source_now"].as_array().map_or(0, Vec::len),
        "not_rescued_bytes": report["not_rescued_bytes"],
        "report": path.display().to_string(),
    }))
}

/// The comparison itself, for the op and for `salvage verify --map`: every rescued (`+`) area
/// of `map` read from `image` and, when given, from `source` (read-only), compared.
pub(crate) fn compare_image(
    map: &Path,
    image: &Path,
    source: Option<&Path>,
    cancelled: &dyn Fn() -> bool,
) -> Result<Value, OpError> {
    let text = std::fs::read_to_string(map)
        .map_err(|e| OpError::new(format!("{}: {e}", map.display())))?;
    let mapfile = Mapfile::parse(&text, map).map_err(|e| OpError::new(e.to_string()))?;
    let mut img = salvage_sys::open_source::open_source(image)
        .map_err(|e| OpError::new(format!("{}: {e}", image.display())))?;
    let mut src = match source {
        Some(s) => Some(
            salvage_sys::open_source::open_source(s)
                .map_err(|e| OpError::new(format!("{}: {e}", s.display())))?,
        ),
        None => None,
    };
    let (mut rescued, mut matched, mut not_rescued) = (0u64, 0u64, 0u64);
    let mut differed: Vec<Value> = Vec::new();
    let mut unreadable: Vec<Value> = Vec::new();
    let mut missing: Vec<Value> = Vec::new();
    let mut a = vec![0u8; CHUNK as usize];
    let mut b = vec![0u8; CHUNK as usize];
    for block in mapfile.blocks() {
        if block.status != BlockStatus::Finished {
            not_rescued += block.size;
            missing.push(json!({"start": block.pos, "size": block.size, "status": format!("{:?}", block.status)}));
            continue;
        }
        rescued += block.size;
        let mut pos = block.pos;
        let end = block.pos + block.size;
        while pos < end {
            if cancelled() {
                return Err(OpError::interrupted());
            }
            let n = (end - pos).min(CHUNK) as usize;
            read_at(&mut img, pos, &mut a[..n])
                .map_err(|e| OpError::new(format!("reading {} at {pos}: {e}", image.display())))?;
            match src.as_mut() {
                None => matched += n as u64,
                Some(s) => match read_at(s, pos, &mut b[..n]) {
                    Ok(()) if a[..n] == b[..n] => matched += n as u64,
                    Ok(()) => differed.push(json!({"start": pos, "size": n})),
                    Err(e) => {
                        unreadable.push(json!({"start": pos, "size": n, "error": e.to_string()}))
                    }
                },
            }
            pos += n as u64;
        }
    }
    Ok(json!({
        "image": image.display().to_string(),
        "map": map.display().to_string(),
        "source": source.map(|s| s.display().to_string()),
        "rescued_bytes": rescued,
        "matched_bytes": matched,
        "not_rescued_bytes": not_rescued,
        "not_rescued": missing,
        "differed": differed,
        "unreadable_on_source_now": unreadable,
    }))
}

/// `salvage verify --map MAP --image IMG [--source SRC]`: prints the comparison; exit 0 when
/// every rescued area matched, 1 when one differed, 2 when it could not run.
/// `interrupted` is the standalone commands' Ctrl-C flag.
pub fn verify_image_command(
    map: &Path,
    image: &Path,
    source: Option<&Path>,
    json_out: bool,
    interrupted: &std::sync::atomic::AtomicBool,
) -> i32 {
    let cancelled = || interrupted.load(std::sync::atomic::Ordering::SeqCst);
    let report = match compare_image(map, image, source, &cancelled) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("salvage verify: {}", e.message);
            return 2;
        }
    };
    let differed = report["differed"].as_array().map_or(0, Vec::len);
    if json_out {
        let mut shown = report.clone();
        if let Some(obj) = shown.as_object_mut() {
            obj.insert("ok".into(), (differed == 0).into());
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&shown).unwrap_or_default()
        );
    } else {
        println!("image: {}  map: {}", image.display(), map.display());
        println!(
            "source: {}",
            source.map_or_else(
                || "not given (the image is only read)".into(),
                |s| s.display().to_string()
            )
        );
        println!("rescued bytes: {}", report["rescued_bytes"]);
        println!("matched bytes: {}", report["matched_bytes"]);
        println!("not rescued bytes: {}", report["not_rescued_bytes"]);
        for d in report["differed"].as_array().into_iter().flatten() {
            println!("  DIFFERED: {} bytes at byte {}", d["size"], d["start"]);
        }
        for u in report["unreadable_on_source_now"]
            .as_array()
            .into_iter()
            .flatten()
        {
            println!(
                "  unreadable on the source now: {} bytes at byte {}",
                u["size"], u["start"]
            );
        }
        println!(
            "{}",
            if differed == 0 {
                "VERIFIED"
            } else {
                "NOT VERIFIED: rescued areas differ"
            }
        );
    }
    i32::from(differed > 0)
}

fn read_at(f: &mut File, pos: u64, buf: &mut [u8]) -> std::io::Result<()> {
    f.seek(SeekFrom::Start(pos))?;
    f.read_exact(buf)
}
