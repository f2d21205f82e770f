package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"captune/launch/proftpd"
)

// needVerify skips an end-to-end test without proftpd or root, or fails
// it when CAPTUNE_E2E is set.
func needVerify(t *testing.T) {
	t.Helper()
	why := ""
	if _, err := proftpd.FindBinary(""); err != nil {
		why = "proftpd is not installed (apt-get install proftpd-core)"
	} else if os.Geteuid() != 0 {
		why = fmt.Sprintf("running proftpd needs root (euid is %d)", os.Geteuid())
	}
	if why != "" {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatalf("%s, and CAPTUNE_E2E is set", why)
		}
		t.Skipf("%s; set CAPTUNE_E2E=1 to make this a failure", why)
	}
}

// leftoverDir is a temporary folder for runs (TMPDIR) that the login user
// may pass through; when the test ends nothing may be left in it and no
// process may refer to it.
func leftoverDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-cli-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ps := refersTo(dir); len(ps) > 0 {
			t.Errorf("processes left behind in %s: %v", dir, ps)
		}
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			t.Errorf("%d entries left behind in %s (first %s)", len(ents), dir, ents[0].Name())
		}
		os.RemoveAll(dir)
	})
	return dir
}

// refersTo lists the processes whose command line, working directory or
// open files point into dir.
func refersTo(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		base := filepath.Join("/proc", e.Name())
		hit := false
		if b, err := os.ReadFile(filepath.Join(base, "cmdline")); err == nil && strings.Contains(string(b), dir) {
			hit = true
		}
		if l, err := os.Readlink(filepath.Join(base, "cwd")); err == nil && strings.HasPrefix(l, dir) {
			hit = true
		}
		fds, _ := os.ReadDir(filepath.Join(base, "fd"))
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(base, "fd", fd.Name())); err == nil && strings.HasPrefix(l, dir) {
				hit = true
				break
			}
		}
		if hit {
			out = append(out, pid)
		}
	}
	return out
}

func TestVerifyUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
		err  string
	}{
		{[]string{"verify", "--help"}, ExitOK, "exit codes: 0 match, 1 the session differs", ""},
		{[]string{"verify", "+CAP_NET_RAW"}, ExitUsage, "", "CapabilitiesSet: unknown capability: 'CAP_NET_RAW'"},
		{[]string{"verify", "CAP_CHOWN"}, ExitUsage, "", "write +CAP_CHOWN or -CAP_CHOWN"},
		{[]string{"verify", "--user", "a:b"}, ExitUsage, "", "bad user name"},
		{[]string{"verify", "--proftpd", "/nonexistent/proftpd"}, ExitMissing, "", "apt-get install proftpd-core"},
		{[]string{"verify", "--bogus"}, ExitUsage, "", "unknown flag --bogus"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errs := run(t, c.args...)
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errs, c.err) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, c.code, out, c.out, errs, c.err)
			}
			if strings.Count(errs, "\n") > 1 {
				t.Errorf("more than one line on stderr: %q", errs)
			}
		})
	}
}

