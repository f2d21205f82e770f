package ui

import (
	"errors"
	"math/rand"
	"strings"
	"testing"

	"captune/capset"
	"captune/capset/kernel"
	"captune/capset/modcap"
)

// Scenarios for the primer's claims, on captune's model of the kernel.
var (
	kAll    = capset.Set(1<<41 - 1)
	kNetRaw = capset.Of(capset.NetRaw)
	kBind   = capset.Of(capset.NetBindService)
)

func kUser(uid uint32) kernel.Cred {
	return kernel.Cred{UID: uid, EUID: uid, SUID: uid, Bounding: kAll}
}

func kRoot() kernel.Cred {
	return kernel.Cred{Permitted: kAll, Effective: kAll, Bounding: kAll}
}

func kExec(t *testing.T, c kernel.Cred, f kernel.File) kernel.Cred {
	t.Helper()
	n, err := kernel.Exec(c, f)
	if err != nil {
		t.Fatalf("Exec(%+v, %+v): %v", c, f, err)
	}
	return n
}

// kOK takes a modelled call's outcome and fails the test on an error.
func kOK(t *testing.T) func(kernel.Cred, error) kernel.Cred {
	t.Helper()
	return func(c kernel.Cred, err error) kernel.Cred {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func kRefused(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, kernel.ErrPerm) {
		t.Errorf("%s: err %v, want EPERM", what, err)
	}
}

// predictFor runs mod_cap's session prediction on a configuration text.
func predictFor(t *testing.T, conf string, login modcap.Login, pam bool) modcap.Prediction {
	t.Helper()
	cfg, err := modcap.ReadString("primer.conf", conf, modcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return modcap.Predict(modcap.Input{Config: cfg, PAM: &pam, MasterPermitted: kAll, MasterBounding: kAll, Login: login})
}

var nonRoot = modcap.Login{User: "alice", UID: 1000, UIDKnown: true}

// primerClaims maps every sentence of the primer to its check. A
// sentence that states no rule says why (definition) instead.
var primerClaims = map[string]struct {
	definition string
	check      func(t *testing.T)
}{
	"Every Linux thread carries five capability sets, each a 64-bit mask with one bit per capability (cap_chown is bit 0).": {check: func(t *testing.T) {
		if capset.Chown != 0 || capset.Of(capset.Chown) != 1 || capset.MaxBits != 64 {
			t.Error("cap_chown is not bit 0 of a 64-bit mask")
		}
	}},
	"/proc/PID/status prints them as CapInh, CapPrm, CapEff, CapBnd and CapAmb.": {definition: "names the status fields; capset/kernel's end-to-end test reads exactly these from the running kernel"},
	"Permitted (Prm): what the thread may use.":                                  {definition: "names the set; the next sentence is the rule"},
	"It can raise any of these into its effective set, and it can only shrink this set by itself.": {check: func(t *testing.T) {
		c := kUser(1000)
		c.Permitted = kNetRaw | kBind
		c = kOK(t)(c.Capset(c.Permitted, kNetRaw|kBind, 0))
		c = kOK(t)(c.Capset(kNetRaw, kNetRaw, 0))
		_, err := c.Capset(kNetRaw|kBind, 0, 0)
		kRefused(t, "growing permitted again", err)
	}},
	"Effective (Eff): what the kernel checks at each privileged operation.": {definition: "names the set; the next sentence is the rule"},
	"A capability that is permitted but not effective does nothing until raised.": {check: func(t *testing.T) {
		c := kUser(1000)
		c.Permitted = capset.Of(capset.Setuid)
		_, err := c.SetResUID(0, 0, 0)
		kRefused(t, "setresuid with CAP_SETUID permitted only", err)
		c = kOK(t)(c.Capset(c.Permitted, c.Permitted, 0))
		kOK(t)(c.SetResUID(0, 0, 0))
	}},
	"Inheritable (Inh): what may pass through an execve into a program whose file capabilities also mark it inheritable.": {check: func(t *testing.T) {
		c := kUser(1000)
		c.Inheritable = kNetRaw
		if n := kExec(t, c, kernel.File{Caps: true, Inheritable: kNetRaw}); n.Permitted != kNetRaw {
			t.Errorf("file inheritable: permitted %s", n.Permitted)
		}
		if n := kExec(t, c, kernel.File{}); n.Permitted != 0 {
			t.Errorf("plain file: permitted %s", n.Permitted)
		}
	}},
	"Bounding (Bnd): limits what an execve takes from a program's file permitted set, and what a thread may add to its inheritable set.": {check: func(t *testing.T) {
		c := kUser(1000)
		c.Bounding = kAll &^ kNetRaw
		if n := kExec(t, c, kernel.File{Caps: true, Permitted: kNetRaw | kBind}); n.Permitted != kBind {
			t.Errorf("file permitted beyond bounding: permitted %s", n.Permitted)
		}
		c.Permitted = kNetRaw
		_, err := c.Capset(kNetRaw, 0, kNetRaw)
		kRefused(t, "adding to inheritable outside bounding", err)
	}},
	"A bit dropped from it never returns in that process tree.": {check: func(t *testing.T) {
		c := kOK(t)(kRoot().DropBounding(capset.NetRaw))
		for _, f := range []kernel.File{{}, {Caps: true, Permitted: kAll, Inheritable: kAll}, {SetUID: true}} {
			n := kExec(t, c, f)
			if n.Bounding.Has(capset.NetRaw) || n.Permitted.Has(capset.NetRaw) {
				t.Errorf("exec of %+v: bounding %s permitted %s", f, n.Bounding, n.Permitted)
			}
		}
	}},
	"It does not limit capabilities that are already inheritable: an execve still grants them when the file marks them inheritable, or when the program runs as root.": {check: func(t *testing.T) {
		u := kUser(1000)
		u.Inheritable, u.Bounding = kNetRaw, kAll&^kNetRaw
		if n := kExec(t, u, kernel.File{Caps: true, Inheritable: kNetRaw}); !n.Permitted.Has(capset.NetRaw) {
			t.Errorf("file inheritable: permitted %s", n.Permitted)
		}
		r := kRoot()
		r.Inheritable, r.Bounding = kNetRaw, kAll&^kNetRaw
		if n := kExec(t, r, kernel.File{}); !n.Permitted.Has(capset.NetRaw) {
			t.Errorf("as root: permitted %s", n.Permitted)
		}
	}},
	"It grants nothing by itself.": {check: func(t *testing.T) {
		if n := kExec(t, kUser(1000), kernel.File{}); n.Permitted != 0 || n.Effective != 0 {
			t.Errorf("a user with a full bounding set got %s", n.Permitted)
		}
	}},
	"Ambient (Amb): what survives an execve of an ordinary program (no file capabilities, not set-user-ID or set-group-ID) for a non-root user.": {check: func(t *testing.T) {
		c := kUser(1000)
		c.Permitted, c.Inheritable, c.Ambient = kNetRaw, kNetRaw, kNetRaw
		if n := kExec(t, c, kernel.File{}); n.Ambient != kNetRaw || n.Permitted != kNetRaw || n.Effective != kNetRaw {
			t.Errorf("ordinary program: %+v", n)
		}
		for _, f := range []kernel.File{{Caps: true}, {SetUID: true, Owner: 1001}, {SetGID: true}} {
			if n := kExec(t, c, f); n.Ambient != 0 {
				t.Errorf("%+v kept ambient %s", f, n.Ambient)
			}
		}
	}},
	"Each ambient bit must also be permitted and inheritable.": {check: func(t *testing.T) {
		c := kUser(1000)
		c.Permitted = kNetRaw
		_, err := c.RaiseAmbient(capset.NetRaw)
		kRefused(t, "ambient without inheritable", err)
		c = kOK(t)(c.Capset(kNetRaw, 0, kNetRaw))
		c = kOK(t)(c.RaiseAmbient(capset.NetRaw))
		if c = kOK(t)(c.Capset(kNetRaw, 0, 0)); c.Ambient != 0 {
			t.Errorf("ambient outlived inheritable: %s", c.Ambient)
		}
	}},
	"Across execve: the new permitted set is (inheritable & file inheritable) | (file permitted & bounding) | ambient; effective is the new permitted set when the file is marked effective, else the ambient set.": {check: func(t *testing.T) {
		rng := rand.New(rand.NewSource(1))
		s := func() capset.Set { return capset.Set(rng.Uint64()) & kAll }
		for range 2000 {
			c := kUser(1000)
			c.Inheritable, c.Bounding = s(), s()
			c.Permitted = s() | c.Inheritable
			c.Ambient = s() & c.Permitted & c.Inheritable
			f := kernel.File{Caps: rng.Intn(2) == 0, Inheritable: s(), Effective: rng.Intn(2) == 0}
			if f.Caps {
				f.Permitted = s() & c.Bounding
			}
			n := kExec(t, c, f)
			amb := c.Ambient
			fi, fp := capset.Set(0), capset.Set(0)
			if f.Caps {
				amb, fi, fp = 0, f.Inheritable, f.Permitted
			}
			wantP := c.Inheritable&fi | fp&c.Bounding | amb
			wantE := amb
			if f.Caps && f.Effective {
				wantE = wantP
			}
			if n.Permitted != wantP || n.Effective != wantE {
				t.Fatalf("%+v exec %+v: got P %s E %s, want P %s E %s", c, f, n.Permitted, n.Effective, wantP, wantE)
			}
		}
	}},
	"When the real or the effective uid is 0, the kernel counts the program's file permitted and inheritable sets as full, so an execve as root makes the permitted set the bounding set plus the inheritable set.": {check: func(t *testing.T) {
		for _, c := range []kernel.Cred{
			{Permitted: kAll, Effective: kAll, Inheritable: kNetRaw, Bounding: kAll &^ kNetRaw &^ kBind},
			{UID: 0, EUID: 1000, SUID: 0, Inheritable: kNetRaw, Bounding: kAll &^ kNetRaw &^ kBind},
			{UID: 1000, EUID: 0, SUID: 1000, Inheritable: kNetRaw, Bounding: kAll &^ kNetRaw &^ kBind},
		} {
			if n := kExec(t, c, kernel.File{}); n.Permitted != c.Bounding|c.Inheritable {
				t.Errorf("uids %d/%d: permitted %s, want %s", c.UID, c.EUID, n.Permitted, c.Bounding|c.Inheritable)
			}
		}
	}},
	"Only an effective uid of 0 also counts the file as marked effective: with real uid 0 and another effective uid, the new effective set is just the ambient set.": {check: func(t *testing.T) {
		if n := kExec(t, kernel.Cred{UID: 0, EUID: 1000, SUID: 0, Bounding: kAll}, kernel.File{}); n.Effective != 0 || n.Permitted != kAll {
			t.Errorf("real uid 0: effective %s permitted %s", n.Effective, n.Permitted)
		}
		if n := kExec(t, kernel.Cred{UID: 1000, EUID: 0, SUID: 1000, Bounding: kAll}, kernel.File{}); n.Effective != kAll {
			t.Errorf("effective uid 0: effective %s", n.Effective)
		}
	}},
	"With no_new_privs set, an execve ignores set-user-ID bits and never adds to the permitted set.": {check: func(t *testing.T) {
		u := kUser(1000)
		u.NoNewPrivs = true
		if n := kExec(t, u, kernel.File{SetUID: true, Owner: 0}); n.EUID != 1000 || n.Permitted != 0 {
			t.Errorf("set-user-ID root: %+v", n)
		}
		r := kRoot()
		r.Permitted, r.Effective, r.NoNewPrivs = kBind, kBind, true
		for _, f := range []kernel.File{{}, {Caps: true, Permitted: kNetRaw}} {
			if n := kExec(t, r, f); n.Permitted&^kBind != 0 {
				t.Errorf("root with %+v: permitted %s", f, n.Permitted)
			}
		}
	}},
	"Across a uid change: when all of real, effective and saved uid leave 0, permitted, effective and ambient are cleared.": {check: func(t *testing.T) {
		c := kRoot()
		c.Inheritable, c.Ambient = kNetRaw, kNetRaw
		n := kOK(t)(c.SetResUID(1000, 1000, 1000))
		if n.Permitted != 0 || n.Effective != 0 || n.Ambient != 0 {
			t.Errorf("%+v", n)
		}
		c.UID, c.SUID = 0, 0
		if n := kOK(t)(c.SetResUID(0, 1000, 1000)); n.Permitted == 0 {
			t.Error("a uid still 0 and permitted was cleared")
		}
	}},
	"With KEEPCAPS set, only ambient is cleared then, and effective only if the effective uid was 0 before the change.": {check: func(t *testing.T) {
		c := kRoot()
		c.Inheritable, c.Ambient, c.Secure.KeepCaps = kNetRaw, kNetRaw, true
		if n := kOK(t)(c.SetResUID(1000, 1000, 1000)); n.Permitted != kAll || n.Effective != 0 || n.Ambient != 0 {
			t.Errorf("from euid 0: %+v", n)
		}
		c = kernel.Cred{UID: 0, EUID: 1000, SUID: 0, Permitted: kAll, Effective: kNetRaw, Inheritable: kNetRaw, Ambient: kNetRaw, Bounding: kAll,
			Secure: kernel.Securebits{KeepCaps: true}}
		if n := kOK(t)(c.SetResUID(1000, 1000, 1000)); n.Permitted != kAll || n.Effective != kNetRaw || n.Ambient != 0 {
			t.Errorf("from euid 1000: %+v", n)
		}
	}},
	"An effective uid going from 0 to nonzero clears effective; from nonzero to 0 it copies permitted into effective.": {check: func(t *testing.T) {
		n := kOK(t)(kRoot().SetEUID(1000))
		if n.Effective != 0 || n.Permitted != kAll {
			t.Errorf("0 -> 1000: %+v", n)
		}
		if n = kOK(t)(n.SetEUID(0)); n.Effective != kAll {
			t.Errorf("1000 -> 0: %+v", n)
		}
	}},
	"What mod_cap does to an FTP session: after a successful PASS it switches to the user with KEEPCAPS set and keeps only CAP_NET_BIND_SERVICE, CAP_CHOWN and CAP_SETUID/CAP_SETGID (plus CAP_AUDIT_WRITE with mod_auth_pam), adjusted by CapabilitiesSet.": {check: func(t *testing.T) {
		def := capset.Of(capset.NetBindService, capset.Chown, capset.Setuid, capset.Setgid)
		if p := predictFor(t, "", nonRoot, false); p.Kept != def || p.Permitted != def {
			t.Errorf("without PAM: kept %s permitted %s", p.Kept, p.Permitted)
		}
		if p := predictFor(t, "", nonRoot, true); p.Kept != def.With(capset.AuditWrite) {
			t.Errorf("with PAM: kept %s", p.Kept)
		}
		if p := predictFor(t, "CapabilitiesSet -CAP_CHOWN +CAP_DAC_OVERRIDE\n", nonRoot, false); p.Kept != def.Without(capset.Chown).With(capset.DacOverride) {
			t.Errorf("adjusted: kept %s", p.Kept)
		}
	}},
	"Then mod_auth's root revoke gives up uid 0: effective ends empty while permitted keeps the set, unless RootRevoke is off, CAP_SETUID was removed, or the user is root.": {check: func(t *testing.T) {
		p := predictFor(t, "", nonRoot, false)
		if p.Effective != 0 || p.Permitted != p.Kept || p.UIDs != [3]uint32{1000, 1000, 1000} {
			t.Errorf("default: %+v", p)
		}
		root := modcap.Login{User: "root", UID: 0, UIDKnown: true, AssumeRootLogin: true}
		for name, pr := range map[string]modcap.Prediction{
			"RootRevoke off": predictFor(t, "RootRevoke off\n", nonRoot, false),
			"-CAP_SETUID":    predictFor(t, "CapabilitiesSet -CAP_SETUID\n", nonRoot, false),
			"root":           predictFor(t, "", root, false),
		} {
			if pr.Refused || pr.Effective == 0 {
				t.Errorf("%s: effective %s (refused %v)", name, pr.Effective, pr.Refused)
			}
		}
	}},
	"The master process is never restricted.": {definition: "a fact about mod_cap's code (it acts in the session process after PASS), which captune's prediction starts from: the master's sets are an input"},
}

// TestPrimerClaims checks every rule the primer states against the
// models, and that every sentence of the primer has its entry (a new or
// reworded sentence fails until its claim is written or looked at).
func TestPrimerClaims(t *testing.T) {
	seen := map[string]bool{}
	for _, para := range primer {
		for _, s := range para {
			seen[s] = true
			c, ok := primerClaims[s]
			switch {
			case !ok:
				t.Errorf("the primer's sentence has no claim in primerClaims: %q", s)
			case c.check == nil && c.definition == "":
				t.Errorf("claim without check or reason: %q", s)
			case c.check != nil:
				t.Run(strings.Join(strings.Fields(s)[:min(6, len(strings.Fields(s)))], "_"), c.check)
			}
		}
	}
	for s := range primerClaims {
		if !seen[s] {
			t.Errorf("a claim for a sentence the primer no longer has: %q", s)
		}
	}
}

// refutedClaims are sentences an earlier primer stated, each with the
// claim it makes and a search for a counterexample in the model. They
// stay wrong: the test fails if the model stops refuting one (then the
// model changed, or the sentence was right) or if the primer says one
// again.
var refutedClaims = []struct {
	sentence       string
	counterexample func(t *testing.T) string
}{
	{"Bounding (Bnd): a ceiling. No execve grants anything outside it", func(t *testing.T) string {
		c := kUser(1000)
		c.Inheritable, c.Bounding = kNetRaw, kAll&^kNetRaw
		if n := kExec(t, c, kernel.File{Caps: true, Inheritable: kNetRaw}); n.Permitted&^c.Bounding != 0 {
			return "inheritable cap_net_raw outside the bounding set, file inheritable cap_net_raw: permitted gains " + (n.Permitted &^ c.Bounding).String()
		}
		return ""
	}},
	{"unless the thread set KEEPCAPS (then only ambient and effective go)", func(t *testing.T) string {
		c := kernel.Cred{UID: 0, EUID: 1000, SUID: 0, Permitted: kAll, Effective: kNetRaw, Bounding: kAll, Secure: kernel.Securebits{KeepCaps: true}}
		if n := kOK(t)(c.SetResUID(1000, 1000, 1000)); n.Effective != 0 {
			return "uids 0/1000/0 with KEEPCAPS to 1000/1000/1000: effective keeps " + n.Effective.String()
		}
		return ""
	}},
	{"A root process (real or effective uid 0) is treated as if its program had every file capability", func(t *testing.T) string {
		if n := kExec(t, kernel.Cred{UID: 0, EUID: 1000, SUID: 0, Bounding: kAll}, kernel.File{}); n.Effective != n.Permitted {
			return "real uid 0, effective uid 1000: the file effective bit does not count, effective is " + n.Effective.String()
		}
		return ""
	}},
}

// TestPrimerOldClaimsAreWrong: the three statements capabilities(7)
// contradicts are refuted by the model and are gone from the primer.
func TestPrimerOldClaimsAreWrong(t *testing.T) {
	text := primerText()
	for _, r := range refutedClaims {
		if strings.Contains(text, r.sentence) {
			t.Errorf("the primer says again: %q", r.sentence)
		}
		if ce := r.counterexample(t); ce == "" {
			t.Errorf("the model no longer refutes %q", r.sentence)
		} else {
			t.Logf("refuted: %q: %s", r.sentence, ce)
		}
	}
}
