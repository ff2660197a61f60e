#!/usr/bin/env bash
# Writes a runbook of N exec steps: a chain linked by `after`, plus fan-out (every step also
# reads the output of the hub of its block of 100, by data reference).
set -euo pipefail
n=${1:?usage: gen-runbook.sh N}
echo "runbook \"bench-$n\" {"
echo "  param work: path = \"/tmp/salvage-bench\""
echo "  step s0 = exec(argv: [\"true\"], effect: \"read\")"
for ((i = 1; i < n; i++)); do
  hub=$(( (i / 100) * 100 ))
  if (( hub == i )); then hub=$(( i - 100 )); fi
  echo "  step s$i = exec(argv: [\"echo\", \"\${work}/$i\", \"\${s$hub.exit_code}\"], effect: \"read\", after: [s$((i - 1))])"
done
echo "}"
