//! The op table: every op's arguments, their types, outputs, effect class, the commands it will
//! run and the cleanup it registers. The checker, the plan, the docs and the executor all read
//! this one table.

use crate::effect::Effect;
use crate::value_type::Type;
use salvage_text::shell_quote::{quote_argv, quote_word};

/// The signature of one op.
#[derive(Debug)]
pub struct OpSig {
    /// The name runbooks call it by.
    pub name: &'static str,
    /// One line on what it does.
    pub about: &'static str,
    /// Its arguments.
    pub args: &'static [ArgSig],
    /// Groups of arguments of which exactly one must be given.
    pub one_of: &'static [&'static [&'static str]],
    /// What it hands back.
    pub outputs: &'static [OutSig],
    /// The output a bare reference to the step (`img` rather than `img.dest`) means.
    pub value: Option<&'static str>,
    /// The highest effect class it can have; [`OpSig::effect_of`] narrows it per call.
    pub effect: Effect,
    effect_rule: fn(&dyn ArgView) -> Effect,
    commands: fn(&dyn ArgView) -> Vec<String>,
    cleanup: fn(&dyn ArgView) -> Vec<String>,
}

/// One argument of an op.
#[derive(Debug)]
pub struct ArgSig {
    /// Its name.
    pub name: &'static str,
    /// The element type, or the type itself when `list` is false.
    pub ty: Type,
    /// Whether it is a list of `ty`.
    pub list: bool,
    /// Whether it must be given.
    pub required: bool,
    /// The default when not given, as the plan shows it.
    pub default: Option<&'static str>,
    /// What it means.
    pub about: &'static str,
    /// The words it may be, when it is one of a fixed set.
    pub choices: &'static [&'static str],
}

/// One output of an op.
#[derive(Debug)]
pub struct OutSig {
    /// Its name.
    pub name: &'static str,
    /// Its element type, or its type when `list` is false.
    pub ty: Type,
    /// Whether it is a list of `ty`.
    pub list: bool,
    /// When the output is just an argument handed through, that argument: its value is then
    /// known at plan time.
    pub from_arg: Option<&'static str>,
    /// What it means.
    pub about: &'static str,
}

impl ArgSig {
    /// The full type, lists included.
    pub fn full_type(&self) -> Type {
        if self.list {
            Type::List(Box::new(self.ty.clone()))
        } else {
            self.ty.clone()
        }
    }
}

impl OutSig {
    /// The full type, lists included.
    pub fn full_type(&self) -> Type {
        if self.list {
            Type::List(Box::new(self.ty.clone()))
        } else {
            self.ty.clone()
        }
    }
}

/// What the plan knows of a step's arguments, for rendering commands and choosing effects.
pub trait ArgView {
    /// The argument's value as text, when it is known now (given or defaulted, no unknowns).
    fn known(&self, name: &str) -> Option<String>;
    /// The argument as the plan shows it: the value, or `(known after STEP)`; `None` if absent.
    fn shown(&self, name: &str) -> Option<String>;
    /// The list argument's items as shown, when it is a list.
    fn shown_list(&self, name: &str) -> Option<Vec<String>>;
}

impl OpSig {
    /// Looks an op up by name.
    pub fn find(name: &str) -> Option<&'static OpSig> {
        OPS.iter().find(|op| op.name == name)
    }

    /// Every op, in the table's order.
    pub fn all() -> &'static [OpSig] {
        OPS
    }

    /// Looks an argument up by name.
    pub fn arg(&self, name: &str) -> Option<&'static ArgSig> {
        self.args.iter().find(|a| a.name == name)
    }

    /// Looks an output up by name.
    pub fn output(&self, name: &str) -> Option<&'static OutSig> {
        self.outputs.iter().find(|o| o.name == name)
    }

    /// The effect class of one call, from its arguments.
    pub fn effect_of(&self, args: &dyn ArgView) -> Effect {
        (self.effect_rule)(args)
    }

    /// The exact commands or system calls the call will make, as the plan prints them.
    pub fn commands(&self, args: &dyn ArgView) -> Vec<String> {
        (self.commands)(args)
    }

    /// The undo actions the call registers, run in reverse order at the end.
    pub fn cleanup(&self, args: &dyn ArgView) -> Vec<String> {
        (self.cleanup)(args)
    }
}

