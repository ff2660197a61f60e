#!/usr/bin/env bash
# Imaging on failing sources: salvage vs GNU ddrescue, each on a fresh FUSE failing disk
# (testkit's faildisk: direct I/O, counts every read request and those touching a bad sector).
#
#   sudo ROUNDS=3 bench/image-faults.sh [PATTERN...]    # root (FUSE) and ddrescue
#
# Patterns (as issue 13 names them):
#   scattered  256 MiB, 1000 bad sectors scattered at random (fixed seed)
#   zone       256 MiB, one 16 MiB bad zone
#   ends       64 MiB, bad first and last sectors
#   odd        64 MiB + 1000 bytes (not a multiple of 512), bad sectors near the odd end
#   slow       64 MiB, 2 MiB slow region (0.2 s per 64 KiB read) and 4 bad sectors
#   flaky      64 MiB, 200 sectors that fail once, then read
# For each pattern both tools run ROUNDS times, alternating which goes first; the table shows
# median wall time, rescued bytes (from the map), the failing disk's read requests that touched
# a bad sector, and whether the two images are identical.
# Environment: BENCH_DIR (default /var/tmp/salvage-faults), ROUNDS (default 3),
# SALVAGE_ARGS (extra salvage options, e.g. "--hash none"), DDRESCUE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/image-lib.sh

BENCH_DIR=${BENCH_DIR:-/var/tmp/salvage-faults}
ROUNDS=${ROUNDS:-3}
SALVAGE_ARGS=${SALVAGE_ARGS:-}
DDRESCUE_ARGS=${DDRESCUE_ARGS:-}
[ "$(id -u)" = 0 ] || { echo "bench/image-faults.sh: needs root for the FUSE failing disk" >&2; exit 1; }
command -v ddrescue >/dev/null || { echo "bench/image-faults.sh: install GNU ddrescue (gddrescue)" >&2; exit 1; }
PATTERNS=${*:-scattered zone ends odd slow flaky}

cargo build --release -q -p salvage -p salvage-testkit
SALVAGE=$PWD/target/release/salvage
FAILDISK=$PWD/target/release/faildisk
mkdir -p "$BENCH_DIR/mnt"
cd "$BENCH_DIR"


make_pattern() { # name -> backing.NAME, args.NAME
  local name=$1 mib=$((1 << 20))
  local args=()
  case $name in
    scattered)
      head -c $((256 * mib)) /dev/urandom > backing.$name
      awk 'BEGIN { srand(13); for (i = 0; i < 1000; i++) printf "%d+512\n", int(rand() * 524288) * 512 }' > bad.$name
      args=(--bad-file "$PWD/bad.$name") ;;
    zone)
      head -c $((256 * mib)) /dev/urandom > backing.$name
      args=(--bad $((100 * mib))+$((16 * mib))) ;;
    ends)
      head -c $((64 * mib)) /dev/urandom > backing.$name
      args=(--bad 0+512 --bad $((64 * mib - 512))+512) ;;
    odd)
      head -c $((64 * mib + 1000)) /dev/urandom > backing.$name
      args=(--bad 0+512 --bad $((32 * mib + 4096))+512 --bad $((64 * mib + 512))+100 --bad $((64 * mib - 1024))+512) ;;
    slow)
      head -c $((64 * mib)) /dev/urandom > backing.$name
      args=(--slow $((20 * mib))+$((2 * mib)):200 --bad $((5 * mib))+512 --bad $((23 * mib))+512 --bad $((40 * mib))+4096 --bad $((63 * mib))+512) ;;
    flaky)
      head -c $((64 * mib)) /dev/urandom > backing.$name
      for i in $(seq 0 199); do args+=(--flaky $(((i * 331 + 7) * 512 * 61 % (64 * mib) / 512 * 512))+512:1); done ;;
  esac
  printf '%s\n' "${args[@]}" > args.$name
}

run_one() { # tool pattern round
  local tool=$1 name=$2 round=$3 out=out.$1
  rm -f "$out".img "$out".map "$out".stats
  mapfile -t fargs < args.$name
  "$FAILDISK" --backing "backing.$name" --mountpoint mnt --stats "$out.stats" "${fargs[@]}" > fd.out 2> fd.err &
  local fpid=$!
  for _ in $(seq 200); do grep -q ready fd.out 2>/dev/null && break; sleep 0.05; done
  local t0 t1
  t0=$(now)
  case $tool in
    salvage) "$SALVAGE" image mnt/disk.img "$out.img" --map "$out.map" -q $SALVAGE_ARGS > /dev/null 2> "$out.err" || true ;;
    ddrescue) ddrescue -q $DDRESCUE_ARGS mnt/disk.img "$out.img" "$out.map" > /dev/null 2> "$out.err" || true ;;
  esac
  t1=$(now)
  kill -INT $fpid; wait $fpid || true
  T[$tool]="${T[$tool]:-} $(elapsed "$t0" "$t1")"
  B[$tool]=$(awk '$1 == "reads_of_bad" { print $2 }' "$out.stats")
  A[$tool]=$(awk '$1 == "reads_ok" { ok = $2 } $1 == "reads_failed" { f = $2 } END { print ok + f }' "$out.stats")
  R[$tool]=$(rescued "$out.map")
}

printf '%-10s %-9s %9s %12s %14s %12s\n' pattern tool "time (s)" "rescued" "reads of bad" "all reads"
for name in $PATTERNS; do
  make_pattern "$name"
  declare -A T=() B=() R=() A=()
  for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="salvage ddrescue"; else order="ddrescue salvage"; fi
    for tool in $order; do run_one "$tool" "$name" "$round"; done
  done
  for tool in salvage ddrescue; do
    printf '%-10s %-9s %9s %12s %14s %12s\n' "$name" "$tool" "$(echo ${T[$tool]} | median_rows)" "${R[$tool]}" "${B[$tool]}" "${A[$tool]}"
  done
  # ddrescue does not extend its image over an unrescued tail: compare what both hold.
  n=$(stat -c %s out.salvage.img out.ddrescue.img | sort -n | head -1)
  if cmp -s -n "$n" out.salvage.img out.ddrescue.img; then same="identical (first $n bytes)"; else same=DIFFERENT; fi
  echo "$name: images $same; salvage runs: ${T[salvage]}; ddrescue runs: ${T[ddrescue]}"
  rm -f backing.$name
done
