package ui

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"captune/capset/modcap"
	"captune/drift"
	"captune/model"
	"captune/procscan"
)

// hostile is what a local user can put in a process title, a user or
// host name, a file name or a configuration file: a title-setting OSC, a
// screen clear, a bell, an 8-bit CSI and bytes that are not UTF-8.
const hostile = "\x1b]0;x\a\x1b[2J\x9b31m\xff\xfe"

// sgr matches the styling lipgloss writes itself; nothing else may reach
// the terminal.
var sgr = regexp.MustCompile("\x1b\\[[0-9;:]*m")

// assertInert fails when a rendered screen holds anything a terminal
// would act on besides captune's own styling.
func assertInert(t *testing.T, where, raw string) {
	t.Helper()
	s := sgr.ReplaceAllString(raw, "")
	if !utf8.ValidString(s) {
		t.Errorf("%s: not valid UTF-8 on the terminal", where)
	}
	for _, r := range s {
		if r == 0x1b || r == 0x07 || (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			t.Errorf("%s: a raw control %U reaches the terminal: %q", where, r, excerpt(s, r))
			return
		}
	}
}

func excerpt(s string, r rune) string {
	i := strings.IndexRune(s, r)
	return s[max(0, i-30):min(len(s), i+30)]
}

// hostileSnapshot gives every text a process has the hostile value.
func hostileSnapshot() procscan.Snapshot {
	snap := fixtureSnapshot()
	for i := range snap.Procs {
		p := &snap.Procs[i]
		if p.PID == 401 || p.PID == 500 {
			p.Comm, p.User, p.Cmdline = "evil"+hostile, "u"+hostile, []string{"proftpd: " + hostile, hostile}
			p.FileCaps = "cap_net_raw=ep" + hostile
		}
		if p.PID == 401 {
			p.FTPUser, p.FTPHost, p.FTPState = "ftp"+hostile, "host"+hostile, "IDLE"+hostile
		}
	}
	return snap
}

// TestNothingRawReachesTheTerminal renders every pane and overlay with
// hostile text in every process field, the drift result, the
// configuration (its path and directive arguments), the login user, a
// verify result, an apply refusal, a write error and the status line: the
// output holds captune's styling and escaped text only.
func TestNothingRawReachesTheTerminal(t *testing.T) {
	conf := "LoadModule mod_ifsession.c\nCapabilitiesSet -CAP_CHOWN\n<IfUser \"a" + hostile + "\">\nCapabilitiesSet +CAP_FOWNER\n</IfUser>\n"
	cfg, err := modcap.ReadString("/etc/"+hostile+".conf", conf, modcap.Options{Modules: append([]string{"mod_ifsession.c"}, modcap.DebianModules...)})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(ctx context.Context, r VerifyRequest) (VerifyResult, error) {
		return VerifyResult{Version: "1.3.8" + hostile, Directives: "CapabilitiesSet " + hostile + "\n",
			Login:       model.LoginUser{Name: "v" + hostile, UID: 1, Groups: []string{"g" + hostile}},
			Differences: []string{"CapPrm " + hostile}}, nil
	}
	lookup := func(name string) (model.LoginUser, error) {
		return model.LoginUser{Name: name, UID: 1000, Groups: []string{"grp" + hostile}}, nil
	}
	res := &drift.Result{Status: drift.Known, Config: "/etc/proftpd/" + hostile + ".conf", Expected: modcap.Prediction{Permitted: 0x4c9},
		Differences: []string{"CapPrm: " + hostile}}
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		m := New(Options{Master: full, PAM: true, Config: cfg, ConfigNote: "tuner starts from " + hostile, Verify: verify, LookupUser: lookup,
			Login: model.LoginUser{Name: "l" + hostile, UID: 1000, Groups: []string{hostile}}, LoginChosen: true})
		m = send(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		snap := hostileSnapshot()
		m = send(m, scanMsg{snap: snap})
		m = send(m, driftMsg{sessions: map[int]*drift.Result{401: res}})
		check := func(where string, m Model) {
			t.Helper()
			assertInert(t, where, m.render())
		}
		check("start", m)
		m.scanErr = "reading /proc/" + hostile
		check("scan error", m)
		m.scanErr = ""
		for _, pid := range []int{401, 500} {
			m.list.SelectPID(pid)
			m = send(m, tickMsg{})
			check("detail", m)
			check("explain", press(m, "tab", "x"))
			check("detail overlay", press(m, "d"))
			for i, dn := 0, press(m, "d"); i < 10; i++ {
				dn = press(dn, "pgdown")
				check("detail overlay paged", dn)
			}
		}
		check("tree", press(m, "t"))
		g := press(m, "tab")
		check("grid and preview", g)
		check("preview overlay", press(g, "d"))
		for _, tg := range []string{"m", "m", "m"} {
			g = press(g, tg)
			check("target "+tg, g)
			check("emit", press(g, "e"))
		}
		g = press(m, "tab", "U")
		g.userInput.SetValue("alice")
		g = runKey(g, "enter")
		check("after U", g)
		v := runKey(m, "v")
		check("verify", v)
		for i := 0; i < 10; i++ {
			v = press(v, "pgdown")
			check("verify paged", v)
		}
		a := press(m, "a")
		a.apply.refusal = "cannot run " + hostile
		check("apply refusal", a)
		a.apply.refusal, a.apply.err = "", "launch failed at "+hostile
		check("apply error", a)
		w := send(press(m, "e"), writeMsg{typed: "/tmp/" + hostile, path: "/tmp/" + hostile, err: errors.New("denied " + hostile)})
		check("write error", w)
		w = send(press(m, "e"), writeMsg{typed: "/tmp/" + hostile, path: "/tmp/" + hostile, exists: true, what: "a symbolic link to " + hostile})
		check("overwrite question", w)
		f := press(m, "/")
		f = typeText(f, "x"+hostile)
		check("filter", f)
		check("filter kept", press(f, "enter"))
		check("help", press(m, "?"))
		check("primer", press(m, "P"))
	}
}
