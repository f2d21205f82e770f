package modcap

import (
	"fmt"
	"strings"

	"captune/capset"
)

// Expressible is the widest set mod_cap can keep: its six switchable
// capabilities, SETGID (which follows SETUID), NET_BIND_SERVICE and
// AUDIT_WRITE.
var Expressible = capset.Of(capset.Chown, capset.DacOverride, capset.DacReadSearch, capset.Fowner,
	capset.Fsetid, capset.Setuid, capset.Setgid, capset.NetBindService, capset.AuditWrite)

// Role says what mod_cap can do with one capability.
type Role int

// The roles, as the tuner shows them.
const (
	// NeverKept: mod_cap always drops it.
	NeverKept Role = iota
	// AlwaysKept: CAP_NET_BIND_SERVICE, which cannot be removed.
	AlwaysKept
	// RemovableDefault: kept unless a '-' token removes it (CHOWN, SETUID).
	RemovableDefault
	// FollowsSetuid: SETGID, kept exactly when SETUID is.
	FollowsSetuid
	// OptIn: dropped unless a '+' token adds it.
	OptIn
	// DefaultOnly: AUDIT_WRITE, kept only while no CapabilitiesSet applies
	// and mod_auth_pam is loaded.
	DefaultOnly
)

// RoleOf returns mod_cap's treatment of c.
func RoleOf(c capset.Cap) Role {
	switch c {
	case capset.NetBindService:
		return AlwaysKept
	case capset.Chown, capset.Setuid:
		return RemovableDefault
	case capset.Setgid:
		return FollowsSetuid
	case capset.DacOverride, capset.DacReadSearch, capset.Fowner, capset.Fsetid:
		return OptIn
	case capset.AuditWrite:
		return DefaultOnly
	}
	return NeverKept
}

// Explain describes mod_cap's treatment of c in a sentence.
func Explain(c capset.Cap) string {
	u := c.Upper()
	switch RoleOf(c) {
	case AlwaysKept:
		return u + " is always kept: mod_cap needs it to bind ports below 1024, and no token removes it."
	case RemovableDefault:
		if c == capset.Setuid {
			return "CAP_SETUID is kept by default, together with CAP_SETGID; -CAP_SETUID drops both (+CAP_SETUID is accepted and does nothing)."
		}
		return u + " is kept by default; -" + u + " drops it (+" + u + " is accepted and does nothing)."
	case FollowsSetuid:
		return "CAP_SETGID has no token of its own: it is kept exactly when CAP_SETUID is (-CAP_SETUID drops both)."
	case OptIn:
		return u + " is dropped by default; +" + u + " keeps it (-" + u + " is accepted and does nothing)."
	case DefaultOnly:
		return "CAP_AUDIT_WRITE is kept only with mod_auth_pam loaded and no CapabilitiesSet line: any CapabilitiesSet line drops it, and no token can request it."
	}
	return u + " is always dropped in a session process: mod_cap has no token for it."
}

// Problem is one reason a set cannot be expressed.
type Problem struct {
	Cap    capset.Cap
	Reason string
}

// UnexpressibleError lists why mod_cap cannot keep exactly a set, and the
// nearest set it can keep.
type UnexpressibleError struct {
	Want     capset.Set
	Problems []Problem
	Nearest  capset.Set
}

// Error lists every reason on one line. Sets are written compactly
// (capset.Set.Brief), and the capabilities mod_cap has no token for are
// one reason when there are many, so that the reasons always fit.
func (e *UnexpressibleError) Error() string {
	var rs []string
	var never capset.Set
	for _, p := range e.Problems {
		if !Expressible.Has(p.Cap) {
			never = never.With(p.Cap)
		}
	}
	grouped := never.Len() > neverListed
	for _, p := range e.Problems {
		if grouped && never.Has(p.Cap) {
			continue
		}
		rs = append(rs, p.Reason)
	}
	if grouped {
		rs = append(rs, fmt.Sprintf("%s are never kept (mod_cap has no token for them; it keeps only %s)",
			never.Brief(), (Expressible|DefaultKept(true)).String()))
	}
	return fmt.Sprintf("mod_cap cannot keep exactly %s: %s; nearest set it can keep: %s (%s)",
		e.Want.Brief(), strings.Join(rs, "; "), e.Nearest, e.Nearest.Hex())
}

// neverListed is how many never-kept capabilities Error names one by one.
const neverListed = 3

// Block is a directive block that makes mod_cap keep a set.
type Block struct {
	// Kept is the set a session keeps with this block.
	Kept capset.Set
	// Tokens are the CapabilitiesSet arguments; nil means no line.
	Tokens []Token
	// Engine is false for a block that switches mod_cap off.
	Engine bool
}

