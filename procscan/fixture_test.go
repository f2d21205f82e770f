package procscan

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"captune/capset"
	"captune/safefile"
)

// The trees under testdata/proc-* look like a proc mount: PID directories
// with status and cmdline (and task/TID/status for threads) and
// sys/kernel/cap_last_cap. They have no ns/user links, so UserNSChild
// stays nil; the proftpd masters' exe links point at a stand-in file
// (bin/proftpd) without file capabilities.

const fullBnd = capset.Set(0x000001ffffffffff)

func fixture(t *testing.T, name string) *Scanner {
	t.Helper()
	s, err := New(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	s.SetPasswd(filepath.Join("testdata", "passwd"))
	// The stand-in proftpd belongs to whoever checked the tree out: here
	// that counts as root, so that the tests also run without root.
	s.exeOwner = checkoutOwner(t)
	return s
}

// checkoutOwner is the owner of the fixture trees' stand-in proftpd.
func checkoutOwner(t *testing.T) uint32 {
	t.Helper()
	st, err := os.Stat(filepath.Join("testdata", "proc-proftpd", "bin", "proftpd"))
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := safefile.Owner(st)
	return uid
}

// snapshotFixture scans a fixture tree and indexes the processes by PID.
func snapshotFixture(t *testing.T, name string) (Snapshot, map[int]Process) {
	t.Helper()
	snap, err := fixture(t, name).Snapshot()
	if err != nil {
		t.Fatalf("Snapshot(%s): %v", name, err)
	}
	byPID := map[int]Process{}
	for _, p := range snap.Procs {
		if _, dup := byPID[p.PID]; dup {
			t.Errorf("%s: PID %d listed twice", name, p.PID)
		}
		byPID[p.PID] = p
	}
	if !sort.SliceIsSorted(snap.Procs, func(i, j int) bool { return snap.Procs[i].PID < snap.Procs[j].PID }) {
		t.Errorf("%s: processes not in PID order", name)
	}
	return snap, byPID
}

func pids(m map[int]Process) []int {
	var out []int
	for pid := range m {
		out = append(out, pid)
	}
	sort.Ints(out)
	return out
}

func mustProc(t *testing.T, m map[int]Process, pid int) Process {
	t.Helper()
	p, ok := m[pid]
	if !ok {
		t.Fatalf("PID %d missing; have %v", pid, pids(m))
	}
	return p
}

func TestNewMissingRoot(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "nosuch")); err == nil {
		t.Fatal("New on a missing directory: no error")
	}
}

func TestFixtureNoAmbient(t *testing.T) {
	snap, m := snapshotFixture(t, "proc-noamb")
	if snap.LastCap != 37 {
		t.Errorf("LastCap %d, want 37 (from sys/kernel/cap_last_cap)", snap.LastCap)
	}
	if got := pids(m); !reflect.DeepEqual(got, []int{1, 2, 200}) {
		t.Fatalf("pids %v", got)
	}
	for _, p := range snap.Procs {
		if p.HasAmbient || p.Sets.Ambient != 0 {
			t.Errorf("PID %d: HasAmbient %v ambient %s on a kernel without CapAmb", p.PID, p.HasAmbient, p.Sets.Ambient.Hex())
		}
		if p.NoNewPrivs {
			t.Errorf("PID %d: NoNewPrivs without a NoNewPrivs: line", p.PID)
		}
		if p.UserNSChild != nil || p.FileCaps != "" {
			t.Errorf("PID %d: UserNSChild %v FileCaps %q from a fixture without links", p.PID, p.UserNSChild, p.FileCaps)
		}
	}
	bash := mustProc(t, m, 200)
	want := Process{PID: 200, PPID: 1, UID: 1000, EUID: 1000, SUID: 1000, GID: 1000, EGID: 1000, User: "alice",
		Comm: "bash", Cmdline: []string{"-bash"}, State: 'S', NumThreads: 1,
		Sets: Sets{Bounding: 0x3fffffffff}}
	if !reflect.DeepEqual(bash, want) {
		t.Errorf("PID 200:\n got %+v\nwant %+v", bash, want)
	}
	// No Kthread: line on such kernels: PID 2 is kthreadd.
	if !mustProc(t, m, 2).KernelThread || mustProc(t, m, 1).KernelThread {
		t.Errorf("kernel threads: pid 2 %v, pid 1 %v", m[2].KernelThread, m[1].KernelThread)
	}
}

