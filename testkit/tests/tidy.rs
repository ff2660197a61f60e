//! Tidy: the architecture invariants of ARCHITECTURE.md, checked against the workspace itself
//! (as rust-analyzer's tidy test does): the layers' Cargo dependency edges, the language crate's
//! dependency tree (no tokio, no nix), no import cycle between the modules of any crate, system
//! calls and signal handlers each in their one crate, and a `//!` line atop every file.

use salvage_testkit::workspace_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every crate of the workspace: its package name and its source folder.
const CRATES: &[(&str, &str)] = &[
    ("salvage-grammar", "grammar/src"),
    ("salvage-text", "crates/text/src"),
    ("salvage-sys", "crates/sys/src"),
    ("salvage-language", "crates/language/src"),
    ("salvage-partition", "crates/partition/src"),
    ("salvage-imager", "crates/imager/src"),
    ("salvage-filesystem", "crates/filesystem/src"),
    ("salvage-engine", "engine/src"),
    ("salvage", "crates/cli/src"),
    ("salvage-testkit", "testkit/src"),
];

/// The layers: which workspace crates each crate may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("salvage-grammar", &[]),
    ("salvage-text", &[]),
    ("salvage-sys", &[]),
    ("salvage-language", &["salvage-grammar", "salvage-text"]),
    ("salvage-partition", &["salvage-sys"]),
    (
        "salvage-imager",
        &["salvage-sys", "salvage-text", "salvage-partition"],
    ),
    (
        "salvage-filesystem",
        &["salvage-sys", "salvage-text", "salvage-partition"],
    ),
    (
        "salvage-engine",
        &[
            "salvage-grammar",
            "salvage-language",
            "salvage-text",
            "salvage-sys",
            "salvage-partition",
            "salvage-imager",
            "salvage-filesystem",
        ],
    ),
    (
        "salvage",
        &[
            "salvage-grammar",
            "salvage-language",
            "salvage-text",
            "salvage-sys",
            "salvage-partition",
            "salvage-imager",
            "salvage-filesystem",
            "salvage-engine",
        ],
    ),
    // Test support builds partition tables with the reader it tests against.
    ("salvage-testkit", &["salvage-partition"]),
];

/// `cargo metadata` of the workspace, resolved.
fn metadata() -> serde_json::Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Package id → (name, normal dependency ids), from the resolve graph.
fn normal_graph(meta: &serde_json::Value) -> BTreeMap<String, (String, Vec<String>)> {
    let names: BTreeMap<String, String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id").to_string(),
                p["name"].as_str().expect("name").to_string(),
            )
        })
        .collect();
    meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|n| {
            let id = n["id"].as_str().expect("id").to_string();
            let deps = n["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k["kind"].is_null()))
                })
                .map(|d| d["pkg"].as_str().expect("pkg").to_string())
                .collect();
            (id.clone(), (names[&id].clone(), deps))
        })
        .collect()
}

fn id_of(graph: &BTreeMap<String, (String, Vec<String>)>, name: &str) -> String {
    graph
        .iter()
        .find(|(_, (n, _))| n == name)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("no package {name} in the workspace"))
}

