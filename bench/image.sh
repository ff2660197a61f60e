#!/usr/bin/env bash
# Imaging benchmark: salvage vs GNU ddrescue vs dd conv=noerror,sync bs=16M vs cp, in one run.
#
#   sudo bench/image.sh            # needs root (FUSE), ddrescue, ~7 GiB free in $BENCH_DIR
#
# 1. healthy: a 2 GiB file of random data (in the page cache, as after a first read), imaged
#    by each tool; each output is removed and `sync`ed away before the next run, so no tool
#    pays for another's writeback. Every tool runs $ROUNDS times, interleaved; the median
#    wall time counts. `salvage-sync` is salvage with --sync (waits for the disk, as GNU
#    ddrescue does: it fsyncs the image before its last map save).
# 2. failing: a 1 GiB file served through FUSE (testkit's faildisk: direct I/O, EIO on 6 bad
#    areas, one slow area), imaged by salvage, ddrescue and dd; rescued bytes are read from the
#    maps, and each image is compared with the source outside the bad areas.
# Environment: BENCH_DIR (default /var/tmp/salvage-bench), ROUNDS (default 3),
# SALVAGE_ARGS (extra salvage options, e.g. "--hash sha256").
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/image-lib.sh

BENCH_DIR=${BENCH_DIR:-/var/tmp/salvage-bench}
ROUNDS=${ROUNDS:-3}
SALVAGE_ARGS=${SALVAGE_ARGS:-}
[ "$(id -u)" = 0 ] || { echo "bench/image.sh: needs root for the FUSE failing disk" >&2; exit 1; }
command -v ddrescue >/dev/null || { echo "bench/image.sh: install GNU ddrescue (gddrescue)" >&2; exit 1; }

cargo build --release -q -p salvage -p salvage-testkit
SALVAGE=$PWD/target/release/salvage
FAILDISK=$PWD/target/release/faildisk
mkdir -p "$BENCH_DIR"
cd "$BENCH_DIR"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
clean() { rm -f out.*; sync; }

# T: wall time of the tool; TS: until its image is on disk (the tool, then `sync`): ddrescue and
# salvage --sync fsync the image themselves; salvage (which lists what is not on disk yet in
# its map), cp and dd do not.
declare -A T TS
run_tool() { # name command...
  local name=$1; shift
  clean
  local t0 t1 t2
  t0=$(now)
  "$@" >/dev/null 2>&1 || true
  t1=$(now)
  sync
  t2=$(now)
  T[$name]="${T[$name]:-} $(elapsed "$t0" "$t1")"
  TS[$name]="${TS[$name]:-} $(elapsed "$t0" "$t2")"
}
report() { # names...
  local n
  printf '%-10s %9s %12s   %s\n' tool "time (s)" "+sync (s)" "runs (s)"
  for n in "$@"; do
    printf '%-10s %9s %12s  %s\n' "$n" "$(echo ${T[$n]} | median_rows)" "$(echo ${TS[$n]} | median_rows)" "${T[$n]}"
  done
}

echo "== healthy 2 GiB file"
if [ ! -f healthy.bin ] || [ "$(stat -c %s healthy.bin)" != 2147483648 ]; then
  head -c 2G /dev/urandom > healthy.bin
fi
cat healthy.bin > /dev/null # page cache, as for every tool
# An untimed warm-up copy: the first large write after other work on the machine pays for
# reclaim and compaction, whichever tool does it.
cp healthy.bin out.warmup; clean
for round in $(seq "$ROUNDS"); do
  run_tool salvage "$SALVAGE" image healthy.bin out.salvage --map out.salvage.map -q $SALVAGE_ARGS
  run_tool ddrescue ddrescue -q healthy.bin out.ddrescue out.ddrescue.map
  run_tool salvage-sync "$SALVAGE" image healthy.bin out.salvage --map out.salvage.map -q --sync $SALVAGE_ARGS
  run_tool dd dd if=healthy.bin of=out.dd conv=noerror,sync bs=16M status=none
  run_tool cp cp healthy.bin out.cp
