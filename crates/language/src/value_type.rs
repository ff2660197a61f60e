//! The types of runbook values: what a param declares, what an op argument wants, what an
//! output gives.

use std::fmt;

/// A runbook value's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// Free text.
    String,
    /// A file or directory path.
    Path,
    /// A block device or an image file: rescues start from either.
    Device,
    /// A byte count: `512`, `4KiB`, `5G`, `5GB`.
    Size,
    /// An integer.
    Int,
    /// `true` or `false`.
    Bool,
    /// Text never printed in plans or logs.
    Secret,
    /// A time span: `30s`, `5min`.
    Duration,
    /// A list of values of one type.
    List(Box<Type>),
    /// One partition of a table: its image, number, byte offset and size, filesystem.
    Partition,
    /// A partition table read from an image.
    Table,
}

impl Type {
    /// The type a param declaration names, if it is one a param may have.
    pub fn from_param_name(name: &str) -> Option<Type> {
        if let Some(inner) = name.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
            // A list of one of the plain types; not a list of lists.
            return Type::from_param_name(inner)
                .filter(|t| !matches!(t, Type::List(_)))
                .map(|t| Type::List(Box::new(t)));
        }
        Some(match name {
            "string" => Type::String,
            "path" => Type::Path,
            "device" => Type::Device,
            "size" => Type::Size,
            "int" => Type::Int,
            "bool" => Type::Bool,
            "secret" => Type::Secret,
            "duration" => Type::Duration,
            _ => return None,
        })
    }

    /// The names a param type may have, for "did you mean" and help (`list<T>` takes any of
    /// the others as `T`).
    pub const PARAM_NAMES: &'static [&'static str] = &[
        "string",
        "path",
        "device",
        "size",
        "int",
        "bool",
        "secret",
        "duration",
        "list<string>",
    ];

    /// Whether a value of type `got` may be passed where `self` is wanted.
    pub fn accepts(&self, got: &Type) -> bool {
        use Type::*;
        match (self, got) {
            (a, b) if a == b => true,
            (Path, String) | (Device, String) | (Device, Path) => true,
            (String, Path) | (String, Device) | (String, Int) | (String, Size) => true,
            (Secret, String) => true,
            (Size, Int) => true,
            (List(want), List(have)) => want.accepts(have),
            _ => false,
        }
    }

    /// Whether a value of this type may stand inside `"${...}"`.
    pub fn interpolates(&self) -> bool {
        !matches!(self, Type::List(_) | Type::Table)
    }

    /// The fields a value of this type has, for `value.field`.
    pub fn fields(&self) -> Vec<(&'static str, Type, &'static str)> {
        match self {
            Type::Partition => vec![
                (
                    "source",
                    Type::Path,
                    "the image or device the partition is in",
                ),
                (
                    "number",
                    Type::Int,
                    "the partition's number, as the kernel names it",
                ),
                ("offset", Type::Size, "byte offset of its first sector"),
                ("size", Type::Size, "its size in bytes"),
                ("fstype", Type::String, "the filesystem probed in it"),
                ("label", Type::String, "the filesystem's label"),
                ("uuid", Type::String, "the filesystem's UUID"),
            ],
            Type::Table => vec![
                ("source", Type::Path, "the image or device read"),
                ("label", Type::String, "dos, gpt or none"),
                ("sector_size", Type::Size, "the logical sector size"),
                (
                    "partition",
                    Type::List(Box::new(Type::Partition)),
                    "partitions by number",
                ),
            ],
            _ => vec![],
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => write!(f, "string"),
            Type::Path => write!(f, "path"),
            Type::Device => write!(f, "device"),
            Type::Size => write!(f, "size"),
            Type::Int => write!(f, "int"),
            Type::Bool => write!(f, "bool"),
            Type::Secret => write!(f, "secret"),
            Type::Duration => write!(f, "duration"),
            Type::List(t) => write!(f, "list of {t}"),
            Type::Partition => write!(f, "partition"),
            Type::Table => write!(f, "partition table"),
        }
    }
}
