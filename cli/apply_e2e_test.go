package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"captune/capset"
	"captune/launch"
)

// needRoot skips without root, or fails when CAPTUNE_E2E is set.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatal("apply tests need root, and CAPTUNE_E2E is set")
		}
		t.Skip("apply tests need root (set CAPTUNE_E2E=1 to make this a failure)")
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain removes the binary captuneBin built.
func TestMain(m *testing.M) {
	// The test binary stands in for captune when the in-process runs
	// start a hidden mode (verify's janitor).
	if code, ok := launch.Hidden(os.Args[1:]); ok {
		os.Exit(code)
	}
	code := m.Run()
	launch.Shutdown()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// captuneBin builds the shipped binary once for the package's tests.
func captuneBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "captune-bin-")
		if err != nil {
			binErr = err
			return
		}
		os.Chmod(dir, 0o755)
		binPath = filepath.Join(dir, "captune")
		cmd := exec.Command("go", "build", "-o", binPath, "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type applyOut struct {
	PID         int               `json:"pid"`
	UID         uint32            `json:"uid"`
	Mode        string            `json:"mode"`
	Intended    map[string]string `json:"intended"`
	Actual      map[string]string `json:"actual"`
	Match       bool              `json:"match"`
	Differences []string          `json:"differences"`
	Probes      []probeJSON       `json:"probes"`
}

func runApplyJSON(t *testing.T, args ...string) (applyOut, string, int) {
	t.Helper()
	cmd := exec.Command(captuneBin(t), append([]string{"apply", "--yes", "--json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var res applyOut
	if code == 0 || code == 1 {
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("apply %v: %v\nstdout %s\nstderr %s", args, err, out, stderr.String())
		}
	}
	return res, stderr.String(), code
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie is dead for our purpose.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive after %s", pid, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func applyHex(t *testing.T, s string) capset.Set {
	t.Helper()
	v, err := capset.ParseHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// probesAgree checks every probe verdict against the daemon's sets.
func probesAgree(t *testing.T, res applyOut) {
	t.Helper()
	eff, prm := applyHex(t, res.Actual["effective"]), applyHex(t, res.Actual["permitted"])
	if len(res.Probes) != 8 {
		t.Errorf("%d probes, want 8", len(res.Probes))
	}
	for _, p := range res.Probes {
		c, err := capset.ParseCap(p.Capability)
		if err != nil {
			t.Fatal(err)
		}
		want := "denied"
		switch {
		case eff.Has(c):
			want = "allowed"
		case prm.Has(c):
			want = "permitted-only"
		}
		if p.Result == "not-testable" && c == capset.NetBindService {
			continue
		}
		if p.Result != want {
			t.Errorf("%s: %s (%s), want %s (effective %s, permitted %s)", p.Capability, p.Result, p.Errno, want, eff.Hex(), prm.Hex())
		}
	}
}

func TestApplyModcapSets(t *testing.T) {
	needRoot(t)
	cases := []struct {
		tokens   []string
		prm, eff capset.Set
	}{
		{nil, 0x200004c1, 0},
		{[]string{"-CAP_SETUID"}, 0x401, 0x401},
		{[]string{"+CAP_DAC_READ_SEARCH", "+CAP_FOWNER"}, 0x4cd, 0},
		{[]string{"-CAP_CHOWN", "+CAP_FSETID", "-CAP_SETUID"}, 0x410, 0x410},
		{[]string{"+CAP_DAC_OVERRIDE", "-CAP_SETUID"}, 0x403, 0x403},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.tokens, " "), func(t *testing.T) {
			res, stderr, code := runApplyJSON(t, c.tokens...)
			if code != 0 || !res.Match {
				t.Fatalf("exit %d, match %v, differences %v\n%s", code, res.Match, res.Differences, stderr)
			}
			if applyHex(t, res.Actual["permitted"]) != c.prm || applyHex(t, res.Actual["effective"]) != c.eff {
				t.Errorf("actual %v", res.Actual)
			}
			if res.Actual["inheritable"] != "0000000000000000" || res.Actual["ambient"] != "0000000000000000" {
				t.Errorf("inheritable/ambient not empty: %v", res.Actual)
			}
			probesAgree(t, res)
			waitGone(t, res.PID, 3*time.Second)
		})
	}
}

func TestApplyRawSets(t *testing.T) {
	needRoot(t)
	for _, c := range []struct {
		set, uid string
	}{
		{"cap_net_raw,cap_chown", "nobody"},
		{"none", "nobody"},
		{"cap_setuid,cap_fowner,cap_dac_override", "65533"},
		{"cap_net_bind_service,cap_kill", "root"},
	} {
		t.Run(c.set+"-"+c.uid, func(t *testing.T) {
			res, stderr, code := runApplyJSON(t, "--mode", "raw", "--set", c.set, "--uid", c.uid)
			if code != 0 || !res.Match {
				t.Fatalf("exit %d, match %v, differences %v\n%s", code, res.Match, res.Differences, stderr)
			}
			want, _ := capset.Parse(c.set)
			if c.set == "none" {
				want = 0
			}
			if applyHex(t, res.Actual["permitted"]) != want || applyHex(t, res.Actual["effective"]) != want {
				t.Errorf("actual %v, want %s", res.Actual, want.Hex())
			}
			probesAgree(t, res)
			waitGone(t, res.PID, 3*time.Second)
		})
	}
}

func TestApplyRawCommand(t *testing.T) {
	needRoot(t)
	res, stderr, code := runApplyJSON(t, "--mode", "raw", "--set", "cap_net_raw", "--", "/bin/sleep", "30")
	if code != 0 || !res.Match || res.PID == 0 {
		t.Fatalf("exit %d, match %v %v\n%s", code, res.Match, res.Differences, stderr)
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", res.PID)); alive(res.PID) && !strings.HasPrefix(string(comm), "sleep") {
		t.Errorf("pid %d is %q", res.PID, comm)
	}
	waitGone(t, res.PID, 5*time.Second)
}

// startWaiting runs apply --wait and returns the command and the pid the
// JSON names.
func startWaiting(t *testing.T, args ...string) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command(captuneBin(t), append([]string{"apply", "--yes", "--json", "--wait"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	stdin, _ := cmd.StdinPipe()
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var res applyOut
	if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&res); err != nil {
		t.Fatalf("no JSON before waiting: %v", err)
	}
	if !alive(res.PID) {
		t.Fatalf("daemon %d not running while apply waits", res.PID)
	}
	return cmd, res.PID
}

func TestApplyStopsOnSIGINTAndEOF(t *testing.T) {
	needRoot(t)
	cmd, pid := startWaiting(t, "-CAP_SETUID")
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	waitGone(t, pid, 3*time.Second)

	cmd2 := exec.Command(captuneBin(t), "apply", "--yes", "--json", "--wait")
	stdout, _ := cmd2.StdoutPipe()
	stdin, _ := cmd2.StdinPipe()
	if err := cmd2.Start(); err != nil {
		t.Fatal(err)
	}
	var res applyOut
	if err := json.NewDecoder(stdout).Decode(&res); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if err := cmd2.Wait(); err != nil {
		t.Errorf("apply --wait after EOF: %v", err)
	}
	waitGone(t, res.PID, 3*time.Second)
}

// TestApplySIGKILLLeavesNothing kills captune with SIGKILL: the probe
// daemon, and a raw command with its supervisor, stop by themselves.
func TestApplySIGKILLLeavesNothing(t *testing.T) {
	needRoot(t)
	for _, args := range [][]string{{"+CAP_FOWNER"}, {"--mode", "raw", "--set", "cap_chown", "--", "/bin/sleep", "60"}} {
		cmd, pid := startWaiting(t, args...)
		children := childrenOf(cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
		waitGone(t, pid, 5*time.Second)
		for _, c := range children {
			waitGone(t, c, 5*time.Second)
		}
	}
}

func childrenOf(ppid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), fmt.Sprintf("\nPPid:\t%d\n", ppid)) {
			out = append(out, pid)
		}
	}
	return out
}

