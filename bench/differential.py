#!/usr/bin/env python3
"""Differential check of salvage's partition and filesystem readers against blkid -p and partx.

Makes N random disk images with the real tools (sfdisk for dos and gpt tables with logical
partitions, mkfs.vfat FAT12/16/32, mke2fs ext2/3/4, mkfs.xfs, mkfs.btrfs, mkntfs, mkfs.exfat,
mkswap, cryptsetup luksFormat, or nothing), sometimes a filesystem alone with no table,
sometimes a damaged primary GPT header, then compares, for each image:

  - the table: `blkid -p` ID_PART_TABLE_TYPE (or the whole-image filesystem) with salvage's label;
  - the partitions: `partx --show -g -o NR,START,SECTORS,TYPE` with salvage's number/start/size/type;
  - each partition's filesystem: `blkid -p --offset --size` TYPE, LABEL (raw bytes), UUID, VERSION
    with salvage's.

Prints each disagreement and a summary line; exits 1 when any image disagrees.

    python3 bench/differential.py --count 200 --seed 1 [--salvage target/release/salvage]

Needs root only for nothing: images are sparse files under --dir (default /var/tmp/salvage-diff).
"""
import argparse, json, os, random, shutil, subprocess, sys, uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates",
                                "partition", "tests", "fixtures", "partitions"))
from make import partx  # noqa: E402  (the corpus builder's reading of partx --show)

MiB = 1 << 20

# name -> (minimum size in MiB, maker(path, size_mib, rng) -> None)
def mk_vfat(bits):
    def make(path, size, rng):
        label = rng.choice(["", "BOOT", "DATA 2", "NO NAME", "USB_STICK", "ESP", "lower"])
        args = ["mkfs.vfat", "-F", str(bits), "-i", "%08X" % rng.getrandbits(32)]
        if label:
            args += ["-n", label]
        run(args + [path])
    return make


def mk_ext(kind):
    def make(path, size, rng):
        args = ["mke2fs", "-q", "-F", "-t", kind, "-U", str(uuid.UUID(int=rng.getrandbits(128)))]
        label = rng.choice(["", "root", "home", "a-long-label-16c"])
        if label:
            args += ["-L", label]
        if rng.random() < 0.3:
            args += ["-b", "1024"]
        run(args + [path])
    return make


def mk_xfs(path, size, rng):
    run(["mkfs.xfs", "-q", "-f", "-L", rng.choice(["xroot", "data"]), path])


def mk_btrfs(path, size, rng):
    run(["mkfs.btrfs", "-q", "-f", "-L", rng.choice(["pool", "btr"]), path])


def mk_ntfs(path, size, rng):
    run(["mkntfs", "-q", "-F", "-f", "-L", rng.choice(["Windows", "DATA", "Ünïcode"]), path])


def mk_exfat(path, size, rng):
    run(["mkfs.exfat", "-L", rng.choice(["EXF", "camera", "Ünï €"]), path])


def mk_swap(path, size, rng):
    args = ["mkswap", "-U", str(uuid.UUID(int=rng.getrandbits(128)))]
    if rng.random() < 0.5:
        args += ["-L", "swp"]
    run(args + [path])


def mk_luks(path, size, rng):
    key = path + ".key"
    with open(key, "w") as f:
        f.write("correct horse")
    kind = rng.choice(["luks1", "luks2"])
    label = ["--label", "vault"] if kind == "luks2" and rng.random() < 0.5 else []
    run(["cryptsetup", "-q", "luksFormat", "--type", kind, *label,
         "--pbkdf-force-iterations", "1000", "--pbkdf", "pbkdf2", "--key-file", key, path])
    os.unlink(key)


def mk_none(path, size, rng):
    pass


def a_tree(path):
    tree = path + ".d"
    os.makedirs(os.path.join(tree, "etc"), exist_ok=True)
    with open(os.path.join(tree, "etc", "fstab"), "w") as f:
        f.write("# a file\n")
    return tree


def mk_tool(*args):
    """A maker from a command line: {p} is the image, {t} a small directory tree."""
    def make(path, size, rng):
        tree = a_tree(path)
        run([a.format(p=path, t=tree) for a in args])
        shutil.rmtree(tree)
    return make


