package ui

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"captune/capset"
	"captune/capset/modcap"
	"captune/launch/proftpd"
	"captune/model"
)

func TestVerifyKeyWithoutVerify(t *testing.T) {
	m := newTest(t, 120, 40)
	next, cmd := m.Update(keyMsg("v"))
	m = next.(Model)
	if cmd != nil || !m.statusErr || !strings.Contains(m.status, "verify is not available") {
		t.Errorf("status %q (error %v), cmd %v", m.status, m.statusErr, cmd != nil)
	}
}

func TestVerifyKeyRunsTheTunedBlock(t *testing.T) {
	var got VerifyRequest
	fake := func(ctx context.Context, req VerifyRequest) (VerifyResult, error) {
		got = req
		s := VerifySets{Permitted: 0x4c9, Bounding: full, UIDs: [3]uint32{64123, 64123, 64123}}
		return VerifyResult{Version: "1.3.8", Directives: "CapabilitiesSet +CAP_FOWNER\n", Predicted: s, Observed: s, Match: true}, nil
	}
	m := New(Options{Master: full, PAM: true, Verify: fake})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = send(m, scanMsg{snap: fixtureSnapshot()})
	m = press(m, "tab", "down", "down", "down", "space") // +CAP_FOWNER
	next, cmd := m.Update(keyMsg("v"))
	m = next.(Model)
	if cmd == nil || !m.verify.running || !strings.Contains(m.status, "verifying") {
		t.Fatalf("no run started: status %q", m.status)
	}
	// A second v while the run is in flight starts nothing.
	if _, again := m.Update(keyMsg("v")); again != nil {
		t.Error("a second run started")
	}
	m = run(m, cmd)
	if n := model.MainCapabilitiesSet(got.Config); n == nil || strings.Join(n.Args, " ") != "+CAP_FOWNER" || got.User != "" {
		t.Errorf("request %+v, line %v", got, n)
	}
	if m.verify.running || m.overlay != overlayVerify || m.statusErr || !strings.Contains(m.status, "verify: match") || !strings.Contains(m.status, "CapPrm 00000000000004c9") {
		t.Fatalf("status %q (error %v), overlay %d", m.status, m.statusErr, m.overlay)
	}
	sc := screen(m)
	for _, want := range []string{"Verify on a real proftpd", "CapabilitiesSet +CAP_FOWNER", "predicted", "observed", "CapPrm:  00000000000004c9   00000000000004c9", "match: proftpd did what captune predicts"} {
		if !strings.Contains(sc, want) {
			t.Errorf("overlay lacks %q:\n%s", want, sc)
		}
	}
	m = press(m, "esc")
	if m.overlay != overlayNone {
		t.Error("esc did not close the overlay")
	}
}

func TestVerifyKeyShowsDifferencesAndErrors(t *testing.T) {
	differ := func(ctx context.Context, req VerifyRequest) (VerifyResult, error) {
		return VerifyResult{Version: "1.3.8", Predicted: VerifySets{Permitted: 0x200004c1}, Observed: VerifySets{Permitted: 0x200004c1, Effective: 0x200004c1},
			Differences: []string{"CapEff: predicted 0000000000000000, observed 00000000200004c1"}}, nil
	}
	m := New(Options{Master: full, PAM: true, Verify: differ})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	next, cmd := m.Update(keyMsg("v"))
	m = run(next.(Model), cmd)
	if !m.statusErr || !strings.Contains(m.status, "DIFFERS") || !strings.Contains(screen(m), "- CapEff: predicted 0000000000000000, observed 00000000200004c1") {
		t.Errorf("status %q\n%s", m.status, screen(m))
	}
	for _, e := range []error{proftpd.ErrNotRoot, proftpd.ErrNotInstalled} {
		fails := func(ctx context.Context, req VerifyRequest) (VerifyResult, error) { return VerifyResult{}, e }
		m := New(Options{Master: full, PAM: true, Verify: fails})
		next, cmd := m.Update(keyMsg("v"))
		m = run(next.(Model), cmd)
		if !m.statusErr || !strings.Contains(m.status, e.Error()) || m.overlay != overlayNone {
			t.Errorf("status %q, overlay %d", m.status, m.overlay)
		}
	}
}

