//! The integration tests of salvage-partition, one binary: the fixture corpus
//! (`crates/partition/tests/fixtures/partitions/`), GPT, filesystems inside partitions, and
//! generated layouts compared with sfdisk and blkid. Shared helpers: `salvage_testkit::partition`.

mod corpus;
mod differential;
mod filesystems;
mod gpt;
mod md;
mod used_space;
