package ui

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"captune/procscan"
)

// run executes a command and feeds its message back, as the runtime would.
func run(m Model, cmd tea.Cmd) Model {
	if cmd == nil {
		return m
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			m = run(m, c)
		}
		return m
	}
	return send(m, msg)
}

func TestApplyFromTheTuner(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CAPTUNE_E2E") != "" {
			t.Fatal("apply needs root, and CAPTUNE_E2E is set")
		}
		t.Skip("apply needs root (set CAPTUNE_E2E=1 to make this a failure)")
	}
	sc, err := procscan.New("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self, _ := sc.Process(os.Getpid())
	m := New(Options{Scanner: sc, Master: self.Sets.Bounding, PAM: true, Refresh: time.Hour})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = press(m, "tab", "down", "down", "down", "space") // +CAP_FOWNER
	m = press(m, "a")
	if m.overlay != overlayApply || m.apply.refusal != "" {
		t.Fatalf("apply overlay %d, refusal %q", m.overlay, m.apply.refusal)
	}
	if !strings.Contains(screen(m), "launch it?") {
		t.Fatalf("no confirmation:\n%s", screen(m))
	}
	next, cmd := m.Update(keyMsg("y"))
	m = run(next.(Model), cmd)
	if m.apply.result == nil || !m.apply.result.Match {
		t.Fatalf("result %+v, err %q", m.apply.result, m.apply.err)
	}
	pid := m.DaemonPID()
	if _, err := os.Stat("/proc/" + itoa(pid)); err != nil {
		t.Fatalf("daemon %d not running", pid)
	}
	if !strings.Contains(screen(m), "read-back: match") || !strings.Contains(screen(m), "cap_fowner") {
		t.Errorf("result view:\n%s", screen(m))
	}
	next, cmd = m.Update(keyMsg("k"))
	m = run(next.(Model), cmd)
	if m.DaemonPID() != 0 {
		t.Error("k did not stop the daemon")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err := os.Stat("/proc/" + itoa(pid) + "/exe"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon %d still alive", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
