#!/usr/bin/env bash
# Imaging a block device: a loop device over a 1 GiB file kept in the page cache, imaged by
# salvage (its default: buffered reads a cluster at a time), salvage with 1 MiB reads, salvage
# with O_DIRECT (-d), GNU ddrescue, ddrescue -d, and cp, interleaved, ROUNDS times each; the
# medians of the wall times, each run followed by removing its output and a `sync`.
#
#   sudo ROUNDS=5 bench/image-device.sh      # root (loop devices) and ddrescue
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/image-lib.sh
BENCH_DIR=${BENCH_DIR:-/var/tmp/salvage-device}
ROUNDS=${ROUNDS:-5}
[ "$(id -u)" = 0 ] || { echo "bench/image-device.sh: needs root for a loop device" >&2; exit 1; }
command -v ddrescue >/dev/null || { echo "bench/image-device.sh: install GNU ddrescue (gddrescue)" >&2; exit 1; }
cargo build --release -q -p salvage
SALVAGE=$PWD/target/release/salvage
mkdir -p "$BENCH_DIR"; cd "$BENCH_DIR"
[ -f backing ] && [ "$(stat -c %s backing)" = 1073741824 ] || head -c 1G /dev/urandom > backing
LOOP=$(losetup --find --show --read-only backing)
trap 'losetup -d "$LOOP"' EXIT
cat "$LOOP" > /dev/null   # the device's page cache, as for every tool
declare -A T
run() { local name=$1; shift; rm -f out.*; sync; local t0 t1; t0=$(now); "$@" > /dev/null 2>&1 || true; t1=$(now); T[$name]="${T[$name]:-} $(elapsed "$t0" "$t1")"; }
tools="salvage salvage-1MiB salvage-d ddrescue ddrescue-d cp"
for round in $(seq "$ROUNDS"); do
  for t in $tools; do
    case $t in
      salvage) run $t "$SALVAGE" image "$LOOP" out.img out.map -q ;;
      salvage-1MiB) run $t "$SALVAGE" image "$LOOP" out.img out.map -q --copy-size 1MiB ;;
      salvage-d) run $t "$SALVAGE" image "$LOOP" out.img out.map -q -d ;;
      ddrescue) run $t ddrescue -q "$LOOP" out.img out.map ;;
      ddrescue-d) run $t ddrescue -q -d "$LOOP" out.img out.map ;;
      cp) run $t cp "$LOOP" out.img ;;
    esac
  done
  tools="$(echo $tools | tr ' ' '\n' | tac | tr '\n' ' ')"   # alternate the order
done
printf '%-13s %9s   %s\n' tool "time (s)" "runs (s)"
for t in salvage salvage-1MiB salvage-d ddrescue ddrescue-d cp; do
  printf '%-13s %9s  %s\n' "$t" "$(echo ${T[$t]} | median_rows)" "${T[$t]}"
done
