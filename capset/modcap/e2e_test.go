package modcap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"captune/capset"
)

// The end-to-end tests run the real proftpd's syntax check (proftpd -t).
// Without proftpd they are skipped, unless CAPTUNE_E2E is set: then a
// missing proftpd is a failure.

// proftpdConcurrency bounds how many proftpd -t run at once.
const proftpdConcurrency = 4

var proftpdSem = make(chan struct{}, proftpdConcurrency)

func needProftpd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("proftpd")
	if err != nil {
		if os.Getenv("CAPTUNE_E2E") == "" {
			t.Skip("proftpd is not installed (apt-get install proftpd-core); set CAPTUNE_E2E=1 to make this a failure")
		}
		t.Fatalf("CAPTUNE_E2E is set but proftpd is not in PATH: %v", err)
	}
	// proftpd -t must accept the base configuration (it does not as a
	// non-root user: the ScoreboardFile check fails).
	preflightOnce.Do(func() {
		dir, err := os.MkdirTemp("", "captune-e2e-")
		if err != nil {
			preflightErr = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "proftpd.conf")
		if err := os.WriteFile(path, []byte(baseConfig(dir)), 0o644); err != nil {
			preflightErr = err.Error()
			return
		}
		if out, err := exec.Command(bin, "-t", "-c", path).CombinedOutput(); err != nil {
			preflightErr = fmt.Sprintf("proftpd -t rejects the base configuration (%v):\n%s", err, out)
		}
	})
	if preflightErr != "" {
		if os.Getenv("CAPTUNE_E2E") == "" {
			t.Skipf("%s\n(run as root; set CAPTUNE_E2E=1 to make this a failure)", preflightErr)
		}
		t.Fatal(preflightErr)
	}
	return bin
}

var (
	preflightOnce sync.Once
	preflightErr  string
)

// baseConfig is a minimal configuration proftpd -t accepts, with its
// files in dir. It has baseLines lines.
func baseConfig(dir string) string {
	return "ServerType standalone\n" +
		"Port 2121\n" +
		"DefaultAddress 127.0.0.1\n" +
		"PidFile " + filepath.Join(dir, "pid") + "\n" +
		"ScoreboardFile " + filepath.Join(dir, "sb") + "\n" +
		"DelayTable none\n" +
		"WtmpLog off\n"
}

const baseLines = 7

// proftpdResult is what proftpd -t said.
type proftpdResult struct {
	rc int
	// fatal is the "fatal: ..." line proftpd stopped at (timestamp and
	// program name removed), "" when it accepted the file or crashed
	// without one.
	fatal  string
	output string
}

// runProftpdCheck runs proftpd -t -c path with the extra environment.
func runProftpdCheck(t *testing.T, bin, path string, env []string) proftpdResult {
	t.Helper()
	proftpdSem <- struct{}{}
	defer func() { <-proftpdSem }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-t", "-c", path)
	cmd.Dir = filepath.Dir(path) // a crash leaves its core file there
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("proftpd -t -c %s timed out", path)
	}
	res := proftpdResult{output: string(out)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.rc = ee.ExitCode()
		if res.rc == 0 {
			res.rc = -1
		}
	default:
		t.Fatalf("proftpd -t: %v", err)
	}
	if res.rc != 0 {
		res.fatal = lastFatal(res.output)
	}
	return res
}

// lastFatal returns the last error proftpd logged: its "fatal: TEXT on
// line N of 'FILE'" or "fatal: error processing configuration file 'F':
// unclosed configuration section" line. "Checking syntax ...", warnings,
// the "Did you mean" block and the second line about a malformed
// directive name are not verdicts. Errors logged for an included file
// that proftpd went past come before the one it stopped at.
func lastFatal(output string) string {
	verdict := ""
	for _, line := range strings.Split(output, "\n") {
		i := strings.Index(line, "]: fatal: ")
		if i < 0 {
			continue
		}
		msg := line[i+3:]
		if strings.HasPrefix(msg, "fatal: Did you mean") || strings.HasPrefix(msg, "fatal: malformed directive name") {
			continue
		}
		verdict = msg
	}
	return verdict
}

