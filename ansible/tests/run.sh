#!/usr/bin/env bash
# The salvage.rescue collection against three real SSH hosts: network namespaces on a bridge,
# each running its own sshd on its own address, each with its own synthetic failing disk (the
# runbook's synth op) and its own state and work directories.
#
#   bash ansible/tests/run.sh [SALVAGE_BINARY]
#
# Scenarios: ansible-lint; the modules directly (plan, check mode, diff); the play twice (the
# second reports changed=0 on every host); one host's salvage killed mid-run (SIGKILL) and the
# play rerun (it resumes); a tampered fetched log failing the verification task.
# Needs root, ip, sshd, ansible-playbook, ansible-galaxy and ansible-lint; without them it
# skips, except under SALVAGE_REQUIRE_ROOT_TESTS=1, where a skip is a failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
collection="$(cd "$here/.." && pwd)"
repo="$(cd "$collection/.." && pwd)"
bin="${1:-}"
if [ -z "$bin" ]; then
  for b in "$repo/target/release/salvage" "$repo/target/debug/salvage"; do
    if [ -x "$b" ]; then bin="$b"; break; fi
  done
fi

skip() {
  if [ "${SALVAGE_REQUIRE_ROOT_TESTS:-}" = 1 ]; then
    echo "ansible tests: cannot run: $1 (SALVAGE_REQUIRE_ROOT_TESTS=1: a skip is a failure)" >&2
    exit 1
  fi
  echo "ansible tests: skipped: $1"
  exit 0
}
[ "$(id -u)" = 0 ] || skip "not root (network namespaces need it)"
for t in ip ansible-playbook ansible-galaxy ansible-lint ssh-keygen; do
  command -v "$t" >/dev/null || skip "$t is not installed"
done
sshd_bin="$(command -v sshd || echo /usr/sbin/sshd)"
[ -x "$sshd_bin" ] || skip "sshd is not installed (apt openssh-server)"
[ -n "$bin" ] && [ -x "$bin" ] || skip "no salvage binary (build it, or give its path)"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

