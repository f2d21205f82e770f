package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"captune/drift"
	"captune/launch/proftpd"
	"captune/model"
	"captune/procscan"
	"captune/safefile"
)

// driftJSON is how a logged-in proftpd session differs from what its
// master's configuration predicts for its user.
type driftJSON struct {
	// Config is the configuration the session was compared with.
	Config   string         `json:"config"`
	Expected verifySetsJSON `json:"expected"`
	Reasons  []string       `json:"reasons"`
}

// newDriftChecker builds the drift checker ps and the TUI share: the
// installed proftpd's modules (proftpd -l) and compiled-in files
// (proftpd -V) are asked for once, when a configuration is first read.
func newDriftChecker(root, explicit string, candidates []string) *drift.Checker {
	return drift.NewChecker(root, drift.Options{Explicit: explicit, Candidates: candidates, Installed: installedProftpd})
}

// installedProftpd describes the installed proftpd, which must be a
// root-owned regular file (it runs as root here). Each question is bounded
// in time.
func installedProftpd() (drift.Installed, error) {
	bin, err := proftpd.FindBinary("")
	if err != nil {
		return drift.Installed{}, err
	}
	st, err := os.Stat(bin)
	if err != nil {
		return drift.Installed{}, err
	}
	if err := safefile.Check(bin, st, []uint32{0}); err != nil {
		return drift.Installed{}, err
	}
	in := drift.Installed{Binary: bin}
	// proftpd -l and -V at once: each costs a process start.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if mods, err := proftpd.Modules(bin); err == nil {
			in.Modules = mods
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "-V").Output(); err == nil {
		in.Defaults, _ = drift.ParseDefaults(string(out))
	}
	<-done
	return in, nil
}

// psDrift compares every logged-in proftpd session among procs with its
// master's configuration (see drift), returning the drifted ones by PID
// and the report. Pre-login children are never drift. An explicit
// configuration that cannot be read is a usage error. Sessions whose
// configuration is unknown get one note on stderr, after the scan's
// notes, which are printed only once the configuration is known good (a
// refusal is its one line alone).
func psDrift(env Env, root, explicit string, all, procs []procscan.Process, notes []string) (map[int]*driftJSON, drift.Report, error) {
	c := newDriftChecker(root, explicit, nil)
	if err := c.Validate(); err != nil {
		return nil, drift.Report{}, usagef("ps: --proftpd-config: %s", strings.TrimPrefix(err.Error(), drift.ErrConfig.Error()+": "))
	}
	printNotes(env, notes)
	out := map[int]*driftJSON{}
	proftpdShown := false
	for _, p := range procs {
		proftpdShown = proftpdShown || p.Role == procscan.RoleProftpdMaster || p.Role == procscan.RoleProftpdSession
	}
	if !proftpdShown {
		// Nothing shown has a configuration: no file is read at all.
		return out, drift.Report{}, nil
	}
	rep := c.Check(all)
	var unknown []*drift.Result
	for _, p := range procs {
		r := rep.Sessions[p.PID]
		switch {
		case r == nil:
		case r.Status != drift.Known:
			unknown = append(unknown, r)
		case r.Drifted():
			pr := r.Expected
			reasons := make([]string, len(r.Reasons))
			for i, s := range r.Reasons {
				reasons[i] = model.Printable(s)
			}
			out[p.PID] = &driftJSON{
				Config: model.Printable(r.Config),
				Expected: verifySetsJSON{Refused: pr.Refused, Permitted: pr.Permitted.Hex(), Effective: pr.Effective.Hex(), Inheritable: pr.Inheritable.Hex(),
					Ambient: pr.Ambient.Hex(), Bounding: pr.Bounding.Hex(), UIDs: uidsJSON{pr.UIDs[0], pr.UIDs[1], pr.UIDs[2]}},
				Reasons: reasons,
			}
		}
	}
	if len(unknown) > 0 {
		fmt.Fprintf(env.Stderr, "captune: %s\n", oneLine(unknownNote(unknown, explicit != "")))
	}
	return out, rep, nil
}

// unknownNote is the one line about sessions not checked for drift.
func unknownNote(unknown []*drift.Result, explicit bool) string {
	masters := map[int]bool{}
	for _, r := range unknown {
		masters[r.Master] = true
	}
	more := ""
	if len(masters) > 1 {
		more = fmt.Sprintf(" (and %d more masters)", len(masters)-1)
	}
	hint := "name it with --proftpd-config FILE"
	if explicit {
		hint = "with several masters, --proftpd-config counts only for the one its PidFile or ScoreboardFile ties it to"
	}
	return fmt.Sprintf("note: %d proftpd session(s) not checked for drift: the configuration of master %d is unknown: %s%s; %s",
		len(unknown), unknown[0].Master, model.Printable(unknown[0].Note), more, hint)
}

// configFields are a process's config_status and config_note in JSON: for
// proftpd masters and their logged-in sessions.
func configFields(rep drift.Report, p procscan.Process) (status, note string) {
	switch p.Role {
	case procscan.RoleProftpdMaster:
		if id := rep.Masters[p.PID]; id != nil {
			return string(id.Status), model.Printable(configNote(id.Status, id.Config, id.Note))
		}
	case procscan.RoleProftpdSession:
		if r := rep.Sessions[p.PID]; r != nil {
			return string(r.Status), model.Printable(configNote(r.Status, r.Config, r.Note))
		}
	}
	return "", ""
}

func configNote(st drift.Status, config, note string) string {
	if st == drift.Known {
		return config + ": " + note
	}
	return note
}

func masterConfigArg(cmdline []string) string { return drift.MasterConfigArg(cmdline) }

func procNetIP(s string) net.IP { return drift.ProcNetIP(s) }

// driftText lists the drifted sessions for people; every string that
// comes from a process or a file is escaped.
func driftText(procs []procscan.Process, drifts map[int]*driftJSON) string {
	if len(drifts) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\ndrift: %d logged-in proftpd session(s) differ from what their configuration predicts:\n", len(drifts))
	for _, p := range procs {
		dj := drifts[p.PID]
		if dj == nil {
			continue
		}
		fmt.Fprintf(&b, "  PID %d (ftp user %s, master %d), compared with %s:\n", p.PID, model.Printable(p.FTPUser), p.PPID, model.Printable(dj.Config))
		for _, r := range dj.Reasons {
			if strings.HasPrefix(r, "predicted because: ") {
				continue
			}
			b.WriteString(wrap("- "+model.Printable(r), 78, "    "))
		}
	}
	return b.String()
}
