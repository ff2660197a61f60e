#!/usr/bin/env bash
# `salvage check` and `salvage plan --format json` on 100,000-step runbooks of each shape
# (bench/gen-shape.sh: chain, fanout, fanin, diamond), shapes alternating, medians of ROUNDS,
# and the plan's peak memory (GNU time's maximum resident set) beside its output size.
# Usage: ROUNDS=5 N=100000 bench/plan-shapes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rounds=${ROUNDS:-5}
n=${N:-100000}
cargo build --release -q --bin salvage
bin=$PWD/target/release/salvage
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
shapes=(chain fanout fanin diamond)
for s in "${shapes[@]}"; do bash bench/gen-shape.sh "$s" "$n" > "$dir/$s.salvage"; done
declare -A check json
for _ in $(seq "$rounds"); do
  for s in "${shapes[@]}"; do
    check[$s]+="$(secs "$bin" check "$dir/$s.salvage") "
    json[$s]+="$(secs "$bin" plan --format json "$dir/$s.salvage") "
  done
done
echo "| shape ($n steps) | check (median s) | plan --format json (median s) | JSON size | peak memory (plan json) |"
echo "|---|---:|---:|---:|---:|"
for s in "${shapes[@]}"; do
  # shellcheck disable=SC2086
  c=$(median ${check[$s]}); j=$(median ${json[$s]})
  size=$("$bin" plan --format json "$dir/$s.salvage" | wc -c)
  peak=$( { /usr/bin/time -f '%M' "$bin" plan --format json "$dir/$s.salvage" > /dev/null; } 2>&1 | tail -1)
  printf '| %s | %s | %s | %s MB | %s MB |\n' "$s" "$c" "$j" "$((size / 1000000))" "$((peak / 1024))"
done