func TestFixtureHighBits(t *testing.T) {
	_, m := snapshotFixture(t, "proc-highbits")
	p := mustProc(t, m, 10)
	want := Sets{
		Inheritable: 0x0004000000000000,
		Permitted:   0x8004000000002000,
		Effective:   0x0004000000002000,
		Bounding:    0xffffffffffffffff,
		Ambient:     0x0004000000000000,
	}
	if p.Sets != want {
		t.Errorf("sets %+v, want %+v", p.Sets, want)
	}
	for _, s := range []capset.Set{p.Sets.Inheritable, p.Sets.Permitted, p.Sets.Effective, p.Sets.Bounding, p.Sets.Ambient} {
		if !s.Has(50) {
			t.Errorf("%s: bit 50 lost", s.Hex())
		}
	}
	if !p.Sets.Permitted.Has(63) || !p.Sets.Effective.Has(capset.Cap(13)) {
		t.Errorf("permitted %s effective %s", p.Sets.Permitted.Hex(), p.Sets.Effective.Hex())
	}
	if !p.HasAmbient {
		t.Error("HasAmbient false")
	}
}

// In a tree, a status file cut in the middle is malformed: the process
// is left out and listed in Malformed with the reason, never shown half
// read (on the live /proc, a process exiting mid-read is gone instead:
// TestLiveChurn, TestLiveExitMidRead).
func TestFixtureTruncated(t *testing.T) {
	snap, m := snapshotFixture(t, "proc-truncated")
	if got := pids(m); !reflect.DeepEqual(got, []int{1, 106}) {
		for _, pid := range got {
			t.Logf("kept %d: %+v", pid, m[pid])
		}
		t.Fatalf("pids %v, want [1 106]: truncated status files must be dropped", got)
	}
	if snap.Unreadable != 0 {
		t.Errorf("Unreadable %d: truncation is not a permission problem", snap.Unreadable)
	}
	var bad []int
	for _, b := range snap.Malformed {
		bad = append(bad, b.PID)
		if b.Path != filepath.Join("testdata", "proc-truncated", strconv.Itoa(b.PID), "status") || b.Reason == "" {
			t.Errorf("malformed %+v", b)
		}
	}
	if !reflect.DeepEqual(bad, []int{100, 101, 102, 103, 104, 105}) {
		t.Errorf("malformed %v", bad)
	}
	notes := snap.Notes()
	if len(notes) != 1 || notes[0] != "6 processes left out, malformed (not as a kernel writes it): testdata/proc-truncated/100/status: cut short: the last line has no newline (and 5 more)" {
		t.Errorf("notes %q", notes)
	}
	s := fixture(t, "proc-truncated")
	for _, pid := range []int{100, 101, 102, 103, 104, 105} {
		p, err := s.Process(pid)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "/status: ") {
			t.Errorf("Process(%d): %+v, %v; want ErrMalformed naming the file", pid, p, err)
		}
	}
	if p := mustProc(t, m, 106); p.Comm != "survivor" || p.Sets.Bounding != fullBnd || !p.HasAmbient {
		t.Errorf("PID 106: %+v", p)
	}
}

