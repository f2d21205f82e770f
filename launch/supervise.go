package launch

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// SuperviseMain is the raw-mode supervisor, run as `captune
// __captune-supervise SPEC` with captune's control pipe on fd 3 and the
// report pipe on fd 4. It launches the command with the planned identity
// and IAB in its own process group, reports its pid, and kills the whole
// group when captune's pipe closes (or, with keep, at the deadline or on
// SIGTERM).
func SuperviseMain(args []string) int {
	var spec superviseSpec
	ctl, rep, code := hiddenStart("supervisor", args, &spec)
	if code != 0 {
		return code
	}
	l := cap.NewLauncher(spec.Path, spec.Args, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"})
	l.SetUID(int(spec.UID))
	groups := make([]int, len(spec.Groups))
	for i, g := range spec.Groups {
		groups[i] = int(g)
	}
	l.SetGroups(int(spec.GID), groups)
	iab, err := iabFor(spec.Inh, spec.Amb, spec.Bnd)
	if err != nil {
		fmt.Fprintf(rep, "%s\n", encode(report{Error: err.Error()}))
		return 1
	}
	l.SetIAB(iab)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(rep, "%s\n", encode(report{Error: err.Error()}))
		return 1
	}
	l.Callback(func(pa *syscall.ProcAttr, _ any) error {
		pa.Files = []uintptr{null.Fd(), null.Fd(), null.Fd()}
		pa.Sys = &syscall.SysProcAttr{Setpgid: true}
		return nil
	})
	pid, err := l.Launch(nil)
	null.Close()
	if err != nil {
		fmt.Fprintf(rep, "%s\n", encode(report{Error: fmt.Sprintf("cannot run %s: %v", spec.Path, err)}))
		return 1
	}
	// Give the command a moment to finish its exec before captune reads it.
	time.Sleep(100 * time.Millisecond)
	fmt.Fprintf(rep, "%s\n", encode(report{PID: pid}))
	rep.Close()

	exited := make(chan struct{})
	go func() {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		close(exited)
	}()
	stop := make(chan struct{})
	if spec.Keep > 0 {
		ctl.Close()
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		go func() {
			select {
			case <-term:
			case <-time.After(spec.Keep):
			}
			close(stop)
		}()
	} else {
		signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
		go func() {
			_, _ = io.Copy(io.Discard, ctl)
			close(stop)
		}()
	}
	<-stop
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(2 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	return 0
}