const fn arg(name: &'static str, ty: Type, about: &'static str) -> ArgSig {
    ArgSig {
        name,
        ty,
        list: false,
        required: true,
        default: None,
        about,
        choices: &[],
    }
}

const fn opt(name: &'static str, ty: Type, about: &'static str) -> ArgSig {
    ArgSig {
        name,
        ty,
        list: false,
        required: false,
        default: None,
        about,
        choices: &[],
    }
}

const fn def(name: &'static str, ty: Type, default: &'static str, about: &'static str) -> ArgSig {
    ArgSig {
        name,
        ty,
        list: false,
        required: false,
        default: Some(default),
        about,
        choices: &[],
    }
}

const fn list(name: &'static str, ty: Type, required: bool, about: &'static str) -> ArgSig {
    ArgSig {
        name,
        ty,
        list: true,
        required,
        default: None,
        about,
        choices: &[],
    }
}

const fn pick(
    name: &'static str,
    default: Option<&'static str>,
    choices: &'static [&'static str],
    about: &'static str,
) -> ArgSig {
    ArgSig {
        name,
        ty: Type::String,
        list: false,
        required: false,
        default,
        about,
        choices,
    }
}

const EFFECTS: &[&str] = &["read", "create", "attach", "modify"];

const fn out(name: &'static str, ty: Type, about: &'static str) -> OutSig {
    OutSig {
        name,
        ty,
        list: false,
        from_arg: None,
        about,
    }
}

const fn pass(name: &'static str, ty: Type, from: &'static str, about: &'static str) -> OutSig {
    OutSig {
        name,
        ty,
        list: false,
        from_arg: Some(from),
        about,
    }
}

const fn outs(name: &'static str, ty: Type, about: &'static str) -> OutSig {
    OutSig {
        name,
        ty,
        list: true,
        from_arg: None,
        about,
    }
}

fn show(a: &dyn ArgView, name: &str) -> String {
    a.shown(name).unwrap_or_else(|| format!("<{name}>"))
}

fn is_true(a: &dyn ArgView, name: &str) -> bool {
    a.known(name).as_deref() == Some("true")
}

fn declared_effect(a: &dyn ArgView) -> Effect {
    a.known("effect")
        .and_then(|e| Effect::from_name(&e))
        .unwrap_or(Effect::Modify)
}

/// What a partition argument names, for the plan: the partition, or image + offset + size.
fn partition_desc(a: &dyn ArgView) -> String {
    match a.shown("partition") {
        Some(p) => p,
        None => format!(
            "{} at offset {}, size {}",
            show(a, "image"),
            a.shown("offset").unwrap_or_else(|| "0".into()),
            a.shown("size").unwrap_or_else(|| "to the end".into())
        ),
    }
}

fn loop_attach(a: &dyn ArgView, read_only: bool) -> String {
    let (ro, open) = if read_only {
        ("LO_FLAGS_READ_ONLY|", "O_RDONLY")
    } else {
        ("", "O_RDWR")
    };
    format!(
        "attach /dev/loopN (LOOP_CTL_GET_FREE; LOOP_CONFIGURE, backing fd {open}, offset and sizelimit of the partition, {ro}LO_FLAGS_AUTOCLEAR) over {}",
        partition_desc(a)
    )
}

fn image_commands(a: &dyn ArgView) -> Vec<String> {
    let src = show(a, "source");
    let dest = show(a, "dest");
    let map = a.shown("map").unwrap_or_else(|| format!("{dest}.map"));
    let mut v = vec![
        format!(
            "open {src} O_RDONLY{} (never written)",
            if is_true(a, "direct") {
                "|O_DIRECT"
            } else {
                ""
            }
        ),
        format!("open {dest} O_WRONLY|O_CREAT (not truncated; rescued data kept)"),
        format!("read/write {map} (GNU ddrescue mapfile; saved atomically, resumes)"),
        "copy good areas with large reads, skip ahead on errors, then trim, scrape and retry"
            .to_string(),
    ];
    if let Some(bad) = a.shown("simulate_bad").filter(|b| !b.is_empty()) {
        v.push(format!("test mode: sectors listed in {bad} read as errors"));
    }
    let retries = a.known("retries").unwrap_or_else(|| "0".into());
    v.push(format!(
        "like: ddrescue -r{retries} {} {} {}",
        quote_word(&src),
        quote_word(&dest),
        quote_word(&map)
    ));
    v
}

