package procscan

import (
	"fmt"
	"strings"
	"testing"
)

// TestFixtureLookAlikes: a process is a proftpd master only when its real
// uid is root and its executable is a file named proftpd owned by root;
// any other process named proftpd is a look-alike, noted, and its
// children (titled like sessions) get no role. One whose executable is
// gone (800: no exe link, as for a process that is exiting) is neither.
func TestFixtureLookAlikes(t *testing.T) {
	snap, m := snapshotFixture(t, "proc-lookalike")
	for pid, role := range map[int]Role{600: RoleNone, 601: RoleNone, 700: RoleNone, 701: RoleNone, 800: RoleNone, 900: RoleProftpdMaster, 901: RoleProftpdSession} {
		if p := mustProc(t, m, pid); p.Role != role || (role == RoleNone && p.FTPUser != "") {
			t.Errorf("PID %d: role %q ftp user %q, want %q", pid, p.Role, p.FTPUser, role)
		}
	}
	want := []LookAlike{
		{600, "real uid 1000, not root"},
		{700, "its executable is ../bin/not-proftpd, not proftpd"},
	}
	if fmt.Sprint(snap.LookAlikes) != fmt.Sprint(want) {
		t.Errorf("look-alikes %+v, want %+v", snap.LookAlikes, want)
	}
	notes := snap.Notes()
	if len(notes) != 1 || notes[0] != "ignored 2 processes named proftpd that are not a credible proftpd master (PID 600: real uid 1000, not root); their children are not taken for FTP sessions (and 1 more)" {
		t.Errorf("notes %q", notes)
	}
	if n := snap.NotesFor([]int{700, 901}); len(n) != 1 || !strings.HasPrefix(n[0], "ignored 1 process named proftpd that is not a credible proftpd master (PID 700: ") {
		t.Errorf("NotesFor %q", n)
	}

	// Process reads one process and its parent: the same verdicts.
	s := fixture(t, "proc-lookalike")
	for pid, role := range map[int]Role{601: RoleNone, 901: RoleProftpdSession} {
		if p, err := s.Process(pid); err != nil || p.Role != role {
			t.Errorf("Process(%d): role %q %v", pid, p.Role, err)
		}
	}

	// An executable another user owns is no proftpd of root's.
	s.exeOwner = checkoutOwner(t) + 1
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range snap.LookAlikes {
		if l.PID == 900 {
			found = strings.HasPrefix(l.Reason, "its executable ../bin/proftpd is owned by uid ") && strings.HasSuffix(l.Reason, ", not root")
			t.Logf("900: %s", l.Reason)
		}
	}
	if !found {
		t.Errorf("900 with a foreign executable: %+v", snap.LookAlikes)
	}
}

// TestExitingProftpdIsNoLookAlike: a proftpd that is exiting (a zombie,
// or one whose executable link is already gone) is neither a master nor a
// look-alike worth a note: another run's throwaway proftpd ending at the
// moment of a scan must not put a note on this one's output.
func TestExitingProftpdIsNoLookAlike(t *testing.T) {
	procs := []Process{
		{PID: 10, PPID: 1, Comm: "proftpd", State: 'Z'},
		{PID: 20, PPID: 1, Comm: "proftpd", State: 'S'},
		{PID: 21, PPID: 20, Comm: "proftpd", State: 'S', Cmdline: []string{"proftpd: alice - 1.2.3.4: IDLE"}},
	}
	checked := map[int]bool{}
	look := assignRoles(procs, func(p Process) string {
		checked[p.PID] = true
		if p.PID == 20 {
			return exiting
		}
		return "would be a look-alike"
	})
	if len(look) != 0 || checked[10] {
		t.Errorf("look-alikes %+v (checked %v), want none and the zombie not checked", look, checked)
	}
	for _, p := range procs {
		if p.Role != RoleNone {
			t.Errorf("PID %d: role %q", p.PID, p.Role)
		}
	}
}

// TestNotesListing: a filtered listing carries the look-alike note only
// when the look-alike (or a child of it) is listed; malformed files are
// always noted, since what was left out might have matched.
func TestNotesListing(t *testing.T) {
	snap := Snapshot{
		LookAlikes: []LookAlike{{PID: 600, Reason: "real uid 1000, not root"}},
		Malformed:  []Malformed{{PID: 70, Path: "70/status", Reason: "CapPrm: bad"}},
	}
	other := []Process{{PID: 5, PPID: 1}}
	if n := snap.NotesListing(other); len(n) != 1 || !strings.Contains(n[0], "malformed") {
		t.Errorf("listing without the look-alike: %q", n)
	}
	for _, listed := range [][]Process{{{PID: 600, PPID: 1}}, {{PID: 601, PPID: 600}}} {
		if n := snap.NotesListing(listed); len(n) != 2 || !strings.Contains(n[1], "PID 600") {
			t.Errorf("listing %v: %q", listed, n)
		}
	}
}
