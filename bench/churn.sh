#!/usr/bin/env bash
# Load test: the TUI model refreshed continuously from a real scanner while
# about 200 short-lived processes a second start and exit, for SECONDS
# (default 60). It fails on a panic, a scan error, a half-read or stale row,
# or RSS growing more than 50% after the warm-up, and prints the refresh
# rate, the process rate, VmRSS and the Go heap at start, warm-up and end.
#   SECONDS_TO_RUN=60 bench/churn.sh
set -euo pipefail
RUN=${SECONDS_TO_RUN:-60}
cd "$(dirname "$0")/.."
CAPTUNE_CHURN_SECONDS="$RUN" CGO_ENABLED=0 go test ./ui -run '^TestChurnLoad$' -count=1 -v -timeout "$((RUN + 300))s" |
  grep -E '^(=== RUN|--- |\s+churn_test|ok|FAIL|PASS)'
