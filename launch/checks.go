package launch

import (
	"fmt"
	"strings"

	"captune/capset"
	"captune/procscan"
)

// Refusal says why a plan cannot run; nothing was launched.
type Refusal struct {
	// Privilege is set when captune lacks capabilities (exit 4); otherwise
	// the input is at fault (exit 2).
	Privilege bool
	Reasons   []string
}

// Error lists every reason on one line.
func (r *Refusal) Error() string {
	s := "not launched: " + strings.Join(r.Reasons, "; ")
	if r.Privilege {
		s += " (exploring, ps, decode, emit and predict work without these)"
	}
	return s
}

// Grants is the most the launched process can hold after its exec: what
// the launcher hands over as inheritable and ambient, and for uid 0 also
// the bounding set, because an exec as root refills permitted from it.
func (p Plan) Grants() capset.Set {
	g := p.LaunchInh | p.LaunchAmb
	if p.UID == 0 {
		g |= p.LaunchBnd
	}
	return g
}

// changesIdentity reports whether the launch must switch uid, gid and
// groups (which needs CAP_SETUID and CAP_SETGID): it does not when the
// plan's uid and gid are already self's real, effective and saved ids.
func (p Plan) changesIdentity(self procscan.Process) bool {
	return p.UID != self.UID || p.UID != self.EUID || p.UID != self.SUID || p.GID != self.GID || p.GID != self.EGID
}

// Check compares the plan with the state of the process that will carry
// it out (self, as procscan reads it) and refuses a plan it cannot carry
// out or that would grant more than self holds: the launched process may
// never hold a capability outside self's own permitted and bounding sets,
// counting what its exec will really grant (see Grants). captune runs it
// before anything starts; the raw-mode supervisor runs it again on its own
// state before it launches the command. The capabilities it may ask for
// are CAP_SETUID and CAP_SETGID (to switch to the daemon's uid and gid),
// CAP_SETPCAP (to narrow the bounding set or hand over inheritable
// capabilities) and, for the probe daemon, CAP_CHOWN (to give the
// daemon's files their owners).
func (p Plan) Check(self procscan.Process) error {
	var r Refusal
	eff, prm, bnd := self.Sets.Effective, self.Sets.Permitted, self.Sets.Bounding
	need := capset.Set(0)
	if p.changesIdentity(self) {
		need = need.With(capset.Setuid).With(capset.Setgid)
	}
	raiseInh := p.LaunchInh &^ (self.Sets.Inheritable | prm)
	dropBnd := bnd &^ p.LaunchBnd
	if dropBnd != 0 || raiseInh != 0 {
		need = need.With(capset.Setpcap)
	}
	if len(p.Command) == 0 {
		need = need.With(capset.Chown)
	}
	if missing := need &^ eff; missing != 0 {
		r.Privilege = true
		r.Reasons = append(r.Reasons, fmt.Sprintf("captune lacks %s in its effective set (needed to %s)", missing, purpose(missing)))
	}
	want := p.Target.Permitted | p.Target.Effective | p.Target.Inheritable | p.Target.Ambient | p.Grants()
	if outside := want &^ (prm & bnd); outside != 0 {
		r.Privilege = true
		r.Reasons = append(r.Reasons, fmt.Sprintf("the requested set holds %s, outside captune's own permitted and bounding sets", outside))
	}
	if len(r.Reasons) > 0 {
		return &r
	}
	return nil
}

func purpose(s capset.Set) string {
	var p []string
	if s.Has(capset.Setuid) || s.Has(capset.Setgid) {
		p = append(p, "switch to the daemon's uid and gid")
	}
	if s.Has(capset.Setpcap) {
		p = append(p, "narrow the bounding set and hand over inheritable capabilities")
	}
	if s.Has(capset.Chown) {
		p = append(p, "give the probe daemon's files their owners")
	}
	return strings.Join(p, " and ")
}
