package ui

import (
	"os"
	"strings"

	tea "charm.land/bubbletea/v2"

	"captune/capset"
	"captune/launch"
	"captune/model"
)

// applyState is the apply overlay's state: the plan waiting for
// confirmation, a launch in flight, or the running daemon and its result.
type applyState struct {
	plan     launch.Plan
	refusal  string
	running  bool
	daemon   *launch.Daemon
	result   *launch.Result
	err      string
	stopping bool
}

type applyMsg struct {
	daemon *launch.Daemon
	result launch.Result
	err    error
}

type stoppedMsg struct{ pid int }

// planApply builds the plan for the tuned set: modcap mode emulates a
// session for the tuned block, the other targets use raw mode.
func (m *Model) planApply() {
	st := &m.apply
	st.refusal, st.err = "", ""
	uid, gid, groups, name, err := launch.Identity("nobody")
	if err != nil {
		st.refusal = err.Error()
		return
	}
	if m.tuner.Target() == model.TargetModcap {
		if m.pred.Refused {
			st.refusal = "proftpd would refuse the login of " + m.login.String() + " (" + m.pred.Why + "): there is no session to shape; U sets another login user"
			return
		}
		st.plan = launch.ModcapPlan(m.pred, uid, gid, groups, name, m.opts.Master)
		st.plan.Notes = append(st.plan.Notes, "the sets are those predicted for the session of "+m.login.String()+"; configuration: "+m.configSource())
	} else {
		known := capset.KnownSet(m.lastCap())
		st.plan = launch.RawPlan(m.tuner.Kept(), uid, gid, groups, name, nil, known)
	}
	if m.opts.Scanner == nil {
		st.refusal = "no process scanner: applying needs the live system"
		return
	}
	self, err := m.opts.Scanner.Process(os.Getpid())
	if err != nil {
		st.refusal = "cannot read captune's own state: " + err.Error()
		return
	}
	if err := st.plan.Check(self); err != nil {
		st.refusal = err.Error()
	}
}

func (m Model) launchCmd() tea.Cmd {
	plan, sc := m.apply.plan, m.opts.Scanner
	return func() tea.Msg {
		d, err := launch.Start(plan, launch.Options{})
		if err != nil {
			return applyMsg{err: err}
		}
		res, err := launch.ReadBack(sc, d, plan)
		return applyMsg{daemon: d, result: res, err: err}
	}
}

func stopCmd(d *launch.Daemon) tea.Cmd {
	return func() tea.Msg {
		d.Stop()
		return stoppedMsg{pid: d.PID}
	}
}

// onApplyKey handles keys in the apply overlay: y/enter launches after the
// preview, k stops the daemon, esc closes (the daemon keeps running until
// k or until captune exits).
func (m Model) onApplyKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	st := &m.apply
	switch msg.String() {
	case "esc", "q":
		m.overlay = overlayNone
		return m, nil
	case "ctrl+c":
		return m, tea.Quit
	case "y", "enter":
		if st.daemon == nil && !st.running && st.refusal == "" {
			st.running = true
			m.setStatus("launching the probe daemon…")
			return m, m.launchCmd()
		}
	case "k":
		if st.daemon != nil && !st.stopping {
			st.stopping = true
			return m, stopCmd(st.daemon)
		}
	default:
		m, _ = m.scrollOverlay(m.keys.ScrollArrows, msg)
	}
	return m, nil
}

func (m Model) onApplyMsg(msg applyMsg) (tea.Model, tea.Cmd) {
	st := &m.apply
	st.running = false
	if msg.err != nil {
		st.err = msg.err.Error()
		if msg.daemon != nil {
			return m, stopCmd(msg.daemon)
		}
		m.setError("apply failed: %v", msg.err)
		return m, nil
	}
	st.daemon, st.result = msg.daemon, &msg.result
	if msg.result.Match {
		m.setStatus("daemon %d runs with the intended sets (read-back: match); k stops it", msg.result.PID)
	} else {
		m.setError("daemon %d differs from the plan: %s", msg.result.PID, strings.Join(msg.result.Differences, "; "))
	}
	return m, m.scanCmd(false)
}

func (m Model) onStopped(msg stoppedMsg) (tea.Model, tea.Cmd) {
	m.apply = applyState{}
	m.setStatus("daemon %d stopped", msg.pid)
	return m, nil
}

// DaemonPID is the running test daemon's PID, or 0.
func (m Model) DaemonPID() int {
	if m.apply.daemon == nil {
		return 0
	}
	return m.apply.daemon.PID
}

// StopDaemon stops a running test daemon (captune calls it on exit).
func (m Model) StopDaemon() {
	if m.apply.daemon != nil {
		m.apply.daemon.Stop()
	}
}

func (m Model) applyBody(w int) []string {
	st := m.apply
	var out []string
	switch {
	case st.result != nil:
		for _, ln := range strings.Split(strings.TrimRight(st.result.Report(), "\n"), "\n") {
			out = append(out, wrapLines(model.Printable(ln), w)...)
		}
		out = append(out, "", m.styles.Dim.Render("k stops the daemon · esc closes this view (the daemon keeps running until k or quit)"))
	case st.running:
		out = append(out, "launching…")
	default:
		for _, ln := range strings.Split(strings.TrimRight(st.plan.Preview(), "\n"), "\n") {
			out = append(out, wrapLines(model.Printable(ln), w)...)
		}
		out = append(out, "")
		switch {
		case st.refusal != "":
			out = append(out, wrapLines(m.styles.StatusError.Render("cannot apply: ")+model.Printable(st.refusal), w)...)
		case st.err != "":
			out = append(out, wrapLines(m.styles.StatusError.Render("launch failed: ")+model.Printable(st.err), w)...)
		default:
			out = append(out, m.styles.Bold.Render("launch it? y/enter launches · esc cancels"))
		}
	}
	return out
}
