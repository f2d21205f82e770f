package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"captune/capset"
)

// The fixture proc trees live with the procscan tests.
func fixtureRoot(name string) string { return filepath.Join("..", "procscan", "testdata", name) }

// psJSONOut runs ps --json and decodes its array.
func psJSONOut(t *testing.T, args ...string) []procJSON {
	t.Helper()
	code, out, errs := run(t, append([]string{"ps", "--json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("ps --json %q: exit %d, stderr %q", args, code, errs)
	}
	var procs []procJSON
	if err := json.Unmarshal([]byte(out), &procs); err != nil {
		t.Fatalf("ps --json %q: %v\n%s", args, err, out)
	}
	return procs
}

func byPID(procs []procJSON) map[int]procJSON {
	m := map[int]procJSON{}
	for _, p := range procs {
		m[p.PID] = p
	}
	return m
}

func TestPsFixtureNamesEscaped(t *testing.T) {
	root := fixtureRoot("proc-names")
	m := byPID(psJSONOut(t, "--proc", root))
	want := map[int]string{
		20: "my prog (x) ) R",
		21: `evil\x0aname`,
		22: `back\slash`,
		23: `bad\xff\xfename`,
		24: " lead trail ",
		25: `tab\x09here`,
		26: "caf\u00e9:x",
	}
	for pid, comm := range want {
		if got := m[pid].Comm; got != comm {
			t.Errorf("PID %d: comm %q, want %q", pid, got, comm)
		}
	}
	code, out, errs := run(t, "ps", "--proc", root)
	if code != ExitOK || errs != "" || !utf8.ValidString(out) {
		t.Fatalf("exit %d stderr %q valid UTF-8 %v", code, errs, utf8.ValidString(out))
	}
	// One line per process: a newline in a name never breaks a row.
	if lines := strings.Count(out, "\n"); lines != len(m)+1 {
		t.Errorf("%d lines for %d processes:\n%s", lines, len(m), out)
	}
	for _, s := range []string{`evil\x0aname`, `bad\xff\xfename`, `tab\x09here`, "my prog (x) ) R", " lead trail ", "caf\u00e9:x"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
	if strings.ContainsAny(out, "\xff\t") {
		t.Errorf("raw bytes in the table:\n%q", out)
	}
}

// needRootOwnedFixture skips (or fails under CAPTUNE_E2E) a test whose
// fixture tree's stand-in proftpd must belong to root, as a real master's
// executable does: true when the tree was checked out by root.
func needRootOwnedFixture(t *testing.T, tree string) {
	t.Helper()
	st, err := os.Stat(filepath.Join(fixtureRoot(tree), "bin", "proftpd"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatalf("the fixture's stand-in proftpd is owned by uid %d, not root, and CAPTUNE_E2E is set", uid)
		}
		t.Skipf("the fixture's stand-in proftpd is owned by uid %d: only a root-owned executable makes a credible master (check the tree out as root)", uid)
	}
}

func TestPsFixtureProftpd(t *testing.T) {
	needRootOwnedFixture(t, "proc-proftpd")
	root := fixtureRoot("proc-proftpd")
	code, out, _ := run(t, "ps", "--proc", root, "--tree")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"proftpd(master)", "proftpd(session)", "proftpd(pre-login)"} {
		if !strings.Contains(out, s) {
			t.Errorf("tree lacks %q:\n%s", s, out)
		}
	}
	m := byPID(psJSONOut(t, "--proc", root))
	if s := m[501]; s.Role != "proftpd-session" || s.FTPUser != "ftptest" || s.FTPHost != "localhost" || s.FTPState != "IDLE" {
		t.Errorf("501: %+v", s)
	}
	for _, pid := range []int{502, 503} {
		if p := m[pid]; p.Role != "proftpd-prelogin" || p.FTPUser != "" {
			t.Errorf("%d: %+v", pid, p)
		}
	}
	if m[500].Role != "proftpd-master" {
		t.Errorf("500: %+v", m[500])
	}
	code, out, _ = run(t, "ps", "--proc", root, "501")
	if code != ExitOK || !strings.Contains(out, "role:        proftpd-session (ftp user ftptest from localhost, IDLE)") {
		t.Errorf("detail: exit %d\n%s", code, out)
	}
	if code, _, errs := run(t, "ps", "--proc", root, "501", "99999"); code != ExitUsage || !strings.Contains(errs, "no such process (or not visible): 99999") {
		t.Errorf("missing pid: exit %d, %q", code, errs)
	}
}

func TestPsFixtureOddCases(t *testing.T) {
	// Pre-4.3 kernel: no ambient set.
	code, out, _ := run(t, "ps", "--proc", fixtureRoot("proc-noamb"), "200")
	if code != ExitOK || !strings.Contains(out, "ambient:     (this kernel has no ambient set)") || !strings.Contains(out, "bounding:    0000003fffffffff  all") {
		t.Errorf("noamb: exit %d\n%s", code, out)
	}
	// Bits no capability has yet are kept.
	hb := byPID(psJSONOut(t, "--proc", fixtureRoot("proc-highbits"), "10"))[10]
	if hb.Effective != "0004000000002000" || hb.Permitted != "8004000000002000" || hb.Bounding != "ffffffffffffffff" || hb.Ambient != "0004000000000000" {
		t.Errorf("high bits: %+v", hb)
	}
	// Truncated status files and malformed Uid: lines drop the process,
	// counted in one note on stderr that names an example.
	for tree, c := range map[string]struct {
		want []int
		note string
	}{
		"proc-truncated": {[]int{1, 106}, "captune: 6 processes left out, malformed (not as a kernel writes it): ../procscan/testdata/proc-truncated/100/status: cut short: the last line has no newline (and 5 more)\n"},
		"proc-baduid":    {[]int{1, 18}, "captune: 8 processes left out, malformed (not as a kernel writes it): ../procscan/testdata/proc-baduid/10/status: Uid: \"abc\\tdef\\tghi\\tjkl\" is not three or four uids (and 7 more)\n"},
	} {
		code, out, errs := run(t, "ps", "--json", "--proc", fixtureRoot(tree))
		var procs []procJSON
		if err := json.Unmarshal([]byte(out), &procs); err != nil || code != ExitOK || errs != c.note {
			t.Fatalf("%s: exit %d stderr %q (want %q) %v", tree, code, errs, c.note, err)
		}
		var got []int
		for _, p := range procs {
			got = append(got, p.PID)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: pids %v, want %v", tree, got, c.want)
		}
	}
	// A zombie is listed by its name.
	code, out, _ = run(t, "ps", "--proc", fixtureRoot("proc-zombie"), "50")
	if code != ExitOK || !strings.Contains(out, "command:     defunct\n") {
		t.Errorf("zombie: exit %d\n%s", code, out)
	}
	// Kernel threads only with --all.
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "[1 40]"},
		{[]string{"--all"}, "[1 2 3 40]"},
	} {
		var got []int
		for _, p := range psJSONOut(t, append([]string{"--proc", fixtureRoot("proc-kthread")}, c.args...)...) {
			got = append(got, p.PID)
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("kthread %q: %v, want %s", c.args, got, c.want)
		}
	}
	// A thread whose sets differ from its leader's.
	root := fixtureRoot("proc-threads")
	code, out, _ = run(t, "ps", "--proc", root, "--threads")
	if code != ExitOK || !strings.Contains(out, "thread 302 (worker-drop) differs: cap_chown,cap_setgid,cap_setuid,cap_net_bind_service,cap_net_admin,cap_net_raw=p") {
		t.Errorf("threads: exit %d\n%s", code, out)
	}
	th := byPID(psJSONOut(t, "--proc", root, "300"))[300].Threads
	if len(th) != 1 || th[0].TID != 302 || th[0].Effective != "0000000000000000" || th[0].Permitted != "00000000000034c1" {
		t.Errorf("threads JSON %+v", th)
	}
	code, out, _ = run(t, "ps", "--proc", root, "300")
	if code != ExitOK || !strings.Contains(out, "threads:     3, 1 differ from the leader:") {
		t.Errorf("thread detail: exit %d\n%s", code, out)
	}
}

