package modcap

import (
	"regexp"
	"strings"
	"testing"

	"captune/capset"
)

const (
	// defaultPAM is mod_cap's default kept set with mod_auth_pam loaded.
	defaultPAM = capset.Set(0x200004c1)
	// bookworm is the bounding set of the container where the vectors of
	// TestObservedHere were read (cap_sys_resource missing).
	bookworm = capset.Set(0x000001fffeffffff)
)

var ftptest = Login{User: "ftptest", UID: 1000, UIDKnown: true, Groups: []string{"ftptest"}}

// predictWith reads conf and predicts a login with the given master set.
func predictWith(t *testing.T, conf string, login Login, master capset.Set) Prediction {
	t.Helper()
	cfg, err := ReadString(testConf, conf, Options{})
	if err != nil {
		t.Fatalf("read: %v\n%s", err, conf)
	}
	return Predict(Input{Config: cfg, Login: login, MasterPermitted: master, MasterBounding: master})
}

func predictFull(t *testing.T, conf string, login Login) Prediction {
	t.Helper()
	return predictWith(t, conf, login, full)
}

func describe(p Prediction) string {
	return "kept " + p.Kept.Hex() + " prm " + p.Permitted.Hex() + " eff " + p.Effective.Hex() +
		"\nreasons:\n  " + strings.Join(p.Reasons, "\n  ") + "\nwarnings:\n  " + strings.Join(p.Warnings, "\n  ")
}

type want struct {
	kept, prm, eff capset.Set
	uids           [3]uint32
	engine         bool
}

func check(t *testing.T, p Prediction, w want) {
	t.Helper()
	if p.Refused {
		t.Fatalf("refused: %s", p.Why)
	}
	if p.Kept != w.kept || p.Permitted != w.prm || p.Effective != w.eff || p.UIDs != w.uids || p.Engine != w.engine {
		t.Errorf("got kept %s prm %s eff %s uids %v engine %v\nwant kept %s prm %s eff %s uids %v engine %v\n%s",
			p.Kept.Hex(), p.Permitted.Hex(), p.Effective.Hex(), p.UIDs, p.Engine,
			w.kept.Hex(), w.prm.Hex(), w.eff.Hex(), w.uids, w.engine, describe(p))
	}
}

var user = [3]uint32{1000, 1000, 1000}

// revoked is the usual outcome: the kept set permitted, nothing effective.
func revoked(kept capset.Set) want { return want{kept, kept, 0, user, true} }

// unrevoked is the outcome without mod_auth's root revoke: the kept set
// stays effective.
func unrevoked(kept capset.Set) want { return want{kept, kept, kept, user, true} }

func TestFirstCapabilitiesSetWins(t *testing.T) {
	p := predictFull(t, "CapabilitiesSet +CAP_FOWNER\nCapabilitiesSet +CAP_FSETID\nCapabilitiesSet -CAP_CHOWN\n", ftptest)
	check(t, p, revoked(0x4c9))
	if !strings.Contains(strings.Join(p.Reasons, "\n"), "CapabilitiesSet +CAP_FOWNER ("+testConf+":1)") {
		t.Errorf("reasons do not name the winning line:\n%s", describe(p))
	}
}

func TestServerBeatsGlobal(t *testing.T) {
	cases := map[string]struct {
		conf string
		w    want
	}{
		"set, Global first":  {"<Global>\nCapabilitiesSet +CAP_FSETID\n</Global>\nCapabilitiesSet +CAP_FOWNER\n", revoked(0x4c9)},
		"set, Global last":   {"CapabilitiesSet +CAP_FOWNER\n<Global>\nCapabilitiesSet +CAP_FSETID\n</Global>\n", revoked(0x4c9)},
		"set only in Global": {"<Global>\nCapabilitiesSet +CAP_FSETID\n</Global>\n", revoked(0x4d1)},
		"engine":             {"<Global>\nCapabilitiesEngine off\n</Global>\nCapabilitiesEngine on\n", revoked(defaultPAM)},
		"engine only in Global": {"<Global>\nCapabilitiesEngine off\n</Global>\n",
			want{defaultPAM, 0, 0, user, false}},
		"RootRevoke":                {"RootRevoke on\n<Global>\nRootRevoke off\n</Global>\n", revoked(defaultPAM)},
		"RootRevoke only in Global": {"<Global>\nRootRevoke off\n</Global>\n", unrevoked(defaultPAM)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { check(t, predictFull(t, c.conf, ftptest), c.w) })
	}
}

