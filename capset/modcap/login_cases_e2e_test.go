package modcap

import "testing"

// The families of issue 11, each on configurations written for these
// tests, logged in against the real proftpd and compared with Predict.

var carol = loginUser{"carol", 1002, 1002, []string{"carol", "staff", "web"}}

// TestE2ELoginGlobals: family 1, several <Global> blocks.
func TestE2ELoginGlobals(t *testing.T) {
	checkLogins(t, []loginCase{
		{name: "two-globals-capset", conf: "Port @PORT0@\n@AUTH@<Global>\n  CapabilitiesSet +CAP_FOWNER\n</Global>\n<Global>\n  CapabilitiesSet +CAP_DAC_OVERRIDE\n</Global>\n"},
		{name: "three-globals-engine-rootrevoke", conf: "Port @PORT0@\n@AUTH@<Global>\n  CapabilitiesEngine off\n</Global>\n<Global>\n  RootRevoke off\n  CapabilitiesSet +CAP_FSETID\n</Global>\n<Global>\n  CapabilitiesEngine on\n  RootRevoke on\n</Global>\n"},
		{name: "server-line-vs-global", conf: "Port @PORT0@\n@AUTH@<Global>\n  CapabilitiesSet +CAP_FOWNER\n  CapabilitiesRootRevoke off\n</Global>\nCapabilitiesSet -CAP_CHOWN\n"},
	})
}

// TestE2ELoginIfUserVsGlobal: family 2, <IfUser>/<IfGroup> at server
// level against copies inside <Global>, both matching.
func TestE2ELoginIfUserVsGlobal(t *testing.T) {
	checkLogins(t, []loginCase{
		{name: "server-ifuser-vs-global-ifuser", conf: "Port @PORT0@\n@AUTH@<IfUser alice>\n  CapabilitiesSet +CAP_FOWNER\n</IfUser>\n<Global>\n  <IfUser alice>\n    CapabilitiesSet +CAP_DAC_OVERRIDE\n  </IfUser>\n</Global>\n"},
		{name: "server-ifgroup-vs-global-ifuser-rootrevoke", users: []loginUser{carol}, login: "carol",
			conf: "Port @PORT0@\n@AUTH@<IfGroup web>\n  RootRevoke off\n  CapabilitiesSet +CAP_FSETID\n</IfGroup>\n<Global>\n  <IfUser carol>\n    RootRevoke on\n    CapabilitiesRootRevoke off\n  </IfUser>\n</Global>\n"},
		{name: "two-server-ifusers", conf: "Port @PORT0@\n@AUTH@<IfUser alice>\n  CapabilitiesEngine off\n</IfUser>\n<IfUser alice>\n  CapabilitiesEngine on\n  CapabilitiesSet +CAP_DAC_READ_SEARCH\n</IfUser>\n"},
	})
}

// TestE2ELoginNestedGlobal: family 3, a <Global> inside a <VirtualHost>
// applies to every server, the main one included; a UserOwner in it.
func TestE2ELoginNestedGlobal(t *testing.T) {
	checkLogins(t, []loginCase{
		{name: "vhost-global-reaches-main", conf: "Port @PORT0@\n@AUTH@<VirtualHost 127.0.0.1>\n  Port @PORT1@\n  @VBASE@\n  <Global>\n    CapabilitiesSet +CAP_FOWNER\n  </Global>\n</VirtualHost>\n"},
		{name: "main-global-before-vhost-global", conf: "Port @PORT0@\n@AUTH@<VirtualHost 127.0.0.1>\n  Port @PORT1@\n  @VBASE@\n  <Global>\n    CapabilitiesSet +CAP_FOWNER\n  </Global>\n</VirtualHost>\n<Global>\n  CapabilitiesSet +CAP_DAC_OVERRIDE\n</Global>\n", connect: "127.0.0.1:@PORT1@"},
		{name: "vhost-global-userowner", mkdir: []string{"pub"}, conf: "Port @PORT0@\n@AUTH@<VirtualHost 127.0.0.1>\n  Port @PORT1@\n  @VBASE@\n  <Global>\n    <Directory @DIR@/pub>\n      UserOwner alice\n    </Directory>\n  </Global>\n</VirtualHost>\nCapabilitiesSet +CAP_FOWNER\n"},
	})
}

