package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nobodyID is the unprivileged user the privilege tests run captune as.
const nobodyID = 65534

// needTool finds a program, or skips (fails under CAPTUNE_E2E).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return filepath.Join(dir, name)
			}
		}
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatalf("%s is not installed, and CAPTUNE_E2E is set", name)
		}
		t.Skipf("%s is not installed (set CAPTUNE_E2E=1 to make this a failure)", name)
	}
	return p
}

// sharedDir is a temporary folder every user may read and pass through.
func sharedDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-priv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if mode&0o1000 != 0 {
		mode = mode&0o777 | os.ModeSticky
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// leftovers lists what captune may create in the temporary folders: probe
// and verify folders, and panic reports.
func leftovers(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		for _, pat := range []string{"captune-probe-*", "captune-verify-*", "captune-panic-*"} {
			m, _ := filepath.Glob(filepath.Join(d, pat))
			out = append(out, m...)
		}
	}
	return out
}

type result struct {
	code           int
	stdout, stderr string
}

// runAs runs the captune binary as uid/gid with no supplementary groups
// in dir, with TMPDIR set to tmp.
func runAs(t *testing.T, uid uint32, tmp string, args ...string) result {
	t.Helper()
	cmd := exec.Command(captuneBin(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=" + tmp, "HOME=/nonexistent"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return result{code: exitCode(err), stdout: out.String(), stderr: errb.String()}
}

// TestUnprivileged runs the shipped binary as nobody (uid 65534, no
// groups): exploring commands work, apply and verify refuse with exit 4
// in one clear line, and nothing is left half-done.
func TestUnprivileged(t *testing.T) {
	needRoot(t)
	needTool(t, "proftpd") // verify must reach its privilege check, not "proftpd missing"
	tmp := sharedDir(t, 0o1777)
	conf := filepath.Join(sharedDir(t, 0o755), "proftpd.conf")
	if err := os.WriteFile(conf, []byte("<IfModule mod_cap.c>\n  CapabilitiesSet -CAP_CHOWN +CAP_FOWNER\n</IfModule>\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	works := []struct {
		args []string
		out  string
	}{
		{[]string{"ps"}, "PID"},
		{[]string{"ps", "--json"}, `"bounding"`},
		{[]string{"ps", "--tree", "--threads", "--all"}, "PID"},
		{[]string{"ps", "1"}, "bounding:"},
		{[]string{"decode", "00000000200004c1"}, "cap_audit_write"},
		{[]string{"explain"}, "cap_chown"},
		{[]string{"explain", "net_bind_service"}, "governs: bind(2)"},
		{[]string{"emit", "-CAP_CHOWN", "+CAP_FOWNER"}, "CapabilitiesSet -CAP_CHOWN +CAP_FOWNER"},
		{[]string{"emit", "--format", "capsh", "--user", "nobody"}, "capsh --keep=1"},
		{[]string{"predict", "-CAP_SETUID"}, "CapPrm:"},
		{[]string{"predict", "--config", conf, "--json"}, `"permitted"`},
	}
	for _, c := range works {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := runAs(t, nobodyID, tmp, c.args...)
			// ps compares the machine's proftpd sessions with their
			// configuration; a session someone else runs may differ
			// (exit 1, "drift"): that is ps's finding, not a privilege
			// failure, and drift's own tests judge it.
			if c.args[0] == "ps" && r.code == ExitDiffer && strings.Contains(r.stderr, "(drift)") {
				r.code = ExitOK
			}
			if r.code != ExitOK || !strings.Contains(r.stdout, c.out) {
				t.Errorf("exit %d, stdout lacks %q:\n%.400s\nstderr: %s", r.code, c.out, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "permission denied") {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}
	// ps as nobody reads every process without hidepid: its own, root's.
	r := runAs(t, nobodyID, tmp, "ps", "--json")
	if r.code != ExitOK && !(r.code == ExitDiffer && strings.Contains(r.stderr, "(drift)")) {
		t.Errorf("ps --json as nobody: exit %d: %s", r.code, r.stderr)
	}
	var procs []struct {
		PID int    `json:"pid"`
		UID uint32 `json:"uid"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &procs); err != nil {
		t.Fatalf("ps --json: %v", err)
	}
	uids := map[uint32]bool{}
	for _, p := range procs {
		uids[p.UID] = true
	}
	if !uids[0] || !uids[nobodyID] {
		t.Errorf("ps as nobody saw uids %v, want root's and nobody's processes", uids)
	}

	refuses := []struct {
		args []string
		want string
	}{
		{[]string{"apply", "--yes"}, "not launched: captune lacks"},
		{[]string{"apply", "--yes", "--json", "-CAP_SETUID"}, "not launched: captune lacks"},
		{[]string{"apply", "--yes", "--wait", "--config", conf}, "not launched: captune lacks"},
		{[]string{"apply", "--yes", "--mode", "raw", "--set", "cap_chown"}, "not launched: captune lacks cap_chown,cap_setpcap"},
		{[]string{"apply", "--yes", "--mode", "raw", "--set", "none", "--", "/bin/true"}, "not launched: captune lacks cap_setpcap"},
		{[]string{"apply", "--yes", "--keep=1m"}, "not launched: captune lacks"},
		{[]string{"verify"}, "needs root"},
		{[]string{"verify", "-CAP_SETUID", "--json"}, "needs root"},
		{[]string{"verify", "--config", conf}, "needs root"},
	}
	for _, c := range refuses {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := runAs(t, nobodyID, tmp, c.args...)
			if r.code != ExitPrivilege || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, want 4 with %q; stderr %q", r.code, c.want, r.stderr)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "captune: ") {
				t.Errorf("not one line: %q", r.stderr)
			}
			if strings.Contains(r.stdout, "daemon PID") || strings.Contains(r.stdout, "command PID") || strings.Contains(r.stdout, "proftpd:") {
				t.Errorf("something ran: %s", r.stdout)
			}
		})
	}
	// Nothing half-done: no probe or verify folder, here or in /tmp, and
	// no process of ours left.
	if l := leftovers(tmp); len(l) > 0 {
		t.Errorf("left in TMPDIR: %v", l)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("%d entries left in TMPDIR (first %s)", len(ents), ents[0].Name())
	}
	if ps := refersTo(filepath.Dir(captuneBin(t))); len(ps) > 0 {
		t.Errorf("processes of the binary left: %v", ps)
	}
}

// TestHidepidCLI runs captune ps --proc DIR as nobody on a fresh proc
// mount with hidepid=invisible and hidepid=noaccess, made in a private
// mount namespace (unshare --mount --propagation private --fork; the
// host's /proc is never remounted). Hidden processes are reported with
// procscan's notes and exit 0, never as errors.
func TestHidepidCLI(t *testing.T) {
	needRoot(t)
	unshare := needTool(t, "unshare")
	mount := needTool(t, "mount")
	setpriv := needTool(t, "setpriv")
	bin := captuneBin(t)
	hostNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	// A process of nobody's, which nobody must see under hidepid.
	sleeper := exec.Command("sleep", "120")
	sleeper.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyID, Gid: nobodyID, Groups: []uint32{}}}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	time.Sleep(50 * time.Millisecond) // let it exec

	// The script runs as root inside the new mount namespace: it checks
	// that the namespace is not the host's, mounts proc on DIR, and runs
	// captune as nobody.
	const script = `set -e
[ "$(readlink /proc/self/ns/mnt)" != "$HOST_NS" ] || { echo "refusing: not in a private mount namespace" >&2; exit 99; }
"$MOUNT" -t proc -o "hidepid=$MODE,nosuid,nodev,noexec" proc "$DIR"
"$SETPRIV" --reuid 65534 --regid 65534 --clear-groups "$BIN" ps --json --proc "$DIR" > "$OUT/json" 2> "$OUT/json.err" || echo $? > "$OUT/json.code"
"$SETPRIV" --reuid 65534 --regid 65534 --clear-groups "$BIN" ps --tree --proc "$DIR" > "$OUT/text" 2> "$OUT/text.err" || echo $? > "$OUT/text.code"
`
	for _, mode := range []string{"invisible", "noaccess"} {
		t.Run(mode, func(t *testing.T) {
			dir := sharedDir(t, 0o755)
			out := sharedDir(t, 0o777)
			cmd := exec.Command(unshare, "--mount", "--propagation", "private", "--fork", "sh", "-c", script)
			cmd.Env = append(os.Environ(), "HOST_NS="+hostNS, "MOUNT="+mount, "SETPRIV="+setpriv, "BIN="+bin,
				"MODE="+mode, "DIR="+dir, "OUT="+out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("unshare: %v\n%s", err, b)
			}
			if mi, err := os.ReadFile("/proc/self/mountinfo"); err != nil || strings.Contains(string(mi), dir) {
				t.Fatalf("%s is mounted in the host's namespace (%v)", dir, err)
			}
			read := func(name string) string { b, _ := os.ReadFile(filepath.Join(out, name)); return string(b) }
			for _, form := range []string{"json", "text"} {
				if code := strings.TrimSpace(read(form + ".code")); code != "" {
					t.Errorf("ps (%s) exit %s: %s", form, code, read(form+".err"))
				}
				errs := read(form + ".err")
				want := map[string]string{
					"invisible": "captune: other users' processes are not visible: proc is mounted with hidepid=invisible\n",
					"noaccess":  "processes could not be read: permission (proc is mounted with hidepid)\n",
				}[mode]
				if !strings.Contains(errs, want) {
					t.Errorf("ps (%s) stderr %q lacks the note %q", form, errs, want)
				}
				for _, ln := range strings.Split(strings.TrimSpace(errs), "\n") {
					if !strings.HasPrefix(ln, "captune: ") || strings.Contains(ln, "error") || strings.Contains(ln, "denied") {
						t.Errorf("ps (%s): stderr line %q is not a note", form, ln)
					}
				}
			}
			var procs []struct {
				PID int    `json:"pid"`
				UID uint32 `json:"uid"`
			}
			if err := json.Unmarshal([]byte(read("json")), &procs); err != nil {
				t.Fatalf("ps --json: %v\n%s", err, read("json"))
			}
			seen := map[int]bool{}
			for _, p := range procs {
				seen[p.PID] = true
				if p.UID != nobodyID {
					t.Errorf("PID %d of uid %d listed to nobody under hidepid=%s", p.PID, p.UID, mode)
				}
			}
			if !seen[sleeper.Process.Pid] || seen[1] {
				t.Errorf("nobody's sleep %d seen %v, PID 1 seen %v", sleeper.Process.Pid, seen[sleeper.Process.Pid], seen[1])
			}
			if text := read("text"); !strings.Contains(text, strconv.Itoa(sleeper.Process.Pid)) || !strings.Contains(text, "sleep") {
				t.Errorf("text output lacks nobody's sleep:\n%s", text)
			}
		})
	}
}

// TestLacksCapabilityExit4 runs apply inside capsh as nobody with only
// some of what it needs: each run exits 4 with one line naming what
// captune lacks and why, in the words of apply --help, and nothing is
// made. (One of them once exited 1 after "lchown ...: operation not
// permitted", having made a probe folder.)
func TestLacksCapabilityExit4(t *testing.T) {
	needRoot(t)
	capsh := needTool(t, "capsh")
	bin := captuneBin(t)
	_, help, _ := run(t, "apply", "--help")
	flat := strings.Join(strings.Fields(help), " ")
	for _, purpose := range []string{"CAP_SETUID and CAP_SETGID to switch to the daemon's uid and gid", "CAP_SETPCAP to narrow the bounding set and hand over inheritable capabilities", "CAP_CHOWN to give the daemon's files their owners", "Exit 4 when captune lacks one of these"} {
		if !strings.Contains(flat, purpose) {
			t.Errorf("apply --help lacks %q", purpose)
		}
	}
	for _, c := range []struct {
		caps, args, want string
	}{
		{"cap_setpcap", "apply --yes --mode raw --uid nobody --set none", "captune lacks cap_chown in its effective set (needed to give the probe daemon's files their owners)"},
		{"cap_setpcap,cap_setuid", "apply --yes --mode raw --uid nobody --set none", "captune lacks cap_chown in its effective set (needed to give the probe daemon's files their owners)"},
		{"cap_setpcap,cap_chown", "apply --yes --mode raw --uid 1 --set none", "captune lacks cap_setgid,cap_setuid in its effective set (needed to switch to the daemon's uid and gid)"},
		{"cap_chown", "apply --yes --mode raw --uid nobody --set none", "captune lacks cap_setpcap in its effective set (needed to narrow the bounding set and hand over inheritable capabilities)"},
	} {
		t.Run(c.caps+" "+c.args, func(t *testing.T) {
			tmp := sharedDir(t, 0o1777)
			cmd := exec.Command(capsh, "--caps="+c.caps+",cap_setuid,cap_setgid,cap_setpcap+eip", "--keep=1", "--user=nobody", "--addamb="+c.caps, "--", "-c", "exec "+bin+" "+c.args)
			cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=" + tmp}
			cmd.Dir = "/"
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := exitCode(cmd.Run())
			if code != ExitPrivilege || !strings.Contains(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("exit %d, want 4 with %q; stderr %q", code, c.want, stderr.String())
			}
			if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
				t.Errorf("made %s", ents[0].Name())
			}
		})
	}
}

// TestHiddenModesHostileArgv runs the shipped binary's hidden modes by
// hand, as nobody, the way they once took their plan (JSON in argv, pipes
// on fds 3 and 4): from a copy holding file capabilities (setcap
// cap_setuid,cap_setgid,cap_setpcap+ep), and inside capsh with those
// capabilities ambient. The supervisor is asked to run a shell as uid 0
// with the whole bounding set; the probe daemon is pointed at a folder of
// nobody's whose chmod-me is a hard link to a root-owned 0600 file. No
// shell runs, and the file keeps its mode. (Before, the shell ran as uid
// 0 with every capability, and the file became 0640.)
func TestHiddenModesHostileArgv(t *testing.T) {
	needRoot(t)
	capsh := needTool(t, "capsh")
	setcap := needTool(t, "setcap")
	dir := sharedDir(t, 0o755)
	capped := filepath.Join(dir, "captune")
	if out, err := exec.Command("cp", captuneBin(t), capped).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if out, err := exec.Command(setcap, "cap_setuid,cap_setgid,cap_setpcap+ep", capped).CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v %s", err, out)
	}
	if out, _ := exec.Command(needTool(t, "getcap"), capped).Output(); !strings.Contains(string(out), "=ep") {
		t.Fatalf("%s keeps no file capabilities here: %q", dir, out)
	}
	outDir := sharedDir(t, 0o777)
	marker := filepath.Join(outDir, "ran-as")
	spec := fmt.Sprintf(`{"path":"/bin/sh","args":["sh","-c","id -u > %s; grep CapEff /proc/self/status >> %s"],"uid":0,"gid":0,"groups":[],"inh":0,"amb":0,"bnd":2199023255551,"keep":0}`, marker, marker)
	// A folder of nobody's shaped like a probe folder, whose chmod-me is a
	// hard link to a root-owned 0600 file.
	secret := filepath.Join(dir, "root-secret")
	if err := os.WriteFile(secret, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	probeDir := sharedDir(t, 0o755)
	for _, name := range []string{"probe-area", "chown-me", "secret", "writable", "setgid-me"} {
		os.WriteFile(filepath.Join(probeDir, name), nil, 0o644)
	}
	if err := os.Link(secret, filepath.Join(probeDir, "chmod-me")); err != nil {
		t.Fatal(err)
	}
	os.Chown(probeDir, nobodyID, nobodyID)
	testdSpec := fmt.Sprintf(`{"shape":false,"dir":%q,"other_uid":0,"other_gid":0,"keep":0}`, probeDir)
	before := stampOf(secret)
	const caps = "cap_setuid,cap_setgid,cap_setpcap"
	for _, c := range []struct {
		name string
		argv []string
	}{
		{"setcap copy, supervisor", []string{"setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "/bin/sh", "-c", `exec "$0" __captune-supervise "$1" 3</dev/null 4>/dev/null`, capped, spec}},
		{"capsh, supervisor", []string{capsh, "--caps=" + caps + "+eip", "--keep=1", "--user=nobody", "--addamb=" + caps, "--", "-c", `exec "$0" __captune-supervise "$1" 3</dev/null 4>/dev/null`, captuneBin(t), spec}},
		{"capsh, probe daemon", []string{capsh, "--caps=" + caps + ",cap_fowner,cap_chown+eip", "--keep=1", "--user=nobody", "--addamb=" + caps + ",cap_fowner,cap_chown", "--", "-c", `exec "$0" __captune-testd "$1" 3</dev/null 4>/dev/null`, captuneBin(t), testdSpec}},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(marker)
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			if c.argv[0] == "setpriv" {
				cmd = exec.Command(needTool(t, "setpriv"), c.argv[1:]...)
			}
			cmd.Dir = "/"
			out, err := cmd.CombinedOutput()
			time.Sleep(200 * time.Millisecond)
			if b, rerr := os.ReadFile(marker); rerr == nil {
				t.Errorf("the hostile shell ran: %q (%s)", b, out)
			}
			if exitCode(err) == 0 {
				t.Errorf("exit 0: %s", out)
			}
			if after := stampOf(secret); after != before {
				t.Errorf("the root-owned file changed: %+v -> %+v", before, after)
			}
		})
	}
}

// TestHostilePlace: another user made captune's private place first in a
// shared temporary folder (a folder of theirs, or a symbolic link to one):
// apply and verify refuse with one line naming it and exit 3, and nothing
// of theirs changes.
func TestHostilePlace(t *testing.T) {
	needRoot(t)
	needTool(t, "proftpd")
	for _, kind := range []string{"folder", "symlink"} {
		t.Run(kind, func(t *testing.T) {
			tmp := sharedDir(t, 0o1777)
			theirs := sharedDir(t, 0o777)
			os.Chown(theirs, nobodyID, nobodyID)
			place := filepath.Join(tmp, "captune-0")
			if kind == "folder" {
				os.Mkdir(place, 0o777)
				os.Chmod(place, 0o777)
				os.Chown(place, nobodyID, nobodyID)
			} else {
				os.Symlink(theirs, place)
			}
			for _, args := range [][]string{{"apply", "--yes", "-CAP_CHOWN"}, {"verify"}} {
				cmd := captuneCmd(t, tmp, args...)
				var stdout, stderr strings.Builder
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				code := exitCode(cmd.Run())
				if code != ExitMissing || !strings.Contains(stderr.String(), place) || strings.Count(stderr.String(), "\n") != 1 || stdout.Len() > 0 {
					t.Errorf("%v: exit %d, stderr %q, stdout %q; want 3, one line naming %s, before any plan", args, code, stderr.String(), stdout.String(), place)
				}
			}
			if ents, _ := os.ReadDir(theirs); len(ents) > 0 {
				t.Errorf("made %s in the other user's folder", ents[0].Name())
			}
			if kind == "folder" {
				if ents, _ := os.ReadDir(place); len(ents) > 0 {
					t.Errorf("made %s in the other user's place", ents[0].Name())
				}
			}
		})
	}
}
