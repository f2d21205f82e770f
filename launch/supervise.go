package launch

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"captune/procscan"
)

// CommandExit is how a raw-mode command ended.
type CommandExit struct {
	// Code is the status a shell would report: the exit status, or 128
	// plus N when signal N killed the command.
	Code int `json:"code"`
	// Signal names the signal that killed it ("SIGTERM"); empty when it
	// exited.
	Signal string `json:"signal,omitempty"`
	// Stopped is set when captune stopped it (SIGINT, SIGTERM or captune
	// itself going away).
	Stopped bool `json:"stopped_by_captune"`
}

// Status is the exit status apply passes on (Code).
func (e CommandExit) Status() int { return e.Code }

// String says how the command ended.
func (e CommandExit) String() string {
	s := "exited with status " + strconv.Itoa(e.Code)
	if e.Signal != "" {
		s = fmt.Sprintf("was killed by %s (status %d)", e.Signal, e.Code)
	}
	if e.Stopped {
		s += ", stopped by captune"
	}
	return s
}

func exitOf(ws syscall.WaitStatus, stopped bool) CommandExit {
	e := CommandExit{Code: ws.ExitStatus(), Stopped: stopped}
	if ws.Signaled() {
		e.Code = 128 + int(ws.Signal())
		e.Signal = unix.SignalName(ws.Signal())
	}
	return e
}

// superviseMsg is what the supervisor says after its first report.
type superviseMsg struct {
	Exit *CommandExit `json:"exit,omitempty"`
}

// plan is the plan the spec describes, for the supervisor's own check.
func (s superviseSpec) plan() Plan {
	p := Plan{Mode: ModeRaw, Command: s.Args, UID: s.UID, GID: s.GID, Groups: s.Groups,
		LaunchInh: s.Inh, LaunchAmb: s.Amb, LaunchBnd: s.Bnd, Keep: s.Keep}
	p.Target = Sets{Inheritable: s.Inh, Ambient: s.Amb, Permitted: s.Amb, Effective: s.Amb, Bounding: s.Bnd}
	return p
}

