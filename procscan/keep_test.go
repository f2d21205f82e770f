package procscan

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func find(s Snapshot, pid int) (Process, bool) {
	for _, p := range s.Procs {
		if p.PID == pid {
			return p, true
		}
	}
	return Process{}, false
}

// TestKeepOpenSeesChanges: a kept scanner re-reads status and cmdline on
// every snapshot, so an exec (new command line) shows at once, a process
// that exits disappears, and every row equals what a fresh scanner reads.
func TestKeepOpenSeesChanges(t *testing.T) {
	// The shell execs sleep when the test says so (a line on its stdin),
	// not after a delay: however slow the machine, the first snapshot
	// sees the shell.
	cmd := exec.Command("sh", "-c", "read go; exec sleep 30")
	goExec, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	kept, err := New("/proc")
	if err != nil {
		t.Fatal(err)
	}
	kept.KeepOpen()
	defer kept.Close()
	fresh, _ := New("/proc")

	snap, err := kept.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := find(snap, pid)
	if !ok || !strings.Contains(strings.Join(p.Cmdline, " "), "read go") {
		t.Fatalf("before exec: %v %q", ok, p.Cmdline)
	}
	goExec.Write([]byte("go\n"))
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); string(b) == "sleep\n" {
			break
		}
	}
	snap, _ = kept.Snapshot()
	p, ok = find(snap, pid)
	if !ok || strings.Join(p.Cmdline, " ") != "sleep 30" || p.Comm != "sleep" {
		t.Fatalf("after exec: %v %q %q", ok, p.Comm, p.Cmdline)
	}
	f, _ := fresh.Process(pid)
	f.Role, p.Role = "", ""
	f.State, p.State = 0, 0
	if !reflect.DeepEqual(f, p) {
		t.Errorf("kept and fresh reads differ:\n%+v\n%+v", p, f)
	}
	cmd.Process.Kill()
	cmd.Wait()
	snap, _ = kept.Snapshot()
	if _, ok := find(snap, pid); ok {
		t.Error("exited process still listed by the kept scanner")
	}
	if n := len(kept.keep.procs); n > len(snap.Procs)+snap.Unreadable+len(snap.Malformed)+5 { // a few may have exited mid-scan
		t.Errorf("%d kept entries for %d processes", n, len(snap.Procs))
	}
}
