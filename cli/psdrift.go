package cli

import (
	"fmt"
	"net"
	"strings"

	"captune/drift"
	"captune/procscan"
)

// driftJSON is how a logged-in proftpd session differs from what its
// configuration predicts for its user.
type driftJSON struct {
	// Config is the configuration the session was compared with.
	Config   string         `json:"config"`
	Expected verifySetsJSON `json:"expected"`
	Reasons  []string       `json:"reasons"`
}

// psDrift returns the drift of every logged-in proftpd session among
// procs, by PID. Pre-login children are never drift. The configuration is
// --proftpd-config, else the master's own -c argument, else Debian's; the
// defaults apply only to this machine's /proc (a fixture or another
// machine's proc tree needs --proftpd-config). An explicit configuration
// that cannot be read is a usage error; a default one is a warning.
func psDrift(env Env, root, explicit string, all, procs []procscan.Process) (map[int]*driftJSON, error) {
	c := drift.NewChecker(root, explicit)
	if err := c.Validate(); err != nil {
		return nil, usagef("ps: --proftpd-config: %s", strings.TrimPrefix(err.Error(), drift.ErrConfig.Error()+": "))
	}
	byPID := make(map[int]procscan.Process, len(all))
	for _, p := range all {
		byPID[p.PID] = p
	}
	out := map[int]*driftJSON{}
	for _, p := range procs {
		r, warn, err := c.Check(byPID, p)
		if err != nil {
			return nil, usagef("ps: --proftpd-config: %s", strings.TrimPrefix(err.Error(), drift.ErrConfig.Error()+": "))
		}
		if warn != "" {
			fmt.Fprintf(env.Stderr, "captune: warning: %s\n", oneLine(warn))
		}
		if !r.Drifted() {
			continue
		}
		pr := r.Expected
		out[p.PID] = &driftJSON{
			Config: r.Config,
			Expected: verifySetsJSON{Refused: pr.Refused, Permitted: pr.Permitted.Hex(), Effective: pr.Effective.Hex(), Inheritable: pr.Inheritable.Hex(),
				Ambient: pr.Ambient.Hex(), Bounding: pr.Bounding.Hex(), UIDs: uidsJSON{pr.UIDs[0], pr.UIDs[1], pr.UIDs[2]}},
			Reasons: r.Reasons,
		}
	}
	return out, nil
}

func masterConfigArg(cmdline []string) string { return drift.MasterConfigArg(cmdline) }

func procNetIP(s string) net.IP { return drift.ProcNetIP(s) }

// driftText lists the drifted sessions for people.
func driftText(procs []procscan.Process, drift map[int]*driftJSON) string {
	if len(drift) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\ndrift: %d logged-in proftpd session(s) differ from what their configuration predicts:\n", len(drift))
	for _, p := range procs {
		dj := drift[p.PID]
		if dj == nil {
			continue
		}
		fmt.Fprintf(&b, "  PID %d (ftp user %s, master %d), compared with %s:\n", p.PID, p.FTPUser, p.PPID, dj.Config)
		for _, r := range dj.Reasons {
			if strings.HasPrefix(r, "predicted because: ") {
				continue
			}
			b.WriteString(wrap("- "+r, 78, "    "))
		}
	}
	return b.String()
}
