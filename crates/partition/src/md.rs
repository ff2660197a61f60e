//! Linux md RAID without the md driver: members' superblocks read whole (`superblock`), found
//! in images and devices (`member`), grouped into arrays and assessed (`array`), and the
//! kernel's own view when it has one (`mdstat`). A RAID1 member's data area is a whole copy of
//! the array, so `fsck`, `mount` and `copy` can read it at its offset with no md at all.

mod array;
mod mdstat;
mod member;
mod superblock;

pub use array::{ArrayData, ArrayState, ArrayView, MemberStatus, MemberView, SlotView, assess};
pub use mdstat::{MdstatArray, MdstatMember, parse_mdstat};
pub use member::{MdMember, MemberSearch, find_members, find_members_in};
pub(crate) use superblock::v1_checksum;
pub use superblock::{MdSuperblock, MemberRole, level_name, read_superblock};
