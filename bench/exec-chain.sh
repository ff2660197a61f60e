#!/usr/bin/env bash
# A 200-step chain of trivial `exec` steps (`true`, each after the one before) run by
# `salvage run`, against a shell loop running `true` 200 times, alternating, medians.
# Usage: ROUNDS=5 bench/exec-chain.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rounds=${ROUNDS:-5}
cargo build --release -q --bin salvage
bin=$PWD/target/release/salvage
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
{
  echo 'runbook "chain200" {'
  echo '  step s0 = exec(argv: ["true"], effect: "read")'
  for i in $(seq 1 199); do echo "  step s$i = exec(argv: [\"true\"], effect: \"read\", after: [s$((i - 1))])"; done
  echo '}'
} > "$dir/chain.salvage"
sv=(); sh=()
for r in $(seq "$rounds"); do
  rm -rf "$dir/state"
  sv+=("$(secs "$bin" run "$dir/chain.salvage" --state "$dir/state" --yes)")
  sh+=("$(secs sh -c 'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i + 1)); done')")
done
s=$(median "${sv[@]}"); l=$(median "${sh[@]}")
printf '| 200-step chain of trivial exec steps | %s s | shell loop %s s | %.2fx |\n' "$s" "$l" "$(echo "$s / $l" | bc -l)"
echo "salvage run: ${sv[*]}; shell: ${sh[*]}"