// TestE2ELoginIfClass: family 4, <IfClass> from the file's <Class>
// definitions and the client's address, merged at connect.
func TestE2ELoginIfClass(t *testing.T) {
	classes := "<Class lo2>\n  From 127.0.0.2\n</Class>\n<Class loopnet>\n  From 127.0.0.0/8\n</Class>\n"
	body := "Port @PORT0@\n@AUTH@" + classes + "<IfClass lo2>\n  CapabilitiesSet +CAP_FOWNER\n  RootRevoke off\n</IfClass>\n<IfClass loopnet>\n  CapabilitiesSet +CAP_DAC_OVERRIDE\n</IfClass>\n<IfUser alice>\n  RootRevoke on\n  CapabilitiesSet +CAP_FSETID\n</IfUser>\n"
	checkLogins(t, []loginCase{
		{name: "class-exact-address", conf: body, client: "127.0.0.2"},
		{name: "class-network", conf: body, client: "127.0.0.3"},
		{name: "class-satisfy-all", client: "127.0.0.5", conf: "Port @PORT0@\n@AUTH@<Class both>\n  From 127.0.0.0/8\n  From 10.0.0.0/8\n  Satisfy all\n</Class>\n<Class any>\n  From 127.0.0.5\n</Class>\n<IfClass both>\n  CapabilitiesEngine off\n</IfClass>\n<IfClass any>\n  CapabilitiesSet +CAP_FOWNER\n</IfClass>\n"},
		{name: "class-engine-off-vs-ifuser", client: "127.0.0.2", conf: "Port @PORT0@\n@AUTH@" + classes + "<IfClass lo2>\n  CapabilitiesEngine off\n</IfClass>\n<IfUser alice>\n  CapabilitiesEngine on\n  CapabilitiesSet +CAP_FOWNER\n</IfUser>\n"},
	})
}

// TestE2ELoginIfAuthenticated: family 5, merged after a successful
// login, before <IfGroup> and <IfUser>.
func TestE2ELoginIfAuthenticated(t *testing.T) {
	checkLogins(t, []loginCase{
		{name: "ifauth-capset", conf: "Port @PORT0@\n@AUTH@<IfAuthenticated>\n  CapabilitiesSet +CAP_FOWNER\n</IfAuthenticated>\nCapabilitiesSet +CAP_DAC_OVERRIDE\n"},
		{name: "ifauth-rootrevoke-vs-ifuser", conf: "Port @PORT0@\n@AUTH@<IfUser alice>\n  RootRevoke on\n</IfUser>\n<IfAuthenticated>\n  RootRevoke off\n  CapabilitiesRootRevoke off\n</IfAuthenticated>\n"},
	})
}

// TestE2ELoginDirectory: family 6, a <Directory> in a matching section
// replaces the server's, so its UserOwner no longer counts.
func TestE2ELoginDirectory(t *testing.T) {
	checkLogins(t, []loginCase{
		{name: "userowner-keeps-root", mkdir: []string{"pub"}, conf: "Port @PORT0@\n@AUTH@<Directory @DIR@/pub>\n  UserOwner alice\n</Directory>\n"},
		{name: "ifuser-directory-replaces", mkdir: []string{"pub"}, conf: "Port @PORT0@\n@AUTH@<IfUser alice>\n  <Directory @DIR@/pub>\n    AllowOverwrite on\n  </Directory>\n</IfUser>\n<Global>\n  <Directory @DIR@/pub>\n    UserOwner alice\n  </Directory>\n</Global>\n"},
		// proftpd refuses to start: "<Directory> section already
		// configured"; the prediction must refuse at start too.
		{name: "server-directory-before-ifuser-rejected", mkdir: []string{"pub"}, conf: "Port @PORT0@\n@AUTH@<Directory @DIR@/pub>\n  UserOwner alice\n</Directory>\n<IfUser alice>\n  <Directory @DIR@/pub>\n    AllowOverwrite on\n  </Directory>\n</IfUser>\n"},
		{name: "ifuser-before-server-directory", mkdir: []string{"pub"}, conf: "Port @PORT0@\n@AUTH@<IfUser alice>\n  <Directory @DIR@/pub>\n    AllowOverwrite on\n  </Directory>\n</IfUser>\n<Directory @DIR@/pub>\n  UserOwner alice\n</Directory>\n"},
		{name: "ifgroup-directory-other-path", mkdir: []string{"pub", "pub2"}, users: []loginUser{carol}, login: "carol", conf: "Port @PORT0@\n@AUTH@<IfGroup staff>\n  <Directory @DIR@/pub2>\n    AllowOverwrite on\n  </Directory>\n</IfGroup>\n<Global>\n  <Directory @DIR@/pub>\n    UserOwner carol\n  </Directory>\n</Global>\n"},
	})
}

