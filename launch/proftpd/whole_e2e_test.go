package proftpd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"captune/capset"
	"captune/capset/modcap"
)

// The whole-file end-to-end tests run configurations whose reduced copy
// (the decisive lines alone, as verify ran them before) behaves
// differently from the whole file, and check that the session verify
// observes is the real file's: its sets and uids are what real proftpd
// 1.3.8 recorded for a configuration of the same shape (the research
// vectors named with each case), and the prediction for the same
// configuration and login agrees.

// wholeBase is a configuration's start as a production file has it:
// nothing of it names the run's folder, and the files it would write
// are the real server's (verify must redirect them).
const wholeBase = `ServerType standalone
UseIPv6 off
UseReverseDNS off
User nobody
Group nogroup
PidFile /run/proftpd.pid
ScoreboardFile /run/proftpd.scoreboard
TransferLog /var/log/xferlog
WtmpLog on
`

// wholeAuth is the file's own user database.
const wholeAuth = `AuthUserFile {DIR}/passwd
AuthGroupFile {DIR}/group
AuthOrder mod_auth_file.c
`

// wholeUser is one entry of the file's AuthUserFile.
type wholeUser struct {
	name     string
	uid, gid uint32
	groups   []string // primary first
	shell    string   // default /bin/sh
}

// wholeCase is one configuration verify runs whole.
type wholeCase struct {
	name, vector string
	conf         string // {DIR} is the folder with the file and its users
	users        []wholeUser
	extra        map[string]string // more files in {DIR} ({DIR} expanded)
	dirs         []string          // folders made in {DIR}
	login        string
	connect      string
	client       string
	hosts        []string
	// What real proftpd did (the vector's observation).
	refused  bool
	at       string
	prm, eff capset.Set
	uids     [3]uint32
}

var alice = wholeUser{"alice", 1000, 1000, []string{"alice"}, ""}

