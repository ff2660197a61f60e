#!/usr/bin/env bash
# Writes a runbook of N exec steps of one dependency shape (for bench/plan-shapes.sh):
#   chain    every step reads the one before it       s0 <- s1 <- s2 <- ...
#   fanout   every step reads s0                       s0 <- s1, s0 <- s2, ...
#   fanin    the last step runs after all the others   s0, s1, ... -> s(N-1)
#   diamond  s0 fans out to every middle step, the last step runs after them all
# Usage: gen-shape.sh SHAPE N
set -euo pipefail
shape=${1:?usage: gen-shape.sh chain|fanout|fanin|diamond N}
n=${2:?usage: gen-shape.sh SHAPE N}
awk -v shape="$shape" -v n="$n" 'BEGIN {
  print "runbook \"shape-" shape "-" n "\" {"
  print "  step s0 = exec(argv: [\"true\"], effect: \"read\")"
  last = n - 1
  for (i = 1; i < last; i++) {
    if (shape == "chain") ref = "s" (i - 1)
    else if (shape == "fanout" || shape == "diamond") ref = "s0"
    else ref = ""
    if (ref == "") print "  step s" i " = exec(argv: [\"echo\", \"" i "\"], effect: \"read\")"
    else print "  step s" i " = exec(argv: [\"echo\", \"" i "\", \"${" ref ".exit_code}\"], effect: \"read\")"
  }
  if (shape == "chain") print "  step s" last " = exec(argv: [\"echo\", \"${s" (last - 1) ".exit_code}\"], effect: \"read\")"
  else if (shape == "fanout") print "  step s" last " = exec(argv: [\"echo\", \"${s0.exit_code}\"], effect: \"read\")"
  else {
    printf "  step s%d = exec(argv: [\"true\"], effect: \"read\", after: [", last
    for (i = 0; i < last; i++) printf "%ss%d", (i ? ", " : ""), i
    print "])"
  }
  print "}"
}'
