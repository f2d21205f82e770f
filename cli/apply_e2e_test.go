package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
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
	// start a hidden mode (verify's janitor): launch's init runs it. It
	// is also the tests' hostile helpers.
	if target := os.Getenv("CAPTUNE_TEST_RACER"); target != "" {
		os.Exit(racerMain(target))
	}
	if mode := os.Getenv("CAPTUNE_TEST_FAKE_PROFTPD"); mode != "" {
		os.Exit(fakeProftpdMain(mode, os.Args[1:]))
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
	ReadBack    bool              `json:"read_back"`
	Match       bool              `json:"match"`
	Differences []string          `json:"differences"`
	Probes      []probeJSON       `json:"probes"`
	CommandExit *struct {
		Code    int    `json:"code"`
		Signal  string `json:"signal"`
		Stopped bool   `json:"stopped_by_captune"`
	} `json:"command_exit"`
	Notes []string `json:"notes"`
}

// runApplyJSON runs apply --yes --json with a TMPDIR of the test's own.
func runApplyJSON(t *testing.T, args ...string) (applyOut, string, int) {
	t.Helper()
	cmd := captuneCmd(t, ownTmp(t), append([]string{"apply", "--yes", "--json"}, args...)...)
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

// TestApplyRawCommand: the command's standard input, output and error
// are captune's (with --json its output goes to standard error and
// standard output holds one JSON object), it runs to its end, and apply
// exits with its status, reported as command_exit.
func TestApplyRawCommand(t *testing.T) {
	needRoot(t)
	tmp := ownTmp(t)
	script := `read line; echo "out:$line"; echo "err:$line" >&2; grep -E '^Cap(Prm|Eff)' /proc/self/status; exit 7`
	for _, jsonOut := range []bool{false, true} {
		args := []string{"apply", "--yes", "--mode", "raw", "--set", "cap_net_raw", "--", "/bin/sh", "-c", script}
		if jsonOut {
			args = append([]string{"apply", "--json"}, args[1:]...)
		}
		cmd := captuneCmd(t, tmp, args...)
		// The command blocks on its input until captune has read it
		// back: a command that ends first is, rightly, reported with
		// read_back false. In text the read-back is seen on standard
		// output; with --json nothing shows it, so the input waits until
		// the command runs with its sets and a margin has passed.
		inR, inW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr lockedBuilder
		cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		inR.Close()
		released := make(chan struct{})
		go func() {
			defer close(released)
			defer inW.Close()
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if !jsonOut && strings.Contains(stdout.String(), "read-back:") {
					break
				}
				if jsonOut && commandRunning(cmd.Process.Pid, "echo \"out:$line\"") {
					time.Sleep(time.Second)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			inW.Write([]byte("hello\n"))
		}()
		code := exitCode(cmd.Wait())
		<-released
		if code != 7 {
			t.Errorf("json %v: exit %d, want the command's 7\nstdout %s\nstderr %s", jsonOut, code, stdout.String(), stderr.String())
		}
		cmdOut, cmdErr := stdout.String(), stderr.String()
		if jsonOut {
			var res applyOut
			if err := json.Unmarshal([]byte(cmdOut), &res); err != nil {
				t.Fatalf("standard output is not one JSON object: %v\n%s", err, cmdOut)
			}
			if res.CommandExit == nil || res.CommandExit.Code != 7 || res.CommandExit.Stopped || !res.Match || !res.ReadBack {
				t.Errorf("command_exit %+v, match %v, read_back %v", res.CommandExit, res.Match, res.ReadBack)
			}
			cmdOut = cmdErr
		}
		for _, want := range []string{"out:hello", "CapPrm:\t0000000000002000", "CapEff:\t0000000000002000"} {
			if !strings.Contains(cmdOut, want) {
				t.Errorf("json %v: the command's output lacks %q:\n%s", jsonOut, want, cmdOut)
			}
		}
		if !strings.Contains(cmdErr, "err:hello") {
			t.Errorf("json %v: the command's standard error lacks err:hello:\n%s", jsonOut, cmdErr)
		}
		if !jsonOut && !strings.Contains(cmdOut, "exited with status 7") {
			t.Errorf("the text does not say how the command ended:\n%s", cmdOut)
		}
	}
}

// TestApplyRawCommandEndsEarly runs commands that end at once, often
// before captune can read them back: every run exits with the command's
// status, and a run that could not read the command back says so and
// reports no sets.
func TestApplyRawCommandEndsEarly(t *testing.T) {
	needRoot(t)
	tmp := ownTmp(t)
	early := 0
	for i := 0; i < 20; i++ {
		cmd := captuneCmd(t, tmp, "apply", "--yes", "--json", "--mode", "raw", "--set", "cap_chown", "--", "/bin/sh", "-c", "exit 5")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if code := exitCode(err); code != 5 {
			t.Fatalf("exit %d, want 5\n%s\n%s", code, out, stderr.String())
		}
		var res applyOut
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if res.CommandExit == nil || res.CommandExit.Code != 5 {
			t.Errorf("command_exit %+v", res.CommandExit)
		}
		if !res.ReadBack {
			early++
			if res.Actual != nil || res.Match || !strings.Contains(strings.Join(res.Notes, " "), "nothing was read back") {
				t.Errorf("nothing read back, yet actual %v, match %v, notes %q", res.Actual, res.Match, res.Notes)
			}
		}
	}
	t.Logf("%d of 20 commands ended before the read-back", early)
}

// TestApplyRawCommandStops: SIGTERM and SIGINT to captune stop a command
// that would run on (SIGTERM, then SIGKILL after 2 s for one that ignores
// it), report it stopped, and exit with its status; nothing is left.
func TestApplyRawCommandStops(t *testing.T) {
	needRoot(t)
	tmp := ownTmp(t)
	for _, c := range []struct {
		sig    syscall.Signal
		script string
		status int
		signal string
	}{
		{syscall.SIGTERM, "echo started; exec sleep 60", 143, "SIGTERM"},
		{syscall.SIGINT, "echo started; exec sleep 60", 143, "SIGTERM"},
		{syscall.SIGTERM, "trap '' TERM; echo started; sleep 60 & sleep 60; wait", 137, "SIGKILL"},
	} {
		cmd := captuneCmd(t, tmp, "apply", "--yes", "--json", "--mode", "raw", "--set", "none", "--", "/bin/sh", "-c", c.script)
		stderr, _ := cmd.StderrPipe()
		var stdout strings.Builder
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tr := watchTree(cmd.Process.Pid)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() && sc.Text() != "started" {
		}
		go io.Copy(io.Discard, stderr)
		cmd.Process.Signal(c.sig)
		code := exitCode(cmd.Wait())
		tr.halt()
		var res applyOut
		if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
			t.Fatalf("%v: %v\n%s", c.sig, err, stdout.String())
		}
		if code != c.status || res.CommandExit == nil || !res.CommandExit.Stopped || res.CommandExit.Signal != c.signal {
			t.Errorf("%v (%s): exit %d, command_exit %+v; want %d, %s", c.sig, c.script, code, res.CommandExit, c.status, c.signal)
		}
		if left := tr.waitGone(10 * time.Second); len(left) > 0 {
			t.Errorf("%v: left running: %v", c.sig, left)
		}
	}
}

// startWaiting runs apply --wait and returns the command and the pid the
// JSON names.
func startWaiting(t *testing.T, args ...string) (*exec.Cmd, int) {
	t.Helper()
	cmd := captuneCmd(t, ownTmp(t), append([]string{"apply", "--yes", "--json", "--wait"}, args...)...)
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

	cmd2 := captuneCmd(t, ownTmp(t), "apply", "--yes", "--json", "--wait")
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

// TestApplySIGKILLLeavesNothing kills captune with SIGKILL at many
// points of a run: the probe daemon (--wait), a raw command, and --keep
// (whose daemon, once handed over, is then killed with SIGKILL too). Every
// process captune started ends and its private place is gone, looking
// only at the test's own TMPDIR and captune's own descendants.
func TestApplySIGKILLLeavesNothing(t *testing.T) {
	needRoot(t)
	runs := []struct {
		name string
		args []string
	}{
		{"probe daemon", []string{"apply", "--yes", "--wait", "+CAP_FOWNER"}},
		{"raw command", []string{"apply", "--yes", "--mode", "raw", "--set", "cap_chown", "--", "/bin/sleep", "60"}},
		{"keep", []string{"apply", "--yes", "--keep=60s", "-CAP_CHOWN"}},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			tmp := ownTmp(t)
			for try := 0; try < 12; try++ {
				cmd := captuneCmd(t, tmp, r.args...)
				cmd.Stdin = nil
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				tr := watchTree(cmd.Process.Pid)
				// Once captune has started its first helper, at a later
				// point each try.
				deadline := time.Now().Add(10 * time.Second)
				for tr.count() == 0 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(time.Duration(try*try) * 3 * time.Millisecond)
				cmd.Process.Kill()
				cmd.Wait()
				tr.halt()
				if r.name == "keep" {
					// A daemon captune had handed over runs on (--keep);
					// kill it as a user would. It is in the tree, or named
					// by its folder's owner record.
					time.Sleep(200 * time.Millisecond)
					for _, p := range append(tr.matching(launch.TestdArg), keptHolders(t, tmp)...) {
						if start, _, cmd := startOf(p.pid); start == p.start && strings.Contains(cmd, launch.TestdArg) {
							syscall.Kill(p.pid, syscall.SIGKILL)
						}
					}
				}
				if left := tr.waitGone(15 * time.Second); len(left) > 0 {
					t.Fatalf("try %d: still running after captune's SIGKILL: %v", try, left)
				}
				if left := waitEmpty(tmp, 15*time.Second); left != "" {
					t.Fatalf("try %d: left in TMPDIR after captune's SIGKILL: %s", try, left)
				}
			}
		})
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

// TestApplyKeepStopsAtDeadline: a --keep daemon outlives captune, stops
// at its deadline, and its folder goes with it; one killed with SIGKILL
// before its deadline leaves no folder either.
func TestApplyKeepStopsAtDeadline(t *testing.T) {
	needRoot(t)
	for _, kill := range []bool{false, true} {
		tmp := ownTmp(t)
		cmd := captuneCmd(t, tmp, "apply", "--yes", "--json", "--keep=3s", "-CAP_CHOWN")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var res applyOut
		if err != nil || json.Unmarshal(out, &res) != nil || !res.Match {
			t.Fatalf("exit %d %v\n%s\n%s", exitCode(err), res.Differences, out, stderr.String())
		}
		if !alive(res.PID) {
			t.Fatal("--keep daemon is not running after captune exited")
		}
		probes, _ := filepath.Glob(filepath.Join(tmp, "captune-0", "probe-*"))
		if len(probes) != 1 {
			t.Fatalf("probe folders while the daemon runs: %v", probes)
		}
		if kill {
			syscall.Kill(res.PID, syscall.SIGKILL)
		}
		waitGone(t, res.PID, 10*time.Second)
		if left := waitEmpty(tmp, 10*time.Second); left != "" {
			t.Errorf("kill %v: left after the daemon ended: %s", kill, left)
		}
	}
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
		{"", "apply --yes --uid 4294967295", 2, "4294967295 is (uid_t)-1"},
		{"", "apply --yes --mode raw --set none --uid 4294967295 -- /bin/true", 2, "not a uid"},
		{"", "apply --yes --wait --mode raw --set none -- /bin/true", 2, "--wait belongs to the probe daemon"},
		{"", "apply --yes --mode raw --set cap_chown -- /nonexistent/cmd", 2, "cannot run"},
		{"", "apply --mode raw --set cap_chown", 2, "not a terminal"},
		{"", "apply --yes +CAP_NET_RAW", 2, "unknown capability: 'CAP_NET_RAW'"},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			tmp := ownTmp(t)
			var cmd *exec.Cmd
			if c.drop != "" {
				cmd = exec.Command(capsh, "--drop="+c.drop, "--", "-c", "exec "+bin+" "+c.args)
			} else {
				cmd = exec.Command(bin, strings.Fields(c.args)...)
			}
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != c.code || !strings.Contains(string(out), c.want) {
				t.Errorf("exit %d, want %d; output %q lacks %q", code, c.code, out, c.want)
			}
			if strings.Contains(string(out), "daemon PID") || strings.Contains(string(out), "command PID") {
				t.Errorf("something was launched: %s", out)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
				t.Errorf("made %s", ents[0].Name())
			}
		})
	}
}