// superviseMain is the raw-mode supervisor, run as `captune
// __captune-supervise` with captune's socket on fd 3 and captune's
// standard input, output and error (the command's). It reads the plan
// from the socket and checks it against its own state with the same
// Check apply makes, extended to what the exec will really grant; then it
// launches the command in its own process group with the planned
// identity and IAB, waits until the exec has committed the command's
// credentials, and reports the command's PID. The command is reaped only
// after captune says it has read the command back (so its PID cannot be
// reused before), and its end is reported. When captune asks, or when
// captune's socket closes (captune exited or was killed), the command and
// everything left in its group get SIGTERM, then SIGKILL after 2 s. With
// keep, the supervisor is detached and does the same at the deadline or
// on SIGTERM.
func superviseMain() int {
	c, _, code := hiddenStart("supervisor", false)
	if code != 0 {
		return code
	}
	var spec superviseSpec
	if err := c.recv(&spec, specTimeout); err != nil {
		_ = c.send(report{Error: "no plan from captune: " + err.Error()})
		return hiddenUsage
	}
	refuse := func(err error) int {
		_ = c.send(report{Error: err.Error(), Refused: true})
		return hiddenRefused
	}
	if len(spec.Args) == 0 || spec.Path == "" || !filepath.IsAbs(spec.Path) {
		return refuse(errors.New("the supervisor runs a command given by absolute path"))
	}
	sc, err := procscan.New("/proc")
	if err != nil {
		return refuse(err)
	}
	self, err := sc.Process(os.Getpid())
	if err != nil {
		return refuse(fmt.Errorf("reading the supervisor's own state: %v", err))
	}
	plan := spec.plan()
	if err := plan.Check(self); err != nil {
		return refuse(fmt.Errorf("the supervisor refuses the plan: %v", err))
	}
	// Terminal signals reach the command's group, which is the
	// supervisor's own: the supervisor stays to report. They are caught,
	// not ignored: an ignored signal would stay ignored in the command
	// after its exec (ctrl+c would not stop it), a caught one is reset.
	caught := make(chan os.Signal, 8)
	signal.Notify(caught, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGHUP)
	go func() {
		for range caught {
		}
	}()
	l := cap.NewLauncher(spec.Path, spec.Args, spec.Env)
	if plan.changesIdentity(self) {
		l.SetUID(int(spec.UID))
		groups := make([]int, len(spec.Groups))
		for i, g := range spec.Groups {
			groups[i] = int(g)
		}
		l.SetGroups(int(spec.GID), groups)
	}
	iab, err := iabFor(spec.Inh, spec.Amb, spec.Bnd)
	if err != nil {
		_ = c.send(report{Error: err.Error()})
		return 1
	}
	l.SetIAB(iab)
	l.Callback(func(pa *syscall.ProcAttr, _ any) error {
		pa.Files = []uintptr{0, 1, 2}
		return nil
	})
	pid, err := l.Launch(nil)
	if err != nil {
		bad := false
		for _, e := range []syscall.Errno{syscall.ENOENT, syscall.EACCES, syscall.ENOEXEC, syscall.ENOTDIR, syscall.ELOOP, syscall.EISDIR} {
			bad = bad || errors.Is(err, e)
		}
		_ = c.send(report{Error: fmt.Sprintf("cannot run %s as uid %d: %v", spec.Path, spec.UID, err), Refused: errors.Is(err, syscall.EPERM), Usage: bad})
		return 1
	}
	execBarrier(pid)
	if err := c.send(report{PID: pid}); err != nil {
		stopGroup(pid)
		return 1
	}

	msgs := make(chan control)
	go func() {
		defer close(msgs)
		for {
			var m control
			if err := c.recv(&m, 0); err != nil {
				return
			}
			msgs <- m
		}
	}()
	exited := make(chan syscall.WaitStatus, 1)
	reap := func() {
		go func() {
			var ws syscall.WaitStatus
			for {
				_, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil)
				if err == syscall.EINTR {
					continue
				}
				if err == nil && ws.Stopped() {
					// ctrl+z stopped the command: captune cannot hand it
					// to the shell's job control, so it goes on. (Stopped
					// for reading the terminal from the background, it
					// stays stopped until captune stops it.)
					if ws.StopSignal() == syscall.SIGTSTP {
						_ = syscall.Kill(pid, syscall.SIGCONT)
						signalGroupMembers(syscall.SIGCONT)
					}
					continue
				}
				break
			}
			exited <- ws
		}()
	}
	var term chan os.Signal
	var deadline <-chan time.Time
	reaping, stopped, detached := false, false, false
	for {
		select {
		case m, ok := <-msgs:
			switch {
			case !ok && detached:
				msgs = nil
				continue
			case !ok:
				msgs = nil
				stopped = true
				stopGroup(pid)
			case m.Op == "readdone":
			case m.Op == "stop":
				stopped = true
				stopGroup(pid)
			case m.Op == "detach" && spec.Keep > 0 && !detached:
				detached = true
				term = make(chan os.Signal, 1)
				signal.Notify(term, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
				deadline = time.After(spec.Keep)
			}
			if !reaping {
				reaping = true
				reap()
			}
		case <-term:
			stopped = true
			stopGroup(pid)
		case <-deadline:
			stopped = true
			stopGroup(pid)
		case ws := <-exited:
			e := exitOf(ws, stopped)
			_ = c.send(superviseMsg{Exit: &e})
			killGroupMembers()
			return 0
		}
	}
}

// stopGroup ends the command and what is left in the supervisor's
// process group (the command's): SIGTERM, then SIGKILL after 2 s. It
// returns at once; the command's exit is reaped as usual.
func stopGroup(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	signalGroupMembers(syscall.SIGTERM)
	time.AfterFunc(2*time.Second, func() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		signalGroupMembers(syscall.SIGKILL)
	})
}

// killGroupMembers kills what the command left in the group when it
// ended (its background children).
func killGroupMembers() { signalGroupMembers(syscall.SIGKILL) }

// signalGroupMembers signals every other process of the supervisor's
// process group.
func signalGroupMembers(sig syscall.Signal) {
	self, pg := os.Getpid(), syscall.Getpgrp()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if g, err := procStatField(pid, 5); err == nil && g == pg {
			_ = syscall.Kill(pid, sig)
		}
	}
}
