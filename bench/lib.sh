# Shared by the bench scripts: a timer and a median.
# now: seconds since the epoch with nanoseconds.
now() { date +%s.%N; }
# secs CMD...: runs CMD (output discarded) and prints its wall time in seconds.
secs() {
  local s e
  s=$(now); "$@" > /dev/null 2>&1 || { echo "bench: failed: $*" >&2; return 1; }; e=$(now)
  echo "$e - $s" | bc -l
}
# median N...: the median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m }'; }
