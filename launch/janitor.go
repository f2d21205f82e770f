package launch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The janitor is a hidden mode started once per captune process, the
// first time captune makes a private folder or starts a process group
// (verify's proftpd, the probe daemon, the raw-mode supervisor). It runs
// in a session of its own with /dev/null for standard input, output and
// error, so no terminal signal reaches it, and holds the other end of a
// socket captune keeps open. When captune's end closes, whether captune
// exited or was killed with SIGKILL, it kills the process groups it was
// told about and removes the folders it was told about; for a --keep
// daemon it waits (pidfd) until the daemon ends, then removes the
// daemon's folder. It also sweeps leftovers of dead runs from the
// private places it sees. It obeys the hidden modes' trust rules and
// acts only on folders under a private place with an owner record naming
// its parent, and only on groups whose leader was its parent's child.

// ErrJanitor reports that captune's janitor is not running, so nothing
// that would need cleaning up after captune is started.
var ErrJanitor = errors.New("captune's janitor is not running")

// janitorReq is one request to the janitor.
type janitorReq struct {
	// Op is place, dir, undir, group, ungroup or keep.
	Op string `json:"op"`
	// Path is a private folder (dir, undir, keep).
	Path string `json:"path,omitempty"`
	// PID is a process group's leader, or the kept daemon (keep).
	PID int `json:"pid,omitempty"`
}

// janitorAck answers a request.
type janitorAck struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// janitor is captune's side of the janitor.
type janitor struct {
	mu    sync.Mutex
	c     *conn
	pid   int
	done  chan struct{}
	keeps int
}

// guard is the process's one janitor: there is one per captune process by
// definition, which is why this is package state.
var guard struct {
	mu sync.Mutex
	j  *janitor
}

// theJanitor returns the running janitor, starting it the first time.
func theJanitor() (*janitor, error) {
	guard.mu.Lock()
	defer guard.mu.Unlock()
	if guard.j != nil {
		select {
		case <-guard.j.done:
			return nil, fmt.Errorf("%w: it exited", ErrJanitor)
		default:
			return guard.j, nil
		}
	}
	j, err := startJanitor()
	if err != nil {
		return nil, err
	}
	guard.j = j
	return j, nil
}

func startJanitor() (*janitor, error) {
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJanitor, err)
	}
	cmd := exec.Command("/proc/self/exe", JanitorArg)
	cmd.Args[0] = "captune"
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=" + os.TempDir()}
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		mine.close()
		return nil, fmt.Errorf("%w: %v", ErrJanitor, err)
	}
	j := &janitor{c: mine, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(j.done)
	}()
	var hello janitorAck
	if err := mine.recv(&hello, specTimeout); err != nil || !hello.OK {
		mine.close()
		<-j.done
		why := hello.Error
		if why == "" && err != nil {
			why = err.Error()
		}
		return nil, fmt.Errorf("%w: %s", ErrJanitor, why)
	}
	return j, nil
}

func (j *janitor) call(r janitorReq) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.c == nil {
		return ErrJanitor
	}
	if err := j.c.send(r); err != nil {
		return fmt.Errorf("%w: %v", ErrJanitor, err)
	}
	var ack janitorAck
	if err := j.c.recv(&ack, specTimeout); err != nil {
		return fmt.Errorf("%w: %v", ErrJanitor, err)
	}
	if !ack.OK {
		return fmt.Errorf("captune's janitor refused to look after %s: %s", what(r), ack.Error)
	}
	if r.Op == "keep" {
		j.keeps++
	}
	return nil
}

func what(r janitorReq) string {
	if r.Path != "" {
		return r.Path
	}
	return "PID " + strconv.Itoa(r.PID)
}