// TestE2ELoginServerChoice: family 7, the server a connection reaches.
func TestE2ELoginServerChoice(t *testing.T) {
	vh := func(addr, port, capset string) string {
		return "<VirtualHost " + addr + ">\n  Port " + port + "\n  @VBASE@\n  @AUTH@  CapabilitiesSet " + capset + "\n</VirtualHost>\n"
	}
	checkLogins(t, []loginCase{
		{name: "port0-main-vhost-takes", conf: "Port 0\n@AUTH@CapabilitiesSet +CAP_FOWNER\n" + vh("127.0.0.1", "@PORT1@", "+CAP_DAC_OVERRIDE"), connect: "127.0.0.1:@PORT1@"},
		{name: "defaultserver-takes-unbound", conf: "Port @PORT0@\nDefaultServer on\n@AUTH@CapabilitiesSet +CAP_FOWNER\n" + vh("127.0.0.2", "@PORT0@", "+CAP_DAC_OVERRIDE"), connect: "127.0.0.3:@PORT0@"},
		{name: "vhost-by-address", conf: "Port @PORT0@\nDefaultServer on\n@AUTH@CapabilitiesSet +CAP_FOWNER\n" + vh("127.0.0.2", "@PORT0@", "+CAP_DAC_OVERRIDE"), connect: "127.0.0.2:@PORT0@"},
		{name: "defaultaddress", conf: "Port @PORT0@\nDefaultAddress 127.0.0.4\n@AUTH@CapabilitiesSet +CAP_FOWNER\n" + vh("127.0.0.1", "@PORT0@", "+CAP_DAC_OVERRIDE"), connect: "127.0.0.4:@PORT0@"},
		{name: "socketbindtight-refuses", conf: "Port @PORT0@\nSocketBindTight on\nDefaultAddress 127.0.0.1\n@AUTH@" + vh("127.0.0.2", "@PORT1@", "+CAP_DAC_OVERRIDE"), connect: "127.0.0.3:@PORT0@"},
		{name: "no-defaultserver-unbound-address", conf: "Port @PORT0@\n@AUTH@" + vh("127.0.0.2", "@PORT0@", "+CAP_DAC_OVERRIDE"), connect: "127.0.0.3:@PORT0@"},
	})
}

// TestE2ELoginHost: family 8, HOST before USER.
func TestE2ELoginHost(t *testing.T) {
	conf := "Port @PORT0@\nDefaultServer on\n@AUTH@CapabilitiesSet +CAP_FOWNER\n" +
		"<VirtualHost 127.0.0.1>\n  Port @PORT0@\n  ServerAlias ftp.one.test\n  @VBASE@\n  @AUTH@  RootRevoke off\n  CapabilitiesSet +CAP_DAC_OVERRIDE\n</VirtualHost>\n" +
		"<VirtualHost 127.0.0.1>\n  Port @PORT0@\n  ServerAlias ftp.two.test\n  @VBASE@\n  @AUTH@  CapabilitiesEngine off\n</VirtualHost>\n"
	checkLogins(t, []loginCase{
		{name: "host-one", conf: conf, hosts: []string{"ftp.one.test"}},
		{name: "host-two", conf: conf, hosts: []string{"ftp.two.test"}},
		{name: "host-unknown", conf: conf, hosts: []string{"nosuch.test"}},
		{name: "host-none", conf: conf},
	})
}

// TestE2ELoginWho: family 9, who the session runs as.
func TestE2ELoginWho(t *testing.T) {
	guest := loginUser{"ftpguest", 2001, 2001, []string{"ftpguest"}}
	rootish := loginUser{"admin", 0, 0, []string{"wheelish"}}
	checkLogins(t, []loginCase{
		{name: "anonymous-useralias", users: []loginUser{alice, guest}, login: "anonymous", password: "me@example.test", mkdir: []string{"anon"},
			conf: "Port @PORT0@\n@AUTH@CapabilitiesSet +CAP_FOWNER\n<Anonymous @DIR@/anon>\n  User ftpguest\n  Group ftpguest\n  UserAlias anonymous ftpguest\n  RootRevoke off\n</Anonymous>\n"},
		{name: "root-login-on", users: []loginUser{rootish}, login: "admin", conf: "Port @PORT0@\n@AUTH@RootLogin on\nCapabilitiesSet +CAP_DAC_OVERRIDE\n"},
		{name: "supplementary-ifgroup", users: []loginUser{carol}, login: "carol", conf: "Port @PORT0@\n@AUTH@<IfGroup web>\n  CapabilitiesSet +CAP_FOWNER\n</IfGroup>\n"},
		{name: "authuserfile-before-system", users: []loginUser{{"daemon", 1500, 1500, []string{"daemon2"}}}, login: "daemon",
			conf: "Port @PORT0@\nAuthUserFile @DIR@/passwd\nAuthGroupFile @DIR@/group\nAuthOrder mod_auth_file.c mod_auth_unix.c\n<IfGroup daemon2>\n  CapabilitiesSet +CAP_FOWNER\n</IfGroup>\n"},
	})
}

