package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// predictConf writes a configuration (@DIR@ is its folder) and returns
// its path.
func predictConf(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	text = strings.ReplaceAll(text, "@DIR@", dir)
	conf := filepath.Join(dir, "proftpd.conf")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

func predictJSONOf(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, out, errs := run(t, append([]string{"predict", "--json", "--master-set", "1ffffffffff", "--no-pam"}, args...)...)
	if code != ExitOK {
		t.Fatalf("predict %v: exit %d: %s", args, code, errs)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return got
}

// TestPredictConnectionBadInput: each bad --client, --connect, --vhost or
// --host value is a one-line usage error naming it (exit 2).
func TestPredictConnectionBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--client", "not-an-address"}, `--client "not-an-address": not an IP address`},
		{[]string{"--client", "10.0.0.0/8"}, `--client "10.0.0.0/8": not an IP address`},
		{[]string{"--client", "fe80::1%eth0"}, `not an IP address`},
		{[]string{"--connect", "127.0.0.1:0"}, `port "0" is not a number from 1 to 65535`},
		{[]string{"--connect", "127.0.0.1:65536"}, `port "65536" is not a number from 1 to 65535`},
		{[]string{"--connect", "127.0.0.1:ftp"}, `port "ftp" is not a number`},
		{[]string{"--connect", "127.0.0.1:+21"}, `port "+21" is not a number`},
		{[]string{"--connect", "127.0.0.1:"}, `empty port after ':'`},
		{[]string{"--connect", ":21"}, `--connect ":21": empty address`},
		{[]string{"--connect", "[::1"}, `no closing ]`},
		{[]string{"--connect", "[::1]21"}, `unexpected "21" after ]`},
		{[]string{"--connect", "[]:21"}, `empty address`},
		{[]string{"--connect", "bad name!"}, `not an IP address or host name`},
		{[]string{"--connect", "no-such-host.invalid"}, `the name no-such-host.invalid does not resolve`},
		{[]string{"--vhost", "127.0.0.1:21"}, `--vhost takes an address only`},
		{[]string{"--vhost", "127.0.0.1", "--connect", "127.0.0.1"}, `--vhost is the same as --connect ADDR: give one of them`},
		{[]string{"--host", "a,,b"}, `--host "a,,b": name 2 is empty`},
		{[]string{"--host", ","}, `name 1 is empty`},
		{[]string{"--host", strings.Repeat("a", 256)}, `name 1 is longer than 255 bytes`},
		{[]string{"--host", "a b"}, `name 1 contains a space or a control character`},
		{[]string{"--host", "ok", "--host", "x\x1b[2J"}, `name 1 contains a space or a control character`},
	} {
		code, out, errs := run(t, append([]string{"predict"}, c.args...)...)
		if code != ExitUsage || out != "" || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 || strings.Contains(errs, "\x1b") {
			t.Errorf("predict %q: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, out, errs, c.want)
		}
	}
}

// TestPredictConnectChoosesServer: --connect ADDR[:PORT] chooses the
// server as proftpd's bindings do, and --vhost ADDR is the same; the
// output names the server and how it was chosen.
func TestPredictConnectChoosesServer(t *testing.T) {
	conf := predictConf(t, "Port 2121\nCapabilitiesSet +CAP_FOWNER\n<VirtualHost 127.0.0.2>\n  Port 2122\n  CapabilitiesSet +CAP_DAC_OVERRIDE\n</VirtualHost>\n<VirtualHost 127.0.0.1>\n  Port 2123\n  ServerName \"third\"\n</VirtualHost>\n")
	main := predictJSONOf(t, "--config", conf)
	if main["server"] != "the main server" || !strings.Contains(fmt.Sprint(main["server_choice"]), "no connection address given") || main["permitted"] != "00000000000004c9" {
		t.Errorf("default: %v", main)
	}
	for _, flags := range [][]string{{"--connect", "127.0.0.2"}, {"--connect", "127.0.0.2:2122"}, {"--vhost", "127.0.0.2"}} {
		got := predictJSONOf(t, append([]string{"--config", conf}, flags...)...)
		if !strings.HasPrefix(fmt.Sprint(got["server"]), "<VirtualHost 127.0.0.2> at "+conf+":3") || got["permitted"] != "00000000000004c3" {
			t.Errorf("%v: server %v, permitted %v", flags, got["server"], got["permitted"])
		}
	}
	got := predictJSONOf(t, "--config", conf, "--connect", "127.0.0.1:2123")
	if !strings.HasPrefix(fmt.Sprint(got["server"]), "<VirtualHost 127.0.0.1> at "+conf+":7") || got["permitted"] != "00000000000004c1" {
		t.Errorf("127.0.0.1:2123: %v", got)
	}
	// Nothing listens on port 2124: the TCP connection is refused.
	code, out, _ := run(t, "predict", "--config", conf, "--connect", "127.0.0.1:2124")
	if code != ExitOK || !strings.Contains(out, "server:  none (the connection reaches no server)\nlogin refused at connect:\n  no socket listens on 127.0.0.1:2124") {
		t.Errorf("port 2124: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "predict", "--config", conf, "--connect", "127.0.0.2")
	if code != ExitOK || !strings.Contains(out, "server:  <VirtualHost 127.0.0.2> at "+conf+":3") || !strings.Contains(out, "chosen:  ") {
		t.Errorf("text output does not name the server and the choice:\n%s", out)
	}
}

// TestPredictMainServerUnreachable: with Port 0 the main server takes no
// connection; predict says so and predicts for the server that takes
// 127.0.0.1, listing the candidates.
func TestPredictMainServerUnreachable(t *testing.T) {
	conf := predictConf(t, "Port 0\nCapabilitiesSet +CAP_FOWNER\n<VirtualHost 127.0.0.1>\n  Port 2131\n  CapabilitiesSet +CAP_DAC_OVERRIDE\n</VirtualHost>\n")
	got := predictJSONOf(t, "--config", conf)
	if !strings.HasPrefix(fmt.Sprint(got["server"]), "<VirtualHost 127.0.0.1>") || got["permitted"] != "00000000000004c3" ||
		!strings.Contains(fmt.Sprint(got["server_choice"]), "the main server takes no connections (Port 0 at "+conf+":1)") ||
		fmt.Sprint(got["candidates"]) != "[127.0.0.1:2131 reaches <VirtualHost 127.0.0.1> at "+conf+":3]" {
		t.Errorf("%v", got)
	}
	code, out, _ := run(t, "predict", "--config", conf)
	if code != ExitOK || !strings.Contains(out, "- 127.0.0.1:2131 reaches <VirtualHost 127.0.0.1>") {
		t.Errorf("text output lacks the candidate:\n%s", out)
	}
}

// TestPredictClientClass: --client decides the <Class> for <IfClass>;
// --class forces one.
func TestPredictClientClass(t *testing.T) {
	conf := predictConf(t, "LoadModule mod_ifsession.c\n<Class inside>\n  From 10.0.0.0/8\n</Class>\n<IfClass inside>\n  CapabilitiesSet +CAP_FOWNER\n</IfClass>\n")
	for _, c := range []struct {
		flags       []string
		class, perm string
	}{
		{nil, "", "00000000000004c1"},
		{[]string{"--client", "10.1.2.3"}, "inside", "00000000000004c9"},
		{[]string{"--client", "::ffff:10.1.2.3"}, "inside", "00000000000004c9"},
		{[]string{"--client", "192.0.2.1"}, "", "00000000000004c1"},
		{[]string{"--client", "192.0.2.1", "--class", "inside"}, "inside", "00000000000004c9"},
	} {
		got := predictJSONOf(t, append([]string{"--config", conf}, c.flags...)...)
		if got["class"] != c.class || got["permitted"] != c.perm {
			t.Errorf("%v: class %v permitted %v, want %q %s", c.flags, got["class"], got["permitted"], c.class, c.perm)
		}
	}
}

// TestPredictHost: HOST switches to the <VirtualHost> whose ServerAlias
// names it, and mod_cap is re-initialised for it.
func TestPredictHost(t *testing.T) {
	conf := predictConf(t, "Port 2141\n<VirtualHost 127.0.0.1>\n  Port 2141\n  ServerAlias ftp.example.test\n  CapabilitiesEngine off\n</VirtualHost>\n")
	got := predictJSONOf(t, "--config", conf, "--connect", "127.0.0.1:2141")
	if got["server"] != "the main server" || got["engine"] != true {
		t.Errorf("without HOST: %v %v", got["server"], got["engine"])
	}
	for _, h := range []string{"ftp.example.test", "nosuch.test,ftp.example.test"} {
		got = predictJSONOf(t, "--config", conf, "--connect", "127.0.0.1:2141", "--host", h)
		if !strings.HasPrefix(fmt.Sprint(got["server"]), "<VirtualHost 127.0.0.1>") || got["engine"] != false {
			t.Errorf("--host %s: %v %v", h, got["server"], got["engine"])
		}
	}
}

// TestPredictAnonymous: --user anonymous logs in through UserAlias and
// the <Anonymous> User, found in the configuration's AuthUserFile.
func TestPredictAnonymous(t *testing.T) {
	conf := predictConf(t, "RequireValidShell off\nAuthOrder mod_auth_file.c\nAuthUserFile @DIR@/passwd\nAuthGroupFile @DIR@/group\n<Anonymous @DIR@>\n  User ftpguest\n  Group ftpguest\n  UserAlias anonymous ftpguest\n  RootRevoke off\n</Anonymous>\n")
	dir := filepath.Dir(conf)
	os.WriteFile(filepath.Join(dir, "passwd"), []byte("ftpguest:x:2345:2345::"+dir+":/bin/false\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "group"), []byte("ftpguest:x:2345:\n"), 0o644)
	got := predictJSONOf(t, "--config", conf, "--user", "anonymous")
	u, _ := got["uids"].(map[string]any)
	if got["refused"] != false || got["user"] != "ftpguest" || u["effective"] != 2345.0 {
		t.Fatalf("%v", got)
	}
	// A user that no auth module knows is refused, as proftpd does.
	got = predictJSONOf(t, "--config", conf, "--user", "nobody-here")
	if got["refused"] != true || !strings.Contains(fmt.Sprint(got["reason"]), "no auth module") {
		t.Errorf("unknown user: %v", got)
	}
}

// TestPredictRefusedLogin: a refused login is "login refused" with the
// deciding line, exit 0; --json has "refused": true and the reason.
func TestPredictRefusedLogin(t *testing.T) {
	conf := predictConf(t, "CapabilitiesSet +CAP_FOWNER\n<Limit LOGIN>\n  Order allow,deny\n  Allow from 10.0.0.0/8\n  Deny from all\n</Limit>\n")
	code, out, errs := run(t, "predict", "--config", conf, "--client", "192.0.2.9")
	if code != ExitOK || !strings.Contains(out, "login refused at connect:\n") || !strings.Contains(out, "deciding line: "+conf+":") ||
		strings.Contains(out, "CapPrm") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	got := predictJSONOf(t, "--config", conf, "--client", "192.0.2.9")
	if got["refused"] != true || got["reason"] == "" || !strings.HasPrefix(fmt.Sprint(got["refused_line"]), conf+":") {
		t.Errorf("%v", got)
	}
	got = predictJSONOf(t, "--config", conf, "--client", "10.9.9.9")
	if got["refused"] != false || got["permitted"] != "00000000000004c9" {
		t.Errorf("allowed client: %v", got)
	}
	code, out, _ = run(t, "predict", "--config", conf, "--user", "root", "--client", "10.9.9.9")
	if code != ExitOK || !strings.Contains(out, "login refused at PASS:\n  530 Login incorrect: proftpd refuses root logins") {
		t.Errorf("root without RootLogin: exit %d\n%s", code, out)
	}
}
