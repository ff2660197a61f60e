#!/usr/bin/env bash
# The static binary in an empty chroot: nothing but the binary, with /dev, /proc and /sys
# bind-mounted, on a small disk image made beforehand. It must list the partitions, inspect,
# copy through the userspace ext reader, plan and run a runbook that starts no program, verify
# the run log, and read a RAID1 member with no md: what a person does with it on a machine
# whose libraries are unreadable.
#
#   ci/static-smoke.sh [BINARY]   (default: target/x86_64-unknown-linux-musl/release/salvage)
#
# Needs root (chroot, bind mounts), sfdisk, mkfs.ext4 and python3 (to make the images, outside
# the chroot).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/x86_64-unknown-linux-musl/release/salvage}
[[ -x $bin ]] || { echo "static-smoke: $bin not built (cargo build --release --target x86_64-unknown-linux-musl -p salvage)" >&2; exit 1; }
if [[ $(id -u) != 0 ]]; then
  echo "static-smoke: needs root (chroot and bind mounts)" >&2
  exit 1
fi

tmp=$(mktemp -d /tmp/salvage-static.XXXXXX)
root=$tmp/root
cleanup() {
  for m in sys proc dev; do
    mountpoint -q "$root/$m" && umount -R "$root/$m"
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# The binary needs nothing from the machine.
if ldd "$bin" 2>/dev/null | grep -q '=>'; then
  echo "static-smoke: $bin is dynamically linked:" >&2
  ldd "$bin" >&2
  exit 1
fi

# A 40 MiB disk: MBR, one ext4 partition at 1 MiB holding a small tree, made outside the chroot.
tree=$tmp/tree
mkdir -p "$tree/etc" "$tree/home/ana/docs"
printf 'PRETTY_NAME="Smoke Linux"\nID=smoke\n' > "$tree/etc/os-release"
printf '/dev/sda1 / ext4 defaults 0 1\n' > "$tree/etc/fstab"
for i in $(seq 1 20); do
  head -c $((i * 3000)) /dev/urandom > "$tree/home/ana/docs/file$i.bin"
done
echo "the thesis, chapter 1" > "$tree/home/ana/docs/thesis.txt"
mkdir -p "$root/work"
disk=$root/work/disk.img
truncate -s 40MiB "$disk"
echo 'start=2048, size=79872, type=83' | sfdisk -q "$disk"
mkfs.ext4 -q -F -d "$tree" -E offset=1048576 "$disk" 39M

# The chroot: the binary, the image, /dev /proc /sys. No shell, no libc, no loader.
mkdir -p "$root/dev" "$root/proc" "$root/sys"
cp "$bin" "$root/salvage"
mount --rbind /dev "$root/dev"
mount --bind /proc "$root/proc"
mount --rbind /sys "$root/sys"
cat > "$root/work/smoke.salvage" <<'RUNBOOK'
runbook "static-smoke" {
  about "Image, read the table, find the root, mount it read-only, copy out, verify: no program started."
  param disk: path = "/work/disk.img"
  step img   = image(source: disk, dest: "/work/run/disk.img", map: "/work/run/disk.map")
  step table = partitions(source: img.dest)
  step roots = inspect(table: table)
  step mnt   = mount(partition: roots.newest)
  step files = copy(from: mnt.path, to: "/work/run/recovered")
  step proof = verify(manifest: files.manifest, source: mnt.path)
  output manifest = files.manifest
}
RUNBOOK
in_root() { echo "+ chroot salvage $*"; chroot "$root" /salvage "$@"; }

in_root --version
in_root partitions /work/disk.img | tee "$tmp/partitions.txt"
grep -q 'ext4' "$tmp/partitions.txt"
in_root inspect /work/disk.img | tee "$tmp/inspect.txt"
grep -q 'Smoke Linux' "$tmp/inspect.txt"
in_root copy /work/disk.img /work/copied
cmp "$tree/home/ana/docs/thesis.txt" "$root/work/copied/home/ana/docs/thesis.txt"
cmp "$tree/home/ana/docs/file20.bin" "$root/work/copied/home/ana/docs/file20.bin"
in_root verify /work/copied.manifest.jsonl
in_root plan /work/smoke.salvage | tee "$tmp/plan.txt"
if grep -q 'programs this plan starts' "$tmp/plan.txt"; then
  echo "static-smoke: the smoke runbook should start no program" >&2
  exit 1
fi
in_root run /work/smoke.salvage --state /work/state -j 1
cmp "$tree/home/ana/docs/file7.bin" "$root/work/run/recovered/home/ana/docs/file7.bin"
in_root review --verify /work/state/log.jsonl

# An md RAID1 member (v1.2 superblock at 4 KiB, data at 1 MiB) holding the same tree: no md
# driver in the chroot (nor, here, on the machine): `raid` names its data area, `copy` reads it.
member=$root/work/member.img
truncate -s 42MiB "$member"
mkfs.ext4 -q -F -d "$tree" -E offset=1048576 "$member" 40M
python3 - "$member" <<'PY'
import struct, sys
sb = bytearray(1024)
struct.pack_into('<II', sb, 0, 0xa92b4efc, 1)
sb[16:32] = b'static-smoke-md!'
sb[32:40] = b'smoke:md'
struct.pack_into('<iIQII', sb, 72, 1, 0, 40 * 2048, 0, 2)        # raid1, used size, 2 slots
struct.pack_into('<QQQ', sb, 128, 2048, 40 * 2048, 8)            # data offset, size, super offset
struct.pack_into('<I', sb, 160, 0)                               # device 0
struct.pack_into('<QQQ', sb, 192, 1700000000, 20, 2**64 - 1)     # utime, events, clean
struct.pack_into('<I', sb, 220, 2)                               # max_dev
struct.pack_into('<HH', sb, 256, 0, 1)                           # roles: slots 0 and 1
words = sum(struct.unpack_from('<I', sb, i)[0] for i in range(0, 260, 4) if i != 216)
struct.pack_into('<I', sb, 216, ((words & 0xffffffff) + (words >> 32)) & 0xffffffff)
with open(sys.argv[1], 'r+b') as f:
    f.seek(4096)
    f.write(sb)
PY
# One member of two given: readable, and exit 1 (incomplete: the other member was not seen).
rc=0
in_root raid /work/member.img > "$tmp/raid.txt" || rc=$?
cat "$tmp/raid.txt"
[[ $rc == 1 ]] || { echo "static-smoke: salvage raid exited $rc, not 1 (incomplete)" >&2; exit 1; }
grep -q 'state: incomplete, 1 of 2 slots in sync' "$tmp/raid.txt"
grep -q 'data: /work/member.img at byte 1048576, 41943040 bytes (ext4)' "$tmp/raid.txt"
in_root copy /work/member.img /work/from-raid --offset 1048576 --size 41943040
cmp "$tree/home/ana/docs/thesis.txt" "$root/work/from-raid/home/ana/docs/thesis.txt"
# Without --offset, copy finds the member's data area itself.
in_root copy /work/member.img /work/from-raid-2
cmp "$tree/home/ana/docs/file20.bin" "$root/work/from-raid-2/home/ana/docs/file20.bin"
# Nothing left mounted inside the chroot by the run.
if grep -q "$root/work" /proc/self/mountinfo; then
  echo "static-smoke: the run left a mount behind" >&2
  exit 1
fi
echo "static-smoke: ok ($(stat -c %s "$bin") bytes, sha256 $(sha256sum "$bin" | cut -d' ' -f1))"
