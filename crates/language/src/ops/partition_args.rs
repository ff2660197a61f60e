//! The partition argument `fsck` and `mount` share: `partition:` (a value from `partitions`),
//! or `image:` with `offset:`, `size:` and, for `mount`, `fstype:`.

use super::arg_value;
use serde::Deserialize;
use serde_json::Value;

/// A partition argument, as the run reads it.
#[derive(Debug, Deserialize)]
pub struct PartitionArgs {
    /// The partition (an object with source, offset, size and fstype), when given.
    #[serde(default)]
    pub partition: Option<Value>,
    /// Or: an image or device.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub image: Option<String>,
    /// The byte offset in `image`; 0 when absent.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub offset: Option<u64>,
    /// The byte size in `image`; to the end when absent.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub size: Option<u64>,
    /// The filesystem type; probed when absent.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub fstype: Option<String>,
}
