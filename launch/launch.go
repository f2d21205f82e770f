package launch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"kernel.org/pub/linux/libs/security/libcap/cap"

	"captune/capset"
)

// Options say how to start the hidden modes.
type Options struct {
	// Self is the captune binary to re-execute (default /proc/self/exe).
	Self string
	// ReadyTimeout bounds the wait for the daemon's report (default 15 s).
	ReadyTimeout time.Duration
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
	// child is the process captune started and reaps (daemon or supervisor).
	child int
	ctl   *os.File
	dir   string
}

// ErrLaunch reports a daemon or command that could not be started.
var ErrLaunch = errors.New("launch failed")

// Start carries out a plan that passed Check.
func Start(p Plan, o Options) (*Daemon, error) {
	if o.Self == "" {
		o.Self = "/proc/self/exe"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 15 * time.Second
	}
	if len(p.Command) > 0 {
		return startSupervised(p, o)
	}
	return startTestd(p, o)
}

func startTestd(p Plan, o Options) (*Daemon, error) {
	dir, err := prepareDir(p.UID, p.GID)
	if err != nil {
		return nil, err
	}
	spec := testdSpec{Shape: p.Shape, Permitted: p.Target.Permitted, Effective: p.Target.Effective, Dir: dir,
		OtherUID: otherID(p.UID), OtherGID: otherID(p.GID), Keep: p.Keep}
	l := cap.NewLauncher(o.Self, []string{"captune", TestdArg, encode(spec)}, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"})
	d, err := launchWith(l, p, o, p.Keep > 0)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d.dir = dir
	return d, nil
}

func startSupervised(p Plan, o Options) (*Daemon, error) {
	spec := superviseSpec{Path: p.Command[0], Args: p.Command, UID: p.UID, GID: p.GID, Groups: p.Groups,
		Inh: p.LaunchInh, Amb: p.LaunchAmb, Bnd: p.LaunchBnd, Keep: p.Keep}
	// The supervisor keeps captune's own privilege; it applies the plan
	// to the command it launches.
	l := cap.NewLauncher(o.Self, []string{"captune", SuperviseArg, encode(spec)}, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"})
	return launchWithout(l, o, p.Keep > 0)
}

// launchWith starts the probe daemon with the plan's identity and IAB.
func launchWith(l *cap.Launcher, p Plan, o Options, detach bool) (*Daemon, error) {
	l.SetUID(int(p.UID))
	groups := make([]int, len(p.Groups))
	for i, g := range p.Groups {
		groups[i] = int(g)
	}
	l.SetGroups(int(p.GID), groups)
	iab, err := iabFor(p.LaunchInh, p.LaunchAmb, p.LaunchBnd)
	if err != nil {
		return nil, err
	}
	l.SetIAB(iab)
	return launchWithout(l, o, detach)
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

// launchWithout starts a launcher with the control and report pipes on
// fds 3 and 4 and /dev/null for stdin, stdout and stderr: the child never
// touches captune's terminal. No shell is involved.
func launchWithout(l *cap.Launcher, o Options, detach bool) (*Daemon, error) {
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	l.Callback(func(pa *syscall.ProcAttr, _ any) error {
		pa.Files = []uintptr{null.Fd(), null.Fd(), null.Fd(), ctlR.Fd(), repW.Fd()}
		pa.Sys = &syscall.SysProcAttr{Setsid: detach, Setpgid: !detach}
		return nil
	})
	pid, err := l.Launch(nil)
	ctlR.Close()
	repW.Close()
	if err != nil {
		ctlW.Close()
		repR.Close()
		return nil, fmt.Errorf("%w: %v", ErrLaunch, err)
	}
	d := &Daemon{PID: pid, child: pid, ctl: ctlW, Detached: detach}
	rep, err := readReport(repR, o.ReadyTimeout)
	repR.Close()
	if err != nil {
		d.Stop()
		return nil, err
	}
	if rep.Error != "" {
		d.Stop()
		return nil, fmt.Errorf("%w: %s", ErrLaunch, rep.Error)
	}
	if rep.PID > 0 {
		d.PID = rep.PID
	}
	d.Probes = rep.Probes
	if detach {
		// The detached daemon ignores the pipe; reap the launched child
		// (in raw mode the supervisor) later in the background.
		ctlW.Close()
		d.ctl = nil
		go syscall.Wait4(d.child, nil, 0, nil)
	}
	return d, nil
}

func readReport(f *os.File, timeout time.Duration) (report, error) {
	type res struct {
		r   report
		err error
	}
	ch := make(chan res, 1)
	go func() {
		line, err := bufio.NewReader(f).ReadBytes('\n')
		if err != nil && len(line) == 0 {
			ch <- res{err: fmt.Errorf("%w: the daemon exited before reporting", ErrLaunch)}
			return
		}
		var r report
		if err := json.Unmarshal(line, &r); err != nil {
			ch <- res{err: fmt.Errorf("%w: unreadable report: %v", ErrLaunch, err)}
			return
		}
		ch <- res{r: r}
	}()
	select {
	case r := <-ch:
		return r.r, r.err
	case <-time.After(timeout):
		return report{}, fmt.Errorf("%w: no report within %s", ErrLaunch, timeout)
	}
}

// Stop ends the daemon (closing the control pipe, which it watches),
// waits for it, and removes its folder. A detached daemon is left alone.
func (d *Daemon) Stop() error {
	if d == nil || d.Detached {
		return nil
	}
	if d.ctl != nil {
		d.ctl.Close()
		d.ctl = nil
	}
	done := make(chan struct{})
	go func() {
		var ws syscall.WaitStatus
		syscall.Wait4(d.child, &ws, 0, nil)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-d.child, syscall.SIGKILL)
		syscall.Kill(d.child, syscall.SIGKILL)
		<-done
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
	return nil
}

// prepareDir makes the probe daemon's private folder: owned by the
// daemon (so it can remove it), 0700, holding the fixture files whose
// owners make each probe need exactly one capability.
func prepareDir(uid, gid uint32) (string, error) {
	dir, err := os.MkdirTemp("", "captune-probe-")
	if err != nil {
		return "", err
	}
	other := otherID(uid)
	otherG := otherID(gid)
	files := []struct {
		name     string
		mode     os.FileMode
		uid, gid uint32
		content  string
	}{
		{fileMarker, 0o644, other, otherG, "captune's probe daemon works only inside this folder; it is removed when the daemon stops\n"},
		{fileChown, 0o644, uid, gid, ""},
		{fileSecret, 0o600, other, otherG, "secret\n"},
		{fileWrite, 0o644, other, otherG, ""},
		{fileChmod, 0o644, other, otherG, ""},
		{fileSetgid, 0o755, uid, otherG, ""},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		if err := os.Lchown(p, int(f.uid), int(f.gid)); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// otherID is an id that is not id: root's, or for root a high unused one.
func otherID(id uint32) uint32 {
	if id == 0 {
		return 64999
	}
	return 0
}
