#!/usr/bin/env bash
# Copy with a manifest, and verify, beside the tools people would use instead, alternating,
# medians. The data set: 50,000 small files (1 to 8 KiB, 500 directories) + 20 x 50 MiB of
# random bytes, in the page cache. Rows:
#   copy:   `cp -a SRC DST && sync`  vs  `salvage copy SRC DST && sync` (manifest with BLAKE3)
#   verify: `b3sum -c SUMS` (of the copy)  vs  `salvage verify --no-source MANIFEST`
# Usage: ROUNDS=5 BENCH_DIR=/var/tmp/salvage-bench bench/copy.sh   (needs b3sum: it is
# installed with `cargo install b3sum` when missing). ONLY=verify: the verify row alone, on
# one copy made first (when the disk's write speed swings too much for the copy row to say
# anything about verify).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rounds=${ROUNDS:-5}
dir=${BENCH_DIR:-/var/tmp/salvage-bench-copy}
command -v b3sum > /dev/null || cargo install -q b3sum
cargo build --release -q --bin salvage
bin=$PWD/target/release/salvage
mkdir -p "$dir"
src=$dir/src
if [ ! -e "$src/.complete" ]; then
  rm -rf "$src"
  python3 - "$src" <<'PY'
import os, random, sys
src = sys.argv[1]
rng = random.Random(19)
for d in range(500):
    p = os.path.join(src, f"d{d:03}")
    os.makedirs(p)
    for f in range(100):
        with open(os.path.join(p, f"f{f:03}"), "wb") as fh:
            fh.write(rng.randbytes(rng.randint(1024, 8192)))
for i in range(20):
    with open(os.path.join(src, f"big{i:02}"), "wb") as fh:
        fh.write(os.urandom(50 << 20))
PY
  touch "$src/.complete"
fi
cat "$(find "$src" -type f | head -1)" > /dev/null
tar cf - "$src" > /dev/null  # into the page cache
# Each copy goes into a filesystem made for it (as root: a new ext4 image, loop-mounted), so
# both start on the same footing: after 50,000 files are deleted, ext4 skips their inodes
# when it allocates new ones (its `recently_deleted` check: 5 s, or 300 s while the inode
# table block is still dirty), which made whichever copy came right after a delete up to 4x
# slower on this machine, cp and salvage alike. Not root: plain directories.
fresh() {
  local m=$dir/$1
  if mountpoint -q "$m"; then umount "$m"; fi
  rm -rf "$m" "$dir/$1.img"
  mkdir -p "$m"
  if [ "$(id -u)" = 0 ]; then
    truncate -s 4G "$dir/$1.img"
    mkfs.ext4 -q -F "$dir/$1.img"
    mount -o loop "$dir/$1.img" "$m"
  fi
}
settle() { sync; }
clean() { fresh cpfs; fresh svfs; sync; }
trap 'for m in cpfs svfs; do mountpoint -q "$dir/$m" && umount "$dir/$m"; done; rm -f "$dir/cpfs.img" "$dir/svfs.img"' EXIT
if [ "${ONLY:-}" = verify ]; then
  clean
  "$bin" copy "$src" "$dir/svfs/t" > /dev/null
  (cd "$dir/svfs/t" && find . -type f -print0 | sort -z | xargs -0 b3sum > "$dir/sums")
  b3_times=(); ve_times=()
  for r in $(seq "$rounds"); do
    b3_times+=("$(secs sh -c "cd '$dir/svfs/t' && b3sum -c '$dir/sums' > /dev/null")")
    ve_times+=("$(secs "$bin" verify --no-source "$dir/svfs/t.manifest.jsonl")")
    echo "round $r: b3sum -c ${b3_times[-1]} verify ${ve_times[-1]}" >&2
  done
  clean
  b3_m=$(median "${b3_times[@]}"); ve_m=$(median "${ve_times[@]}")
  printf '| verify that copy (`--no-source`) | %s s | `b3sum -c` %s s | %.2fx | %s |\n' "$ve_m" "$b3_m" "$(echo "$ve_m / $b3_m" | bc -l)" "$rounds"
  echo "verify: ${ve_times[*]}; b3sum -c: ${b3_times[*]}"
  exit 0
fi
cp_times=(); sv_times=(); b3_times=(); ve_times=()
for r in $(seq "$rounds"); do
  # Which copy goes first alternates from round to round (the disk's speed drifts).
  clean
  if (( r % 2 )); then
    cp_times+=("$(secs sh -c "cp -a '$src' '$dir/cpfs/t' && sync")")
    settle
    sv_times+=("$(secs sh -c "'$bin' copy '$src' '$dir/svfs/t' && sync")")
  else
    sv_times+=("$(secs sh -c "'$bin' copy '$src' '$dir/svfs/t' && sync")")
    settle
    cp_times+=("$(secs sh -c "cp -a '$src' '$dir/cpfs/t' && sync")")
  fi
  (cd "$dir/svfs/t" && find . -type f -print0 | sort -z | xargs -0 b3sum > "$dir/sums")
  b3_times+=("$(secs sh -c "cd '$dir/svfs/t' && b3sum -c '$dir/sums'")")
  ve_times+=("$(secs "$bin" verify --no-source "$dir/svfs/t.manifest.jsonl")")
  echo "round $r: cp -a+sync ${cp_times[-1]} salvage copy+sync ${sv_times[-1]} b3sum -c ${b3_times[-1]} verify ${ve_times[-1]}" >&2
done
clean
cp_m=$(median "${cp_times[@]}"); sv_m=$(median "${sv_times[@]}")
b3_m=$(median "${b3_times[@]}"); ve_m=$(median "${ve_times[@]}")
echo "| task | salvage (median) | peer (median) | ratio | rounds |"
echo "|---|---:|---:|---:|---:|"
printf '| copy 50,000 small files + 20 x 50 MiB, then `sync` | %s s | `cp -a` %s s | %.2fx | %s |\n' "$sv_m" "$cp_m" "$(echo "$sv_m / $cp_m" | bc -l)" "$rounds"
printf '| verify that copy (`--no-source`) | %s s | `b3sum -c` %s s | %.2fx | %s |\n' "$ve_m" "$b3_m" "$(echo "$ve_m / $b3_m" | bc -l)" "$rounds"
echo "salvage copy: ${sv_times[*]}; cp -a: ${cp_times[*]}; verify: ${ve_times[*]}; b3sum -c: ${b3_times[*]}"
