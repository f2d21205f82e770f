package cli

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"captune/model"
	"captune/ui"
)

// hostConf is a whole file whose reduced copy behaves differently
// (v-defaults-bare-host, f8-host-resets-main-engine-off): the main server
// has mod_cap off, and HOST a.example switches to a <VirtualHost> with
// no line of its own, where mod_cap's defaults apply again. It names the
// real server's files, which verify must replace.
const hostConf = `ServerType standalone
UseIPv6 off
UseReverseDNS off
User nobody
Group nogroup
PidFile /run/proftpd.pid
DefaultAddress 127.0.0.1
Port 21
ServerName main
CapabilitiesEngine off
TransferLog /var/log/xferlog
<VirtualHost 127.0.0.1>
  Port 21
  ServerName vhost-a
  ServerAlias a.example
</VirtualHost>
`

func writeConf(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "proftpd.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerifyWholeFileE2E: verify --config runs the whole file, with the
// HOST given, and says match about the session real proftpd made there
// (0x20000400 in effect: the vhost's mod_cap defaults); text and JSON
// list the file's changed lines (the PidFile at line 6, the TransferLog
// at line 11) and the lines added to the vhost, and never a Port,
// address or mod_cap line.
func TestVerifyWholeFileE2E(t *testing.T) {
	needVerify(t)
	dir := leftoverDir(t)
	conf := writeConf(t, hostConf)
	code, v, errs := runVerifyJSON(t, dir, "--config", conf, "--host", "a.example")
	if code != ExitOK || !v.Match || v.Observed.Permitted != "0000000020000400" || v.Observed.Effective != "0000000020000400" {
		t.Fatalf("exit %d, observed %s/%s, match %v %q, stderr %s", code, v.Observed.Permitted, v.Observed.Effective, v.Match, v.Differences, errs)
	}
	if v.Config != conf || v.Connect != "127.0.0.1:21" || v.Client != "127.0.0.1" || len(v.Hosts) != 1 || v.Hosts[0] != "a.example" {
		t.Errorf("config %q connect %q client %q hosts %q", v.Config, v.Connect, v.Client, v.Hosts)
	}
	where := map[string]verifyChangeJSON{}
	vhostAdds := map[string]bool{}
	for _, c := range v.Changes {
		if c.Where != "" {
			where[c.Where] = c
		} else if c.Server == "<VirtualHost 127.0.0.1>" {
			vhostAdds[c.Directive] = true
		}
		for _, never := range []string{"Port", "DefaultAddress", "ServerAlias", "CapabilitiesEngine", "UseFtpUsers"} {
			if c.Directive == never {
				t.Errorf("changed %s: %+v", never, c)
			}
		}
	}
	if c := where[conf+":6"]; c.Was != "PidFile /run/proftpd.pid" || !strings.HasPrefix(c.Now, "PidFile "+dir+"/captune-0/verify-") || c.Why == "" {
		t.Errorf("PidFile change %+v", c)
	}
	if c := where[conf+":11"]; c.Was != "TransferLog /var/log/xferlog" || !strings.HasPrefix(c.Now, "TransferLog "+dir+"/captune-0/verify-") {
		t.Errorf("TransferLog change %+v", c)
	}
	for _, d := range []string{"TransferLog", "WtmpLog", "AuthUserFile", "AuthOrder"} {
		if !vhostAdds[d] {
			t.Errorf("no %s added to the vhost (which inherits none): %+v", d, v.Changes)
		}
	}

	t.Setenv("TMPDIR", dir)
	code, out, errs := run(t, "verify", "--config", conf, "--host", "a.example")
	for _, want := range []string{
		"config:  " + conf + ", run whole with ",
		"connect: 127.0.0.1:21 from 127.0.0.1, HOST a.example\n",
		"network: a private network: loopback; no address or port of the file changed\n",
		"- " + conf + ":6: PidFile /run/proftpd.pid -> PidFile " + dir + "/captune-0/verify-",
		"CapEff:  0000000020000400   0000000020000400",
		"match: proftpd did what captune predicts",
	} {
		// Long lines are wrapped: compare words.
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if code != ExitOK || errs != "" {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestVerifyUnfaithful: a file whose effects a throwaway run cannot
// contain is refused with its line and why, exit 3, before anything
// runs; nothing is left.
func TestVerifyUnfaithful(t *testing.T) {
	needVerify(t)
	dir := leftoverDir(t)
	t.Setenv("TMPDIR", dir)
	for _, c := range []struct{ conf, why string }{
		{"LoadModule mod_exec.c\nExecEngine on\nExecOnConnect /bin/true\n", ":3 faithfully: ExecOnConnect runs a program"},
		{"LoadModule mod_sql.c\nSQLConnectInfo ftp@db.example user secret\n", ":2 faithfully: mod_sql talks to a database"},
		{"LoadModule mod_ldap.c\nLDAPServer ldap://ldap.example\n", ":2 faithfully: mod_ldap talks to a directory server"},
		{"LoadModule mod_ldap.c\nLDAPUsers ou=people,dc=example\n", ":2 faithfully: mod_ldap"},
		{"LoadModule mod_radius.c\nRadiusEngine on\n", ":2 faithfully: mod_radius"},
		{"LoadModule mod_tls.c\nTLSEngine on\n", ":2 faithfully: mod_tls is on"},
		{"LoadModule mod_sftp.c\n<VirtualHost 127.0.0.2>\n  SFTPEngine on\n</VirtualHost>\n", ":3 faithfully: mod_sftp is on"},
		{"ServerType inetd\n", ":1 faithfully: ServerType inetd"},
	} {
		conf := writeConf(t, c.conf)
		code, out, errs := run(t, "verify", "--config", conf)
		if code != ExitMissing || out != "" || !strings.Contains(errs, "cannot run the line at "+conf+c.why) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 3 and %q", c.conf, code, out, errs, c.why)
		}
	}
}

// TestVerifyWholeFileSignals: a whole-file run (private network, HOST to
// a vhost) stopped by SIGINT or SIGTERM once the session exists exits
// 130, and one killed with SIGKILL at any point leaves no process (the
// master, the session) and no folder.
func TestVerifyWholeFileSignals(t *testing.T) {
	needVerify(t)
	tmp := ownTmp(t)
	conf := writeConf(t, hostConf)
	args := []string{"verify", "--config", conf, "--host", "a.example"}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		signalled := false
		for try := 0; try < 10 && !signalled; try++ {
			cmd := captuneCmd(t, tmp, args...)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			tr := watchTree(cmd.Process.Pid)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			deadline := time.Now().Add(20 * time.Second)
		poll:
			for time.Now().Before(deadline) {
				if len(tr.matching("proftpd: captune")) > 0 {
					signalled = cmd.Process.Signal(sig) == nil
					err = <-done
					break
				}
				select {
				case err = <-done:
					break poll
				case <-time.After(200 * time.Microsecond):
				}
			}
			tr.halt()
			if signalled {
				if code := exitCode(err); code != exitInterrupted || !strings.Contains(out.String(), "interrupted") {
					t.Errorf("%v after the login: exit %d, want 130:\n%s", sig, code, out.String())
				}
			}
			if left := tr.waitGone(15 * time.Second); len(left) > 0 {
				t.Fatalf("%v: still running: %v", sig, left)
			}
			if left := waitEmpty(tmp, 15*time.Second); left != "" {
				t.Fatalf("%v: left: %s", sig, left)
			}
		}
		if !signalled {
			t.Errorf("%v never reached a run with a session", sig)
		}
	}
	sessions := 0
	for try := 0; try < 12; try++ {
		cmd := captuneCmd(t, tmp, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		tr := watchTree(cmd.Process.Pid)
		deadline := time.Now().Add(10 * time.Second)
		for tr.count() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if try%3 == 2 {
			// Some kills once the session is there.
			for len(tr.matching("proftpd: captune")) == 0 && time.Now().Before(deadline) {
				time.Sleep(200 * time.Microsecond)
			}
			if len(tr.matching("proftpd: captune")) > 0 {
				sessions++
			}
		} else {
			time.Sleep(time.Duration(try*try) * 3 * time.Millisecond)
		}
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
	if sessions == 0 {
		t.Errorf("no SIGKILL reached a run with a session")
	}
	t.Logf("%d of the SIGKILLs came with the session open", sessions)
}

// TestTUIVerifyWholeFile: the tuner's v key runs a --config file whole,
// as verify --config does: a <Global> inside a <VirtualHost> whose
// UserOwner disables the main server's root revoke
// (f3-vhost-global-userowner-main: CapEff 0x200004c1), with the file's
// changes listed.
func TestTUIVerifyWholeFile(t *testing.T) {
	needVerify(t)
	t.Setenv("TMPDIR", leftoverDir(t))
	conf := writeConf(t, "ServerType standalone\nUseIPv6 off\nUseReverseDNS off\nUser nobody\nGroup nogroup\n"+
		"PidFile /run/proftpd.pid\nDefaultAddress 127.0.0.1\nPort 21\n"+
		"<VirtualHost 127.0.0.2>\n  Port 21\n  <Global>\n    <Directory /srv/captune-test/shared>\n      UserOwner ftp\n    </Directory>\n  </Global>\n</VirtualHost>\n")
	cfg, _, _, err := configTokens(conf)
	if err != nil {
		t.Fatal(err)
	}
	verify, finish := tuiVerify(Env{ProcRoot: "/proc"})
	defer finish()
	res, err := verify(context.Background(), ui.VerifyRequest{Config: model.TunedConfig(cfg, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Whole || !res.Match || res.Observed.Permitted != 0x200004c1 || res.Observed.Effective != 0x200004c1 {
		t.Fatalf("whole %v, match %v %q, observed %s/%s", res.Whole, res.Match, res.Differences, res.Observed.Permitted.Hex(), res.Observed.Effective.Hex())
	}
	if !slices.ContainsFunc(res.Changes, func(c string) bool { return strings.HasPrefix(c, conf+":6: PidFile /run/proftpd.pid -> PidFile ") }) {
		t.Errorf("changes %q", res.Changes)
	}
}
