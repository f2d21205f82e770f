package cli

import (
	"encoding/json"
	"errors"
	"fmt"
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
