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
