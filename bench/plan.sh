#!/usr/bin/env bash
# Times `salvage check` and `salvage plan` on generated runbooks of 1,000 and 10,000 steps
# (and 100,000 to show the growth). Prints a Markdown table for BENCHMARKS.md.
# Usage: bench/plan.sh   (from the repository root; builds release first)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/salvage
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "| steps | file size | check (s) | plan text (s) | plan json (s) | µs per step (plan json) |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in 1000 10000 100000; do
  f=$dir/bench-$n.salvage
  bash bench/gen-runbook.sh "$n" > "$f"
  best() { # best of 5 wall-clock runs, in seconds
    local b=999
    for _ in 1 2 3 4 5; do
      local s e
      s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
      b=$(echo "$e - $s" | bc -l | awk -v b="$b" '{ print ($1 < b) ? $1 : b }')
    done
    printf '%.3f' "$b"
  }
  c=$(best $bin check "$f")
  t=$(best $bin plan "$f")
  j=$(best $bin plan "$f" --format json)
  per=$(echo "$j * 1000000 / $n" | bc -l)
  printf '| %d | %s | %s | %s | %s | %.1f |\n' "$n" "$(du -h "$f" | cut -f1)" "$c" "$t" "$j" "$per"
done