def mk_lvm(path, size, rng):
    loop = run(["losetup", "-f", "--show", path]).decode().strip()
    try:
        run(["pvcreate", "-q", "-f", loop])
    finally:
        run(["losetup", "-d", loop])


def mk_mformat(path, size, rng):
    os.unlink(path)
    run(["mformat", "-C", "-i", path, "-f", "1440", "-v", "FLOPPY", "::"])


MAKERS = {
    "vfat12": (2, mk_vfat(12)),
    "vfat16": (16, mk_vfat(16)),
    "vfat32": (40, mk_vfat(32)),
    "ext2": (2, mk_ext("ext2")),
    "ext3": (8, mk_ext("ext3")),
    "ext4": (8, mk_ext("ext4")),
    "xfs": (300, mk_xfs),
    "btrfs": (128, mk_btrfs),
    "ntfs": (4, mk_ntfs),
    "exfat": (4, mk_exfat),
    "swap": (1, mk_swap),
    "luks": (20, mk_luks),
    "none": (1, mk_none),
}

# Made by tools that may be missing (bench only): salvage reads LVM2_member and FAT; the rest it
# does not claim to read, so for those it must name nothing rather than something else.
FOREIGN = {
    "lvm": (8, mk_lvm, "pvcreate"),
    "mformat": (2, mk_mformat, "mformat"),
    "f2fs": (64, mk_tool("mkfs.f2fs", "-q", "-f", "-l", "f2", "{p}"), "mkfs.f2fs"),
    "jfs": (32, mk_tool("mkfs.jfs", "-q", "-L", "jfs", "{p}"), "mkfs.jfs"),
    "reiserfs": (40, mk_tool("mkreiserfs", "-q", "-f", "-l", "reis", "{p}"), "mkreiserfs"),
    "udf": (8, mk_tool("mkudffs", "--label=udf", "{p}"), "mkudffs"),
    "squashfs": (1, mk_tool("mksquashfs", "{t}", "{p}", "-noappend", "-quiet"), "mksquashfs"),
    "iso9660": (1, mk_tool("xorriso", "-as", "mkisofs", "-quiet", "-V", "CDROM", "-o", "{p}", "{t}"), "xorriso"),
    "minix": (4, mk_tool("mkfs.minix", "{p}"), "mkfs.minix"),
    "cramfs": (1, mk_tool("mkfs.cramfs", "{t}", "{p}"), "mkfs.cramfs"),
    "bfs": (2, mk_tool("mkfs.bfs", "{p}"), "mkfs.bfs"),
}
for _name, (_size, _make, _tool) in FOREIGN.items():
    if shutil.which(_tool):
        MAKERS[_name] = (_size, _make)

# The types salvage claims to read (docs/partitions-json.md): for these the answer must match.
CLAIMED = {"ext2", "ext3", "ext4", "jbd", "xfs", "btrfs", "vfat", "exfat", "ntfs", "swap",
           "swsuspend", "LVM2_member", "crypto_LUKS", "linux_raid_member", "hpfs", "befs", "ufs",
           "BitLocker"}

DOS_TYPE = {"vfat12": "1", "vfat16": "6", "vfat32": "c", "ntfs": "7", "exfat": "7",
            "swap": "82", "none": "83"}


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw).stdout


def make_fs(kind, path, size_mib, rng):
    with open(path, "wb") as f:
        f.truncate(size_mib * MiB)
    MAKERS[kind][1](path, size_mib, rng)


def place(image, fs_file, offset):
    run(["dd", f"if={fs_file}", f"of={image}", "bs=1M", "conv=notrunc,sparse",
         f"seek={offset}", "oflag=seek_bytes", "status=none"])