func TestVirtualHostSelection(t *testing.T) {
	conf := "CapabilitiesSet +CAP_FOWNER\nRootRevoke off\n" +
		"<Global>\nCapabilitiesSet +CAP_FSETID\n</Global>\n" +
		"<VirtualHost 127.0.0.2>\nPort 2122\n</VirtualHost>\n" +
		"<VirtualHost 127.0.0.3 ftp.example.com>\nCapabilitiesSet +CAP_DAC_READ_SEARCH\n</VirtualHost>\n"
	cfg := readOK(t, conf)
	names := Hosts{"ftp.example.com": {"127.0.0.3"}}
	predict := func(l Login) Prediction {
		return Predict(Input{Config: cfg, Login: l, MasterPermitted: full, MasterBounding: full, Resolver: names})
	}
	main := predict(ftptest)
	check(t, main, unrevoked(0x4c9))
	if main.Server != "the main server" {
		t.Errorf("server %q", main.Server)
	}

	// The vhost does not inherit the main server's CapabilitiesSet or
	// RootRevoke, but gets <Global>'s. Without a port, the connection
	// takes the port of the server bound to the address (2122).
	l := ftptest
	l.Addr = "127.0.0.2"
	v := predict(l)
	check(t, v, revoked(0x4d1))
	if !strings.HasPrefix(v.Server, "<VirtualHost 127.0.0.2> at "+testConf+":6") {
		t.Errorf("server %q", v.Server)
	}

	// A name is resolved first; ftp.example.com is 127.0.0.3, the
	// second vhost's address (port 21, the default).
	l.Addr = "ftp.example.com"
	check(t, predict(l), revoked(0x4c5))

	// An address no server is bound to, on port 21 where two servers
	// are bound, no DefaultServer: a loopback address goes to the main
	// server.
	l.Addr = "127.0.0.9"
	p := predict(l)
	check(t, p, unrevoked(0x4c9))
	if !strings.Contains(strings.Join(p.Reasons, "\n"), "the address is a loopback one, so the main server takes it") {
		t.Errorf("reasons:\n%s", describe(p))
	}

	// A vhost without any mod_cap line keeps the defaults even when the
	// main server switches the engine off.
	l.Addr = "127.0.0.2"
	check(t, predictFull(t, "CapabilitiesEngine off\n<VirtualHost 127.0.0.2>\n</VirtualHost>\n", l), revoked(defaultPAM))
}

const lm = "LoadModule mod_ifsession.c\n"

func TestIfUserBeatsServer(t *testing.T) {
	conf := lm + "CapabilitiesSet +CAP_FOWNER\n<IfUser ftptest>\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n"
	check(t, predictFull(t, conf, ftptest), revoked(0x4d1))
	other := Login{User: "bob", UID: 1001, UIDKnown: true, Groups: []string{"bob"}}
	bob := revoked(0x4c9)
	bob.uids = [3]uint32{1001, 1001, 1001}
	check(t, predictFull(t, conf, other), bob)

	// Within one <IfUser>, mod_ifsession inserts each line at the head:
	// the last CapabilitiesSet of the section wins (observed).
	conf = lm + "<IfUser ftptest>\nCapabilitiesSet +CAP_FOWNER\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n"
	check(t, predictFull(t, conf, ftptest), revoked(0x4d1))

	// <IfGroup> and <IfUser> in <Global> also beat the server level.
	conf = lm + "CapabilitiesSet +CAP_FOWNER\n<Global>\n<IfGroup ftptest>\nCapabilitiesSet -CAP_CHOWN\n</IfGroup>\n</Global>\n"
	check(t, predictFull(t, conf, ftptest), revoked(0x4c0))

	// <IfUser> beats RootRevoke too.
	conf = lm + "RootRevoke on\n<IfUser ftptest>\nRootRevoke off\n</IfUser>\n"
	check(t, predictFull(t, conf, ftptest), unrevoked(defaultPAM))
}

