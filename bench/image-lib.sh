# Shared by the imaging bench scripts (image.sh, image-faults.sh, image-used.sh,
# image-device.sh): the timer of lib.sh, wall times, a median of a space-separated list on
# stdin, and the rescued bytes of a mapfile.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# elapsed T0 T1: seconds between two `now` readings.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# median_rows: the median (the lower middle one for an even count) of the numbers on stdin.
median_rows() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] }'; }
# rescued MAP: bytes with status + in a GNU ddrescue mapfile.
rescued() {
  local n=0 first=1 pos size st
  while read -r pos size st; do
    case "$pos" in ''|'#'*) continue ;; esac
    if [ $first = 1 ]; then first=0; continue; fi
    [ "$st" = "+" ] && n=$((n + size))
  done < "$1"
  echo "$n"
}