// TestFixtureMalformedMasks: masks that are not hex, a 19-digit mask and
// a missing CapBnd: line leave the process out, counted, with a note
// naming one example file and the bad token; nothing is shown as 0.
func TestFixtureMalformedMasks(t *testing.T) {
	snap, m := snapshotFixture(t, "proc-badmask")
	if got := pids(m); !reflect.DeepEqual(got, []int{1, 33}) {
		t.Fatalf("pids %v, want [1 33]", got)
	}
	want := map[int]string{
		30: `CapPrm: "zz000000000004c1" is not a hex mask`,
		31: `CapEff: "0000000000000000001" has 19 hex digits (a mask has at most 16)`,
		32: "no CapBnd: line",
	}
	if len(snap.Malformed) != len(want) {
		t.Errorf("malformed %+v", snap.Malformed)
	}
	for _, b := range snap.Malformed {
		if b.Reason != want[b.PID] {
			t.Errorf("PID %d: %q, want %q", b.PID, b.Reason, want[b.PID])
		}
	}
	notes := snap.Notes()
	if len(notes) != 1 || !strings.Contains(notes[0], `3 processes left out, malformed`) ||
		!strings.Contains(notes[0], `proc-badmask/30/status: CapPrm: "zz000000000004c1" is not a hex mask (and 2 more)`) {
		t.Errorf("notes %q", notes)
	}
	if n := snap.NotesFor([]int{31}); len(n) != 1 || !strings.Contains(n[0], "1 process left out") || !strings.Contains(n[0], "19 hex digits") {
		t.Errorf("NotesFor(31) %q", n)
	}
	if n := snap.NotesFor([]int{33}); len(n) != 0 {
		t.Errorf("NotesFor(33) %q", n)
	}
}

func TestFixtureNames(t *testing.T) {
	_, m := snapshotFixture(t, "proc-names")
	want := map[int]string{
		20: "my prog (x) ) R",
		21: "evil\nname",
		22: `back\slash`,
		23: "bad\xff\xfename",
		24: " lead trail ",
		25: "tab\there",
		26: "caf\u00e9:x",
	}
	for pid, name := range want {
		p := mustProc(t, m, pid)
		if p.Comm != name {
			t.Errorf("PID %d: Comm %q, want %q", pid, p.Comm, name)
		}
		if !reflect.DeepEqual(p.Cmdline, []string{"/bin/x", "arg with space"}) {
			t.Errorf("PID %d: Cmdline %q", pid, p.Cmdline)
		}
		if p.User != "alice" || p.UID != 1000 {
			t.Errorf("PID %d: user %q uid %d", pid, p.User, p.UID)
		}
	}
}

func TestFixtureZombie(t *testing.T) {
	_, m := snapshotFixture(t, "proc-zombie")
	z := mustProc(t, m, 50)
	if z.State != 'Z' || z.Cmdline != nil || z.Comm != "defunct" || z.KernelThread {
		t.Errorf("zombie: state %q cmdline %q comm %q kthread %v", z.State, z.Cmdline, z.Comm, z.KernelThread)
	}
	if z.Sets.Bounding != fullBnd || z.UID != 1000 {
		t.Errorf("zombie: %+v", z)
	}
}

func TestFixtureKernelThreads(t *testing.T) {
	for _, c := range []struct {
		tree  string
		kthr  []int
		other []int
	}{
		// Kthread: lines decide; modprobe is a usermode helper whose
		// parent is kthreadd but which is no kernel thread.
		{"proc-kthread", []int{2, 3}, []int{1, 40}},
		// Without Kthread: lines, PID 2 and its children are kernel threads.
		{"proc-kthread-old", []int{2, 3, 4}, []int{1}},
	} {
		t.Run(c.tree, func(t *testing.T) {
			_, m := snapshotFixture(t, c.tree)
			if len(m) != len(c.kthr)+len(c.other) {
				t.Errorf("pids %v", pids(m))
			}
			for _, pid := range c.kthr {
				if p := mustProc(t, m, pid); !p.KernelThread || p.Cmdline != nil {
					t.Errorf("PID %d (%s): KernelThread %v cmdline %q", pid, p.Comm, p.KernelThread, p.Cmdline)
				}
			}
			for _, pid := range c.other {
				if p := mustProc(t, m, pid); p.KernelThread {
					t.Errorf("PID %d (%s) taken for a kernel thread", pid, p.Comm)
				}
			}
		})
	}
	s := fixture(t, "proc-kthread")
	if p, err := s.Process(40); err != nil || p.KernelThread || len(p.Cmdline) != 3 {
		t.Errorf("Process(40): %+v %v", p, err)
	}
}

