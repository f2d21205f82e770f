package drift

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"captune/capset/modcap"
	"captune/procscan"
)

var full = procscan.Sets{Permitted: 0x1ffffffffff, Effective: 0x1ffffffffff, Bounding: 0x1ffffffffff}

func master(pid int, cmdline ...string) procscan.Process {
	if cmdline == nil {
		cmdline = []string{"proftpd: (accepting connections)"}
	}
	return procscan.Process{PID: pid, PPID: 1, Role: procscan.RoleProftpdMaster, Sets: full, Cmdline: cmdline}
}

func session(pid, ppid int) procscan.Process {
	return procscan.Process{PID: pid, PPID: ppid, UID: 1000, EUID: 1000, SUID: 1000, Role: procscan.RoleProftpdSession, FTPUser: "u",
		Sets: procscan.Sets{Permitted: 0x4c9, Bounding: 0x1ffffffffff}}
}

func write(t *testing.T, path, text string) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// within fails the test when f has not returned in a generous time.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s blocked", what)
	}
}

func TestCheckOnlyComparesLoggedInSessions(t *testing.T) {
	conf := write(t, filepath.Join(t.TempDir(), "proftpd.conf"), "CapabilitiesSet +CAP_FOWNER\n")
	c := NewChecker("testdata-none", Options{Explicit: conf})
	ok := session(11, 10)
	drifted := session(12, 10)
	drifted.Sets.Permitted = 0x200004c1
	pre := procscan.Process{PID: 13, PPID: 10, Role: procscan.RoleProftpdPre, Sets: full}
	orphan := session(14, 99)
	rep := c.Check([]procscan.Process{master(10), ok, drifted, pre, orphan})

	if r := rep.Sessions[11]; r == nil || r.Status != Known || r.Drifted() || r.Config != conf {
		t.Errorf("matching session: %+v", r)
	}
	r := rep.Sessions[12]
	if r == nil || !r.Drifted() || r.Expected.Permitted != 0x4c9 || len(r.Reasons) < 2 ||
		!strings.HasPrefix(r.Reasons[0], "CapPrm: predicted 00000000000004c9, observed 00000000200004c1") {
		t.Errorf("drifted session: %+v", r)
	}
	for _, pid := range []int{10, 13, 14} {
		if rep.Sessions[pid] != nil {
			t.Errorf("PID %d was compared", pid)
		}
	}
	if id := rep.Masters[10]; id == nil || id.Status != Known || !strings.HasPrefix(id.Note, "given with --proftpd-config (the only proftpd master") {
		t.Errorf("master: %+v", id)
	}
	if got := rep.Drifted(); len(got) != 1 || got[0] != 12 {
		t.Errorf("Drifted %v", got)
	}
}

func TestExplicitConfigErrors(t *testing.T) {
	c := NewChecker("/proc", Options{Explicit: "/nonexistent/proftpd.conf"})
	if err := c.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "/nonexistent/proftpd.conf") {
		t.Errorf("Validate: %v", err)
	}
	rep := c.Check([]procscan.Process{master(10), session(11, 10)})
	if r := rep.Sessions[11]; r == nil || r.Status != Unknown || r.Drifted() {
		t.Errorf("session: %+v", r)
	}
}