func TestIfUserEngine(t *testing.T) {
	t.Run("off works", func(t *testing.T) {
		conf := lm + "<IfUser ftptest>\nCapabilitiesEngine off\n</IfUser>\n"
		check(t, predictFull(t, conf, ftptest), want{defaultPAM, 0, 0, user, false})
	})
	t.Run("on cannot re-enable server-level off", func(t *testing.T) {
		conf := lm + "CapabilitiesEngine off\n<IfUser ftptest>\nCapabilitiesEngine on\nCapabilitiesSet +CAP_FOWNER\n</IfUser>\n"
		p := predictFull(t, conf, ftptest)
		if p.Engine || p.Permitted != 0 || p.Effective != 0 || p.UIDs != user {
			t.Errorf("got %s", describe(p))
		}
		if !strings.Contains(strings.Join(p.Warnings, "\n"), "cannot re-enable") {
			t.Errorf("no warning:\n%s", describe(p))
		}
	})
	t.Run("on in Global cannot re-enable either", func(t *testing.T) {
		conf := "CapabilitiesEngine off\n<Global>\nCapabilitiesEngine on\n</Global>\n"
		if p := predictFull(t, conf, ftptest); p.Engine {
			t.Errorf("got %s", describe(p))
		}
	})
}

func TestUserOwner(t *testing.T) {
	t.Run("inside a non-matching IfUser still counts", func(t *testing.T) {
		conf := lm + "<IfUser nobody>\n<Directory /x>\nUserOwner ftp\n</Directory>\n</IfUser>\n"
		p := predictFull(t, conf, ftptest)
		check(t, p, unrevoked(defaultPAM))
		if !strings.Contains(strings.Join(p.Reasons, "\n"), "UserOwner at "+testConf+":4") {
			t.Errorf("reasons:\n%s", describe(p))
		}
	})
	t.Run("in Anonymous and in Global", func(t *testing.T) {
		check(t, predictFull(t, "<Anonymous /srv/ftp>\nUserOwner ftp\n</Anonymous>\n", ftptest), unrevoked(defaultPAM))
		check(t, predictFull(t, "<Global>\n<Directory /x>\nUserOwner ftp\n</Directory>\n</Global>\n", ftptest), unrevoked(defaultPAM))
	})
	t.Run("in another VirtualHost does not count", func(t *testing.T) {
		conf := "<VirtualHost 127.0.0.2>\n<Directory /x>\nUserOwner ftp\n</Directory>\n</VirtualHost>\n"
		check(t, predictFull(t, conf, ftptest), revoked(defaultPAM))
		l := ftptest
		l.Addr = "127.0.0.2"
		check(t, predictFull(t, conf, l), unrevoked(defaultPAM))
	})
	t.Run("explicit RootRevoke on wins", func(t *testing.T) {
		for _, conf := range []string{
			"RootRevoke on\n<Directory /x>\nUserOwner ftp\n</Directory>\n",
			"<Directory /x>\nUserOwner ftp\n</Directory>\nRootRevoke on\n",
			"<Directory /x>\nUserOwner ftp\n</Directory>\n<Global>\nRootRevoke on\n</Global>\n",
		} {
			check(t, predictFull(t, conf, ftptest), revoked(defaultPAM))
		}
	})
}

