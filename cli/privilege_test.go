package cli

import (
	"bytes"
	"encoding/json"
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
	beforeTmp := len(leftovers(os.TempDir()))

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
		{[]string{"apply", "--yes", "--mode", "raw", "--set", "cap_chown"}, "not launched: captune lacks cap_setpcap"},
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
			if strings.Contains(r.stdout, "daemon PID") || strings.Contains(r.stdout, "proftpd:") {
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
	if n := len(leftovers(os.TempDir())); n != beforeTmp {
		t.Errorf("%d captune folders in %s before, %d after", beforeTmp, os.TempDir(), n)
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
