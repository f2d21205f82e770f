package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"captune/capset"
	"captune/capset/modcap"
	"captune/model"
)

// VerifySets are a session process's sets and uids.
type VerifySets struct {
	Refused                                              bool
	Permitted, Effective, Inheritable, Ambient, Bounding capset.Set
	UIDs                                                 [3]uint32
}

// VerifyResult is what a run on a throwaway proftpd found (captune
// verify): the prediction beside the real session process.
type VerifyResult struct {
	// Version is proftpd's version; Directives the lines that ran (a run
	// of the decisive lines on captune's own server).
	Version, Directives string
	// Whole is set when the whole --config file ran; Changes then lists,
	// one per line, what the run changed in it or added (its own pid
	// file, logs, user file ...).
	Whole   bool
	Changes []string
	// Login is the user proftpd logged in (a virtual user when the name
	// is not one of this machine's).
	Login               model.LoginUser
	Predicted, Observed VerifySets
	Match               bool
	Differences         []string
}

// VerifyRequest is what the v key asks to run: the tuned configuration
// (the --config file's lines with the tuned CapabilitiesSet as the main
// server's first, or the tuned line alone) and the login user.
type VerifyRequest struct {
	Config *modcap.Config
	User   string
	// Source says in words what Config is made of.
	Source string
}

// VerifyFunc runs a request on a throwaway proftpd.
type VerifyFunc func(ctx context.Context, req VerifyRequest) (VerifyResult, error)

// verifyTimeout bounds one run from the tuner.
const verifyTimeout = 2 * time.Minute

type verifyMsg struct {
	res VerifyResult
	err error
}

// verifyState is the last verify run and whether one is in flight.
type verifyState struct {
	running bool
	result  *VerifyResult
	// source says what the last run's configuration was made of.
	source string
}

// startVerify runs the tuned block through Options.Verify in a command.
func (m Model) startVerify() (tea.Model, tea.Cmd) {
	if m.opts.Verify == nil {
		m.setError("verify is not available here: run captune verify on the command line")
		return m, nil
	}
	if m.verify.running {
		m.setStatus("verify is already running on a throwaway proftpd…")
		return m, nil
	}
	if _, err := modcap.Emit(m.tuner.Kept(), m.tuner.PAM()); err != nil {
		m.setError("verify runs the mod_cap block, and mod_cap cannot keep the tuned set: %v", err)
		return m, nil
	}
	m.verify.running = true
	req := VerifyRequest{Config: m.tunedConfig(), User: m.login.Name, Source: m.configSource()}
	m.verify.source = req.Source
	m.setStatus("verifying the tuned configuration for %s on a throwaway proftpd…", m.login)
	run := m.opts.Verify
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
		defer cancel()
		res, err := run(ctx, req)
		return verifyMsg{res: res, err: err}
	}
}

func (m Model) onVerifyMsg(msg verifyMsg) (tea.Model, tea.Cmd) {
	m.verify.running = false
	if msg.err != nil {
		m.setError("verify: %v", msg.err)
		return m, nil
	}
	r := msg.res
	m.verify.result = &r
	p, o := r.Predicted, r.Observed
	if r.Match {
		m.setStatus("verify: match on proftpd %s: CapPrm %s CapEff %s predicted and observed", r.Version, o.Permitted.Hex(), o.Effective.Hex())
	} else {
		m.setError("verify: DIFFERS on proftpd %s: predicted CapPrm %s CapEff %s, observed %s %s", r.Version, p.Permitted.Hex(), p.Effective.Hex(), o.Permitted.Hex(), o.Effective.Hex())
	}
	m.open(overlayVerify)
	return m, nil
}

// verifyBody lists the last run: predicted beside observed.
func (m Model) verifyBody(w int) []string {
	r := m.verify.result
	if r == nil {
		return []string{"No verify run yet. esc closes."}
	}
	st := m.styles
	var out []string
	out = append(out, wrapAll("Ran proftpd "+model.Printable(r.Version)+", logged in as "+r.Login.String()+".", w)...)
	out = append(out, wrapAll("Configuration: "+m.verify.source+".", w)...)
	if r.Whole {
		out = append(out, wrapAll(fmt.Sprintf("The whole file ran, with %d change(s) a throwaway run needs:", len(r.Changes)), w)...)
		for _, c := range r.Changes {
			out = append(out, wrapLines("  - "+model.Printable(c), w)...)
		}
	} else if strings.TrimSpace(r.Directives) == "" {
		out = append(out, "Its decisive lines: none, proftpd's defaults (no CapabilitiesSet line).")
	} else {
		out = append(out, "Its decisive lines, as they ran:")
		for _, ln := range strings.Split(strings.TrimRight(r.Directives, "\n"), "\n") {
			out = append(out, wrapLines("  "+model.Printable(ln), w)...)
		}
	}
	out = append(out, "", st.Bold.Render(fmt.Sprintf("%-8s %-18s %-18s", "", "predicted", "observed")))
	p, o := r.Predicted, r.Observed
	if p.Refused || o.Refused {
		out = append(out, fmt.Sprintf("%-8s %-18s %-18s", "login:", refusedText(p.Refused), refusedText(o.Refused)))
	} else {
		for _, row := range []struct {
			label string
			p, o  capset.Set
		}{{"CapPrm", p.Permitted, o.Permitted}, {"CapEff", p.Effective, o.Effective}, {"CapInh", p.Inheritable, o.Inheritable},
			{"CapAmb", p.Ambient, o.Ambient}, {"CapBnd", p.Bounding, o.Bounding}} {
			line := fmt.Sprintf("%-8s %-18s %-18s", row.label+":", row.p.Hex(), row.o.Hex())
			if row.p != row.o {
				line = st.StatusError.Render(line + " differs")
			}
			out = append(out, line)
		}
		out = append(out, fmt.Sprintf("%-8s %-18s %-18s", "uids:", uidWords(p.UIDs), uidWords(o.UIDs)))
	}
	out = append(out, "")
	if r.Match {
		out = append(out, st.Status.Render("match: proftpd did what captune predicts"))
	} else {
		out = append(out, st.StatusError.Render("differs:"))
		for _, d := range r.Differences {
			out = append(out, wrapAll("- "+model.Printable(d), w)...)
		}
	}
	out = append(out, "", st.Dim.Render("The server, its files and the login user existed only for this run. esc closes."))
	return out
}

func refusedText(refused bool) string {
	if refused {
		return "refused"
	}
	return "logged in"
}

func uidWords(u [3]uint32) string { return fmt.Sprintf("%d/%d/%d", u[0], u[1], u[2]) }