var wholeCases = []wholeCase{
	{
		name: "a VirtualHost takes the connection", vector: "f7-vhost-own-port-any-addr",
		conf: wholeBase + "DefaultAddress 127.0.0.1\nPort 2120\n<Global>\n" + wholeAuth + "</Global>\n" +
			"<VirtualHost 127.0.0.2>\n  Port 2121\n  CapabilitiesSet +CAP_FOWNER\n</VirtualHost>\n",
		users: []wholeUser{alice}, login: "alice", connect: "127.0.0.1:2121",
		prm: 0x4c9, uids: [3]uint32{1000, 1000, 1000},
	},
	{
		name: "a Global inside a VirtualHost applies to the main server", vector: "f3-vhost-global-userowner-main",
		conf: wholeBase + wholeAuth + "DefaultAddress 127.0.0.1\nPort 2120\n<VirtualHost 127.0.0.2>\n  Port 2120\n" +
			"  <Global>\n    <Directory /srv/captune-e2e/shared>\n      UserOwner ftp\n    </Directory>\n  </Global>\n</VirtualHost>\n",
		users: []wholeUser{alice}, login: "alice", connect: "127.0.0.1:2120",
		prm: 0x200004c1, eff: 0x200004c1, uids: [3]uint32{1000, 1000, 1000},
	},
	{
		name: "an IfClass merged at connect beats an IfUser", vector: "f4-ifclass-rootrevoke-vs-ifuser",
		conf: wholeBase + wholeAuth + "LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\n" +
			"<Class loop>\n  From 127.0.0.1\n</Class>\n<IfUser alice>\n  RootRevoke on\n  CapabilitiesSet +CAP_FSETID\n</IfUser>\n" +
			"<IfClass loop>\n  RootRevoke off\n  CapabilitiesSet +CAP_FOWNER\n</IfClass>\n",
		users: []wholeUser{alice}, login: "alice",
		prm: 0x4d1, eff: 0x4d1, uids: [3]uint32{1000, 1000, 1000},
	},
	{
		name: "the first Class defined that the client satisfies", vector: "f4-class-first-defined-wins",
		conf: wholeBase + wholeAuth + "LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\n" +
			"<Class wide>\n  From 127.0.0.0/8\n</Class>\n<Class exact>\n  From 127.0.0.2\n</Class>\n" +
			"<IfClass exact>\n  CapabilitiesSet +CAP_FOWNER\n</IfClass>\n<IfClass wide>\n  CapabilitiesSet +CAP_DAC_READ_SEARCH\n</IfClass>\n",
		users: []wholeUser{alice}, login: "alice", client: "127.0.0.2",
		prm: 0x4c5, uids: [3]uint32{1000, 1000, 1000},
	},
	{
		name: "root, listed in /etc/ftpusers, is refused although RootLogin is on", vector: "f10-root-login-ftpusers",
		conf:  wholeBase + wholeAuth + "LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\nRootLogin on\n",
		users: []wholeUser{{"root", 0, 0, []string{"root"}, ""}}, login: "root",
		refused: true, at: "PASS",
	},
	{
		name: "a user /etc/ftpusers lists is refused", vector: "f10-ftpusers-listed-user",
		conf:  wholeBase + wholeAuth + "LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\n",
		users: []wholeUser{{"games", 1500, 1500, []string{"games"}, ""}}, login: "games",
		refused: true, at: "PASS",
	},
	{
		name: "root with RootLogin on and UseFtpUsers off keeps uid 0", vector: "f9-root-login-on",
		conf:  wholeBase + wholeAuth + "DefaultAddress 127.0.0.1\nPort 2120\nRootLogin on\nUseFtpUsers off\n",
		users: []wholeUser{{"root", 0, 0, []string{"root"}, ""}}, login: "root",
		prm: 0x200004c1, eff: 0x200004c1, uids: [3]uint32{0, 0, 0},
	},
	{
		name: "the file's AuthUserFile shadows this machine's user", vector: "f9-authuserfile-shadows-system-user",
		conf: wholeBase + "AuthUserFile {DIR}/passwd\nAuthGroupFile {DIR}/group\nAuthOrder mod_auth_file.c mod_auth_unix.c\n" +
			"DefaultAddress 127.0.0.1\nPort 2120\n",
		users: []wholeUser{{"ftp", 1005, 1005, []string{"ftpgrp"}, ""}}, login: "ftp",
		prm: 0x200004c1, uids: [3]uint32{1005, 1005, 1005},
	},
	{
		name: "a UserOwner in a Directory that does not exist", vector: "v-dir-nonexistent-userowner",
		conf:  wholeBase + wholeAuth + "DefaultAddress 127.0.0.1\nPort 2120\n<Directory /nonexistent/captune-e2e/abs>\n  UserOwner ftp\n</Directory>\n",
		users: []wholeUser{alice}, login: "alice",
		prm: 0x200004c1, eff: 0x200004c1, uids: [3]uint32{1000, 1000, 1000},
	},
	{
		name: "HOST switches to a VirtualHost", vector: "f8-host-switch-capset",
		conf: wholeBase + "LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\nServerName main\n<Global>\n" + wholeAuth + "</Global>\n" +
			"<VirtualHost 127.0.0.1>\n  Port 2120\n  ServerName vhost-a\n  ServerAlias a.example\n  CapabilitiesSet +CAP_FOWNER\n</VirtualHost>\n" +
			"<VirtualHost 127.0.0.1>\n  Port 2120\n  ServerName vhost-b\n  ServerAlias b.example\n  CapabilitiesSet +CAP_FSETID\n  RootRevoke off\n</VirtualHost>\n",
		users: []wholeUser{alice}, login: "alice", connect: "127.0.0.1:2120", hosts: []string{"a.example"},
		prm: 0x4c9, uids: [3]uint32{1000, 1000, 1000},
	},
	{
		name: "HOST to a VirtualHost forgets the main server's CapabilitiesEngine off", vector: "f8-host-resets-main-engine-off",
		conf: wholeBase + "DefaultAddress 127.0.0.1\nPort 2120\nServerName main\nCapabilitiesEngine off\n<Global>\n" + wholeAuth + "</Global>\n" +
			"<VirtualHost 127.0.0.1>\n  Port 2120\n  ServerName vhost-a\n  ServerAlias a.example\n</VirtualHost>\n",
		users: []wholeUser{alice}, login: "alice", connect: "127.0.0.1:2120", hosts: []string{"a.example"},
		prm: 0x20000400, eff: 0x20000400, uids: [3]uint32{1000, 1000, 1000},
	},
	{
		// The server reached by HOST authenticates with its own user
		// file (f8-host-vhost-without-auth: the new server's auth
		// settings apply), where alice has uid 2000.
		name: "HOST to a VirtualHost with a user file of its own", vector: "f8-host-switch-capset, f8-host-vhost-without-auth",
		conf: wholeBase + wholeAuth + "LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\n" +
			"<VirtualHost 127.0.0.1>\n  Port 2120\n  ServerAlias a.example\n  AuthUserFile {DIR}/passwd.vhost\n  AuthOrder mod_auth_file.c\n  CapabilitiesSet +CAP_FOWNER\n</VirtualHost>\n",
		users: []wholeUser{alice}, extra: map[string]string{"passwd.vhost": "alice:*:2000:2000::{DIR}/home/alice:/bin/sh\n"},
		login: "alice", hosts: []string{"a.example"},
		prm: 0x4c9, uids: [3]uint32{2000, 2000, 2000},
	},
	{
		// Without HOST the main server keeps its own address and port
		// (f7-namevhost-same-addr-main-keeps): alice is its uid 1000.
		name: "a named VirtualHost on the main server's address leaves it the connection", vector: "f7-namevhost-same-addr-main-keeps",
		conf: wholeBase + wholeAuth + "LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\n" +
			"<VirtualHost 127.0.0.1>\n  Port 2120\n  ServerAlias a.example\n  AuthUserFile {DIR}/passwd.vhost\n  AuthOrder mod_auth_file.c\n  CapabilitiesSet +CAP_FOWNER\n</VirtualHost>\n",
		users: []wholeUser{alice}, extra: map[string]string{"passwd.vhost": "alice:*:2000:2000::{DIR}/home/alice:/bin/sh\n"},
		login: "alice",
		prm:   0x200004c1, uids: [3]uint32{1000, 1000, 1000},
	},
	{
		name: "an IfGroup on supplementary groups from the file's AuthGroupFile", vector: "f9-supplementary-group-ifgroup",
		conf: wholeBase + wholeAuth + "LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\n" +
			"<IfGroup staff,nope>\n  CapabilitiesSet +CAP_DAC_READ_SEARCH\n</IfGroup>\n<IfGroup staff,ops>\n  CapabilitiesSet +CAP_FOWNER\n</IfGroup>\n",
		users: []wholeUser{{"alice", 1000, 1000, []string{"alice", "staff", "ops"}, ""}}, login: "alice",
		prm: 0x4c9, uids: [3]uint32{1000, 1000, 1000},
	},
	{
		name: "a Limit LOGIN DenyGroup on a supplementary group refuses", vector: "f10-limit-login-denygroup-supplementary",
		conf: wholeBase + wholeAuth + "LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\n" +
			"<Limit LOGIN>\n  DenyGroup staff\n</Limit>\n",
		users: []wholeUser{{"alice", 1000, 1000, []string{"alice", "staff"}, ""}}, login: "alice",
		refused: true, at: "PASS",
	},
	{
		// RequireValidShell is on by default: the prediction needs the
		// user's shell, so it looks the user up in the run's files.
		name: "a shell /etc/shells does not list refuses", vector: "(RequireValidShell, proftpd's default)",
		conf:  wholeBase + wholeAuth + "DefaultAddress 127.0.0.1\nPort 2120\n",
		users: []wholeUser{{"alice", 1000, 1000, []string{"alice"}, "/usr/sbin/nologin"}}, login: "alice",
		refused: true, at: "PASS",
	},
	{
		// The session runs as the <Anonymous> User, this machine's ftp
		// (uid 103 where the vector was recorded; ftpUID here).
		name: "an anonymous login runs as the Anonymous User", vector: "f9-anonymous-ftp",
		conf: wholeBase + "AuthUserFile {DIR}/passwd\nAuthGroupFile {DIR}/group\nAuthOrder mod_auth_file.c mod_auth_unix.c\n" +
			"LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 2120\n" +
			"<Anonymous {DIR}/anon>\n  User ftp\n  Group nogroup\n  UserAlias anonymous ftp\n  RequireValidShell off\n</Anonymous>\n",
		users: []wholeUser{alice}, dirs: []string{"anon"}, login: "anonymous",
		prm: 0x200004c1, uids: [3]uint32{ftpUID, ftpUID, ftpUID},
	},
	{
		name: "a Limit LOGIN DenyAll refuses at connect", vector: "f10-limit-login-denyall-connect",
		conf:  wholeBase + wholeAuth + "DefaultAddress 127.0.0.1\nPort 2120\n<Limit LOGIN>\n  DenyAll\n</Limit>\n",
		users: []wholeUser{alice}, login: "alice",
		refused: true, at: "banner",
	},
	{
		name: "a Limit LOGIN Deny from the client's address refuses at connect", vector: "f10-limit-login-deny-ip",
		conf:  wholeBase + wholeAuth + "DefaultAddress 127.0.0.1\nPort 2120\n<Limit LOGIN>\n  Order allow,deny\n  Deny from 127.0.0.2\n</Limit>\n",
		users: []wholeUser{alice}, login: "alice", client: "127.0.0.2",
		refused: true, at: "banner",
	},
}

