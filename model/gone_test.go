package model

import (
	"fmt"
	"testing"

	"captune/procscan"
)

// TestGoneRowInOrder: a selected process that exits stays, marked gone,
// at its place in every order (ascending, descending, tree), and only
// its row is marked. (The churn load test found the mark on the wrong
// row once the list was sorted.)
func TestGoneRowInOrder(t *testing.T) {
	snap := func(pids ...int) procscan.Snapshot {
		var s procscan.Snapshot
		for _, pid := range pids {
			s.Procs = append(s.Procs, procscan.Process{PID: pid, PPID: 1, Comm: fmt.Sprintf("p%d", pid), User: "root"})
		}
		return s
	}
	for _, tc := range []struct {
		name  string
		setup func(l *ProcList)
		want  string
	}{
		{"pid ascending", func(*ProcList) {}, "10 20(gone) 30"},
		{"pid descending", func(l *ProcList) {
			for range sortNames {
				l.CycleSort()
			}
		}, "30 20(gone) 10"},
		{"tree", func(l *ProcList) { l.ToggleTree() }, "10 20(gone) 30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewProcList()
			l.SetSnapshot(snap(10, 20, 30))
			tc.setup(l)
			if !l.SelectPID(20) {
				t.Fatal("PID 20 not listed")
			}
			l.SetSnapshot(snap(10, 30))
			got := ""
			for i, r := range l.Rows() {
				if i > 0 {
					got += " "
				}
				got += fmt.Sprint(r.Proc.PID)
				if r.Gone {
					got += "(gone)"
				}
			}
			if got != tc.want {
				t.Errorf("rows %s, want %s", got, tc.want)
			}
			if row, ok := l.Selected(); !ok || row.Proc.PID != 20 || !row.Gone {
				t.Errorf("selected %+v", row)
			}
		})
	}
}
