package launch

import (
	"errors"
	"fmt"

	"captune/capset"
	"captune/procscan"
)

// Result is a launched process read back and compared with its plan.
type Result struct {
	Plan   Plan
	PID    int
	Actual Sets
	// UIDs are the process's real, effective and saved uid.
	UIDs [3]uint32
	// Threads differing from the leader, as procscan saw them.
	Threads     []procscan.Thread
	Match       bool
	Differences []string
	Probes      []Probe
}

// ErrExited reports a raw-mode command that ended before captune could
// read it back: nothing was read back.
var ErrExited = errors.New("the command ended before captune could read it back: nothing was read back")

// ReadBack reads the process's status (and its threads') through the
// scanner and compares each of the five sets with the plan. A command
// that has already ended (a zombie: its supervisor reaps it only after
// the read-back) is not read: the error wraps ErrExited.
func ReadBack(sc *procscan.Scanner, d *Daemon, p Plan) (Result, error) {
	r := Result{Plan: p, PID: d.PID, Probes: d.Probes}
	proc, err := sc.Process(d.PID)
	if err == nil && (proc.State == 'Z' || proc.State == 'X') {
		return r, fmt.Errorf("PID %d: %w", d.PID, ErrExited)
	}
	if err != nil {
		if d.Command && errors.Is(err, procscan.ErrProcGone) {
			return r, fmt.Errorf("PID %d: %w", d.PID, ErrExited)
		}
		return r, fmt.Errorf("reading back PID %d: %w", d.PID, err)
	}
	s := proc.Sets
	r.Actual = Sets{Inheritable: s.Inheritable, Permitted: s.Permitted, Effective: s.Effective, Bounding: s.Bounding, Ambient: s.Ambient}
	r.UIDs = [3]uint32{proc.UID, proc.EUID, proc.SUID}
	r.Threads = proc.Threads
	r.Differences = Compare(p.Target, r.Actual)
	if proc.EUID != p.UID {
		r.Differences = append(r.Differences, fmt.Sprintf("uid: intended %d, actual %d/%d/%d", p.UID, proc.UID, proc.EUID, proc.SUID))
	}
	for _, t := range proc.Threads {
		r.Differences = append(r.Differences, fmt.Sprintf("thread %d differs from its leader (effective %s)", t.TID, t.Sets.Effective.Hex()))
	}
	r.Match = len(r.Differences) == 0
	return r, nil
}

// Compare lists how actual differs from intended, set by set, with the
// likely reason.
func Compare(want, got Sets) []string {
	var out []string
	for _, c := range []struct {
		name      string
		want, got capset.Set
		why       string
	}{
		{"permitted", want.Permitted, got.Permitted, "the launcher could not hand these over"},
		{"effective", want.Effective, got.Effective, "effective follows permitted and the uid"},
		{"inheritable", want.Inheritable, got.Inheritable, ""},
		{"bounding", want.Bounding, got.Bounding, "the bounding set is inherited from captune"},
		{"ambient", want.Ambient, got.Ambient, "ambient bits must also be permitted and inheritable"},
	} {
		if c.want == c.got {
			continue
		}
		d := fmt.Sprintf("%s: intended %s, actual %s", c.name, c.want.Hex(), c.got.Hex())
		if extra := c.got &^ c.want; extra != 0 {
			d += "; extra " + extra.String()
		}
		if missing := c.want &^ c.got; missing != 0 {
			d += "; missing " + missing.String()
		}
		if c.why != "" {
			d += " (" + c.why + ")"
		}
		out = append(out, d)
	}
	return out
}
