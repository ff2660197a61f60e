//! Checks of an op step's argument values that are known now: choices, `copy(paths:)`
//! entries, `exec`/`pipe` argv secrets and env items, a destination equal to its source,
//! `fsck(in_place:)` without repair.

use super::{Cx, Scope};
use crate::diagnostic::{Diagnostic, DiagnosticKind as K};
use crate::op_table::{ArgSig, OpSig};
use crate::plan::Expr;
use crate::source_file::SourceFile;
use salvage_grammar::ast::{self, Span, ValueKind};
use std::collections::BTreeMap;
use std::sync::Arc;

impl Cx {
    /// `copy(paths: [...])`: each known entry must be a plain path relative to `from` (no
    /// leading `/`, no `..`), or the copy would fail only after the imaging before it.
    pub(super) fn check_copy_paths(
        &mut self,
        file: &Arc<SourceFile>,
        e: &Expr,
        value: &ast::Value,
    ) {
        let Expr::List(items) = e else { return };
        let spans: Vec<Span> = match &value.kind {
            ValueKind::List(vs) if vs.len() == items.len() => vs.iter().map(|v| v.span).collect(),
            _ => vec![value.span; items.len()],
        };
        for (item, span) in items.iter().zip(spans) {
            let Some(text) = item.known_text() else {
                continue;
            };
            let path = std::path::Path::new(&text);
            let why = if text.is_empty() {
                Some("is empty")
            } else if path.is_absolute() {
                Some("is absolute")
            } else if path
                .components()
                .any(|c| c == std::path::Component::ParentDir)
            {
                Some("climbs out with `..`")
            } else {
                None
            };
            if let Some(why) = why {
                let fix = text.trim_start_matches('/').to_string();
                self.err(
                    file,
                    span,
                    K::CopyPathNotRelative {
                        value: text,
                        why,
                        fix,
                    },
                );
            }
        }
    }

    /// A value known now must be one of the argument's choices.
    pub(super) fn check_choice(
        &mut self,
        file: &Arc<SourceFile>,
        asig: &ArgSig,
        e: &Expr,
        span: Span,
    ) {
        if asig.choices.is_empty() {
            return;
        }
        if let Some(text) = e.known_text() {
            if !asig.choices.contains(&text.as_str()) {
                self.err(
                    file,
                    span,
                    K::BadChoice {
                        what: asig.name.into(),
                        value: text,
                        allowed: asig.choices.to_vec(),
                    },
                );
            }
        }
    }

    /// `exec`/`pipe`: a secret in the program's arguments is a warning (every process can read
    /// them); an `env:` item that is known now must be `NAME=VALUE`.
    pub(super) fn check_child_args(
        &mut self,
        file: &Arc<SourceFile>,
        op: &str,
        arg: &str,
        e: &Expr,
        value: &ast::Value,
    ) {
        if !matches!(op, "exec" | "pipe") {
            return;
        }
        let items: Vec<(&Expr, Span)> = match (e, &value.kind) {
            (Expr::List(es), ast::ValueKind::List(vs)) if es.len() == vs.len() => {
                es.iter().zip(vs.iter().map(|v| v.span)).collect()
            }
            _ => vec![(e, value.span)],
        };
        for (item, span) in items {
            if matches!(arg, "argv" | "into") && item.is_secret() {
                self.diags.push(Diagnostic::warning(
                    file,
                    span,
                    K::SecretInArgv {
                        op: op.to_string(),
                        arg: arg.to_string(),
                    },
                ));
            }
            if arg == "env"
                && let Some(text) = item.known_text()
                && let Err(reason) = crate::env_item::parse_item(&text)
            {
                self.err(file, span, K::BadEnvItem { reason });
            }
        }
    }

    /// A destination that is literally its source is known wrong before any disk is seen.
    /// Whether the step is fine.
    pub(super) fn check_dest_is_source(
        &mut self,
        scope: &Scope,
        s: &ast::Step,
        sig: &'static OpSig,
        values: &BTreeMap<String, Expr>,
    ) -> bool {
        let mut ok = true;
        for (op, src, dest) in [("image", "source", "dest"), ("copy", "from", "to")] {
            if sig.name != op {
                continue;
            }
            let text = |n: &str| {
                values
                    .get(n)
                    .filter(|e| !e.is_secret())
                    .and_then(Expr::known_text)
                    .map(|t| t.trim_end_matches('/').to_string())
            };
            if let (Some(a), Some(b)) = (text(src), text(dest))
                && a == b
                && !a.is_empty()
            {
                let span = s
                    .args
                    .iter()
                    .find(|x| x.name.name == dest)
                    .map_or(s.span, |x| x.value.span);
                self.err(
                    &scope.file,
                    span,
                    K::DestIsSource {
                        dest: dest.to_string(),
                        source: src.to_string(),
                        path: b,
                    },
                );
                ok = false;
            }
        }
        ok
    }

    /// `fsck(in_place: true)` without `mode: "repair"` is a warning.
    pub(super) fn warn_in_place_without_repair(
        &mut self,
        scope: &Scope,
        s: &ast::Step,
        sig: &'static OpSig,
        values: &BTreeMap<String, Expr>,
    ) {
        if sig.name == "fsck"
            && values.get("in_place").and_then(Expr::known_text).as_deref() == Some("true")
            && values.get("mode").and_then(Expr::known_text).as_deref() != Some("repair")
        {
            self.diags.push(Diagnostic::warning(
                &scope.file,
                s.span,
                K::InPlaceWithoutRepair,
            ));
        }
    }
}
