package proftpd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"captune/capset"
	"captune/capset/modcap"
	"captune/launch"
)

// The end-to-end tests run the real proftpd. Without proftpd, or without
// root, they are skipped, unless CAPTUNE_E2E is set: then that is a
// failure.
func needProftpd(t *testing.T) string {
	t.Helper()
	bin, err := FindBinary("")
	why := ""
	switch {
	case err != nil:
		why = "proftpd is not installed (apt-get install proftpd-core)"
	case os.Geteuid() != 0:
		why = fmt.Sprintf("running proftpd needs root (euid is %d)", os.Geteuid())
	}
	if why != "" {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatalf("%s, and CAPTUNE_E2E is set", why)
		}
		t.Skipf("%s; set CAPTUNE_E2E=1 to make this a failure", why)
	}
	return bin
}

// runDir is a parent folder for one test's runs. When the test ends it
// checks that nothing is left: no folder inside it, and no process whose
// command line, working directory or open files point into it.
func runDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	// The login user passes through it to its home (a 0700 folder would
	// send the runs to /tmp instead).
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ps := processesIn(dir); len(ps) > 0 {
			t.Errorf("processes left behind in %s: %s", dir, strings.Join(ps, "; "))
		}
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("left behind in %s: %s", dir, strings.Join(names, ", "))
		}
		os.RemoveAll(dir)
	})
	return dir
}

// processesIn lists processes that refer to dir: in their command line,
// working directory or open files (proftpd rewrites its command line into
// a process title, so the other two are what shows a master or session).
func processesIn(dir string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		base := filepath.Join("/proc", e.Name())
		hit := ""
		if b, err := os.ReadFile(filepath.Join(base, "cmdline")); err == nil && strings.Contains(string(b), dir) {
			hit = "command line"
		}
		if l, err := os.Readlink(filepath.Join(base, "cwd")); err == nil && strings.HasPrefix(l, dir) {
			hit = "working directory " + l
		}
		if fds, err := os.ReadDir(filepath.Join(base, "fd")); err == nil {
			for _, fd := range fds {
				if l, err := os.Readlink(filepath.Join(base, "fd", fd.Name())); err == nil && strings.HasPrefix(l, dir) {
					hit = "open file " + l
					break
				}
			}
		}
		if hit != "" {
			comm, _ := os.ReadFile(filepath.Join(base, "comm"))
			out = append(out, fmt.Sprintf("PID %s (%s): %s", e.Name(), strings.TrimSpace(string(comm)), hit))
		}
	}
	return out
}

// proftpdChildren lists this test process's proftpd children.
func proftpdChildren() []int {
	var out []int
	for _, pid := range Children("/proc", os.Getpid()) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(b)) == "proftpd" {
			out = append(out, pid)
		}
	}
	return out
}

