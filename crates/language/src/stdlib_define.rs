//! `StdlibDefine`: a `define` of the embedded stdlib as `salvage ops` lists it beside the ops:
//! where it is (`use "stdlib/FILE"`), what it does, its params (type, default, docs), its
//! steps and its outputs. Read from the stdlib's own text, so the reference cannot drift.

use salvage_grammar::ast::{BlockKind, Span, Stmt};

/// A param of a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefineParam {
    /// Its name.
    pub name: String,
    /// Its type, as written.
    pub ty: String,
    /// Its default, as written in the stdlib; `None` when it must be given.
    pub default: Option<String>,
    /// Its `///` doc lines, joined.
    pub doc: String,
}

/// One stdlib definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdlibDefine {
    /// The definition's name (what a step calls).
    pub name: String,
    /// The stdlib file a runbook `use`s for it.
    pub file: &'static str,
    /// Its `about` line.
    pub about: String,
    /// Its `///` doc lines, joined.
    pub doc: String,
    /// Its params, in source order.
    pub params: Vec<DefineParam>,
    /// Its steps as `name = op`, in source order (they show in plans as `CALL/name`).
    pub steps: Vec<(String, String)>,
    /// Its outputs with their doc lines (or, without any, the value they are bound to).
    pub outputs: Vec<(String, String)>,
}

fn text_of(src: &str, span: Span) -> String {
    src.get(span.start..span.end).unwrap_or("").to_string()
}

impl StdlibDefine {
    /// Every definition of every embedded stdlib file, in file and source order. A file that
    /// does not parse contributes nothing (the golden tests keep every stdlib file valid).
    pub fn all() -> Vec<StdlibDefine> {
        let mut out = Vec::new();
        for (file, src) in crate::stdlib::FILES {
            let Ok(ast) = salvage_grammar::parse(src) else {
                continue;
            };
            for block in ast.blocks.iter().filter(|b| b.kind == BlockKind::Define) {
                let mut define = StdlibDefine {
                    name: block.name.name.clone(),
                    file,
                    about: String::new(),
                    doc: block.docs.join(" "),
                    params: Vec::new(),
                    steps: Vec::new(),
                    outputs: Vec::new(),
                };
                for stmt in &block.body {
                    match stmt {
                        Stmt::About(s) => {
                            let raw = text_of(src, s.span);
                            define.about = raw.trim_matches('"').to_string();
                        }
                        Stmt::Param(p) => define.params.push(DefineParam {
                            name: p.name.name.clone(),
                            ty: p.ty.name.clone(),
                            default: p.default.as_ref().map(|v| text_of(src, v.span)),
                            doc: p.docs.join(" "),
                        }),
                        Stmt::Step(s) => {
                            define.steps.push((s.name.name.clone(), s.op.name.clone()))
                        }
                        Stmt::Manual(m) => define
                            .steps
                            .push((m.name.name.clone(), "manual".to_string())),
                        Stmt::Output(o) => {
                            // Without docs, what it is: the value it is bound to.
                            let doc = if o.docs.is_empty() {
                                format!("`{}`", text_of(src, o.value.span))
                            } else {
                                o.docs.join(" ")
                            };
                            define.outputs.push((o.name.name.clone(), doc));
                        }
                        Stmt::Assert(_) => {}
                        Stmt::For(f) => define.steps.push((f.var.name.clone(), "for".to_string())),
                    }
                }
                out.push(define);
            }
        }
        out
    }

    /// The definition named `name`, if the stdlib has one.
    pub fn find(name: &str) -> Option<StdlibDefine> {
        Self::all().into_iter().find(|d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_partition_is_listed_with_its_params_steps_and_outputs() {
        let d = StdlibDefine::find("mount_partition").expect("stdlib has mount_partition");
        assert_eq!(d.file, "stdlib/mount.salvage");
        assert!(d.about.starts_with("Find partition NUMBER"), "{}", d.about);
        let number = d
            .params
            .iter()
            .find(|p| p.name == "number")
            .expect("number");
        assert_eq!(
            (number.ty.as_str(), number.default.as_deref()),
            ("int", Some("1"))
        );
        let image = d.params.iter().find(|p| p.name == "image").expect("image");
        assert_eq!(image.default, None);
        assert!(d.steps.contains(&("check".to_string(), "fsck".to_string())));
        assert!(d.outputs.iter().any(|(n, _)| n == "path"));
        // Every stdlib file holds at least one definition, and names are unique.
        let all = StdlibDefine::all();
        for (file, _) in crate::stdlib::FILES {
            assert!(
                all.iter().any(|d| d.file == *file),
                "{file}: no define listed"
            );
        }
        let mut names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate define names");
    }
}