#[test]
fn the_layers_are_the_cargo_dependency_edges() {
    let graph = normal_graph(&metadata());
    let workspace_names: BTreeSet<&str> = CRATES.iter().map(|(n, _)| *n).collect();
    let mut wrong = Vec::new();
    for (name, allowed) in ALLOWED {
        let (_, deps) = &graph[&id_of(&graph, name)];
        for dep in deps {
            let dep_name = graph[dep].0.as_str();
            if workspace_names.contains(dep_name) && !allowed.contains(&dep_name) {
                wrong.push(format!("{name} depends on {dep_name}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies against the layers of ARCHITECTURE.md: {wrong:?}"
    );
}

#[test]
fn the_language_crate_tree_holds_no_runtime_and_no_system_calls() {
    let graph = normal_graph(&metadata());
    let mut seen = BTreeSet::new();
    let mut todo = vec![id_of(&graph, "salvage-language")];
    while let Some(id) = todo.pop() {
        if seen.insert(id.clone()) {
            todo.extend(graph[&id].1.iter().cloned());
        }
    }
    let names: BTreeSet<&str> = seen.iter().map(|id| graph[id].0.as_str()).collect();
    assert!(
        names.contains("salvage-grammar"),
        "the walk found {names:?}"
    );
    for banned in [
        "tokio",
        "nix",
        "salvage-sys",
        "salvage-engine",
        "signal-hook",
        "clap",
    ] {
        assert!(
            !names.contains(banned),
            "salvage-language's dependency tree holds {banned}: {names:?}"
        );
    }
}

/// One module of a crate: its path (`["executor"]`, `[]` for the root) and its source.
struct Module {
    path: Vec<String>,
    file: PathBuf,
    text: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments, string contents, and `#[cfg(test)]` modules (tests may import
/// what they test).
fn code_of(text: &str) -> String {
    let cut = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    let mut out = String::new();
    let b = &text.as_bytes()[..cut];
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            out.push('"');
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn modules(src: &Path) -> Vec<Module> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "tests.rs"))
        .filter(|f| !f.components().any(|c| c.as_os_str() == "bin"))
        .map(|file| {
            let rel = file.strip_prefix(src).expect("under src");
            let mut path: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if path
                .last()
                .is_some_and(|l| matches!(l.as_str(), "mod" | "lib" | "main"))
            {
                path.pop();
            }
            let text = std::fs::read_to_string(&file).expect("read source");
            Module { path, file, text }
        })
        .collect()
}

/// The paths a module names after `crate::`, `super::` or `self::`, with `{a, b::c}` groups
/// expanded, each as the list of its segments after that head.
fn named_paths(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for head in ["crate", "super", "self"] {
        let pat = format!("{head}::");
        let mut from = 0;
        while let Some(at) = code[from..].find(&pat) {
            let start = from + at;
            from = start + pat.len();
            let before = code[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let rest = &code[from..];
            let mut segments = Vec::new();
            let mut i = 0;
            let bytes = rest.as_bytes();
            loop {
                let s = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if i > s {
                    segments.push(rest[s..i].to_string());
                }
                let group = if rest[i..].starts_with("::{") {
                    Some(i + 3)
                } else if i == 0 && rest.starts_with('{') {
                    Some(1)
                } else {
                    None
                };
                if let Some(open) = group {
                    let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
                    for item in rest[open..close].split(',') {
                        let mut full = segments.clone();
                        full.extend(
                            item.split("::")
                                .map(|s| s.split_whitespace().next().unwrap_or(""))
                                .filter(|s| !s.is_empty() && *s != "self")
                                .map(str::to_string),
                        );
                        out.push((head.to_string(), full));
                    }
                    break;
                }
                if rest[i..].starts_with("::") && i > s {
                    i += 2;
                    continue;
                }
                out.push((head.to_string(), segments));
                break;
            }
        }
    }
    out
}

/// Import edges between the modules of one crate: A → B when A names an item of B. A
/// re-export in a parent (`pub use child::Item`) points at the child that defines the item.
fn import_edges(mods: &[Module]) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let known: BTreeSet<Vec<String>> = mods.iter().map(|m| m.path.clone()).collect();
    let mut reexports: BTreeMap<(Vec<String>, String), Vec<String>> = BTreeMap::new();
    for m in mods {
        for line in code_of(&m.text).lines() {
            let line = line.trim();
            let Some(rest) = line
                .strip_prefix("pub use ")
                .or_else(|| line.strip_prefix("pub(crate) use "))
            else {
                continue;
            };
            let rest = rest.trim_start_matches("self::");
            let Some((child, items)) = rest.split_once("::") else {
                continue;
            };
            let mut child_path = m.path.clone();
            child_path.push(child.to_string());
            if !known.contains(&child_path) {
                continue;
            }
            for item in items
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|s| !s.is_empty())
            {
                reexports.insert((m.path.clone(), item.to_string()), child_path.clone());
            }
        }
    }
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for m in mods {
        // `super` is the parent module, for `a/b.rs` and `a/b/mod.rs` alike.
        let parent = m.path[..m.path.len().saturating_sub(1)].to_vec();
        let targets = edges.entry(m.path.clone()).or_default();
        for (head, mut segments) in named_paths(&code_of(&m.text)) {
            let mut base = match head.as_str() {
                "crate" => Vec::new(),
                "super" => parent.clone(),
                _ => m.path.clone(),
            };
            while segments.first().is_some_and(|s| s == "super") {
                segments.remove(0);
                base.pop();
            }
            let mut target = base;
            for seg in &segments {
                let mut next = target.clone();
                next.push(seg.clone());
                if known.contains(&next) {
                    target = next;
                } else {
                    if let Some(child) = reexports.get(&(target.clone(), seg.clone())) {
                        target = child.clone();
                    }
                    break;
                }
            }
            if target != m.path && known.contains(&target) {
                targets.insert(target);
            }
        }
    }
    edges
}

/// The cycles of a graph: its strongly connected components of more than one node.
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    let nodes: Vec<&Vec<String>> = edges.keys().collect();
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for next in edges.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&Vec<String>, BTreeSet<Vec<String>>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reachable[n].contains(*n) {
            continue;
        }
        let comp: Vec<Vec<String>> = nodes
            .iter()
            .filter(|m| reachable[n].contains(**m) && reachable[*m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        done.extend(comp.iter().cloned());
        out.push(comp);
    }
    out
}

fn shown(path: &[String]) -> String {
    if path.is_empty() {
        "<crate root>".into()
    } else {
        path.join("::")
    }
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let mut found = Vec::new();
    for (name, src) in CRATES {
        let edges = import_edges(&modules(&workspace_root().join(src)));
        assert!(!edges.is_empty(), "{name}: no modules found in {src}");
        for comp in cycles(&edges) {
            let members: Vec<String> = comp.iter().map(|m| shown(m)).collect();
            found.push(format!("{name}: {}", members.join(" <-> ")));
        }
    }
    assert!(found.is_empty(), "import cycles: {found:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let a = Module {
        path: vec!["a".into()],
        file: PathBuf::from("a.rs"),
        text: "//! a\nuse crate::b::B;\n".into(),
    };
    let b = Module {
        path: vec!["b".into()],
        file: PathBuf::from("b.rs"),
        text: "//! b\nuse super::{a::A, c};\n".into(),
    };
    let c = Module {
        path: vec!["c".into()],
        file: PathBuf::from("c.rs"),
        text: "//! c\n// use crate::a;\nconst S: &str = \"crate::a\";\n".into(),
    };
    let edges = import_edges(&[a, b, c]);
    let found = cycles(&edges);
    assert_eq!(found.len(), 1, "{edges:?}");
    assert_eq!(found[0], vec![vec!["a".to_string()], vec!["b".to_string()]]);
    assert!(
        edges[&vec!["c".to_string()]].is_empty(),
        "comments and strings are not imports"
    );
}

/// Each of `needles` found in the code (outside comments, strings and tests) of the crates not
/// in `except` (testkit never counts), as "`needle` in FILE". Every file is read once.
fn found_outside(needles: &[&str], except: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for (name, src) in CRATES {
        if except.contains(name) || *name == "salvage-testkit" {
            continue;
        }
        for m in modules(&workspace_root().join(src)) {
            let code = code_of(&m.text);
            for needle in needles.iter().filter(|n| code.contains(**n)) {
                hits.push(format!("`{needle}` in {}", m.file.display()));
            }
        }
    }
    hits
}

#[test]
fn ioctls_are_declared_only_in_the_sys_crate() {
    let needles = ["ioctl_read", "ioctl_write", "ioctl_none", "libc::ioctl"];
    let hits = found_outside(&needles, &["salvage-sys"]);
    assert!(hits.is_empty(), "outside crates/sys: {hits:?}");
}

#[test]
fn raw_system_calls_are_made_only_in_the_sys_crate() {
    // The binary's own terminal and signal calls stay with the binary.
    let needles = [
        "unsafe { libc::",
        "libc::syscall",
        "libc::mmap",
        "libc::lseek",
    ];
    let hits = found_outside(&needles, &["salvage-sys", "salvage"]);
    assert!(hits.is_empty(), "outside crates/sys: {hits:?}");
}

#[test]
fn only_the_binary_handles_signals_and_parses_flags() {
    let needles = [
        "signal_hook",
        "libc::signal(",
        "sigaction",
        "clap::",
        "tokio::signal",
    ];
    let hits = found_outside(&needles, &["salvage"]);
    assert!(hits.is_empty(), "outside the binary crate: {hits:?}");
}

#[test]
fn every_file_says_what_it_is_on_its_first_line() {
    let mut missing = Vec::new();
    for (_, src) in CRATES {
        let mut files = Vec::new();
        rust_files(&workspace_root().join(src), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read source");
            if !text.starts_with("//!") {
                missing.push(f.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a //! line atop: {missing:?}"
    );
}
