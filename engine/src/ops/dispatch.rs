//! The op dispatch: one runner per op of the op table, keyed by the op's name in
//! [`OpSig::all`], so a new op without a runner (or a runner without an op) fails a test
//! instead of falling through a string `match`.

use super::{OpContext, OpError, damage, disk, exec, health, image, pipe, raid, snapshot, synth};
use salvage_language::op_table::OpSig;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// The future one op's run returns.
pub(crate) type RunFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, OpError>> + Send + 'a>>;

/// One op's run entry: resolved arguments and the context in, outputs out.
pub(crate) type RunFn = for<'a> fn(&'a BTreeMap<String, Value>, &'a OpContext) -> RunFuture<'a>;

/// Every op's runner, by the name its [`OpSig`] has.
static RUNNERS: &[(&str, RunFn)] = &[
    ("image", |a, c| Box::pin(image::run(a, c))),
    ("partitions", |a, c| Box::pin(disk::partitions(a, c))),
    ("inspect", |a, c| Box::pin(disk::inspect(a, c))),
    ("fsck", |a, c| Box::pin(disk::fsck(a, c))),
    ("mount", |a, c| Box::pin(disk::mount(a, c))),
    ("copy", |a, c| Box::pin(disk::copy(a, c))),
    ("verify", |a, c| Box::pin(disk::verify(a, c))),
    ("damage", |a, c| Box::pin(damage::run(a, c))),
    ("health", |a, c| Box::pin(health::run(a, c))),
    ("raid", |a, c| Box::pin(raid::run(a, c))),
    ("snapshot", |a, c| Box::pin(snapshot::run(a, c))),
    ("exec", |a, c| Box::pin(exec::run(a, c))),
    ("pipe", |a, c| Box::pin(pipe::run(a, c))),
    ("synth", |a, c| Box::pin(synth::run(a, c))),
];

/// The runner of the op named `name`.
fn runner(name: &str) -> Option<RunFn> {
    RUNNERS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Runs one op with its resolved arguments; returns its outputs.
pub async fn run(
    op: &'static OpSig,
    args: &BTreeMap<String, Value>,
    ctx: &OpContext,
) -> Result<Value, OpError> {
    match runner(op.name) {
        Some(f) => f(args, ctx).await,
        None => Err(OpError::new(format!(
            "the `{}` op cannot run in this build yet",
            op.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::RUNNERS;
    use salvage_language::op_table::OpSig;

    #[test]
    fn every_op_has_exactly_one_runner_and_every_runner_an_op() {
        for op in OpSig::all() {
            let n = RUNNERS.iter().filter(|(name, _)| *name == op.name).count();
            assert_eq!(n, 1, "op `{}` has {n} runners", op.name);
        }
        for (name, _) in RUNNERS {
            let n = OpSig::all().iter().filter(|op| op.name == *name).count();
            assert_eq!(n, 1, "runner `{name}` matches {n} ops in the op table");
        }
    }
}
