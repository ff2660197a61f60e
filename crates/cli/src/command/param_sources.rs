//! Where param values come from, strongest first: `--param NAME=VALUE`,
//! `--param-file NAME=PATH` (the file's text, one trailing newline dropped), the environment
//! variable `SALVAGE_PARAM_<NAME>` (as written, or upper-case), and, for `run`, a secret param
//! still missing is asked for at the terminal without echo. Only the first one is visible to
//! other processes (in /proc/PID/cmdline): secrets belong in the other three.

use super::secret_prompt::{self, Answer};
use salvage_language::value_type::Type;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The prefix of the environment variables that give params.
pub(crate) const ENV_PREFIX: &str = "SALVAGE_PARAM_";

/// The largest param file read (a param is a password or a path, not a disk image).
const MAX_PARAM_FILE: u64 = 1 << 20;

/// Why the params could not be gathered, with the exit code to end with.
#[derive(Debug)]
pub(crate) struct ParamError {
    /// What went wrong and how to fix it.
    pub message: String,
    /// 2 (invalid params) or 130 (interrupted at the prompt).
    pub exit: i32,
}

fn invalid(message: String) -> ParamError {
    ParamError { message, exit: 2 }
}

/// Parses `NAME=PATH` for `--param-file`.
pub(crate) fn parse_param_file(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), PathBuf::from(v))),
        _ => Err(format!(
            "`{s}`: write it as NAME=PATH, e.g. --param-file password=/root/db.pass"
        )),
    }
}

/// Reads a param file: UTF-8 text up to 1 MiB; one trailing `\n` (or `\r\n`) is dropped, as
/// `echo secret > file` adds it.
fn read_param_file(name: &str, path: &Path) -> Result<String, ParamError> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| invalid(format!("--param-file {name}={shown}: cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(invalid(format!(
            "--param-file {name}={shown}: not a regular file; give the file holding the value"
        )));
    }
    if meta.len() > MAX_PARAM_FILE {
        return Err(invalid(format!(
            "--param-file {name}={shown}: {} bytes, more than a param holds (1 MiB at most)",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| invalid(format!("--param-file {name}={shown}: cannot read it: {e}")))?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "--param-file {name}={shown}: not UTF-8 text at byte offset {}; a param is text",
            e.utf8_error().valid_up_to()
        ))
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// The value of `SALVAGE_PARAM_<name>` (or its upper-case form), if set.
fn from_env(name: &str) -> Option<String> {
    [name.to_string(), name.to_ascii_uppercase()]
        .iter()
        .find_map(|n| std::env::var(format!("{ENV_PREFIX}{n}")).ok())
}

/// Every param value for `file`: `--param`, `--param-file`, the environment, and (with
/// `prompt`, on a terminal) a prompt for each secret param still missing.
pub(crate) fn gather(
    file: &Path,
    params: &[(String, String)],
    param_files: &[(String, PathBuf)],
    prompt: bool,
) -> Result<Vec<(String, String)>, ParamError> {
    let mut out: Vec<(String, String)> = params.to_vec();
    for (name, path) in param_files {
        if out.iter().any(|(n, _)| n == name) {
            return Err(invalid(format!(
                "param `{name}` is given twice (--param and --param-file); keep one"
            )));
        }
        out.push((name.clone(), read_param_file(name, path)?));
    }
    // Which params the runbook declares (a broken file is diagnosed by the caller's check).
    let checked = super::load_and_check(file, None);
    let Some(plan) = checked.plans.iter().find(|p| !p.is_define) else {
        return Ok(out);
    };
    let interactive = prompt && std::io::stdin().is_terminal();
    for p in &plan.params {
        if out.iter().any(|(n, _)| *n == p.name) {
            continue;
        }
        if let Some(v) = from_env(&p.name) {
            out.push((p.name.clone(), v));
            continue;
        }
        let missing = p.source == salvage_language::plan::ParamSource::Missing;
        if missing && p.ty == Type::Secret && interactive {
            match secret_prompt::ask(&p.name) {
                Ok(Answer::Value(v)) => out.push((p.name.clone(), v)),
                Ok(Answer::Interrupted) => {
                    return Err(ParamError {
                        message: format!("no value for the secret param `{}`: interrupted", p.name),
                        exit: 130,
                    });
                }
                Err(e) => {
                    return Err(invalid(format!(
                        "cannot ask for the secret param `{}` at the terminal: {e}; give it with --param-file {}=FILE or {ENV_PREFIX}{}",
                        p.name, p.name, p.name
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// Removes every `SALVAGE_PARAM_*` variable from this process's environment, so the programs
/// a run starts do not inherit a secret meant for salvage alone. Call it before any thread
/// starts.
pub(crate) fn forget_env() {
    let names: Vec<_> = std::env::vars_os()
        .filter_map(|(k, _)| {
            k.to_str()
                .filter(|k| k.starts_with(ENV_PREFIX))
                .map(str::to_string)
        })
        .collect();
    for k in names {
        // SAFETY: called from the main thread at start-up, before any other thread exists.
        unsafe { std::env::remove_var(k) };
    }
}