// runVerifyJSON runs verify --json with TMPDIR set to dir.
func runVerifyJSON(t *testing.T, dir string, args ...string) (int, verifyJSON, string) {
	t.Helper()
	t.Setenv("TMPDIR", dir)
	code, out, errs := run(t, append([]string{"verify", "--json"}, args...)...)
	var v verifyJSON
	if code == ExitOK || code == ExitDiffer {
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("exit %d, not JSON: %v\n%s\n%s", code, err, out, errs)
		}
	}
	return code, v, errs
}

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestVerifyE2E(t *testing.T) {
	needVerify(t)
	dir := leftoverDir(t)
	code, v, errs := runVerifyJSON(t, dir, "-CAP_SETUID")
	if code != ExitOK || !v.Match || len(v.Differences) != 0 {
		t.Fatalf("exit %d, %+v, %s", code, v, errs)
	}
	if v.Observed.Permitted != "0000000000000401" || v.Observed.Effective != "0000000000000401" || v.Predicted.Permitted != v.Observed.Permitted {
		t.Errorf("%+v", v)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v.ProftpdVersion) {
		t.Errorf("proftpd_version %q", v.ProftpdVersion)
	}
	for _, s := range []verifySetsJSON{v.Predicted, v.Observed} {
		for _, h := range []string{s.Permitted, s.Effective, s.Inheritable, s.Ambient, s.Bounding} {
			if !hex16.MatchString(h) {
				t.Errorf("%q is not 16 lower-case hex digits", h)
			}
		}
	}
	if v.Observed.UIDs != (uidsJSON{proftpd.VirtualID, proftpd.VirtualID, proftpd.VirtualID}) || v.User != "captune" {
		t.Errorf("user %s uids %+v", v.User, v.Observed.UIDs)
	}
	// The raw JSON has exactly the documented keys.
	t.Setenv("TMPDIR", dir)
	_, out, _ := run(t, "verify", "--json")
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"proftpd_version", "predicted", "observed", "match", "differences"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no key %q in %s", k, out)
		}
	}
	if _, ok := raw["observed"].(map[string]any)["uids"].(map[string]any)["saved"]; !ok {
		t.Errorf("observed.uids.saved missing: %s", out)
	}

	// Configuration files: observed vectors of docs/modcap.md.
	for _, c := range []struct {
		conf, user, prm, eff string
	}{
		{"ServerName \"x\"\nRootRevoke off\n<VirtualHost 127.0.0.2>\nCapabilitiesEngine off\n</VirtualHost>\n", "", "00000000200004c1", "00000000200004c1"},
		{"RootRevoke off\nCapabilitiesSet -CAP_DAC_OVERRIDE\n", "", "00000000000004c1", "00000000000004c1"},
		{"LoadModule mod_ifsession.c\n<IfUser ftptest>\n  CapabilitiesEngine off\n</IfUser>\n", "ftptest", "0000000000000000", "0000000000000000"},
		{"<Directory /x>\n  UserOwner ftp\n</Directory>\n", "", "00000000200004c1", "00000000200004c1"},
	} {
		path := filepath.Join(t.TempDir(), "proftpd.conf")
		if err := os.WriteFile(path, []byte(c.conf), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"--config", path}
		if c.user != "" {
			args = append(args, "--user", c.user)
		}
		code, v, errs := runVerifyJSON(t, dir, args...)
		if code != ExitOK || v.Observed.Permitted != c.prm || v.Observed.Effective != c.eff || !v.Match {
			t.Errorf("%q: exit %d, observed %s/%s (documented %s/%s), match %v %v %s", c.conf, code, v.Observed.Permitted, v.Observed.Effective, c.prm, c.eff, v.Match, v.Differences, errs)
		}
	}

	// root: proftpd refuses it without RootLogin on, as predicted.
	code, v, errs = runVerifyJSON(t, dir, "--user", "root")
	if code != ExitOK || !v.Predicted.Refused || !v.Observed.Refused || !v.Match {
		t.Errorf("root: exit %d %+v %s", code, v, errs)
	}

	// Text.
	t.Setenv("TMPDIR", dir)
	code, out, errs = run(t, "verify", "+CAP_FOWNER")
	for _, want := range []string{"tested:\n  CapabilitiesSet +CAP_FOWNER\n", "CapPrm:  00000000000004c9   00000000000004c9", "match: proftpd did what captune predicts"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if code != ExitOK || errs != "" {
		t.Errorf("exit %d, stderr %q", code, errs)
	}

	// A configuration proftpd -t rejects: exit 2 with proftpd's message.
	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("CapabilitiesEngine on\nFooBar on\n"), 0o644)
	code, _, errs = run(t, "verify", "--config", bad)
	if code != ExitUsage || !strings.Contains(errs, "proftpd -t rejects") || !strings.Contains(errs, "fatal: unknown configuration directive 'FooBar' on line 2") {
		t.Errorf("bad config: exit %d, %q", code, errs)
	}
}

