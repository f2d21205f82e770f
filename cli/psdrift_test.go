package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"captune/capset"
	"captune/capset/modcap"
	"captune/drift"
	"captune/launch/proftpd"
	"captune/procscan"
)

// psOnly runs ps --json with args and returns the exit code, the listed
// processes by PID and stderr. Every caller names its own PIDs (as
// arguments or --filter PID): the exit code and the notes then concern
// only the processes the test made, whatever else runs on the machine.
func psOnly(t *testing.T, args ...string) (int, map[int]procJSON, string) {
	t.Helper()
	code, out, errs := runWithin(t, 2*time.Minute, append([]string{"ps", "--json"}, args...)...)
	var list []procJSON
	if code == ExitOK || code == ExitDiffer {
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("ps %q: exit %d, not JSON: %v\n%s\n%s", args, code, err, out, errs)
		}
	}
	return code, byPID(list), errs
}

// TestPsDriftE2E runs a real proftpd as `proftpd -n -c FILE` on a private,
// non-default path (with its PidFile and ScoreboardFile in its folder and
// CapabilitiesSet +CAP_FOWNER, so Debian's default file predicts other
// capabilities), holds a session open, and looks only at that server's
// PIDs:
//   - nothing given: proftpd hides its -c, so the configuration is
//     unknown: no drift (Debian's file is not this master's), exit 0,
//     config_status "unknown", one note;
//   - --proftpd-config FILE: known, with the evidence (PidFile, lock);
//   - the TUI's --config (a candidate): known by evidence alone;
//   - the file changed under the running master: drift, exit 1.
func TestPsDriftE2E(t *testing.T) {
	needVerify(t)
	dir := leftoverDir(t)
	ctx := context.Background()
	s, err := proftpd.Start(ctx, proftpd.Spec{TempDir: dir, Directives: "CapabilitiesSet +CAP_FOWNER\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	sess, err := s.Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	pid, master := sess.Proc.PID, s.PID
	pidArg := strconv.Itoa(pid)
	private := filepath.Join(s.Dir, "private")

	// proftpd has rewritten its command line: its -c is not visible.
	code, m, errs := psOnly(t, pidArg, strconv.Itoa(master))
	if mp := m[master]; mp.Role != "proftpd-master" || masterConfigArg(mp.Cmdline) != "" {
		t.Fatalf("master %d: role %q cmdline %q (exit %d, %s)", master, mp.Role, mp.Cmdline, code, errs)
	}
	p := m[pid]
	if code != ExitOK || p.Role != "proftpd-session" || p.FTPUser != s.Account.Name || p.Drift != nil || p.ConfigStatus != "unknown" ||
		!strings.Contains(p.ConfigNote, fmt.Sprintf("no file is known to be master %d's configuration (proftpd hides its -c", master)) {
		t.Fatalf("no evidence: exit %d, %+v, %s", code, p, errs)
	}
	if m[master].ConfigStatus != "unknown" {
		t.Errorf("master: %+v", m[master])
	}
	if !strings.Contains(errs, "note: 1 proftpd session(s) not checked for drift: the configuration of master "+strconv.Itoa(master)+" is unknown") ||
		!strings.Contains(errs, "--proftpd-config FILE") || strings.Count(errs, "\n") != 1 {
		t.Errorf("stderr %q", errs)
	}
	// The listing, filtered to the session's PID, agrees.
	if code, out, _ := runWithin(t, 2*time.Minute, "ps", "--filter", pidArg); code != ExitOK || strings.Contains(out, "drift:") {
		t.Errorf("listing: exit %d\n%s", code, out)
	}

	// Given: known, with the evidence.
	code, m, errs = psOnly(t, "--proftpd-config", s.ConfigPath, pidArg, strconv.Itoa(master))
	p = m[pid]
	evidence := fmt.Sprintf("its PidFile %s holds PID %d and the master holds its ScoreboardFile lock %s open (fd ",
		filepath.Join(private, "proftpd.pid"), master, filepath.Join(private, "proftpd.scoreboard.lck"))
	if code != ExitOK || p.Drift != nil || p.ConfigStatus != "known" || errs != "" ||
		!strings.HasPrefix(p.ConfigNote, s.ConfigPath+": given with --proftpd-config; "+evidence) {
		t.Fatalf("given: exit %d, %+v, stderr %q; want the note to start %q", code, p, errs, s.ConfigPath+": given with --proftpd-config; "+evidence)
	}
	if m[master].ConfigStatus != "known" {
		t.Errorf("master %+v", m[master])
	}
	_, out, _ := runWithin(t, 2*time.Minute, "ps", "--json", "--proftpd-config", s.ConfigPath, pidArg)
	if !strings.Contains(out, `"drift": null`) || !strings.Contains(out, `"config_status": "known"`) {
		t.Errorf("raw JSON: %s", out)
	}

	// The TUI's --config is a candidate: it counts by evidence alone.
	candidate := func() *drift.Result {
		t.Helper()
		sc, err := procscan.New("/proc")
		if err != nil {
			t.Fatal(err)
		}
		snap, err := sc.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		r := newDriftChecker("/proc", "", []string{s.ConfigPath}).Check(snap.Procs).Sessions[pid]
		if r == nil {
			t.Fatalf("session %d not checked", pid)
		}
		return r
	}
	if r := candidate(); r.Status != drift.Known || r.Config != s.ConfigPath || !strings.HasPrefix(r.Note, evidence) || r.Drifted() {
		t.Errorf("candidate: %+v", r)
	}

	// The file changes; the master keeps what it read at start.
	if err := os.WriteFile(s.ConfigPath, []byte(strings.Replace(s.Config, "CapabilitiesSet +CAP_FOWNER", "CapabilitiesSet -CAP_CHOWN", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, m, errs = psOnly(t, "--proftpd-config", s.ConfigPath, pidArg)
	p = m[pid]
	if code != ExitDiffer || p.Drift == nil || !strings.Contains(errs, "drift") {
		t.Fatalf("changed: exit %d, drift %+v, stderr %q", code, p.Drift, errs)
	}
	if d := p.Drift; d.Expected.Permitted != "00000000000004c0" || d.Config != s.ConfigPath || len(d.Reasons) == 0 ||
		!strings.HasPrefix(d.Reasons[0], "CapPrm: predicted 00000000000004c0, observed 00000000000004c9") {
		t.Errorf("drift %+v", d)
	}
	code, out, _ = runWithin(t, 2*time.Minute, "ps", "--proftpd-config", s.ConfigPath, pidArg)
	if code != ExitDiffer || !strings.Contains(out, "drift: 1 logged-in proftpd session(s) differ") || !strings.Contains(out, "CapPrm: predicted 00000000000004c0") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
	if r := candidate(); !r.Drifted() {
		t.Errorf("candidate after the change: %+v", r)
	}
	// Without --proftpd-config the changed file is still not known.
	if code, m, _ := psOnly(t, pidArg); code != ExitOK || m[pid].Drift != nil || m[pid].ConfigStatus != "unknown" {
		t.Errorf("changed, nothing given: exit %d %+v", code, m[pid])
	}

	// An explicit configuration that cannot be read is bad input.
	if code, _, errs := runWithin(t, time.Minute, "ps", "--proftpd-config", "/nonexistent.conf", pidArg); code != ExitUsage || !strings.Contains(errs, "/nonexistent.conf") {
		t.Errorf("missing config: exit %d %q", code, errs)
	}
	if code, out, _ := run(t, "ps", "--help"); code != ExitOK || !strings.Contains(out, "--proftpd-config FILE") || !strings.Contains(out, "1 when drift is found") ||
		!strings.Contains(out, "configuration is unknown: no") {
		t.Errorf("help: %s", out)
	}
}

// buildLookalike builds the fake proftpd of testdata/lookalike into a
// folder every user may read, as a file named proftpd owned by owner.
func buildLookalike(t *testing.T, owner int) string {
	t.Helper()
	dir := sharedDir(t, 0o755)
	bin := filepath.Join(dir, "proftpd")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/lookalike")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if err := os.Chown(bin, owner, owner); err != nil {
		t.Fatal(err)
	}
	return bin
}

// startAs starts argv (argv[0] is the name shown) as uid in its own
// process group; the test kills the group when it ends.
func startAs(t *testing.T, uid int, path string, argv []string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(path)
	cmd.Args = argv
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

// childOf waits until pid has a child named comm and returns its PID.
// Every thread's children file counts: any thread may have forked it.
func childOf(t *testing.T, pid int, comm string) int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var kids []string
		files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			kids = append(kids, strings.Fields(string(b))...)
		}
		for _, f := range kids {
			c, _ := strconv.Atoi(f)
			if name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c)); strings.TrimSpace(string(name)) == comm {
				return c
			}
		}
	}
	t.Fatalf("process %d never started a child named %s", pid, comm)
	return 0
}

