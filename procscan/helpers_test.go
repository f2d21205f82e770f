package procscan

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"captune/capset"
)

// e2eEnv, when set, turns the skips of the tests that need root (or a
// tool) into failures.
const e2eEnv = "CAPTUNE_E2E"

// requireRoot skips a test that needs root, or fails it under CAPTUNE_E2E.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv(e2eEnv) != "" {
		t.Fatalf("this test needs root (euid is %d) and %s is set", os.Geteuid(), e2eEnv)
	}
	t.Skipf("needs root: it starts processes with chosen capabilities, sets file capabilities or mounts proc (euid %d); set %s=1 to make this a failure", os.Geteuid(), e2eEnv)
}

// requireTool returns the path of a program, skipping (or failing under
// CAPTUNE_E2E) when it is not installed.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
			if _, err := os.Stat(dir + "/" + name); err == nil {
				return dir + "/" + name
			}
		}
		if os.Getenv(e2eEnv) != "" {
			t.Fatalf("%s is not installed and %s is set", name, e2eEnv)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func sleepPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/sleep", "/usr/bin/sleep"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no sleep binary")
	return ""
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// startChild starts a command and kills and reaps it when the test ends.
func startChild(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s %q: %v", name, args, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func liveScanner(t *testing.T) *Scanner {
	t.Helper()
	s, err := New("/proc")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitProcess reads pid until ready says it has reached the state the test
// needs (e.g. exec'd its final program), for at most 10 s.
func waitProcess(t *testing.T, s *Scanner, pid int, ready func(Process) bool) Process {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := s.Process(pid)
		if err == nil && ready(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d never got ready: %+v, %v", pid, p, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kernelStatus reads /proc/PID/status (or /proc/PID/task/TID/status)
// with the simplest possible parser, so that tests check procscan against
// what the kernel prints rather than against procscan itself.
func kernelStatus(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
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

func kernelMask(t *testing.T, st map[string]string, key string) capset.Set {
	t.Helper()
	v, ok := st[key]
	if !ok {
		t.Fatalf("kernel status has no %s line", key)
	}
	n, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		t.Fatalf("%s: %q: %v", key, v, err)
	}
	return capset.Set(n)
}

// kernelSets are the five sets as the kernel prints them.
func kernelSets(t *testing.T, path string) Sets {
	t.Helper()
	st := kernelStatus(t, path)
	return Sets{
		Inheritable: kernelMask(t, st, "CapInh"),
		Permitted:   kernelMask(t, st, "CapPrm"),
		Effective:   kernelMask(t, st, "CapEff"),
		Bounding:    kernelMask(t, st, "CapBnd"),
		Ambient:     kernelMask(t, st, "CapAmb"),
	}
}
