//! `image`: the ddrescue-class imager as a runbook op (one implementation with
//! `salvage image`), on a blocking thread, with progress and Ctrl-C handled.

use super::{OpContext, OpError, op_args};
use salvage_imager::{BadMap, HashAlgorithm, ImageOptions, UsedDomain, rescue, rescue_used_first};
use salvage_language::ops::image::ImageArgs;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

pub(super) async fn run(args: &BTreeMap<String, Value>, ctx: &OpContext) -> Result<Value, OpError> {
    let args: ImageArgs = op_args("image", args)?;
    let source = args
        .source
        .ok_or_else(|| OpError::new("image: `source` is missing"))?;
    let dest = args
        .dest
        .ok_or_else(|| OpError::new("image: `dest` is missing"))?;
    let map = args
        .map
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("{dest}.map"));
    let mut opts = ImageOptions::new(&source, &dest, &map);
    opts.sector_size = args.sector_size;
    let sector = opts.sector_size.unwrap_or(512).max(1);
    opts.cluster_sectors = args.cluster.map(|c| (c / sector).max(1));
    opts.retries = args
        .retries
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(0);
    opts.reverse = args.reverse;
    opts.direct = args.direct;
    opts.sparse = args.sparse;
    opts.domain_start = args.start.unwrap_or(0);
    opts.domain_size = args.size;
    opts.force = args.force;
    // The run's journal records the step done once this returns, and a resumed run trusts
    // it: the image must be on disk by then.
    opts.sync = true;
    if args.hash.as_deref() == Some("sha256") {
        opts.hash = HashAlgorithm::Sha256;
    }
    let domain = match args.domain.as_deref() {
        None | Some("all") => None,
        Some("used") => Some(UsedDomain::UsedOnly),
        Some("used-first") => Some(UsedDomain::UsedFirst),
        Some(other) => {
            return Err(OpError::new(format!(
                "image: domain `{other}` is not all, used or used-first"
            )));
        }
    };
    let simulate_bad = args.simulate_bad.filter(|b| !b.is_empty());
    if let Some(bad) = &simulate_bad {
        opts.bad_map = Some(BadMap::load(Path::new(bad)).map_err(|e| OpError::new(e.to_string()))?);
    }
    opts.command_line = format!(
        "salvage run (step {}): image {source} {dest} --map {map}",
        ctx.step
    );
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let task = ctx.progress.bytes(&ctx.step, None);
        let mut on_status = |s: &salvage_imager::ImageStatus| {
                task.set(
                    s.rescued_bytes,
                    &format!(
                        "{:?} pass {} · {} bad area(s), {} bad · {:.0} MiB/s",
                        s.phase,
                        s.pass,
                        s.bad_areas,
                        crate::progress::human(s.bad_bytes),
                        s.current_rate / 1_048_576.0
                    ),
                );
        };
        let result = match domain {
            None => rescue(&opts, &mut on_status, &ctx.cancel).map(|r| (r, None)),
            Some(which) => rescue_used_first(&opts, which, &mut on_status, &ctx.cancel)
                .map(|(r, d)| (r, Some(d))),
        };
        match result {
            Ok((report, used)) => {
                let not_read = used.as_ref().map_or(0, |d| d.free_bytes_not_read);
                task.finish(report.rescued_bytes);
                // The equivalent `salvage image` command line, with the options that change
                // what is read.
                let mut argv = vec!["salvage".to_string(), "image".into(), source.clone(), dest.clone(), "--map".into(), map.clone(), "--sync".into()];
                if opts.retries > 0 {
                    argv.extend(["--retries".to_string(), opts.retries.to_string()]);
                }
                if opts.reverse {
                    argv.push("--reverse".into());
                }
                if opts.direct {
                    argv.push("--direct".into());
                }
                if let Some(bad) = &simulate_bad {
                    argv.extend(["--simulate-bad".to_string(), bad.clone()]);
                }
                if let Some(which) = domain {
                    let name = if which == UsedDomain::UsedOnly { "used" } else { "used-first" };
                    argv.extend(["--domain".to_string(), name.to_string()]);
                }
                let bad: Vec<Value> = report.bad_areas.iter().map(|a| json!({"start": a.start, "size": a.size})).collect();
                ctx.log(
                    "command",
                    crate::fields! {
                        "argv" => argv,
                        "exit_code" => 0,
                        "stdout" => format!("rescued {} of {} bytes ({:.4}%), {} bad area(s), {} bad bytes{}", report.rescued_bytes, report.size, report.percent, report.bad_areas.len(), report.bad_bytes, if not_read > 0 { format!("; {not_read} bytes of free space not read (domain: used)") } else { String::new() }),
                    },
                );
                Ok(json!({
                    "dest": dest,
                    "map": map,
                    "rescued_bytes": report.rescued_bytes,
                    "rescued": report.rescued_bytes,
                    "size": report.size,
                    "percent": report.percent,
                    "bad_bytes": report.bad_bytes,
                    "bad_areas": report.bad_areas.len(),
                    "not_read_bytes": not_read,
                    "bad_ranges": bad,
                    "hash": report.hash,
                    "complete": report.complete,
                }))
            }
            Err(e) if e.is_interrupted() => Err(OpError::interrupted()),
            Err(e) => Err(OpError::new(e.to_string())),
        }
    })
    .await
    .unwrap_or_else(|e| Err(OpError::new(format!("the imager stopped unexpectedly: {e}"))))
}
