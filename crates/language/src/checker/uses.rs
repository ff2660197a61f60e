//! `use`: loading the files a source imports (through the [`Loader`], recursively, each once)
//! and registering the definitions they and the source declare.

use super::{Cx, MAX_USE_DEPTH};
use crate::diagnostic::{Diagnostic, DiagnosticKind as K};
use crate::loader::Loader;
use crate::op_table::OpSig;
use crate::source_file::SourceFile;
use salvage_grammar::ast::{self, Block, BlockKind};
use std::collections::BTreeSet;
use std::sync::Arc;

impl Cx {
    /// Loads every file `ast` uses, and what they use, registering their definitions.
    pub(super) fn load_uses(
        &mut self,
        file: &Arc<SourceFile>,
        ast: &ast::File,
        loader: &dyn Loader,
        loaded: &mut BTreeSet<String>,
        depth: usize,
    ) {
        for u in &ast.uses {
            let Some(path) = u.path.as_plain() else {
                self.err(file, u.path.span, K::UseInterpolated);
                continue;
            };
            match loader.load(&path, file) {
                None => {
                    let available = crate::stdlib::FILES
                        .iter()
                        .map(|(n, _)| n.to_string())
                        .collect();
                    self.err(file, u.path.span, K::UseNotFound { path, available });
                }
                Some(Err(mut d)) => {
                    if d.file.is_none() {
                        d.file = Some(file.clone());
                        d.span = Some(u.path.span);
                    }
                    self.diags.push(d);
                }
                Some(Ok(src)) => {
                    if !loaded.insert(src.name.clone()) || depth >= MAX_USE_DEPTH {
                        continue;
                    }
                    self.load_used(Arc::new(src), loader, loaded, depth);
                }
            }
        }
    }

    /// Parses a used file, loads what it uses, and registers its definitions.
    fn load_used(
        &mut self,
        used: Arc<SourceFile>,
        loader: &dyn Loader,
        loaded: &mut BTreeSet<String>,
        depth: usize,
    ) {
        match salvage_grammar::parse(&used.text) {
            Err(e) => self
                .diags
                .push(Diagnostic::error(&used, e.span, K::Syntax(e.kind))),
            Ok(used_ast) => {
                self.load_uses(&used, &used_ast, loader, loaded, depth + 1);
                for block in &used_ast.blocks {
                    if block.kind == BlockKind::Define {
                        self.add_define(&used, block);
                    }
                }
            }
        }
    }

    /// Registers a definition; a name taken by an op or another definition is an error.
    pub(super) fn add_define(&mut self, file: &Arc<SourceFile>, block: &Block) {
        let name = block.name.name.clone();
        if OpSig::find(&name).is_some() {
            self.err(file, block.name.span, K::Reserved { name });
            return;
        }
        if let Some((prev_file, prev)) = self.defines.get(&name) {
            let mut d = Diagnostic::error(file, block.name.span, K::DuplicateDefine { name });
            if Arc::ptr_eq(prev_file, file) {
                d = d.with_label(prev.name.span, "first defined here");
            }
            self.diags.push(d);
            return;
        }
        self.defines
            .insert(name, (file.clone(), Arc::new(block.clone())));
    }
}
