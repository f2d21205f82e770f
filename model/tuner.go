package model

import (
	"fmt"
	"strings"

	"captune/capset"
	"captune/capset/modcap"
)

// Target is the format the tuned set is written in.
type Target int

// The targets, in the order the target key cycles through them.
const (
	TargetModcap Target = iota
	TargetSystemd
	TargetDocker
	TargetCapsh
)

var targetNames = []string{"modcap", "systemd", "docker", "capsh"}

// String names the target.
func (t Target) String() string {
	if int(t) < len(targetNames) {
		return targetNames[t]
	}
	return "unknown"
}

// ParseTarget reads a target name.
func ParseTarget(s string) (Target, error) {
	for i, n := range targetNames {
		if strings.EqualFold(s, n) {
			return Target(i), nil
		}
	}
	return 0, fmt.Errorf("unknown target %q (modcap, systemd, docker or capsh)", s)
}

// TunerState is one undoable state of the tuner.
type TunerState struct {
	// Line says whether a CapabilitiesSet line exists (modcap target);
	// Flags are its switches.
	Line  bool
	Flags modcap.Flags
	// Free is the tuned set of the other targets.
	Free capset.Set
	// Target is the output format.
	Target Target
}

// Tuner holds the tuned set and its history.
type Tuner struct {
	pam  bool
	cur  TunerState
	undo []TunerState
	redo []TunerState
	// start is what Reset returns to.
	start TunerState
	// Note is the last message for the user (why a toggle was refused, what
	// changed besides the toggled capability).
	Note string
}

// NewTuner starts from mod_cap's default set; pam says whether
// mod_auth_pam is loaded (it adds CAP_AUDIT_WRITE to the defaults).
func NewTuner(pam bool) *Tuner {
	t := &Tuner{pam: pam}
	t.cur = TunerState{Flags: modcap.DefaultFlags, Free: modcap.DefaultKept(pam)}
	t.start = t.cur
	return t
}

// Target returns the current target.
func (t *Tuner) Target() Target { return t.cur.Target }

// SetTarget switches the output format; the kept set carries over (for
// modcap, as the nearest set mod_cap can express).
func (t *Tuner) SetTarget(tg Target) {
	if tg == t.cur.Target {
		return
	}
	kept := t.Kept()
	t.push()
	t.cur.Target = tg
	if tg == TargetModcap {
		t.cur.Line, t.cur.Flags = stateFor(modcap.Nearest(kept, t.pam), t.pam)
	} else {
		t.cur.Free = kept
	}
}

// PAM reports whether mod_auth_pam is assumed loaded.
func (t *Tuner) PAM() bool { return t.pam }

// State returns the current state.
func (t *Tuner) State() TunerState { return t.cur }

// Kept returns the tuned set: what a session keeps (modcap) or the set
// written for the other targets.
func (t *Tuner) Kept() capset.Set {
	if t.cur.Target != TargetModcap {
		return t.cur.Free
	}
	if !t.cur.Line {
		return modcap.DefaultKept(t.pam)
	}
	return t.cur.Flags.Kept(false)
}

// Tokens returns the CapabilitiesSet tokens (nil: no line).
func (t *Tuner) Tokens() []modcap.Token {
	b, err := modcap.Emit(t.Kept(), t.pam)
	if err != nil {
		return nil
	}
	return b.Tokens
}

// Lock says why a capability cannot be toggled in the modcap target, or "".
func (t *Tuner) Lock(c capset.Cap) string {
	if t.cur.Target != TargetModcap {
		return ""
	}
	switch modcap.RoleOf(c) {
	case modcap.AlwaysKept:
		return "always kept"
	case modcap.FollowsSetuid:
		return "follows CAP_SETUID"
	case modcap.NeverKept:
		return "never kept"
	case modcap.DefaultOnly:
		if !t.pam {
			return "needs mod_auth_pam"
		}
		if t.cur.Line && t.cur.Flags != modcap.DefaultFlags {
			return "only without other tokens"
		}
	}
	return ""
}

