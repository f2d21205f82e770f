package launch

import (
	"context"
	"errors"
	"testing"
	"time"

	"captune/capset"
	"captune/procscan"
)

// TestExecBarrier launches raw-mode commands as nobody with cap_net_raw
// (so their exec changes their sets: before it they hold the
// supervisor's) and reads each back the moment the supervisor reports
// its PID: every read shows the sets the exec gave, never the ones from
// before. The supervisor reports only after execBarrier, with no sleep.
func TestExecBarrier(t *testing.T) {
	needRoot(t)
	sc, err := procscan.New("/proc")
	if err != nil {
		t.Fatal(err)
	}
	last, err := capset.LastCap("/proc")
	if err != nil {
		t.Fatal(err)
	}
	plan := RawPlan(capset.Of(capset.NetRaw), 65534, 65534, nil, "nobody", []string{"/bin/sleep", "30"}, capset.KnownSet(last))
	const runs = 100
	start := time.Now()
	for i := 0; i < runs; i++ {
		d, err := Start(plan, Options{TempDir: parentDir(t)})
		if err != nil {
			t.Fatal(err)
		}
		res, err := ReadBack(sc, d, plan)
		if err != nil || !res.Match {
			d.Stop()
			t.Fatalf("run %d: read back %v: %v", i, res.Differences, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if e, err := d.Wait(ctx); err != nil || !e.Stopped || e.Signal != "SIGTERM" {
			t.Errorf("run %d: %+v %v", i, e, err)
		}
		d.Stop()
	}
	t.Logf("%d commands read back right after the barrier, all with their exec's sets (%s)", runs, time.Since(start).Round(time.Millisecond))
}

// TestCommandEndsBeforeReadBack: a command that has ended is not read
// back (its supervisor keeps it unreaped until captune has looked, so its
// PID cannot be reused): ReadBack says nothing was read back, and Wait
// gives its status.
func TestCommandEndsBeforeReadBack(t *testing.T) {
	needRoot(t)
	sc, _ := procscan.New("/proc")
	plan := RawPlan(capset.Of(capset.Chown), 65534, 65534, nil, "nobody", []string{"/bin/sh", "-c", "exit 9"}, all)
	d, err := Start(plan, Options{TempDir: parentDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := sc.Process(d.PID)
		if err == nil && p.State == 'Z' {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("the ended command was reaped before the read-back (%v, state %c)", err, p.State)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := ReadBack(sc, d, plan); !errors.Is(err, ErrExited) {
		t.Errorf("read-back of an ended command: %v", err)
	}
	e, err := d.Wait(context.Background())
	if err != nil || e.Code != 9 || e.Stopped {
		t.Errorf("exit %+v %v, want status 9", e, err)
	}
}
