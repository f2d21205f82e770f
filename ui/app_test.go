package ui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"captune/capset"
	"captune/capset/modcap"
	"captune/drift"
	"captune/procscan"
)

var update = flag.Bool("update", false, "rewrite golden files")

const full = capset.Set(0x000001ffffffffff)

func boolp(b bool) *bool { return &b }

// fixtureSnapshot is a small, fixed machine: init, a shell, a proftpd
// master with a logged-in session and a pre-login child, a process with
// ambient capabilities and a kernel thread.
func fixtureSnapshot() procscan.Snapshot {
	root := procscan.Sets{Permitted: full, Effective: full, Bounding: full}
	procs := []procscan.Process{
		{PID: 1, PPID: 0, User: "root", Comm: "init", Cmdline: []string{"/sbin/init"}, Sets: root, HasAmbient: true, UserNSChild: boolp(false), NumThreads: 1},
		{PID: 2, PPID: 0, User: "root", Comm: "kthreadd", Sets: root, KernelThread: true, NumThreads: 1},
		{PID: 300, PPID: 1, User: "root", Comm: "bash", Cmdline: []string{"-bash"}, Sets: root, HasAmbient: true, UserNSChild: boolp(false), NumThreads: 1},
		{PID: 400, PPID: 1, User: "root", Comm: "proftpd", Cmdline: []string{"proftpd: (accepting connections)"}, Sets: root, HasAmbient: true,
			UserNSChild: boolp(false), NumThreads: 1, Role: procscan.RoleProftpdMaster},
		{PID: 401, PPID: 400, UID: 1001, EUID: 1001, SUID: 1001, GID: 1001, EGID: 1001, User: "ftptest", Comm: "proftpd",
			Cmdline: []string{"proftpd: ftptest - localhost: IDLE"}, HasAmbient: true, UserNSChild: boolp(false), NumThreads: 1,
			Sets: procscan.Sets{Permitted: 0x200004c1, Bounding: full}, Role: procscan.RoleProftpdSession,
			FTPUser: "ftptest", FTPHost: "localhost", FTPState: "IDLE"},
		{PID: 402, PPID: 400, User: "root", Comm: "proftpd", Cmdline: []string{"proftpd: connected: localhost (127.0.0.1:4711)"},
			Sets: root, HasAmbient: true, UserNSChild: boolp(false), NumThreads: 1, Role: procscan.RoleProftpdPre},
		{PID: 500, PPID: 300, UID: 65534, EUID: 65534, SUID: 65534, User: "nobody", Comm: "pinger", Cmdline: []string{"/usr/bin/pinger", "-q"},
			Sets:       procscan.Sets{Inheritable: 1 << 13, Permitted: 1 << 13, Effective: 1 << 13, Ambient: 1 << 13, Bounding: full &^ (1 << 21)},
			HasAmbient: true, NoNewPrivs: true, Seccomp: 2, UserNSChild: boolp(false), NumThreads: 3,
			Threads: []procscan.Thread{{TID: 502, Comm: "worker", Sets: procscan.Sets{Inheritable: 1 << 13, Permitted: 1 << 13, Bounding: full &^ (1 << 21)}}}},
		{PID: 600, PPID: 300, UID: 1000, EUID: 1000, SUID: 1000, User: "alice", Comm: "vim", Cmdline: []string{"vim", "notes.txt"},
			Sets: procscan.Sets{Bounding: full}, HasAmbient: true, UserNSChild: boolp(false), NumThreads: 1},
	}
	return procscan.Snapshot{Procs: procs, Taken: time.Unix(1700000000, 0), LastCap: 40}
}

func newTest(t *testing.T, w, h int) Model {
	t.Helper()
	m := New(Options{Master: full, PAM: true})
	m = send(m, tea.WindowSizeMsg{Width: w, Height: h})
	m = send(m, scanMsg{snap: fixtureSnapshot()})
	return m
}

