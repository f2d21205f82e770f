package ui

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"captune/capset/modcap"
	"captune/drift"
	"captune/procscan"
)

// TestScanNeverWaitsForDrift: the scan command returns the process list
// however long drift takes; drift runs as its own command, one at a time.
// Here drift blocks (the proftpd facts it asks for never come), as a read
// of a FIFO named by a hostile look-alike once did inside the scan.
func TestScanNeverWaitsForDrift(t *testing.T) {
	root := filepath.Join("..", "procscan", "testdata", "proc-proftpd")
	if st, err := os.Stat(filepath.Join(root, "bin", "proftpd")); err != nil || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Skip("the fixture's stand-in proftpd is not owned by root: it has no master, so no drift to wait for")
	}
	sc, err := procscan.New(root)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "proftpd.conf")
	os.WriteFile(conf, []byte("ServerName x\n"), 0o644)
	release := make(chan struct{})
	defer close(release)
	dc := drift.NewChecker(root, drift.Options{Explicit: conf, Timeout: time.Hour, Installed: func() (drift.Installed, error) {
		<-release
		return drift.Installed{}, nil
	}})
	m := New(Options{Master: full, PAM: true, Scanner: sc, Drift: dc})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})

	got := make(chan tea.Msg, 1)
	go func() { got <- m.scanCmd(true)() }()
	var msg tea.Msg
	select {
	case msg = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the scan command waited for drift")
	}
	sm, ok := msg.(scanMsg)
	if !ok || len(sm.snap.Procs) != 5 {
		t.Fatalf("scan message %T %+v", msg, msg)
	}
	next, cmd := m.Update(sm)
	m = next.(Model)
	if len(m.list.Rows()) == 0 || !m.drifting || cmd == nil {
		t.Fatalf("after the scan: %d rows, drifting %v, cmd %v", len(m.list.Rows()), m.drifting, cmd != nil)
	}
	// A second scan while drift is still out starts no second check.
	if _, cmd := m.Update(scanMsg{snap: sm.snap}); cmd != nil {
		t.Errorf("a second drift check was started: %T", cmd())
	}
	if _, cmd := m.Update(scanMsg{snap: sm.snap, chain: true}); cmd == nil {
		t.Error("the refresh chain stopped while drift is out")
	}
}

// TestDetailConfigUnknown: a session whose master's configuration is not
// known says so, with the reason, and claims neither drift nor a match.
func TestDetailConfigUnknown(t *testing.T) {
	m := newTest(t, 140, 40)
	res := &drift.Result{PID: 401, Master: 400, Status: drift.Unknown, Note: "no file is known to be master 400's configuration (proftpd hides its -c)"}
	m = send(m, driftMsg{sessions: map[int]*drift.Result{401: res}})
	m = press(m, "/", "f", "t", "p", "t", "enter")
	s := screen(m)
	if !strings.Contains(s, "config unknown (no file is known to be master 400's configuration") || !strings.Contains(s, "drift not checked") {
		t.Errorf("detail lacks config unknown:\n%s", s)
	}
	for _, not := range []string{"drift:", "matches what the configuration predicts", "expected by"} {
		if strings.Contains(s, not) {
			t.Errorf("detail claims %q without a known configuration", not)
		}
	}
}

// TestDetailEscapesDrift: a configuration path and differences carrying
// terminal escapes reach the screen escaped.
func TestDetailEscapesDrift(t *testing.T) {
	m := newTest(t, 160, 40)
	evil := "\x1b]0;owned\a\x1b[2J"
	res := &drift.Result{PID: 401, Master: 400, Status: drift.Known, Config: "/srv/" + evil + ".conf", Note: "its PidFile /srv/" + evil + " holds PID 400",
		Expected: modcap.Prediction{Permitted: 0x4c9}, Differences: []string{"CapPrm: " + evil}}
	m = send(m, driftMsg{sessions: map[int]*drift.Result{401: res}})
	m = press(m, "/", "f", "t", "p", "t", "enter")
	raw := m.render()
	if strings.Contains(raw, "\x1b]0;owned") || strings.Contains(raw, "\a") {
		t.Errorf("a raw escape reached the screen")
	}
	if s := screen(m); !strings.Contains(s, `expected by /srv/\x1b]0;owned\x07\x1b[2J.conf`) {
		t.Errorf("escaped path missing:\n%s", s)
	}
}

// TestTitleNotesLookAlikes: the title shows the scan's note about
// processes named proftpd that were not taken for masters.
func TestTitleNotesLookAlikes(t *testing.T) {
	m := newTest(t, 400, 30)
	snap := fixtureSnapshot()
	snap.LookAlikes = []procscan.LookAlike{{PID: 700, Reason: "real uid 65534, not root"}}
	m = send(m, scanMsg{snap: snap})
	if s := screen(m); !strings.Contains(s, "ignored 1 process named proftpd that is not a credible proftpd master (PID 700: real uid 65534, not root)") {
		t.Errorf("title lacks the look-alike note:\n%s", s)
	}
}
