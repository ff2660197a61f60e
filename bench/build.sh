#!/usr/bin/env bash
# Clean release builds of the salvage binary at two revisions, alternating (ROUNDS each):
# wall seconds, binary bytes and crates in the binary's dependency tree; then the rebuild after
# one edit of the partition reader (its read.rs touched), which shows what the layers save.
#   bash bench/build.sh BEFORE_REV AFTER_REV      (ROUNDS=2 by default; machine otherwise idle)
set -euo pipefail
before=${1:?usage: bench/build.sh BEFORE_REV AFTER_REV}
after=${2:?usage: bench/build.sh BEFORE_REV AFTER_REV}
rounds=${ROUNDS:-2}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/salvage-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
for rev in "$before" "$after"; do
  git clone -q "$repo" "$work/$rev"
  git -C "$work/$rev" checkout -q "$rev"
done
one() {
  cd "$work/$1"
  rm -rf target
  local start end
  start=$(date +%s.%N)
  cargo build --release --bin salvage >/dev/null 2>&1
  end=$(date +%s.%N)
  local clean
  clean=$(echo "$end - $start" | bc)
  touch "$(git ls-files | grep 'partition/.*read\.rs$' | grep -v tests | head -1)"
  start=$(date +%s.%N)
  cargo build --release --bin salvage >/dev/null 2>&1
  end=$(date +%s.%N)
  printf '%s clean %.1f s, rebuild after touching the partition reader %.1f s, %d bytes, %d crates\n' \
    "$1" "$clean" "$(echo "$end - $start" | bc)" \
    "$(stat -c %s target/release/salvage)" \
    "$(cargo tree -p salvage -e normal --prefix none 2>/dev/null | sed 's/ (\*)//' | sort -u | wc -l)"
}
for _ in $(seq "$rounds"); do
  one "$before"
  one "$after"
done
