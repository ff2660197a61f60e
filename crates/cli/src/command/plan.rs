//! `salvage plan FILE`: the dry run. Every step in order, resolved arguments, effect class,
//! exact commands and cleanup. Changes nothing.

use super::{Format, load_and_check, parse_param, print_diagnostics};
use clap::Args;
use salvage_engine::preflight::preflight;
use salvage_language::diagnostic::{Diagnostic, DiagnosticKind};
use salvage_language::plan::Plan;
use salvage_language::value_type::Type;
use std::io::Write;
use std::path::PathBuf;

/// `salvage plan FILE [--param k=v]... [--format text|json|dot]`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The runbook (or a file of definitions, each planned on its own).
    pub file: PathBuf,
    /// A param value, NAME=VALUE; repeat for each param.
    #[arg(long = "param", short = 'p', value_parser = parse_param, value_name = "NAME=VALUE")]
    pub params: Vec<(String, String)>,
    /// A param value read from a file, NAME=PATH (one trailing newline dropped): the way to
    /// give a secret, which --param shows to every process. SALVAGE_PARAM_<NAME> in the
    /// environment works too.
    #[arg(long = "param-file", value_parser = super::param_sources::parse_param_file, value_name = "NAME=PATH")]
    pub param_files: Vec<(String, PathBuf)>,
    /// text for people, json for scripts, dot for Graphviz.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Run the read-only steps that can already run (partitions of an existing image; inspect
    /// of ext filesystems, in userspace) to show real offsets. Never writes or attaches.
    #[arg(long)]
    pub probe: bool,
    /// Also save the plan to FILE for `salvage approve` and `salvage run --plan`: the runbook
    /// and the files it uses by sha256, the params (secrets by name only), each input's size
    /// and identity, and every step with its arguments and commands. Prints its id.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `salvage plan`; exit 1 on any error.
pub(crate) fn command(args: &PlanArgs) -> i32 {
    let params =
        match super::param_sources::gather(&args.file, &args.params, &args.param_files, false) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("salvage plan: {}", e.message);
                return if e.exit == 2 { 1 } else { e.exit };
            }
        };
    let mut checked = load_and_check(&args.file, Some(&params));
    if args.probe && !checked.has_errors() {
        for plan in &mut checked.plans {
            for note in salvage_engine::probe::probe(plan) {
                eprintln!("salvage plan --probe: {note}");
            }
        }
    }
    let mut diags = checked.diagnostics;
    if !diags.iter().any(Diagnostic::is_error) {
        diags.extend(device_warnings(&checked.plans));
        diags.extend(super::plan_warnings::machine_warnings(&checked.plans));
    }
    print_diagnostics(&diags);
    if diags.iter().any(Diagnostic::is_error) {
        return 1;
    }
    if let Some(out) = &args.out {
        let Some(plan) = checked.plans.iter().find(|p| !p.is_define) else {
            eprintln!(
                "salvage plan: {} holds definitions only: there is no runbook plan to save",
                args.file.display()
            );
            return 1;
        };
        let body = salvage_engine::saved_plan::body(plan, &args.file, args.probe);
        let saved = salvage_engine::saved_plan::SavedPlan::new(body, &super::run::user());
        if let Err(e) = saved.save(out) {
            eprintln!("salvage plan: {e}");
            return 1;
        }
        eprintln!(
            "salvage plan: saved plan {} to {} (salvage approve {} --as NAME; salvage run --plan {})",
            saved.id,
            out.display(),
            out.display(),
            out.display()
        );
    }
    let root = nix::unistd::geteuid().is_root();
    for (i, plan) in checked.plans.iter().enumerate() {
        match args.format {
            Format::Text => {
                if i > 0 {
                    println!();
                }
                print!("{}", salvage_language::plan_text::render(plan));
                if let Some(path) = mount_path(plan, root) {
                    println!("\non this machine: {}", path.1);
                }
                let programs = preflight(plan).render_text();
                if !programs.is_empty() {
                    print!("\n{programs}");
                }
            }
            Format::Json => {}
            Format::Dot => print!("{}", salvage_language::graph::to_dot(plan)),
        }
    }
    if args.format == Format::Json {
        let plans: Vec<_> = checked
            .plans
            .iter()
            .map(|plan| {
                let mut json = salvage_language::plan_json::PlanJson::new(plan);
                let mut machine = serde_json::Map::new();
                if let Some((path, why)) = mount_path(plan, root) {
                    machine.insert("root".into(), root.into());
                    machine.insert("filesystem_access".into(), path.into());
                    machine.insert("note".into(), why.into());
                }
                let programs = preflight(plan);
                if !programs.programs.is_empty() {
                    machine.insert("programs".into(), programs.to_json());
                }
                if !machine.is_empty() {
                    json.extra = Some(("this_machine", serde_json::Value::Object(machine)));
                }
                json
            })
            .collect();
        // Streamed: the plan is written as it is serialized, never held as a JSON value.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let written = salvage_language::plan_json::write_pretty(&plans, &mut out)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("salvage: writing the plan: {e}");
            }
            return 1;
        }
    }
    0
}

/// Which way steps that look inside filesystems will go on this machine (the plan itself is
/// the same everywhere; a run as root uses the kernel, without root the userspace reader).
fn mount_path(plan: &Plan, root: bool) -> Option<(&'static str, &'static str)> {
    let looks_inside = plan
        .steps
        .iter()
        .any(|s| matches!(s.op_name(), "mount" | "fsck" | "inspect"));
    if !looks_inside {
        None
    } else if root {
        Some((
            "kernel",
            "running as root: mount, fsck and inspect use read-only loop devices and kernel mounts (ro,noload,nosuid,nodev,noexec)",
        ))
    } else {
        Some((
            "userspace",
            "not root: mount reads ext2/3/4 in userspace (ext4-view) and fsck runs e2fsck on the image at its offset; other filesystems (xfs, btrfs, ...) need root",
        ))
    }
}

/// A device param naming nothing on this machine is a warning: a reviewer plans elsewhere.
fn device_warnings(plans: &[Plan]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for plan in plans {
        for p in &plan.params {
            if p.ty != Type::Device {
                continue;
            }
            if let Some(path) = p.value.as_ref().and_then(|v| v.known_text()) {
                if std::path::Path::new(&path).is_dir() {
                    let mut d = Diagnostic::bare(DiagnosticKind::DeviceIsDirectory {
                        name: p.name.clone(),
                        path,
                    });
                    d.severity = salvage_language::diagnostic::Severity::Warning;
                    out.push(d);
                } else if !std::path::Path::new(&path).exists() {
                    let mut d = Diagnostic::bare(DiagnosticKind::DeviceMissing {
                        name: p.name.clone(),
                        path,
                    });
                    d.severity = salvage_language::diagnostic::Severity::Warning;
                    out.push(d);
                }
            }
        }
    }
    out
}