func send(m Model, msg tea.Msg) Model {
	next, _ := m.Update(msg)
	return next.(Model)
}

func press(m Model, keys ...string) Model {
	for _, k := range keys {
		m = send(m, keyMsg(k))
	}
	return m
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "ctrl+r":
		return tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

func screen(m Model) string { return ansi.Strip(m.render()) }

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test ./ui -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestGoldenPanes draws every pane and overlay at 80x24 and 120x40.
func TestGoldenPanes(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		steps := []struct {
			name string
			keys []string
		}{
			{"procs", nil},
			{"procs-tree", []string{"t"}},
			{"detail-session", []string{"/", "f", "t", "p", "t", "e", "s", "t", "enter"}},
			{"grid", []string{"tab"}},
			{"grid-toggled", []string{"tab", "space", "down", "down", "down", "space"}},
			{"explain", []string{"tab", "down", "x"}},
			{"primer", []string{"P"}},
			{"primer-end", []string{"P", "end"}},
			{"detail-full", []string{"/", "f", "t", "p", "t", "e", "s", "t", "enter", "d"}},
			{"help-grid", []string{"tab", "?"}},
			{"emit", []string{"tab", "space", "e"}},
			{"apply", []string{"a"}},
			{"target-systemd", []string{"tab", "m"}},
		}
		for _, s := range steps {
			t.Run(fmt.Sprintf("%s-%dx%d", s.name, w, h), func(t *testing.T) {
				m := press(newTest(t, w, h), s.keys...)
				got := screen(m)
				if n := strings.Count(got, "\n") + 1; n != h {
					t.Errorf("%d lines, want %d", n, h)
				}
				for i, ln := range strings.Split(got, "\n") {
					if lw := ansi.StringWidth(ln); lw != w {
						t.Errorf("line %d is %d cells wide, want %d: %q", i, lw, w, ln)
					}
				}
				golden(t, fmt.Sprintf("%s-%dx%d", s.name, w, h), got)
			})
		}
	}
}

// TestGoldenTooSmall draws the screen below the minimum size.
func TestGoldenTooSmall(t *testing.T) {
	golden(t, "too-small-59x16", screen(newTest(t, 59, 16)))
}

func TestToggleAuditWriteAndUndo(t *testing.T) {
	m := newTest(t, 120, 40)
	m = press(m, "tab")
	if m.tuner.Kept() != 0x200004c1 {
		t.Fatalf("start %s", m.tuner.Kept().Hex())
	}
	m = press(m, "space") // cap_chown off: CapabilitiesSet line appears, AUDIT_WRITE leaves
	if m.tuner.Kept() != 0x4c0 {
		t.Errorf("after toggling chown: %s", m.tuner.Kept().Hex())
	}
	if !strings.Contains(m.status, "CAP_AUDIT_WRITE leaves too") {
		t.Errorf("status %q does not say AUDIT_WRITE leaves", m.status)
	}
	// AUDIT_WRITE is locked while another token is set.
	m.gridCursor = int(capset.AuditWrite)
	m = press(m, "space")
	if !m.statusErr || m.tuner.Kept() != 0x4c0 {
		t.Errorf("audit_write toggled while -CAP_CHOWN is set: %s %q", m.tuner.Kept().Hex(), m.status)
	}
	m = press(m, "u")
	if m.tuner.Kept() != 0x200004c1 {
		t.Errorf("undo: %s", m.tuner.Kept().Hex())
	}
	m = press(m, "space") // audit_write off alone: +CAP_CHOWN line
	if m.tuner.Kept() != 0x4c1 || !strings.Contains(m.tuner.Output(""), "CapabilitiesSet +CAP_CHOWN") {
		t.Errorf("audit off: %s\n%s", m.tuner.Kept().Hex(), m.tuner.Output(""))
	}
	m = press(m, "space") // and back on
	if m.tuner.Kept() != 0x200004c1 {
		t.Errorf("audit back on: %s", m.tuner.Kept().Hex())
	}
	m = press(m, "u", "u", "ctrl+r")
	if m.tuner.Kept() != 0x4c1 {
		t.Errorf("undo, undo, redo: %s", m.tuner.Kept().Hex())
	}
	m = press(m, "r")
	if m.tuner.Kept() != 0x200004c1 {
		t.Errorf("reset: %s", m.tuner.Kept().Hex())
	}
	// Locked capabilities never toggle in the modcap target.
	for _, c := range []capset.Cap{capset.NetBindService, capset.Setgid, capset.SysAdmin} {
		m.gridCursor = int(c)
		before := m.tuner.Kept()
		m = press(m, "space")
		if m.tuner.Kept() != before || !m.statusErr {
			t.Errorf("%s toggled", c)
		}
	}
}