// buildCaptune builds the shipped binary (CGO_ENABLED=0) into a folder
// every user may read, for runs as another user.
func buildCaptune(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-verify-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "captune")
	cmd := exec.Command("go", "build", "-o", bin, "captune")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestVerifyNotRoot runs verify as nobody: exit 4 with clear words.
func TestVerifyNotRoot(t *testing.T) {
	needVerify(t)
	bin := buildCaptune(t)
	cmd := exec.Command(bin, "verify")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if code := exitCode(err); code != ExitPrivilege || !strings.Contains(string(out), "needs root") || strings.Count(string(out), "\n") != 1 {
		t.Errorf("exit %d: %q", code, out)
	}
}

// TestVerifySignals interrupts verify with SIGINT and SIGTERM while
// proftpd runs: exit 130, and no process or file is left behind.
func TestVerifySignals(t *testing.T) {
	needVerify(t)
	bin := buildCaptune(t)
	dir := leftoverDir(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		interrupted := false
		for try := 0; try < 10 && !interrupted; try++ {
			cmd := exec.Command(bin, "verify")
			cmd.Env = append(os.Environ(), "TMPDIR="+dir)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Signal once proftpd has started (its master is captune's child).
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				started := false
				for _, pid := range proftpd.Children("/proc", cmd.Process.Pid) {
					b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
					argv := strings.Split(string(b), "\x00")
					if (len(argv) > 1 && argv[1] == "-n") || strings.HasPrefix(argv[0], "proftpd: ") {
						started = true
					}
				}
				if started {
					break
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(try) * 10 * time.Millisecond)
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			switch code := exitCode(err); code {
			case exitInterrupted:
				interrupted = true
				if !strings.Contains(out.String(), "interrupted") {
					t.Errorf("%v: %q", sig, out.String())
				}
			case ExitOK:
				// The run finished before the signal.
			default:
				t.Fatalf("%v: exit %d: %s", sig, code, out.String())
			}
			if ps := refersTo(dir); len(ps) > 0 {
				t.Fatalf("%v: processes left: %v", sig, ps)
			}
			if ents, _ := os.ReadDir(dir); len(ents) > 0 {
				t.Fatalf("%v: left in %s: %s", sig, dir, ents[0].Name())
			}
		}
		if !interrupted {
			t.Errorf("%v never reached verify while proftpd ran", sig)
		}
	}
}

// fakeProftpdMain stands in for proftpd (CAPTUNE_TEST_FAKE_PROFTPD):
// -v and -l answer like proftpd; "-t" passes, or with mode kill-t the
// process kills itself with SIGKILL; "-n -c FILE" listens on the
// configuration's port on 127.0.0.1 and never answers a client (a login
// that hangs).
func fakeProftpdMain(mode string, args []string) int {
	has := func(a string) bool {
		for _, x := range args {
			if x == a {
				return true
			}
		}
		return false
	}
	switch {
	case has("-v"):
		fmt.Println("ProFTPD Version 1.3.8")
		return 0
	case has("-l"):
		out, err := exec.Command("/usr/sbin/proftpd", "-l").Output()
		if err != nil {
			return 1
		}
		os.Stdout.Write(out)
		return 0
	case has("-t"):
		if mode == "kill-t" {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		return 0
	case has("-n"):
		conf := ""
		for i, a := range args {
			if a == "-c" && i+1 < len(args) {
				conf = args[i+1]
			}
		}
		b, err := os.ReadFile(conf)
		if err != nil {
			return 1
		}
		port := ""
		for _, ln := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(ln, "Port "); ok {
				port = strings.TrimSpace(v)
			}
		}
		l, err := net.Listen("tcp4", "127.0.0.1:"+port)
		if err != nil {
			return 1
		}
		var held []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				return 1
			}
			held = append(held, c) // never answered
		}
	}
	return 2
}