fn image_effect(a: &dyn ArgView) -> Effect {
    match a.known("dest") {
        Some(d) if d.starts_with("/dev/") => Effect::Modify,
        _ => Effect::Create,
    }
}

fn partitions_commands(a: &dyn ArgView) -> Vec<String> {
    let src = show(a, "source");
    let mut v = vec![
        format!("open {src} O_RDONLY; read the MBR at byte 0, EBR chain, GPT at LBA 1 and its backup"),
        "probe each partition's filesystem signature (ext, xfs, btrfs, vfat, exfat, ntfs, swap, LVM2, LUKS, md)".to_string(),
    ];
    if is_true(a, "scan") {
        v.push("scan for filesystem signatures at every 1 MiB and at sector 63".into());
    }
    v
}

fn inspect_commands(a: &dyn ArgView) -> Vec<String> {
    vec![
        format!(
            "for each filesystem in {}: read it (userspace for ext2/3/4, else a read-only loop mount)",
            show(a, "table")
        ),
        "look for /etc/os-release, /etc/fstab; find the newest modification time".into(),
    ]
}

fn inspect_cleanup(_a: &dyn ArgView) -> Vec<String> {
    vec!["umount and detach any read-only mount made to look inside (done within the step)".into()]
}

fn fsck_effect(a: &dyn ArgView) -> Effect {
    match a.known("mode").as_deref() {
        Some("repair") if is_true(a, "in_place") => Effect::Modify,
        Some("repair") => Effect::Create,
        _ => Effect::Read,
    }
}

fn fsck_commands(a: &dyn ArgView) -> Vec<String> {
    let repair = a.known("mode").as_deref() == Some("repair");
    let in_place = is_true(a, "in_place");
    let mut v = Vec::new();
    if repair && !in_place {
        v.push(format!(
            "copy {} to a work copy (FICLONE reflink when the filesystem allows)",
            partition_desc(a)
        ));
    } else {
        v.push(loop_attach(a, !repair));
    }
    // A work copy is a file of its own: the checker runs on it directly, no loop device.
    let target = if repair && !in_place {
        "COPY"
    } else {
        "/dev/loopN"
    };
    let checker = a.known("checker");
    let flags = if repair { "-f -y" } else { "-f -n" };
    match checker.as_deref() {
        Some(c) => v.push(format!("{c} {target}")),
        None => v.push(format!(
            "by filesystem: e2fsck {flags} {target} | xfs_repair {}{target} | btrfs check {}{target}",
            if repair { "" } else { "-n " },
            if repair { "--repair " } else { "--readonly " }
        )),
    }
    v.push(
        "keep the checker's exit-code bits (1 fixed, 2 reboot, 4 uncorrected, 8 operational)"
            .into(),
    );
    v
}

fn detach_loop(_a: &dyn ArgView) -> Vec<String> {
    vec!["ioctl(/dev/loopN, LOOP_CLR_FD) (losetup -d /dev/loopN)".into()]
}

fn fsck_cleanup(a: &dyn ArgView) -> Vec<String> {
    let repair_copy = a.known("mode").as_deref() == Some("repair") && !is_true(a, "in_place");
    if repair_copy { vec![] } else { detach_loop(a) }
}

fn mount_commands(a: &dyn ArgView) -> Vec<String> {
    let dir = a
        .shown("dir")
        .unwrap_or_else(|| "<state>/mnt/<step>".into());
    let fstype = a.known("fstype").unwrap_or_else(|| "(probed)".into());
    vec![
        loop_attach(a, true),
        format!("mkdir {}", quote_word(&dir)),
        format!(
            "mount(/dev/loopN, {dir}, {fstype}, MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, \"noload\" for ext3/4, \"norecovery\" for xfs)"
        ),
        "without root, ext2/3/4 is read in userspace instead (no loop device, no mount)".into(),
    ]
}

