#!/usr/bin/env bash
# Measures captune's idle CPU use: the TUI runs in tmux with the default
# refresh (2 s) over N extra sleeping processes for SECONDS, and its CPU
# time is read from /proc/PID/stat. Every process it starts is stopped.
#   N=2000 SECONDS_TO_RUN=30 bench/idle.sh
set -euo pipefail
N=${N:-2000}
RUN=${SECONDS_TO_RUN:-30}
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "tmux missing" >&2; exit 3; }
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
pids=()
cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null || true
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
tmux -S "$sock" new-session -d -s idle -x 120 -y 40 "$tmp/captune"
sleep 3
pid=$(pgrep -f "^$tmp/captune$" | head -1)
[ -n "$pid" ] || { echo "captune did not start" >&2; exit 1; }
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu); t0=$(date +%s%N)
sleep "$RUN"
c1=$(cpu); t1=$(date +%s%N)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
awk -v c=$((c1 - c0)) -v hz="$hz" -v ns=$((t1 - t0)) -v n="$(ls -d /proc/[0-9]* | wc -l)" -v rss="$rss" 'BEGIN {
  s = ns / 1e9
  printf "captune TUI idle over %.0f s with %d processes: %.2f s CPU = %.1f%% of one core (target < 5%%), peak RSS %.0f MiB\n", s, n, c / hz, 100 * c / hz / s, rss / 1024
}'
