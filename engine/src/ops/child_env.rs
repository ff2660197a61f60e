//! The `env:` argument of `exec` and `pipe`: `"NAME=VALUE"` strings that become the child's
//! environment, so a secret reaches a program without being in its argv (which every process
//! on the machine can read in /proc/PID/cmdline; /proc/PID/environ is the owner's and root's).

use super::OpError;
use salvage_language::env_item::parse_item;

/// The `env:` items of a step, checked. The error never shows a value (it may be a secret).
pub(crate) fn child_env(items: &[String]) -> Result<Vec<(String, String)>, OpError> {
    let mut out = Vec::new();
    for item in items {
        let (name, value) = parse_item(item).map_err(OpError::new)?;
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

/// The names of the variables set, for the log (values are redacted there anyway, but a name
/// list is all a reviewer needs).
pub(crate) fn names(env: &[(String, String)]) -> Vec<String> {
    env.iter().map(|(n, _)| n.clone()).collect()
}
