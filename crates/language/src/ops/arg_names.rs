//! A test that every field of an op's argument struct is an argument of that op's signature
//! row: a misspelt field would otherwise read as absent at every run.

use super::{
    copy, exec, fsck, image, mount, partition_args, partitions, pipe, snapshot, synth, verify,
};
use crate::op_table::OpSig;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A deserializer that only records the field names a struct asks for.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.extend(fields);
        Err(de::Error::custom("fields recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The field names of an argument struct.
fn fields<T: Deserialize<'static>>() -> Vec<&'static str> {
    let mut names = Vec::new();
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

#[test]
fn every_argument_struct_field_is_an_argument_of_its_op() {
    let structs = [
        ("image", fields::<image::ImageArgs>()),
        ("partitions", fields::<partitions::PartitionsArgs>()),
        ("fsck", fields::<fsck::FsckArgs>()),
        ("mount", fields::<mount::MountArgs>()),
        ("mount", fields::<partition_args::PartitionArgs>()),
        ("copy", fields::<copy::CopyArgs>()),
        ("verify", fields::<verify::VerifyArgs>()),
        ("snapshot", fields::<snapshot::SnapshotArgs>()),
        ("exec", fields::<exec::ExecArgs>()),
        ("pipe", fields::<pipe::PipeArgs>()),
        ("synth", fields::<synth::SynthArgs>()),
    ];
    for (op, names) in structs {
        let sig = OpSig::find(op).unwrap_or_else(|| panic!("no op `{op}`"));
        assert!(!names.is_empty(), "{op}: no fields recorded");
        for name in names {
            assert!(
                sig.arg(name).is_some(),
                "{op}: `{name}` is not one of its arguments"
            );
        }
    }
    // fsck reads the partition argument too; it has no `fstype:` (always absent there).
    let fsck = OpSig::find("fsck").expect("fsck");
    for name in fields::<partition_args::PartitionArgs>() {
        assert!(
            name == "fstype" || fsck.arg(name).is_some(),
            "fsck: `{name}` is not one of its arguments"
        );
    }
}