func TestApplyKeepStopsAtDeadline(t *testing.T) {
	needRoot(t)
	res, stderr, code := runApplyJSON(t, "--keep=2s", "-CAP_CHOWN")
	if code != 0 || !res.Match {
		t.Fatalf("exit %d %v\n%s", code, res.Differences, stderr)
	}
	if !alive(res.PID) {
		t.Fatal("--keep daemon is not running after captune exited")
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "captune-probe-*"))
	waitGone(t, res.PID, 6*time.Second)
	time.Sleep(200 * time.Millisecond)
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			if owner := dirOwner(d); owner == 65534 {
				t.Errorf("probe folder %s left behind", d)
			}
		}
	}
}

func dirOwner(path string) uint32 {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0
	}
	return st.Uid
}

// TestApplyRefusals runs apply in children that lack what it needs.
func TestApplyRefusals(t *testing.T) {
	needRoot(t)
	capsh, err := exec.LookPath("capsh")
	if err != nil {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatal("capsh is not installed")
		}
		t.Skip("capsh is not installed")
	}
	bin := captuneBin(t)
	cases := []struct {
		drop string
		args string
		code int
		want string
	}{
		{"cap_setuid,cap_setgid", "apply --yes", 4, "lacks cap_setgid,cap_setuid"},
		{"cap_setpcap", "apply --yes --mode raw --set cap_chown", 4, "lacks cap_setpcap"},
		{"cap_net_raw", "apply --yes --mode raw --set cap_net_raw,cap_chown", 4, "holds cap_net_raw, outside captune's own"},
		{"", "apply --yes --uid no-such-user-here", 2, `unknown user "no-such-user-here"`},
		{"", "apply --yes --mode raw --set cap_chown -- /nonexistent/cmd", 2, "cannot run"},
		{"", "apply --mode raw --set cap_chown", 2, "not a terminal"},
		{"", "apply --yes +CAP_NET_RAW", 2, "unknown capability: 'CAP_NET_RAW'"},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			var cmd *exec.Cmd
			if c.drop != "" {
				cmd = exec.Command(capsh, "--drop="+c.drop, "--", "-c", "exec "+bin+" "+c.args)
			} else {
				cmd = exec.Command(bin, strings.Fields(c.args)...)
			}
			before := countProbeDirs()
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != c.code || !strings.Contains(string(out), c.want) {
				t.Errorf("exit %d, want %d; output %q lacks %q", code, c.code, out, c.want)
			}
			if strings.Contains(string(out), "daemon PID") || countProbeDirs() != before {
				t.Errorf("something was launched: %s", out)
			}
		})
	}
}

func countProbeDirs() int {
	d, _ := filepath.Glob(filepath.Join(os.TempDir(), "captune-probe-*"))
	return len(d)
}