func TestFixtureBadUid(t *testing.T) {
	snap, m := snapshotFixture(t, "proc-baduid")
	// Only the well-formed processes survive; the rest are counted as
	// malformed.
	if got := pids(m); !reflect.DeepEqual(got, []int{1, 18}) {
		for _, pid := range got {
			t.Logf("kept %d: %+v", pid, m[pid])
		}
		t.Errorf("pids %v, want [1 18]", got)
	}
	if snap.Unreadable != 0 || len(snap.Malformed) != 8 {
		t.Errorf("Unreadable %d, malformed %+v", snap.Unreadable, snap.Malformed)
	}
	for _, b := range snap.Malformed {
		if !strings.HasPrefix(b.Reason, "Uid: ") && b.Reason != "no Uid: line" {
			t.Errorf("PID %d: %q", b.PID, b.Reason)
		}
	}
	g := mustProc(t, m, 18)
	if g.UID != 1000 || g.EUID != 1001 || g.SUID != 1002 || g.User != "alice" {
		t.Errorf("good: uid %d/%d/%d user %q", g.UID, g.EUID, g.SUID, g.User)
	}
	s := fixture(t, "proc-baduid")
	for pid := 10; pid <= 17; pid++ {
		if _, err := s.Process(pid); !errors.Is(err, ErrMalformed) {
			t.Errorf("Process(%d) with a malformed Uid: line: %v", pid, err)
		}
	}
}

func TestFixtureProftpd(t *testing.T) {
	_, m := snapshotFixture(t, "proc-proftpd")
	master := mustProc(t, m, 500)
	if master.Role != RoleProftpdMaster || master.FTPUser != "" {
		t.Errorf("master: role %q ftp user %q", master.Role, master.FTPUser)
	}
	sess := mustProc(t, m, 501)
	if sess.Role != RoleProftpdSession || sess.FTPUser != "ftptest" || sess.FTPHost != "localhost" || sess.FTPState != "IDLE" {
		t.Errorf("session: role %q user %q host %q state %q", sess.Role, sess.FTPUser, sess.FTPHost, sess.FTPState)
	}
	if sess.User != "ftptest" || sess.Sets.Effective != capset.Of(capset.Cap(10)) {
		t.Errorf("session: user %q effective %s", sess.User, sess.Sets.Effective.Hex())
	}
	if !reflect.DeepEqual(sess.Cmdline, []string{"proftpd: ftptest - localhost: IDLE"}) {
		t.Errorf("session cmdline %q: trailing NULs must go", sess.Cmdline)
	}
	for _, pid := range []int{502, 503} {
		p := mustProc(t, m, pid)
		if p.Role != RoleProftpdPre || p.FTPUser != "" || p.FTPHost != "" || p.FTPState != "" {
			t.Errorf("PID %d %q: role %q user %q host %q state %q", pid, p.Cmdline, p.Role, p.FTPUser, p.FTPHost, p.FTPState)
		}
		if p.UID != 0 || p.EUID != 65534 || p.User != "root" {
			t.Errorf("PID %d: uid %d euid %d user %q", pid, p.UID, p.EUID, p.User)
		}
	}
	if mustProc(t, m, 1).Role != RoleNone {
		t.Errorf("init has a role")
	}
	// Process reads the parent too, so one process gets its role.
	s := fixture(t, "proc-proftpd")
	for pid, role := range map[int]Role{500: RoleProftpdMaster, 501: RoleProftpdSession, 502: RoleProftpdPre, 503: RoleProftpdPre} {
		p, err := s.Process(pid)
		if err != nil || p.Role != role {
			t.Errorf("Process(%d): role %q err %v, want %q", pid, p.Role, err, role)
		}
		if pid == 501 && (p.FTPUser != "ftptest" || p.FTPHost != "localhost" || p.FTPState != "IDLE") {
			t.Errorf("Process(501): %+v", p)
		}
	}
}

