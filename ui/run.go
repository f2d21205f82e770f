package ui

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
)

// ErrNoTTY reports that there is no terminal to draw on.
var ErrNoTTY = errors.New("no terminal")

// InterruptedError reports that a signal ended the program; the terminal
// was restored and the test daemon stopped before Run returned it.
type InterruptedError struct {
	// Signal is the first signal that arrived.
	Signal os.Signal
}

// Error names the signal.
func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted by %s", signalName(e.Signal))
}

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// Run opens /dev/tty and runs the program on it, so standard output stays
// free for what the user asks to print (captune > mod_cap.conf works). It
// restores the terminal on quit, error, panic (in Update, View or a
// command), SIGINT, SIGTERM and SIGHUP, stops the test daemon, then
// writes the chosen output to out. A panic is returned as a *PanicError,
// a signal as an *InterruptedError.
func Run(opts Options, out io.Writer) error {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoTTY, err)
	}
	defer tty.Close()
	if !term.IsTerminal(tty.Fd()) {
		return fmt.Errorf("%w: /dev/tty is not a terminal", ErrNoTTY)
	}
	// 30 frames a second is smooth for a table and halves the idle
	// wake-ups of the default 60. Keys are read through the input guard
	// (input.go): the decoder panics on some sequences a user can type.
	// Signals are Run's alone (Bubble Tea's handler is off): they stay
	// caught until Run returns, so a second signal while captune winds
	// down cannot kill it with the terminal still raw.
	rec := &recovered{}
	p := tea.NewProgram(guard{m: New(opts), rec: rec}, tea.WithInput(newTTYInput(tty)), tea.WithOutput(tty),
		tea.WithFPS(30), tea.WithoutSignalHandler())
	rec.quit = p.Quit
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	var mu sync.Mutex
	var first os.Signal
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case s := <-sigs:
				mu.Lock()
				if first == nil {
					first = s
				}
				mu.Unlock()
				p.Quit()
			case <-done:
				return
			}
		}
	}()
	final, err := p.Run()
	g, ok := final.(guard)
	if ok {
		g.m.StopDaemon()
	}
	close(done)
	<-stopped
	switch {
	case rec.value != nil:
		return &PanicError{Value: rec.value, Stack: rec.stack}
	case errors.Is(err, tea.ErrProgramPanic):
		return &PanicError{Value: "a panic in a background task (its stack is printed above)"}
	case err != nil && !errors.Is(err, tea.ErrProgramKilled):
		return err
	case first != nil:
		return &InterruptedError{Signal: first}
	}
	if ok && g.m.Output != "" {
		_, err := io.WriteString(out, g.m.Output)
		return err
	}
	return nil
}