// Shutdown ends captune's janitor when captune exits normally: everything
// captune started is stopped by then, so the janitor only sweeps and
// exits; Shutdown waits for that (a few seconds at most). With a --keep
// daemon the janitor stays until the daemon ends. main calls it last.
func Shutdown() {
	guard.mu.Lock()
	j := guard.j
	guard.mu.Unlock()
	if j == nil {
		return
	}
	j.mu.Lock()
	keeps := j.keeps
	if j.c != nil {
		j.c.close()
		j.c = nil
	}
	j.mu.Unlock()
	if keeps > 0 {
		return
	}
	select {
	case <-j.done:
	case <-time.After(10 * time.Second):
	}
}

// janitorMain is the janitor itself.
func janitorMain() int {
	c, par, code := hiddenStart("janitor", false)
	if code != 0 {
		return code
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	w := &warden{parent: par, dirs: map[string]Folder{}, groups: map[int]*group{}, keeps: map[string]*kept{}, places: map[string]bool{}}
	if pl, err := PlaceIn(os.Getenv("TMPDIR")); err == nil {
		w.sweep(pl)
	}
	if err := c.send(janitorAck{OK: true}); err != nil {
		return 0
	}
	reqs := make(chan janitorReq)
	go func() {
		defer close(reqs)
		for {
			var r janitorReq
			if err := c.recv(&r, 0); err != nil {
				return
			}
			reqs <- r
		}
	}()
loop:
	for {
		select {
		case r, ok := <-reqs:
			if !ok {
				break loop
			}
			ack := janitorAck{OK: true}
			if err := w.handle(r); err != nil {
				ack = janitorAck{Error: err.Error()}
			}
			if c.send(ack) != nil {
				break loop
			}
		case <-term:
			break loop
		}
	}
	c.close()
	w.cleanUp()
	w.waitKept(term)
	return 0
}

// warden is the janitor's state: what it looks after.
type warden struct {
	parent parent
	dirs   map[string]Folder
	groups map[int]*group
	keeps  map[string]*kept
	places map[string]bool
}

// group is a process group the janitor kills when captune is gone.
type group struct {
	pgid, sid int
	pidfd     int
}

// kept is a detached daemon whose folder goes when it ends.
type kept struct {
	folder Folder
	pidfd  int
}

func (w *warden) handle(r janitorReq) error {
	switch r.Op {
	case "place":
		// Said before a folder is made there, so that a folder captune
		// leaves half-made when it dies is swept too.
		pl := Place{Path: filepath.Clean(r.Path)}
		if !filepath.IsAbs(pl.Path) || filepath.Base(pl.Path) != placeName(os.Geteuid()) {
			return fmt.Errorf("%s is not captune's private place", r.Path)
		}
		// It may not exist yet (the first folder makes it); a sweep
		// checks it again, as it does every place.
		if pfd, err := pl.open(false); err == nil {
			unix.Close(pfd)
		} else if !errors.Is(err, unix.ENOENT) {
			return err
		}
		w.places[pl.Path] = true
	case "dir":
		f, err := w.folder(r.Path)
		if err != nil {
			return err
		}
		w.dirs[f.Path] = f
	case "undir":
		delete(w.dirs, filepath.Clean(r.Path))
	case "group":
		if _, ok := w.groups[r.PID]; ok {
			return nil
		}
		g, err := w.group(r.PID)
		if err != nil {
			return err
		}
		w.groups[r.PID] = g
	case "ungroup":
		if g, ok := w.groups[r.PID]; ok {
			unix.Close(g.pidfd)
			delete(w.groups, r.PID)
		}
	case "keep":
		f, err := w.folder(r.Path)
		if err != nil {
			return err
		}
		if _, err := w.child(r.PID); err != nil {
			return err
		}
		fd, err := unix.PidfdOpen(r.PID, 0)
		if err != nil {
			return fmt.Errorf("PID %d: %v", r.PID, err)
		}
		// Still the same process: the pidfd refers to captune's child.
		if pp, err := procStatField(r.PID, 4); err != nil || pp != w.parent.PID {
			unix.Close(fd)
			return fmt.Errorf("PID %d is not captune's child", r.PID)
		}
		delete(w.dirs, f.Path)
		if g, ok := w.groups[r.PID]; ok {
			unix.Close(g.pidfd)
			delete(w.groups, r.PID)
		}
		w.keeps[f.Path] = &kept{folder: f, pidfd: fd}
	default:
		return fmt.Errorf("unknown request %q", r.Op)
	}
	return nil
}

// folder checks a folder captune names: directly in a private place of
// the janitor's uid, with a private folder's name, and an owner record
// whose first holder is captune.
func (w *warden) folder(path string) (Folder, error) {
	path = filepath.Clean(path)
	if !filepath.IsAbs(path) {
		return Folder{}, fmt.Errorf("%s: not an absolute path", path)
	}
	pl := Place{Path: filepath.Dir(path)}
	name := filepath.Base(path)
	if filepath.Base(pl.Path) != placeName(os.Geteuid()) || !validName(name) {
		return Folder{}, fmt.Errorf("%s is not a private folder of captune's", path)
	}
	pfd, err := pl.open(false)
	if err != nil {
		return Folder{}, err
	}
	defer unix.Close(pfd)
	rec, err := readRecord(pfd, name)
	if err != nil {
		return Folder{}, fmt.Errorf("%s: %v", path, err)
	}
	if len(rec.Holders) == 0 || rec.Holders[0].PID != w.parent.PID || rec.Holders[0].Start != w.parent.Start {
		return Folder{}, fmt.Errorf("%s does not belong to this captune", path)
	}
	if !w.places[pl.Path] {
		w.sweep(pl)
	}
	return Folder{Place: pl, Name: name, Path: path}, nil
}

func (w *warden) sweep(pl Place) {
	w.places[pl.Path] = true
	pl.Sweep()
}

// child checks that pid is a child of captune's, leading its own process
// group, and returns its session.
func (w *warden) child(pid int) (sid int, err error) {
	if pid <= 1 {
		return 0, fmt.Errorf("PID %d: not a process group captune made", pid)
	}
	pp, err1 := procStatField(pid, 4)
	pg, err2 := procStatField(pid, 5)
	sid, err3 := procStatField(pid, 6)
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, fmt.Errorf("PID %d: %v", pid, err)
	}
	if pp != w.parent.PID || pg != pid {
		return 0, fmt.Errorf("PID %d is not a process group leader started by captune", pid)
	}
	return sid, nil
}

