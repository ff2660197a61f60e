//! The one shell quoter: every argv and path that plan, review, cleanup and the log show as a
//! command goes through here, so what a reviewer pastes into sh, dash or bash is byte for byte
//! what salvage runs (or undoes), and nothing in it is expanded, redirected or run.
//!
//! A word made only of `A-Z a-z 0-9 @ % + = : , . / - _` is printed bare (a leading `=`-word
//! in command position is quoted, or a shell would take it for an assignment). Anything else
//! goes in single quotes, where POSIX shells take every byte literally; a `'` is written
//! `'\''`. Two kinds of bytes are written with `"$(printf '\NNN')"` instead, outside the
//! quotes: control characters other than newline (so a hostile name cannot drive the
//! reviewer's terminal) and bytes that are not UTF-8 (so the line stays text). A newline stays
//! a literal newline inside the quotes: a command substitution would drop it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Whether a byte can stand bare in a shell word.
fn bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b)
}

/// Quotes one word (bytes) so a POSIX shell reads it back as exactly these bytes.
pub fn quote_bytes(w: &[u8]) -> String {
    if !w.is_empty() && w.iter().all(|&b| bare(b)) {
        // Valid ASCII by construction.
        return String::from_utf8_lossy(w).into_owned();
    }
    let mut out = String::new();
    let mut open = false;
    let mut rest = w;
    while !rest.is_empty() {
        let (text, bad) = match std::str::from_utf8(rest) {
            Ok(t) => (t, None),
            Err(e) => {
                let (good, after) = rest.split_at(e.valid_up_to());
                let n = e.error_len().unwrap_or(after.len());
                (
                    std::str::from_utf8(good).unwrap_or_default(),
                    Some(&after[..n]),
                )
            }
        };
        for c in text.chars() {
            let escaped = c != '\n' && (c.is_control() || c == '\u{7f}');
            if escaped {
                if open {
                    out.push('\'');
                    open = false;
                }
                let mut buf = [0u8; 4];
                printf_bytes(&mut out, c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            if !open {
                out.push('\'');
                open = true;
            }
            if c == '\'' {
                out.push_str(r"'\''");
            } else {
                out.push(c);
            }
        }
        rest = &rest[text.len()..];
        if let Some(bad) = bad {
            if open {
                out.push('\'');
                open = false;
            }
            printf_bytes(&mut out, bad);
            rest = &rest[bad.len()..];
        }
    }
    if out.is_empty() {
        out.push_str("''");
    } else if open {
        out.push('\'');
    }
    out
}

/// Appends `"$(printf '\NNN...')"`: the bytes as octal escapes, which dash's, bash's and
/// POSIX printf all read.
fn printf_bytes(out: &mut String, bytes: &[u8]) {
    out.push_str("\"$(printf '");
    for b in bytes {
        out.push_str(&format!("\\{b:03o}"));
    }
    out.push_str("')\"");
}

/// Quotes one word of text.
pub fn quote_word(w: &str) -> String {
    quote_bytes(w.as_bytes())
}

/// Quotes a path, byte for byte (a name that is not UTF-8 included).
pub fn quote_path(p: &Path) -> String {
    quote_os(p.as_os_str())
}

/// Quotes an OS string, byte for byte.
pub fn quote_os(s: &OsStr) -> String {
    quote_bytes(s.as_bytes())
}

/// Quotes every word of a command and joins them with spaces. The first word is quoted when
/// it holds a `=` (bare, a shell would read `A=B` as an assignment, not as the program).
pub fn quote_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .enumerate()
        .map(|(i, w)| {
            let w = w.as_ref();
            let q = quote_word(w);
            if i == 0 && w.contains('=') && q == w {
                format!("'{w}'")
            } else {
                q
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_a_shell_would_split_or_expand() {
        let argv = [
            "mount",
            "-o",
            "ro,noload",
            "/mnt/my disk",
            "it's",
            "",
            "$HOME",
            "a*",
            "x>/tmp/owned",
            "(sub)",
        ];
        assert_eq!(
            quote_argv(&argv),
            r#"mount -o ro,noload '/mnt/my disk' 'it'\''s' '' '$HOME' 'a*' 'x>/tmp/owned' '(sub)'"#
        );
    }

    #[test]
    fn control_and_non_utf8_bytes_are_printf_escapes() {
        assert_eq!(quote_bytes(b"a\x1bb"), r#"'a'"$(printf '\033')"'b'"#);
        assert_eq!(quote_bytes(b"\xff"), r#""$(printf '\377')""#);
        assert_eq!(quote_bytes(b"a\nb"), "'a\nb'");
        assert_eq!(quote_argv(&["A=B", "c"]), "'A=B' c");
    }
}
