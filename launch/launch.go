package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"captune/capset"
	"captune/procscan"
)

// Options say how to start the hidden modes.
type Options struct {
	// Self is the captune binary to re-execute (default /proc/self/exe).
	Self string
	// ReadyTimeout bounds the wait for the daemon's report (default 15 s).
	ReadyTimeout time.Duration
	// Stdin, Stdout and Stderr are a raw-mode command's standard input,
	// output and error (nil: /dev/null). The probe daemon always gets
	// /dev/null. When Stdin is the terminal and captune is in its
	// foreground, the command's process group becomes the terminal's
	// foreground until the command ends, so that it may read the terminal
	// and ctrl+c reaches it.
	Stdin, Stdout, Stderr *os.File
	// TempDir is the parent of the private place (default TMPDIR).
	TempDir string
}

// Daemon is a started test process.
type Daemon struct {
	// PID is the process that holds the target state: the probe daemon,
	// or in raw mode with a command, the command.
	PID int
	// Probes are the daemon's verdicts (empty for a command).
	Probes []Probe
	// Detached is set for a --keep daemon, which captune no longer stops.
	Detached bool
	// Command is set for a raw-mode command (run by the supervisor).
	Command bool

	// child is the process captune started and reaps (daemon or supervisor).
	child   int
	c       *conn
	folder  Folder
	guarded bool
	fg      *foreground

	mu       sync.Mutex
	readDone bool
	exit     *CommandExit
	exitErr  error
	exitCh   chan struct{}
	stopOnce sync.Once
}

// ErrLaunch reports a daemon or command that could not be started.
var ErrLaunch = errors.New("launch failed")

// Start carries out a plan that passed Check. Whatever it starts ends
// with captune (Stop, or captune's janitor should captune die), except a
// daemon with Keep, which the janitor lets run until its deadline and
// then removes its folder.
func Start(p Plan, o Options) (*Daemon, error) {
	if o.Self == "" {
		o.Self = "/proc/self/exe"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 15 * time.Second
	}
	if _, err := theJanitor(); err != nil {
		return nil, err
	}
	if len(p.Command) > 0 {
		return startSupervised(p, o)
	}
	return startTestd(p, o)
}

