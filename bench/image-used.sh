#!/usr/bin/env bash
# `salvage image --domain used` on a disk whose free space is slow: how long until every used
# byte is rescued, against a full salvage run and a full GNU ddrescue run, on the same FUSE
# failing disk (testkit's faildisk), and whether the files read from the used-only image equal
# the originals.
#
#   sudo ROUNDS=3 bench/image-used.sh      # root (FUSE), ddrescue, mkfs.ext4, sfdisk, debugfs
#
# The disk: 256 MiB, an MBR with one ext4 partition at 1 MiB holding 32 MiB of files; every
# free area of the filesystem (as `salvage domain --used` lists it) answers each 64 KiB read
# after SLOW_MS milliseconds (default 5), as a disk whose empty part is failing slowly would.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/image-lib.sh
BENCH_DIR=${BENCH_DIR:-/var/tmp/salvage-used}
ROUNDS=${ROUNDS:-3}
SLOW_MS=${SLOW_MS:-5}
[ "$(id -u)" = 0 ] || { echo "bench/image-used.sh: needs root for the FUSE failing disk" >&2; exit 1; }
for t in ddrescue mkfs.ext4 sfdisk debugfs; do
  command -v $t >/dev/null || { echo "bench/image-used.sh: needs $t" >&2; exit 1; }
done
cargo build --release -q -p salvage -p salvage-testkit
SALVAGE=$PWD/target/release/salvage
FAILDISK=$PWD/target/release/faildisk
rm -rf "$BENCH_DIR"; mkdir -p "$BENCH_DIR/mnt" "$BENCH_DIR/tree/d"
cd "$BENCH_DIR"

head -c 24M /dev/urandom > tree/big.bin
for i in $(seq 1 400); do head -c $((i * 50 + 1000)) /dev/urandom > tree/d/f$i; done
head -c 4M /dev/urandom > tree/d/mid.bin
truncate -s 256M disk.raw
echo 'start=2048, type=83' | sfdisk -q disk.raw
mkfs.ext4 -q -F -d tree -E offset=1048576 disk.raw 261120k
"$SALVAGE" domain disk.raw --used -o used.domain 2> domain.notes
slow=()
while read -r pos size st; do
  case "$pos" in ''|'#'*) continue ;; esac
  [ "$st" = "?" ] && slow+=(--slow "$((pos))+$((size)):$SLOW_MS")
done < <(grep -v '^#' used.domain | tail -n +2)
echo "free areas made slow: $(( ${#slow[@]} / 2 ))"; cat domain.notes

declare -A T
run() { # name command...
  local name=$1; shift
  rm -f out.img out.map out.img.map
  "$FAILDISK" --backing disk.raw --mountpoint mnt "${slow[@]}" > fd.out 2> fd.err &
  local fpid=$!
  for _ in $(seq 200); do grep -q ready fd.out 2>/dev/null && break; sleep 0.05; done
  local t0 t1
  t0=$(now); "$@" > /dev/null 2>&1 || true; t1=$(now)
  kill -INT $fpid; wait $fpid || true
  T[$name]="${T[$name]:-} $(elapsed "$t0" "$t1")"
}
for round in $(seq "$ROUNDS"); do
  run salvage-used "$SALVAGE" image mnt/disk.img out.img out.map --domain used -q
  rm -rf dump; mkdir dump
  debugfs -R "rdump / $PWD/dump" "out.img?offset=1048576" > /dev/null 2>&1
  if diff -r -x lost+found tree dump > /dev/null; then same=equal; else same=DIFFERENT; fi
  run salvage-full "$SALVAGE" image mnt/disk.img out.img out.map -q
  run ddrescue-full ddrescue -q mnt/disk.img out.img out.map
done
printf '%-14s %9s   %s\n' run "time (s)" "runs (s)"
for n in salvage-used salvage-full ddrescue-full; do
  printf '%-14s %9s  %s\n' "$n" "$(echo ${T[$n]} | median_rows)" "${T[$n]}"
done
u=$(echo ${T[salvage-used]} | median_rows); f=$(echo ${T[salvage-full]} | median_rows); d=$(echo ${T[ddrescue-full]} | median_rows)
echo "used/full salvage = $(awk -v a=$u -v b=$f 'BEGIN { printf "%.3f", a / b }')  (bar: <= 0.20)"
echo "used/full ddrescue = $(awk -v a=$u -v b=$d 'BEGIN { printf "%.3f", a / b }')"
echo "files from the used-only image vs the originals: $same"
