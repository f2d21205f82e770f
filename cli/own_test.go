package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The end-to-end tests look only at what they made: each run of captune
// gets a TMPDIR of the test's own (so its private place is the test's),
// and the processes checked are the descendants of the captune the test
// started, named by PID and start time.

// ownTmp is a TMPDIR for the test's runs that every uid may pass through
// (the probe daemon and verify's login user reach their folders in it).
// When the test ends, nothing may be left in it and no process may refer
// to it; a janitor still cleaning up after a killed captune gets a few
// seconds.
func ownTmp(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-cli-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left := waitEmpty(dir, 15*time.Second); left != "" {
			t.Errorf("left behind in %s: %s", dir, left)
		}
		os.RemoveAll(dir)
	})
	return dir
}

// waitEmpty waits until dir is empty and no process refers to it; it
// returns what is still there.
func waitEmpty(dir string, within time.Duration) string {
	deadline := time.Now().Add(within)
	for {
		var left []string
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			left = append(left, e.Name())
			if sub, _ := os.ReadDir(filepath.Join(dir, e.Name())); len(sub) > 0 {
				for _, s := range sub {
					left = append(left, e.Name()+"/"+s.Name())
				}
			}
		}
		for _, pid := range refersTo(dir) {
			left = append(left, fmt.Sprintf("process %d", pid))
		}
		if len(left) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(left, ", ")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procID is a process named by PID and start time.
type procID struct {
	pid   int
	start string
	what  string
}

func startOf(pid int) (start, state, cmd string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", "", ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", "", ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", "", ""
	}
	c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return f[19], f[0], strings.TrimSpace(strings.ReplaceAll(string(c), "\x00", " "))
}

// tree records every descendant of a process while it is watched.
type tree struct {
	mu   sync.Mutex
	seen map[int]procID
	stop chan struct{}
	done chan struct{}
}

// watchTree polls the descendants of root (through the kernel's children
// lists) until stopped.
func watchTree(root int) *tree {
	tr := &tree{seen: map[int]procID{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		for {
			tr.poll(root)
			select {
			case <-tr.stop:
				tr.poll(root)
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return tr
}

func (tr *tree) poll(root int) {
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, w := range strings.Fields(string(b)) {
				c, err := strconv.Atoi(w)
				if err != nil {
					continue
				}
				queue = append(queue, c)
				tr.mu.Lock()
				if _, ok := tr.seen[c]; !ok {
					if start, _, cmd := startOf(c); start != "" {
						tr.seen[c] = procID{c, start, cmd}
					}
				}
				tr.mu.Unlock()
			}
		}
	}
}

// halt stops watching.
func (tr *tree) halt() {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	<-tr.done
}

// count is how many descendants were seen.
func (tr *tree) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.seen)
}

// matching lists the seen descendants whose command line, as it is now
// (after an exec, or a process title), contains s.
func (tr *tree) matching(s string) []procID {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []procID
	for _, p := range tr.seen {
		if start, _, cmd := startOf(p.pid); start == p.start && strings.Contains(cmd, s) {
			p.what = cmd
			out = append(out, p)
		}
	}
	return out
}

// alive lists the seen descendants still running (zombies are dead).
func (tr *tree) alive() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, p := range tr.seen {
		if start, state, _ := startOf(p.pid); start == p.start && state != "Z" && state != "X" {
			out = append(out, fmt.Sprintf("%d (%s)", p.pid, p.what))
		}
	}
	return out
}

// waitTreeGone waits until no seen descendant runs.
func (tr *tree) waitGone(within time.Duration) []string {
	deadline := time.Now().Add(within)
	for {
		left := tr.alive()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// captuneCmd runs the built binary with TMPDIR set to tmp.
func captuneCmd(t *testing.T, tmp string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(captuneBin(t), args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Dir = "/"
	return cmd
}