func TestRootRevokeValues(t *testing.T) {
	for _, v := range []string{"UseNonCompliantActiveTransfers", "usenoncompliantactivetransfer", "on", "YES", "1"} {
		p := predictFull(t, "RootRevoke "+v+"\n<Directory /x>\nUserOwner ftp\n</Directory>\n", ftptest)
		check(t, p, revoked(defaultPAM))
		if !strings.EqualFold(v, "on") && !strings.Contains(strings.Join(p.Reasons, "\n"), "RootRevoke "+v+" ("+testConf+":1) counts as on") {
			t.Errorf("%s: reasons:\n%s", v, describe(p))
		}
	}
	for _, v := range []string{"off", "No", "0", "false"} {
		check(t, predictFull(t, "RootRevoke "+v+"\n", ftptest), unrevoked(defaultPAM))
	}
}

func TestRootLogin(t *testing.T) {
	root := Login{User: "root", UID: 0, UIDKnown: true, Groups: []string{"root"}}
	p := predictFull(t, "RootLogin on\n", root)
	check(t, p, want{defaultPAM, defaultPAM, defaultPAM, [3]uint32{0, 0, 0}, true})
	p = predictFull(t, "RootLogin on\nCapabilitiesSet -CAP_SETUID +CAP_FOWNER\n", root)
	check(t, p, want{0x409, 0x409, 0x409, [3]uint32{0, 0, 0}, true})
	for _, conf := range []string{"", "RootLogin off\n", "<Anonymous /srv/ftp>\nRootLogin on\n</Anonymous>\n"} {
		if p := predictFull(t, conf, root); !p.Refused || !strings.Contains(p.Why, "RootLogin") {
			t.Errorf("%q: root not refused: %+v", conf, p)
		}
	}
	// RootLogin in <IfUser root> does not count: mod_auth checks it at
	// PASS, before mod_ifsession merges (observed: 530).
	p = predictFull(t, lm+"<IfUser root>\nRootLogin on\n</IfUser>\n", root)
	if !p.Refused || p.RefusedAt != "PASS" {
		t.Errorf("not refused at PASS: %s", describe(p))
	}
}

func TestCapabilitiesRootRevokeOff(t *testing.T) {
	t.Run("with the root revoke, setuid() takes uid 0 away", func(t *testing.T) {
		// Observed: Uid 1000 1000 1000, CapPrm 200004c1, CapEff 0.
		check(t, predictWith(t, "CapabilitiesRootRevoke off\n", ftptest, bookworm), revoked(defaultPAM))
	})
	for name, c := range map[string]struct {
		conf string
		w    want
	}{
		// Observed: Uid 0 1000 1000, CapPrm = CapEff = 200004c1.
		"without the root revoke": {"CapabilitiesRootRevoke off\nRootRevoke off\n", want{defaultPAM, defaultPAM, defaultPAM, [3]uint32{0, 1000, 1000}, true}},
		// Observed: Uid 0 1000 1000, CapPrm 401, CapEff 0.
		"without CAP_SETUID": {"CapabilitiesRootRevoke off\nCapabilitiesSet -CAP_SETUID\n", want{0x401, 0x401, 0, [3]uint32{0, 1000, 1000}, true}},
	} {
		t.Run(name, func(t *testing.T) {
			p := predictWith(t, c.conf, ftptest, bookworm)
			check(t, p, c.w)
			if p.UIDs[0] != 0 {
				t.Fatalf("uids %v", p.UIDs)
			}
			if !strings.Contains(strings.Join(p.Warnings, "\n"), "uid 0 remains as the real uid") {
				t.Errorf("no warning:\n%s", describe(p))
			}
			if !strings.Contains(strings.Join(p.Reasons, "\n"), "CapabilitiesRootRevoke off ("+testConf+":1)") {
				t.Errorf("reasons:\n%s", describe(p))
			}
		})
	}
}

func TestCapsetFails(t *testing.T) {
	// The master lacks CAP_FOWNER (observed under capsh --drop=cap_fowner:
	// "cap_set_proc failed", the session keeps CapPrm 1fffefffff7).
	master := bookworm.Without(capset.Fowner)
	p := predictWith(t, "CapabilitiesSet +CAP_FOWNER\n", ftptest, master)
	if p.Kept != 0x4c9 || p.Permitted != master || p.Effective != 0 || p.UIDs != user {
		t.Errorf("got %s", describe(p))
	}
	w := strings.Join(p.Warnings, "\n")
	if !strings.Contains(w, "cap_fowner") || !strings.Contains(w, "capset fails") || !strings.Contains(w, "master's whole permitted set") {
		t.Errorf("warnings:\n%s", w)
	}
	// A kept set inside the master's set is fine.
	check(t, predictWith(t, "CapabilitiesSet -CAP_CHOWN\n", ftptest, master), revoked(0x4c0))
}

