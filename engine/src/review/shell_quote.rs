//! Shell-quoting an argv for display, so a reviewer can read (and paste) exactly what ran.

/// Quotes one word for a POSIX shell: bare when it is safe, else in single quotes.
pub fn quote_word(w: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !w.is_empty() && w.chars().all(safe) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// Quotes every word and joins them with spaces.
pub fn quote_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|w| quote_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_a_shell_would_split_or_expand() {
        let argv: Vec<String> = [
            "mount",
            "-o",
            "ro,noload",
            "/mnt/my disk",
            "it's",
            "",
            "$HOME",
            "a*",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            quote_argv(&argv),
            r#"mount -o ro,noload '/mnt/my disk' 'it'\''s' '' '$HOME' 'a*'"#
        );
    }
}
