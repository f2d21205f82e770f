package proftpd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"captune/capset"
	"captune/capset/modcap"
)

// Observed is the session process as read from /proc after the login.
type Observed struct {
	// PID is the session process; 0 when the login was refused.
	PID int
	// Refused is set when proftpd did not let the login in; At says
	// where ("connect", "banner", "HOST", "USER", "PASS") and Reply what
	// it answered.
	Refused bool
	At      string
	Reply   string
	// Transcript is the FTP exchange (banner, HOST, USER, PASS replies).
	Transcript []string
	// The session process's sets.
	Permitted, Effective, Inheritable, Ambient, Bounding capset.Set
	// UIDs are the real, effective and saved uid.
	UIDs [3]uint32
}

// Report is the outcome of one verify run.
type Report struct {
	// Bin and Version are the proftpd that ran ("1.3.8").
	Bin, Version string
	// Directives are the lines under test (a Directives run); Source is
	// the user's file (a Config run). Config is the whole configuration
	// that ran (its paths pointed into the removed folder).
	Directives, Source, Config string
	// Changes are what a Config run changed in the file; Notes other
	// facts about the run.
	Changes []Change
	Notes   []string
	// Target is the address and port the client connected to, Client its
	// own address, Hosts the names sent with HOST, NetAddrs the addresses
	// the run's private network was given (all in that network).
	Target   netip.AddrPort
	Client   netip.Addr
	Hosts    []string
	NetAddrs []netip.Addr
	// Account is the login user.
	Account Account
	// MasterPID is the master; MasterPermitted and MasterBounding its
	// CapPrm and CapBnd, which the prediction starts from.
	MasterPID                       int
	MasterPermitted, MasterBounding capset.Set
	// Predicted is modcap.Predict on the same configuration and login.
	Predicted modcap.Prediction
	Observed  Observed
	// Match is set when nothing differs; Differences lists what does.
	Match       bool
	Differences []string
}

// Verify runs spec on a throwaway proftpd, logs in, reads the session
// process and compares it with captune's prediction for the
// configuration that ran, the same login (user, uid, groups, the client's
// address, the address and port it reached, the HOST names) and the
// master's real sets. Every file and process it made is gone when it
// returns, also on error or when ctx is cancelled.
func Verify(ctx context.Context, spec Spec) (rep Report, err error) {
	defer func() {
		if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
	}()
	s, err := Start(ctx, spec)
	if err != nil {
		return Report{}, err
	}
	defer func() {
		if serr := s.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("removing %s: %v", s.Dir, serr)
		}
	}()
	master, err := s.Master()
	if err != nil {
		return Report{}, fmt.Errorf("reading the proftpd master (PID %d): %v", s.PID, err)
	}
	sess, err := s.Login(ctx)
	if err != nil {
		return Report{}, err
	}
	defer sess.Close()
	rep = Report{
		Bin: s.Bin, Version: s.Version, Directives: spec.Directives, Source: s.Source, Config: s.Config,
		Changes: s.Changes, Notes: s.Notes, Target: s.Target, Client: s.Client, Hosts: s.Hosts, NetAddrs: s.NetAddrs,
		Account: s.Account, MasterPID: s.PID, MasterPermitted: master.Sets.Permitted, MasterBounding: master.Sets.Bounding,
	}
	obs := Observed{Refused: sess.Refused, At: sess.At, Reply: sess.Reply, Transcript: sess.Transcript}
	if !sess.Refused {
		p := sess.Proc
		obs.PID = p.PID
		obs.Permitted, obs.Effective, obs.Inheritable, obs.Ambient, obs.Bounding = p.Sets.Permitted, p.Sets.Effective, p.Sets.Inheritable, p.Sets.Ambient, p.Sets.Bounding
		obs.UIDs = [3]uint32{p.UID, p.EUID, p.SUID}
	}
	rep.Observed = obs
	if s.origin != nil && !obs.Refused && obs.UIDs[1] != s.Account.UID {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the session runs as uid %d, not as the test user %s (uid %d): proftpd logged the login in as another account (an <Anonymous> User, a UserAlias)", obs.UIDs[1], s.Account.Name, s.Account.UID))
	}
	cfg, err := modcap.ReadString(s.ConfigPath, s.Config, modcap.Options{Modules: s.Modules})
	if err != nil {
		var ce *modcap.Error
		if errors.As(err, &ce) {
			return rep, fmt.Errorf("proftpd accepted the configuration but captune's reader does not: %s", ce.Error())
		}
		return rep, err
	}
	in := modcap.Input{
		Config: cfg,
		Login: modcap.Login{User: s.Account.Name, UID: s.Account.UID, UIDKnown: true, Groups: s.Account.Groups,
			Addr: s.Target.Addr().String(), Port: int(s.Target.Port()), Client: s.Client.String(), Hosts: s.Hosts},
		MasterPermitted: master.Sets.Permitted,
		MasterBounding:  master.Sets.Bounding,
	}
	if s.sys != nil {
		// A whole-file run: the prediction looks the user up itself, in
		// the run's user files and this machine's accounts, as the
		// server that answers does (its uid, groups and shell, or that
		// it knows no such user); s.Account is only the fallback.
		in.Login.UIDKnown, in.Login.Groups = false, nil
		s.sys.judge(&in, s.authFiles)
	}
	rep.Predicted = s.mapPrediction(modcap.Predict(in))
	rep.Differences = Compare(rep.Predicted, obs)
	rep.Match = len(rep.Differences) == 0
	if err := ctx.Err(); err != nil {
		// Stopped after the login: the run is not a result.
		return rep, err
	}
	return rep, nil
}

