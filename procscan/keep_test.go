package procscan

import (
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
	cmd := exec.Command("sh", "-c", "sleep 0.6; exec sleep 30")
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
	if !ok || !strings.Contains(strings.Join(p.Cmdline, " "), "sleep 0.6") {
		t.Fatalf("before exec: %v %q", ok, p.Cmdline)
	}
	time.Sleep(1200 * time.Millisecond)
	for i := 0; i < 3; i++ {
		snap, _ = kept.Snapshot()
	}
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
	if n := len(kept.keep.procs); n > len(snap.Procs)+snap.Unreadable+5 { // a few may have exited mid-scan
		t.Errorf("%d kept entries for %d processes", n, len(snap.Procs))
	}
}
