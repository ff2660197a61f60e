//! One item of the `env:` argument of `exec` and `pipe`: `"NAME=VALUE"`. The checker checks
//! the items it can see; the ops check the rest when their values are known.

/// Whether `name` can be an environment variable's name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Splits one `NAME=VALUE` item; the error says what is wrong and how to write it.
pub fn parse_item(item: &str) -> Result<(&str, &str), String> {
    match item.split_once('=') {
        Some((name, value)) if valid_name(name) && !value.contains('\0') => Ok((name, value)),
        Some((name, _)) if valid_name(name) => Err(format!(
            "env: the value of `{name}` holds a NUL byte, which no environment can carry"
        )),
        Some((name, _)) => Err(format!(
            "env: `{}` is not a variable name (letters, digits and _, not starting with a digit); write each item as \"NAME=VALUE\"",
            name.escape_debug()
        )),
        None => Err(
            "env: an item has no `=`; write each item as \"NAME=VALUE\", e.g. \"PGPASSWORD=${password}\""
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_name_equals_value() {
        assert_eq!(parse_item("PGPASSWORD=a=b"), Ok(("PGPASSWORD", "a=b")));
        assert_eq!(parse_item("_X="), Ok(("_X", "")));
        assert!(parse_item("1X=a").is_err());
        assert!(parse_item("NOEQUALS").is_err());
        assert!(parse_item("=v").is_err());
        assert!(parse_item("A B=v").is_err());
        assert!(parse_item("A=\0").is_err());
    }
}
