package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// need skips a test when a tool is missing, or fails it when CAPTUNE_E2E
// is set (CI installs everything the end-to-end tests use).
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatalf("%s is not installed, and CAPTUNE_E2E is set", tool)
		}
		t.Skipf("%s is not installed (set CAPTUNE_E2E=1 to make this a failure)", tool)
	}
	return p
}

// buildCaptune builds the shipped binary (CGO_ENABLED=0) once per test.
func buildCaptune(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "captune")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

type tmux struct {
	t       *testing.T
	session string
	socket  string
}

func newTmux(t *testing.T, w, h int, command string) *tmux {
	t.Helper()
	need(t, "tmux")
	x := &tmux{t: t, session: "captune-e2e", socket: filepath.Join(t.TempDir(), "tmux.sock")}
	x.run("new-session", "-d", "-s", x.session, "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), command)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", x.socket, "kill-server").Run() })
	return x
}

func (x *tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (x *tmux) keys(keys ...string) {
	x.run(append([]string{"send-keys", "-t", x.session}, keys...)...)
}

func (x *tmux) screen() string { return x.run("capture-pane", "-t", x.session, "-p") }

// waitFor polls the screen until it contains want.
func (x *tmux) waitFor(want string) string {
	x.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		s = x.screen()
		if strings.Contains(s, want) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.t.Fatalf("screen never showed %q:\n%s", want, s)
	return s
}

// TestTUIFilterToggleEmit drives the real program in tmux: filter to a
// known process, toggle a capability, emit, and read the block captune
// prints on standard output (redirected to a file while it draws on the
// terminal).
func TestTUIFilterToggleEmit(t *testing.T) {
	bin := buildCaptune(t)
	sleeper := exec.Command("sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	pid := strconv.Itoa(sleeper.Process.Pid)
	out := filepath.Join(t.TempDir(), "block.conf")
	done := out + ".done"
	x := newTmux(t, 100, 30, bin+" > "+out+"; echo $? > "+done+"; sleep 60")
	x.waitFor("processes")
	x.keys("/")
	x.keys(strings.Split(pid, "")...)
	x.keys("Enter")
	s := x.waitFor("filter: " + pid)
	if !strings.Contains(s, pid) || !strings.Contains(s, "sleep 300") {
		t.Fatalf("filtered screen lacks the sleeper:\n%s", s)
	}
	x.keys("Tab")
	x.waitFor("predicted session")
	x.keys("Space")
	x.waitFor("cap_chown dropped")
	x.keys("e")
	x.waitFor("Emit · modcap")
	x.keys("Enter")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(done); err == nil {
			if strings.TrimSpace(string(b)) != "0" {
				t.Fatalf("captune exited %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("captune did not exit:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	got, _ := os.ReadFile(out)
	want := "<IfModule mod_cap.c>\n  CapabilitiesEngine on\n  CapabilitiesSet -CAP_CHOWN\n</IfModule>\n"
	if string(got) != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

// TestTUIWithoutTerminal: no terminal means one line suggesting ps, exit 2.
func TestTUIWithoutTerminal(t *testing.T) {
	need(t, "setsid")
	bin := buildCaptune(t)
	cmd := exec.Command("setsid", bin)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2: %s", err, out)
	}
	if !strings.Contains(string(out), "captune ps") || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Errorf("message %q", out)
	}
}