// TestE2ELoginRefused: logins proftpd refuses, at connect or at PASS.
func TestE2ELoginRefused(t *testing.T) {
	rootUser := loginUser{"root", 0, 0, []string{"root"}}
	checkLogins(t, []loginCase{
		{name: "limit-login-denyall", conf: "Port @PORT0@\n@AUTH@<Limit LOGIN>\n  DenyAll\n</Limit>\n"},
		{name: "limit-login-deny-client", client: "127.0.0.2", conf: "Port @PORT0@\n@AUTH@<Limit LOGIN>\n  Order allow,deny\n  Allow from 127.0.0.1\n  Deny from all\n</Limit>\n"},
		{name: "limit-login-allow-client", client: "127.0.0.1", conf: "Port @PORT0@\n@AUTH@<Limit LOGIN>\n  Order allow,deny\n  Allow from 127.0.0.1\n  Deny from all\n</Limit>\n"},
		{name: "limit-login-denyuser", conf: "Port @PORT0@\n@AUTH@<Limit LOGIN>\n  DenyUser alice\n</Limit>\n"},
		{name: "rootlogin-default-off", users: []loginUser{{"admin", 0, 0, []string{"admin"}}}, login: "admin", conf: "Port @PORT0@\n@AUTH@"},
		{name: "ftpusers-root", users: []loginUser{rootUser}, login: "root", conf: "Port @PORT0@\n@AUTH@RootLogin on\n"},
		{name: "ftpusers-off-root", users: []loginUser{rootUser}, login: "root", conf: "Port @PORT0@\n@AUTH@RootLogin on\nUseFtpUsers off\n"},
		{name: "unknown-user", login: "nosuchuser", conf: "Port @PORT0@\n@AUTH@"},
		{name: "ifuser-limit-after-pass", conf: "Port @PORT0@\n@AUTH@<IfUser alice>\n  <Limit LOGIN>\n    DenyAll\n  </Limit>\n</IfUser>\n"},
	})
}

// TestE2ELoginProftpdModCapTests: the sessions proftpd's own mod_cap
// tests (tests/t/lib/ProFTPD/Tests/Modules/mod_cap.pm, v1.3.8) configure:
// a uid-0 AuthUserFile user with RootLogin on, CapabilitiesSet
// +CAP_DAC_OVERRIDE at server level or in <IfUser> (bug 3576), and a
// uid-1 user with CapabilitiesRootRevoke off or mod_cap's defaults (bug
// 3839). The mod_sftp case is an SSH login, which these FTP logins do not
// make.
func TestE2ELoginProftpdModCapTests(t *testing.T) {
	root := loginUser{"proftpd", 0, 0, []string{"ftpd"}}
	one := loginUser{"proftpd", 1, 1, []string{"ftpd"}}
	base := "Port @PORT0@\n@AUTH@AllowOverwrite on\nRootLogin on\n<IfModule mod_delay.c>\n  DelayEngine off\n</IfModule>\n"
	checkLogins(t, []loginCase{
		{name: "cap_dac_override", users: []loginUser{root}, login: "proftpd", password: testPassword, conf: base + "<IfModule mod_cap.c>\n  CapabilitiesSet +CAP_DAC_OVERRIDE\n</IfModule>\n"},
		{name: "cap_dac_override_ifuser_bug3576", users: []loginUser{root}, login: "proftpd", conf: base + "<IfModule mod_cap.c>\n  <IfUser proftpd>\n    CapabilitiesSet +CAP_DAC_OVERRIDE\n  </IfUser>\n</IfModule>\n"},
		{name: "cap_rootrevoke_off_bug3839", users: []loginUser{one}, login: "proftpd", conf: base + "<IfModule mod_cap.c>\n  CapabilitiesRootRevoke off\n</IfModule>\n"},
		{name: "cap_rootrevoke_default_bug3839", users: []loginUser{one}, login: "proftpd", conf: base + "<IfModule mod_cap.c>\n</IfModule>\n"},
	})
}