// ftpUID stands for this machine's ftp user in a case's uids.
const ftpUID = 1<<32 - 2

// writeWholeCase writes a case's configuration and user files into a
// folder of their own and reads the configuration as verify --config
// does.
func writeWholeCase(t *testing.T, bin string, c wholeCase) *modcap.Config {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-whole-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The login user passes through it to its home.
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	var pw, gr strings.Builder
	for _, u := range c.users {
		home := filepath.Join(dir, "home", u.name)
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(home, int(u.uid), int(u.gid)); err != nil {
			t.Fatal(err)
		}
		shell := u.shell
		if shell == "" {
			shell = "/bin/sh"
		}
		fmt.Fprintf(&pw, "%s:*:%d:%d::%s:%s\n", u.name, u.uid, u.gid, home, shell)
		fmt.Fprintf(&gr, "%s:x:%d:\n", u.groups[0], u.gid)
		for i, g := range u.groups[1:] {
			fmt.Fprintf(&gr, "%s:x:%d:%s\n", g, 5000+i, u.name)
		}
	}
	for _, d := range c.dirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"passwd": pw.String(), "group": gr.String(), "proftpd.conf": c.conf}
	for name, content := range c.extra {
		files[name] = content
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(content, "{DIR}", dir)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mods, err := Modules(bin)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := modcap.ReadFile(filepath.Join(dir, "proftpd.conf"), modcap.Options{Modules: mods})
	if err != nil {
		t.Fatalf("%v\n%s", err, c.conf)
	}
	return cfg
}