// waitStarted waits until pid runs the program named comm.
func waitStarted(t *testing.T, pid int, comm string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(name)) == comm {
			return
		}
	}
	t.Fatalf("process %d never became %s", pid, comm)
}

// TestPsLookAlikeE2E: as nobody, a hostile local user starts a process
// named proftpd whose command line names a FIFO as -c, with a child
// titled like a logged-in session; and the real proftpd, as nobody, with
// -c FIFO (it blocks on the FIFO itself). Root's ps ends in bounded time,
// ignores them with a note, and takes no child for a session; the same
// look-alike run by root with an executable nobody owns is ignored too.
func TestPsLookAlikeE2E(t *testing.T) {
	needRoot(t)
	real := needTool(t, "proftpd")
	dir := sharedDir(t, 0o755)
	fifo := filepath.Join(dir, "ftp.conf")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(fifo, 0o666)
	bin := buildLookalike(t, nobodyID)

	fake := startAs(t, nobodyID, bin, []string{"proftpd", "-c", fifo})
	waitStarted(t, fake.Process.Pid, "proftpd")
	fakeChild := childOf(t, fake.Process.Pid, "proftpd")
	nobodyReal := startAs(t, nobodyID, real, []string{"proftpd", "-n", "-c", fifo})
	waitStarted(t, nobodyReal.Process.Pid, "proftpd")
	rootFake := startAs(t, 0, bin, []string{"proftpd", "-c", fifo}, "LOOKALIKE_TITLE=proftpd: \x1b]0;owned\a\x1b[2J - 1.2.3.4: IDLE")
	waitStarted(t, rootFake.Process.Pid, "proftpd")
	rootFakeChild := childOf(t, rootFake.Process.Pid, "proftpd")

	mine := []int{fake.Process.Pid, fakeChild, nobodyReal.Process.Pid, rootFake.Process.Pid, rootFakeChild}
	var args []string
	for _, p := range mine {
		args = append(args, strconv.Itoa(p))
	}
	code, m, errs := psOnly(t, args...)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, p := range mine {
		if q := m[p]; q.PID != p || q.Role != "" || q.FTPUser != "" || q.Drift != nil || q.ConfigStatus != "" {
			t.Errorf("PID %d: %+v", p, q)
		}
	}
	for _, want := range []string{
		"captune: ignored 3 processes named proftpd that are not a credible proftpd master (PID ",
		"their children are not taken for FTP sessions (and 2 more)",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	for _, p := range []int{fake.Process.Pid, nobodyReal.Process.Pid} {
		if n := oneNote(t, p); !strings.Contains(n, fmt.Sprintf("(PID %d: real uid %d, not root)", p, nobodyID)) {
			t.Errorf("PID %d: note %q", p, n)
		}
	}
	if n := oneNote(t, rootFake.Process.Pid); !strings.Contains(n, fmt.Sprintf("(PID %d: its executable %s is owned by uid %d, not root)", rootFake.Process.Pid, bin, nobodyID)) {
		t.Errorf("root's look-alike: note %q", n)
	}
	// The title with an escape sequence reaches no terminal raw.
	code, out, _ := runWithin(t, time.Minute, "ps", strconv.Itoa(rootFakeChild))
	if code != ExitOK || strings.Contains(out, "\x1b") || !strings.Contains(out, `proftpd: \x1b]0;owned\x07\x1b[2J - 1.2.3.4: IDLE`) {
		t.Errorf("ps %d: exit %d\n%q", rootFakeChild, code, out)
	}
	// The listing and the TUI's drift check end in bounded time too.
	if code, _, _ := runWithin(t, 2*time.Minute, "ps", "--filter", "proftpd"); code != ExitOK && code != ExitDiffer {
		t.Errorf("listing: exit %d", code)
	}
	sc, err := procscan.New("/proc")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := sc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan drift.Report, 1)
	go func() { done <- newDriftChecker("/proc", "", nil).Check(snap.Procs) }()
	select {
	case rep := <-done:
		for _, p := range mine {
			if rep.Sessions[p] != nil || rep.Masters[p] != nil {
				t.Errorf("drift looked at look-alike %d", p)
			}
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("drift check blocked")
	}
}

// oneNote is ps PID's look-alike note for one process.
func oneNote(t *testing.T, pid int) string {
	t.Helper()
	_, _, errs := psOnly(t, strconv.Itoa(pid))
	return errs
}

// TestPsDriftEscapes: an FTP user and a configuration path carrying
// terminal escapes (a session title is the client's to choose) are
// escaped in the drift text, the ps PID view, JSON and the notes.
func TestPsDriftEscapes(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	src := fixtureRoot("proc-proftpd")
	for _, pid := range []string{"1", "500", "501"} {
		os.MkdirAll(filepath.Join(root, pid), 0o755)
		for _, f := range []string{"status", "cmdline"} {
			b, err := os.ReadFile(filepath.Join(src, pid, f))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(root, pid, f), b, 0o644)
		}
	}
	os.MkdirAll(filepath.Join(root, "sys", "kernel"), 0o755)
	os.WriteFile(filepath.Join(root, "sys", "kernel", "cap_last_cap"), []byte("40\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	os.WriteFile(filepath.Join(root, "bin", "proftpd"), []byte("#!/bin/false\n"), 0o755)
	os.Symlink("../bin/proftpd", filepath.Join(root, "500", "exe"))
	evil := "\x1b]0;owned\a\x1b[2J"
	os.WriteFile(filepath.Join(root, "501", "cmdline"), []byte("proftpd: "+evil+" - localhost: IDLE\x00"), 0o644)
	conf := filepath.Join(t.TempDir(), "a"+evil+".conf")
	if err := os.WriteFile(conf, []byte("CapabilitiesSet +CAP_FOWNER\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	escaped := `\x1b]0;owned\x07\x1b[2J`
	for _, args := range [][]string{{"ps", "--proc", root, "--proftpd-config", conf}, {"ps", "--proc", root, "--proftpd-config", conf, "501"}} {
		code, out, errs := runWithin(t, time.Minute, args...)
		if code != ExitDiffer || strings.ContainsAny(out+errs, "\x1b\a") || !strings.Contains(out, "ftp user "+escaped) || !strings.Contains(out, "compared with "+filepath.Dir(conf)+"/a"+escaped+".conf") {
			t.Errorf("%q: exit %d\n%q\n%q", args, code, out, errs)
		}
	}
	code, out, _ := runWithin(t, time.Minute, "ps", "--json", "--proc", root, "--proftpd-config", conf, "501")
	var list []procJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != ExitDiffer || len(list) != 1 || list[0].Drift == nil {
		t.Fatalf("JSON: exit %d %v\n%s", code, err, out)
	}
	p := list[0]
	if p.FTPUser != escaped || !strings.Contains(p.Drift.Config, escaped) || !strings.Contains(p.ConfigNote, escaped) {
		t.Errorf("JSON fields not escaped: %+v", p)
	}
	for _, r := range p.Drift.Reasons {
		if strings.ContainsAny(r, "\x1b\a") {
			t.Errorf("reason %q", r)
		}
	}
	if !strings.Contains(strings.Join(p.Drift.Reasons, " "), "for user "+escaped) {
		t.Errorf("reasons %q", p.Drift.Reasons)
	}
}

// TestPsJSONFields: every key ps --json writes, as the README documents
// them, with iab as the ps PID view shows it.
func TestPsJSONFields(t *testing.T) {
	needRootOwnedFixture(t, "proc-proftpd")
	root := fixtureRoot("proc-proftpd")
	conf := filepath.Join(t.TempDir(), "proftpd.conf")
	os.WriteFile(conf, []byte("ServerName x\n"), 0o644)
	_, out, _ := run(t, "ps", "--json", "--proc", root, "--proftpd-config", conf)
	var raw []map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	always := []string{"pid", "ppid", "uid", "euid", "user", "comm", "cmdline", "inheritable", "permitted", "effective", "bounding", "ambient",
		"no_new_privs", "seccomp", "userns_child", "kernel_thread", "file_caps", "role", "threads", "iab", "drift"}
	for _, p := range raw {
		for _, k := range always {
			if _, ok := p[k]; !ok {
				t.Errorf("PID %v lacks %q", p["pid"], k)
			}
		}
		role := p["role"].(string)
		_, hasStatus := p["config_status"]
		if hasStatus != (role == "proftpd-master" || role == "proftpd-session") {
			t.Errorf("PID %v (%s): config_status present %v", p["pid"], role, hasStatus)
		}
		if role == "proftpd-session" && (p["ftp_user"] != "ftptest" || p["ftp_host"] != "localhost" || p["ftp_state"] != "IDLE" || p["config_status"] != "known") {
			t.Errorf("session: %v", p)
		}
	}
	// iab is the text ps PID prints, without "none".
	m := byPID(psJSONOut(t, "--proc", fixtureRoot("proc-highbits")))
	_, detail, _ := run(t, "ps", "--proc", fixtureRoot("proc-highbits"), "10")
	if !strings.Contains(detail, "  iab:         "+m[10].IAB+"\n") || m[10].IAB == "" {
		t.Errorf("iab %q vs\n%s", m[10].IAB, detail)
	}
	last := capset.Cap(40)
	want := capset.IABOf(0x0004000000000000, 0x0004000000000000, 0xffffffffffffffff, capset.KnownSet(last)).String()
	if m[10].IAB != want {
		t.Errorf("iab %q, want %q", m[10].IAB, want)
	}
}

// TestDriftDifferencesAsVerify: drift words a difference exactly as
// verify does (the two cannot share code across the launch boundary).
func TestDriftDifferencesAsVerify(t *testing.T) {
	cases := []struct {
		pred modcap.Prediction
		sets procscan.Sets
		uids [3]uint32
	}{
		{modcap.Prediction{Permitted: 0x4c9, Bounding: 0xff, UIDs: [3]uint32{5, 5, 5}}, procscan.Sets{Permitted: 0x200004c1, Bounding: 0xff}, [3]uint32{5, 5, 5}},
		{modcap.Prediction{Effective: 1, Inheritable: 2, Ambient: 4}, procscan.Sets{Effective: 3, Ambient: 0, Bounding: 1}, [3]uint32{0, 1, 2}},
		{modcap.Prediction{Refused: true, Why: "RootLogin off"}, procscan.Sets{}, [3]uint32{}},
		{modcap.Prediction{Permitted: 7}, procscan.Sets{Permitted: 7}, [3]uint32{}},
	}
	for _, c := range cases {
		p := procscan.Process{Sets: c.sets, UID: c.uids[0], EUID: c.uids[1], SUID: c.uids[2]}
		o := proftpd.Observed{Permitted: c.sets.Permitted, Effective: c.sets.Effective, Inheritable: c.sets.Inheritable, Ambient: c.sets.Ambient,
			Bounding: c.sets.Bounding, UIDs: c.uids}
		if got, want := drift.Differences(c.pred, p), proftpd.Compare(c.pred, o); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("drift %q\nverify %q", got, want)
		}
	}
}

func TestMasterConfigArg(t *testing.T) {
	for _, c := range []struct {
		cmdline []string
		want    string
	}{
		{[]string{"proftpd: (accepting connections)"}, ""},
		{[]string{"/usr/sbin/proftpd", "-n", "-c", "/etc/a.conf"}, "/etc/a.conf"},
		{[]string{"proftpd", "--config", "/b.conf"}, "/b.conf"},
		{[]string{"proftpd", "--config=/c.conf"}, "/c.conf"},
		{[]string{"proftpd", "-c/d.conf"}, "/d.conf"},
		{[]string{"proftpd", "-n"}, ""},
		{[]string{"/bin/sh", "-c", "proftpd"}, ""},
		{nil, ""},
	} {
		if got := masterConfigArg(c.cmdline); got != c.want {
			t.Errorf("%q: got %q, want %q", c.cmdline, got, c.want)
		}
	}
}

func TestProcNetIP(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:0015":                         "127.0.0.1",
		"0200A8C0:1F90":                         "192.168.0.2",
		"0000000000000000FFFF00000100007F:0015": "127.0.0.1",
		"00000000000000000000000001000000:0015": "::1",
	} {
		ip := procNetIP(in)
		got := ""
		if ip != nil {
			if v4 := ip.To4(); v4 != nil {
				got = v4.String()
			} else {
				got = ip.String()
			}
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
	if procNetIP("zz:1") != nil || procNetIP("0100007F") != nil {
		t.Error("garbage decoded")
	}
}