// procTree makes a proc-like tree in which masters hold descriptors
// (fd/N symbolic links, read with readlink only).
func procTree(t *testing.T, fds map[int]map[int]string) string {
	t.Helper()
	root := t.TempDir()
	for pid, links := range fds {
		dir := filepath.Join(root, strconv.Itoa(pid), "fd")
		os.MkdirAll(dir, 0o755)
		for fd, to := range links {
			if err := os.Symlink(to, filepath.Join(dir, strconv.Itoa(fd))); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// TestScoreboardEvidence: the master that holds the ScoreboardFile's lock
// open runs that configuration; another master holding it says the file
// is not this one's; with several masters and no evidence, nothing is
// claimed, not even for a configuration given with --proftpd-config.
func TestScoreboardEvidence(t *testing.T) {
	dir := t.TempDir()
	conf := write(t, filepath.Join(dir, "ftp.conf"), "ScoreboardFile /srv/ftp/proftpd.scoreboard\nCapabilitiesSet +CAP_FOWNER\n")
	lock := "/srv/ftp/proftpd.scoreboard.lck"
	procs := []procscan.Process{master(10), session(11, 10), master(20), session(21, 20)}

	root := procTree(t, map[int]map[int]string{10: {0: "socket:[1]", 5: lock}, 20: {5: "/run/proftpd.scoreboard.lck"}})
	rep := NewChecker(root, Options{Explicit: conf}).Check(procs)
	if id := rep.Masters[10]; id.Status != Known || id.Note != "given with --proftpd-config; the master holds its ScoreboardFile lock "+lock+" open (fd 5)" {
		t.Errorf("master 10: %+v", id)
	}
	if id := rep.Masters[20]; id.Status != Unknown || id.Note != "--proftpd-config "+conf+" is not master 20's: proftpd master 10 holds its ScoreboardFile lock "+lock+" open" {
		t.Errorf("master 20: %+v", id)
	}
	if rep.Sessions[11].Status != Known || rep.Sessions[11].Drifted() || rep.Sessions[21].Status != Unknown || rep.Sessions[21].Drifted() {
		t.Errorf("sessions: %+v %+v", rep.Sessions[11], rep.Sessions[21])
	}

	root = procTree(t, map[int]map[int]string{10: {5: "/elsewhere.lck"}, 20: {}})
	rep = NewChecker(root, Options{Explicit: conf}).Check(procs)
	for _, pid := range []int{10, 20} {
		if id := rep.Masters[pid]; id.Status != Unknown || !strings.HasPrefix(id.Note, "2 proftpd masters run and nothing shows that --proftpd-config "+conf+" is master ") {
			t.Errorf("master %d: %+v", pid, id)
		}
	}
	if len(rep.Drifted()) != 0 {
		t.Errorf("drift claimed without evidence: %v", rep.Drifted())
	}

	// Not this machine's proc and nothing given: nothing is read at all.
	rep = NewChecker(root, Options{}).Check(procs)
	if id := rep.Masters[10]; id.Status != Unknown || !strings.Contains(id.Note, "not this machine's /proc") {
		t.Errorf("fixture without --proftpd-config: %+v", id)
	}
}

// liveChecker treats a private tree as this machine's proc, so that
// candidates and PidFiles are looked at.
func liveChecker(root string, opt Options) *Checker {
	c := NewChecker(root, opt)
	c.live = true
	c.defaultConfig = filepath.Join(root, "no-default.conf")
	return c
}

// TestPidFileEvidence: a candidate whose PidFile holds the master's PID
// is its configuration, named with the evidence; without evidence the
// configuration is unknown and nothing drifts.
func TestPidFileEvidence(t *testing.T) {
	dir := t.TempDir()
	pidFile := write(t, filepath.Join(dir, "proftpd.pid"), "10\n")
	conf := write(t, filepath.Join(dir, "ftp.conf"), "PidFile "+pidFile+"\nCapabilitiesSet +CAP_FOWNER\n")
	root := procTree(t, map[int]map[int]string{10: {}})
	procs := []procscan.Process{master(10), session(11, 10)}

	rep := liveChecker(root, Options{Candidates: []string{conf}}).Check(procs)
	if id := rep.Masters[10]; id.Status != Known || id.Config != conf || id.Note != "its PidFile "+pidFile+" holds PID 10" {
		t.Errorf("master: %+v", id)
	}
	if r := rep.Sessions[11]; r.Drifted() {
		t.Errorf("matching session drifted: %+v", r)
	}
	write(t, pidFile, "12345\n")
	rep = liveChecker(root, Options{Candidates: []string{conf}}).Check(procs)
	if id := rep.Masters[10]; id.Status != Unknown || !strings.Contains(id.Note, "PidFile "+pidFile+" holds PID 12345, not 10") {
		t.Errorf("stale PidFile: %+v", id)
	}
	// The master's visible -c is a candidate too.
	write(t, pidFile, "10\n")
	rep = liveChecker(root, Options{}).Check([]procscan.Process{master(10, "/usr/sbin/proftpd", "-n", "-c", conf), session(11, 10)})
	if id := rep.Masters[10]; id.Status != Known || id.Config != conf {
		t.Errorf("visible -c: %+v", id)
	}
}

// TestHostileFiles: whatever a candidate, an Include or a PidFile is (a
// FIFO, a file another user owns), the check ends at once and claims
// nothing.
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	inc := write(t, filepath.Join(dir, "inc.conf"), "PidFile "+filepath.Join(dir, "pid")+"\nInclude "+fifo+"\n")
	pidFIFO := write(t, filepath.Join(dir, "pidfifo.conf"), "PidFile "+fifo+"\n")
	root := procTree(t, map[int]map[int]string{10: {}})
	cases := []struct {
		name, want string
		opt        Options
		cmdline    []string
	}{
		{"-c FIFO", "not a regular file (a FIFO)", Options{}, []string{"proftpd", "-c", fifo}},
		{"candidate FIFO", "not a regular file (a FIFO)", Options{Candidates: []string{fifo}}, nil},
		{"Include FIFO", "Include: '" + fifo + "': not a regular file (a FIFO)", Options{Candidates: []string{inc}}, nil},
		{"PidFile FIFO", "PidFile " + fifo + ": not a regular file (a FIFO)", Options{Candidates: []string{pidFIFO}}, nil},
	}
	if os.Geteuid() == 0 {
		foreign := write(t, filepath.Join(dir, "foreign.conf"), "PidFile "+filepath.Join(dir, "pid")+"\n")
		write(t, filepath.Join(dir, "pid"), "10\n")
		os.Chown(foreign, 65534, 65534)
		fInc := write(t, filepath.Join(dir, "finc.conf"), "Include "+write(t, filepath.Join(dir, "f2.conf"), "PidFile "+filepath.Join(dir, "pid")+"\n")+"\n")
		os.Chown(filepath.Join(dir, "f2.conf"), 65534, 65534)
		fPid := write(t, filepath.Join(dir, "fpid.conf"), "PidFile "+write(t, filepath.Join(dir, "fpid"), "10\n")+"\n")
		os.Chown(filepath.Join(dir, "fpid"), 65534, 65534)
		cases = append(cases,
			struct {
				name, want string
				opt        Options
				cmdline    []string
			}{"foreign candidate", "owned by uid 65534", Options{Candidates: []string{foreign}}, nil},
			struct {
				name, want string
				opt        Options
				cmdline    []string
			}{"foreign include", "owned by uid 65534", Options{Candidates: []string{fInc}}, nil},
			struct {
				name, want string
				opt        Options
				cmdline    []string
			}{"foreign PidFile", "(uid 65534; only root may own it)", Options{Candidates: []string{fPid}}, nil},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rep Report
			within(t, "Check", func() {
				rep = liveChecker(root, c.opt).Check([]procscan.Process{master(10, c.cmdline...), session(11, 10)})
			})
			id := rep.Masters[10]
			t.Logf("note: %s", id.Note)
			if id.Status != Unknown || !strings.Contains(id.Note, c.want) || rep.Sessions[11].Drifted() {
				t.Errorf("%+v, want unknown naming %q", id, c.want)
			}
		})
	}
}

// TestCheckBounded: a check that does not finish in time answers
// "unknown" at its deadline, and the next one answers at once while the
// first is still stuck, instead of piling up behind it.
func TestCheckBounded(t *testing.T) {
	release := make(chan struct{})
	conf := write(t, filepath.Join(t.TempDir(), "ftp.conf"), "CapabilitiesSet +CAP_FOWNER\n")
	c := NewChecker("testdata-none", Options{Explicit: conf, Timeout: 50 * time.Millisecond, Installed: func() (Installed, error) {
		<-release
		return Installed{}, errors.New("none")
	}})
	procs := []procscan.Process{master(10), session(11, 10)}
	var rep Report
	within(t, "Check", func() { rep = c.Check(procs) })
	if r := rep.Sessions[11]; r == nil || r.Status != Unknown || !strings.Contains(r.Note, "did not finish within 50ms") {
		t.Errorf("first: %+v", r)
	}
	within(t, "Check", func() { rep = c.Check(procs) })
	if r := rep.Sessions[11]; r == nil || r.Status != Unknown || !strings.Contains(r.Note, "has not returned") {
		t.Errorf("second: %+v", r)
	}
	close(release)
	for deadline := time.Now().Add(20 * time.Second); c.busy.Load() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	c.opt.Timeout = DefaultTimeout
	if r := c.Check(procs).Sessions[11]; r == nil || r.Status != Known {
		t.Errorf("after release: %+v", r)
	}
}

func TestParseDefaults(t *testing.T) {
	out := "Compile-time Settings:\n  Version: 1.3.8 (stable)\n  Files:\n    Configuration File:\n      /etc/proftpd/proftpd.conf\n" +
		"    Pid File:\n      /run/proftpd.pid\n    Scoreboard File:\n      /run/proftpd.scoreboard\n    Header Directory:\n      /usr/include/proftpd\n"
	d, err := ParseDefaults(out)
	if err != nil || d != (Defaults{ConfigFile: "/etc/proftpd/proftpd.conf", PidFile: "/run/proftpd.pid", ScoreboardFile: "/run/proftpd.scoreboard"}) {
		t.Errorf("%+v %v", d, err)
	}
	if _, err := ParseDefaults("Compile-time Settings:\n"); err == nil {
		t.Error("no files: no error")
	}
}

// TestCompiledInDefaults: a file that sets neither PidFile nor
// ScoreboardFile is judged with the installed proftpd's compiled-in ones,
// but only for a master that runs that very binary.
func TestCompiledInDefaults(t *testing.T) {
	dir := t.TempDir()
	bin := write(t, filepath.Join(dir, "sbin", "proftpd"), "#!/bin/false\n")
	other := write(t, filepath.Join(dir, "local", "proftpd"), "#!/bin/false\n")
	pidFile := write(t, filepath.Join(dir, "run", "proftpd.pid"), "10\n")
	conf := write(t, filepath.Join(dir, "etc", "proftpd.conf"), "ServerName plain\n")
	installed := func() (Installed, error) {
		return Installed{Binary: bin, Defaults: Defaults{ConfigFile: conf, PidFile: pidFile, ScoreboardFile: filepath.Join(dir, "run", "proftpd.scoreboard")}}, nil
	}
	// A listening socket of the master on port (hex) in its net/tcp.
	listen := func(root, hexPort string) {
		write(t, filepath.Join(root, "10", "net", "tcp"), "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"+
			"   0: 00000000:"+hexPort+" 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n")
	}
	for _, c := range []struct {
		exe     string
		hexPort string // "" for no listening socket
		status  Status
		note    string
	}{
		{bin, "0015", Known, "its PidFile " + pidFile + " holds PID 10 and the master listens on port 21, as the file says"},
		// The defaults only show that the master's file sets no PidFile
		// either: a master on another port runs another file.
		{bin, "0849", Unknown, "the master listens on port 2121, which the file's servers do not use (21)"},
		{bin, "", Unknown, "the master's listening sockets cannot be read to tell"},
		{other, "0015", Unknown, "no PidFile known"},
	} {
		fds := map[int]string{}
		if c.hexPort != "" {
			fds[3] = "socket:[4242]"
		}
		root := procTree(t, map[int]map[int]string{10: fds})
		if c.hexPort != "" {
			listen(root, c.hexPort)
		}
		if err := os.Symlink(c.exe, filepath.Join(root, "10", "exe")); err != nil {
			t.Fatal(err)
		}
		opt := Options{Installed: installed}
		if c.exe == other {
			opt.Candidates = []string{conf} // its default file is not known either
		}
		rep := liveChecker(root, opt).Check([]procscan.Process{master(10), session(11, 10)})
		if id := rep.Masters[10]; id.Status != c.status || !strings.Contains(id.Note, c.note) || (c.status == Known && id.Config != conf) {
			t.Errorf("master running %s on port %s: %+v, want %s naming %q", c.exe, c.hexPort, id, c.status, c.note)
		}
	}
}

// TestConfigPorts: the ports a configuration's servers listen on.
func TestConfigPorts(t *testing.T) {
	for _, c := range []struct{ conf, want string }{
		{"ServerName x\n", "21"},
		{"Port 2121\n", "2121"},
		{"Port 0\n<VirtualHost 127.0.0.2>\nPort 2222\n</VirtualHost>\n", "2222"},
		{"Port 2121\n<VirtualHost 127.0.0.2>\n</VirtualHost>\n", "21, 2121"},
		{"<Global>\nPort 2323\n</Global>\n<VirtualHost 127.0.0.2>\n</VirtualHost>\n", "2323"},
	} {
		cfg, err := modcap.ReadString("t.conf", c.conf, modcap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := portList(configPorts(cfg)); got != c.want {
			t.Errorf("%q: ports %s, want %s", c.conf, got, c.want)
		}
	}
}

// TestValidateThenCheck: a check right after Validate never finds the
// checker still busy with it.
func TestValidateThenCheck(t *testing.T) {
	conf := write(t, filepath.Join(t.TempDir(), "ftp.conf"), "CapabilitiesSet +CAP_FOWNER\n")
	for i := 0; i < 200; i++ {
		c := NewChecker("testdata-none", Options{Explicit: conf})
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if r := c.Check([]procscan.Process{master(10), session(11, 10)}).Sessions[11]; r == nil || r.Status != Known {
			t.Fatalf("run %d: %+v", i, r)
		}
	}
}

// TestCheckSurvivesPanic: a bug inside a check makes the answer unknown,
// with the reason, instead of crashing captune from its goroutine.
func TestCheckSurvivesPanic(t *testing.T) {
	conf := write(t, filepath.Join(t.TempDir(), "ftp.conf"), "CapabilitiesSet +CAP_FOWNER\n")
	c := NewChecker("testdata-none", Options{Explicit: conf, Installed: func() (Installed, error) { panic("boom") }})
	r := c.Check([]procscan.Process{master(10), session(11, 10)}).Sessions[11]
	if r == nil || r.Status != Unknown || r.Note != "internal error while checking drift: boom" {
		t.Errorf("%+v", r)
	}
	if c.busy.Load() {
		t.Error("still busy after the panic")
	}
}

// TestGivenAndEvidence: with several masters, the given file counts for
// the one it is tied to, and another master's own file is still found by
// its evidence.
func TestGivenAndEvidence(t *testing.T) {
	dir := t.TempDir()
	given := write(t, filepath.Join(dir, "a.conf"), "ScoreboardFile /srv/a/sb\n")
	pidB := write(t, filepath.Join(dir, "b.pid"), "20\n")
	other := write(t, filepath.Join(dir, "b.conf"), "PidFile "+pidB+"\n")
	root := procTree(t, map[int]map[int]string{10: {5: "/srv/a/sb.lck"}, 20: {}})
	rep := liveChecker(root, Options{Explicit: given, Candidates: []string{other}}).Check([]procscan.Process{master(10), master(20)})
	if id := rep.Masters[10]; id.Status != Known || id.Config != given || !strings.HasPrefix(id.Note, "given with --proftpd-config; ") {
		t.Errorf("master 10: %+v", id)
	}
	if id := rep.Masters[20]; id.Status != Known || id.Config != other || id.Note != "its PidFile "+pidB+" holds PID 20" {
		t.Errorf("master 20: %+v", id)
	}
	// Without a file of its own, master 20 says why, both ways.
	rep = liveChecker(root, Options{Explicit: given}).Check([]procscan.Process{master(10), master(20)})
	if id := rep.Masters[20]; id.Status != Unknown || !strings.HasPrefix(id.Note, "--proftpd-config "+given+" is not master 20's: proftpd master 10 holds") ||
		!strings.Contains(id.Note, "; and no file is known to be master 20's configuration") {
		t.Errorf("master 20 alone: %+v", id)
	}
}

// TestSessionConnection: the prediction for a session uses its real
// control connection (descriptor 0, not a data connection listed first):
// the local address and port choose the <VirtualHost>, the peer address
// decides the <Class> for <IfClass>.
func TestSessionConnection(t *testing.T) {
	conf := write(t, filepath.Join(t.TempDir(), "proftpd.conf"), "LoadModule mod_ifsession.c\n<Class inside>\n  From 10.0.0.0/8\n</Class>\n"+
		"<VirtualHost 127.0.0.2>\n  Port 2121\n  <IfClass inside>\n    CapabilitiesSet +CAP_FOWNER\n  </IfClass>\n  CapabilitiesSet +CAP_DAC_OVERRIDE\n</VirtualHost>\n")
	root := procTree(t, map[int]map[int]string{11: {0: "socket:[777]", 1: "socket:[777]", 5: "socket:[888]"}, 12: {0: "socket:[999]"}})
	hdr := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	// 11: control 127.0.0.2:2121 <- 10.1.2.3:40000, a data connection
	// from 127.0.0.2:2120 to 192.0.2.9 listed first; 12: 127.0.0.2:2121
	// <- 192.0.2.9:40002.
	write(t, filepath.Join(root, "11", "net", "tcp"), hdr+
		"   0: 0200007F:0848 090200C0:9C41 01 00000000:00000000 00:00000000 00000000     0        0 888 1 0 20 4 30 10 -1\n"+
		"   1: 0200007F:0849 0302010A:9C40 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0 20 4 30 10 -1\n")
	write(t, filepath.Join(root, "12", "net", "tcp"), hdr+
		"   0: 0200007F:0849 090200C0:9C42 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0 20 4 30 10 -1\n")
	c, ok := SessionConn(root, 11)
	if !ok || c.Local.String() != "127.0.0.2" || c.LocalPort != 2121 || c.Remote.String() != "10.1.2.3" || c.RemotePort != 40000 {
		t.Fatalf("SessionConn: %+v %v", c, ok)
	}
	ch := NewChecker(root, Options{Explicit: conf})
	inside, outside := session(11, 10), session(12, 10)
	outside.Sets.Permitted = 0x4c3
	rep := ch.Check([]procscan.Process{master(10), inside, outside})
	for pid, want := range map[int]uint64{11: 0x4c9, 12: 0x4c3} {
		r := rep.Sessions[pid]
		if r == nil || r.Status != Known || r.Drifted() || uint64(r.Expected.Permitted) != want || !strings.HasPrefix(r.Expected.Server, "<VirtualHost 127.0.0.2>") {
			t.Errorf("session %d: %+v", pid, r)
		}
	}
	if r := rep.Sessions[11]; r != nil && r.Expected.Class != "inside" {
		t.Errorf("session 11's class: %q", r.Expected.Class)
	}
}