// TestVerifyKeyE2E runs the tuned block on a real proftpd.
func TestVerifyKeyE2E(t *testing.T) {
	_, err := proftpd.FindBinary("")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatalf("verify needs proftpd and root (%v, euid %d), and CAPTUNE_E2E is set", err, os.Geteuid())
		}
		t.Skip("verify needs proftpd and root; set CAPTUNE_E2E=1 to make this a failure")
	}
	real := func(ctx context.Context, req VerifyRequest) (VerifyResult, error) {
		rep, err := proftpd.Verify(ctx, proftpd.Spec{Directives: proftpd.Decisive(req.Config), User: req.User})
		if err != nil {
			return VerifyResult{}, err
		}
		p, o := rep.Predicted, rep.Observed
		return VerifyResult{Version: rep.Version, Directives: rep.Directives, Match: rep.Match, Differences: rep.Differences,
			Predicted: VerifySets{Permitted: p.Permitted, Effective: p.Effective, Inheritable: p.Inheritable, Ambient: p.Ambient, Bounding: p.Bounding, UIDs: p.UIDs},
			Observed:  VerifySets{Permitted: o.Permitted, Effective: o.Effective, Inheritable: o.Inheritable, Ambient: o.Ambient, Bounding: o.Bounding, UIDs: o.UIDs}}, nil
	}
	m := New(Options{Master: full, PAM: true, Verify: real, Refresh: time.Hour})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = press(m, "tab") // the grid, so that space toggles
	for _, c := range []capset.Cap{capset.Chown, capset.Setuid} {
		m.gridCursor = int(c)
		m = press(m, "space") // -CAP_CHOWN, -CAP_SETUID
	}
	next, cmd := m.Update(keyMsg("v"))
	m = run(next.(Model), cmd)
	r := m.verify.result
	if r == nil || !r.Match || r.Observed.Permitted != 0x400 || r.Observed.Effective != 0x400 {
		t.Fatalf("status %q, result %+v", m.status, r)
	}
	if !strings.Contains(r.Directives, "CapabilitiesSet -CAP_CHOWN -CAP_SETUID") {
		t.Errorf("directives %q", r.Directives)
	}
}