fn mount_cleanup(a: &dyn ArgView) -> Vec<String> {
    let dir = a
        .shown("dir")
        .unwrap_or_else(|| "<state>/mnt/<step>".into());
    vec![
        format!("umount {}", quote_word(&dir)),
        "ioctl(/dev/loopN, LOOP_CLR_FD) (losetup -d /dev/loopN)".into(),
        format!("rmdir {}", quote_word(&dir)),
    ]
}

fn copy_commands(a: &dyn ArgView) -> Vec<String> {
    let from = show(a, "from");
    let to = show(a, "to");
    let mut v = vec![
        format!("walk {from} without following symlinks (O_NOFOLLOW); copy files into {to}"),
        "keep modes and times (owners when root); no device nodes, no setuid/setgid bits".into(),
        format!(
            "hash while copying; write the manifest {to}.manifest.jsonl (path, size, sha256, status)"
        ),
    ];
    if let Some(paths) = a.shown_list("paths") {
        v.insert(1, format!("only: {}", paths.join(", ")));
    }
    v
}

fn verify_commands(a: &dyn ArgView) -> Vec<String> {
    if let Some(map) = a.shown("map") {
        let mut v = vec![format!(
            "read {map}; re-read every rescued (+) area of {} and compare",
            show(a, "image")
        )];
        if let Some(src) = a.shown("source") {
            v.push(format!("with the same bytes of {src} (opened O_RDONLY)"));
        }
        v.push("list the areas not rescued".into());
        return v;
    }
    let mut v = vec![format!(
        "re-read every file listed in {} and compare size and sha256",
        show(a, "manifest")
    )];
    if let Some(src) = a.shown("source") {
        v.push(format!("compare against the source tree {src}"));
    }
    if let Some(map) = a.shown("map") {
        v.push(format!("check the image's rescued areas against {map}"));
    }
    v
}

fn snapshot_effect(a: &dyn ArgView) -> Effect {
    match a.known("backend").as_deref() {
        Some("reflink") | Some("qcow2") => Effect::Create,
        _ => Effect::Attach,
    }
}

fn snapshot_commands(a: &dyn ArgView) -> Vec<String> {
    let src = show(a, "source");
    let name = a.shown("name").unwrap_or_else(|| "salvage-snap".into());
    match a.known("backend").as_deref() {
        Some("lvm") => {
            let size = a.known("size").unwrap_or_else(|| "<size>".into());
            let argv = crate::lvm_argv::lvcreate_argv(&src, &name, &size);
            let mut line = quote_argv(&argv);
            if let Some(shown) = a.shown("size") {
                line.push_str(&format!("  ({shown})"));
            }
            if let Some(source) = a.known("source")
                && crate::lvm_argv::volume_group(&source).is_none()
            {
                line.push_str(&format!(
                    "  (refused at run: {})",
                    crate::lvm_argv::not_a_volume(&source)
                ));
            }
            vec![line]
        }
        Some("btrfs") => vec![format!(
            "btrfs subvolume snapshot -r {} {}",
            quote_word(&src),
            quote_word(
                &a.shown("dest")
                    .unwrap_or_else(|| format!("<dir of {src}>/{name}"))
            )
        )],
        Some("reflink") => vec![format!(
            "ioctl(FICLONE) {src} -> {}{}",
            show(a, "dest"),
            if is_true(a, "allow_copy") {
                " (plain copy if reflink is not supported)"
            } else {
                ""
            }
        )],
        Some("qcow2") => vec![format!(
            "qemu-img create -q -f qcow2 -b {} -F raw {}  (-F qcow2 when the base is qcow2)",
            quote_word(&src),
            quote_word(&show(a, "dest"))
        )],
        _ => vec![format!(
            "snapshot {src} with backend {}",
            show(a, "backend")
        )],
    }
}