// Live: processes started with capsh, checked against the kernel.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CAPTUNE_E2E") != "" {
		t.Fatalf("this test needs root (euid is %d) and CAPTUNE_E2E is set", os.Geteuid())
	}
	t.Skipf("needs root to start processes with chosen capabilities (euid %d); set CAPTUNE_E2E=1 to make this a failure", os.Geteuid())
}

// capshSleep starts capsh ARGS -- -c 'exec sleep 60' and waits until the
// shell has become sleep.
func capshSleep(t *testing.T, args ...string) int {
	t.Helper()
	capsh, err := exec.LookPath("capsh")
	if err != nil {
		capsh = "/usr/sbin/capsh"
		if _, err := os.Stat(capsh); err != nil {
			if os.Getenv("CAPTUNE_E2E") != "" {
				t.Fatal("capsh is not installed and CAPTUNE_E2E is set")
			}
			t.Skip("capsh is not installed")
		}
	}
	cmd := exec.Command(capsh, append(args, "--", "-c", "exec sleep 60")...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(10 * time.Second); ; {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && string(b) == "sleep\n" {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("capsh %q never became sleep", args)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func kernelStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, ln := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(ln, ":\t"); ok {
			m[k] = v
		}
	}
	return m
}

func hexSet(t *testing.T, s string) capset.Set {
	t.Helper()
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		t.Fatalf("mask %q: %v", s, err)
	}
	return capset.Set(v)
}

var markersRE = regexp.MustCompile(`\[([^\]]*)\]\s*$`)

// psMarkers returns the markers of one process's row in the ps table.
func psMarkers(t *testing.T, pid int) map[string]bool {
	t.Helper()
	code, out, errs := run(t, "ps", "--filter", strconv.Itoa(pid))
	if code != ExitOK {
		t.Fatalf("ps --filter %d: exit %d %q", pid, code, errs)
	}
	for _, ln := range strings.Split(out, "\n") {
		if f := strings.Fields(ln); len(f) > 0 && f[0] == strconv.Itoa(pid) {
			m := map[string]bool{}
			if g := markersRE.FindStringSubmatch(ln); g != nil {
				for _, x := range strings.Fields(g[1]) {
					m[x] = true
				}
			}
			return m
		}
	}
	t.Fatalf("pid %d not in:\n%s", pid, out)
	return nil
}

func TestPsLiveCapsh(t *testing.T) {
	requireRoot(t)
	last, err := capset.LastCap("/proc")
	if err != nil {
		t.Fatal(err)
	}
	known := capset.KnownSet(last)
	for _, c := range []struct {
		name    string
		args    []string
		uid     uint32
		amb     capset.Set // the ambient set asked for
		nnp     bool
		dropBnd capset.Cap // a capability dropped from the bounding set (0: none)
		markers []string   // markers that must be shown
	}{
		{"ambient", []string{"--caps=cap_net_raw,cap_chown+eip cap_setuid,cap_setgid+ep", "--keep=1", "--user=nobody", "--addamb=cap_net_raw"},
			65534, capset.Of(13), false, 0, []string{"^amb"}},
		{"drop-bounding", []string{"--drop=cap_sys_admin"}, 0, 0, false, 21, []string{"!bnd"}},
		{"no-new-privs", []string{"--no-new-privs"}, 0, 0, true, 0, []string{"nnp"}},
		{"nobody", []string{"--user=nobody"}, 65534, 0, false, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			pid := capshSleep(t, c.args...)
			k := kernelStatus(t, pid)
			ps := byPID(psJSONOut(t, strconv.Itoa(pid)))[pid]
			// The five masks exactly as the kernel prints them.
			for _, f := range []struct{ key, got string }{
				{"CapInh", ps.Inheritable}, {"CapPrm", ps.Permitted}, {"CapEff", ps.Effective},
				{"CapBnd", ps.Bounding}, {"CapAmb", ps.Ambient},
			} {
				if f.got != k[f.key] {
					t.Errorf("%s: ps %q, kernel %q", f.key, f.got, k[f.key])
				}
			}
			if ps.NoNewPrivs != (k["NoNewPrivs"] == "1") || ps.NoNewPrivs != c.nnp {
				t.Errorf("no_new_privs %v, kernel %q, want %v", ps.NoNewPrivs, k["NoNewPrivs"], c.nnp)
			}
			if ps.UID != c.uid || ps.EUID != c.uid || !strings.HasPrefix(k["Uid"], strconv.Itoa(int(c.uid))+"\t") {
				t.Errorf("uid %d euid %d, kernel %q, want %d", ps.UID, ps.EUID, k["Uid"], c.uid)
			}
			if amb := hexSet(t, ps.Ambient); amb != c.amb {
				t.Errorf("ambient %s, want %s", amb.Hex(), c.amb.Hex())
			}
			bnd := hexSet(t, ps.Bounding)
			if c.dropBnd != 0 && bnd.Has(c.dropBnd) {
				t.Errorf("bounding %s still has %s", bnd.Hex(), c.dropBnd)
			}
			if c.name == "nobody" && (ps.Permitted != "0000000000000000" || ps.Effective != "0000000000000000" || ps.Inheritable != "0000000000000000") {
				t.Errorf("nobody holds %+v", ps)
			}
			// Markers follow the kernel's values.
			m := psMarkers(t, pid)
			want := map[string]bool{
				"^amb": k["CapAmb"] != "0000000000000000",
				"!bnd": known&^hexSet(t, k["CapBnd"]) != 0,
				"nnp":  k["NoNewPrivs"] == "1",
			}
			for mk, on := range want {
				if m[mk] != on {
					t.Errorf("marker %s shown %v, kernel says %v (markers %v)", mk, m[mk], on, m)
				}
			}
			for _, mk := range c.markers {
				if !m[mk] {
					t.Errorf("marker %s missing (markers %v)", mk, m)
				}
			}
			if m["seccomp"] || m["userns"] || m["fcaps"] {
				t.Errorf("unexpected markers %v", m)
			}
		})
	}
}