// neverChanged are directives a whole-file run must leave as written.
var neverChanged = []string{"UseFtpUsers", "RootLogin", "Port", "DefaultAddress", "SocketBindTight", "UserOwner",
	"<Directory>", "<VirtualHost>", "<Class>", "From", "ServerAlias", "CapabilitiesSet", "CapabilitiesEngine", "RootRevoke"}

// TestE2EWholeFile runs each case whole through Verify: the observed
// session is the one real proftpd recorded for the shape, the prediction
// for the configuration that ran agrees (match), and the changes are the
// run's own files only.
func TestE2EWholeFile(t *testing.T) {
	bin := needProftpd(t)
	if b, err := os.ReadFile("/etc/ftpusers"); err != nil || !slices.Contains(strings.Fields(string(b)), "root") || !slices.Contains(strings.Fields(string(b)), "games") {
		t.Fatalf("these cases need /etc/ftpusers listing root and games, as Debian's does (%v)", err)
	}
	for _, c := range wholeCases {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeWholeCase(t, bin, c)
			rep, err := Verify(context.Background(), Spec{Bin: bin, Config: cfg, User: c.login, Connect: c.connect,
				Client: c.client, Hosts: c.hosts, TempDir: runDir(t)})
			if err != nil {
				t.Fatalf("%v\n%s", err, c.conf)
			}
			uids := c.uids
			if uids[0] == ftpUID {
				u, err := user.Lookup("ftp")
				if err != nil {
					t.Fatalf("this case needs the system user ftp (Debian's proftpd package makes it): %v", err)
				}
				n, _ := strconv.Atoi(u.Uid)
				uids = [3]uint32{uint32(n), uint32(n), uint32(n)}
				c.uids = uids
			}
			ob := rep.Observed
			t.Logf("%s: observed refused %v at %s (%s), CapPrm %s CapEff %s uids %v; transcript %q", c.vector, ob.Refused, ob.At, ob.Reply,
				ob.Permitted.Hex(), ob.Effective.Hex(), ob.UIDs, ob.Transcript)
			switch {
			case c.refused:
				if !ob.Refused || ob.At != c.at {
					t.Errorf("observed: refused %v at %q (%s), want refused at %s as in %s", ob.Refused, ob.At, ob.Reply, c.at, c.vector)
				}
			case ob.Refused:
				t.Errorf("observed: refused at %s (%s), want a session as in %s", ob.At, ob.Reply, c.vector)
			default:
				if ob.Permitted != c.prm || ob.Effective != c.eff || ob.UIDs != c.uids || ob.Inheritable != 0 || ob.Ambient != 0 || ob.Bounding != rep.MasterBounding {
					t.Errorf("observed CapPrm %s CapEff %s CapInh %s CapAmb %s uids %v, want %s %s 0 0 %v (%s)",
						ob.Permitted.Hex(), ob.Effective.Hex(), ob.Inheritable.Hex(), ob.Ambient.Hex(), ob.UIDs, c.prm.Hex(), c.eff.Hex(), c.uids, c.vector)
				}
			}
			if noted := slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "logged the login in as another account") }); noted != (c.login == "anonymous") {
				t.Errorf("notes %q: the note on another account must come exactly when the session runs as one", rep.Notes)
			}
			if !rep.Match {
				t.Errorf("verify says the session differs from the prediction: %q\nprediction: server %q, refused %v (%s), reasons %q",
					rep.Differences, rep.Predicted.Server, rep.Predicted.Refused, rep.Predicted.Why, rep.Predicted.Reasons)
			}
			for _, ch := range rep.Changes {
				if slices.Contains(neverChanged, ch.Directive) {
					t.Errorf("changed %s: %s", ch.Directive, ch)
				}
			}
			if ch := rep.Changes; !slices.ContainsFunc(ch, func(c Change) bool { return c.Directive == "PidFile" && c.Was == "PidFile /run/proftpd.pid" }) {
				t.Errorf("the file's PidFile is not listed as changed: %v", ch)
			}
		})
	}
}