// Compare lists how an observed session differs from a prediction, one
// line per set or id; nil when they agree.
func Compare(p modcap.Prediction, o Observed) []string {
	switch {
	case p.Refused && o.Refused:
		if pw, ow := refusalPhase(p.RefusedAt), refusalPhase(o.At); pw != "" && ow != "" && pw != ow {
			return []string{fmt.Sprintf("login: predicted refused %s (%s), observed refused %s (%s)", pw, p.Why, ow, o.Reply)}
		}
		return nil
	case p.Refused:
		return []string{fmt.Sprintf("login: predicted refused (%s), observed logged in", p.Why)}
	case o.Refused:
		return []string{fmt.Sprintf("login: predicted logged in, observed refused (%s)", o.Reply)}
	}
	var out []string
	for _, r := range []struct {
		name       string
		pred, seen capset.Set
	}{
		{"CapPrm", p.Permitted, o.Permitted},
		{"CapEff", p.Effective, o.Effective},
		{"CapInh", p.Inheritable, o.Inheritable},
		{"CapAmb", p.Ambient, o.Ambient},
		{"CapBnd", p.Bounding, o.Bounding},
	} {
		if r.pred == r.seen {
			continue
		}
		var parts []string
		if extra := r.seen &^ r.pred; extra != 0 {
			parts = append(parts, "observed also holds "+extra.String())
		}
		if missing := r.pred &^ r.seen; missing != 0 {
			parts = append(parts, "observed lacks "+missing.String())
		}
		out = append(out, fmt.Sprintf("%s: predicted %s, observed %s (%s)", r.name, r.pred.Hex(), r.seen.Hex(), strings.Join(parts, "; ")))
	}
	if p.UIDs != o.UIDs {
		out = append(out, fmt.Sprintf("uids: predicted %s, observed %s (real/effective/saved)", uidText(p.UIDs), uidText(o.UIDs)))
	}
	return out
}

// refusalPhase groups where a login was refused, predicted
// (Prediction.RefusedAt) or observed (Observed.At): "at connect" (before
// or instead of the banner) or "at login" (USER/PASS); "" when unknown.
func refusalPhase(at string) string {
	switch at {
	case "connect", "banner":
		return "at connect"
	case "USER", "PASS", "after PASS":
		return "at login"
	}
	return ""
}

// mapPrediction names the user's file and lines in a prediction made on
// the run's copy of it.
func (s *Server) mapPrediction(p modcap.Prediction) modcap.Prediction {
	if s.origin == nil {
		return p
	}
	re := regexp.MustCompile(regexp.QuoteMeta(s.ConfigPath) + `:(\d+)`)
	m := func(text string) string {
		return re.ReplaceAllStringFunc(text, func(hit string) string {
			n, _ := strconv.Atoi(hit[len(s.ConfigPath)+1:])
			if n >= 1 && n <= len(s.origin) && s.origin[n-1].Line > 0 {
				return s.origin[n-1].String()
			}
			return "(a line captune added)"
		})
	}
	p.Server, p.Why = m(p.Server), m(p.Why)
	for _, l := range []*[]string{&p.Reasons, &p.Warnings} {
		out := make([]string, len(*l))
		for i, r := range *l {
			out[i] = m(r)
		}
		*l = out
	}
	return p
}

func uidText(u [3]uint32) string { return fmt.Sprintf("%d/%d/%d", u[0], u[1], u[2]) }