// TestVerifyKeyE2EConfigAndUser verifies from the tuner, on a real
// proftpd, a --config file with an <IfUser alice> section, first for the
// default login and then for alice (U): the whole tuned configuration
// runs, the session follows <IfUser> exactly as the preview predicted,
// and the overlay says which user and lines ran.
func TestVerifyKeyE2EConfigAndUser(t *testing.T) {
	bin, err := proftpd.FindBinary("")
	if err != nil || os.Geteuid() != 0 {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatalf("verify needs proftpd and root (%v, euid %d), and CAPTUNE_E2E is set", err, os.Geteuid())
		}
		t.Skip("verify needs proftpd and root; set CAPTUNE_E2E=1 to make this a failure")
	}
	mods, err := proftpd.Modules(bin)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := modcap.ReadString("/etc/proftpd/tuned-test.conf", ifUserConf, modcap.Options{Modules: mods})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := modcap.ParseTokens(model.MainCapabilitiesSet(cfg).Args)
	if err != nil {
		t.Fatal(err)
	}
	real := func(ctx context.Context, req VerifyRequest) (VerifyResult, error) {
		rep, err := proftpd.Verify(ctx, proftpd.Spec{Bin: bin, Directives: proftpd.Decisive(req.Config), User: req.User})
		if err != nil {
			return VerifyResult{}, err
		}
		p, o, a := rep.Predicted, rep.Observed, rep.Account
		return VerifyResult{Version: rep.Version, Directives: rep.Directives, Match: rep.Match, Differences: rep.Differences,
			Login:     model.LoginUser{Name: a.Name, UID: a.UID, Groups: a.Groups, System: a.System},
			Predicted: VerifySets{Permitted: p.Permitted, Effective: p.Effective, Inheritable: p.Inheritable, Ambient: p.Ambient, Bounding: p.Bounding, UIDs: p.UIDs},
			Observed:  VerifySets{Permitted: o.Permitted, Effective: o.Effective, Inheritable: o.Inheritable, Ambient: o.Ambient, Bounding: o.Bounding, UIDs: o.UIDs}}, nil
	}
	lookup := func(name string) (model.LoginUser, error) {
		a, err := proftpd.NewAccount(name)
		return model.LoginUser{Name: a.Name, UID: a.UID, Groups: a.Groups, System: a.System}, err
	}
	def, err := lookup("")
	if err != nil {
		t.Fatal(err)
	}
	m := New(Options{Master: full, PAM: true, Config: cfg, Tokens: toks, Login: def, LookupUser: lookup, Verify: real, Refresh: time.Hour})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	base := capset.Of(capset.Setuid, capset.Setgid, capset.NetBindService)
	for _, c := range []struct {
		user string
		want capset.Set
	}{{"", base}, {"alice", base.With(capset.Chown).With(capset.Fowner)}} {
		if c.user != "" {
			m = press(m, "tab", "U")
			m = typeText(m, c.user)
			next, cmd := m.Update(keyMsg("enter"))
			m = run(next.(Model), cmd)
			m = press(m, "tab")
		}
		predicted := m.pred
		next, cmd := m.Update(keyMsg("v"))
		m = run(next.(Model), cmd)
		r := m.verify.result
		if r == nil || !r.Match || r.Observed.Permitted != c.want || r.Observed.Permitted != predicted.Permitted || r.Observed.Effective != predicted.Effective {
			t.Fatalf("login %q: status %q, preview %s/%s, result %+v", c.user, m.status, predicted.Permitted, predicted.Effective, r)
		}
		s := strings.Join(strings.Fields(screen(m)), " ")
		name := c.user
		if name == "" {
			name = proftpd.DefaultUser
		}
		for _, want := range []string{"logged in as " + name, "Configuration: /etc/proftpd/tuned-test.conf with the tuned CapabilitiesSet", "<IfUser alice>", "CapabilitiesSet -CAP_CHOWN"} {
			if !strings.Contains(s, want) {
				t.Errorf("login %q: the overlay lacks %q:\n%s", c.user, want, screen(m))
			}
		}
		m = press(m, "esc")
	}
}

// TestVerifyOverlayWholeFile: a run of the whole --config file shows the
// changes it made, never "decisive lines" it did not run alone.
func TestVerifyOverlayWholeFile(t *testing.T) {
	fake := func(ctx context.Context, req VerifyRequest) (VerifyResult, error) {
		s := VerifySets{Permitted: 0x200004c1, Effective: 0x200004c1, Bounding: full, UIDs: [3]uint32{1000, 1000, 1000}}
		return VerifyResult{Version: "1.3.8", Whole: true, Predicted: s, Observed: s, Match: true, Changes: []string{
			"/etc/proftpd/proftpd.conf:6: PidFile /run/proftpd.pid -> PidFile /tmp/run/proftpd.pid (it would write the real server's pid file)",
			"added to <VirtualHost 127.0.0.2>: WtmpLog off \x1b[31m(proftpd's default is on)",
		}}, nil
	}
	m := New(Options{Master: full, PAM: true, Verify: fake})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = send(m, scanMsg{snap: fixtureSnapshot()})
	next, cmd := m.Update(keyMsg("v"))
	m = run(next.(Model), cmd)
	sc := screen(m)
	for _, want := range []string{"The whole file ran, with 2 change(s) a throwaway run needs:", "- /etc/proftpd/proftpd.conf:6: PidFile /run/proftpd.pid -> PidFile", "added to <VirtualHost 127.0.0.2>: WtmpLog off"} {
		if !strings.Contains(sc, want) {
			t.Errorf("overlay lacks %q:\n%s", want, sc)
		}
	}
	if strings.Contains(sc, "decisive lines") || strings.Contains(sc, "\x1b[31m(") {
		t.Errorf("overlay speaks of decisive lines, or lets a raw escape through:\n%s", sc)
	}
}