// TestE2EWholeFileWritesNothingOutside runs a whole file that names the
// real server's files, and a HOST to a <VirtualHost> that has none of its
// own (it inherits none: proftpd's defaults /var/log/wtmp and
// /var/log/xferlog would be used), in a private mount namespace whose
// /run and /var/log hold only empty /run/proftpd.pid, /run/proftpd.scoreboard,
// /var/log/wtmp and /var/log/xferlog: after the run they are still empty
// and nothing else is there.
func TestE2EWholeFileWritesNothingOutside(t *testing.T) {
	bin := needProftpd(t)
	if os.Getenv("CAPTUNE_OUTSIDE_CHILD") == "1" {
		outsideChild(t, bin)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestE2EWholeFileWritesNothingOutside$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "CAPTUNE_OUTSIDE_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "outside: checked") {
		t.Fatalf("the run in a private mount namespace: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func outsideChild(t *testing.T, bin string) {
	for _, d := range []string{"/run", "/var/log"} {
		if err := syscall.Mount("captune-test", d, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=0755"); err != nil {
			t.Fatalf("mounting an empty %s: %v", d, err)
		}
	}
	// proftpd appends to an existing wtmp but does not create one: the
	// real machine's files are there, empty, to be written to.
	existing := []string{"/var/log/wtmp", "/var/log/xferlog", "/run/proftpd.pid", "/run/proftpd.scoreboard"}
	for _, p := range existing {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf := "ServerType standalone\nUseIPv6 off\nUseReverseDNS off\nUser nobody\nGroup nogroup\n" +
		"LoadModule mod_ifsession.c\nDefaultAddress 127.0.0.1\nPort 21\n" +
		"PidFile /run/proftpd.pid\nPidFile /run/second.pid\nSystemLog /var/log/proftpd/proftpd.log\nExtendedLog /var/log/proftpd/ext.log ALL\n" +
		"TransferLog /var/log/proftpd/xferlog\nWtmpLog on\nDelayTable /run/proftpd.delay\n" +
		"<IfModule mod_ctrls.c>\n  ControlsEngine on\n  ControlsLog /var/log/proftpd/controls.log\n</IfModule>\n" +
		"<Global>\n" + wholeAuth + "</Global>\n" +
		"<VirtualHost 127.0.0.1>\n  Port 21\n  ServerAlias a.example\n</VirtualHost>\n"
	c := wholeCase{conf: conf, users: []wholeUser{alice}}
	cfg := writeWholeCase(t, bin, c)
	rep, err := Verify(context.Background(), Spec{Bin: bin, Config: cfg, User: "alice", Hosts: []string{"a.example"}, TempDir: runDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Observed.Refused {
		t.Fatalf("refused: %s %q", rep.Observed.Reply, rep.Observed.Transcript)
	}
	// v-defaults-bare-host: after HOST to a server with no mod_cap line
	// the session keeps CAP_NET_BIND_SERVICE and CAP_AUDIT_WRITE in
	// effect.
	if ob := rep.Observed; ob.Permitted != 0x20000400 || ob.Effective != 0x20000400 || !rep.Match {
		t.Errorf("observed CapPrm %s CapEff %s, want 0000000020000400 for both; match %v %q", ob.Permitted.Hex(), ob.Effective.Hex(), rep.Match, rep.Differences)
	}
	var written []string
	for _, d := range []string{"/run", "/var/log"} {
		filepath.Walk(d, func(p string, fi os.FileInfo, err error) error {
			if p != d && !(slices.Contains(existing, p) && fi.Size() == 0) {
				written = append(written, p+" ("+strconv.FormatInt(fi.Size(), 10)+" bytes)")
			}
			return nil
		})
	}
	if len(written) > 0 {
		t.Fatalf("the run wrote outside its folder: %s", strings.Join(written, ", "))
	}
	fmt.Printf("outside: checked /run and /var/log after a session (PID %d, CapPrm %s): nothing written\n", rep.Observed.PID, rep.Observed.Permitted.Hex())
}