// keptHolders lists the processes the owner records in tmp's private
// place name.
func keptHolders(t *testing.T, tmp string) []procID {
	t.Helper()
	var out []procID
	recs, _ := filepath.Glob(filepath.Join(tmp, "captune-0", "*", ".captune-owner"))
	for _, r := range recs {
		b, err := os.ReadFile(r)
		if err != nil {
			continue
		}
		var rec struct {
			Holders []struct {
				PID   int    `json:"pid"`
				Start uint64 `json:"start"`
			} `json:"holders"`
		}
		if json.Unmarshal(b, &rec) != nil {
			continue
		}
		for _, h := range rec.Holders {
			out = append(out, procID{pid: h.PID, start: strconv.FormatUint(h.Start, 10)})
		}
	}
	return out
}

// TestApplyCommandNotRunnable: a command the daemon's uid cannot run (in
// a folder only root may enter) is bad input: one line saying so, exit 2,
// nothing left.
func TestApplyCommandNotRunnable(t *testing.T) {
	needRoot(t)
	tmp := ownTmp(t)
	private := t.TempDir() // 0700, root's
	script := filepath.Join(private, "s.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho ran\n"), 0o755)
	cmd := captuneCmd(t, tmp, "apply", "--yes", "--json", "--mode", "raw", "--set", "none", "--", script)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := exitCode(cmd.Run())
	if code != ExitUsage || !strings.Contains(stderr.String(), "cannot run "+script+" as uid 65534: permission denied") || stdout.Len() > 0 || strings.Contains(stderr.String(), "ran") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// lockedBuilder is a strings.Builder safe to read while a command writes.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// commandRunning reports whether a descendant of captune (pid) has
// exec'd /bin/sh -c with a script containing marker.
func commandRunning(pid int, marker string) bool {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range strings.Fields(string(kids)) {
			cmdline, _ := os.ReadFile("/proc/" + f + "/cmdline")
			if strings.HasPrefix(string(cmdline), "/bin/sh\x00-c\x00") && strings.Contains(string(cmdline), marker) {
				return true
			}
			if kid, err := strconv.Atoi(f); err == nil && commandRunning(kid, marker) {
				return true
			}
		}
	}
	return false
}
