#!/usr/bin/env bash
# `salvage partitions --scan` of a sparse 2 TB image holding an ext4 filesystem past 1 TiB
# (a few MiB of data in all), medians of ROUNDS. Needs mkfs.ext4.
# Usage: ROUNDS=5 bench/scan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rounds=${ROUNDS:-5}
cargo build --release -q --bin salvage
bin=$PWD/target/release/salvage
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
truncate -s 64M "$dir/fs"
mkfs.ext4 -q -F "$dir/fs"
truncate -s 2000000000000 "$dir/disk"
dd if="$dir/fs" of="$dir/disk" bs=1M seek=$(( (1 << 20) + 7 )) conv=notrunc,sparse status=none
times=()
for _ in $(seq "$rounds"); do times+=("$(secs "$bin" partitions --scan "$dir/disk")"); done
"$bin" partitions --scan "$dir/disk" | grep -i ext4 | head -3
echo "| sparse 2 TB image, ext4 at 1 TiB + 7 MiB | $(median "${times[@]}") s (median of $rounds: ${times[*]}) |"
