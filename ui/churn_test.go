package ui

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"captune/procscan"
)

// churnDuration is how long TestChurnLoad runs: CAPTUNE_CHURN_SECONDS
// when set (bench/churn.sh sets 60), else 5 s when CAPTUNE_E2E is set;
// otherwise the test is skipped.
func churnDuration(t *testing.T) time.Duration {
	t.Helper()
	if s := os.Getenv("CAPTUNE_CHURN_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CAPTUNE_CHURN_SECONDS=%q: give a whole number of seconds", s)
		}
		return time.Duration(n) * time.Second
	}
	if os.Getenv("CAPTUNE_E2E") != "" {
		return 5 * time.Second
	}
	t.Skip("load test: set CAPTUNE_CHURN_SECONDS=N to run it for N seconds (bench/churn.sh runs 60), or CAPTUNE_E2E=1 for 5 s")
	return 0
}

// vmRSS is this process's resident set size in kB (/proc/self/status).
func vmRSS(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(ln, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// heapKB is the Go heap in use after a collection, in kB.
func heapKB() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc >> 10
}

// TestChurnLoad refreshes the TUI model continuously from a real scanner
// (KeepOpen, as captune runs it) while about 200 short-lived processes a
// second start and are reaped (the rate is logged, not asserted: the
// machine may be loaded): every refresh is a scan sent through Update,
// then a View. No panic, no error, no half-read or stale row, and memory
// stays flat after the warm-up (RSS grows less than 50%).
func TestChurnLoad(t *testing.T) {
	total := churnDuration(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("no sleep binary: %v", err)
	}
	pidMax := 1 << 22
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pidMax = n
		}
	}
	sc, err := procscan.New("/proc")
	if err != nil {
		t.Fatal(err)
	}
	sc.KeepOpen()
	defer sc.Close()
	// Processes that hold an empty bounding set before the churn (none on
	// an ordinary machine) may keep it.
	base, err := sc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	emptyBnd := map[int]bool{}
	for _, p := range base.Procs {
		if !p.KernelThread && p.Sets.Bounding == 0 {
			emptyBnd[p.PID] = true
		}
	}

	// The churn: a process every 5 ms, each living 20 ms, reaped as it
	// exits.
	stop := make(chan struct{})
	var started, reaped, lastPID atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			cmd := exec.Command(sleep, "0.02")
			if err := cmd.Start(); err != nil {
				t.Errorf("start %s: %v", sleep, err)
				return
			}
			started.Add(1)
			lastPID.Store(int64(cmd.Process.Pid))
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd.Wait()
				reaped.Add(1)
			}()
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	m := New(Options{Scanner: sc, PAM: true})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	warmup := min(10*time.Second, total/3)
	begin := time.Now()
	rssStart, heapStart := vmRSS(t), heapKB()
	var rssWarm int
	var heapWarm uint64
	refreshes, rows, churnRows := 0, 0, 0
	// The loop runs for the duration, and on past it (at most ten times
	// as long, on a machine too loaded to get there sooner) until it has
	// made 10 refreshes and seen a churn process: figures of speed are
	// logged, never asserted.
	enough := func() bool { return time.Since(begin) >= total && refreshes >= 10 && churnRows > 0 }
	for !enough() && time.Since(begin) < 10*total && !t.Failed() {
		snap, err := sc.Snapshot()
		if err != nil {
			t.Fatalf("refresh %d: %v", refreshes, err)
		}
		m = send(m, scanMsg{snap: snap})
		// Exercise what a person does meanwhile: follow a process that is
		// about to exit (it stays, marked gone), the tree, the filter.
		switch refreshes % 40 {
		case 5:
			m.list.SelectPID(int(lastPID.Load()))
		case 15:
			m = press(m, "t")
		case 25:
			m.list.SetFilter("sleep")
		case 35:
			m.list.SetFilter("")
			m = press(m, "t")
		}
		v := m.View()
		if v.Content == "" {
			t.Fatalf("refresh %d: empty view", refreshes)
		}
		refreshes++
		inSnap := make(map[int]bool, len(snap.Procs))
		for _, p := range snap.Procs {
			inSnap[p.PID] = true
			if p.PID <= 0 || p.PID > pidMax || p.Comm == "" || p.State == 0 ||
				(!p.KernelThread && p.Sets.Bounding == 0 && !emptyBnd[p.PID]) {
				t.Errorf("refresh %d: half-read process %+v", refreshes, p)
			}
		}
		for _, r := range m.list.Rows() {
			rows++
			if r.Proc.Comm == "sleep" {
				churnRows++
			}
			if !inSnap[r.Proc.PID] && !r.Gone {
				t.Errorf("refresh %d: stale row for PID %d (not in the snapshot, not marked gone)", refreshes, r.Proc.PID)
			}
			if r.Proc.PID <= 0 || r.Proc.Comm == "" || (!r.Proc.KernelThread && r.Proc.Sets.Bounding == 0 && !emptyBnd[r.Proc.PID]) {
				t.Errorf("refresh %d: half-read row %+v", refreshes, r.Proc)
			}
		}
		if rssWarm == 0 && time.Since(begin) >= warmup {
			rssWarm, heapWarm = vmRSS(t), heapKB()
		}
	}
	elapsed := time.Since(begin)
	rssEnd, heapEnd := vmRSS(t), heapKB()
	rate := float64(started.Load()) / elapsed.Seconds()
	t.Logf("%s: %d refreshes (%.0f/s), %d processes started (%.0f/s), %d reaped, %d rows checked (%d of churn processes)",
		elapsed.Round(time.Millisecond), refreshes, float64(refreshes)/elapsed.Seconds(), started.Load(), rate, reaped.Load(), rows, churnRows)
	t.Logf("VmRSS: start %d kB, after %s warm-up %d kB, end %d kB; Go heap in use: start %d kB, warm %d kB, end %d kB",
		rssStart, warmup.Round(time.Millisecond), rssWarm, rssEnd, heapStart, heapWarm, heapEnd)
	if rssWarm > 0 && rssEnd > rssWarm*3/2 {
		t.Errorf("RSS grew from %d kB after the warm-up to %d kB (more than 50%%)", rssWarm, rssEnd)
	}
	if churnRows == 0 || refreshes < 10 {
		t.Errorf("in %s (ten times the planned %s) only %d refreshes and %d rows of churn processes: the test saw too little to judge",
			elapsed.Round(time.Millisecond), total, refreshes, churnRows)
	}
}
