package ui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"captune/capset"
	"captune/capset/modcap"
	"captune/launch/proftpd"
	"captune/model"
)

const ifUserConf = "LoadModule mod_ifsession.c\nCapabilitiesSet -CAP_CHOWN\n<IfUser alice>\nCapabilitiesSet +CAP_FOWNER\n</IfUser>\n"

func typeText(m Model, s string) Model {
	for _, r := range s {
		m = send(m, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return m
}

// newConfigTest starts the tuner from a configuration, as --config does.
func newConfigTest(t *testing.T, conf string, verify VerifyFunc) Model {
	t.Helper()
	cfg, err := modcap.ReadString("/etc/proftpd/test.conf", conf, modcap.Options{Modules: append([]string{"mod_ifsession.c"}, modcap.DebianModules...)})
	if err != nil {
		t.Fatal(err)
	}
	var toks []modcap.Token
	if n := model.MainCapabilitiesSet(cfg); n != nil {
		if toks, err = modcap.ParseTokens(n.Args); err != nil {
			t.Fatal(err)
		}
	}
	lookup := func(name string) (model.LoginUser, error) {
		if name == "nosuch" {
			return model.LoginUser{}, errors.New("lookup failed")
		}
		return model.LoginUser{Name: name, UID: 1000, Groups: []string{name}}, nil
	}
	m := New(Options{Master: full, PAM: false, Config: cfg, Tokens: toks, LookupUser: lookup, Verify: verify})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	return send(m, scanMsg{snap: fixtureSnapshot()})
}

// TestLoginUserKey: U sets the login user; the preview then predicts the
// --config file with the tuned line for that user, so <IfUser> applies;
// v verifies that whole configuration as that user and says so.
func TestLoginUserKey(t *testing.T) {
	var req VerifyRequest
	fake := func(ctx context.Context, r VerifyRequest) (VerifyResult, error) {
		req = r
		s := VerifySets{Permitted: 0x4c8}
		return VerifyResult{Version: "1.3.8", Directives: proftpd.Decisive(r.Config), Login: model.LoginUser{Name: r.User, UID: 64123, Groups: []string{r.User}},
			Predicted: s, Observed: s, Match: true}, nil
	}
	m := newConfigTest(t, ifUserConf, fake)
	def := modcap.DefaultKept(false)
	if m.pred.Kept != def.Without(capset.Chown) {
		t.Fatalf("default login: kept %s, want the file's -CAP_CHOWN", m.pred.Kept)
	}
	m = press(m, "tab", "U")
	if !m.editingUser {
		t.Fatal("U did not open the input")
	}
	m = typeText(m, "alice")
	next, cmd := m.Update(keyMsg("enter"))
	m = run(next.(Model), cmd)
	if m.login.Name != "alice" || m.statusErr {
		t.Fatalf("login %+v, status %q", m.login, m.status)
	}
	if m.pred.Kept != def.With(capset.Fowner) {
		t.Errorf("alice: kept %s, want <IfUser alice>'s +CAP_FOWNER", m.pred.Kept)
	}
	s := screen(m)
	for _, want := range []string{"login alice (uid 1000, groups alice", "/etc/proftpd/test.conf with the tuned CapabilitiesSet", "<IfUser alice> at /etc/proftpd/test.conf:3 matches this login"} {
		if !strings.Contains(strings.Join(strings.Fields(s), " "), want) {
			t.Errorf("preview lacks %q:\n%s", want, s)
		}
	}
	// The capsh target names the login user.
	if out := m.tuner.Output(m.user()); m.user() != "alice" {
		t.Errorf("capsh user %q (%s)", m.user(), out)
	}
	// Toggling changes the main line; alice still gets her <IfUser> line.
	m.gridCursor = int(capset.DacOverride)
	m = press(m, "space")
	next, cmd = m.Update(keyMsg("v"))
	m = run(next.(Model), cmd)
	if req.User != "alice" {
		t.Errorf("verify user %q", req.User)
	}
	d := proftpd.Decisive(req.Config)
	for _, want := range []string{"LoadModule mod_ifsession.c\nCapabilitiesSet -CAP_CHOWN +CAP_DAC_OVERRIDE\n", "<IfUser alice>\n  CapabilitiesSet +CAP_FOWNER\n</IfUser>"} {
		if !strings.Contains(d, want) {
			t.Errorf("verified lines lack %q:\n%s", want, d)
		}
	}
	s = strings.Join(strings.Fields(screen(m)), " ")
	for _, want := range []string{"logged in as alice (uid 64123", "Configuration: /etc/proftpd/test.conf with the tuned CapabilitiesSet as the main server's first", "<IfUser alice>"} {
		if !strings.Contains(s, want) {
			t.Errorf("verify overlay lacks %q:\n%s", want, screen(m))
		}
	}
	// Empty goes back to the default login.
	m = press(m, "esc", "U")
	for m.userInput.Value() != "" {
		m = send(m, tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	m = press(m, "enter")
	if m.loginChosen || m.user() != "" || m.pred.Kept.Has(capset.Fowner) {
		t.Errorf("empty name: login %+v chosen %v kept %s", m.login, m.loginChosen, m.pred.Kept)
	}
}

// TestLoginUserRefusals: a name that is not a user name, or one the
// lookup refuses, says so and changes nothing.
func TestLoginUserRefusals(t *testing.T) {
	m := newConfigTest(t, ifUserConf, nil)
	before := m.login
	for _, name := range []string{"a b", "\x1b]0;x\x07", "nosuch"} {
		m = press(m, "tab", "U")
		m.userInput.SetValue(name)
		next, cmd := m.Update(keyMsg("enter"))
		m = run(next.(Model), cmd)
		if !m.statusErr || m.login.Name != before.Name || strings.ContainsAny(m.status, "\x1b\x07") {
			t.Errorf("%q: status %q (error %v), login %+v", name, m.status, m.statusErr, m.login)
		}
		m = press(m, "tab")
	}
}

// TestApplyFollowsTheLogin: the apply plan is shaped like the session
// predicted for the login user, says so, and is refused when proftpd
// would refuse that login.
func TestApplyFollowsTheLogin(t *testing.T) {
	m := newConfigTest(t, ifUserConf, nil)
	m = press(m, "tab", "U")
	m = typeText(m, "alice")
	m = runKey(m, "enter")
	m = press(m, "a")
	if m.apply.plan.Target.Permitted != m.pred.Permitted || !m.apply.plan.Target.Permitted.Has(capset.Fowner) {
		t.Errorf("plan %s, prediction %s", m.apply.plan.Target.Permitted, m.pred.Permitted)
	}
	if !strings.Contains(flat(screen(m)), "predicted for the session of alice") {
		t.Errorf("the plan does not say whose session:\n%s", screen(m))
	}
	r := newConfigTest(t, ifUserConf, nil)
	r.login, r.loginChosen = model.LoginUser{Name: "root", UID: 0, Groups: []string{"root"}, System: true}, true
	r.predict()
	r = press(r, "a")
	if !strings.Contains(r.apply.refusal, "proftpd would refuse the login of root") {
		t.Errorf("refusal %q", r.apply.refusal)
	}
}
