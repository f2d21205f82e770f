package procscan

import (
	"errors"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLiveChurn scans while processes come and go: no error, no panic,
// every process the test started that a snapshot returns is complete, and
// one that exits while it is read is dropped, never reported malformed.
// It judges only the processes it started (and itself): others on the
// machine are none of its business.
func TestLiveChurn(t *testing.T) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true binary")
	}
	s := liveScanner(t)
	kept := liveScanner(t)
	kept.KeepOpen()
	defer kept.Close()
	var mine sync.Map
	mine.Store(os.Getpid(), true)
	isMine := func(pid int) bool { _, ok := mine.Load(pid); return ok }

	const maxProcs = 300
	stop := make(chan struct{})
	var started atomic.Int64
	var lastPID atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for started.Load() < maxProcs {
			select {
			case <-stop:
				return
			default:
			}
			cmd := exec.Command(truePath)
			if err := cmd.Start(); err != nil {
				t.Errorf("start true: %v", err)
				return
			}
			started.Add(1)
			mine.Store(cmd.Process.Pid, true)
			lastPID.Store(int64(cmd.Process.Pid))
			_ = cmd.Wait()
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	check := func(p Process) {
		t.Helper()
		if p.PID <= 0 || p.Comm == "" || p.State == 0 || p.Sets.Bounding == 0 {
			t.Errorf("incomplete process: %+v", p)
		}
	}
	// At least 3 s and at least 20 snapshots, however slow the machine.
	deadline := time.Now().Add(3 * time.Second)
	scans, gone := 0, 0
	for (time.Now().Before(deadline) || scans < 20) && !t.Failed() {
		for _, sc := range []*Scanner{s, kept} {
			snap, err := sc.Snapshot()
			if err != nil {
				t.Fatalf("snapshot %d: %v", scans, err)
			}
			if len(snap.Procs) == 0 {
				t.Fatal("empty snapshot")
			}
			for _, p := range snap.Procs {
				if isMine(p.PID) {
					check(p)
				}
			}
			// A process that exits while it is read is gone, never
			// malformed.
			for _, b := range snap.Malformed {
				if isMine(b.PID) {
					t.Errorf("live /proc: %s reported malformed: %s", b.Path, b.Reason)
				}
			}
		}
		scans++
		if pid := int(lastPID.Load()); pid > 0 {
			p, err := s.Process(pid)
			switch {
			case err == nil:
				check(p)
			case errors.Is(err, ErrProcGone):
				gone++
			default:
				t.Errorf("Process(%d): %v", pid, err)
			}
		}
	}
	t.Logf("%d snapshots while %d processes came and went (%d gone before Process read them)", scans, started.Load(), gone)
}
