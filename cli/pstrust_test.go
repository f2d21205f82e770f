package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// runWithin runs captune in the test process and fails the test when it
// has not returned in a generous time (a blocked open never returns).
func runWithin(t *testing.T, limit time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		c := Run(Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, ProcRoot: "/proc", Getenv: os.Getenv}, args)
		done <- result{c, out.String(), errb.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.err
	case <-time.After(limit):
		t.Fatalf("captune %q still running after %v: blocked", args, limit)
	}
	return 0, "", ""
}

// TestPsFixtureMalformed: non-hex masks, a 19-digit mask and a missing
// CapBnd: line are counted and named on stderr (exit 0), never shown as
// a process holding nothing; ps PID says why that PID is missing.
func TestPsFixtureMalformed(t *testing.T) {
	root := fixtureRoot("proc-badmask")
	code, out, errs := run(t, "ps", "--json", "--proc", root)
	var procs []procJSON
	if err := json.Unmarshal([]byte(out), &procs); err != nil || code != ExitOK {
		t.Fatalf("exit %d %v\n%s", code, err, errs)
	}
	if len(procs) != 2 || procs[0].PID != 1 || procs[1].PID != 33 {
		t.Errorf("listed %+v", procs)
	}
	want := "captune: 3 processes left out, malformed (not as a kernel writes it): ../procscan/testdata/proc-badmask/30/status: CapPrm: \"zz000000000004c1\" is not a hex mask (and 2 more)\n"
	if errs != want {
		t.Errorf("stderr %q, want %q", errs, want)
	}
	code, _, errs = run(t, "ps", "--proc", root, "31")
	if code != ExitUsage || !strings.Contains(errs, `31/status: CapEff: "0000000000000000001" has 19 hex digits (a mask has at most 16)`) ||
		!strings.Contains(errs, "no such process (or not visible): 31") {
		t.Errorf("ps 31: exit %d %q", code, errs)
	}
}

// TestPsFixtureLookAlikes: processes named proftpd that another user runs
// or whose executable is not root's proftpd are ignored with a note, and
// their children, titled like sessions, are neither sessions nor drift.
func TestPsFixtureLookAlikes(t *testing.T) {
	needRootOwnedFixture(t, "proc-lookalike")
	root := fixtureRoot("proc-lookalike")
	code, out, errs := run(t, "ps", "--json", "--proc", root)
	var procs []procJSON
	if err := json.Unmarshal([]byte(out), &procs); err != nil || code != ExitOK {
		t.Fatalf("exit %d %v\n%s", code, err, errs)
	}
	m := byPID(procs)
	for pid, role := range map[int]string{600: "", 601: "", 700: "", 701: "", 800: "", 900: "proftpd-master", 901: "proftpd-session"} {
		if m[pid].Role != role || (role == "" && (m[pid].FTPUser != "" || m[pid].Drift != nil || m[pid].ConfigStatus != "")) {
			t.Errorf("PID %d: %+v, want role %q", pid, m[pid], role)
		}
	}
	want := "captune: ignored 2 processes named proftpd that are not a credible proftpd master (PID 600: real uid 1000, not root); their children are not taken for FTP sessions (and 1 more)\n"
	if !strings.HasPrefix(errs, want) {
		t.Errorf("stderr %q, want it to start with %q", errs, want)
	}
}

// hostileProc builds a proc tree a hostile user could hand to ps --proc.
func hostileProc(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	good, err := os.ReadFile(filepath.Join(fixtureRoot("proc-proftpd"), "1", "status"))
	if err != nil {
		t.Fatal(err)
	}
	put := func(rel string, data string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	named := func(name string) string {
		return strings.Replace(string(good), "Name:\tsystemd\n", "Name:\t"+name+"\n", 1)
	}
	os.MkdirAll(filepath.Join(root, "10"), 0o755)
	os.MkdirAll(filepath.Join(root, "11"), 0o755)
	os.MkdirAll(filepath.Join(root, "sys", "kernel"), 0o755)
	if err := os.Symlink("/dev/zero", filepath.Join(root, "10", "status")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "11", "status"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "sys", "kernel", "cap_last_cap"), 0o644); err != nil {
		t.Fatal(err)
	}
	put("1/status", string(good))
	put("1/cmdline", "/sbin/init\x00")
	put("12/status", named(strings.Repeat("N", 10<<20)))
	put("13/status", named("\x1b]0;owned\a\x1b[2J"+strings.Repeat("w", 500)))
	put("13/cmdline", strings.Repeat("a", 10<<20))
	return root
}

// TestPsHostileProc: a crafted --proc tree (a status that is /dev/zero,
// a FIFO, a 10 MB Name line, an escape sequence in a name, a 10 MB command
// line) ends in bounded time with the sane processes listed, the bad ones
// counted, and no row padded to the width of a crafted name.
func TestPsHostileProc(t *testing.T) {
	root := hostileProc(t)
	code, out, errs := runWithin(t, time.Minute, "ps", "--proc", root)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, ln := range strings.Split(out, "\n") {
		if utf8.RuneCountInString(ln) > 160 {
			t.Errorf("row of %d columns: %.200q", utf8.RuneCountInString(ln), ln)
		}
	}
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `\x1b]0;owned\x07\x1b[2J`) {
		t.Errorf("the escape in a name is not escaped:\n%q", out)
	}
	if lines := strings.Count(out, "\n"); lines != 3 {
		t.Errorf("%d lines, want a header and PIDs 1 and 13:\n%s", lines, out)
	}
	if !strings.Contains(errs, "3 processes left out, malformed") || strings.Count(errs, "\n") != 1 {
		t.Errorf("stderr %q", errs)
	}
	code, out, _ = runWithin(t, time.Minute, "ps", "--json", "--proc", root, "13")
	var procs []procJSON
	if err := json.Unmarshal([]byte(out), &procs); err != nil || code != ExitOK || len(procs) != 1 {
		t.Fatalf("exit %d %v", code, err)
	}
	if p := procs[0]; !p.CmdlineCut || len(p.Cmdline[0]) != 256<<10 || len(out) > 300<<10 {
		t.Errorf("10 MB command line: cut %v, %d bytes, output %d bytes", p.CmdlineCut, len(p.Cmdline[0]), len(out))
	}
}
