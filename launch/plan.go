package launch

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"time"

	"captune/capset"
	"captune/capset/modcap"
)

// Mode says how the target state is reached.
type Mode int

// The modes.
const (
	// ModeModcap emulates a proftpd session process: the probe daemon
	// starts as a non-root user and shapes itself to the predicted state.
	ModeModcap Mode = iota
	// ModeRaw gives any set to the probe daemon or to a given command.
	ModeRaw
)

// String names the mode.
func (m Mode) String() string {
	if m == ModeRaw {
		return "raw"
	}
	return "modcap"
}

// Sets are the five sets of a process.
type Sets struct {
	Inheritable, Permitted, Effective, Bounding, Ambient capset.Set
}

// Plan says exactly what will run, as whom, with which sets, and why.
type Plan struct {
	Mode Mode
	// Command is the program to run (raw mode); empty runs the built-in
	// probe daemon.
	Command []string
	// UID, GID and Groups are the identity the process gets.
	UID, GID uint32
	Groups   []uint32
	// User names the uid for people.
	User string
	// Target is the state the process is expected to reach.
	Target Sets
	// Launch is what the launcher hands over: inheritable and ambient,
	// and the bounding set to keep (the rest is dropped).
	LaunchInh, LaunchAmb, LaunchBnd capset.Set
	// Shape tells the probe daemon to shape itself to Target after start
	// (modcap mode: permitted and effective as predicted, inheritable and
	// ambient empty).
	Shape bool
	// Keep detaches the daemon and stops it after this long (0: it stops
	// with captune).
	Keep time.Duration
	// Why explains the plan, point by point.
	Why []string
	// Notes are limits of the test worth knowing.
	Notes []string
}

// ErrUnknownUser reports a --uid that names no user.
var ErrUnknownUser = errors.New("unknown user")

// ErrBadID reports a uid or gid that is not one: (uid_t)-1, 4294967295,
// means "leave unchanged" to setresuid(2) and chown(2).
var ErrBadID = errors.New("not a uid")

// noID is (uid_t)-1 and (gid_t)-1.
const noID = ^uint32(0)

// Identity resolves a user name or number to uid, gid and groups; a
// number without a passwd entry gets itself as gid. 4294967295 is no uid
// (ErrBadID).
func Identity(spec string) (uid, gid uint32, groups []uint32, name string, err error) {
	if spec == "" {
		spec = "nobody"
	}
	var u *user.User
	if n, perr := strconv.ParseUint(spec, 10, 32); perr == nil {
		if uint32(n) == noID {
			return 0, 0, nil, "", fmt.Errorf("%w: %s is (uid_t)-1, which the kernel reads as \"leave the uid unchanged\"", ErrBadID, spec)
		}
		u, err = user.LookupId(spec)
		if err != nil {
			return uint32(n), uint32(n), nil, spec, nil
		}
	} else {
		u, err = user.Lookup(spec)
		if err != nil {
			return 0, 0, nil, "", fmt.Errorf("%w %q", ErrUnknownUser, spec)
		}
	}
	uv, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gv, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil || uint32(uv) == noID || uint32(gv) == noID {
		return 0, 0, nil, "", fmt.Errorf("%w: user %q has uid %s and gid %s", ErrBadID, spec, u.Uid, u.Gid)
	}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil && uint32(g) != uint32(gv) {
				groups = append(groups, uint32(g))
			}
		}
	}
	return uint32(uv), uint32(gv), groups, u.Username, nil
}

// ModcapPlan builds the plan that emulates a proftpd session for a
// prediction: the probe daemon runs as uid with the predicted permitted
// set handed over through inheritable+ambient, then shapes itself.
// bounding is the bounding set the daemon inherits (captune's own).
func ModcapPlan(pred modcap.Prediction, uid, gid uint32, groups []uint32, name string, bounding capset.Set) Plan {
	p := Plan{
		Mode: ModeModcap, UID: uid, GID: gid, Groups: groups, User: name, Shape: true,
		Target:    Sets{Permitted: pred.Permitted, Effective: pred.Effective, Bounding: bounding},
		LaunchInh: pred.Permitted, LaunchAmb: pred.Permitted, LaunchBnd: bounding,
	}
	p.Why = append(p.Why,
		fmt.Sprintf("the probe daemon starts as %s (uid %d) with %s as inheritable and ambient, so it holds them after exec", name, uid, orNone(pred.Permitted)),
		fmt.Sprintf("it then shapes itself like a proftpd session: permitted %s, effective %s, inheritable and ambient empty", pred.Permitted.Hex(), pred.Effective.Hex()),
		"the bounding set is left as it was: mod_cap never touches it")
	if !pred.Engine {
		p.Notes = append(p.Notes, "mod_cap is off in this configuration: the session process is not restricted by mod_cap at all")
	}
	if pred.UIDs[0] == 0 || pred.UIDs[2] == 0 {
		p.Notes = append(p.Notes, "the prediction keeps uid 0 as real or saved uid; a non-root daemon cannot show that risk: such a session can regain euid 0, and a later exec regains every capability of the bounding set")
	}
	return p
}