func TestLastFatal(t *testing.T) {
	out := "Checking syntax of configuration file\n" +
		"2026-11-28 18:48:59,864 vm proftpd[7244]: fatal: CapabilitiesSet: unknown capability: 'CAP_NET_RAW' on line 1 of '/x/bad.conf'\n" +
		"2026-11-28 18:48:59,864 vm proftpd[7244]: warning: unable to include '/x/bad.conf': Operation not permitted\n" +
		"2026-11-28 18:48:59,864 vm proftpd[7244]: fatal: unknown configuration directive 'Caps' on line 8 of '/x/c.conf'\n" +
		"2026-11-28 18:48:59,864 vm proftpd[7244]: fatal: Did you mean:\n  <IfModule>\n  HideUser\n"
	if got, want := lastFatal(out), "fatal: unknown configuration directive 'Caps' on line 8 of '/x/c.conf'"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestE2EEmittedBlocks checks that every block Emit writes for the 64
// token combinations (and the PAM default without CAP_AUDIT_WRITE) is
// accepted by proftpd, and that reading it back predicts the same set.
func TestE2EEmittedBlocks(t *testing.T) {
	bin := needProftpd(t)
	type job struct {
		name string
		want capset.Set
	}
	var jobs []job
	for m := 0; m < 64; m++ {
		kept := KeptByTokens(combination(m), true)
		jobs = append(jobs, job{fmt.Sprintf("combination %02d %v", m, tokenStrings(combination(m))), kept})
	}
	jobs = append(jobs, job{"default without AUDIT_WRITE", 0x4c1})
	var accepted atomic.Int32
	t.Run("blocks", func(t *testing.T) {
		for _, j := range jobs {
			t.Run(j.name, func(t *testing.T) {
				t.Parallel()
				want := j.want
				b, err := Emit(want, true)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				text := baseConfig(dir) + b.String()
				path := filepath.Join(dir, "proftpd.conf")
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				res := runProftpdCheck(t, bin, path, nil)
				if res.rc != 0 {
					t.Fatalf("proftpd -t rejects the block (rc %d):\n%s\n%s", res.rc, b, res.output)
				}
				accepted.Add(1)
				cfg, err := ReadString(path, text, Options{})
				if err != nil {
					t.Fatal(err)
				}
				p := Predict(Input{Config: cfg, Login: ftptest, MasterPermitted: full, MasterBounding: full})
				if p.Kept != want {
					t.Errorf("predicted kept %s, want %s\n%s", p.Kept.Hex(), want.Hex(), b)
				}
			})
		}
	})
	t.Logf("proftpd -t accepted %d of %d emitted blocks", accepted.Load(), len(jobs))
}

// diffCase is one configuration for the differential test: text goes
// after the base configuration (line baseLines+1 on); files are written
// in the case's directory first. "@DIR@" in either stands for that
// directory.
type diffCase struct {
	name  string
	text  string
	files map[string]string
	env   []string
	// cycle marks an Include cycle: proftpd recurses until it crashes,
	// captune refuses it.
	cycle bool
}

var diffCases = []diffCase{
	{name: "base only"},
	{name: "all directives good", text: "CapabilitiesEngine on\nCapabilitiesSet +CAP_FOWNER -CAP_CHOWN\nCapabilitiesRootRevoke on\nRootRevoke off\nRootLogin off\n"},
	{name: "no sign", text: "CapabilitiesSet CAP_CHOWN\n"},
	{name: "unknown capability", text: "CapabilitiesSet +CAP_NET_RAW\n"},
	{name: "no CAP_ prefix", text: "CapabilitiesSet +chown\n"},
	{name: "comma list", text: "CapabilitiesSet -CAP_CHOWN,+CAP_FOWNER\n"},
	{name: "first bad token", text: "CapabilitiesSet +CAP_FOWNER +CAP_SETGID CAP_X\n"},
	{name: "set without tokens", text: "CapabilitiesSet\n"},
	{name: "engine maybe", text: "CapabilitiesEngine maybe\n"},
	{name: "engine 2", text: "CapabilitiesEngine 2\n"},
	{name: "root revoke sometimes", text: "CapabilitiesRootRevoke sometimes\n"},
	{name: "engine without value", text: "CapabilitiesEngine\n"},
	{name: "booleans in any case", text: "CapabilitiesEngine YES\nCapabilitiesEngine fAlSe\nCapabilitiesEngine 1\nCapabilitiesRootRevoke No\nCapabilitiesRootRevoke TRUE\nRootRevoke 0\nRootLogin oN\nCapabilitiesEngine off trailing words\n"},
	{name: "names in any case", text: "capabilitiesset +cap_fowner\nCAPABILITIESENGINE on\n<directory /srv>\nuserowner ftp\n</DIRECTORY>\n"},
	{name: "set in Directory", text: "<Directory /srv/ftp>\n  CapabilitiesSet +CAP_FOWNER\n</Directory>\n"},
	{name: "engine in Anonymous", text: "<Anonymous /srv/ftp>\n  CapabilitiesEngine off\n</Anonymous>\n"},
	{name: "set in Limit", text: "<Limit LOGIN>\n  CapabilitiesSet +CAP_FOWNER\n</Limit>\n"},
	{name: "set in VirtualHost", text: "<VirtualHost 127.0.0.2>\n  CapabilitiesSet +CAP_FOWNER\n  CapabilitiesEngine off\n</VirtualHost>\n"},
	{name: "set in Global", text: "<Global>\n  CapabilitiesSet -CAP_CHOWN\n  CapabilitiesRootRevoke off\n</Global>\n"},
	{name: "Global in VirtualHost", text: "<VirtualHost 127.0.0.2>\n<Global>\nCapabilitiesEngine on\n</Global>\n</VirtualHost>\n"},
	{name: "IfUser without mod_ifsession", text: "<IfUser ftptest>\n  CapabilitiesEngine off\n</IfUser>\n"},
	{name: "IfUser with mod_ifsession", text: "LoadModule mod_ifsession.c\n<IfUser ftptest>\n  CapabilitiesEngine off\n  CapabilitiesSet +CAP_FSETID\n</IfUser>\n<IfGroup ftp>\n  RootRevoke off\n</IfGroup>\n"},
	{name: "IfUser in Anonymous", text: "LoadModule mod_ifsession.c\n<Anonymous /srv/ftp>\n<IfUser bob>\n</IfUser>\n</Anonymous>\n"},
	{name: "UserOwner in IfUser", text: "LoadModule mod_ifsession.c\n<IfUser bob>\nUserOwner ftp\n</IfUser>\n"},
	{name: "UserOwner in IfUser in vhost", text: "LoadModule mod_ifsession.c\n<VirtualHost 127.0.0.2>\n<IfUser bob>\nUserOwner ftp\n</IfUser>\n</VirtualHost>\n"},
	{name: "IfUser without user", text: "LoadModule mod_ifsession.c\n<IfUser>\n</IfUser>\n"},
	{name: "stray IfUser closer", text: "LoadModule mod_ifsession.c\n<Directory /x>\nUserOwner ftp\n</IfUser>\nCapabilitiesEngine on\n"},
	{name: "IfUser closer crossing Global", text: "LoadModule mod_ifsession.c\n<Global>\n<IfUser bob>\n</Global>\n</IfUser>\n"},
	{name: "unclosed Global", text: "<Global>\nCapabilitiesEngine on\n"},
	{name: "unclosed VirtualHost", text: "<VirtualHost 127.0.0.2>\nPort 2122\n"},
	{name: "unclosed Directory", text: "<Directory /srv/ftp>\nUserOwner ftp\n"},
	{name: "unclosed Anonymous", text: "<Anonymous /srv/ftp>\n"},
	{name: "unclosed true IfModule", text: "<IfModule mod_cap.c>\nCapabilitiesEngine on\n"},
	{name: "unclosed false IfModule", text: "<IfModule mod_nope.c>\nCapabilitiesEngine on\n\n# trailing comment\n\n"},
	{name: "false IfModule skips garbage", text: "<IfModule !mod_cap.c>\nCapabilitiesSet +CAP_NET_RAW\n<IfModule mod_x.c>\nNoSuchDirective\n</IfModule>\n</IfModule> # not a closer\n</IfModule>\nCapabilitiesEngine maybe\n"},
	{name: "true IfModule is checked", text: "<IfModule mod_cap.c>\nCapabilitiesSet +CAP_NET_RAW\n</IfModule>\n"},
	{name: "IfModule closer with argument", text: "<IfModule mod_cap.c>\n</IfModule mod_cap.c>\n"},
	{name: "IfDefine closer with argument", text: "<IfDefine !X>\nCapabilitiesEngine on\n</IfDefine X>\n"},
	{name: "quoted words are one argument", text: "CapabilitiesSet \"+CAP_FOWNER +CAP_FSETID\"\n"},
	{name: "quoted tokens", text: "CapabilitiesSet \"+CAP_FOWNER\" \"-CAP_CHOWN\"\n"},
	{name: "quote ends a word", text: "CapabilitiesSet \"+CAP_FOWNER\"+CAP_NET_RAW\n"},
	{name: "inline comment", text: "CapabilitiesSet +CAP_FOWNER #+CAP_NET_RAW\nCapabilitiesSet +CAP_FOWNER#x\n"},
	{name: "continuation", text: "CapabilitiesSet +CAP_FOWNER \\\n  +CAP_FSETID \\\n  +CAP_NET_RAW\n"},
	{name: "commented continuation line", text: "CapabilitiesSet +CAP_FOWNER \\\n# -CAP_CHOWN \\\n+CAP_NET_RAW\n"},
	{name: "comment with backslash", text: "# comment \\\nCapabilitiesEngine maybe\n"},
	{name: "last line without newline", text: "CapabilitiesEngine on\nCapabilitiesEngine maybe"},
	{name: "CRLF", text: "CapabilitiesEngine on\r\nCapabilitiesSet +CAP_FOWNER \\\r\n+CAP_NET_RAW\r\n"},
	{name: "environment variable", text: "CapabilitiesSet %{env:CAPTUNE_E2E_CAPS}\n", env: []string{"CAPTUNE_E2E_CAPS=+CAP_NET_RAW"}},
	{name: "RootRevoke sometimes", text: "RootRevoke sometimes\n"},
	{name: "RootRevoke UseNonCompliantActiveTransfers", text: "RootRevoke UseNonCompliantActiveTransfers\nRootRevoke usenoncompliantactivetransfer\n"},
	{name: "RootRevoke in Directory", text: "<Directory /x>\nRootRevoke off\n</Directory>\n"},
	{name: "RootRevoke without value", text: "RootRevoke\n"},
	{name: "RootLogin maybe", text: "RootLogin maybe\n"},
	{name: "RootLogin in Anonymous", text: "<Anonymous /srv/ftp>\nRootLogin on\nRootRevoke off\nUserOwner ftp\n</Anonymous>\n"},
	{name: "RootLogin in Limit", text: "<Limit LOGIN>\nRootLogin on\n</Limit>\n"},
	{name: "UserOwner at server level", text: "UserOwner ftp\n"},
	{name: "UserOwner in Limit", text: "<Directory /x>\n<Limit READ>\nUserOwner ftp\n</Limit>\n</Directory>\n"},
	{name: "UserOwner without user", text: "<Directory /x>\nUserOwner\n</Directory>\n"},
	{name: "non-ASCII directive", text: "Capabilit\u00e9sEngine on\n"},
	{name: "Global with argument", text: "<Global foo>\n</Global>\n"},
	{name: "VirtualHost without address", text: "<VirtualHost>\n</VirtualHost>\n"},
	{name: "Anonymous relative", text: "<Anonymous ftp>\n</Anonymous>\n"},
	{name: "Anonymous root", text: "<Anonymous />\n</Anonymous>\n"},
	{name: "Directory relative", text: "<Directory pub>\n</Directory>\n"},
	{name: "Directory twice", text: "<Directory /x>\nUserOwner ftp\n</Directory>\n<Global>\n<Directory /x>\nUserOwner ftp\n</Directory>\n</Global>\n"},
	{name: "empty Directory twice", text: "<Directory /x>\n</Directory>\n<Directory /x>\n</Directory>\n"},
	{name: "Limit without commands", text: "<Limit>\n</Limit>\n"},
	{name: "closer with argument", text: "<Directory /x>\n</Directory foo>\n"},
	{name: "wrong closer", text: "<Anonymous /srv/ftp>\n<Directory /x>\n</Anonymous>\n</Directory>\n"},
	{name: "stray closer", text: "</VirtualHost>\n"},
	{name: "Class in Directory", text: "<Directory /x>\n<Class local>\n</Class>\n</Directory>\n"},
	{name: "Include file", text: "Include @DIR@/inc/a.conf\n", files: map[string]string{"inc/a.conf": "CapabilitiesSet +CAP_FOWNER\nCapabilitiesEngine on\n"}},
	{name: "Include file with error", text: "Include @DIR@/inc/a.conf\nCapabilitiesEngine on\n", files: map[string]string{"inc/a.conf": "CapabilitiesEngine on\nCapabilitiesEngine maybe\n"}},
	{name: "Include directory", text: "Include @DIR@/conf.d\n", files: map[string]string{
		"conf.d/10-cap.conf": "CapabilitiesSet +CAP_FOWNER\n", "conf.d/20-bad.conf": "CapabilitiesSet +CAP_NET_RAW\n",
		"conf.d/30-ok.conf": "CapabilitiesEngine on\n", "conf.d/.hidden": "CapabilitiesEngine sometimes\n"}},
	{name: "Include glob", text: "Include @DIR@/conf.d/*.conf\n", files: map[string]string{
		"conf.d/a.conf": "CapabilitiesSet +CAP_FOWNER\n", "conf.d/b.txt": "CapabilitiesSet +CAP_NET_RAW\n", "conf.d/.c.conf": "CapabilitiesEngine maybe\n"}},
	{name: "Include glob in a directory name", text: "Include @DIR@/sites/*/cap.conf\n", files: map[string]string{
		"sites/a/cap.conf": "CapabilitiesSet +CAP_FOWNER\n", "sites/b/other.conf": "CapabilitiesSet +CAP_NET_RAW\n"}},
	{name: "Include glob with no match", text: "Include @DIR@/none*/x.conf\nInclude @DIR@/*.none\n"},
	{name: "Include glob whose directory is a file", text: "Include @DIR@/a.conf/*.conf\n", files: map[string]string{"a.conf": "CapabilitiesEngine on\n"}},
	{name: "Include missing file", text: "Include @DIR@/missing.conf\nCapabilitiesEngine maybe\n"},
	{name: "Include relative path", text: "Include conf.d/x.conf\n"},
	{name: "Include without path", text: "Include\n"},
	{name: "Include in Class", text: "<Class c>\nInclude @DIR@/a.conf\n</Class>\n", files: map[string]string{"a.conf": "\n"}},
	{name: "Include cycle", text: "Include @DIR@/a.conf\n", cycle: true, files: map[string]string{
		"a.conf": "Include @DIR@/b.conf\n", "b.conf": "CapabilitiesEngine on\nInclude @DIR@/a.conf\n"}},
	{name: "error in included file, rest of main skipped", text: "Include @DIR@/bad.conf\nCapabilitiesSet CAP_CHOWN\n", files: map[string]string{
		"bad.conf": "CapabilitiesSet +CAP_NET_RAW\n"}},
	{name: "error in included file, rest of it read here", text: "Include @DIR@/bad.conf\nCapabilitiesSet CAP_CHOWN\n", files: map[string]string{
		"bad.conf": "CapabilitiesSet +CAP_NET_RAW\nCapabilitiesEngine on\n\n\nRootLogin maybe\n"}},
	{name: "error two Includes deep", text: "Include @DIR@/mid.conf\nCapabilitiesSet CAP_CHOWN\n", files: map[string]string{
		"mid.conf": "CapabilitiesEngine on\nInclude @DIR@/bad.conf\nCapabilitiesRootRevoke maybe\n", "bad.conf": "CapabilitiesSet +CAP_NET_RAW\n"}},
	{name: "failed Include leaves Global open", text: "<Global>\nInclude @DIR@/bad.conf\n</Global>\n", files: map[string]string{
		"bad.conf": "CapabilitiesSet +CAP_NET_RAW\n"}},
	{name: "Include inside Directory", text: "<Directory /x>\nInclude @DIR@/in.conf\n</Directory>\n", files: map[string]string{
		"in.conf": "UserOwner ftp\nRootRevoke off\n"}},
	{name: "false IfModule in included file", text: "Include @DIR@/in.conf\nCapabilitiesEngine maybe\n", files: map[string]string{
		"in.conf": "<IfModule mod_nope.c>\nCapabilitiesEngine on\n"}},
}

// TestE2EDifferential compares captune's verdict on each configuration
// with proftpd -t's: accepted, or the same error text, file and line.
func TestE2EDifferential(t *testing.T) {
	bin := needProftpd(t)
	if len(diffCases) < 40 {
		t.Fatalf("only %d cases", len(diffCases))
	}
	var agreed atomic.Int32
	var mu sync.Mutex
	var disagreements []string
	t.Run("cases", func(t *testing.T) {
		for _, c := range diffCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				sub := func(s string) string { return strings.ReplaceAll(s, "@DIR@", dir) }
				for name, text := range c.files {
					writeFiles(t, dir, map[string]string{name: sub(text)})
				}
				path := filepath.Join(dir, "proftpd.conf")
				text := baseConfig(dir) + sub(c.text)
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				pf := runProftpdCheck(t, bin, path, c.env)
				envMap := map[string]string{}
				for _, kv := range c.env {
					k, v, _ := strings.Cut(kv, "=")
					envMap[k] = v
				}
				_, err := ReadFile(path, Options{Getenv: func(k string) string {
					if v, ok := envMap[k]; ok {
						return v
					}
					return os.Getenv(k)
				}})
				ours := "accepted"
				if err != nil {
					var e *Error
					if !errors.As(err, &e) {
						t.Fatalf("ReadFile: %v", err)
					}
					ours = e.Proftpd()
				}
				theirs := "accepted"
				if pf.rc != 0 {
					theirs = pf.fatal
					if theirs == "" {
						theirs = fmt.Sprintf("crash (rc %d)", pf.rc)
					}
				}
				same := ours == theirs
				if c.cycle {
					// proftpd recurses until it crashes; captune refuses
					// the cycle. Both reject the file.
					same = pf.rc != 0 && pf.fatal == "" && strings.Contains(ours, ErrIncludeCycle.Error())
				}
				if !same {
					mu.Lock()
					disagreements = append(disagreements, c.name)
					mu.Unlock()
					t.Errorf("verdicts differ\nconfig (from line %d):\n%s\ncaptune: %s\nproftpd: %s\nproftpd output:\n%s", baseLines+1, sub(c.text), ours, theirs, pf.output)
					return
				}
				agreed.Add(1)
			})
		}
	})
	t.Logf("captune agreed with proftpd -t on %d of %d configurations", agreed.Load(), len(diffCases))
	if len(disagreements) > 0 {
		t.Logf("disagreements: %s", strings.Join(disagreements, "; "))
	}
}