// fakeProftpd writes a wrapper that runs this test binary as a fake
// proftpd in mode.
func fakeProftpd(t *testing.T, mode string) string {
	t.Helper()
	dir := sharedDir(t, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "proftpd")
	script := fmt.Sprintf("#!/bin/sh\nCAPTUNE_TEST_FAKE_PROFTPD=%s exec %s \"$@\"\n", mode, self)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper
}

// TestVerifyKilledCheck: a proftpd -t killed by a signal judges nothing:
// verify says proftpd -t did not finish, names the signal, never claims
// that proftpd rejects the configuration, and exits 3.
func TestVerifyKilledCheck(t *testing.T) {
	needVerify(t)
	tmp := ownTmp(t)
	conf := filepath.Join(sharedDir(t, 0o755), "proftpd.conf")
	os.WriteFile(conf, []byte("CapabilitiesSet -CAP_CHOWN\n"), 0o644)
	fake := fakeProftpd(t, "kill-t")
	for _, args := range [][]string{{"verify", "--proftpd", fake, "--config", conf}, {"verify", "--proftpd", fake}} {
		cmd := captuneCmd(t, tmp, args...)
		out, err := cmd.CombinedOutput()
		code := exitCode(err)
		if code != ExitMissing || !strings.Contains(string(out), "did not finish") || !strings.Contains(string(out), "SIGKILL") || strings.Contains(string(out), "rejects") {
			t.Errorf("%v: exit %d, %q; want 3 saying proftpd -t did not finish (SIGKILL)", args[1:], code, out)
		}
	}
}

// TestVerifyInterruptible sends real SIGINT and SIGTERM to a built
// captune verify while it is blocked: on a configuration whose Include is
// a FIFO (captune's reader and proftpd -t would wait for a writer
// forever), in a login that hangs (a stand-in proftpd that accepts and
// never answers), and right after a real login. Each run ends within a
// few seconds with exit 130 (2 is allowed for the FIFO: a reader that
// refuses FIFOs ends at once), and no process or file is left.
func TestVerifyInterruptible(t *testing.T) {
	needVerify(t)
	tmp := ownTmp(t)
	shared := sharedDir(t, 0o755)
	fifo := filepath.Join(shared, "included.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(shared, "proftpd.conf")
	os.WriteFile(conf, []byte("CapabilitiesSet -CAP_CHOWN\nInclude "+fifo+"\n"), 0o644)
	hang := fakeProftpd(t, "hang")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, c := range []struct {
			name  string
			args  []string
			ready func(tr *tree) bool
			codes []int
		}{
			{"FIFO include", []string{"verify", "--config", conf}, func(*tree) bool { time.Sleep(time.Second); return true }, []int{exitInterrupted, ExitUsage}},
			{"hanging login", []string{"verify", "--proftpd", hang}, func(tr *tree) bool { return len(tr.matching(hang+" -n")) > 0 || len(tr.matching(" -n -c ")) > 0 }, []int{exitInterrupted}},
		} {
			t.Run(sig.String()+" "+c.name, func(t *testing.T) {
				cmd := captuneCmd(t, tmp, c.args...)
				var out strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				tr := watchTree(cmd.Process.Pid)
				deadline := time.Now().Add(20 * time.Second)
				for !c.ready(tr) {
					if time.Now().After(deadline) {
						cmd.Process.Kill()
						t.Fatalf("never got ready: %s", out.String())
					}
					time.Sleep(5 * time.Millisecond)
				}
				if c.name == "hanging login" {
					time.Sleep(500 * time.Millisecond) // in the login by now
				}
				cmd.Process.Signal(sig)
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				var err error
				select {
				case err = <-done:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					<-done
					t.Fatalf("captune did not end within 10 s of %v: %s", sig, out.String())
				}
				tr.halt()
				code := exitCode(err)
				ok := false
				for _, want := range c.codes {
					ok = ok || code == want
				}
				if !ok {
					t.Errorf("exit %d, want one of %v: %s", code, c.codes, out.String())
				}
				if left := tr.waitGone(10 * time.Second); len(left) > 0 {
					t.Errorf("left running: %v", left)
				}
				if left := waitEmpty(tmp, 10*time.Second); left != "" {
					t.Errorf("left in TMPDIR: %s", left)
				}
			})
		}
	}
}

