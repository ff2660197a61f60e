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
clean() { rm -rf "$dir/cp" "$dir/sv" "$dir/sv.manifest.jsonl"; sync; }
if [ "${ONLY:-}" = verify ]; then
  clean
  "$bin" copy "$src" "$dir/sv" > /dev/null
  (cd "$dir/sv" && find . -type f -print0 | sort -z | xargs -0 b3sum > "$dir/sums")
  b3_times=(); ve_times=()
  for r in $(seq "$rounds"); do
    b3_times+=("$(secs sh -c "cd '$dir/sv' && b3sum -c '$dir/sums' > /dev/null")")
    ve_times+=("$(secs "$bin" verify --no-source "$dir/sv.manifest.jsonl")")
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
  clean
  cp_times+=("$(secs sh -c "cp -a '$src' '$dir/cp' && sync")")
  clean
  sv_times+=("$(secs sh -c "'$bin' copy '$src' '$dir/sv' && sync")")
  (cd "$dir/sv" && find . -type f -print0 | sort -z | xargs -0 b3sum > "$dir/sums")
  b3_times+=("$(secs sh -c "cd '$dir/sv' && b3sum -c '$dir/sums'")")
  ve_times+=("$(secs "$bin" verify --no-source "$dir/sv.manifest.jsonl")")
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