func (w *warden) group(pid int) (*group, error) {
	sid, err := w.child(pid)
	if err != nil {
		return nil, err
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("PID %d: %v", pid, err)
	}
	// The pidfd is for the process checked above unless the PID was
	// reused in between: check again through it.
	if pp, err := procStatField(pid, 4); err != nil || pp != w.parent.PID || unix.PidfdSendSignal(fd, 0, nil, 0) != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("PID %d is not captune's child", pid)
	}
	return &group{pgid: pid, sid: sid, pidfd: fd}, nil
}

// cleanUp kills every group, removes every folder and sweeps.
func (w *warden) cleanUp() {
	for _, g := range w.groups {
		g.kill()
	}
	for _, g := range w.groups {
		waitPidfd(g.pidfd, 2*time.Second)
		unix.Close(g.pidfd)
	}
	w.groups = map[int]*group{}
	for _, f := range w.dirs {
		_ = removeIn(f.Place, f.Name)
	}
	w.dirs = map[string]Folder{}
	for p := range w.places {
		pl := Place{Path: p}
		pl.sweep(Holder{PID: w.parent.PID, Start: w.parent.Start})
		pl.removeIfEmpty()
	}
}

// kill ends the group: through its leader while the leader lives (its PID
// then cannot belong to anyone else), else each process still in the
// group and session.
func (g *group) kill() {
	if unix.PidfdSendSignal(g.pidfd, 0, nil, 0) == nil {
		_ = unix.Kill(-g.pgid, unix.SIGKILL)
		return
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		pg, err1 := procStatField(pid, 5)
		sid, err2 := procStatField(pid, 6)
		if err1 != nil || err2 != nil || pg != g.pgid || sid != g.sid {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		if pg, err := procStatField(pid, 5); err == nil && pg == g.pgid {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		}
		unix.Close(fd)
	}
}

// waitPidfd waits until the process ends (its pidfd becomes readable).
func waitPidfd(fd int, timeout time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if timeout < 0 {
			ms = -1
		} else if ms <= 0 {
			return false
		}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}

// waitKept waits for each detached daemon to end, then removes its
// folder. SIGTERM stops the wait (a later run sweeps the folders).
func (w *warden) waitKept(term <-chan os.Signal) {
	for len(w.keeps) > 0 {
		fds := make([]unix.PollFd, 0, len(w.keeps))
		var order []string
		for path, k := range w.keeps {
			fds = append(fds, unix.PollFd{Fd: int32(k.pidfd), Events: unix.POLLIN})
			order = append(order, path)
		}
		n, err := unix.Poll(fds, 1000)
		select {
		case <-term:
			return
		default:
		}
		if err != nil && err != unix.EINTR {
			return
		}
		if n <= 0 {
			continue
		}
		for i, fd := range fds {
			if fd.Revents == 0 {
				continue
			}
			k := w.keeps[order[i]]
			unix.Close(k.pidfd)
			_ = removeIn(k.folder.Place, k.folder.Name)
			k.folder.Place.removeIfEmpty()
			delete(w.keeps, order[i])
		}
	}
}

// MakeFolder makes a private folder of the kind ("probe", "verify") in
// the place under parent (empty: TMPDIR), its owner record naming
// captune, and tells captune's janitor about it, which removes it should
// captune die. It returns the folder and a descriptor open on it, with
// which to fill it (close it when done). Dispose removes the folder.
func MakeFolder(parent, kind string) (Folder, *os.File, error) {
	j, err := theJanitor()
	if err != nil {
		return Folder{}, nil, err
	}
	pl, err := PlaceIn(parent)
	if err != nil {
		return Folder{}, nil, err
	}
	self, err := HolderOf(os.Getpid())
	if err != nil {
		return Folder{}, nil, err
	}
	if err := j.call(janitorReq{Op: "place", Path: pl.Path}); err != nil {
		return Folder{}, nil, err
	}
	f, fd, err := pl.NewFolder(kind, []Holder{self})
	if err != nil {
		return Folder{}, nil, err
	}
	if err := j.call(janitorReq{Op: "dir", Path: f.Path}); err != nil {
		unix.Close(fd)
		f.Remove()
		return Folder{}, nil, err
	}
	return f, os.NewFile(uintptr(fd), f.Path), nil
}

// Dispose removes the folder and tells the janitor it is gone.
func (f Folder) Dispose() error {
	if f.Name == "" {
		return nil
	}
	err := f.Remove()
	if j, jerr := theJanitor(); jerr == nil {
		_ = j.call(janitorReq{Op: "undir", Path: f.Path})
	}
	return err
}

// GuardGroup tells captune's janitor about a process group that captune
// started (leader pid, a child of captune's leading its own group): the
// janitor kills it if captune dies. launch/proftpd calls it for the
// throwaway proftpd.
func GuardGroup(pid int) error {
	j, err := theJanitor()
	if err != nil {
		return err
	}
	return j.call(janitorReq{Op: "group", PID: pid})
}

// ReleaseGroup tells the janitor that a group it guarded has ended.
func ReleaseGroup(pid int) {
	if j, err := theJanitor(); err == nil {
		_ = j.call(janitorReq{Op: "ungroup", PID: pid})
	}
}

// keepFolder hands a folder to a detached daemon: the janitor removes it
// when the daemon ends.
func keepFolder(f Folder, pid int) error {
	j, err := theJanitor()
	if err != nil {
		return err
	}
	return j.call(janitorReq{Op: "keep", Path: f.Path, PID: pid})
}