func TestEngineOff(t *testing.T) {
	check(t, predictWith(t, "CapabilitiesEngine off\n", ftptest, bookworm), want{defaultPAM, 0, 0, user, false})
	// Observed: Uid 0 1000 0, CapPrm = the master's set, CapEff 0.
	p := predictWith(t, "CapabilitiesEngine off\nRootRevoke off\n", ftptest, bookworm)
	check(t, p, want{defaultPAM, bookworm, 0, [3]uint32{0, 1000, 0}, false})
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "uid 0 remains as the real and saved uid") {
		t.Errorf("warnings:\n%s", describe(p))
	}
}

// TestObservedHere checks logins made with the real proftpd 1.3.8 of this
// environment (Debian bookworm, master bounding set 1fffeffffff): a user
// from AuthUserFile with uid 1000 logged in, and /proc/<session>/status
// gave these uids and sets.
func TestObservedHere(t *testing.T) {
	cases := []struct {
		conf string
		w    want
	}{
		{"", revoked(defaultPAM)},
		{"RootRevoke UseNonCompliantActiveTransfers\n", revoked(defaultPAM)},
		{lm + "<IfUser nobody>\n<Directory /x>\nUserOwner ftp\n</Directory>\n</IfUser>\n", unrevoked(defaultPAM)},
		{"RootRevoke on\n<Directory /x>\nUserOwner ftp\n</Directory>\n", revoked(defaultPAM)},
		{lm + "CapabilitiesEngine off\n<IfUser ftptest>\nCapabilitiesEngine on\n</IfUser>\n", want{defaultPAM, 0, 0, user, false}},
		{"<Global>\nCapabilitiesEngine off\n</Global>\nCapabilitiesEngine on\n", revoked(defaultPAM)},
		{"<Global>\nCapabilitiesSet +CAP_FSETID\n</Global>\nCapabilitiesSet +CAP_FOWNER\n", revoked(0x4c9)},
		{"CapabilitiesSet +CAP_FOWNER\nCapabilitiesSet +CAP_FSETID\n", revoked(0x4c9)},
		{lm + "<IfUser ftptest>\nCapabilitiesSet +CAP_FOWNER\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n", revoked(0x4d1)},
		{lm + "CapabilitiesSet +CAP_FOWNER\n<IfUser ftptest>\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n", revoked(0x4d1)},
		{"<VirtualHost 127.0.0.2>\n<Directory /x>\nUserOwner ftp\n</Directory>\n</VirtualHost>\n", revoked(defaultPAM)},
		{"CapabilitiesSet -CAP_SETUID\nRootRevoke off\n", unrevoked(0x401)},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.conf, "\n", ";"), func(t *testing.T) {
			p := predictWith(t, c.conf, ftptest, bookworm)
			check(t, p, c.w)
			if p.Bounding != bookworm || p.Inheritable != 0 || p.Ambient != 0 {
				t.Errorf("bnd %s inh %s amb %s", p.Bounding.Hex(), p.Inheritable.Hex(), p.Ambient.Hex())
			}
		})
	}
	// The vhost of the second case: a login on 127.0.0.2 keeps the set
	// effective (UserOwner in its own tree) and does not inherit the main
	// server's CapabilitiesSet.
	l := ftptest
	l.Addr = "127.0.0.2"
	conf := "CapabilitiesSet +CAP_FOWNER\n<VirtualHost 127.0.0.2>\n<Directory /x>\nUserOwner ftp\n</Directory>\n</VirtualHost>\n"
	check(t, predictWith(t, conf, ftptest, bookworm), revoked(0x4c9))
	check(t, predictWith(t, conf, l, bookworm), unrevoked(defaultPAM))
}

