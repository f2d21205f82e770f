package ui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"captune/capset/modcap"
	"captune/drift"
)

var moreBelow = regexp.MustCompile(`↓ (\d+) more lines?`)

// bodyText is the open overlay's whole body as plain lines.
func bodyText(m Model) []string {
	_, body := m.overlayContent(m.overlayWidth())
	out := make([]string, len(body))
	for i, b := range body {
		out[i] = strings.TrimRight(ansi.Strip(b), " ")
	}
	return out
}

// visible is the plain text of the screen's lines.
func visible(m Model) []string {
	var out []string
	for _, ln := range strings.Split(screen(m), "\n") {
		out = append(out, strings.TrimSpace(ln))
	}
	return out
}

func withVerifyResult(m Model) Model {
	s := VerifySets{Permitted: 0x4c9, Bounding: full, UIDs: [3]uint32{64123, 64123, 64123}}
	r := VerifyResult{Version: "1.3.8", Directives: "CapabilitiesSet +CAP_FOWNER\n", Predicted: s, Observed: VerifySets{Permitted: 0x4c1},
		Differences: []string{"CapPrm: predicted 00000000000004c9, observed 00000000000004c1 (observed lacks cap_fowner)", "a second difference", "a third"}}
	m.verify.result = &r
	return m
}

// TestOverlaysScrollToEveryLine opens every overlay at 80x24 and pages
// through it: every line of its body is shown at some point, a marker
// says how many lines are hidden below while some are, and home returns
// to the top.
func TestOverlaysScrollToEveryLine(t *testing.T) {
	for _, c := range []struct {
		name string
		keys []string
		prep func(Model) Model
	}{
		{"primer", []string{"P"}, nil},
		{"explain", []string{"tab", "down", "x"}, nil},
		{"help", []string{"tab", "?"}, nil},
		{"apply", []string{"a"}, nil},
		{"emit-capsh", []string{"tab", "m", "m", "m", "e"}, nil},
		{"detail", []string{"/", "f", "t", "p", "t", "e", "s", "t", "enter", "d"}, func(m Model) Model {
			m = send(m, scanMsg{snap: fixtureSnapshot()})
			return send(m, driftMsg{sessions: map[int]*drift.Result{401: {Status: drift.Known, Config: "/etc/proftpd/proftpd.conf",
				Expected: modcap.Prediction{Permitted: 0x4c9}, Differences: []string{"CapPrm: predicted 00000000000004c9, observed 00000000200004c1"}}}})
		}},
		{"verify", nil, func(m Model) Model { m = withVerifyResult(m); m.open(overlayVerify); return m }},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newTest(t, 80, 24)
			if c.prep != nil {
				m = c.prep(m)
			}
			m = press(m, c.keys...)
			if m.overlay == overlayNone {
				t.Fatal("no overlay open")
			}
			body := bodyText(m)
			seen := map[string]bool{}
			collect := func() {
				for _, ln := range visible(m) {
					seen[ln] = true
				}
			}
			for step := 0; step < 100; step++ {
				collect()
				checkWindow(t, m, body)
				if !moreBelow.MatchString(screen(m)) {
					break
				}
				m = press(m, "down")
			}
			if moreBelow.MatchString(screen(m)) {
				t.Fatalf("never reached the end:\n%s", screen(m))
			}
			for _, b := range body {
				if b = strings.TrimSpace(b); b != "" && !seen[b] {
					t.Errorf("line never shown: %q", b)
				}
			}
			if m.overlayMaxScroll() > 0 && !strings.Contains(screen(m), "↑ ") {
				t.Errorf("at the end there is no ↑ marker:\n%s", screen(m))
			}
			m = press(m, "home")
			if m.scroll != 0 {
				t.Errorf("home: scroll %d", m.scroll)
			}
			if m.overlayMaxScroll() > 0 {
				m = press(m, "end")
				if m.scroll != m.overlayMaxScroll() || moreBelow.MatchString(screen(m)) {
					t.Errorf("end: scroll %d of %d", m.scroll, m.overlayMaxScroll())
				}
				m = press(m, "end", "down", "down")
				if m.scroll != m.overlayMaxScroll() {
					t.Errorf("scrolled past the end: %d of %d", m.scroll, m.overlayMaxScroll())
				}
				m = send(m, tea.MouseWheelMsg{X: 10, Y: 10, Button: tea.MouseWheelUp})
				if want := max(0, m.overlayMaxScroll()-3); m.scroll != want {
					t.Errorf("wheel up: scroll %d, want %d", m.scroll, want)
				}
			}
		})
	}
}