// Toggle flips capability c. In the modcap target it flips c's
// CapabilitiesSet token; the result is reported in Note. It returns false
// (and says why in Note) when c is locked.
func (t *Tuner) Toggle(c capset.Cap) bool {
	t.Note = ""
	if t.cur.Target != TargetModcap {
		t.push()
		t.cur.Free = t.cur.Free.Toggle(c)
		return true
	}
	if lock := t.Lock(c); lock != "" {
		t.Note = modcap.Explain(c)
		return false
	}
	before := t.Kept()
	t.push()
	if c == capset.AuditWrite {
		if t.cur.Line {
			t.cur.Line = false
			t.Note = "no CapabilitiesSet line any more: mod_cap keeps its defaults, CAP_AUDIT_WRITE included"
		} else {
			t.cur.Line, t.cur.Flags = true, modcap.DefaultFlags
			t.Note = "CAP_AUDIT_WRITE can only be dropped by adding a CapabilitiesSet line (the no-op +CAP_CHOWN)"
		}
		return true
	}
	if !t.cur.Line {
		t.cur.Line, t.cur.Flags = true, modcap.DefaultFlags
	}
	switch c {
	case capset.Chown:
		t.cur.Flags.Chown = !t.cur.Flags.Chown
	case capset.Setuid:
		t.cur.Flags.Setuid = !t.cur.Flags.Setuid
	case capset.DacOverride:
		t.cur.Flags.DacOverride = !t.cur.Flags.DacOverride
	case capset.DacReadSearch:
		t.cur.Flags.DacReadSearch = !t.cur.Flags.DacReadSearch
	case capset.Fowner:
		t.cur.Flags.Fowner = !t.cur.Flags.Fowner
	case capset.Fsetid:
		t.cur.Flags.Fsetid = !t.cur.Flags.Fsetid
	}
	after := t.Kept()
	var also []string
	if before.Has(capset.AuditWrite) && !after.Has(capset.AuditWrite) {
		also = append(also, "CAP_AUDIT_WRITE leaves too: any CapabilitiesSet line drops it (PAM uses it for audit records)")
	}
	if c == capset.Setuid {
		also = append(also, "CAP_SETGID follows CAP_SETUID")
	}
	t.Note = strings.Join(also, "; ")
	return true
}

// StartFrom makes s the starting point (e.g. a process's permitted set);
// in the modcap target the nearest set mod_cap can keep is taken, and Note
// says what could not be carried over.
func (t *Tuner) StartFrom(s capset.Set) {
	t.push()
	t.Note = ""
	if t.cur.Target == TargetModcap {
		near := modcap.Nearest(s, t.pam)
		t.cur.Line, t.cur.Flags = stateFor(near, t.pam)
		t.cur.Free = near
		if lost := s &^ near; !lost.Empty() {
			t.Note = "mod_cap cannot keep " + lost.String()
		}
	} else {
		t.cur.Free = s
	}
	t.start = t.cur
}

// LoadTokens starts the tuner from a CapabilitiesSet line's tokens (nil:
// no line), e.g. from a configuration file.
func (t *Tuner) LoadTokens(tokens []modcap.Token) {
	if tokens == nil {
		t.cur = TunerState{Flags: modcap.DefaultFlags, Free: modcap.DefaultKept(t.pam)}
	} else {
		t.cur = TunerState{Line: true, Flags: modcap.Apply(tokens)}
		t.cur.Free = t.cur.Flags.Kept(false)
	}
	t.start = t.cur
	t.undo, t.redo = nil, nil
}

// stateFor returns the line and flags that keep an expressible set.
func stateFor(s capset.Set, pam bool) (bool, modcap.Flags) {
	if s == modcap.DefaultKept(pam) {
		return false, modcap.DefaultFlags
	}
	return true, modcap.Flags{
		Chown: s.Has(capset.Chown), DacOverride: s.Has(capset.DacOverride), DacReadSearch: s.Has(capset.DacReadSearch),
		Fowner: s.Has(capset.Fowner), Fsetid: s.Has(capset.Fsetid), Setuid: s.Has(capset.Setuid),
	}
}

func (t *Tuner) push() {
	t.undo = append(t.undo, t.cur)
	if len(t.undo) > 1000 {
		t.undo = t.undo[1:]
	}
	t.redo = nil
}

// Undo steps back; it reports false when there is nothing to undo.
func (t *Tuner) Undo() bool {
	if len(t.undo) == 0 {
		return false
	}
	t.redo = append(t.redo, t.cur)
	t.cur = t.undo[len(t.undo)-1]
	t.undo = t.undo[:len(t.undo)-1]
	t.Note = ""
	return true
}

// Redo steps forward again; it reports false when there is nothing to redo.
func (t *Tuner) Redo() bool {
	if len(t.redo) == 0 {
		return false
	}
	t.undo = append(t.undo, t.cur)
	t.cur = t.redo[len(t.redo)-1]
	t.redo = t.redo[:len(t.redo)-1]
	t.Note = ""
	return true
}

// Reset returns to the starting point (undoable).
func (t *Tuner) Reset() {
	t.push()
	target := t.cur.Target
	t.cur = t.start
	if target != t.cur.Target {
		t.cur.Target = target
		if target == TargetModcap {
			t.cur.Line, t.cur.Flags = stateFor(modcap.Nearest(t.start.Free, t.pam), t.pam)
		}
	}
	t.Note = ""
}

// Output returns the tuned set in the current target's format.
func (t *Tuner) Output(user string) string {
	kept := t.Kept()
	switch t.cur.Target {
	case TargetSystemd:
		return capset.Systemd(kept)
	case TargetDocker:
		return capset.Docker(kept)
	case TargetCapsh:
		return capset.Capsh(kept, user)
	}
	b, err := modcap.Emit(kept, t.pam)
	if err != nil {
		return err.Error()
	}
	return b.String()
}