var (
	directiveName = regexp.MustCompile(`\b(CapabilitiesSet|CapabilitiesEngine|CapabilitiesRootRevoke|RootRevoke|RootLogin|UserOwner)\b|<(IfUser|IfGroup|IfClass|VirtualHost)\b`)
	fileLine      = regexp.MustCompile(regexp.QuoteMeta(testConf) + `:\d+`)
)

// TestReasonsNameFileLine checks that every reason naming a directive of
// the configuration says where it is.
func TestReasonsNameFileLine(t *testing.T) {
	confs := []string{
		"",
		"CapabilitiesSet +CAP_FOWNER -CAP_DAC_OVERRIDE\n",
		"CapabilitiesEngine off\n",
		"CapabilitiesEngine off\nRootRevoke off\n",
		"CapabilitiesRootRevoke off\nRootRevoke off\nCapabilitiesSet -CAP_SETUID\n",
		"RootRevoke UseNonCompliantActiveTransfers\n",
		"RootRevoke off\n",
		"<Directory /x>\nUserOwner ftp\n</Directory>\n",
		"<Global>\nCapabilitiesSet +CAP_FSETID\nCapabilitiesEngine on\n</Global>\n",
		lm + "<IfUser ftptest>\nCapabilitiesEngine off\n</IfUser>\n",
		lm + "CapabilitiesEngine off\n<IfUser ftptest>\nCapabilitiesEngine on\n</IfUser>\n",
		lm + "<IfGroup ftptest>\nCapabilitiesSet -CAP_CHOWN\nRootRevoke off\n</IfGroup>\n",
		"<VirtualHost 127.0.0.2>\nCapabilitiesSet +CAP_FOWNER\n</VirtualHost>\n",
	}
	root := Login{User: "root", UID: 0, UIDKnown: true, Groups: []string{"root"}}
	vhost := ftptest
	vhost.Addr = "127.0.0.2"
	check := func(conf string, p Prediction) {
		t.Helper()
		for i, r := range append(append([]string{}, p.Reasons...), p.Why) {
			if strings.HasPrefix(r, "any CapabilitiesSet line") && (i == 0 || !strings.HasPrefix(p.Reasons[i-1], "CapabilitiesSet ") || !fileLine.MatchString(p.Reasons[i-1])) {
				t.Errorf("config %q: %q does not follow the reason naming the line", conf, r)
			}
			if strings.HasPrefix(r, "no CapabilitiesSet:") || strings.HasPrefix(r, "any CapabilitiesSet line") {
				// General statements about the directive, not about a
				// line: the absence of one, and what every one does (the
				// reason before it names the line).
				continue
			}
			if directiveName.MatchString(r) && !fileLine.MatchString(r) {
				t.Errorf("config %q: reason names a directive without file:line: %q", conf, r)
			}
		}
	}
	for _, conf := range confs {
		for _, l := range []Login{ftptest, vhost} {
			check(conf, predictFull(t, conf, l))
		}
		check(conf, predictFull(t, "RootLogin on\n"+conf, root))
		check(conf, predictFull(t, "RootLogin off\n"+conf, root))
	}
}

func TestExtraTokens(t *testing.T) {
	toks, err := ParseTokens([]string{"+CAP_FSETID"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := readOK(t, "CapabilitiesSet +CAP_FOWNER\n")
	p := Predict(Input{Config: cfg, Login: ftptest, MasterPermitted: full, MasterBounding: full, Extra: toks})
	check(t, p, revoked(0x4d1))
	// Without a configuration, Predict uses proftpd's built-in defaults.
	check(t, Predict(Input{Login: ftptest, MasterPermitted: full, MasterBounding: full}), revoked(defaultPAM))
	no := false
	check(t, Predict(Input{Login: ftptest, MasterPermitted: full, MasterBounding: full, PAM: &no}), revoked(0x4c1))
}
