//! `FsckExit`: a checker's exit status in words. e2fsck's status is a sum of bits (1 fixed,
//! 2 reboot, 4 left uncorrected, 8 operational error, 16 usage, 32 cancelled, 128 library);
//! the other checkers have their own, simpler codes.

use serde::{Deserialize, Serialize};

use super::fs_type::FsType;

/// e2fsck's exit bits and their meaning (from e2fsck(8)); exfatprogs' fsck uses the same.
const E2FSCK_BITS: [(i32, &str); 7] = [
    (1, "file system errors corrected"),
    (2, "file system errors corrected, system should be rebooted"),
    (4, "file system errors left uncorrected"),
    (8, "operational error"),
    (16, "usage or syntax error"),
    (32, "checking canceled by user request"),
    (128, "shared-library error"),
];

/// A checker's exit status, kept as a number and told in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsckExit {
    /// The raw exit status (-1 when the checker was killed by a signal).
    pub code: i32,
    /// Each bit (e2fsck) or the code (others) in words; "no errors" when clean.
    pub words: Vec<String>,
    /// The checker found nothing wrong and nothing went wrong running it.
    pub clean: bool,
}

impl FsckExit {
    /// Interprets `code` as returned by the checker for `fs_type`.
    pub fn interpret(fs_type: FsType, code: i32) -> Self {
        if code < 0 {
            return Self {
                code,
                words: vec!["the checker was killed by a signal".to_string()],
                clean: false,
            };
        }
        if code == 0 {
            return Self {
                code,
                words: vec!["no errors".to_string()],
                clean: true,
            };
        }
        let words = match fs_type {
            FsType::Ext2 | FsType::Ext3 | FsType::Ext4 | FsType::Exfat => {
                let mut words: Vec<String> = E2FSCK_BITS
                    .iter()
                    .filter(|(bit, _)| code & bit != 0)
                    .map(|(bit, word)| format!("{bit}: {word}"))
                    .collect();
                if code & !0xBF != 0 {
                    words.push(format!("unknown bits {:#x}", code & !0xBF));
                }
                words
            }
            FsType::Xfs => vec![match code {
                1 => "1: file system corruption was found".to_string(),
                2 => "2: the log is dirty and must be replayed (mount a copy, or xfs_repair -L \
                      on a copy, which loses the log)"
                    .to_string(),
                other => format!("{other}: xfs_repair failed"),
            }],
            FsType::Btrfs => vec![format!("{code}: errors found, or the check could not run")],
            FsType::Vfat => vec![match code {
                1 => "1: errors found (and corrected when repairing)".to_string(),
                2 => "2: usage error".to_string(),
                other => format!("{other}: fsck.vfat failed"),
            }],
            FsType::Ntfs => vec![format!("{code}: ntfsfix found problems or failed")],
        };
        Self {
            code,
            words,
            clean: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e2fsck_bits_are_told_one_by_one() {
        let exit = FsckExit::interpret(FsType::Ext4, 12);
        assert_eq!(
            exit.words,
            vec![
                "4: file system errors left uncorrected",
                "8: operational error"
            ]
        );
        assert!(!exit.clean);
        assert!(FsckExit::interpret(FsType::Ext4, 0).clean);
        assert_eq!(
            FsckExit::interpret(FsType::Ext4, 1).words,
            vec!["1: file system errors corrected"]
        );
    }

    #[test]
    fn xfs_and_btrfs_codes_have_words() {
        assert!(FsckExit::interpret(FsType::Xfs, 1).words[0].contains("corruption"));
        assert!(!FsckExit::interpret(FsType::Btrfs, 1).clean);
        assert!(!FsckExit::interpret(FsType::Ext4, -1).clean);
    }
}
