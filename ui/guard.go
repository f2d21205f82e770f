package ui

import (
	"fmt"
	"runtime/debug"

	tea "charm.land/bubbletea/v2"
)

// PanicError is a panic inside the program: a bug. Run returns it after
// the terminal is restored and the test daemon is stopped, so that captune
// can say so in one line instead of the stack trace Bubble Tea would print
// over the screen.
type PanicError struct {
	// Value is what panicked.
	Value any
	// Stack is the panicking goroutine's stack, or nil when Bubble Tea
	// caught the panic itself (in a background command) and printed it.
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("internal error (a bug): %v", e.Value) }

// debugPanicKey and debugPanicEnv are the debug hook that lets the
// end-to-end test of a panic inside the TUI cause one: with
// CAPTUNE_DEBUG_PANIC=1 in the environment the key "!" panics in Update.
// Nothing else uses them.
const (
	debugPanicKey = "!"
	debugPanicEnv = "CAPTUNE_DEBUG_PANIC"
)

// recovered is shared by the guard's copies: the first panic, and how to
// end the program from View (which cannot return a command).
type recovered struct {
	value any
	stack []byte
	quit  func()
}

// guard wraps the root model and catches a panic in Update or View: the
// program then quits normally (Bubble Tea restores the terminal) keeping
// the model as it was before the panicking message, so Run can still stop
// the daemon it holds.
type guard struct {
	m   Model
	rec *recovered
}

func (g guard) Init() tea.Cmd { return g.m.Init() }

func (g guard) Update(msg tea.Msg) (next tea.Model, cmd tea.Cmd) {
	if g.rec.value != nil {
		return g, tea.Quit
	}
	defer func() {
		if r := recover(); r != nil {
			g.rec.value, g.rec.stack = r, debug.Stack()
			next, cmd = g, tea.Quit
		}
	}()
	nm, cmd := g.m.Update(msg)
	if m, ok := nm.(Model); ok {
		g.m = m
	}
	return g, cmd
}

func (g guard) View() (v tea.View) {
	if g.rec.value != nil {
		return tea.NewView("")
	}
	defer func() {
		if r := recover(); r != nil {
			g.rec.value, g.rec.stack = r, debug.Stack()
			if g.rec.quit != nil {
				go g.rec.quit()
			}
			v = tea.NewView("")
		}
	}()
	return g.m.View()
}