passed=0
failed=0
ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
quietly() { "$@" >/dev/null 2>&1; }
check() { # check NAME COMMAND...: a test that passes when the command succeeds
  local name="$1"; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

T="$(mktemp -d /tmp/salvage-ansible.XXXXXX)"
hosts=(h1 h2 h3)
tag="s$$"
bridge="br$tag"
cleanup() {
  set +e
  for i in 1 2 3; do
    [ -f "$T/sshd$i.pid" ] && kill "$(cat "$T/sshd$i.pid")" 2>/dev/null
    ip netns del "${tag}h$i" 2>/dev/null
    ip link del "v${tag}$i" 2>/dev/null
  done
  ip link del "$bridge" 2>/dev/null
  # What a test killed left running: only processes started under $T.
  for p in /proc/[0-9]*; do
    if (tr '\0' ' ' <"$p/cmdline") 2>/dev/null | grep -q -- "$T/"; then kill -9 "${p#/proc/}" 2>/dev/null; fi
  done
  if [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

# The network: a bridge at 10.$net.0.1 on this side, one namespace per host at .11, .12, .13.
net=$((100 + $$ % 100))
ip link add "$bridge" type bridge
ip addr add "10.$net.0.1/24" dev "$bridge"
ip link set "$bridge" up
ssh-keygen -q -t ed25519 -N '' -f "$T/id" >/dev/null
cp "$T/id.pub" "$T/authorized_keys"
mkdir -p /run/sshd
for i in 1 2 3; do
  ns="${tag}h$i"
  ip netns add "$ns"
  ip link add "v${tag}$i" type veth peer name eth0 netns "$ns"
  ip link set "v${tag}$i" master "$bridge" up
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip addr add "10.$net.0.1$i/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up
  ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey$i" >/dev/null
  cat >"$T/sshd$i.conf" <<CONF
ListenAddress 10.$net.0.1$i
Port 22
HostKey $T/hostkey$i
PidFile $T/sshd$i.pid
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
CONF
  ip netns exec "$ns" "$sshd_bin" -f "$T/sshd$i.conf" -E "$T/sshd$i.log"
  # Each host's own directories (the namespaces share the filesystem).
  mkdir -p "$T/$i/work"
done

py="$(command -v python3)"
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
{
  echo "[fleet]"
  for i in 1 2 3; do
    echo "h$i ansible_host=10.$net.0.1$i salvage_remote_dir=$T/$i/remote salvage_state_dir=$T/$i/state salvage_params='{\"work\": \"$T/$i/work\", \"seed\": $i}'"
  done
  echo "[fleet:vars]"
  echo "ansible_user=root"
  echo "ansible_ssh_private_key_file=$T/id"
  echo "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"
  echo "ansible_python_interpreter=$py"
  echo "salvage_binary_src=$bin"
  echo "salvage_runbook_src=$here/fleet.salvage"
  echo "salvage_fetch_dir=$T/fetched"
} >"$T/inventory.ini"

# The collection, built and installed as a user would.
(cd "$collection" && ansible-galaxy collection build --force --output-path "$T" >/dev/null)
ansible-galaxy collection install -p "$T/collections" "$T"/salvage-rescue-*.tar.gz >/dev/null
export ANSIBLE_COLLECTIONS_PATH="$T/collections"
export ANSIBLE_HOST_KEY_CHECKING=False
export ANSIBLE_NOCOLOR=1
export ANSIBLE_RETRY_FILES_ENABLED=False
export ANSIBLE_LOCAL_TEMP="$T/ansible-local"
export ANSIBLE_REMOTE_TEMP="$T/ansible-remote"
export ANSIBLE_FORKS=5

play() { # play LOGNAME PLAYBOOK [ARGS...]: runs ansible-playbook, output in $T/LOGNAME.out
  local name="$1" book="$2"; shift 2
  local rc=0
  ansible-playbook -i "$T/inventory.ini" "$book" "$@" >"$T/$name.out" 2>&1 || rc=$?
  echo "$rc" >"$T/$name.rc"
  return 0
}
rc_of() { cat "$T/$1.rc"; }
recap() { # recap LOGNAME HOST FIELD: the PLAY RECAP number, e.g. changed
  grep -E "^$2 +:" "$T/$1.out" | tail -1 | grep -oE "$3=[0-9]+" | cut -d= -f2
}
show() { echo "---- $1 (exit $(rc_of "$1"))"; tail -40 "$T/$1.out"; }
summary_field() { # summary_field HOST FIELD: from the fetched fleet summary
  "$py" -c 'import json,sys; d={l["host"]: l for l in json.load(open(sys.argv[1]))}; print(d[sys.argv[2]][sys.argv[3]])' "$T/fetched/fleet-summary.json" "$1" "$2"
}
review_of() { # review_of HOST EXPR: a Python expression over the review JSON `d` of the fetched log
  "$bin" review "$T/fetched/$1/log.jsonl" --key "$T/fetched/keys/$1.key" --format json >"$T/review-$1.json" || true
  "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/review-$1.json" "$2"
}

# 0. ansible-lint, clean.
if (cd "$collection" && ANSIBLE_COLLECTIONS_PATH="$T/collections" ansible-lint --offline -q . >"$T/lint.out" 2>&1); then
  ok "ansible-lint is clean"
else
  bad "ansible-lint is clean"; cat "$T/lint.out"
fi

# 1. The play: every host rescues its disk; the fetched logs verify; the fleet summary.
play first "$here/fleet.yml"
[ "$(rc_of first)" = 0 ] || show first
check "the first play succeeds" [ "$(rc_of first)" = 0 ]
for h in "${hosts[@]}"; do
  check "$h: the first run changed something" [ "$(recap first "$h" changed)" -gt 0 ]
  check "$h: the log, anchor, key and manifest were fetched" \
    test -s "$T/fetched/$h/log.jsonl" -a -s "$T/fetched/$h/log.jsonl.head" -a -s "$T/fetched/keys/$h.key" -a -s "$T/fetched/$h/manifests/files.manifest.jsonl"
  check "$h: the fetched log verifies" quietly "$bin" review "$T/fetched/$h/log.jsonl" --verify --key "$T/fetched/keys/$h.key"
  check "$h: summary says partial (the simulated bad sectors hit files)" [ "$(summary_field "$h" outcome)" = partial ]
  check "$h: summary counts the bytes rescued" [ "$(summary_field "$h" bytes_rescued)" -gt 40000000 ]
  check "$h: summary counts the damaged files" [ "$(summary_field "$h" files_damaged)" -gt 0 ]
  check "$h: summary counts the bytes rescued as the image step logged them" \
    [ "$(summary_field "$h" bytes_rescued)" = "$(review_of "$h" '[s["outputs"]["rescued_bytes"] for s in d["runs"][0]["steps"] if s["name"]=="img"][0]')" ]
done
check "the fleet summary is printed" grep -q "fleet: 3 hosts" "$T/first.out"

# 2. The modules directly: plan, check mode (writes nothing), diff, prediction of no change.
play direct "$here/direct.yml" --diff
[ "$(rc_of direct)" = 0 ] || show direct
check "the modules used directly: plan, check mode, diff" [ "$(rc_of direct)" = 0 ]
check "diff mode shows the plan" grep -q "salvage plan" "$T/direct.out"

# 3. The play again: nothing to do, changed=0 everywhere.
play second "$here/fleet.yml"
[ "$(rc_of second)" = 0 ] || show second
check "the second play succeeds" [ "$(rc_of second)" = 0 ]
for h in "${hosts[@]}"; do
  check "$h: the second play reports changed=0" [ "$(recap second "$h" changed)" = 0 ]
  check "$h: the second run skipped the image as done" \
    [ "$(review_of "$h" '[s["status"] for s in d["runs"][-1]["steps"] if s["name"]=="img"][0]')" = skipped ]
done

# 4. h2 killed mid-run, then the play rerun: it resumes. h2 starts over in fresh directories
# and is held at its `gate` step (after the image) by a hold file.
rm -rf "$T/2/state" "$T/2/work" "$T/fetched/h2"
mkdir -p "$T/2/work"
touch "$T/2/work/hold"
ansible-playbook -i "$T/inventory.ini" "$here/fleet.yml" >"$T/killed.out" 2>&1 &
play_pid=$!
# Wait (bounded) until h2's salvage has logged the start of `gate`.
found=""
for _ in $(seq 1 600); do
  if grep -q '"event":"step_started".*"step":"gate"\|"step":"gate".*"event":"step_started"' "$T/2/state/log.jsonl" 2>/dev/null; then
    found=1; break
  fi
  kill -0 "$play_pid" 2>/dev/null || break
  sleep 0.2
done
check "h2 reached its gate step" [ -n "$found" ]
victim=""
for p in /proc/[0-9]*; do
  cmd="$( (tr '\0' ' ' <"$p/cmdline") 2>/dev/null || true)"
  case "$cmd" in
    "$T/2/remote/bin/salvage run "*) victim="${p#/proc/}" ;;
  esac
done
check "h2's salvage process found" [ -n "$victim" ]
if [ -n "$victim" ]; then
  children="$(cat /proc/"$victim"/task/*/children 2>/dev/null || true)"
  kill -9 "$victim"
  for c in $children; do kill -9 "$c" 2>/dev/null || true; done
fi
rm -f "$T/2/work/hold"
rc=0; wait "$play_pid" || rc=$?
echo "$rc" >"$T/killed.rc"
check "the play with a killed host fails" [ "$rc" != 0 ]
check "h2 is reported killed" grep -q "salvage was killed by signal 9" "$T/killed.out"
for h in h1 h3; do
  check "$h: unaffected by h2's kill (changed=0, not failed)" [ "$(recap killed "$h" changed)" = 0 -a "$(recap killed "$h" failed)" = 0 ]
done
check "h2: the log of the killed run was fetched and verifies" \
  quietly "$bin" review "$T/fetched/h2/log.jsonl" --verify --key "$T/fetched/keys/h2.key"
check "h2: the killed run never finished" [ "$(review_of h2 'd["runs"][-1].get("finished") is None')" = True ]

play resumed "$here/fleet.yml"
[ "$(rc_of resumed)" = 0 ] || show resumed
check "the rerun after the kill succeeds" [ "$(rc_of resumed)" = 0 ]
check "h2: the rerun resumed" [ "$(review_of h2 'd["runs"][-1]["resumed"]')" = True ]
check "h2: the rerun skipped the disk and the image done before the kill" \
  [ "$(review_of h2 '",".join(s["name"] for s in d["runs"][-1]["steps"] if s["status"]=="skipped")' | cut -d, -f1,2)" = "disk,img" ]
check "h2: the rerun skipped exactly what the killed run finished" \
  [ "$(review_of h2 'sorted(s["name"] for s in d["runs"][-1]["steps"] if s["status"]=="skipped") == sorted(s["name"] for s in d["runs"][-2]["steps"] if s["status"]=="ok")')" = True ]
check "h2: the step killed halfway ran again" \
  [ "$(review_of h2 '[s["status"] for s in d["runs"][-2]["steps"] if s["name"]=="gate"] + [s["status"] for s in d["runs"][-1]["steps"] if s["name"]=="gate"]')" = "['unfinished', 'ok']" ]
check "h2: the rerun finished" [ "$(review_of h2 'd["runs"][-1]["finished"]["status"]')" = partial ]
check "h2: the rerun changed something" [ "$(recap resumed h2 changed)" -gt 0 ]
for h in h1 h3; do
  check "$h: the rerun changed nothing" [ "$(recap resumed "$h" changed)" = 0 ]
done
check "h2: the resumed log verifies" quietly "$bin" review "$T/fetched/h2/log.jsonl" --verify --key "$T/fetched/keys/h2.key"

# 5. A tampered fetched log fails the verification task (the verify-only playbook).
"$py" - "$T/fetched/h3/log.jsonl" <<'PY'
import sys, re
p = sys.argv[1]
s = open(p).read()
t = re.sub(r'"rescued_bytes":(\d+)', lambda m: '"rescued_bytes":%d' % (int(m.group(1)) + 4096), s, count=1)
assert t != s, "nothing to tamper with"
open(p, "w").write(t)
PY
play tampered "$collection/playbooks/verify.yml" -e salvage_hosts=fleet -e "salvage_fetch_dir=$T/fetched"
check "verification fails the play on the tampered log" [ "$(rc_of tampered)" != 0 ]
check "h3 fails its verification task" grep -q "the log fetched from h3 .* does not verify" "$T/tampered.out"
check "h3 is the only host that failed" \
  [ "$(recap tampered h3 failed)" = 1 -a "$(recap tampered h1 failed)" = 0 -a "$(recap tampered h2 failed)" = 0 ]

echo "ansible: $passed passed, $failed failed"
[ "$failed" = 0 ]
