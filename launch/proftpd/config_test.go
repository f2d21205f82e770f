package proftpd

import (
	"reflect"
	"strings"
	"testing"

	"captune/capset"
	"captune/capset/modcap"
)

func mustRead(t *testing.T, text string) *modcap.Config {
	t.Helper()
	cfg, err := modcap.ReadString("/x/proftpd.conf", text, modcap.Options{Modules: append([]string{"mod_ifsession.c"}, modcap.DebianModules...)})
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return cfg
}

func TestDecisive(t *testing.T) {
	in := `ServerName "x"
Port 21
ModulePath /usr/lib/proftpd
LoadModule mod_ifsession.c
CapabilitiesEngine on
CapabilitiesSet +CAP_FOWNER -CAP_CHOWN
MaxInstances 30
<IfModule mod_cap.c>
  CapabilitiesRootRevoke off
</IfModule>
<IfModule mod_nope.c>
  CapabilitiesEngine off
</IfModule>
<Directory /srv/ftp>
  AllowOverwrite on
  UserOwner ftp
  <Limit WRITE>
    DenyAll
  </Limit>
</Directory>
<Directory /srv/other>
  AllowOverwrite on
</Directory>
<Anonymous /srv/anon>
  User ftp
  RootLogin off
</Anonymous>
<IfUser alice, bob>
  CapabilitiesEngine off
  MaxClients 3
</IfUser>
<IfGroup ftpusers>
  RootRevoke off
</IfGroup>
<IfClass local>
  DisplayLogin x
</IfClass>
<Global>
  Umask 022
  RootLogin off
  <IfUser carol>
    CapabilitiesSet -CAP_SETUID
  </IfUser>
</Global>
<VirtualHost 127.0.0.2>
  CapabilitiesSet +CAP_FSETID
  <Directory /srv/v>
    UserOwner ftp
  </Directory>
</VirtualHost>
`
	want := `ModulePath /usr/lib/proftpd
LoadModule mod_ifsession.c
CapabilitiesEngine on
CapabilitiesSet +CAP_FOWNER -CAP_CHOWN
CapabilitiesRootRevoke off
<Directory /srv/ftp>
  UserOwner ftp
</Directory>
<Anonymous /srv/anon>
  RootLogin off
</Anonymous>
<IfUser alice, bob>
  CapabilitiesEngine off
</IfUser>
<IfGroup ftpusers>
  RootRevoke off
</IfGroup>
<Global>
  RootLogin off
  <IfUser carol>
    CapabilitiesSet -CAP_SETUID
  </IfUser>
</Global>
`
	got := Decisive(mustRead(t, in))
	if got != want {
		t.Fatalf("Decisive:\n%s\nwant:\n%s", got, want)
	}
	// The decisive lines predict the same session as the whole file, for
	// every login the sections tell apart.
	master := capset.Set(0x1fffeffffff)
	for _, l := range []modcap.Login{
		{User: "alice", UID: 1000}, {User: "dave", UID: 1001, Groups: []string{"ftpusers"}},
		{User: "carol", UID: 1002}, {User: "root", UID: 0}, {User: "eve", UID: 1003, Class: "local"},
	} {
		a := modcap.Predict(modcap.Input{Config: mustRead(t, in), Login: l, MasterPermitted: master, MasterBounding: master})
		b := modcap.Predict(modcap.Input{Config: mustRead(t, got), Login: l, MasterPermitted: master, MasterBounding: master})
		if a.Permitted != b.Permitted || a.Effective != b.Effective || a.UIDs != b.UIDs || a.Refused != b.Refused {
			t.Errorf("%s: whole file %s/%s %v, decisive lines %s/%s %v", l.User, a.Permitted.Hex(), a.Effective.Hex(), a.UIDs, b.Permitted.Hex(), b.Effective.Hex(), b.UIDs)
		}
	}
	if Decisive(nil) != "" || Decisive(mustRead(t, "Port 21\n<VirtualHost 10.0.0.1>\nRootRevoke off\n</VirtualHost>\n")) != "" {
		t.Error("nothing decisive should give no lines")
	}
}

// TestQuoteArg checks that quoted arguments read back as the same words.
func TestQuoteArg(t *testing.T) {
	for _, args := range [][]string{
		{"/srv/ftp"}, {"/srv/my ftp"}, {`/a"b`}, {`/back\slash`}, {"/#hash", "#x"}, {"/a#b"}, {"/tab\there", "x"}, {"/", ""},
	} {
		text := "<Directory " + quoteArgs(args) + ">\nUserOwner " + quoteArgs(args) + "\n</Directory>\n"
		cfg, err := modcap.ReadString("/x", text, modcap.Options{})
		if err != nil {
			t.Fatalf("%q: %v\n%s", args, err, text)
		}
		dir := cfg.Top[0]
		if !reflect.DeepEqual(dir.Args, args) || !reflect.DeepEqual(dir.Children[0].Args, args) {
			t.Errorf("%q read back as %q / %q", args, dir.Args, dir.Children[0].Args)
		}
	}
}