// checkWindow compares the overlay on the screen with its body: below the
// title block come the ↑ marker when lines are hidden above, then exactly
// the body's lines from the scroll position, then the ↓ marker counting
// exactly the lines hidden below.
func checkWindow(t *testing.T, m Model, body []string) {
	t.Helper()
	lines := strings.Split(screen(m), "\n")
	i := 1 + overlayHead
	if m.scroll > 0 {
		if want := fmt.Sprintf("↑ %d more", m.scroll); !strings.Contains(lines[i], want) {
			t.Fatalf("line %d is %q, want %q", i, lines[i], want)
		}
		i++
	}
	end := len(lines) - 2 // the status and help lines
	k := m.scroll
	for ; i < end; i, k = i+1, k+1 {
		got := strings.TrimRight(lines[i], " ")
		if mm := moreBelow.FindStringSubmatch(got); mm != nil && strings.HasPrefix(strings.TrimSpace(got), "↓") {
			if want := fmt.Sprint(len(body) - k); mm[1] != want {
				t.Fatalf("the marker says %s more lines, %s are hidden", mm[1], want)
			}
			return
		}
		if k >= len(body) {
			if got != "" {
				t.Fatalf("line %d after the body: %q", i, got)
			}
			continue
		}
		if want := "  " + body[k]; got != strings.TrimRight(want, " ") {
			t.Fatalf("line %d: got %q, want body line %d %q", i, got, k, want)
		}
	}
	if k < len(body) {
		t.Fatalf("%d body lines hidden below without a marker", len(body)-k)
	}
}

// TestPagesAreWholeAt120x40: a body that fits shows no marker and does
// not scroll.
func TestPagesAreWholeAt120x40(t *testing.T) {
	m := press(newTest(t, 120, 40), "P")
	if moreBelow.MatchString(screen(m)) || m.overlayMaxScroll() != 0 {
		t.Errorf("primer at 120x40 scrolls:\n%s", screen(m))
	}
	if m = press(m, "down"); m.scroll != 0 {
		t.Errorf("scroll %d", m.scroll)
	}
}

// TestSidePaneScrolls: the detail pane beside the grid says what it
// hides, scrolls with the wheel over it, and d shows it in full.
func TestSidePaneScrolls(t *testing.T) {
	m := press(newTest(t, 80, 24), "/", "f", "t", "p", "t", "e", "s", "t", "enter")
	s := screen(m)
	if !moreBelow.MatchString(s) || !strings.Contains(s, "d shows all") {
		t.Fatalf("no marker for the hidden detail lines:\n%s", s)
	}
	l := m.layout()
	if strings.Contains(s, "cmd") {
		t.Fatalf("the test expects the cmd line hidden at first:\n%s", s)
	}
	for i := 0; i < 5; i++ {
		m = send(m, tea.MouseWheelMsg{X: l.gridWidth + 5, Y: l.bottomTop + 2, Button: tea.MouseWheelDown})
	}
	if m.sideScroll == 0 || !strings.Contains(screen(m), "cmd proftpd: ftptest") {
		t.Errorf("wheel over the detail did not scroll to its end (scroll %d):\n%s", m.sideScroll, screen(m))
	}
	if m.list.Cursor() != 0 || m.gridCursor != 0 {
		t.Errorf("the wheel over the side pane moved the list or grid")
	}
	m = press(m, "d")
	if m.overlay != overlayDetail || !strings.Contains(screen(m), "Process 401 (proftpd)") || !strings.Contains(screen(m), "cmd proftpd: ftptest - localhost: IDLE") {
		t.Errorf("d did not show the detail in full:\n%s", screen(m))
	}
	// Another process starts its detail from the top.
	m = press(m, "esc", "/", "esc", "up")
	if m.sideScroll != 0 {
		t.Errorf("side scroll %d after the selection changed", m.sideScroll)
	}
}

// TestTooSmall: below 60x16 the screen names the size it needs, and no
// key but q acts (nothing happens unseen).
func TestTooSmall(t *testing.T) {
	for _, size := range [][2]int{{59, 24}, {80, 15}, {20, 5}} {
		m := newTest(t, size[0], size[1])
		s := screen(m)
		want := fmt.Sprintf("this one is %dx%d", size[0], size[1])
		if !strings.Contains(strings.Join(strings.Fields(s), " "), "captune needs a terminal of at least 60x16; "+want) {
			t.Errorf("%dx%d:\n%s", size[0], size[1], s)
		}
		if n := strings.Count(s, "\n") + 1; n != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], n)
		}
		m = press(m, "a", "y", "tab", "space", "e")
		if m.overlay != overlayNone || m.apply.running || m.focus != paneProcs || m.tuner.Kept() != modcap.DefaultKept(true) {
			t.Errorf("%dx%d: keys acted unseen (overlay %d, focus %d)", size[0], size[1], m.overlay, m.focus)
		}
		if _, cmd := m.Update(keyMsg("q")); !isQuit(cmd) {
			t.Errorf("%dx%d: q does not quit", size[0], size[1])
		}
	}
	m := newTest(t, 60, 16)
	if strings.Contains(screen(m), "captune needs") {
		t.Errorf("60x16 is enough:\n%s", screen(m))
	}
}