// RawPlan gives exactly set to a command (or the probe daemon). A non-root
// uid gets it through inheritable+ambient, with the bounding set narrowed
// to it; uid 0 gets it through the bounding set alone, because an exec as
// root refills permitted and effective from the bounding set.
func RawPlan(set capset.Set, uid, gid uint32, groups []uint32, name string, command []string, known capset.Set) Plan {
	p := Plan{Mode: ModeRaw, Command: command, UID: uid, GID: gid, Groups: groups, User: name, LaunchBnd: set & known}
	if uid == 0 {
		p.Target = Sets{Permitted: set, Effective: set, Bounding: set & known}
		p.Why = append(p.Why,
			fmt.Sprintf("runs as root: the bounding set is narrowed to %s", orNone(set)),
			"an exec as root refills permitted and effective from the bounding set, so it holds exactly that")
	} else {
		p.Target = Sets{Inheritable: set, Permitted: set, Effective: set, Ambient: set, Bounding: set & known}
		p.LaunchInh, p.LaunchAmb = set, set
		p.Why = append(p.Why,
			fmt.Sprintf("runs as %s (uid %d) with %s as inheritable and ambient: an exec keeps ambient capabilities in permitted and effective", name, uid, orNone(set)),
			"the bounding set is narrowed to the same set, so nothing outside it can ever come back")
	}
	return p
}

func orNone(s capset.Set) string {
	if s == 0 {
		return "no capabilities"
	}
	return s.String()
}

// Preview renders the plan for confirmation.
func (p Plan) Preview() string {
	var b strings.Builder
	what := "captune's probe daemon (captune re-executed in a hidden test mode)"
	if len(p.Command) > 0 {
		what = commandLine(p.Command)
	}
	fmt.Fprintf(&b, "will run:   %s\n", what)
	fmt.Fprintf(&b, "mode:       %s\n", p.Mode)
	groups := ""
	if len(p.Groups) > 0 {
		var gs []string
		for _, g := range p.Groups {
			gs = append(gs, strconv.FormatUint(uint64(g), 10))
		}
		groups = ", groups " + strings.Join(gs, ",")
	}
	fmt.Fprintf(&b, "as:         %s (uid %d, gid %d%s)\n", p.User, p.UID, p.GID, groups)
	fmt.Fprintf(&b, "target:     permitted   %s  %s\n", p.Target.Permitted.Hex(), p.Target.Permitted)
	fmt.Fprintf(&b, "            effective   %s  %s\n", p.Target.Effective.Hex(), p.Target.Effective)
	fmt.Fprintf(&b, "            inheritable %s  %s\n", p.Target.Inheritable.Hex(), p.Target.Inheritable)
	fmt.Fprintf(&b, "            ambient     %s  %s\n", p.Target.Ambient.Hex(), p.Target.Ambient)
	fmt.Fprintf(&b, "            bounding    %s\n", p.Target.Bounding.Hex())
	switch {
	case p.Keep > 0:
		fmt.Fprintf(&b, "lifetime:   detached; stops by itself after %s (or on SIGTERM)\n", p.Keep)
	case len(p.Command) > 0:
		b.WriteString("lifetime:   runs until it ends (ctrl+c or SIGTERM stop it); stopped if captune is killed\n")
	default:
		b.WriteString("lifetime:   stopped when captune exits (even if captune is killed)\n")
	}
	for _, w := range p.Why {
		fmt.Fprintf(&b, "why:        %s\n", w)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note:       %s\n", n)
	}
	return b.String()
}

// commandLine writes argv so that a shell would split it back: plain
// words as they are, others quoted with Go's escapes (a control character
// or a byte that is not UTF-8 never reaches the terminal raw).
func commandLine(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		plain := a != ""
		for _, r := range a {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+%@", r)) {
				plain = false
				break
			}
		}
		if plain {
			out[i] = a
		} else {
			out[i] = strconv.Quote(a)
		}
	}
	return strings.Join(out, " ")
}
