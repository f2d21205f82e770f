package procscan

import (
	"os"
	"testing"
)

func TestLiveSelf(t *testing.T) {
	s, err := New("/proc")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var me *Process
	for i := range snap.Procs {
		if snap.Procs[i].PID == os.Getpid() {
			me = &snap.Procs[i]
		}
	}
	if me == nil {
		t.Fatalf("own pid %d not in a snapshot of %d processes", os.Getpid(), len(snap.Procs))
	}
	if me.PPID != os.Getppid() || int(me.UID) != os.Getuid() {
		t.Errorf("self: ppid %d uid %d", me.PPID, me.UID)
	}
	t.Logf("%d processes, self %+v", len(snap.Procs), *me)
}
