package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"captune/procscan"
)

// rowOf returns the screen line of the process list that shows pid.
func rowOf(t *testing.T, m Model, pid string) string {
	t.Helper()
	for _, ln := range strings.Split(screen(m), "\n") {
		if f := strings.Fields(strings.TrimPrefix(ln, "›")); len(f) > 0 && f[0] == pid {
			return ln
		}
	}
	t.Fatalf("no row for PID %s:\n%s", pid, screen(m))
	return ""
}

// TestCapabilitiesKeepTheirOperator: at every width the session's row
// still says what its set is (=p), and the pinger's row keeps =eip.
func TestCapabilitiesKeepTheirOperator(t *testing.T) {
	for _, w := range []int{60, 80, 100, 120, 200} {
		m := newTest(t, w, 40)
		if row := strings.TrimSpace(rowOf(t, m, "401")); !strings.HasSuffix(row, "=p") {
			t.Errorf("%d columns: session row %q lost its =p", w, row)
		}
		if row := rowOf(t, m, "500"); !strings.Contains(row, "cap_net_raw=eip") {
			t.Errorf("%d columns: pinger row %q", w, row)
		}
	}
}

// TestCommandGrowsOnWideTerminals: COMMAND takes the room its longest
// text needs when there is room, and shares it when there is not.
func TestCommandGrowsOnWideTerminals(t *testing.T) {
	long := "/usr/lib/jvm/java-17-openjdk/bin/java -Xmx4g -Dconfig=/etc/service/very/long/path.conf -jar /opt/service/service.jar --port 8080"
	snap := fixtureSnapshot()
	snap.Procs = append(snap.Procs, procscan.Process{PID: 700, PPID: 1, User: "svc", Comm: "java", Cmdline: strings.Fields(long), NumThreads: 1,
		Sets: procscan.Sets{Bounding: full}})
	for _, c := range []struct {
		w          int
		whole      bool
		minCmd     int
		capsIntact bool
	}{{80, false, 20, true}, {120, false, 45, true}, {250, true, len(long), true}} {
		m := New(Options{Master: full, PAM: true})
		m = send(m, tea.WindowSizeMsg{Width: c.w, Height: 40})
		m = send(m, scanMsg{snap: snap})
		cmdW, _ := m.procColumns(m.list.Rows(), m.list.Known())
		row := rowOf(t, m, "700")
		if strings.Contains(row, long) != c.whole || cmdW < c.minCmd {
			t.Errorf("%d columns: COMMAND %d wide, whole %v:\n%s", c.w, cmdW, strings.Contains(row, long), row)
		}
		if sess := strings.TrimSpace(rowOf(t, m, "401")); !strings.HasSuffix(sess, "=p") {
			t.Errorf("%d columns: session row %q", c.w, sess)
		}
		for i, ln := range strings.Split(screen(m), "\n") {
			if ansi.StringWidth(ln) != c.w {
				t.Errorf("%d columns: line %d is %d wide", c.w, i, ansi.StringWidth(ln))
			}
		}
	}
}