func TestAssignRolesTitles(t *testing.T) {
	for _, c := range []struct {
		title                string
		role                 Role
		user, host, ftpState string
	}{
		{"proftpd: ftptest - localhost: IDLE", RoleProftpdSession, "ftptest", "localhost", "IDLE"},
		{"proftpd: ftptest - localhost: IDLE      ", RoleProftpdSession, "ftptest", "localhost", "IDLE"},
		{"proftpd: ftptest - ::1: RETR big.iso", RoleProftpdSession, "ftptest", "::1", "RETR big.iso"},
		{"proftpd: connected: localhost (127.0.0.1:48650)", RoleProftpdPre, "", "", ""},
		{"proftpd: 127.0.0.1:48650: USER ftptest", RoleProftpdPre, "", "", ""},
		{"proftpd: 127.0.0.1:48650: USER a - b: c", RoleProftpdPre, "", "", ""},
		{"", RoleProftpdPre, "", "", ""},
		{"/usr/sbin/proftpd", RoleProftpdPre, "", "", ""},
	} {
		procs := []Process{
			{PID: 1, Comm: "init"},
			{PID: 10, PPID: 1, Comm: "proftpd", Cmdline: []string{"proftpd: (accepting connections)"}},
			{PID: 11, PPID: 10, Comm: "proftpd", Cmdline: []string{c.title}},
		}
		assignRoles(procs, func(Process) string { return "" })
		p := procs[2]
		if procs[1].Role != RoleProftpdMaster || p.Role != c.role || p.FTPUser != c.user || p.FTPHost != c.host || p.FTPState != c.ftpState {
			t.Errorf("%q: master %q, child %q %q %q %q", c.title, procs[1].Role, p.Role, p.FTPUser, p.FTPHost, p.FTPState)
		}
	}
}

func TestFixtureThreads(t *testing.T) {
	_, m := snapshotFixture(t, "proc-threads")
	p := mustProc(t, m, 300)
	if p.NumThreads != 3 {
		t.Errorf("NumThreads %d", p.NumThreads)
	}
	leader := Sets{Permitted: 0x34c1, Effective: 0x34c1, Bounding: fullBnd}
	if p.Sets != leader {
		t.Errorf("leader sets %+v", p.Sets)
	}
	want := []Thread{{TID: 302, Comm: "worker-drop", Sets: Sets{Permitted: 0x34c1, Bounding: fullBnd}}}
	if !reflect.DeepEqual(p.Threads, want) {
		t.Errorf("Threads %+v, want %+v", p.Threads, want)
	}
	single := mustProc(t, m, 310)
	if single.NumThreads != 2 || single.Threads != nil {
		t.Errorf("310: NumThreads %d Threads %+v", single.NumThreads, single.Threads)
	}
	if q, err := fixture(t, "proc-threads").Process(300); err != nil || !reflect.DeepEqual(q.Threads, want) {
		t.Errorf("Process(300): %+v %v", q.Threads, err)
	}
}

// Every fixture, scanned with one worker and with many, gives the same.
func TestFixtureWorkers(t *testing.T) {
	for _, tree := range []string{"proc-names", "proc-proftpd", "proc-threads", "proc-truncated"} {
		var prev []Process
		for _, w := range []int{1, 2, 3, 64} {
			s := fixture(t, tree)
			s.Workers = w
			snap, err := s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if prev != nil && !reflect.DeepEqual(prev, snap.Procs) {
				t.Errorf("%s: %d workers give a different snapshot", tree, w)
			}
			prev = snap.Procs
		}
	}
}

func TestProcessMissing(t *testing.T) {
	if _, err := fixture(t, "proc-names").Process(99999); !errors.Is(err, ErrProcGone) {
		t.Errorf("Process(99999): %v, want ErrProcGone", err)
	}
}

func TestUserCache(t *testing.T) {
	c := newUserCache(filepath.Join("testdata", "passwd"))
	for uid, name := range map[uint32]string{0: "root", 65534: "nobody", 1001: "ftptest", 4242: "4242"} {
		if got := c.name(uid); got != name {
			t.Errorf("uid %d: %q, want %q", uid, got, name)
		}
	}
	if got := newUserCache(filepath.Join(t.TempDir(), "nosuch")).name(0); got != "0" {
		t.Errorf("no passwd file: %q", got)
	}
}