// String prints the block as it goes into proftpd.conf.
func (b Block) String() string {
	var sb strings.Builder
	sb.WriteString("<IfModule mod_cap.c>\n")
	if !b.Engine {
		sb.WriteString("  CapabilitiesEngine off\n")
	} else {
		sb.WriteString("  CapabilitiesEngine on\n")
		if b.Tokens != nil {
			parts := make([]string, len(b.Tokens))
			for i, t := range b.Tokens {
				parts[i] = t.String()
			}
			sb.WriteString("  CapabilitiesSet " + strings.Join(parts, " ") + "\n")
		}
	}
	sb.WriteString("</IfModule>\n")
	return sb.String()
}

// Emit returns the minimal block that makes mod_cap keep exactly want:
// tokens in catalogue order, only those that move a bit, no
// CapabilitiesSet line for the default set, and the no-op +CAP_CHOWN for
// the default set without CAP_AUDIT_WRITE when PAM is loaded.
func Emit(want capset.Set, pam bool) (Block, error) {
	if probs := problems(want, pam); len(probs) > 0 {
		return Block{}, &UnexpressibleError{Want: want, Problems: probs, Nearest: Nearest(want, pam)}
	}
	b := Block{Kept: want, Engine: true}
	if want == DefaultKept(pam) {
		return b, nil
	}
	b.Tokens = []Token{}
	for _, c := range Tokenable {
		switch RoleOf(c) {
		case RemovableDefault:
			if !want.Has(c) {
				b.Tokens = append(b.Tokens, Token{Add: false, Cap: c})
			}
		case OptIn:
			if want.Has(c) {
				b.Tokens = append(b.Tokens, Token{Add: true, Cap: c})
			}
		}
	}
	if len(b.Tokens) == 0 {
		b.Tokens = []Token{{Add: true, Cap: capset.Chown}}
	}
	return b, nil
}

func problems(want capset.Set, pam bool) []Problem {
	var out []Problem
	if !want.Has(capset.NetBindService) {
		out = append(out, Problem{capset.NetBindService, "CAP_NET_BIND_SERVICE is always kept"})
	}
	if want.Has(capset.Setuid) != want.Has(capset.Setgid) {
		if want.Has(capset.Setgid) {
			out = append(out, Problem{capset.Setgid, "CAP_SETGID goes with CAP_SETUID (keep both or neither)"})
		} else {
			out = append(out, Problem{capset.Setuid, "CAP_SETUID goes with CAP_SETGID (keep both or neither)"})
		}
	}
	if want.Has(capset.AuditWrite) {
		// Judge AUDIT_WRITE against the rest of the set as the other
		// reasons fix it (as Nearest does), so that an unrelated problem
		// such as CAP_SYS_ADMIN does not make it one too.
		rest := (want & Expressible).With(capset.NetBindService).Without(capset.AuditWrite)
		if rest.Has(capset.Setuid) || rest.Has(capset.Setgid) {
			rest = rest.With(capset.Setuid).With(capset.Setgid)
		}
		switch {
		case !pam:
			out = append(out, Problem{capset.AuditWrite, "CAP_AUDIT_WRITE is kept only when mod_auth_pam is loaded"})
		case rest != DefaultKept(false):
			out = append(out, Problem{capset.AuditWrite, "CAP_AUDIT_WRITE is kept only without a CapabilitiesSet line, i.e. only with the default set"})
		}
	}
	for _, c := range (want &^ Expressible).Caps() {
		out = append(out, Problem{c, c.String() + " is never kept (mod_cap has no token for it)"})
	}
	return out
}

// Nearest returns the expressible set closest to want: its expressible
// part, with NET_BIND_SERVICE, SETGID joined to SETUID, and AUDIT_WRITE
// only where it can stay.
func Nearest(want capset.Set, pam bool) capset.Set {
	s := (want & Expressible).With(capset.NetBindService)
	if s.Has(capset.Setuid) || s.Has(capset.Setgid) {
		s = s.With(capset.Setuid).With(capset.Setgid)
	}
	if s.Has(capset.AuditWrite) && (!pam || s.Without(capset.AuditWrite) != DefaultKept(false)) {
		s = s.Without(capset.AuditWrite)
	}
	return s
}

// KeptByTokens returns the set a session keeps for a CapabilitiesSet line
// with these tokens; nil tokens mean no line (the defaults).
func KeptByTokens(tokens []Token, pam bool) capset.Set {
	if tokens == nil {
		return DefaultKept(pam)
	}
	return Apply(tokens).Kept(false)
}
