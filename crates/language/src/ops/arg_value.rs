//! Reading an op's resolved arguments into its argument struct: the lenient field readers
//! (`#[serde(deserialize_with)]`) that take a resolved JSON value the way the run always has
//! (a string as is, another value as its JSON text, a path-like object as its path), so a run
//! reads an argument the same way whatever op it belongs to.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// A resolved value as text: a string as is, a partition or table object as its path (or
/// source), null as empty, anything else as its JSON text.
pub fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(o) => o
            .get("path")
            .or_else(|| o.get("source"))
            .map(text_of)
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

/// Reads an op's argument struct from its resolved arguments (name → value).
pub fn from_args<T: DeserializeOwned>(
    args: &BTreeMap<String, Value>,
) -> Result<T, serde_json::Error> {
    serde_json::from_value(Value::Object(
        args.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    ))
}

/// A text argument: a string as is, null as absent, another value as its JSON text.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    })
}

/// An unsigned integer or size argument; absent when it is not one.
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Value::deserialize(d)?.as_u64())
}

/// A boolean argument; false when it is not one.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Value::deserialize(d)?.as_bool().unwrap_or(false))
}

/// A list argument, each item as text ([`text_of`]); empty when it is not a list.
pub fn texts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Value::deserialize(d)?
        .as_array()
        .map(|a| a.iter().map(text_of).collect())
        .unwrap_or_default())
}