// TestVerifySIGTERMAfterLogin signals verify right after the login: as
// soon as the session process exists, captune is stopped (SIGSTOP), sent
// SIGTERM and continued, so the signal is there before verify reads the
// session back, quits and stops proftpd. Every run exits 130 and prints
// no result. (Before, the steps after the login ignored the signal: the
// run printed its result and exited 0.)
func TestVerifySIGTERMAfterLogin(t *testing.T) {
	needVerify(t)
	tmp := ownTmp(t)
	signalledRuns := 0
	for try := 0; try < 15 && signalledRuns < 5; try++ {
		cmd := captuneCmd(t, tmp, "verify")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tr := watchTree(cmd.Process.Pid)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		signalled, finished := false, false
		var err error
		deadline := time.Now().Add(20 * time.Second)
	poll:
		for time.Now().Before(deadline) {
			if sess := tr.matching("proftpd: captune"); len(sess) > 0 {
				cmd.Process.Signal(syscall.SIGSTOP)
				signalled = cmd.Process.Signal(syscall.SIGTERM) == nil
				cmd.Process.Signal(syscall.SIGCONT)
				err, finished = <-done, true
				break
			}
			select {
			case err = <-done:
				finished = true
				break poll
			case <-time.After(200 * time.Microsecond):
			}
		}
		tr.halt()
		if !finished {
			cmd.Process.Kill()
			<-done
			t.Fatalf("try %d: no session within 20 s: %s", try, out.String())
		}
		if !signalled {
			// The run was over before the poll saw its session.
			continue
		}
		signalledRuns++
		if code := exitCode(err); code != exitInterrupted || strings.Contains(out.String(), "match:") || strings.Contains(out.String(), "DIFFERS") {
			t.Errorf("try %d: SIGTERM after the login: exit %d, want 130 and no result:\n%s", try, code, out.String())
		}
		if left := tr.waitGone(10 * time.Second); len(left) > 0 {
			t.Fatalf("left running: %v", left)
		}
	}
	if signalledRuns < 3 {
		t.Errorf("only %d runs were signalled after their login", signalledRuns)
	}
	t.Logf("%d runs signalled right after their login, each exited 130", signalledRuns)
}

// TestVerifySIGKILLLeavesNothing kills verify with SIGKILL at many points
// (proftpd -t, the start, the login, the read-back, the stop): the
// throwaway proftpd, its sessions and the run's folder are gone soon
// after (captune's janitor), looking only at the test's TMPDIR and
// captune's own descendants.
func TestVerifySIGKILLLeavesNothing(t *testing.T) {
	needVerify(t)
	tmp := ownTmp(t)
	for try := 0; try < 15; try++ {
		cmd := captuneCmd(t, tmp, "verify")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tr := watchTree(cmd.Process.Pid)
		deadline := time.Now().Add(10 * time.Second)
		for tr.count() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(try*try) * 2 * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		tr.halt()
		if left := tr.waitGone(15 * time.Second); len(left) > 0 {
			t.Fatalf("try %d: still running after captune's SIGKILL: %v", try, left)
		}
		if left := waitEmpty(tmp, 15*time.Second); left != "" {
			t.Fatalf("try %d: left after captune's SIGKILL: %s", try, left)
		}
	}
}
