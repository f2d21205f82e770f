package modcap

import (
	"strings"
	"testing"

	"captune/capset"
)

// full is a root master's permitted and bounding set on a kernel with
// cap_last_cap 40.
const full = capset.Set(0x000001ffffffffff)

func predictText(t *testing.T, conf string, login Login, extra ...Token) Prediction {
	t.Helper()
	cfg, err := ReadString("/etc/proftpd/test.conf", conf, Options{})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if login.User == "" {
		login = Login{User: "ftptest", UID: 1000, UIDKnown: true, Groups: []string{"ftptest"}}
	}
	return Predict(Input{Config: cfg, Login: login, MasterPermitted: full, MasterBounding: full, Extra: extra})
}

// TestObservedVectors checks every row of the observed table in
// shared/docs/modcap.md (Debian 1.3.8, non-root user, session child).
func TestObservedVectors(t *testing.T) {
	cases := []struct {
		name     string
		conf     string
		prm, eff capset.Set
	}{
		{"none", "", 0x200004c1, 0},
		{"RootRevoke off", "RootRevoke off\n", 0x200004c1, 0x200004c1},
		{"UserOwner", "<Directory /x>\n  UserOwner ftp\n</Directory>\n", 0x200004c1, 0x200004c1},
		{"-CAP_CHOWN", "CapabilitiesSet -CAP_CHOWN\n", 0x4c0, 0},
		{"+DRS +FOWNER", "CapabilitiesSet +CAP_DAC_READ_SEARCH +CAP_FOWNER\n", 0x4cd, 0},
		{"-CAP_SETUID", "CapabilitiesSet -CAP_SETUID\n", 0x401, 0x401},
		{"RootRevoke off -DAC", "RootRevoke off\nCapabilitiesSet -CAP_DAC_OVERRIDE\n", 0x4c1, 0x4c1},
		{"engine off", "CapabilitiesEngine off\n", 0, 0},
		{"IfUser engine off", "LoadModule mod_ifsession.c\n<IfUser ftptest>\n  CapabilitiesEngine off\n</IfUser>\n", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := predictText(t, c.conf, Login{})
			if p.Permitted != c.prm || p.Effective != c.eff {
				t.Errorf("CapPrm %s CapEff %s, want %s %s\nreasons: %s", p.Permitted.Hex(), p.Effective.Hex(), c.prm.Hex(), c.eff.Hex(), strings.Join(p.Reasons, "; "))
			}
			if p.Inheritable != 0 || p.Ambient != 0 || p.Bounding != full {
				t.Errorf("inh %s amb %s bnd %s", p.Inheritable.Hex(), p.Ambient.Hex(), p.Bounding.Hex())
			}
		})
	}
}

// TestObservedIfSession checks precedence among <IfUser>/<IfGroup>
// sections as observed with real logins on Debian's proftpd 1.3.8 (user
// ftptest in group ftpgrp): the first matching <IfUser> in file order
// wins, the last line inside one section wins, and <IfUser> beats <IfGroup>.
func TestObservedIfSession(t *testing.T) {
	login := Login{User: "ftptest", UID: 1001, UIDKnown: true, Groups: []string{"ftpgrp"}}
	cases := []struct {
		name string
		conf string
		prm  capset.Set
	}{
		{"two IfUser, first wins", "<IfUser ftptest>\nCapabilitiesSet +CAP_FOWNER\n</IfUser>\n<IfUser ftptest>\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n", 0x4c9},
		{"two lines, last wins", "<IfUser ftptest>\nCapabilitiesSet +CAP_FOWNER\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n", 0x4d1},
		{"negated second", "<IfUser !nobody>\nCapabilitiesSet +CAP_FOWNER\n</IfUser>\n<IfUser ftptest>\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n", 0x4c9},
		{"second section merged too", "<IfUser ftptest>\nCapabilitiesSet +CAP_FOWNER\n</IfUser>\n<IfUser !nobody>\nCapabilitiesEngine off\n</IfUser>\n", 0},
		{"IfUser beats IfGroup", "<IfGroup ftpgrp>\nCapabilitiesSet +CAP_FOWNER\n</IfGroup>\n<IfUser ftptest>\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n", 0x4d1},
		{"IfUser beats IfGroup, either order", "<IfUser ftptest>\nCapabilitiesSet +CAP_FSETID\n</IfUser>\n<IfGroup ftpgrp>\nCapabilitiesSet +CAP_FOWNER\n</IfGroup>\n", 0x4d1},
		{"IfGroup alone", "<IfGroup ftpgrp>\nCapabilitiesSet +CAP_FOWNER\n</IfGroup>\n", 0x4c9},
		{"IfUser CapabilitiesRootRevoke off", "CapabilitiesSet +CAP_DAC_OVERRIDE\n<IfUser ftptest>\nCapabilitiesRootRevoke off\n</IfUser>\n", 0x4c3},
	}
	// One-valued directives: <IfGroup> beats <IfUser>, and the last section
	// of a kind wins (observed by launch/proftpd's e2e tests).
	single := []struct {
		name     string
		conf     string
		prm, eff capset.Set
	}{
		{"RootRevoke: IfGroup beats IfUser", "<IfUser ftptest>\nRootRevoke off\n</IfUser>\n<IfGroup ftpgrp>\nRootRevoke on\n</IfGroup>\n", 0x200004c1, 0},
		{"RootRevoke: IfGroup beats IfUser, either order", "<IfGroup ftpgrp>\nRootRevoke off\n</IfGroup>\n<IfUser ftptest>\nRootRevoke on\n</IfUser>\n", 0x200004c1, 0x200004c1},
		{"RootRevoke: last IfUser wins", "<IfUser ftptest>\nRootRevoke off\n</IfUser>\n<IfUser ftptest>\nRootRevoke on\n</IfUser>\n", 0x200004c1, 0},
		{"Engine: IfGroup beats IfUser", "<IfUser ftptest>\nCapabilitiesEngine off\n</IfUser>\n<IfGroup ftpgrp>\nCapabilitiesEngine on\n</IfGroup>\n", 0x200004c1, 0},
		{"Engine: last IfUser wins", "<IfUser ftptest>\nCapabilitiesEngine on\n</IfUser>\n<IfUser ftptest>\nCapabilitiesEngine off\n</IfUser>\n", 0, 0},
	}
	for _, c := range single {
		t.Run(c.name, func(t *testing.T) {
			p := predictText(t, "LoadModule mod_ifsession.c\n"+c.conf, login)
			if p.Permitted != c.prm || p.Effective != c.eff {
				t.Errorf("CapPrm %s CapEff %s, want %s %s", p.Permitted.Hex(), p.Effective.Hex(), c.prm.Hex(), c.eff.Hex())
			}
		})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := predictText(t, "LoadModule mod_ifsession.c\n"+c.conf, login)
			if p.Permitted != c.prm || p.Effective != 0 {
				t.Errorf("CapPrm %s CapEff %s, want %s 0", p.Permitted.Hex(), p.Effective.Hex(), c.prm.Hex())
			}
		})
	}
}