def random_image(path, rng, work):
    """Writes a random image; returns a description."""
    kinds = list(MAKERS)
    table = rng.choice(["dos", "dos", "gpt", "gpt", "none"])
    if table == "none":
        kind = rng.choice([k for k in kinds if k != "none"])
        size = MAKERS[kind][0] + rng.randint(0, 8)
        make_fs(kind, path, size, rng)
        return {"table": "none", "fs": [kind]}
    count = rng.randint(1, 5)
    parts = []
    for _ in range(count):
        kind = rng.choice(kinds)
        parts.append((kind, MAKERS[kind][0] + rng.randint(0, 6)))
    total = sum(s for _, s in parts) + 4 * len(parts) + 16
    with open(path, "wb") as f:
        f.truncate(total * MiB)
    lines = [f"label: {table}"]
    if table == "dos":
        lines.append("unit: sectors")
        logical = count > 3 or (count > 1 and rng.random() < 0.4)
        if logical:
            # sfdisk makes the lines after the extended one logical only when it is the 4th
            while len(parts) < 4:
                parts.insert(0, ("none", 1))
            primaries = parts[:3]
        else:
            primaries = parts
        start = 2048
        for kind, size in primaries:
            lines.append(f"start={start}, size={size * 2048}, type={DOS_TYPE.get(kind, '83')}")
            start += size * 2048 + 2048
        if logical:
            rest = parts[3:]
            ext_size = sum(s * 2048 + 4096 for _, s in rest) + 4096
            lines.append(f"start={start}, size={ext_size}, type=5")
            for kind, size in rest:
                lines.append(f"size={size * 2048}, type={DOS_TYPE.get(kind, '83')}")
    else:
        start = 2048
        for kind, size in parts:
            lines.append(f"start={start}, size={size * 2048}")
            start += size * 2048 + 2048
    with open(path, "r+b") as f:
        f.truncate((total + 8) * MiB)
    r = subprocess.run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", path],
                       input="\n".join(lines) + "\n", text=True, capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"sfdisk refused {lines}: {r.stderr.strip()}")
    rows = partx(path) or []
    data = [r for r in rows if r["type"] not in ("0x5", "0xf", "0x85")]
    for (kind, size), row in zip(parts, data):
        fs_file = os.path.join(work, "fs.tmp")
        make_fs(kind, fs_file, min(size, row["sectors"] // 2048), rng)
        place(path, fs_file, row["start"] * 512)
        os.unlink(fs_file)
    damaged = False
    if table == "gpt" and rng.random() < 0.15:
        with open(path, "r+b") as f:  # break the primary header's CRC: the backup must be used
            f.seek(512 + 100)
            f.write(b"\xff\xff")
        damaged = True
    return {"table": table, "fs": [k for k, _ in parts], "damaged_primary": damaged}


def blkid(path, offset=None, size=None):
    base = ["blkid", "-p"]
    if offset is not None:
        base += ["--offset", str(offset), "--size", str(size)]
    r = subprocess.run(base + ["-o", "udev", path], capture_output=True)
    out = {}
    for line in r.stdout.decode("ascii", "replace").splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    raw = subprocess.run(base + ["-o", "value", "-s", "LABEL", path], capture_output=True).stdout
    if raw.rstrip(b"\n"):
        out["LABEL_HEX"] = raw.rstrip(b"\n").hex()
    return out


def label_hex(label):
    out, i = bytearray(), 0
    while i < len(label):
        if label.startswith("\\x", i):
            out.append(int(label[i + 2:i + 4], 16))
            i += 4
        else:
            out += label[i].encode()
            i += 1
    return out.hex()


def fs_view(fs):
    if fs is None:
        return {}
    v = {"TYPE": fs["type"]}
    if fs.get("label"):
        v["LABEL_HEX"] = label_hex(fs["label"])
    if fs.get("uuid"):
        v["UUID"] = fs["uuid"]
    return v


def blkid_view(b):
    v = {}
    if "ID_FS_TYPE" in b:
        v["TYPE"] = b["ID_FS_TYPE"]
    if "LABEL_HEX" in b:
        v["LABEL_HEX"] = b["LABEL_HEX"]
    if "ID_FS_UUID" in b:
        v["UUID"] = b["ID_FS_UUID"]
    return v


def same_fs(theirs, mine):
    """blkid's answer against salvage's: equal, or blkid names a type salvage does not claim to
    read and salvage names nothing."""
    if theirs == mine:
        return True
    return theirs.get("TYPE") not in CLAIMED and not mine


def compare(path, salvage):
    r = subprocess.run([salvage, "partitions", path, "--json"], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        return [f"salvage exited {r.returncode}: {r.stderr.strip()[:200]}"]
    try:
        t = json.loads(r.stdout)
    except ValueError:
        return [f"salvage printed no JSON: {r.stderr.strip()[:200]}"]
    problems = []
    whole = blkid(path)
    want_label = whole.get("ID_PART_TABLE_TYPE", "none")
    if whole.get("ID_FS_TYPE") == "exfat" and want_label == "dos" and not partx(path):
        # libblkid 2.38 reports an empty dos table beside exFAT at byte 0; 2.39 ignores it
        # (its dos prober learned exFAT's boot sector), as salvage does.
        want_label = "none"
    if "ID_FS_TYPE" in whole and want_label == "none":
        if not same_fs(blkid_view(whole), fs_view(t.get("filesystem"))):
            problems.append(f"whole image: blkid {blkid_view(whole)}, salvage {fs_view(t.get('filesystem'))}")
    if t["label"] != want_label:
        problems.append(f"table: blkid {want_label}, salvage {t['label']}")
    rows = partx(path) or []
    mine = [{"nr": p["number"], "start": p["start"], "sectors": p["size"]} for p in t["partitions"]]
    theirs = [{"nr": x["nr"], "start": x["start"], "sectors": x["sectors"]} for x in rows]
    if mine != theirs:
        problems.append(f"partitions: partx {theirs}, salvage {mine}")
    by_nr = {p["number"]: p for p in t["partitions"]}
    for x in rows:
        p = by_nr.get(x["nr"])
        if p is None or p.get("role") == "extended" or x["type"] in ("0x5", "0xf", "0x85"):
            continue
        b = blkid(path, x["start"] * 512, x["sectors"] * 512)
        if not same_fs(blkid_view(b), fs_view(p.get("filesystem"))):
            problems.append(f"partition {x['nr']}: blkid {blkid_view(b)}, salvage {fs_view(p.get('filesystem'))}")
    problems += compare_scan(path, salvage, t)
    return problems


def compare_scan(path, salvage, table):
    """--scan: every claimed filesystem blkid finds at a partition start is a hit there, and
    every hit names what blkid -p finds at that offset."""
    r = subprocess.run([salvage, "partitions", path, "--json", "--scan"], capture_output=True,
                       text=True)
    try:
        hits = json.loads(r.stdout).get("scan", [])
    except ValueError:
        return [f"salvage --scan printed no JSON: {r.stderr.strip()[:200]}"]
    problems = []
    size = os.path.getsize(path)
    by_offset = {h["offset"]: h for h in hits}
    for p in table["partitions"]:
        fs = p.get("filesystem")
        if fs and fs["type"] in CLAIMED and p["offset"] not in by_offset:
            problems.append(f"--scan: no hit at partition {p['number']} (byte {p['offset']}, {fs['type']})")
    for h in hits:
        extent = h.get("size_bytes") or size - h["offset"]
        b = blkid(path, h["offset"], min(extent, size - h["offset"]))
        mine = fs_view(h.get("filesystem"))
        if mine.get("TYPE") != blkid_view(b).get("TYPE") and not h.get("ambivalent"):
            problems.append(f"--scan hit at byte {h['offset']} ({h['found_by']}): salvage {mine}, blkid {blkid_view(b)}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", default="/var/tmp/salvage-diff")
    ap.add_argument("--salvage", default="target/release/salvage")
    ap.add_argument("--keep", action="store_true", help="keep the images that disagree")
    a = ap.parse_args()
    for tool in ["blkid", "partx", "sfdisk", "mkfs.vfat", "mke2fs", "mkfs.xfs", "mkfs.btrfs",
                 "mkntfs", "mkfs.exfat", "mkswap", "cryptsetup"]:
        if shutil.which(tool) is None:
            sys.exit(f"differential.py: {tool} is not installed (see .ci/run for the packages)")
    os.makedirs(a.dir, exist_ok=True)
    rng = random.Random(a.seed)
    bad = 0
    kinds = {}
    for i in range(a.count):
        path = os.path.join(a.dir, f"img{i:04d}.img")
        desc = random_image(path, rng, a.dir)
        for k in desc["fs"]:
            kinds[k] = kinds.get(k, 0) + 1
        problems = compare(path, os.path.abspath(a.salvage))
        if problems:
            bad += 1
            print(f"{path} {json.dumps(desc)}")
            for p in problems:
                print(f"    {p}")
        if not (problems and a.keep):
            os.unlink(path)
    print("made: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print(f"{a.count} images (seed {a.seed}): {a.count - bad} agree with blkid -p and partx, {bad} disagree")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