func TestFilterAndGone(t *testing.T) {
	m := newTest(t, 80, 24)
	m = press(m, "/", "f", "t", "p")
	if n := len(m.list.Rows()); n != 3 {
		t.Fatalf("filter ftp: %d rows, want the three proftpd processes", n)
	}
	m = press(m, "t")
	if n := len(m.list.Rows()); n != 1 || m.list.Rows()[0].Proc.PID != 401 {
		t.Fatalf("filter ftpt: %d rows", n)
	}
	m = press(m, "esc")
	if m.list.Filter() != "" || len(m.list.Rows()) != 7 {
		t.Errorf("esc did not clear: %q, %d rows", m.list.Filter(), len(m.list.Rows()))
	}
	m = press(m, "/", "5", "0", "0", "enter")
	if len(m.list.Rows()) != 1 || m.filtering {
		t.Errorf("pid filter: %d rows, filtering %v", len(m.list.Rows()), m.filtering)
	}
	m = press(m, "/", "esc")
	// Select PID 600, then it exits: it stays, marked gone, until the selection moves.
	for m.list.Rows()[m.list.Cursor()].Proc.PID != 600 {
		m = press(m, "down")
	}
	snap := fixtureSnapshot()
	snap.Procs = snap.Procs[:len(snap.Procs)-1]
	m = send(m, scanMsg{snap: snap})
	row, _ := m.list.Selected()
	if row.Proc.PID != 600 || !row.Gone {
		t.Fatalf("selected %d gone=%v", row.Proc.PID, row.Gone)
	}
	if !strings.Contains(screen(m), "gone") {
		t.Error("screen does not mark the gone process")
	}
	m = press(m, "up")
	for _, r := range m.list.Rows() {
		if r.Proc.PID == 600 {
			t.Error("gone process still listed after the selection moved")
		}
	}
}

func TestProftpdOnlyAndKernel(t *testing.T) {
	m := newTest(t, 80, 24)
	m = press(m, "p")
	if n := len(m.list.Rows()); n != 3 {
		t.Errorf("proftpd only: %d rows, want 3", n)
	}
	m = press(m, "p", "K")
	if n := len(m.list.Rows()); n != 8 {
		t.Errorf("with kernel threads: %d rows, want 8", n)
	}
}

func TestEnterPrintsBlock(t *testing.T) {
	m := newTest(t, 80, 24)
	m = press(m, "tab", "space", "e")
	next, cmd := m.Update(keyMsg("enter"))
	m = next.(Model)
	if cmd == nil {
		t.Fatal("enter did not quit")
	}
	want := "<IfModule mod_cap.c>\n  CapabilitiesEngine on\n  CapabilitiesSet -CAP_CHOWN\n</IfModule>\n"
	if m.Output != want {
		t.Errorf("output %q, want %q", m.Output, want)
	}
}