func startTestd(p Plan, o Options) (*Daemon, error) {
	f, dir, err := MakeFolder(o.TempDir, "probe")
	if err != nil {
		return nil, err
	}
	ids, held, err := makeFixtures(int(dir.Fd()), p.UID, p.GID)
	dir.Close()
	// Held until the daemon has run its probes (it reports after them).
	defer held.close()
	if err != nil {
		f.Dispose()
		return nil, fmt.Errorf("%w: preparing the probe folder: %v", ErrLaunch, err)
	}
	spec := testdSpec{Shape: p.Shape, Permitted: p.Target.Permitted, Effective: p.Target.Effective, Dir: f.Path, Fixtures: ids, Keep: p.Keep}
	l := cap.NewLauncher(o.Self, []string{"captune", TestdArg}, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"})
	if err := withIdentity(l, p); err != nil {
		f.Dispose()
		return nil, err
	}
	d, err := launchHidden(l, o, spec, p.Keep > 0, nil, f)
	if err != nil {
		f.Dispose()
		return nil, err
	}
	d.folder = f
	return d, nil
}

func startSupervised(p Plan, o Options) (*Daemon, error) {
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if t := os.Getenv("TERM"); t != "" && !strings.ContainsAny(t, "\x00\n") {
		env = append(env, "TERM="+t)
	}
	spec := superviseSpec{Path: p.Command[0], Args: p.Command, Env: env, UID: p.UID, GID: p.GID, Groups: p.Groups,
		Inh: p.LaunchInh, Amb: p.LaunchAmb, Bnd: p.LaunchBnd, Keep: p.Keep}
	// The supervisor keeps captune's own privilege; it applies the plan
	// to the command it launches (after checking it again).
	l := cap.NewLauncher(o.Self, []string{"captune", SuperviseArg}, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"})
	stdio := []*os.File{o.Stdin, o.Stdout, o.Stderr}
	if p.Keep > 0 {
		stdio = nil
	}
	d, err := launchHidden(l, o, spec, p.Keep > 0, stdio, Folder{})
	if err != nil {
		return nil, err
	}
	d.Command = true
	return d, nil
}

// withIdentity sets the launcher to the plan's identity (when it differs
// from captune's own) and IAB.
func withIdentity(l *cap.Launcher, p Plan) error {
	sc, err := procscan.New("/proc")
	if err != nil {
		return err
	}
	self, err := sc.Process(os.Getpid())
	if err != nil {
		return fmt.Errorf("reading captune's own state: %v", err)
	}
	if p.changesIdentity(self) {
		l.SetUID(int(p.UID))
		groups := make([]int, len(p.Groups))
		for i, g := range p.Groups {
			groups[i] = int(g)
		}
		l.SetGroups(int(p.GID), groups)
	}
	iab, err := iabFor(p.LaunchInh, p.LaunchAmb, p.LaunchBnd)
	if err != nil {
		return err
	}
	l.SetIAB(iab)
	return nil
}

// iabFor builds libcap's IAB: inheritable, ambient, and the bounding bits
// to drop (everything the kernel has outside bnd).
func iabFor(inh, amb, bnd capset.Set) (*cap.IAB, error) {
	iab := cap.IABInit()
	max := capset.Upto(int(cap.MaxBits()))
	for _, v := range inh.Caps() {
		if err := iab.SetVector(cap.Inh, true, cap.Value(v)); err != nil {
			return nil, fmt.Errorf("inheritable %s: %w", v, err)
		}
	}
	for _, v := range amb.Caps() {
		if err := iab.SetVector(cap.Amb, true, cap.Value(v)); err != nil {
			return nil, fmt.Errorf("ambient %s: %w", v, err)
		}
	}
	for _, v := range (max &^ bnd).Caps() {
		if err := iab.SetVector(cap.Bound, true, cap.Value(v)); err != nil {
			return nil, fmt.Errorf("bounding %s: %w", v, err)
		}
	}
	return iab, nil
}

// launchHidden starts a hidden mode with captune's socket on fd 3 and
// stdio (nil entries: /dev/null) on 0, 1 and 2, in a process group of its
// own that the janitor guards (or, detached, in a session of its own),
// sends it its plan and reads its report. No shell is involved.
func launchHidden(l *cap.Launcher, o Options, spec any, detach bool, stdio []*os.File, f Folder) (*Daemon, error) {
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		mine.close()
		theirs.Close()
		return nil, err
	}
	defer null.Close()
	files := []uintptr{null.Fd(), null.Fd(), null.Fd(), theirs.Fd()}
	for i, s := range stdio {
		if s != nil {
			files[i] = s.Fd()
		}
	}
	fg := foregroundFor(stdio, detach)
	l.Callback(func(pa *syscall.ProcAttr, _ any) error {
		pa.Files = files
		pa.Sys = &syscall.SysProcAttr{Setsid: detach, Setpgid: !detach}
		if fg != nil {
			pa.Sys.Setpgid, pa.Sys.Foreground, pa.Sys.Ctty = false, true, int(fg.tty)
		}
		return nil
	})
	pid, err := l.Launch(nil)
	theirs.Close()
	if err != nil {
		mine.close()
		if errors.Is(err, syscall.EPERM) {
			return nil, &Refusal{Privilege: true, Reasons: []string{fmt.Sprintf("the kernel refused the daemon's uid, gid or capabilities: %v", err)}}
		}
		return nil, fmt.Errorf("%w: %v", ErrLaunch, err)
	}
	d := &Daemon{PID: pid, child: pid, c: mine, Detached: detach, fg: fg, exitCh: make(chan struct{})}
	if fg != nil {
		fg.active = true
	}
	fail := func(err error) (*Daemon, error) {
		d.Stop()
		return nil, err
	}
	// A child that has already ended (it refused) cannot be guarded: its
	// report says why, and comes first.
	var guardErr error
	if !detach {
		if guardErr = GuardGroup(pid); guardErr == nil {
			d.guarded = true
		}
	}
	if err := mine.send(spec); err != nil && guardErr == nil {
		return fail(fmt.Errorf("%w: sending the plan: %v", ErrLaunch, err))
	}
	var rep report
	if err := mine.recv(&rep, o.ReadyTimeout); err != nil {
		if guardErr != nil {
			return fail(guardErr)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fail(fmt.Errorf("%w: no report within %s", ErrLaunch, o.ReadyTimeout))
		}
		return fail(fmt.Errorf("%w: the daemon exited before reporting", ErrLaunch))
	}
	if rep.Error != "" {
		if rep.Refused || rep.Usage {
			return fail(&Refusal{Privilege: rep.Refused, Reasons: []string{rep.Error}})
		}
		return fail(fmt.Errorf("%w: %s", ErrLaunch, rep.Error))
	}
	if guardErr != nil {
		return fail(guardErr)
	}
	// The daemon is the launched process itself; a command is the
	// supervisor's child. Any other PID is not ours to read back.
	if _, isTestd := spec.(testdSpec); isTestd && rep.PID != pid {
		return fail(fmt.Errorf("%w: the daemon reported PID %d, not its own %d", ErrLaunch, rep.PID, pid))
	}
	if _, isCmd := spec.(superviseSpec); isCmd {
		if pp, err := procStatField(rep.PID, 4); err != nil || pp != pid {
			return fail(fmt.Errorf("%w: the supervisor reported PID %d, which is not its child", ErrLaunch, rep.PID))
		}
	}
	d.PID = rep.PID
	d.Probes = rep.Probes
	if detach && f.Name != "" {
		// A kept probe daemon: the folder now belongs to it as well, and
		// the janitor removes it when the daemon ends.
		holders := []Holder{}
		if self, err := HolderOf(os.Getpid()); err == nil {
			holders = append(holders, self)
		}
		if h, err := HolderOf(pid); err == nil {
			holders = append(holders, h)
		}
		if err := f.SetHolders("probe", holders); err != nil {
			return fail(err)
		}
		if err := keepFolder(f, pid); err != nil {
			return fail(err)
		}
		d.detach()
	}
	return d, nil
}

// detach hands a kept process over: it no longer watches captune's
// socket; its launcher child is reaped in the background.
func (d *Daemon) detach() {
	if d.c != nil {
		_ = d.c.send(control{Op: "detach"})
		d.c.close()
		d.c = nil
	}
	go syscall.Wait4(d.child, nil, 0, nil)
}

// ReadDone tells a raw-mode command's supervisor that captune has read
// the command back: from now on the command's exit is reaped and
// reported (before, its PID stays reserved). A kept command is handed
// over. It does nothing for the probe daemon.
func (d *Daemon) ReadDone() {
	if d == nil || !d.Command || d.c == nil {
		return
	}
	d.mu.Lock()
	if d.readDone {
		d.mu.Unlock()
		return
	}
	d.readDone = true
	d.mu.Unlock()
	_ = d.c.send(control{Op: "readdone"})
	if d.Detached {
		d.detach()
		return
	}
	go d.readExit()
}

func (d *Daemon) readExit() {
	var m superviseMsg
	err := d.c.recv(&m, 0)
	d.mu.Lock()
	if err == nil && m.Exit != nil {
		d.exit = m.Exit
	} else {
		d.exitErr = fmt.Errorf("the supervisor ended without reporting the command's exit")
	}
	d.mu.Unlock()
	close(d.exitCh)
}

// Wait waits for a raw-mode command to end and returns how it ended.
// When ctx is done first, the command is stopped (SIGTERM, SIGKILL after
// 2 s) and its end reported. Call ReadDone first.
func (d *Daemon) Wait(ctx context.Context) (CommandExit, error) {
	if d == nil || !d.Command || d.Detached {
		return CommandExit{}, errors.New("not a running command")
	}
	d.ReadDone()
	select {
	case <-d.exitCh:
	case <-ctx.Done():
		if d.c != nil {
			_ = d.c.send(control{Op: "stop"})
		}
		select {
		case <-d.exitCh:
		case <-time.After(10 * time.Second):
			d.kill()
			<-d.exitCh
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fg.restore()
	if d.exit == nil {
		return CommandExit{}, d.exitErr
	}
	return *d.exit, nil
}

func (d *Daemon) kill() {
	_ = syscall.Kill(-d.child, syscall.SIGKILL)
	_ = syscall.Kill(d.child, syscall.SIGKILL)
}

// Stop ends the daemon (closing the socket, which it watches), waits for
// it, and removes its folder. A detached daemon is left alone.
func (d *Daemon) Stop() error {
	if d == nil || (d.Detached && d.c == nil) {
		return nil
	}
	d.stopOnce.Do(func() {
		if d.c != nil {
			d.c.close()
			d.c = nil
		}
		done := make(chan struct{})
		go func() {
			var ws syscall.WaitStatus
			for {
				if _, err := syscall.Wait4(d.child, &ws, 0, nil); err != syscall.EINTR {
					break
				}
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			d.kill()
			<-done
		}
		d.fg.restore()
		if d.guarded {
			ReleaseGroup(d.child)
		}
		if d.folder.Name != "" && !d.Detached {
			d.folder.Dispose()
		}
	})
	return nil
}

// foreground is the terminal handed to a command's process group.
type foreground struct {
	tty    uintptr
	pgrp   int
	active bool
	once   sync.Once
}

// foregroundFor decides whether the command's group becomes the
// terminal's foreground: when its standard input is the terminal whose
// foreground captune is.
func foregroundFor(stdio []*os.File, detach bool) *foreground {
	if detach || len(stdio) == 0 || stdio[0] == nil {
		return nil
	}
	fd := int(stdio[0].Fd())
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil || fg != syscall.Getpgrp() {
		return nil
	}
	return &foreground{tty: stdio[0].Fd(), pgrp: fg}
}

// restore gives the terminal back to captune's process group.
func (f *foreground) restore() {
	if f == nil || !f.active {
		return
	}
	f.once.Do(func() {
		// captune is in the background now: without ignoring SIGTTOU the
		// kernel would stop it for asking.
		ignoreTTOU(func() { _ = unix.IoctlSetPointerInt(int(f.tty), unix.TIOCSPGRP, f.pgrp) })
	})
}

// ignoreTTOU runs fn with SIGTTOU ignored.
func ignoreTTOU(fn func()) {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	fn()
}
