package ui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"captune/procscan"
)

// bigSnapshot has n processes in a shallow tree.
func bigSnapshot(n int) procscan.Snapshot {
	procs := make([]procscan.Process, n)
	for i := range procs {
		pid := i + 1
		procs[i] = procscan.Process{
			PID: pid, PPID: max(1, pid/50), User: "user", Comm: fmt.Sprintf("proc%d", pid),
			Cmdline: []string{fmt.Sprintf("/usr/bin/proc%d", pid), "--flag"},
			Sets:    procscan.Sets{Permitted: full, Effective: full, Bounding: full}, HasAmbient: true, NumThreads: 1,
		}
		if i%3 == 0 {
			procs[i].Sets = procscan.Sets{Bounding: full}
		}
	}
	return procscan.Snapshot{Procs: procs, Taken: time.Unix(1700000000, 0), LastCap: 40}
}

// BenchmarkRender10k draws one frame with 10,000 processes (only the
// visible rows are drawn).
func BenchmarkRender10k(b *testing.B) {
	m := New(Options{Master: full, PAM: true})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = send(m, scanMsg{snap: bigSnapshot(10000)})
	m = press(m, "pgdown", "pgdown")
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkRefresh10k applies a new 10,000-process snapshot (filter, sort
// and rows rebuilt), as every refresh does.
func BenchmarkRefresh10k(b *testing.B) {
	m := New(Options{Master: full, PAM: true})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	snap := bigSnapshot(10000)
	for b.Loop() {
		m = send(m, scanMsg{snap: snap})
	}
}