// TestMain checks, after every test, that no proftpd started by the tests
// is still running.
func TestMain(m *testing.M) {
	// The test binary stands in for captune: verify's janitor is a hidden
	// mode of the binary that runs it (launch's init runs it).
	code := m.Run()
	launch.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for len(proftpdChildren()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := proftpdChildren(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: proftpd processes started by the tests are still running: %v\n", left)
		code = 1
	}
	os.Exit(code)
}

// directivesOf reads a configuration text as verify does with --config
// and returns the lines it runs.
func directivesOf(t *testing.T, text string) string {
	t.Helper()
	mods, err := Modules(needProftpd(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := modcap.ReadString("/tmp/vector.conf", text, modcap.Options{Modules: mods})
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return Decisive(cfg)
}

// observedVectors is the table "Observed vectors" of docs/modcap.md
// (Debian 1.3.8, non-root user, session child).
var observedVectors = []struct {
	config   string
	user     string
	prm, eff capset.Set
}{
	{"", "", 0x200004c1, 0},
	{"RootRevoke off\n", "", 0x200004c1, 0x200004c1},
	{"<Directory /x>\n  UserOwner ftp\n</Directory>\n", "", 0x200004c1, 0x200004c1},
	{"CapabilitiesSet -CAP_CHOWN\n", "", 0x4c0, 0},
	{"CapabilitiesSet +CAP_DAC_READ_SEARCH +CAP_FOWNER\n", "", 0x4cd, 0},
	{"CapabilitiesSet -CAP_SETUID\n", "", 0x401, 0x401},
	{"RootRevoke off\nCapabilitiesSet -CAP_DAC_OVERRIDE\n", "", 0x4c1, 0x4c1},
	{"CapabilitiesEngine off\n", "", 0, 0},
	{"LoadModule mod_ifsession.c\n<IfUser ftptest>\n  CapabilitiesEngine off\n</IfUser>\n", "ftptest", 0, 0},
}

// TestE2EObservedVectors runs every observed vector of the documentation
// through verify: the real session holds the documented CapPrm and CapEff,
// and captune's prediction agrees.
func TestE2EObservedVectors(t *testing.T) {
	needProftpd(t)
	dir := runDir(t)
	start := time.Now()
	var verified atomic.Int32
	t.Run("vectors", func(t *testing.T) {
		for i, v := range observedVectors {
			t.Run(fmt.Sprintf("%d %s", i, strings.ReplaceAll(strings.TrimSpace(v.config), "\n", " ")), func(t *testing.T) {
				t.Parallel()
				rep, err := Verify(context.Background(), Spec{Directives: directivesOf(t, v.config), User: v.user, TempDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				o := rep.Observed
				if o.Permitted != v.prm || o.Effective != v.eff {
					t.Errorf("observed CapPrm %s CapEff %s, documented %s %s\n%s", o.Permitted.Hex(), o.Effective.Hex(), v.prm.Hex(), v.eff.Hex(), rep.Directives)
				}
				if !rep.Match {
					t.Errorf("prediction differs from proftpd:\n%s\n%s", rep.Directives, strings.Join(rep.Differences, "\n"))
				}
				if o.Inheritable != 0 || o.Ambient != 0 || o.Bounding != rep.MasterBounding {
					t.Errorf("CapInh %s CapAmb %s CapBnd %s (master's %s)", o.Inheritable.Hex(), o.Ambient.Hex(), o.Bounding.Hex(), rep.MasterBounding.Hex())
				}
				verified.Add(1)
			})
		}
	})
	t.Logf("verified %d of %d observed vectors on proftpd in %s", verified.Load(), len(observedVectors), time.Since(start).Round(time.Millisecond))
}

// TestE2ERejected is the table's last row: proftpd refuses the
// configuration, with the same text as captune's reader.
func TestE2ERejected(t *testing.T) {
	needProftpd(t)
	dir := runDir(t)
	_, err := Verify(context.Background(), Spec{Directives: "CapabilitiesSet +CAP_NET_RAW\n", TempDir: dir})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "fatal: CapabilitiesSet: unknown capability: 'CAP_NET_RAW' on line") {
		t.Fatalf("got %v", err)
	}
	_, rerr := modcap.ReadString("/x.conf", "CapabilitiesSet +CAP_NET_RAW\n", modcap.Options{})
	if rerr == nil || !strings.Contains(rerr.Error(), "CapabilitiesSet: unknown capability: 'CAP_NET_RAW'") {
		t.Errorf("captune's reader: %v", rerr)
	}
}

// effectiveTokens are the six tokens that change something.
var effectiveTokens = []modcap.Token{
	{Add: false, Cap: capset.Chown}, {Add: true, Cap: capset.DacOverride}, {Add: true, Cap: capset.DacReadSearch},
	{Add: true, Cap: capset.Fowner}, {Add: true, Cap: capset.Fsetid}, {Add: false, Cap: capset.Setuid},
}

func combination(m int) []modcap.Token {
	if m == 0 {
		return nil
	}
	var out []modcap.Token
	for i, t := range effectiveTokens {
		if m&(1<<i) != 0 {
			out = append(out, t)
		}
	}
	return out
}

// e2eParallel bounds how many throwaway servers run at once.
const e2eParallel = 6

// TestE2ECombinations runs the block captune emits for each of the 64
// combinations of the six effective tokens (and the default set without
// CAP_AUDIT_WRITE), with and without RootRevoke off, on real proftpd: the
// session keeps exactly the predicted sets.
func TestE2ECombinations(t *testing.T) {
	needProftpd(t)
	dir := runDir(t)
	type job struct {
		name       string
		want       capset.Set
		rootRevoke bool
	}
	var jobs []job
	for _, rr := range []bool{true, false} {
		for m := 0; m < 64; m++ {
			toks := combination(m)
			jobs = append(jobs, job{fmt.Sprintf("%02d %s revoke=%v", m, TokenDirectives(toks), rr), modcap.KeptByTokens(toks, true), rr})
		}
		jobs = append(jobs, job{fmt.Sprintf("default without AUDIT_WRITE revoke=%v", rr), 0x4c1, rr})
	}
	start := time.Now()
	sem := make(chan struct{}, e2eParallel)
	var verified atomic.Int32
	var mu sync.Mutex
	var disagreements []string
	t.Run("combinations", func(t *testing.T) {
		for _, j := range jobs {
			t.Run(j.name, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				b, err := modcap.Emit(j.want, true)
				if err != nil {
					t.Fatal(err)
				}
				directives := b.String()
				if !j.rootRevoke {
					directives = "RootRevoke off\n" + directives
				}
				rep, err := Verify(context.Background(), Spec{Directives: directives, TempDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				p, o := rep.Predicted, rep.Observed
				wantEff := capset.Set(0)
				if !j.rootRevoke || !j.want.Has(capset.Setuid) {
					wantEff = j.want
				}
				if p.Kept != j.want || o.Permitted != j.want || o.Effective != wantEff || !rep.Match {
					mu.Lock()
					disagreements = append(disagreements, j.name)
					mu.Unlock()
					t.Errorf("kept %s: predicted %s/%s, observed %s/%s, want %s/%s\n%s%s", j.want.Hex(), p.Permitted.Hex(), p.Effective.Hex(),
						o.Permitted.Hex(), o.Effective.Hex(), j.want.Hex(), wantEff.Hex(), directives, strings.Join(rep.Differences, "\n"))
					return
				}
				verified.Add(1)
			})
		}
	})
	t.Logf("real proftpd kept exactly the predicted sets for %d of %d emitted blocks (%d parallel) in %s", verified.Load(), len(jobs), e2eParallel, time.Since(start).Round(time.Millisecond))
	if len(disagreements) > 0 {
		t.Logf("disagreements: %s", strings.Join(disagreements, "; "))
	}
}

// TestE2ESession holds a session open: the master, the session and the
// folder exist while it runs, and Stop removes them all.
func TestE2ESession(t *testing.T) {
	needProftpd(t)
	dir := runDir(t)
	s, err := Start(context.Background(), Spec{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for _, path := range []string{s.Dir, s.Dir + "/private", s.Account.Home} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]os.FileMode{s.Dir: 0o711, s.Dir + "/private": 0o700, s.Account.Home: 0o755}[path]
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", path, fi.Mode().Perm(), want)
		}
	}
	sess, err := s.Login(context.Background())
	if err != nil {
		t.Fatalf("%v\n%s", err, s.Output())
	}
	if sess.Refused || sess.Proc.PPID != s.PID || sess.Proc.FTPUser != s.Account.Name {
		t.Fatalf("session %+v", sess)
	}
	cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", sess.Proc.PID))
	if cwd != s.Account.Home {
		t.Errorf("session's working directory %q, want the home %q", cwd, s.Account.Home)
	}
	if l := Listeners("/proc", s.PID); len(l) != 1 || l[0] != s.Target {
		t.Errorf("listening on %v, want %s", l, s.Target)
	}
	if !strings.HasPrefix(s.Dir, dir+"/captune-0/verify-") {
		t.Errorf("run folder %s is not in %s", s.Dir, dir)
	}
	sess.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists", s.Dir)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/exe", s.PID)); err == nil {
		t.Errorf("master %d still runs", s.PID)
	}
}

// TestE2EUnreachableTemp: a temporary folder the login user cannot pass
// through (0700) sends the run to the private place in /tmp, so that
// proftpd can chdir to the login's home, and leaves the folder's mode
// alone; the run's own folder is gone after Stop.
func TestE2EUnreachableTemp(t *testing.T) {
	needProftpd(t)
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Spec{TempDir: private})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !strings.HasPrefix(s.Dir, "/tmp/captune-0/verify-") {
		t.Errorf("run folder %s is not in /tmp's private place", s.Dir)
	}
	sess, err := s.Login(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sess.Refused {
		t.Errorf("refused: %s", sess.Reply)
	}
	sess.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind (%v)", s.Dir, err)
	}
	if fi, _ := os.Stat(private); fi.Mode().Perm() != 0o700 {
		t.Errorf("mode of %s changed to %o", private, fi.Mode().Perm())
	}
}

// TestCheckBounded: proftpd -t on a configuration whose Include is a FIFO
// waits for a writer forever; cancelling stops it at once (the process is
// killed) with context.Canceled, never a ConfigError. A proftpd -t killed
// by a signal is ErrIncomplete, not a rejection.
func TestCheckBounded(t *testing.T) {
	bin := needProftpd(t)
	dir := runDir(t)
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(fifo)
	conf := filepath.Join(dir, "include.conf")
	os.WriteFile(conf, []byte("Include "+fifo+"\n"), 0o600)
	defer os.Remove(conf)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	err := Check(ctx, bin, conf)
	var ce *ConfigError
	if !errors.Is(err, context.Canceled) || errors.As(err, &ce) {
		t.Errorf("cancelled proftpd -t: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Check returned %s after the cancel", d)
	}
	if left := proftpdChildren(); len(left) > 0 {
		t.Errorf("proftpd -t still running: %v", left)
	}
	killer := filepath.Join(dir, "proftpd-killed")
	os.WriteFile(killer, []byte("#!/bin/sh\nkill -9 $$\n"), 0o755)
	defer os.Remove(killer)
	err = Check(context.Background(), killer, conf)
	if !errors.Is(err, ErrIncomplete) || errors.As(err, &ce) || !strings.Contains(err.Error(), "SIGKILL") {
		t.Errorf("killed proftpd -t: %v", err)
	}
}

// TestE2ECancel cancels runs at once and while they run: each returns
// the context's error and leaves nothing behind (checked by runDir).
func TestE2ECancel(t *testing.T) {
	needProftpd(t)
	dir := runDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Verify(ctx, Spec{TempDir: dir}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before the start: %v", err)
	}
	cancelled := 0
	for try := 0; try < 10; try++ {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// Cancel some time after proftpd first runs (proftpd -t, the
			// start, the login, the read), at a later point each try.
			for ctx.Err() == nil {
				if len(proftpdChildren()) > 0 {
					time.Sleep(time.Duration(try) * 8 * time.Millisecond)
					cancel()
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		_, err := Verify(ctx, Spec{TempDir: dir})
		cancel()
		if errors.Is(err, context.Canceled) {
			cancelled++
		} else if err != nil {
			t.Fatalf("try %d: %v", try, err)
		}
		if left := proftpdChildren(); len(left) > 0 {
			t.Fatalf("try %d: proftpd still running: %v", try, left)
		}
	}
	if cancelled == 0 {
		t.Error("no run was cancelled while it ran")
	}
	t.Logf("%d of 10 runs cancelled while proftpd ran (the others finished first)", cancelled)
}

// TestE2EBadStart: a configuration proftpd refuses, a bad user name and a
// missing binary fail before a server runs, and leave nothing behind.
func TestE2EBadStart(t *testing.T) {
	needProftpd(t)
	dir := runDir(t)
	_, err := Verify(context.Background(), Spec{Directives: "NoSuchDirective on\n", TempDir: dir})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "unknown configuration directive 'NoSuchDirective'") {
		t.Fatalf("got %v", err)
	}
	if _, err := Verify(context.Background(), Spec{User: "bad:name", TempDir: dir}); !errors.Is(err, ErrBadUser) {
		t.Errorf("bad user: %v", err)
	}
	if _, err := Verify(context.Background(), Spec{Bin: "/nonexistent/proftpd", TempDir: dir}); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("missing binary: %v", err)
	}
}

// moreVectors are configurations beyond the documentation's table where
// captune's prediction and real proftpd agree (checked here).
var moreVectors = []struct{ user, config string }{
	{"", "CapabilitiesRootRevoke off\n"},
	{"", "CapabilitiesRootRevoke off\nCapabilitiesSet -CAP_SETUID\n"},
	{"", "CapabilitiesRootRevoke off\nRootRevoke off\n"},
	{"", "CapabilitiesEngine off\nRootRevoke off\n"},
	{"root", "RootLogin on\n"},
	{"root", "RootLogin on\nCapabilitiesSet -CAP_SETUID +CAP_FOWNER\n"},
	{"root", ""},
	{"nobody", "CapabilitiesSet +CAP_DAC_OVERRIDE\n"},
	{"", "LoadModule mod_ifsession.c\nCapabilitiesSet -CAP_CHOWN\n<IfUser captune>\nCapabilitiesSet +CAP_FOWNER\n</IfUser>\n"},
	{"", "LoadModule mod_ifsession.c\n<IfGroup captune>\nCapabilitiesSet +CAP_FSETID\n</IfGroup>\n"},
	{"", "LoadModule mod_ifsession.c\n<IfUser captune>\nCapabilitiesSet -CAP_SETUID\n</IfUser>\n<IfGroup captune>\nCapabilitiesSet +CAP_FOWNER\n</IfGroup>\n"},
	{"", "LoadModule mod_ifsession.c\n<IfUser captune>\nCapabilitiesSet +CAP_FOWNER\n</IfUser>\n<IfUser captune>\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n"},
	{"", "LoadModule mod_ifsession.c\nCapabilitiesEngine off\n<IfUser captune>\nCapabilitiesEngine on\n</IfUser>\n"},
	{"", "LoadModule mod_ifsession.c\n<IfUser nobody>\n<Directory /x>\nUserOwner ftp\n</Directory>\n</IfUser>\n"},
	{"", "LoadModule mod_ifsession.c\n<Global>\n<IfUser captune>\nCapabilitiesEngine off\n</IfUser>\n</Global>\n"},
	{"", "<Global>\nCapabilitiesEngine off\n</Global>\nCapabilitiesEngine on\n"},
	{"", "<Anonymous /srv/anon>\nUserOwner ftp\n</Anonymous>\n"},
	{"", "<Directory /x>\nUserOwner ftp\n</Directory>\nRootRevoke on\n"},
	{"", "RootRevoke UseNonCompliantActiveTransfers\n"},
	{"", "RootRevoke off\n<VirtualHost 127.0.0.2>\nCapabilitiesEngine off\n</VirtualHost>\n"},
}

func TestE2EMoreVectors(t *testing.T) {
	needProftpd(t)
	dir := runDir(t)
	var verified atomic.Int32
	t.Run("vectors", func(t *testing.T) {
		for i, v := range moreVectors {
			t.Run(fmt.Sprintf("%d %s %s", i, v.user, strings.ReplaceAll(strings.TrimSpace(v.config), "\n", " ")), func(t *testing.T) {
				t.Parallel()
				rep, err := Verify(context.Background(), Spec{Directives: directivesOf(t, v.config), User: v.user, TempDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				if !rep.Match {
					t.Errorf("prediction differs from proftpd:\n%s\n%s", rep.Directives, strings.Join(rep.Differences, "\n"))
					return
				}
				verified.Add(1)
			})
		}
	})
	t.Logf("prediction matched proftpd for %d of %d more configurations", verified.Load(), len(moreVectors))
}

// ifSessionNonMulti are logins where several matching <IfUser>/<IfGroup>
// sections set the same single-valued directive (RootRevoke,
// CapabilitiesEngine, CapabilitiesRootRevoke). Real proftpd 1.3.8 takes
// the <IfGroup>'s value over the <IfUser>'s, and among sections of one
// kind the last in file order (unlike CapabilitiesSet, where the first
// matching <IfUser> wins). The test pins what proftpd does and that the
// prediction agrees.
var ifSessionNonMulti = []struct {
	config   string
	prm, eff capset.Set
}{
	{"<IfUser captune>\nRootRevoke off\n</IfUser>\n<IfGroup captune>\nRootRevoke on\n</IfGroup>\n", 0x200004c1, 0},
	{"<IfGroup captune>\nRootRevoke off\n</IfGroup>\n<IfUser captune>\nRootRevoke on\n</IfUser>\n", 0x200004c1, 0x200004c1},
	{"<IfUser captune>\nRootRevoke off\n</IfUser>\n<IfUser captune>\nRootRevoke on\n</IfUser>\n", 0x200004c1, 0},
	{"<IfGroup captune>\nRootRevoke off\n</IfGroup>\n<IfGroup captune>\nRootRevoke on\n</IfGroup>\n", 0x200004c1, 0},
	{"<IfUser captune>\nCapabilitiesEngine off\n</IfUser>\n<IfGroup captune>\nCapabilitiesEngine on\n</IfGroup>\n", 0x200004c1, 0},
	{"<IfUser captune>\nCapabilitiesEngine on\n</IfUser>\n<IfUser captune>\nCapabilitiesEngine off\n</IfUser>\n", 0, 0},
	{"<IfUser captune>\nCapabilitiesRootRevoke off\n</IfUser>\n<IfGroup captune>\nCapabilitiesRootRevoke on\n</IfGroup>\nCapabilitiesSet -CAP_SETUID\n", 0x401, 0x401},
}

func TestE2EIfSessionNonMulti(t *testing.T) {
	needProftpd(t)
	dir := runDir(t)
	var mu sync.Mutex
	var differ []string
	t.Run("configs", func(t *testing.T) {
		for i, v := range ifSessionNonMulti {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				text := "LoadModule mod_ifsession.c\n" + v.config
				rep, err := Verify(context.Background(), Spec{Directives: directivesOf(t, text), TempDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				if o := rep.Observed; o.Permitted != v.prm || o.Effective != v.eff {
					t.Errorf("proftpd now gives CapPrm %s CapEff %s, not %s %s:\n%s", o.Permitted.Hex(), o.Effective.Hex(), v.prm.Hex(), v.eff.Hex(), text)
				}
				if !rep.Match {
					mu.Lock()
					differ = append(differ, fmt.Sprintf("%q: predicted CapPrm %s CapEff %s uids %v, observed %s %s %v", text,
						rep.Predicted.Permitted.Hex(), rep.Predicted.Effective.Hex(), rep.Predicted.UIDs,
						rep.Observed.Permitted.Hex(), rep.Observed.Effective.Hex(), rep.Observed.UIDs))
					mu.Unlock()
					t.Errorf("prediction differs from proftpd: %s", strings.Join(rep.Differences, "; "))
				}
			})
		}
	})
	t.Logf("modcap's prediction differs from proftpd for %d of %d configurations with competing <IfUser>/<IfGroup> sections:\n%s",
		len(differ), len(ifSessionNonMulti), strings.Join(differ, "\n"))
}
