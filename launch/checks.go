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

// Check compares the plan with captune's own state (self, as procscan
// reads it) and refuses a plan captune cannot carry out: apply never grants
// a capability outside captune's own permitted and bounding sets.
func (p Plan) Check(self procscan.Process) error {
	var r Refusal
	eff, prm, bnd := self.Sets.Effective, self.Sets.Permitted, self.Sets.Bounding
	need := capset.Set(0)
	if p.UID != self.EUID || p.GID != self.EGID {
		need = need.With(capset.Setuid).With(capset.Setgid)
	}
	raiseInh := p.LaunchInh &^ (self.Sets.Inheritable | prm)
	dropBnd := bnd &^ p.LaunchBnd
	if dropBnd != 0 || raiseInh != 0 {
		need = need.With(capset.Setpcap)
	}
	if missing := need &^ eff; missing != 0 {
		r.Privilege = true
		r.Reasons = append(r.Reasons, fmt.Sprintf("captune lacks %s in its effective set (needed to %s)", missing, purpose(missing)))
	}
	want := p.Target.Permitted | p.Target.Effective | p.Target.Inheritable | p.Target.Ambient
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
	return strings.Join(p, " and ")
}