// TestNeverPanicsAtAnySize resizes through tiny and odd sizes in every pane.
func TestNeverPanicsAtAnySize(t *testing.T) {
	m := newTest(t, 80, 24)
	for _, keys := range [][]string{nil, {"tab"}, {"e"}, {"?"}, {"tab", "x"}, {"P"}, {"a"}, {"/"}} {
		mm := press(m, keys...)
		for w := 1; w <= 130; w += 7 {
			for h := 1; h <= 45; h += 4 {
				mm = send(mm, tea.WindowSizeMsg{Width: w, Height: h})
				out := screen(mm)
				if got := strings.Count(out, "\n") + 1; got > h {
					t.Fatalf("%dx%d: %d lines", w, h, got)
				}
				mm = press(mm, "down", "pgdown", "end", "home")
			}
		}
	}
}

func TestWriteNeverOverwritesWithoutAsking(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mod_cap.conf")
	if err := os.WriteFile(path, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := newTest(t, 80, 24)
	m = press(m, "e", "w")
	m = typeText(m, path)
	m = runKey(m, "enter")
	if m.overlay != overlayOverwrite {
		t.Fatalf("no overwrite question (overlay %d)", m.overlay)
	}
	m = press(m, "n")
	if b, _ := os.ReadFile(path); string(b) != "keep me\n" {
		t.Errorf("file changed: %q", b)
	}
	m = press(m, "w")
	m = typeText(m, path)
	m = runKey(m, "enter")
	m = runKey(m, "y")
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "CapabilitiesEngine on") {
		t.Errorf("not written: %q (status %q)", b, m.status)
	}
}

// runKey presses a key and runs the command it returns, as the runtime
// would.
func runKey(m Model, k string) Model {
	next, cmd := m.Update(keyMsg(k))
	return run(next.(Model), cmd)
}

func TestMouse(t *testing.T) {
	m := newTest(t, 80, 24)
	l := m.layout()
	m = send(m, tea.MouseClickMsg{X: 5, Y: l.procTop + 2, Button: tea.MouseLeft})
	if m.list.Cursor() != 2 {
		t.Errorf("click selected row %d, want 2", m.list.Cursor())
	}
	m = send(m, tea.MouseClickMsg{X: 5, Y: l.gridTop + 3, Button: tea.MouseLeft})
	if m.focus != paneGrid || m.gridCursor != 3 {
		t.Errorf("grid click: focus %d cursor %d", m.focus, m.gridCursor)
	}
	m = send(m, tea.MouseWheelMsg{X: 5, Y: l.gridTop + 1, Button: tea.MouseWheelDown})
	if m.gridCursor != 6 {
		t.Errorf("wheel: cursor %d", m.gridCursor)
	}
}

func TestDetailShowsExpectedByConfig(t *testing.T) {
	m := newTest(t, 120, 40)
	snap := fixtureSnapshot()
	res := &drift.Result{Status: drift.Known, Config: "/etc/proftpd/proftpd.conf", Expected: modcap.Prediction{Permitted: 0x4c9},
		Differences: []string{"CapPrm: predicted 00000000000004c9, observed 00000000200004c1"}}
	m = send(m, scanMsg{snap: snap})
	m = send(m, driftMsg{sessions: map[int]*drift.Result{401: res}})
	m = press(m, "/", "f", "t", "p", "t", "enter")
	s := screen(m)
	for _, want := range []string{"expected by /etc/proftpd/proftpd.conf: CapPrm 00000000000004c9", "actual CapPrm 00000000200004c1", "✗ drift: CapPrm: predicted"} {
		if !strings.Contains(s, want) {
			t.Errorf("detail lacks %q:\n%s", want, s)
		}
	}
}

// TestOneRefreshChain: only scans of the refresh chain schedule the next
// tick, so an extra scan (after apply) never starts a second chain.
func TestOneRefreshChain(t *testing.T) {
	m := newTest(t, 80, 24)
	if _, cmd := m.Update(scanMsg{snap: fixtureSnapshot()}); cmd != nil {
		t.Error("an extra scan scheduled a tick")
	}
	if _, cmd := m.Update(scanMsg{snap: fixtureSnapshot(), chain: true}); cmd == nil {
		t.Error("a chain scan did not schedule the next tick")
	}
}
