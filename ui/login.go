package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"captune/capset/modcap"
	"captune/model"
)

// LookupFunc resolves a login name the way verify's throwaway proftpd
// will use it: a user of this machine keeps its uid and groups, any other
// name is a virtual user.
type LookupFunc func(name string) (model.LoginUser, error)

// defaultLogin is the login when Options.Login is empty: a non-root user
// that no <IfUser> names.
var defaultLogin = model.LoginUser{UID: 1000}

type loginMsg struct {
	login model.LoginUser
	err   error
}

// user is the user the capsh target names: the login user once one was
// chosen (--user or U), else capsh's default.
func (m Model) user() string {
	if m.loginChosen {
		return m.login.Name
	}
	return ""
}

// tunedConfig is what the preview predicts and v verifies: the --config
// file (if any) with the tuner's line as the main server's first
// CapabilitiesSet.
func (m Model) tunedConfig() *modcap.Config {
	return model.TunedConfig(m.opts.Config, m.tuner.Tokens())
}

// configSource says in words what tunedConfig is made of.
func (m Model) configSource() string {
	if m.opts.Config == nil {
		return "the tuned CapabilitiesSet line alone (no --config)"
	}
	return model.Printable(m.opts.Config.Path) + " with the tuned CapabilitiesSet as the main server's first"
}

// startUserInput opens the login user's text input (U).
func (m Model) startUserInput() (tea.Model, tea.Cmd) {
	m.editingUser = true
	v := ""
	if m.loginChosen {
		v = m.login.Name
	}
	m.userInput.SetValue(v)
	m.userInput.CursorEnd()
	return m, m.userInput.Focus()
}

func (m Model) onUserKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		m.editingUser = false
		m.userInput.Blur()
		return m, nil
	case "ctrl+c":
		return m, tea.Quit
	case "enter":
		m.editingUser = false
		m.userInput.Blur()
		name := strings.TrimSpace(m.userInput.Value())
		if name == "" {
			m.login, m.loginChosen = m.opts.Login, false
			m.predict()
			m.setStatus("login user: %s (the default)", m.login)
			return m, nil
		}
		if err := model.CheckUserName(name); err != nil {
			m.setError("login user: %v", err)
			return m, nil
		}
		lookup := m.opts.LookupUser
		if lookup == nil {
			m.setError("login user: this session cannot look users up")
			return m, nil
		}
		return m, func() tea.Msg {
			l, err := lookup(name)
			return loginMsg{login: l, err: err}
		}
	}
	var cmd tea.Cmd
	m.userInput, cmd = m.userInput.Update(msg)
	return m, cmd
}

func (m Model) onLoginMsg(msg loginMsg) (tea.Model, tea.Cmd) {
	if msg.err != nil {
		m.setError("login user: %s", model.Printable(msg.err.Error()))
		return m, nil
	}
	m.login, m.loginChosen = msg.login, true
	m.predict()
	m.setStatus("login user: %s; the preview and v follow <IfUser>/<IfGroup> for it", m.login)
	return m, nil
}
