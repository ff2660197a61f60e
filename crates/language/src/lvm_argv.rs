//! The LVM snapshot commands, written once: the plan prints these argvs and the run executes
//! them, so what a partner reviewed is what runs.

/// `/dev/VG/LV` or `/dev/mapper/VG-LV` → VG.
pub fn volume_group(source: &str) -> Option<String> {
    let rest = source.strip_prefix("/dev/")?;
    if let Some(m) = rest.strip_prefix("mapper/") {
        // Hyphens inside names are doubled by device-mapper.
        let mut vg = String::new();
        let mut chars = m.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '-' {
                if chars.peek() == Some(&'-') {
                    chars.next();
                    vg.push('-');
                    continue;
                }
                return Some(vg);
            }
            vg.push(c);
        }
        return None;
    }
    let (vg, _) = rest.split_once('/')?;
    Some(vg.to_string())
}

/// Why an LVM snapshot of `source` is refused.
pub fn not_a_volume(source: &str) -> String {
    format!("{source}: not a logical volume path (/dev/VG/LV or /dev/mapper/VG-LV)")
}

/// The `lvcreate` a snapshot runs; `size_bytes` is the copy-on-write space in bytes (the
/// plan passes a placeholder while the size is unknown). The plan prints this very argv.
pub fn lvcreate_argv(source: &str, name: &str, size_bytes: &str) -> Vec<String> {
    [
        "lvcreate",
        "-s",
        "-L",
        &format!("{size_bytes}b"),
        "-n",
        name,
        source,
    ]
    .map(String::from)
    .to_vec()
}

/// The `lvremove` that undoes a snapshot `name` in volume group `vg`.
pub fn lvremove_argv(vg: &str, name: &str) -> Vec<String> {
    vec!["lvremove".into(), "-f".into(), format!("{vg}/{name}")]
}

#[cfg(test)]
mod tests {
    use super::volume_group;

    #[test]
    fn volume_groups() {
        assert_eq!(
            volume_group("/dev/vg_i7tiny/vm_zoneminder").as_deref(),
            Some("vg_i7tiny")
        );
        assert_eq!(
            volume_group("/dev/mapper/vg--a-lv").as_deref(),
            Some("vg-a")
        );
        assert_eq!(volume_group("/srv/disk.img"), None);
    }
}
