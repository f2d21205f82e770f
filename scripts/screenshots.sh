#!/usr/bin/env bash
# Regenerates screenshots/*.png from the real TUI: a throwaway proftpd on
# 127.0.0.1 with one logged-in FTP session, captune in tmux, each scene
# captured with `tmux capture-pane -e` and drawn by freeze.
# Needs: tmux, proftpd (proftpd-core), python3 (for the FTP login), perl,
# openssl, and freeze (go install github.com/charmbracelet/freeze@v0.2.2).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
FREEZE=${FREEZE:-$(command -v freeze || echo "$(go env GOPATH)/bin/freeze")}
[ -x "$FREEZE" ] || { echo "freeze missing: go install github.com/charmbracelet/freeze@v0.2.2" >&2; exit 3; }
for t in tmux proftpd python3 perl openssl; do command -v $t >/dev/null || { echo "$t missing" >&2; exit 3; }; done

tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null || true
  [ -f "$tmp/pid" ] && kill "$(cat "$tmp/pid")" 2>/dev/null || true
  [ -n "${ftp_pid:-}" ] && kill "$ftp_pid" 2>/dev/null || true
  sleep 0.3
  [ -n "${KEEP_TMP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

CGO_ENABLED=0 go build -o "$tmp/captune" .

# A throwaway proftpd with one virtual user, and a session that stays logged in.
port=$((20000 + RANDOM % 20000))
chmod 755 "$tmp"
mkdir -p "$tmp/home"
chown 1001:1001 "$tmp/home"
echo "ftptest:$(openssl passwd -6 secret):1001:1001::$tmp/home:/bin/sh" >"$tmp/passwd"
chmod 600 "$tmp/passwd"
cat >"$tmp/proftpd.conf" <<CONF
ServerType standalone
Port $port
DefaultAddress 127.0.0.1
UseIPv6 off
PidFile $tmp/pid
ScoreboardFile $tmp/scoreboard
DelayTable none
WtmpLog off
AuthUserFile $tmp/passwd
AuthOrder mod_auth_file.c
RequireValidShell off
User nobody
Group nogroup
CONF
proftpd -n -c "$tmp/proftpd.conf" >"$tmp/proftpd.log" 2>&1 &
for _ in $(seq 50); do [ -s "$tmp/pid" ] && break; sleep 0.1; done
python3 - "$port" >"$tmp/ftp.log" 2>&1 <<'PY' &
import ftplib, sys, time
f = ftplib.FTP()
for _ in range(50):
    try:
        f.connect("127.0.0.1", int(sys.argv[1]), timeout=5); break
    except OSError:
        time.sleep(0.1)
f.login("ftptest", "secret")
time.sleep(120)
PY
ftp_pid=$!
sleep 1.5

W=120 H=36
tmux -S "$sock" new-session -d -s shot -x $W -y $H "$tmp/captune --refresh 1s --config $tmp/proftpd.conf"
sleep 1.5
keys() { tmux -S "$sock" send-keys -t shot "$@"; sleep 0.6; }

shoot() { # name: capture the pane with colours and draw it
  tmux -S "$sock" capture-pane -t shot -e -p >"$tmp/$1.ansi"
  # freeze ignores SGR 39/49 (default colours): make them explicit.
  perl -pe 's/\e\[([0-9;]*)m/"\e[".join(";", map { $_ eq "39" ? "38;2;230;237;243" : $_ eq "49" ? "48;2;13;17;23" : $_ } split(";", $1))."m"/ge' \
    "$tmp/$1.ansi" >"$tmp/$1.fixed"
  "$FREEZE" --language ansi --window=false --padding 20 --background "#0d1117" \
    --font.size 14 -o "$repo/screenshots/$1.png" <"$tmp/$1.fixed" >/dev/null
  echo "screenshots/$1.png"
}

shoot processes
keys p
keys /; keys f t p t e s t; keys Enter
shoot proftpd-session
keys Tab
shoot grid
keys Space; keys Down Down Down; keys Space; keys Down Down Down Down Down Down Down Down Down Down Down Down Down Down
shoot tuner
keys x
shoot explain
keys Escape
keys P
shoot primer
keys Escape
keys a
keys y
sleep 1.5
shoot apply
keys k
keys Escape
keys q
