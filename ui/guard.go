package ui

import (
	"fmt"
	"reflect"
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
// end-to-end tests of a panic inside the TUI cause one: with
// CAPTUNE_DEBUG_PANIC in the environment the key "!" panics in Update
// (value 1), in a command (value cmd) or in View (value view). It grants
// nothing: it only ends captune the way a bug would. Nothing else uses
// them.
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

func (g guard) Init() tea.Cmd { return safeCmd(g.m.Init()) }

func (g guard) Update(msg tea.Msg) (next tea.Model, cmd tea.Cmd) {
	if g.rec.value != nil {
		return g, tea.Quit
	}
	if p, ok := msg.(cmdPanicMsg); ok {
		g.rec.value, g.rec.stack = p.value, p.stack
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
	return g, safeCmd(cmd)
}

// cmdPanicMsg is a panic inside a command, caught in the command's
// goroutine and handed to Update, so that it ends captune like a panic
// in Update: the terminal restored, one line, the stack in a file.
type cmdPanicMsg struct {
	value any
	stack []byte
}

var cmdType = reflect.TypeFor[tea.Cmd]()

// safeCmd wraps a command so that a panic in it becomes a cmdPanicMsg.
// The commands of a batch or sequence it returns are wrapped as well
// (any message that is a slice of commands: tea.BatchMsg and Bubble Tea's
// unexported sequence message).
func safeCmd(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				msg = cmdPanicMsg{value: r, stack: debug.Stack()}
			}
		}()
		msg = cmd()
		v := reflect.ValueOf(msg)
		if v.Kind() != reflect.Slice || v.Type().Elem() != cmdType {
			return msg
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c, _ := v.Index(i).Interface().(tea.Cmd)
			out.Index(i).Set(reflect.ValueOf(safeCmd(c)))
		}
		return out.Interface()
	}
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

// debugPanicNow is the debug hook's key: a panic where
// CAPTUNE_DEBUG_PANIC says.
func (m Model) debugPanicNow() (tea.Model, tea.Cmd) {
	what := "debug panic: " + debugPanicEnv + "=" + m.debugPanic + " and the key " + debugPanicKey
	switch m.debugPanic {
	case "1":
		panic(what)
	case "cmd":
		return m, func() tea.Msg { panic(what) }
	case "view":
		m.viewPanic = true
	}
	return m, nil
}
