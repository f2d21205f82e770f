#!/usr/bin/env bash
# Runs a command (default: the whole end-to-end suite) on a machine made busy
# the way captune's tests must tolerate: a foreign proftpd (started with -c
# on a non-default path, as an administrator would) with a logged-in FTP
# session held open, another captune verify running in a loop, and two
# processes burning CPU. Everything it starts is stopped at the end, also on
# ctrl+c. Needs root, proftpd, openssl and a built tree.
#
#   scripts/busy-machine.sh                      # CAPTUNE_E2E=1 go test ./...
#   scripts/busy-machine.sh go test ./cli/ -run Drift
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
[ "$(id -u)" = 0 ] || { echo "busy-machine.sh: needs root (proftpd switches users only as root)" >&2; exit 4; }
command -v proftpd >/dev/null || { echo "busy-machine.sh: proftpd is not installed" >&2; exit 3; }
command -v openssl >/dev/null || { echo "busy-machine.sh: openssl is not installed" >&2; exit 3; }

work=$(mktemp -d /tmp/busy-machine.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # A verify of the loop may still run: SIGTERM makes it stop its proftpd.
  pkill -TERM -f "^$work/captune verify" 2>/dev/null || true
  [ -f "$work/proftpd.pid" ] && kill "$(cat "$work/proftpd.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A foreign proftpd on a free port, with a virtual user "busy".
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hash=$(openssl passwd -6 -salt busysalt busypass)
mkdir -p "$work/home" && chmod 0711 "$work" && chmod 0755 "$work/home"
echo "busy:$hash:64999:64999::$work/home:/bin/false" > "$work/passwd"
echo "busy:x:64999:busy" > "$work/group"
chmod 0600 "$work/passwd" "$work/group"
cat > "$work/ftp.conf" <<EOF
ServerName "busy machine"
ServerType standalone
DefaultServer on
Port $port
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
User nobody
Group nogroup
PidFile $work/proftpd.pid
ScoreboardFile $work/proftpd.scoreboard
DelayTable none
WtmpLog off
UseFtpUsers off
RequireValidShell off
AuthOrder mod_auth_file.c
AuthUserFile $work/passwd
AuthGroupFile $work/group
<IfModule mod_cap.c>
  CapabilitiesEngine on
  CapabilitiesSet -CAP_SETUID
</IfModule>
EOF
proftpd -c "$work/ftp.conf" </dev/null >"$work/proftpd.out" 2>&1
for _ in $(seq 50); do [ -s "$work/proftpd.pid" ] && break; sleep 0.1; done
master=$(cat "$work/proftpd.pid")

# A logged-in session, held open by a shell that owns the socket.
( exec 3<>"/dev/tcp/127.0.0.1/$port" </dev/null >/dev/null 2>&1; printf 'USER busy\r\nPASS busypass\r\n' >&3; exec sleep 100000 <&3 ) &
pids+=($!)
for _ in $(seq 50); do pgrep -P "$master" >/dev/null && break; sleep 0.1; done
sleep 0.5
echo "busy-machine: foreign proftpd master $master on 127.0.0.1:$port, sessions: $(pgrep -P "$master" | tr '\n' ' ')" >&2

# Another captune verify, again and again.
CGO_ENABLED=0 go build -o "$work/captune" .
( while :; do "$work/captune" verify -CAP_CHOWN || true; done ) >/dev/null 2>&1 &
pids+=($!)

# Heavy load: one busy loop per core.
for _ in $(seq "$(nproc)"); do ( while :; do :; done ) >/dev/null 2>&1 & pids+=($!); done

if [ $# -eq 0 ]; then
  set -- env CAPTUNE_E2E=1 CGO_ENABLED=0 go test -count=1 -timeout 40m ./...
fi
echo "busy-machine: running $*" >&2
set +e
"$@"
rc=$?
set -e
echo "busy-machine: exit $rc" >&2
exit $rc
