package main

import (
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
)

// buildShared builds the shipped binary into a folder every user may read
// and pass through (for runs as nobody, and for the probe daemon, which
// re-executes it as nobody).
func buildShared(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-e2e-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "captune")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func needRootE2E(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatal("this test needs root, and CAPTUNE_E2E is set")
		}
		t.Skip("this test needs root (set CAPTUNE_E2E=1 to make this a failure)")
	}
}

// procStat is a process's state letter and parent, or ok false when it
// is gone.
func procStat(pid int) (state string, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0], ppid, true
}

func childPIDs(ppid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, pp, ok := procStat(pid); ok && pp == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// ofBinary lists the live processes that run the binary at bin (the
// test's own build, in a folder of its own), and the zombies among the
// children of parents (the pane's shell, captune): what this test
// started, never another run's processes.
func ofBinary(bin string, parents ...int) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		state, ppid, ok := procStat(pid)
		if !ok {
			continue
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		ours := strings.TrimSuffix(exe, " (deleted)") == bin
		for _, p := range parents {
			ours = ours || (state == "Z" && ppid == p && p != 0)
		}
		if ours {
			out = append(out, fmt.Sprintf("%d (state %s, parent %d, %q)", pid, state, ppid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
		}
	}
	return out
}

func waitExit(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		state, _, ok := procStat(pid)
		if !ok || state == "Z" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after %s", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tuiRun is captune's interactive view in tmux, run by a shell that
// records the terminal's settings before and after and prints captune's
// exit status as RESTORED:CODE, then stays.
type tuiRun struct {
	x       *tmux
	dir     string // TMPDIR for captune, and the stty records
	captune int
	pane    int // the pane's shell
}

func startTUI(t *testing.T, bin, env string) *tuiRun {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-e2e-tmp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the probe daemon (nobody) reaches its folder in it
	shell := fmt.Sprintf("stty -g > %[1]s/stty.before; %[2]s TMPDIR=%[1]s %[3]s; echo RESTORED:$?; stty -g > %[1]s/stty.after; sleep 60", dir, env, bin)
	r := &tuiRun{x: newTmux(t, 120, 40, shell), dir: dir}
	r.x.waitFor("processes")
	panePID, err := strconv.Atoi(strings.TrimSpace(r.x.run("display-message", "-p", "-t", r.x.session, "#{pane_pid}")))
	if err != nil {
		t.Fatal(err)
	}
	r.pane = panePID
	for _, c := range childPIDs(panePID) {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", c)); exe == bin {
			r.captune = c
		}
	}
	if r.captune == 0 {
		t.Fatalf("captune is not a child of the pane's shell %d", panePID)
	}
	return r
}

var daemonLine = regexp.MustCompile(`daemon PID (\d+) as nobody`)

// launchDaemon drives the tuner to apply: tab, space (drops cap_chown),
// a (the plan), y (launch); it returns the daemon's PID, a child of
// captune.
func (r *tuiRun) launchDaemon(t *testing.T) int {
	t.Helper()
	r.x.keys("Tab")
	r.x.waitFor("predicted session")
	r.x.keys("Space")
	r.x.waitFor("cap_chown dropped")
	r.x.keys("a")
	r.x.waitFor("launch it?")
	r.x.keys("y")
	s := r.x.waitFor("read-back: match")
	m := daemonLine.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no daemon PID on the screen:\n%s", s)
	}
	pid, _ := strconv.Atoi(m[1])
	if _, ppid, ok := procStat(pid); !ok || ppid != r.captune {
		t.Fatalf("daemon %d is not captune's (%d) child", pid, r.captune)
	}
	return pid
}

// restored waits for RESTORED:CODE and checks that the terminal is as it
// was: the alternate screen is off, the cursor shows, stty settings are
// the ones before captune. It returns captune's exit status and the
// screen.
func (r *tuiRun) restored(t *testing.T) (int, string) {
	t.Helper()
	s := r.x.waitFor("RESTORED:")
	m := regexp.MustCompile(`RESTORED:(\d+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("screen:\n%s", s)
	}
	code, _ := strconv.Atoi(m[1])
	deadline := time.Now().Add(5 * time.Second)
	for {
		after, err := os.ReadFile(filepath.Join(r.dir, "stty.after"))
		if err == nil && len(after) > 0 {
			before, _ := os.ReadFile(filepath.Join(r.dir, "stty.before"))
			if string(before) != string(after) || len(before) == 0 {
				t.Errorf("terminal settings not restored: before %q, after %q", before, after)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stty after captune never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if flags := strings.TrimSpace(r.x.run("display-message", "-p", "-t", r.x.session, "#{alternate_on} #{cursor_flag} #{mouse_any_flag}")); flags != "0 1 0" {
		t.Errorf("alternate screen, cursor, mouse: %q, want \"0 1 0\"", flags)
	}
	if strings.Contains(s, "target: modcap") || strings.Contains(s, "read-back") {
		t.Errorf("the TUI is still on the screen:\n%s", s)
	}
	return code, s
}

// nothingLeft checks that the daemon, captune and every process of the
// binary are gone (no orphan, no zombie), and that TMPDIR holds no probe
// folder.
func nothingLeft(t *testing.T, bin string, r *tuiRun, daemon int) {
	t.Helper()
	waitExit(t, r.captune, 10*time.Second)
	waitExit(t, daemon, 10*time.Second)
	// A process that outlived captune would be an orphan (parent 1) and
	// stay; a zombie stays until its parent reaps it (init, for one whose
	// parent is gone).
	deadline := time.Now().Add(10 * time.Second)
	for l := ofBinary(bin, r.pane, r.captune); len(l) > 0; l = ofBinary(bin, r.pane, r.captune) {
		if time.Now().After(deadline) {
			t.Errorf("processes of captune left (orphans or zombies): %v", l)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// captune's private place in the test's own TMPDIR.
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := os.Lstat(filepath.Join(r.dir, "captune-0"))
		if os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			ents, _ := os.ReadDir(filepath.Join(r.dir, "captune-0"))
			t.Errorf("private place left in %s (%d entries)", r.dir, len(ents))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTUISignals starts the TUI in tmux, launches the apply daemon from it
// (tab, space, a, y), and ends captune with SIGINT, SIGTERM, or SIGHUP
// (tmux kill-session hangs the terminal up), each in a fresh run: captune
// exits, the terminal is restored, the daemon is stopped, and no orphan
// or zombie of the binary remains.
func TestTUISignals(t *testing.T) {
	need(t, "tmux")
	needRootE2E(t)
	bin := buildShared(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			r := startTUI(t, bin, "")
			daemon := r.launchDaemon(t)
			if sig == syscall.SIGHUP {
				r.x.run("kill-session", "-t", r.x.session)
				nothingLeft(t, bin, r, daemon)
				return
			}
			if err := syscall.Kill(r.captune, sig); err != nil {
				t.Fatal(err)
			}
			code, _ := r.restored(t)
			t.Logf("%v: captune exited %d", sig, code)
			nothingLeft(t, bin, r, daemon)
		})
	}
}

// TestTUIPanic makes the TUI panic inside Update (the debug hook:
// CAPTUNE_DEBUG_PANIC=1 and the key !) while the apply daemon runs: the
// terminal is restored, the daemon stops, and captune exits 70 with one
// line naming the file that holds the stack trace, which never reaches
// the screen.
func TestTUIPanic(t *testing.T) {
	need(t, "tmux")
	needRootE2E(t)
	bin := buildShared(t)
	r := startTUI(t, bin, "CAPTUNE_DEBUG_PANIC=1")
	daemon := r.launchDaemon(t)
	r.x.keys("!")
	code, s := r.restored(t)
	if code != 70 {
		t.Errorf("exit %d, want 70 (internal error)", code)
	}
	// Undo the terminal's wrapping of the 120-column screen.
	var b strings.Builder
	for _, ln := range strings.Split(s, "\n") {
		b.WriteString(ln)
		if len([]rune(ln)) < 120 {
			b.WriteString(" ")
		}
	}
	joined := strings.Join(strings.Fields(b.String()), " ")
	m := regexp.MustCompile(`captune: internal error \(a bug\): debug panic: CAPTUNE_DEBUG_PANIC=1 and the key !; stack trace in (\S+) \(please report it\) RESTORED:70`).FindStringSubmatch(joined)
	if m == nil {
		t.Fatalf("the screen lacks the one-line message:\n%s", s)
	}
	if strings.Contains(s, "goroutine") || strings.Contains(s, "Caught panic") || strings.Contains(s, ".go:") {
		t.Errorf("a stack trace reached the screen:\n%s", s)
	}
	if lines := strings.Count(strings.TrimSpace(s), "\n") + 1; lines > 3 {
		t.Errorf("%d lines on the screen, want the message and RESTORED:\n%s", lines, s)
	}
	if filepath.Dir(m[1]) != r.dir {
		t.Errorf("stack trace file %s is not in TMPDIR %s", m[1], r.dir)
	}
	stack, err := os.ReadFile(m[1])
	if err != nil || !strings.Contains(string(stack), "goroutine ") || !strings.Contains(string(stack), "ui.Model.Update") {
		t.Errorf("stack trace file: %v\n%s", err, stack)
	}
	nothingLeft(t, bin, r, daemon)
}

// TestTUIUnprivileged explores as nobody: the process list is there, the
// apply view refuses in clear words without launching anything, and q
// quits with exit 0 and the terminal restored.
func TestTUIUnprivileged(t *testing.T) {
	need(t, "tmux")
	needRootE2E(t)
	setpriv := need(t, "setpriv")
	bin := buildShared(t)
	r := startTUIAs(t, bin, setpriv+" --reuid 65534 --regid 65534 --clear-groups")
	if s := r.x.screen(); !strings.Contains(s, "root") {
		t.Errorf("nobody's view lacks root's processes:\n%s", s)
	}
	r.x.keys("/")
	r.x.keys(strings.Split("nobody", "")...)
	r.x.keys("Enter")
	if s := r.x.waitFor("filter: nobody"); !strings.Contains(s, "nobody ") {
		t.Errorf("nobody's view lacks nobody's processes (captune itself):\n%s", s)
	}
	r.x.keys("a")
	s := r.x.waitFor("cannot apply:")
	if !strings.Contains(strings.Join(strings.Fields(s), " "), "captune lacks") {
		t.Errorf("the refusal does not say what captune lacks:\n%s", s)
	}
	r.x.keys("q") // closes the apply view
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(r.x.screen(), "cannot apply:") {
		if time.Now().After(deadline) {
			t.Fatal("the apply view did not close")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.x.keys("q")
	if code, _ := r.restored(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	if l := ofBinary(bin, r.pane); len(l) > 0 {
		t.Errorf("processes left: %v", l)
	}
	if _, err := os.Lstat(filepath.Join(r.dir, "captune-65534")); !os.IsNotExist(err) {
		t.Errorf("a private place was made although apply refused: %v", err)
	}
}

// startTUIAs runs the TUI through a wrapper (e.g. setpriv) that execs it.
func startTUIAs(t *testing.T, bin, wrapper string) *tuiRun {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-e2e-tmp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777|os.ModeSticky)
	shell := fmt.Sprintf("stty -g > %[1]s/stty.before; TMPDIR=%[1]s %[2]s %[3]s; echo RESTORED:$?; stty -g > %[1]s/stty.after; sleep 60", dir, wrapper, bin)
	r := &tuiRun{x: newTmux(t, 120, 40, shell), dir: dir}
	r.x.waitFor("processes")
	if p, err := strconv.Atoi(strings.TrimSpace(r.x.run("display-message", "-p", "-t", r.x.session, "#{pane_pid}"))); err == nil {
		r.pane = p
	}
	return r
}

// TestApplyCommandInTerminal runs apply --mode raw -- /bin/cat in tmux:
// the command reads the terminal (its process group is the terminal's
// foreground while it runs) and writes to it, runs until ctrl+c, which
// reaches it, and captune exits with its status (130: killed by SIGINT),
// with the terminal's settings as they were and nothing left behind.
func TestApplyCommandInTerminal(t *testing.T) {
	need(t, "tmux")
	needRootE2E(t)
	bin := buildShared(t)
	dir, err := os.MkdirTemp("", "captune-e2e-tmp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	shell := fmt.Sprintf("stty -g > %[1]s/stty.before; TMPDIR=%[1]s %[2]s apply --yes --mode raw --set none -- /bin/cat; echo RESTORED:$?; stty -g > %[1]s/stty.after; sleep 60", dir, bin)
	x := newTmux(t, 120, 40, shell)
	x.waitFor("read-back: match")
	x.keys("-l", "hello from the terminal")
	x.keys("Enter")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(x.screen(), "hello from the terminal") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("cat did not echo the line (it does not read the terminal):\n%s", x.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.keys("C-c")
	s := x.waitFor("RESTORED:")
	if !strings.Contains(s, "RESTORED:130") || !strings.Contains(s, "was killed by SIGINT (status 130)") {
		t.Errorf("want the command killed by SIGINT and exit 130:\n%s", s)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		after, err := os.ReadFile(filepath.Join(dir, "stty.after"))
		if err == nil && len(after) > 0 {
			before, _ := os.ReadFile(filepath.Join(dir, "stty.before"))
			if string(before) != string(after) {
				t.Errorf("terminal settings not restored: before %q, after %q", before, after)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stty after captune never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		ents, _ := os.ReadDir(dir)
		left := 0
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), "stty.") {
				left++
			}
		}
		if left == 0 && len(ofBinary(bin)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("left: %d entries in %s, processes %v", left, dir, ofBinary(bin))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}
