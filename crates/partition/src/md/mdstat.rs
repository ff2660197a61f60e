//! `/proc/mdstat` read into arrays: the kernel's own view of the running md arrays (state,
//! level, members with their slot and `(F)`ailed / `(S)`pare marks, `[n/m] [UU_]`, and a
//! resync or recovery under way).

use serde::Serialize;

/// One member as mdstat lists it: `sda1[0]`, `sdb1[2](F)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MdstatMember {
    pub device: String,
    /// The number in brackets (the member's index, not always its slot).
    pub index: u32,
    pub failed: bool,
    pub spare: bool,
    pub write_mostly: bool,
    pub replacement: bool,
    pub journal: bool,
}

/// One array as mdstat lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MdstatArray {
    /// `md0`.
    pub name: String,
    /// `active`, `inactive`, `active (auto-read-only)`, `active (read-only)`.
    pub state: String,
    /// `raid1`, ...; `None` for an inactive array.
    pub level: Option<String>,
    pub members: Vec<MdstatMember>,
    /// Size in 1 KiB blocks.
    pub blocks: Option<u64>,
    /// `super 1.2`, ...
    pub metadata: Option<String>,
    /// `[n/m]`: slots, and slots working.
    pub raid_disks: Option<u32>,
    pub working: Option<u32>,
    /// `[UU_]`: each slot, `U` up, `_` down.
    pub slot_map: Option<String>,
    /// A sync action under way: `recovery`, `resync`, `reshape`, `check`, with its percent.
    pub action: Option<(String, f64)>,
    /// A pending or delayed action (`resync=DELAYED`, `resync=PENDING`).
    pub pending: Option<String>,
}

impl MdstatArray {
    /// Degraded: fewer slots working than the array has, or a member marked failed.
    pub fn degraded(&self) -> bool {
        matches!((self.raid_disks, self.working), (Some(n), Some(w)) if w < n)
            || self.members.iter().any(|m| m.failed)
    }

    /// One line: `md0: active raid1, 1 of 2 slots working [U_], sdb1 failed`.
    pub fn summary(&self) -> String {
        let mut s = format!("{}: {}", self.name, self.state);
        if let Some(l) = &self.level {
            s.push_str(&format!(" {l}"));
        }
        if let (Some(n), Some(w)) = (self.raid_disks, self.working) {
            s.push_str(&format!(", {w} of {n} slots working"));
        }
        if let Some(map) = &self.slot_map {
            s.push_str(&format!(" [{map}]"));
        }
        let failed: Vec<&str> = self
            .members
            .iter()
            .filter(|m| m.failed)
            .map(|m| m.device.as_str())
            .collect();
        if !failed.is_empty() {
            s.push_str(&format!(", failed: {}", failed.join(" ")));
        }
        if let Some((action, pct)) = &self.action {
            s.push_str(&format!(", {action} {pct:.1}%"));
        }
        if let Some(p) = &self.pending {
            s.push_str(&format!(", {p}"));
        }
        s
    }
}

/// The arrays in mdstat's text, in its order. Lines it does not know are skipped.
pub fn parse_mdstat(text: &str) -> Vec<MdstatArray> {
    let mut arrays: Vec<MdstatArray> = Vec::new();
    for line in text.lines() {
        if let Some(array) = array_line(line) {
            arrays.push(array);
            continue;
        }
        let Some(current) = arrays.last_mut() else {
            continue;
        };
        if line.starts_with(char::is_whitespace) {
            detail_line(current, line.trim());
        }
    }
    arrays
}

/// `md0 : active raid1 sdb1[1] sda1[0]`.
fn array_line(line: &str) -> Option<MdstatArray> {
    let (name, rest) = line.split_once(" : ")?;
    let name = name.trim();
    if !name.starts_with("md") || name.contains(char::is_whitespace) {
        return None;
    }
    let mut words = rest.split_whitespace().peekable();
    let mut state = words.next()?.to_string();
    while let Some(w) = words.peek().filter(|w| w.starts_with('(')) {
        state.push(' ');
        state.push_str(w);
        words.next();
    }
    let mut level = None;
    let mut members = Vec::new();
    for w in words {
        match member(w) {
            Some(m) => members.push(m),
            None if level.is_none() && members.is_empty() => level = Some(w.to_string()),
            None => {}
        }
    }
    Some(MdstatArray {
        name: name.to_string(),
        state,
        level,
        members,
        blocks: None,
        metadata: None,
        raid_disks: None,
        working: None,
        slot_map: None,
        action: None,
        pending: None,
    })
}

/// `sdb1[2](F)`.
fn member(word: &str) -> Option<MdstatMember> {
    let open = word.find('[')?;
    let close = open + word[open..].find(']')?;
    let index = word[open + 1..close].parse().ok()?;
    let flags = &word[close + 1..];
    Some(MdstatMember {
        device: word[..open].to_string(),
        index,
        failed: flags.contains("(F)"),
        spare: flags.contains("(S)"),
        write_mostly: flags.contains("(W)"),
        replacement: flags.contains("(R)"),
        journal: flags.contains("(J)"),
    })
}

/// The indented lines under an array: sizes and slots, progress, bitmap.
fn detail_line(a: &mut MdstatArray, line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.get(1) == Some(&"blocks") {
        a.blocks = words[0].parse().ok();
        if words.get(2) == Some(&"super") {
            a.metadata = words.get(3).map(|v| v.to_string());
        }
        for w in &words {
            if let Some(inner) = w.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                if let Some((n, m)) = inner.split_once('/') {
                    a.raid_disks = n.parse().ok();
                    a.working = m.parse().ok();
                } else if !inner.is_empty() && inner.chars().all(|c| c == 'U' || c == '_') {
                    a.slot_map = Some(inner.to_string());
                }
            }
        }
        return;
    }
    // `[==>....]  recovery = 12.6% (...)`, or `resync=DELAYED`.
    for action in ["recovery", "resync", "reshape", "check", "repair"] {
        if let Some(pos) = line.find(action) {
            let rest = line[pos + action.len()..].trim_start();
            if let Some(v) = rest.strip_prefix('=') {
                let v = v.trim_start();
                if let Some(pct) = v.split('%').next().and_then(|p| p.trim().parse().ok()) {
                    a.action = Some((action.to_string(), pct));
                } else {
                    a.pending = Some(format!(
                        "{action}={}",
                        v.split_whitespace().next().unwrap_or("")
                    ));
                }
                return;
            }
        }
    }
}
