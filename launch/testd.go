package launch

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"kernel.org/pub/linux/libs/security/libcap/cap"

	"captune/capset"
)

// TestdMain is the probe daemon, run as `captune __captune-testd SPEC`
// with captune's control pipe on fd 3 and the report pipe on fd 4. It
// shapes its own sets if asked, runs the probes, reports once, then waits:
// until the control pipe closes (captune exited, however it died), or in
// keep mode until its deadline or SIGTERM. It removes its folder as it goes.
func TestdMain(args []string) int {
	var spec testdSpec
	ctl, rep, code := hiddenStart("probe daemon", args, &spec)
	if code != 0 {
		return code
	}
	if spec.Keep > 0 {
		// Detached: captune may exit; the deadline or SIGTERM ends us.
		ctl.Close()
	}
	r := report{PID: os.Getpid()}
	if spec.Shape {
		if err := shape(spec.Permitted, spec.Effective); err != nil {
			r.Error = "shaping the daemon's sets failed: " + err.Error()
		}
	}
	if r.Error == "" {
		r.Probes = runProbes(spec)
	}
	fmt.Fprintf(rep, "%s\n", encode(r))
	rep.Close()
	if r.Error != "" {
		os.RemoveAll(spec.Dir)
		return 1
	}
	if spec.Keep > 0 {
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		select {
		case <-term:
		case <-time.After(spec.Keep):
		}
		os.RemoveAll(spec.Dir)
		return 0
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	_, _ = io.Copy(io.Discard, bufio.NewReader(ctl))
	os.RemoveAll(spec.Dir)
	return 0
}

// shape sets the whole process (every thread, through libcap's psx
// mechanism) to permitted P, effective E, empty inheritable and ambient.
func shape(p, e capset.Set) error {
	c := cap.NewSet()
	for _, v := range p.Caps() {
		if err := c.SetFlag(cap.Permitted, true, cap.Value(v)); err != nil {
			return err
		}
	}
	for _, v := range e.Caps() {
		if err := c.SetFlag(cap.Effective, true, cap.Value(v)); err != nil {
			return err
		}
	}
	if err := cap.ResetAmbient(); err != nil {
		return fmt.Errorf("clearing ambient: %w", err)
	}
	if err := c.SetProc(); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