func TestTokenDirectives(t *testing.T) {
	toks, err := modcap.ParseTokens([]string{"-cap_chown", "+CAP_FOWNER"})
	if err != nil {
		t.Fatal(err)
	}
	if got := TokenDirectives(toks); got != "CapabilitiesSet -CAP_CHOWN +CAP_FOWNER\n" {
		t.Errorf("got %q", got)
	}
	if TokenDirectives(nil) != "" {
		t.Error("no tokens should give no line")
	}
}

func TestBaseConfigReads(t *testing.T) {
	text := baseConfig("/tmp/captune-verify-1/private", 40000, "nogroup")
	cfg, err := modcap.ReadString("/tmp/captune-verify-1/private/proftpd.conf", text, modcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if Decisive(cfg) != "" {
		t.Errorf("the base configuration has decisive lines: %q", Decisive(cfg))
	}
	for _, want := range []string{"Port 40000\n", "SocketBindTight on\n", "DefaultAddress 127.0.0.1\n", "AuthOrder mod_auth_file.c\n", "TransferLog NONE\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("base configuration lacks %q", want)
		}
	}
}

func TestFatalLines(t *testing.T) {
	out := "Checking syntax of configuration file\n" +
		"2026-11-28 19:10:35,055 vm proftpd[13303]: fatal: unknown configuration directive 'FooBar' on line 1 of '/x.conf'\n" +
		"2026-11-28 19:10:35,055 vm proftpd[13303]: fatal: Did you mean:\n  Foo\n"
	if got := fatalLines(out); got != "fatal: unknown configuration directive 'FooBar' on line 1 of '/x.conf'" {
		t.Errorf("got %q", got)
	}
	if got := fatalLines("  something else\n"); got != "something else" {
		t.Errorf("got %q", got)
	}
}

func TestNewAccount(t *testing.T) {
	a, err := NewAccount("")
	if err != nil || a.Name != DefaultUser {
		t.Fatalf("%+v %v", a, err)
	}
	if !a.System && (a.UID != VirtualID || a.GID != VirtualID || !reflect.DeepEqual(a.Groups, []string{DefaultUser})) {
		t.Errorf("virtual account %+v", a)
	}
	r, err := NewAccount("root")
	if err != nil || !r.System || r.UID != 0 || r.GID != 0 || r.Groups[0] != "root" {
		t.Errorf("root: %+v %v", r, err)
	}
	if !strings.HasPrefix(r.groupFile(), "root:x:0:root\n") {
		t.Errorf("root's group file %q", r.groupFile())
	}
	for _, bad := range []string{"a:b", "x y", "-rf", "a\nb", strings.Repeat("a", 33), "ü"} {
		if _, err := NewAccount(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCompare(t *testing.T) {
	p := modcap.Prediction{Permitted: 0x200004c1, Bounding: 0xff, UIDs: [3]uint32{7, 7, 7}}
	o := Observed{Permitted: 0x200004c1, Bounding: 0xff, UIDs: [3]uint32{7, 7, 7}}
	if d := Compare(p, o); d != nil {
		t.Errorf("equal sets differ: %v", d)
	}
	o.Effective, o.Permitted, o.UIDs = 0x4c1, 0x4c1, [3]uint32{0, 7, 0}
	want := []string{
		"CapPrm: predicted 00000000200004c1, observed 00000000000004c1 (observed lacks cap_audit_write)",
		"CapEff: predicted 0000000000000000, observed 00000000000004c1 (observed also holds cap_chown,cap_setgid,cap_setuid,cap_net_bind_service)",
		"uids: predicted 7/7/7, observed 0/7/0 (real/effective/saved)",
	}
	if d := Compare(p, o); !reflect.DeepEqual(d, want) {
		t.Errorf("got %q\nwant %q", d, want)
	}
	if d := Compare(modcap.Prediction{Refused: true, Why: "no"}, Observed{Refused: true}); d != nil {
		t.Errorf("both refused: %v", d)
	}
	// Refused in another phase is a difference; an unknown phase is not.
	if d := Compare(modcap.Prediction{Refused: true, RefusedAt: "connect", Why: "DenyAll"}, Observed{Refused: true, At: "PASS", Reply: "530"}); len(d) != 1 || !strings.Contains(d[0], "predicted refused at connect (DenyAll), observed refused at login (530)") {
		t.Errorf("phases: %q", d)
	}
	if d := Compare(modcap.Prediction{Refused: true, RefusedAt: "after PASS"}, Observed{Refused: true, At: "PASS"}); d != nil {
		t.Errorf("same phase: %q", d)
	}
	if d := Compare(modcap.Prediction{Refused: true, RefusedAt: "connect"}, Observed{Refused: true, At: "banner"}); d != nil {
		t.Errorf("same phase: %q", d)
	}
	if d := Compare(modcap.Prediction{Refused: true, Why: "no root"}, Observed{}); len(d) != 1 || !strings.Contains(d[0], "predicted refused (no root), observed logged in") {
		t.Errorf("%v", d)
	}
	if d := Compare(modcap.Prediction{}, Observed{Refused: true, Reply: "530 Login incorrect."}); len(d) != 1 || !strings.Contains(d[0], "observed refused (530 Login incorrect.)") {
		t.Errorf("%v", d)
	}
}