fn snapshot_cleanup(a: &dyn ArgView) -> Vec<String> {
    let src = show(a, "source");
    let name = a.shown("name").unwrap_or_else(|| "salvage-snap".into());
    if is_true(a, "keep") {
        return vec![];
    }
    match a.known("backend").as_deref() {
        Some("lvm") => {
            let vg = a
                .known("source")
                .and_then(|s| crate::lvm_argv::volume_group(&s))
                .unwrap_or_else(|| format!("<vg of {src}>"));
            let argv = crate::lvm_argv::lvremove_argv(&vg, &name);
            vec![quote_argv(&argv)]
        }
        Some("btrfs") => vec![format!(
            "btrfs subvolume delete {}",
            quote_word(
                &a.shown("dest")
                    .unwrap_or_else(|| format!("<dir of {src}>/{name}"))
            )
        )],
        Some("reflink") | Some("qcow2") => vec![format!(
            "rm {}  (only while it is the file salvage made)",
            quote_word(&show(a, "dest"))
        )],
        _ => vec![],
    }
}

fn exec_commands(a: &dyn ArgView) -> Vec<String> {
    let argv = a.shown_list("argv").unwrap_or_default();
    let mut line = format!("execve {}", quote_argv(&argv));
    if let Some(t) = a.shown("timeout") {
        line.push_str(&format!(" (timeout {t})"));
    }
    let mut v = vec![line];
    v.extend(env_line(a));
    v
}

/// The `env:` the program gets, as the plan shows it (secrets as `(secret NAME)`).
fn env_line(a: &dyn ArgView) -> Option<String> {
    let env = a.shown_list("env").filter(|e| !e.is_empty())?;
    Some(format!("with environment: {}", quote_argv_words(&env)))
}

fn quote_argv_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| quote_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn pipe_commands(a: &dyn ArgView) -> Vec<String> {
    let argv = a.shown_list("into").unwrap_or_default();
    let mut v = vec![format!(
        "stream {} into the stdin of: {} (progress: bytes, rate, ETA)",
        show(a, "from"),
        quote_argv(&argv)
    )];
    v.extend(env_line(a));
    v
}

fn synth_commands(a: &dyn ArgView) -> Vec<String> {
    let dest = show(a, "dest");
    let mut v = vec![format!(
        "create {dest} ({} sparse) with an MBR",
        show(a, "size")
    )];
    for p in a.shown_list("partitions").unwrap_or_default() {
        v.push(format!(
            "mkfs.ext4 -d <generated files> -E offset=... {dest}  ({p})"
        ));
    }
    v.push(format!(
        "write the simulated bad areas {} to {dest}.bad",
        a.shown("bad").unwrap_or_else(|| "[]".into())
    ));
    v
}

fn none(_a: &dyn ArgView) -> Vec<String> {
    Vec::new()
}

fn read(_a: &dyn ArgView) -> Effect {
    Effect::Read
}

fn create(_a: &dyn ArgView) -> Effect {
    Effect::Create
}

fn attach(_a: &dyn ArgView) -> Effect {
    Effect::Attach
}

