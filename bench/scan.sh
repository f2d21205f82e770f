#!/usr/bin/env bash
# Times `captune ps --json` against `pscap -a` (libcap-ng-utils) and the
# raw-read floor `grep -h '^Cap' /proc/[0-9]*/status`, alternating them in
# one run over N extra sleeping processes, and prints medians and ratios.
# Every process it starts is stopped on exit.
#   N=2000 RUNS=15 bench/scan.sh
set -euo pipefail
N=${N:-2000}
RUNS=${RUNS:-15}
cd "$(dirname "$0")/.."
command -v pscap >/dev/null || { echo "pscap missing: apt-get install libcap-ng-utils" >&2; exit 3; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

CGO_ENABLED=0 go build -o "$tmp/captune" .
for ((i = 0; i < N; i++)); do
  sleep 3600 &
  pids+=($!)
done
total=$(ls -d /proc/[0-9]* | wc -l)
echo "processes on the machine: $total ($N started for this run), runs: $RUNS"

ms() { # run a command once, print its wall time in milliseconds
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000))
}
floor() { grep -h '^Cap' /proc/[0-9]*/status; }

: >"$tmp/captune.t"; : >"$tmp/pscap.t"; : >"$tmp/floor.t"
for ((r = 0; r < RUNS; r++)); do
  case $((r % 3)) in
  0) order="captune pscap floor" ;;
  1) order="pscap floor captune" ;;
  2) order="floor captune pscap" ;;
  esac
  for w in $order; do
    case $w in
    captune) ms "$tmp/captune" ps --json >>"$tmp/captune.t" ;;
    pscap) ms pscap -a >>"$tmp/pscap.t" ;;
    floor) ms floor >>"$tmp/floor.t" ;;
    esac
  done
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
c=$(median "$tmp/captune.t"); p=$(median "$tmp/pscap.t"); f=$(median "$tmp/floor.t")
awk -v c="$c" -v p="$p" -v f="$f" 'BEGIN {
  printf "median wall time: captune ps --json %.1f ms, pscap -a %.1f ms, grep floor %.1f ms\n", c/1000, p/1000, f/1000
  printf "ratios: captune/pscap %.2f (target <= 0.5), captune/floor %.2f (target <= 1.5)\n", c/p, c/f
}'
if [ -x /usr/bin/time ]; then
  rss=$(/usr/bin/time -f %M "$tmp/captune" ps --json 2>&1 >/dev/null | tail -1)
  echo "captune ps --json peak RSS: $((rss / 1024)) MiB (${rss} KiB)"
fi
