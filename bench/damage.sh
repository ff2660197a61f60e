#!/usr/bin/env bash
# Damage-map benchmark: `salvage damage` against debugfs, batched, on one image, in one run.
#
#   bench/damage.sh            # no root needed; mke2fs and debugfs (e2fsprogs), python3
#
# The image: a 1 GiB ext4 made by mke2fs -d from 20,000 files (1-48 KiB, 200 directories);
# 2,000 unreadable 512-byte sectors placed in the data of 2,000 files picked at random (seed
# fixed), written as a simulated bad map (START+SIZE lines, read as a ddrescue map would be).
# The peer: debugfs `icheck` over every block of those sectors in one call, then `ncheck` over
# the inodes it returns in one call (stronger than ddrutility's ddru_findbad, which calls
# debugfs once per area). Each tool runs $ROUNDS times, alternating; the median wall time
# counts. The answers are compared: the set of inodes hit and their paths must agree (salvage
# lists apart the files hit only past their end, whose data the image holds whole).
# Environment: BENCH_DIR (default /var/tmp/salvage-bench-damage), ROUNDS (default 7).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-/var/tmp/salvage-bench-damage}
ROUNDS=${ROUNDS:-7}
command -v debugfs >/dev/null || { echo "bench/damage.sh: install e2fsprogs (debugfs)" >&2; exit 1; }

cargo build --release -q -p salvage
SALVAGE=$PWD/target/release/salvage
mkdir -p "$BENCH_DIR"

SALVAGE="$SALVAGE" BENCH_DIR="$BENCH_DIR" ROUNDS="$ROUNDS" python3 - <<'PY'
import json, os, random, statistics, subprocess, time

d = os.environ["BENCH_DIR"]
salvage = os.environ["SALVAGE"]
rounds = int(os.environ["ROUNDS"])
img = os.path.join(d, "fs.img")
bad = os.path.join(d, "bad.txt")
rng = random.Random(14)

if not os.path.exists(img):
    tree = os.path.join(d, "tree")
    subprocess.run(["rm", "-rf", tree], check=True)
    files = []
    for i in range(20000):
        sub = os.path.join(tree, f"d{i % 200:03d}")
        os.makedirs(sub, exist_ok=True)
        p = os.path.join(sub, f"file-{i:05d}")
        with open(p, "wb") as f:
            f.write(rng.randbytes(rng.randint(1, 48) * 1024))
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, img, "1G"], check=True)
    subprocess.run(["rm", "-rf", tree], check=True)

# 2,000 files, one sector in a random data block of each: their blocks in one debugfs call.
names = [f"/d{i % 200:03d}/file-{i:05d}" for i in range(20000)]
pick = random.Random(15)  # apart from the image's, so a first run picks what later ones do
picked = pick.sample(names, 2000)
cmds = os.path.join(d, "blocks.cmd")
with open(cmds, "w") as f:
    f.writelines(f"blocks {p}\n" for p in picked)
out = subprocess.run(["debugfs", "-f", cmds, img], capture_output=True, text=True, check=True).stdout
lines = [l for l in out.splitlines() if l and not l.startswith("debugfs")]
assert len(lines) == 2000, len(lines)
sectors = []
for l in lines:
    block = pick.choice([int(b) for b in l.split()])
    sectors.append(block * 4096 + pick.randrange(8) * 512)
with open(bad, "w") as f:
    f.writelines(f"{s}+512\n" for s in sorted(sectors))
blocks = sorted({s // 4096 for s in sectors})

def run_salvage():
    r = subprocess.run([salvage, "damage", img, "--map", bad, "--json"], capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    return json.loads(r.stdout)

def run_debugfs():
    r = subprocess.run(["debugfs", "-R", "icheck " + " ".join(map(str, blocks)), img],
                       capture_output=True, text=True, check=True)
    inodes = sorted({int(l.split("\t")[1]) for l in r.stdout.splitlines()[1:]
                     if "\t" in l and l.split("\t")[1].strip().isdigit()})
    r = subprocess.run(["debugfs", "-R", "ncheck " + " ".join(map(str, inodes)), img],
                       capture_output=True, text=True, check=True)
    paths = {}
    for l in r.stdout.splitlines()[1:]:
        i, p = l.split("\t", 1)
        paths.setdefault(int(i), set()).add(p)
    return paths

times = {"salvage": [], "debugfs": []}
for _ in range(rounds):
    for name, fn in (("salvage", run_salvage), ("debugfs", run_debugfs)):
        t = time.perf_counter()
        answer = fn()
        times[name].append(time.perf_counter() - t)
        if name == "salvage":
            # Files whose hit sectors all lie past their end lose nothing (the image holds
            # every byte of them): salvage lists them apart, debugfs (by block) with the rest.
            got = {f["inode"]: set(f["paths"]) for f in answer["files"] + answer["no_data_lost"]}
            slack = len(answer["no_data_lost"])
        else:
            want = answer
assert got == want, f"answers differ: {len(got)} vs {len(want)} inodes"
ms = {k: statistics.median(v) for k, v in times.items()}
print(f"image: 1 GiB ext4, 20,000 files; 2,000 unreadable sectors in {len(got)} files "
      f"({len(got) - slack} with data lost, {slack} hit only past their end)")
print(f"salvage damage --json         median {ms['salvage']:.3f} s  ({', '.join(f'{t:.3f}' for t in times['salvage'])})")
print(f"debugfs icheck + ncheck       median {ms['debugfs']:.3f} s  ({', '.join(f'{t:.3f}' for t in times['debugfs'])})")
print(f"salvage is {ms['debugfs'] / ms['salvage']:.1f}x faster; same inodes and paths")
PY
