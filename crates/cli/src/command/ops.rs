//! `salvage ops`: the reference of every op, generated from the op table so it cannot drift,
//! and of every stdlib definition, read from the embedded stdlib.

use clap::Args;
use salvage_language::op_reference::{defines_markdown, defines_text, markdown, text};
use salvage_language::op_table::OpSig;
use salvage_language::stdlib_define::StdlibDefine;

/// `salvage ops [--markdown]`.
#[derive(Debug, Args)]
pub(crate) struct OpsArgs {
    /// Print the reference as Markdown (docs/ops.md is this output).
    #[arg(long)]
    pub markdown: bool,
    /// Only this op (or stdlib definition).
    pub op: Option<String>,
}

/// Runs `salvage ops`.
pub(crate) fn command(args: &OpsArgs) -> i32 {
    let ops: Vec<&OpSig> = OpSig::all()
        .iter()
        .filter(|o| args.op.as_deref().is_none_or(|n| n == o.name))
        .collect();
    let defines: Vec<StdlibDefine> = StdlibDefine::all()
        .into_iter()
        .filter(|d| args.op.as_deref().is_none_or(|n| n == d.name))
        .collect();
    if ops.is_empty() && defines.is_empty() {
        eprintln!(
            "salvage ops: no op or stdlib definition named `{}`; `salvage ops` lists them all",
            args.op.as_deref().unwrap_or("")
        );
        return 1;
    }
    if args.markdown {
        print!("{}", markdown(&ops));
        print!("{}", defines_markdown(&defines));
    } else {
        print!("{}", text(&ops));
        print!("{}", defines_text(&defines));
    }
    0
}