done
S=$(echo ${T[salvage]} | median_rows); D=$(echo ${T[ddrescue]} | median_rows)
C=$(echo ${T[cp]} | median_rows); CS=$(echo ${TS[cp]} | median_rows)
# Correctness of the last salvage output.
"$SALVAGE" image healthy.bin out.check --map out.check.map -q $SALVAGE_ARGS >/dev/null
cmp -s healthy.bin out.check && OK=identical || OK=DIFFERENT
report salvage ddrescue salvage-sync dd cp
SY=$(echo ${T[salvage-sync]} | median_rows)
echo "salvage image vs source: $OK"
echo "salvage/ddrescue    = $(ratio "$S" "$D")  (bar: <= 0.40)"
echo "salvage/cp          = $(ratio "$S" "$C")  (bar: <= 1.30)"
echo "salvage-sync/ddrescue = $(ratio "$SY" "$D")  (both wait for the disk)"
echo "salvage-sync/(cp + sync) = $(ratio "$SY" "$CS")  (all images on disk)"
clean

echo "== failing 1 GiB file over FUSE"
if [ ! -f failing.raw ] || [ "$(stat -c %s failing.raw)" != 1073741824 ]; then
  head -c 1G /dev/urandom > failing.raw
fi
cat failing.raw > /dev/null
mkdir -p mnt
BAD=(--bad 0x100000+4096 --bad 0x4000000+512 --bad 0x10000100+70000 --bad 0x20000000+1048576
     --bad 0x30000001+1 --bad 0x3FF00000+131072)
SLOW=(--slow 0x28000000+0x100000:20)
"$FAILDISK" --backing failing.raw --mountpoint mnt "${BAD[@]}" "${SLOW[@]}" > faildisk.out 2> faildisk.err &
FD_PID=$!
trap 'kill -TERM $FD_PID 2>/dev/null; wait $FD_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q ready faildisk.out 2>/dev/null && break; sleep 0.1; done
grep -q ready faildisk.out || { echo "faildisk did not start: $(cat faildisk.err)" >&2; exit 1; }
unset T TS; declare -A T TS
for round in $(seq "$ROUNDS"); do
  run_tool salvage "$SALVAGE" image mnt/disk.img out.salvage --map out.salvage.map -q $SALVAGE_ARGS
  mv out.salvage.map salvage.map; mv out.salvage salvage.img
  run_tool ddrescue ddrescue -q mnt/disk.img out.ddrescue out.ddrescue.map
  mv out.ddrescue.map ddrescue.map; mv out.ddrescue ddrescue.img
  run_tool salvage-sync "$SALVAGE" image mnt/disk.img out.salvage --map out.salvage.map -q --sync $SALVAGE_ARGS
  mv out.salvage.map salvage-sync.map; mv out.salvage salvage-sync.img
  run_tool dd dd if=mnt/disk.img of=out.dd conv=noerror,sync bs=16M status=none
  mv out.dd dd.img
done
S=$(echo ${T[salvage]} | median_rows); D=$(echo ${T[ddrescue]} | median_rows)
RS=$(rescued salvage.map); RD=$(rescued ddrescue.map)
# Bytes of an image that differ from the source (the rescuers leave zeros in the bad areas).
differ() { cmp -l failing.raw "$1" 2>/dev/null | wc -l; }
first_diff() { cmp failing.raw "$1" 2>/dev/null | sed -n 's/.*byte \([0-9]*\).*/\1/p'; }
report salvage ddrescue salvage-sync dd
SY=$(echo ${T[salvage-sync]} | median_rows); RY=$(rescued salvage-sync.map)
echo "rescued bytes: salvage $RS, salvage --sync $RY, ddrescue $RD (of 1073741824)"
echo "salvage image vs ddrescue image: $(cmp -s salvage.img ddrescue.img && echo identical || echo DIFFERENT)"
echo "salvage --sync image vs ddrescue image: $(cmp -s salvage-sync.img ddrescue.img && echo identical || echo DIFFERENT)"
echo "bytes differing from the source: salvage $(differ salvage.img), ddrescue $(differ ddrescue.img)"
echo "dd: first byte differing from the source: $(first_diff dd.img) (short reads padded to 16 MiB shift all that follows)"
echo "salvage/ddrescue = $(ratio "$S" "$D")  (bar: <= 1.00, rescued >= ddrescue's: $([ "$RS" -ge "$RD" ] && echo yes || echo NO))"
echo "salvage-sync/ddrescue = $(ratio "$SY" "$D")  (both wait for the disk)"
rm -f salvage.img ddrescue.img dd.img salvage.map ddrescue.map salvage-sync.img salvage-sync.map
clean
