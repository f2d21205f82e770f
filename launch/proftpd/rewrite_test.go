package proftpd

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"captune/capset"
	"captune/capset/modcap"
)

// fakeSystem is a machine for planning: a few users, groups, hosts, and
// user files given as text.
func fakeSystem(files map[string]string) *system {
	return &system{
		passwd: []pwEntry{
			{Name: "root", UID: 0, GID: 0, Home: "/root", Shell: "/bin/bash"},
			{Name: "ftp", UID: 103, GID: 65534, Home: "/srv/ftp", Shell: "/usr/sbin/nologin"},
			{Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice", Shell: "/bin/bash"},
		},
		group: []grEntry{
			{Name: "root", GID: 0}, {Name: "nogroup", GID: 65534}, {Name: "alice", GID: 1000},
			{Name: "staff", GID: 50, Members: []string{"alice"}},
		},
		hosts:    map[string][]netip.Addr{"localhost": {netip.MustParseAddr("127.0.0.1")}, "files.example": {netip.MustParseAddr("192.0.2.9")}, "vm": {netip.MustParseAddr("127.0.1.1")}},
		shells:   []string{"/bin/sh", "/bin/bash"},
		hostname: "vm",
		readAuthFile: func(path string, user, insecure bool) ([]byte, error) {
			c, ok := files[path]
			if !ok {
				return nil, &errAuthFile{"No such file or directory"}
			}
			return []byte(c), nil
		},
		isDir: func(path string) bool { return path == "/home/alice" || path == "/root" },
	}
}

const privateDir = "/run-private"

func planFor(t *testing.T, text, user string, files map[string]string, mod ...func(*planInput)) (*plan, error) {
	t.Helper()
	cfg, err := modcap.ReadString("/etc/proftpd/test.conf", text, modcap.Options{})
	if err != nil {
		t.Fatalf("reading the test configuration: %v\n%s", err, text)
	}
	in := planInput{cfg: cfg, private: privateDir, home: "/run-home", user: user, hash: "$6$salt$HASH", sys: fakeSystem(files)}
	for _, m := range mod {
		m(&in)
	}
	return makePlan(in)
}

func mustPlan(t *testing.T, text, user string, files map[string]string, mod ...func(*planInput)) *plan {
	t.Helper()
	p, err := planFor(t, text, user, files, mod...)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return p
}

// reread reads the configuration that runs, as proftpd would.
func reread(t *testing.T, p *plan) *modcap.Config {
	t.Helper()
	cfg, err := modcap.ReadString(privateDir+"/proftpd.conf", p.text, modcap.Options{})
	if err != nil {
		t.Fatalf("the run's configuration does not read back: %v\n%s", err, p.text)
	}
	return cfg
}

// serverLines are the plain directives of each server's own level in the
// run's configuration (the main server first), with <Global> contents.
func serverLines(cfg *modcap.Config) (servers [][]*modcap.Node, global []*modcap.Node) {
	main := []*modcap.Node{}
	var vhosts [][]*modcap.Node
	for _, n := range cfg.Top {
		switch {
		case n.Section && n.Is("<VirtualHost>"):
			var own []*modcap.Node
			for _, c := range n.Children {
				if c.Section && c.Is("<Global>") {
					global = append(global, c.Children...)
				} else if !c.Section {
					own = append(own, c)
				}
			}
			vhosts = append(vhosts, own)
		case n.Section && n.Is("<Global>"):
			global = append(global, n.Children...)
		case !n.Section:
			main = append(main, n)
		}
	}
	return append([][]*modcap.Node{main}, vhosts...), global
}

func count(ns []*modcap.Node, name string) int {
	c := 0
	for _, n := range ns {
		if n.Is(name) {
			c++
		}
	}
	return c
}

const outsideConf = `ServerName "outside"
PidFile /run/proftpd.pid
PidFile /run/second.pid
ScoreboardFile /run/proftpd.scoreboard
SystemLog /var/log/proftpd/proftpd.log
TransferLog /var/log/proftpd/xferlog
WtmpLog on
DelayTable /run/proftpd.delay
ExtendedLog /var/log/proftpd/ext.log ALL default
UseLastlog on
ControlsEngine on
ControlsLog /var/log/proftpd/controls.log
<Anonymous /srv/ftp>
  User ftp
  TransferLog /var/log/proftpd/anon.xferlog
  WtmpLog yes
</Anonymous>
<Global>
  ServerLog /var/log/proftpd/server.log
</Global>
<VirtualHost 192.0.2.7>
  Port 2121
  ExtendedLog syslog:info
</VirtualHost>
`

// TestPlanOutsideFiles: every file the run would write outside its
// folder is replaced wherever it appears (first- and last-counting
// directives alike), the ones proftpd's defaults would write are added
// (to each <VirtualHost> too, which inherits none), WtmpLog and
// UseLastlog are off, and each change is listed with its line.
func TestPlanOutsideFiles(t *testing.T) {
	p := mustPlan(t, outsideConf, "", nil)
	for _, real := range []string{"/run/", "/var/log", "syslog:"} {
		for i, l := range strings.Split(p.text, "\n") {
			if strings.Contains(l, real) {
				t.Errorf("line %d still names %s: %s", i+1, real, l)
			}
		}
	}
	cfg := reread(t, p)
	servers, global := serverLines(cfg)
	for i, own := range servers {
		top := append(append([]*modcap.Node(nil), own...), global...)
		if count(top, "TransferLog") == 0 || count(top, "WtmpLog") == 0 {
			t.Errorf("server %d has no TransferLog or WtmpLog of its own: proftpd's default would write /var/log/xferlog and /var/log/wtmp", i)
		}
		for _, n := range top {
			if (n.Is("WtmpLog") || n.Is("UseLastlog")) && isOn(n.Args) {
				t.Errorf("server %d: %s %v", i, n.Name, n.Args)
			}
		}
	}
	main := servers[0]
	for _, want := range []string{"PidFile", "ScoreboardFile", "DelayTable", "ControlsSocket"} {
		if count(main, want) == 0 {
			t.Errorf("main server lacks %s", want)
		}
	}
	for _, n := range main {
		if n.Is("PidFile") && n.Args[0] != privateDir+"/proftpd.pid" {
			t.Errorf("PidFile %v: both lines must name the one private file (the last counts)", n.Args)
		}
	}
	if p.pidFile != privateDir+"/proftpd.pid" || !slices.Equal(p.logs, []string{privateDir + "/systemlog"}) {
		t.Errorf("pid file %q, logs %q", p.pidFile, p.logs)
	}
	byLine := map[int]Change{}
	added := 0
	for _, c := range p.changes {
		if c.Pos.Line == 0 {
			added++
			if c.Was != "" || c.Now == "" || c.Why == "" {
				t.Errorf("added change %+v", c)
			}
			continue
		}
		if c.Pos.File != "/etc/proftpd/test.conf" || c.Was == "" || c.Now == "" || c.Why == "" {
			t.Errorf("change %+v", c)
		}
		byLine[c.Pos.Line] = c
	}
	for line, want := range map[int]string{
		2: "PidFile " + privateDir + "/proftpd.pid", 3: "PidFile " + privateDir + "/proftpd.pid",
		7: "WtmpLog off", 9: "ExtendedLog " + privateDir + "/extendedlog ALL default", 10: "UseLastlog off",
		15: "TransferLog " + privateDir + "/transferlog.2", 16: "WtmpLog off", 19: "ServerLog " + privateDir + "/serverlog",
		23: "ExtendedLog " + privateDir + "/extendedlog.2",
	} {
		if c := byLine[line]; c.Now != want {
			t.Errorf("line %d: changed to %q, want %q", line, c.Now, want)
		}
	}
	if c := byLine[19]; c.Server != "<Global>" {
		t.Errorf("the Global's line is listed for %q", c.Server)
	}
	// Added: ControlsSocket, and TransferLog/WtmpLog (+ auth lines) for
	// the vhost.
	var vhostAdds []string
	for _, c := range p.changes {
		if c.Pos.Line == 0 && c.Server == "<VirtualHost 192.0.2.7>" {
			vhostAdds = append(vhostAdds, c.Directive)
		}
	}
	for _, want := range []string{"TransferLog", "WtmpLog", "AuthUserFile", "AuthOrder"} {
		if !slices.Contains(vhostAdds, want) {
			t.Errorf("nothing added to the vhost for %s (added: %v)", want, vhostAdds)
		}
	}
}

// TestPlanKeepsTheFile: apart from the listed changes and additions, the
// run's configuration is the file itself, line by line, in the same
// sections and order; UseFtpUsers, RootLogin, <Class>, <Directory>,
// <Limit>, Port and addresses are untouched.
func TestPlanKeepsTheFile(t *testing.T) {
	text := `LoadModule mod_ifsession.c
ServerName "keep me"
Port 2121
DefaultAddress 127.0.0.1
SocketBindTight on
UseFtpUsers on
RootLogin off
<Class local>
  From 127.0.0.0/8
</Class>
<IfClass local>
  CapabilitiesSet +CAP_FOWNER
</IfClass>
<IfUser alice>
  RootRevoke off
  <Directory /does/not/exist>
    Umask 022
  </Directory>
</IfUser>
<Directory /does/not/exist>
  UserOwner ftp
  <Limit WRITE>
    DenyAll
  </Limit>
</Directory>
<Limit LOGIN>
  DenyUser bob
</Limit>
<Global>
  CapabilitiesSet -CAP_CHOWN
  TransferLog /var/log/xferlog
</Global>
<VirtualHost 127.0.0.2 192.0.2.7>
  Port 2122
  ServerAlias files.example
  <Global>
    RootRevoke on
  </Global>
</VirtualHost>
`
	p := mustPlan(t, text, "alice", nil)
	orig, err := modcap.ReadString("/etc/proftpd/test.conf", text, modcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := reread(t, p)
	changed := map[int]bool{}
	for _, c := range p.changes {
		changed[c.Pos.Line] = true
	}
	// Drop what captune added; compare the rest with the original.
	var strip func(ns []*modcap.Node) []*modcap.Node
	strip = func(ns []*modcap.Node) []*modcap.Node {
		var out []*modcap.Node
		for _, n := range ns {
			if o := p.origin[n.Pos.Line-1]; o.Line == 0 {
				continue
			}
			c := *n
			c.Pos = p.origin[n.Pos.Line-1]
			c.Children = strip(n.Children)
			out = append(out, &c)
		}
		return out
	}
	var compare func(a, b []*modcap.Node, path string)
	compare = func(a, b []*modcap.Node, path string) {
		if len(a) != len(b) {
			t.Errorf("%s: %d lines run, %d written", path, len(a), len(b))
			return
		}
		for i := range a {
			x, y := a[i], b[i]
			if x.Name != y.Name || x.Pos != y.Pos {
				t.Errorf("%s[%d]: %s at %s runs where %s at %s is written", path, i, x.Name, x.Pos, y.Name, y.Pos)
				continue
			}
			if !slices.Equal(x.Args, y.Args) && !changed[y.Pos.Line] {
				t.Errorf("%s: %s %q runs as %q, and no change says so", y.Pos, y.Name, y.Args, x.Args)
			}
			compare(x.Children, y.Children, path+"/"+y.Name)
		}
	}
	compare(strip(got.Top), orig.Top, "")
	for _, c := range p.changes {
		for _, never := range []string{"UseFtpUsers", "RootLogin", "Port", "DefaultAddress", "SocketBindTight", "UserOwner", "<Directory>", "From", "ServerAlias"} {
			if c.Directive == never {
				t.Errorf("changed %s: %+v", never, c)
			}
		}
	}
	if slices.Contains(p.addrs, netip.MustParseAddr("127.0.0.2")) || !slices.Contains(p.addrs, netip.MustParseAddr("192.0.2.7")) {
		t.Errorf("addresses for lo: %v (loopback ones are there already; 192.0.2.7 is needed)", p.addrs)
	}
}

// TestPlanAuth: the test user is whoever the server's user databases
// find first, with the run's password; AuthOrder puts the private file
// first and keeps the rest; AuthOrder stays single per server.
func TestPlanAuth(t *testing.T) {
	users := "# comment\nbob:$6$x$y:1001:1001::/home/bob:/bin/sh\nalice:$6$orig$hash:1005:1005::/srv/alice:/bin/sh\ncarol:*:1002:1002::/:/bin/sh\n"
	groups := "ftpgrp:x:1005:\nteam:x:2000:carol,alice\n"
	files := map[string]string{"/etc/proftpd/ftpd.passwd": users, "/etc/proftpd/ftpd.group": groups}
	auth := "AuthUserFile /etc/proftpd/ftpd.passwd\nAuthGroupFile /etc/proftpd/ftpd.group\n"

	t.Run("file user", func(t *testing.T) {
		p := mustPlan(t, auth+"AuthOrder mod_auth_file.c mod_auth_unix.c\n", "alice", files)
		a := p.account
		if a.UID != 1005 || a.GID != 1005 || a.Home != "/srv/alice" || !slices.Equal(a.Groups, []string{"ftpgrp", "team"}) || a.System {
			t.Errorf("account %+v", a)
		}
		copyPath := privateDir + "/passwd"
		want := "# comment\nbob:$6$x$y:1001:1001::/home/bob:/bin/sh\nalice:$6$salt$HASH:1005:1005::/srv/alice:/bin/sh\ncarol:*:1002:1002::/:/bin/sh\n"
		if p.files[copyPath] != want {
			t.Errorf("private copy:\n%s\nwant:\n%s", p.files[copyPath], want)
		}
		if strings.Contains(p.text, "ftpd.passwd") || !strings.Contains(p.text, "AuthGroupFile /etc/proftpd/ftpd.group") {
			t.Errorf("the user file must be the copy, the group file the original:\n%s", p.text)
		}
		if strings.Contains(p.text, "AuthOrder mod_auth_file.c mod_auth_unix.c\n") == false {
			t.Errorf("AuthOrder already had mod_auth_file.c first: it stays\n%s", p.text)
		}
	})
	t.Run("system first", func(t *testing.T) {
		// The system's module comes first here: production finds this
		// machine's alice (uid 1000), and so must the run.
		p := mustPlan(t, auth+"AuthOrder mod_auth_unix.c mod_auth_file.c*\n", "alice", files)
		if a := p.account; a.UID != 1000 || !a.System || !slices.Equal(a.Groups, []string{"alice", "staff"}) || a.Home != "/home/alice" {
			t.Errorf("account %+v", a)
		}
		copy := p.files[privateDir+"/passwd"]
		if strings.Contains(copy, ":1005:") || !strings.Contains(copy, "alice:$6$salt$HASH:1000:1000::/home/alice:/bin/bash") || !strings.Contains(copy, "bob:") {
			t.Errorf("private copy:\n%s", copy)
		}
		if !strings.Contains(p.text, "AuthOrder mod_auth_file.c* mod_auth_unix.c\n") {
			t.Errorf("AuthOrder:\n%s", p.text)
		}
		// mod_auth_file now answers for alice's groups: the private group
		// file starts with this machine's groups of hers.
		g := p.files[privateDir+"/group"]
		if !strings.HasPrefix(g, "alice:x:1000:alice\nstaff:x:50:alice\n") || !strings.Contains(g, "team:x:2000:carol\n") {
			t.Errorf("private group file:\n%s", g)
		}
	})
	t.Run("default order", func(t *testing.T) {
		p := mustPlan(t, auth, "bob", files)
		if !strings.Contains(p.text, "AuthOrder mod_auth_file.c mod_auth_pam.c mod_auth_unix.c\n") {
			t.Errorf("added AuthOrder:\n%s", p.text)
		}
		cfg := reread(t, p)
		servers, global := serverLines(cfg)
		if n := count(append(servers[0], global...), "AuthOrder"); n != 1 {
			t.Errorf("%d AuthOrder lines (proftpd refuses a second)", n)
		}
	})
	t.Run("system user not in the chain", func(t *testing.T) {
		// Only mod_auth_file: this machine's ftp is unknown to the
		// server, so the run must not invent it.
		p := mustPlan(t, auth+"AuthOrder mod_auth_file.c\n", "ftp", files)
		if p.files[privateDir+"/passwd"] != "" || strings.Contains(p.text, "ftp:") {
			t.Errorf("ftp was added:\n%v", p.files)
		}
		if len(p.notes) == 0 || !strings.Contains(p.notes[0], "does not know the user ftp") {
			t.Errorf("notes %q", p.notes)
		}
	})
	t.Run("virtual", func(t *testing.T) {
		p := mustPlan(t, "<VirtualHost 127.0.0.2>\n</VirtualHost>\n", "", files)
		a := p.account
		if a.Name != DefaultUser || a.UID != VirtualID || a.Home != "/run-home" || !slices.Equal(a.Groups, []string{DefaultUser}) {
			t.Errorf("account %+v", a)
		}
		if p.files[privateDir+"/passwd"] != "captune:$6$salt$HASH:64123:64123::/run-home:/bin/sh\n" {
			t.Errorf("passwd %q", p.files[privateDir+"/passwd"])
		}
		if strings.Count(p.text, "AuthUserFile "+privateDir+"/passwd\n") != 2 || strings.Count(p.text, "AuthGroupFile "+privateDir+"/group\n") != 2 {
			t.Errorf("each server needs the user:\n%s", p.text)
		}
	})
	t.Run("shadowed file untouched", func(t *testing.T) {
		// Only the first AuthUserFile of a server counts; the second is
		// never read at login and stays as written.
		p := mustPlan(t, auth+"AuthUserFile /etc/proftpd/other.passwd\n", "alice", map[string]string{
			"/etc/proftpd/ftpd.passwd": users, "/etc/proftpd/ftpd.group": groups, "/etc/proftpd/other.passwd": "alice:x:7:7::/:/bin/sh\n"})
		if !strings.Contains(p.text, "AuthUserFile /etc/proftpd/other.passwd\n") || p.account.UID != 1005 {
			t.Errorf("account %+v\n%s", p.account, p.text)
		}
	})
	t.Run("refused files", func(t *testing.T) {
		_, err := planFor(t, "AuthUserFile /etc/proftpd/missing\n", "alice", files)
		var me *modcap.Error
		if !errors.As(err, &me) || me.Pos.Line != 1 || me.Text != "AuthUserFile: unable to use /etc/proftpd/missing: No such file or directory" {
			t.Errorf("missing file: %v", err)
		}
		_, err = planFor(t, "AuthUserFile relative\n", "alice", files)
		if !errors.As(err, &me) || !strings.Contains(me.Text, "unable to use relative path") {
			t.Errorf("relative: %v", err)
		}
	})
	t.Run("CreateHome", func(t *testing.T) {
		p := mustPlan(t, auth+"CreateHome on\n", "alice", files)
		if p.account.Home != "/run-home" || !strings.Contains(p.files[privateDir+"/passwd"], "alice:$6$salt$HASH:1005:1005::/run-home:/bin/sh") || len(p.notes) == 0 {
			t.Errorf("account %+v notes %q", p.account, p.notes)
		}
	})
}

// TestReadAuthFile: the permission checks proftpd makes when it parses
// AuthUserFile/AuthGroupFile, and captune's own (a regular file of an
// allowed owner).
func TestReadAuthFile(t *testing.T) {
	dir := t.TempDir()
	me := []uint32{uint32(os.Getuid())}
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("a:x:1:1::/:/bin/sh\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		path     string
		user     bool
		insecure bool
		want     string
	}{
		{write("ok", 0o600), true, false, ""},
		{write("world-readable", 0o644), true, false, "Operation not permitted"},
		{write("group-world-readable", 0o644), false, false, ""},
		{write("world-writable", 0o602), false, false, "Operation not permitted"},
		{write("insecure", 0o644), true, true, ""},
		{filepath.Join(dir, "missing"), true, false, "No such file or directory"},
		{dir, true, false, "Is a directory"},
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		path     string
		user     bool
		insecure bool
		want     string
	}{fifo, true, false, "not a regular file"})
	for _, c := range cases {
		_, err := readAuthFile(c.path, c.user, c.insecure, me)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if (c.want == "") != (err == nil) || !strings.Contains(got, c.want) {
			t.Errorf("%s (user file %v): %q, want %q", filepath.Base(c.path), c.user, got, c.want)
		}
	}
	if _, err := readAuthFile(write("theirs", 0o600), true, false, []uint32{12345}); err == nil || !strings.Contains(err.Error(), "owned by an untrusted user") {
		t.Errorf("a file of another owner: %v", err)
	}
}

// TestPlanRefusals: effects a throwaway run cannot contain are refused
// with the line that has them; the same modules with their engines off,
// as Debian loads them, are not.
func TestPlanRefusals(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"ServerType inetd\n", "ServerType inetd"},
		{"LoadModule mod_exec.c\nExecEngine on\nExecOnConnect /bin/true\n", "ExecOnConnect runs a program"},
		{"LoadModule mod_sql.c\nSQLConnectInfo db@host u p\n", "database"},
		{"LoadModule mod_radius.c\nRadiusEngine on\n", "RADIUS"},
		{"LoadModule mod_mystery.c\n", "does not know what mod_mystery.c does"},
		{"TLSEngine on\n", "mod_tls"},
		{"LoadModule mod_rewrite.c\nRewriteEngine on\nRewriteMap lower fifo:/run/rewrite.fifo\n", "FIFO"},
		{"LoadModule mod_ratio.c\nSaveRatios on\n", "mod_ratio writes"},
		{"LoadModule mod_ldap.c\nLDAPUsers ou=people,dc=example\n", "mod_ldap is configured (LDAPUsers)"},
		{"<VirtualHost 127.0.0.2>\n  SFTPEngine on\n</VirtualHost>\n", "mod_sftp"},
		{"LoadModule mod_wrap2.c\nWrapTables sql:/a sql:/b\n", "database"},
	} {
		text := c.text
		_, err := planFor(t, text, "", nil, func(in *planInput) {})
		var ue *UnfaithfulError
		if !errors.As(err, &ue) || !strings.Contains(ue.Why, c.want) || ue.Pos.Line == 0 {
			t.Errorf("%q: %v, want a refusal naming %q at its line", text, err, c.want)
		}
	}
	for _, ok := range []string{
		"LoadModule mod_exec.c\nExecEngine on\n",
		"LoadModule mod_exec.c\nExecOnConnect /bin/true\n",
		"LoadModule mod_radius.c\nRadiusEngine off\nLoadModule mod_quotatab.c\nQuotaEngine off\n",
		"ServerType standalone\n",
	} {
		if _, err := planFor(t, ok, "", nil); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// TestPlanNetwork: where the client connects by default and with
// --connect, from where, and which addresses lo needs.
func TestPlanNetwork(t *testing.T) {
	for _, c := range []struct {
		text, connect, client string
		target, from          string
		err                   string
	}{
		{"", "", "", "127.0.1.1:21", "127.0.0.1", ""},
		{"DefaultAddress 192.0.2.5\nPort 2121\n", "", "", "192.0.2.5:2121", "127.0.0.1", ""},
		{"DefaultAddress files.example\n<Global>\n  Port 2200\n</Global>\n", "", "", "192.0.2.9:2200", "127.0.0.1", ""},
		{"Port 21\nPort 2121\n", "", "", "127.0.1.1:21", "127.0.0.1", ""},
		{"Port 0\n<VirtualHost 127.0.0.2>\nPort 2121\n</VirtualHost>\n", "", "", "", "", "the main server takes no connections (Port 0 at /etc/proftpd/test.conf:1)"},
		{"Port 0\n<VirtualHost 127.0.0.2>\nPort 2121\n</VirtualHost>\n", "127.0.0.2", "", "127.0.0.2:2121", "127.0.0.1", ""},
		{"<VirtualHost files.example>\nPort 2121\n</VirtualHost>\n", "files.example", "10.1.2.3", "192.0.2.9:2121", "10.1.2.3", ""},
		{"", "[::1]:2121", "", "[::1]:2121", "::1", ""},
		{"", "127.0.0.1:99999", "", "", "", "bad port"},
		{"", "nowhere.invalid", "", "", "", "not an address, nor a name in /etc/hosts"},
		{"", "127.0.0.1", "::1", "", "", "different families"},
	} {
		p, err := planFor(t, c.text, "", nil, func(in *planInput) { in.connect, in.client = c.connect, c.client })
		if c.err != "" {
			if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q --connect %q: %v, want %q", c.text, c.connect, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if p.target.String() != c.target || p.client.String() != c.from {
			t.Errorf("%q --connect %q --client %q: %s from %s, want %s from %s", c.text, c.connect, c.client, p.target, p.client, c.target, c.from)
		}
	}
	p := mustPlan(t, "DefaultAddress 192.0.2.5\n<VirtualHost files.example 127.0.0.3>\n</VirtualHost>\n", "", nil, func(in *planInput) { in.client = "10.0.0.1" })
	if want := []netip.Addr{netip.MustParseAddr("192.0.2.5"), netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("10.0.0.1")}; !slices.Equal(p.addrs, want) {
		t.Errorf("addresses %v, want %v", p.addrs, want)
	}
}

// TestPlanTokens: tokens become each server's first CapabilitiesSet.
func TestPlanTokens(t *testing.T) {
	text := "CapabilitiesSet +CAP_FOWNER\n<VirtualHost 127.0.0.2>\n</VirtualHost>\n"
	p := mustPlan(t, text, "", nil, func(in *planInput) {
		in.tokens = []modcap.Token{{Add: false, Cap: capset.Setuid}}
	})
	cfg := reread(t, p)
	servers, _ := serverLines(cfg)
	for i, own := range servers {
		var caps []string
		for _, n := range own {
			if n.Is("CapabilitiesSet") {
				caps = append(caps, strings.Join(n.Args, " "))
			}
		}
		if len(caps) == 0 || caps[0] != "-CAP_SETUID" {
			t.Errorf("server %d: CapabilitiesSet lines %q", i, caps)
		}
	}
}

// TestMapConfigError: proftpd's complaint about the run's copy names the
// user's file and line; one about a line captune changed is the run's
// fault, not the file's.
func TestMapConfigError(t *testing.T) {
	s := &Server{ConfigPath: "/p/proftpd.conf",
		origin:  []modcap.Pos{{}, {File: "/etc/a.conf", Line: 7}, {File: "/etc/inc.conf", Line: 2}},
		changed: []bool{true, false, true}}
	err := s.mapConfigError(&ConfigError{Message: "fatal: unknown configuration directive 'Foo' on line 2 of '/p/proftpd.conf'"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Message != "fatal: unknown configuration directive 'Foo' on line 7 of '/etc/a.conf'" {
		t.Errorf("got %v", err)
	}
	err = s.mapConfigError(&ConfigError{Message: "fatal: TransferLog: bad on line 3 of '/p/proftpd.conf'"})
	var ue *UnfaithfulError
	if !errors.As(err, &ue) || !strings.Contains(ue.Why, "on line 2 of '/etc/inc.conf'") {
		t.Errorf("got %v", err)
	}
}

func TestProcNetAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:0015":                         "127.0.0.1:21",
		"0202000A:0845":                         "10.0.2.2:2117",
		"00000000000000000000000001000000:0016": "[::1]:22",
		"0000000000000000FFFF00000100007F:0015": "127.0.0.1:21",
	} {
		got, ok := procNetAddr(in)
		if !ok || got.String() != want {
			t.Errorf("%s: %s %v, want %s", in, got, ok, want)
		}
	}
	if _, ok := procNetAddr("zz:1"); ok {
		t.Error("bad hex accepted")
	}
}

// TestPlanHostAccount: after HOST, the test user is the account of the
// <VirtualHost> whose ServerAlias the name is, when that server has a
// user file of its own; a name no alias has leaves the server reached.
func TestPlanHostAccount(t *testing.T) {
	files := map[string]string{
		"/etc/proftpd/main.passwd":  "alice:x:1000:1000::/home/alice:/bin/sh\n",
		"/etc/proftpd/vhost.passwd": "alice:x:2000:2000::/home/alice:/bin/sh\n",
	}
	text := "AuthUserFile /etc/proftpd/main.passwd\nAuthOrder mod_auth_file.c\nDefaultAddress 127.0.0.1\nPort 2120\n" +
		"<VirtualHost 127.0.0.1>\n  Port 2120\n  ServerAlias a.example\n  AuthUserFile /etc/proftpd/vhost.passwd\n  AuthOrder mod_auth_file.c\n</VirtualHost>\n"
	for _, c := range []struct {
		hosts []string
		uid   uint32
	}{{nil, 1000}, {[]string{"A.example"}, 2000}, {[]string{"nosuch.example"}, 1000}} {
		p := mustPlan(t, text, "alice", files, func(in *planInput) { in.hosts = c.hosts })
		if p.account.UID != c.uid {
			t.Errorf("HOST %q: account %+v, want uid %d", c.hosts, p.account, c.uid)
		}
	}
}

// TestPlanDNSNote: a file that judges clients by DNS name gets a note
// (the run's network has no DNS); addresses, networks and keywords do
// not.
func TestPlanDNSNote(t *testing.T) {
	for text, want := range map[string]bool{
		"<Class web>\n  From *.example.com\n</Class>\n":                            true,
		"<Limit LOGIN>\n  Order allow,deny\n  Allow from .example.com\n</Limit>\n": true,
		"<Class loop>\n  From 127.0.0.0/8\n</Class>\n":                             false,
		"<Limit LOGIN>\n  Deny from all\n</Limit>\n":                               false,
		"<Limit LOGIN>\n  Allow from 10.0.0.1, !10.0.0.2\n</Limit>\n":              false,
		"<Limit LOGIN>\n  Allow from ::1\n</Limit>\n":                              false,
	} {
		p := mustPlan(t, text, "", nil)
		got := slices.ContainsFunc(p.notes, func(n string) bool { return strings.Contains(n, "no DNS") })
		if got != want {
			t.Errorf("%q: DNS note %v, want %v (notes %q)", text, got, want, p.notes)
		}
	}
}

// TestPlanAuthOrderInGlobal: an AuthOrder in a <Global> reaches every
// server: it is changed there, once, and no server gets a second one
// (proftpd refuses a second AuthOrder).
func TestPlanAuthOrderInGlobal(t *testing.T) {
	text := "<Global>\n  AuthOrder mod_auth_unix.c\n</Global>\n<VirtualHost 127.0.0.2>\n</VirtualHost>\n"
	p := mustPlan(t, text, "alice", nil)
	if n := strings.Count(p.text, "AuthOrder "); n != 1 || !strings.Contains(p.text, "  AuthOrder mod_auth_file.c mod_auth_unix.c\n") {
		t.Errorf("%d AuthOrder lines:\n%s", n, p.text)
	}
	changed := 0
	for _, c := range p.changes {
		if c.Directive == "AuthOrder" {
			changed++
			if c.Pos.Line != 2 || c.Server != "<Global>" {
				t.Errorf("change %+v", c)
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d AuthOrder changes: %+v", changed, p.changes)
	}
}
