package ui

import (
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

// TestGuardCatchesEveryPanic: a panic in Update, in a command (also one
// inside a batch or sequence), or in View is caught, recorded with its
// stack, and ends the program through a normal quit, so Bubble Tea
// restores the terminal and prints nothing over it.
func TestGuardCatchesEveryPanic(t *testing.T) {
	newGuard := func(mode string) guard {
		m := newTest(t, 80, 24)
		m.debugPanic = mode
		return guard{m: m, rec: &recovered{quit: func() {}}}
	}
	t.Run("update", func(t *testing.T) {
		g := newGuard("1")
		_, cmd := g.Update(keyMsg(debugPanicKey))
		if g.rec.value == nil || !isQuit(cmd) {
			t.Fatalf("not caught: %v, quit %v", g.rec.value, isQuit(cmd))
		}
		if !strings.Contains(string(g.rec.stack), "debugPanicNow") {
			t.Errorf("stack lacks the panicking function:\n%s", g.rec.stack)
		}
	})
	t.Run("command", func(t *testing.T) {
		g := newGuard("cmd")
		next, cmd := g.Update(keyMsg(debugPanicKey))
		if g.rec.value != nil || cmd == nil {
			t.Fatalf("the key should return the panicking command")
		}
		msg := cmd() // would panic on Bubble Tea's command goroutine
		if _, ok := msg.(cmdPanicMsg); !ok {
			t.Fatalf("command returned %T, want cmdPanicMsg", msg)
		}
		_, cmd = next.Update(msg)
		if g.rec.value == nil || !isQuit(cmd) || !strings.Contains(string(g.rec.stack), "debugPanicNow") {
			t.Errorf("command panic not recorded: %v quit %v", g.rec.value, isQuit(cmd))
		}
	})
	t.Run("batch-and-sequence", func(t *testing.T) {
		boom := func() tea.Msg { panic("in a batch") }
		for _, c := range []tea.Cmd{tea.Batch(boom, boom), tea.Sequence(boom, boom)} {
			msg := safeCmd(c)()
			batch, ok := msg.(tea.BatchMsg)
			if !ok {
				// The sequence message is unexported: run its commands
				// through reflection's view of it, a slice of commands.
				for _, inner := range sliceOfCmds(t, msg) {
					if _, ok := inner().(cmdPanicMsg); !ok {
						t.Errorf("a command of %T was not wrapped", msg)
					}
				}
				continue
			}
			for _, inner := range batch {
				if _, ok := inner().(cmdPanicMsg); !ok {
					t.Error("a command of the batch was not wrapped")
				}
			}
		}
	})
	t.Run("view", func(t *testing.T) {
		g := newGuard("view")
		quit := make(chan struct{}, 1)
		g.rec.quit = func() { quit <- struct{}{} }
		next, _ := g.Update(keyMsg(debugPanicKey))
		v := next.View()
		if g.rec.value == nil || v.Content != "" {
			t.Fatalf("View panic not caught: %v %q", g.rec.value, v.Content)
		}
		<-quit
		if _, cmd := next.Update(tickMsg{}); !isQuit(cmd) {
			t.Error("after a panic every message should quit")
		}
	})
}

// sliceOfCmds reads Bubble Tea's unexported sequence message, a slice of
// commands.
func sliceOfCmds(t *testing.T, msg tea.Msg) []tea.Cmd {
	t.Helper()
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Slice || v.Type().Elem() != cmdType {
		t.Fatalf("unexpected message %T", msg)
	}
	out := make([]tea.Cmd, v.Len())
	for i := range out {
		out[i] = v.Index(i).Interface().(tea.Cmd)
	}
	return out
}
