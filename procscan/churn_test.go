package procscan

import (
	"errors"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLiveChurn scans while processes come and go: no error, no panic,
// and every process returned is complete.
func TestLiveChurn(t *testing.T) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true binary")
	}
	s := liveScanner(t)
	kept := liveScanner(t)
	kept.KeepOpen()
	defer kept.Close()
	// Processes seen with an empty bounding set before the churn (none on
	// an ordinary machine) may keep it.
	base, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	emptyBnd := map[int]bool{}
	for _, p := range base.Procs {
		if p.Sets.Bounding == 0 {
			emptyBnd[p.PID] = true
		}
	}

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
		if p.PID <= 0 || p.Comm == "" || p.State == 0 || (!p.KernelThread && p.Sets.Bounding == 0 && !emptyBnd[p.PID]) {
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
				check(p)
			}
			// A process that exits while it is read is gone, never
			// malformed.
			for _, b := range snap.Malformed {
				t.Errorf("live /proc: %s reported malformed: %s", b.Path, b.Reason)
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