static OPS: &[OpSig] = &[
    OpSig {
        name: "image",
        about: "Copy a failing disk or file to an image, tolerating read errors (ddrescue-class), with a resumable GNU ddrescue mapfile.",
        args: &[
            arg(
                "source",
                Type::Device,
                "the failing disk or file; opened read-only, never written",
            ),
            arg(
                "dest",
                Type::Path,
                "the image to write (a device only with force: true)",
            ),
            opt("map", Type::Path, "the mapfile; default: DEST.map"),
            def("retries", Type::Int, "0", "retry passes over bad sectors"),
            opt(
                "sector_size",
                Type::Size,
                "sector size; detected for block devices, else 512",
            ),
            def(
                "cluster",
                Type::Size,
                "64KiB",
                "size of the large reads on good areas",
            ),
            def(
                "reverse",
                Type::Bool,
                "false",
                "copy from the end backwards",
            ),
            def(
                "direct",
                Type::Bool,
                "false",
                "O_DIRECT reads, bypassing the kernel cache",
            ),
            def(
                "sparse",
                Type::Bool,
                "false",
                "leave runs of zeros as holes in the image",
            ),
            def("start", Type::Size, "0", "the domain's first byte"),
            opt(
                "size",
                Type::Size,
                "the domain's length; default: to the end",
            ),
            opt(
                "simulate_bad",
                Type::Path,
                "test mode: a map of sectors that read as errors (a ddrescue mapfile, or START+SIZE lines); empty for none",
            ),
            pick(
                "hash",
                Some("blake3"),
                &["blake3", "sha256"],
                "the image's hash, computed while copying",
            ),
            def(
                "force",
                Type::Bool,
                "false",
                "allow a block device as dest, or resume a map made from another source path",
            ),
        ],
        one_of: &[],
        outputs: &[
            pass("dest", Type::Path, "dest", "the image"),
            out("map", Type::Path, "the mapfile"),
            out("rescued_bytes", Type::Size, "bytes rescued"),
            out(
                "rescued",
                Type::Size,
                "the same as rescued_bytes (the older name, kept for existing runbooks)",
            ),
            out("bad_bytes", Type::Size, "bytes left unreadable"),
            out("bad_areas", Type::Int, "number of unreadable areas"),
            out(
                "hash",
                Type::String,
                "the image's hash (blake3: or sha256:), computed while copying",
            ),
        ],
        value: Some("dest"),
        effect: Effect::Modify,
        effect_rule: image_effect,
        commands: image_commands,
        cleanup: none,
    },
    OpSig {
        name: "partitions",
        about: "Read the partition table (MBR with EBR chain, GPT with CRCs and backup) of an image or device, with byte offsets and probed filesystems.",
        args: &[
            arg(
                "source",
                Type::Device,
                "the image or device; opened read-only",
            ),
            opt(
                "sector_size",
                Type::Size,
                "logical sector size; default: probed (512 or 4096)",
            ),
            def(
                "scan",
                Type::Bool,
                "false",
                "also scan for filesystems when the table is missing or damaged",
            ),
        ],
        one_of: &[],
        outputs: &[
            out("table", Type::Table, "the partition table"),
            outs(
                "partition",
                Type::Partition,
                "partitions by number: partition[2] is the second",
            ),
            out("count", Type::Int, "how many partitions"),
        ],
        value: Some("table"),
        effect: Effect::Read,
        effect_rule: read,
        commands: partitions_commands,
        cleanup: none,
    },
    OpSig {
        name: "inspect",
        about: "Look inside each filesystem of a table: is it an OS root, which OS, and its newest modification time.",
        args: &[arg(
            "table",
            Type::Table,
            "the partition table to look through",
        )],
        one_of: &[],
        outputs: &[
            out(
                "newest",
                Type::Partition,
                "the OS root with the newest files",
            ),
            outs(
                "roots",
                Type::Partition,
                "every partition that looks like an OS root",
            ),
            out("report", Type::Path, "a JSON report of what was found"),
        ],
        value: Some("newest"),
        effect: Effect::Read,
        effect_rule: read,
        commands: inspect_commands,
        cleanup: inspect_cleanup,
    },
    OpSig {
        name: "fsck",
        about: "Check (or repair a copy of) a filesystem through a loop device, keeping e2fsck's exit-code bits.",
        args: &[
            opt("partition", Type::Partition, "the partition to check"),
            opt(
                "image",
                Type::Device,
                "or: an image or device, with offset and size",
            ),
            opt("offset", Type::Size, "byte offset in image (with image)"),
            opt(
                "size",
                Type::Size,
                "byte size (with image); default: to the end",
            ),
            pick(
                "mode",
                Some("check"),
                &["check", "repair"],
                "check (never writes) or repair (a copy, unless in_place)",
            ),
            def(
                "in_place",
                Type::Bool,
                "false",
                "repair the evidence itself; needs --yes",
            ),
            pick(
                "checker",
                None,
                &["e2fsck", "xfs_repair", "btrfs"],
                "force a checker; default: by filesystem",
            ),
        ],
        one_of: &[&["partition", "image"]],
        outputs: &[
            out(
                "exit_code",
                Type::Int,
                "the checker's exit code (bits kept)",
            ),
            out("clean", Type::Bool, "whether no error is left"),
            out("repaired", Type::Path, "the repaired copy, in repair mode"),
        ],
        value: None,
        effect: Effect::Modify,
        effect_rule: fsck_effect,
        commands: fsck_commands,
        cleanup: fsck_cleanup,
    },
    OpSig {
        name: "mount",
        about: "Mount a partition read-only (ro,noload,nosuid,nodev,noexec) through a loop device into a directory salvage creates.",
        args: &[
            opt("partition", Type::Partition, "the partition to mount"),
            opt(
                "image",
                Type::Device,
                "or: an image or device, with offset and size",
            ),
            opt("offset", Type::Size, "byte offset in image (with image)"),
            opt(
                "size",
                Type::Size,
                "byte size (with image); default: to the end",
            ),
            opt("dir", Type::Path, "where to mount; default: STATE/mnt/STEP"),
            opt(
                "fstype",
                Type::String,
                "the filesystem type; default: probed",
            ),
        ],
        one_of: &[&["partition", "image"]],
        outputs: &[out(
            "path",
            Type::Path,
            "the mount point (or userspace view) to read from",
        )],
        value: Some("path"),
        effect: Effect::Attach,
        effect_rule: attach,
        commands: mount_commands,
        cleanup: mount_cleanup,
    },
    OpSig {
        name: "copy",
        about: "Copy a tree out of a mount, keeping modes and times, never following symlinks out, hashing into a manifest.",
        args: &[
            arg("from", Type::Path, "the directory to copy from"),
            arg("to", Type::Path, "the directory to copy into (created)"),
            list(
                "paths",
                Type::String,
                false,
                "only these paths, relative to from",
            ),
        ],
        one_of: &[],
        outputs: &[
            pass("dest", Type::Path, "to", "the copy"),
            out(
                "manifest",
                Type::Path,
                "the manifest (JSON lines: path, size, sha256, status)",
            ),
            out("files", Type::Int, "files copied"),
            out("bytes", Type::Size, "bytes copied"),
            out(
                "unreadable",
                Type::Int,
                "files that could not be read (recorded, skipped)",
            ),
            out(
                "losses",
                Type::Int,
                "entries asked for and not recovered; above 0 the run ends completed with losses (exit 6)",
            ),
        ],
        value: Some("dest"),
        effect: Effect::Create,
        effect_rule: create,
        commands: copy_commands,
        cleanup: none,
    },
    OpSig {
        name: "verify",
        about: "Re-read copies and check them against their manifest and the source; or check an image's rescued areas (its ddrescue map) against the source.",
        args: &[
            opt("manifest", Type::Path, "the manifest a copy wrote"),
            opt(
                "source",
                Type::Path,
                "the source tree (or, with map, the source device) to compare with too",
            ),
            opt("map", Type::Path, "for an image: its ddrescue mapfile"),
            opt("image", Type::Path, "with map: the image"),
        ],
        one_of: &[&["manifest", "map"]],
        outputs: &[
            out("ok", Type::Bool, "whether everything matched"),
            out(
                "matched",
                Type::Int,
                "files (or, with map, bytes) that matched",
            ),
            out(
                "differed",
                Type::Int,
                "files (or rescued areas) that differed",
            ),
            out(
                "unreadable",
                Type::Int,
                "files (or source areas) that could not be read now",
            ),
            out("report", Type::Path, "the verification report"),
        ],
        value: Some("report"),
        effect: Effect::Read,
        effect_rule: read,
        commands: verify_commands,
        cleanup: none,
    },
    OpSig {
        name: "snapshot",
        about: "Snapshot a volume or image before touching it: LVM, btrfs, reflink copy, or qcow2 overlay.",
        args: &[
            ArgSig {
                name: "backend",
                ty: Type::String,
                list: false,
                required: true,
                default: None,
                about: "lvm, btrfs, reflink or qcow2",
                choices: &["lvm", "btrfs", "reflink", "qcow2"],
            },
            arg(
                "source",
                Type::Device,
                "the logical volume, subvolume or image file",
            ),
            opt("name", Type::String, "the snapshot's name (lvm, btrfs)"),
            opt(
                "size",
                Type::Size,
                "copy-on-write space for an LVM snapshot (-L)",
            ),
            opt(
                "dest",
                Type::Path,
                "where the snapshot goes (btrfs, reflink, qcow2)",
            ),
            def(
                "allow_copy",
                Type::Bool,
                "false",
                "reflink: fall back to a plain copy",
            ),
            def(
                "keep",
                Type::Bool,
                "false",
                "keep the snapshot at the end instead of removing it",
            ),
        ],
        one_of: &[],
        outputs: &[out(
            "path",
            Type::Device,
            "the snapshot (a device or a file)",
        )],
        value: Some("path"),
        effect: Effect::Attach,
        effect_rule: snapshot_effect,
        commands: snapshot_commands,
        cleanup: snapshot_cleanup,
    },
    OpSig {
        name: "exec",
        about: "Run a program (no shell) with a timeout, its output captured into the log. The escape hatch.",
        args: &[
            list("argv", Type::String, true, "the program and its arguments"),
            list(
                "env",
                Type::String,
                false,
                "environment variables for the program, \"NAME=VALUE\" each (interpolation allowed): how a secret reaches it without showing in its argv",
            ),
            opt("timeout", Type::Duration, "kill it after this long"),
            opt("cwd", Type::Path, "the working directory"),
            pick(
                "effect",
                Some("modify"),
                EFFECTS,
                "what it does: read, create, attach or modify",
            ),
        ],
        one_of: &[],
        outputs: &[
            out("exit_code", Type::Int, "its exit code"),
            out("stdout", Type::String, "its standard output (bounded)"),
        ],
        value: None,
        effect: Effect::Modify,
        effect_rule: declared_effect,
        commands: exec_commands,
        cleanup: none,
    },
    OpSig {
        name: "pipe",
        about: "Stream a file into a program's stdin with progress (bytes, rate, ETA), as pv does.",
        args: &[
            arg("from", Type::Path, "the file to stream"),
            list("into", Type::String, true, "the program and its arguments"),
            list(
                "env",
                Type::String,
                false,
                "environment variables for the program, \"NAME=VALUE\" each (interpolation allowed): how a secret reaches it without showing in its argv",
            ),
            opt("timeout", Type::Duration, "kill it after this long"),
            pick(
                "effect",
                Some("modify"),
                EFFECTS,
                "what it does: read, create, attach or modify",
            ),
        ],
        one_of: &[],
        outputs: &[
            out("bytes", Type::Size, "bytes streamed"),
            out("exit_code", Type::Int, "its exit code"),
        ],
        value: None,
        effect: Effect::Modify,
        effect_rule: declared_effect,
        commands: pipe_commands,
        cleanup: none,
    },
    OpSig {
        name: "synth",
        about: "Build a synthetic disk for demos and runbook tests, without root: an MBR, ext filesystems full of files (an old and a live OS root if asked), and a map of simulated bad sectors.",
        args: &[
            arg("dest", Type::Path, "the image to create"),
            arg("size", Type::Size, "the disk's size"),
            list(
                "partitions",
                Type::String,
                true,
                "each START+SIZE FSTYPE [root|oldroot|data], e.g. \"1MiB+20MiB ext4 root\"",
            ),
            def("files", Type::Int, "50", "data files per partition"),
            list(
                "bad",
                Type::String,
                false,
                "simulated bad areas, each OFFSET+SIZE in bytes",
            ),
            def("seed", Type::Int, "1", "seed of the generated contents"),
        ],
        one_of: &[],
        outputs: &[
            pass("path", Type::Path, "dest", "the image"),
            out(
                "bad_map",
                Type::Path,
                "the simulated bad areas, as a ddrescue mapfile (for image's simulate_bad)",
            ),
            out("bad_bytes", Type::Size, "bytes made unreadable"),
            out("count", Type::Int, "partitions written"),
            out(
                "files",
                Type::Path,
                "JSON lines of every generated file: partition, path, sha256",
            ),
        ],
        value: Some("path"),
        effect: Effect::Create,
        effect_rule: create,
        commands: synth_commands,
        cleanup: none,
    },
];
