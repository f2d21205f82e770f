package ui

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
)

// ErrNoTTY reports that there is no terminal to draw on.
var ErrNoTTY = errors.New("no terminal")

// Run opens /dev/tty and runs the program on it, so standard output stays
// free for what the user asks to print (captune > mod_cap.conf works). It
// restores the terminal on quit, error, panic, SIGINT, SIGTERM and SIGHUP,
// stops the test daemon, then writes the chosen output to out. A panic is
// returned as a *PanicError.
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
	rec := &recovered{}
	p := tea.NewProgram(guard{m: New(opts), rec: rec}, tea.WithInput(newTTYInput(tty)), tea.WithOutput(tty), tea.WithFPS(30))
	rec.quit = p.Quit
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-hup:
			p.Quit()
		case <-done:
		}
	}()
	final, err := p.Run()
	g, ok := final.(guard)
	if ok {
		g.m.StopDaemon()
	}
	switch {
	case rec.value != nil:
		return &PanicError{Value: rec.value, Stack: rec.stack}
	case errors.Is(err, tea.ErrProgramPanic):
		return &PanicError{Value: "a panic in a background task (its stack is printed above)"}
	case err != nil && !errors.Is(err, tea.ErrProgramKilled):
		return err
	}
	if ok && g.m.Output != "" {
		_, err := io.WriteString(out, g.m.Output)
		return err
	}
	return nil
}
