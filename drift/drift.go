// Package drift compares running proftpd session processes with what
// their master's configuration predicts for their user: a session that
// holds other capabilities than its configuration says has drifted (the
// file changed after the master started, another vhost applies, ...).
//
// Drift is claimed only against a configuration known to be the master's.
// proftpd rewrites its command line ("proftpd: (accepting connections)"),
// so a master's -c FILE is usually invisible; a configuration is known
// when it was given (--proftpd-config) or when evidence ties it to the
// master: its PidFile holds the master's PID, or the master holds its
// ScoreboardFile's lock open (/proc/PID/fd, read with readlink only).
// proftpd's compiled-in PidFile and ScoreboardFile (proftpd -V) stand in
// when a file sets neither, for a master running the installed binary.
// Otherwise the configuration is unknown and nothing is claimed.
//
// It only reads, and reads nothing a local user could use to hang or
// steer it: masters are only those procscan found credible (root runs a
// root-owned proftpd); every file it reads on its own initiative
// (candidate configurations and all they include, PidFiles, net/tcp) is
// opened without blocking, must be a regular file, is read within a
// bound, and configurations and PidFiles must belong to root or the
// master's uid. A check runs under a deadline, so a slow file system
// delays a drift answer, never the caller.
package drift

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"captune/capset/modcap"
	"captune/procscan"
	"captune/safefile"
)

// DefaultConfig is where Debian's proftpd reads its configuration.
const DefaultConfig = "/etc/proftpd/proftpd.conf"

// ErrConfig wraps an explicit configuration that cannot be read.
var ErrConfig = errors.New("configuration")

// Status says whether a master's configuration is known.
type Status string

// The statuses.
const (
	// Known: given with --proftpd-config, or identified by evidence.
	Known Status = "known"
	// Unknown: nothing ties a file to the master; no drift is claimed.
	Unknown Status = "unknown"
)

// Identity is which configuration a proftpd master runs, and why captune
// believes so.
type Identity struct {
	// Master is the master's PID.
	Master int
	Status Status
	// Config is the configuration file when known.
	Config string
	// Note is the evidence when known, the reason when unknown.
	Note string
	cfg  *modcap.Config
}

// Result is one logged-in session's comparison.
type Result struct {
	// PID is the session, Master its master.
	PID, Master int
	// Status, Config and Note are the master's Identity.
	Status Status
	Config string
	Note   string
	// Expected is what the configuration predicts for the session (when
	// the configuration is known).
	Expected modcap.Prediction
	// Differences list how the session differs; empty means no drift.
	Differences []string
	// Reasons explain the drift and the prediction.
	Reasons []string
}

// Drifted reports whether the session differs from a known configuration.
func (r *Result) Drifted() bool {
	return r != nil && r.Status == Known && len(r.Differences) > 0
}

// Report is drift over one snapshot.
type Report struct {
	// Sessions holds every logged-in session of a credible master, by PID.
	Sessions map[int]*Result
	// Masters holds every credible master's identity, by PID.
	Masters map[int]*Identity
}

// Drifted lists the drifted sessions' PIDs, in order.
func (r Report) Drifted() []int {
	var out []int
	for pid, res := range r.Sessions {
		if res.Drifted() {
			out = append(out, pid)
		}
	}
	sort.Ints(out)
	return out
}

// Defaults are what a proftpd binary uses when its configuration is
// silent, as `proftpd -V` prints them under "Files:".
type Defaults struct {
	ConfigFile, PidFile, ScoreboardFile string
}

// Installed is what the installed proftpd says of itself.
type Installed struct {
	// Binary is its path.
	Binary string
	// Modules are its compiled-in modules (proftpd -l).
	Modules []string
	// Defaults are its compiled-in files (proftpd -V).
	Defaults Defaults
}

// Options configure a Checker.
type Options struct {
	// Explicit is the configuration given (--proftpd-config): known for
	// a master unless evidence ties it to another one.
	Explicit string
	// Candidates are more files tried, by evidence, before the
	// compiled-in configuration file (the TUI's --config).
	Candidates []string
	// Installed describes the installed proftpd; it is called at most
	// once, when a configuration is first read. Nil (or an error) means
	// Debian's modules and no compiled-in defaults: then only the PidFile
	// and ScoreboardFile a file names count as evidence.
	Installed func() (Installed, error)
	// Timeout bounds one Check or Validate (default 10 s).
	Timeout time.Duration
}

// DefaultTimeout bounds a check when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Checker finds each master's configuration and compares its sessions.
type Checker struct {
	root string
	opt  Options
	live bool
	busy atomic.Bool

	instOnce sync.Once
	inst     Installed
	instOK   bool
	// defaultConfig is the configuration file tried last when proftpd -V
	// names none (the tests point it into their own folder).
	defaultConfig string
}

// installed calls Options.Installed once.
func (c *Checker) installed() (Installed, bool) {
	if c.opt.Installed == nil {
		return Installed{}, false
	}
	c.instOnce.Do(func() {
		in, err := c.opt.Installed()
		c.inst, c.instOK = in, err == nil
	})
	return c.inst, c.instOK
}

// NewChecker checks the sessions found under the proc root. Files are
// looked for (a master's visible -c, Options.Candidates, the compiled-in
// configuration file) only when root is this machine's proc (a proc
// mount of this PID namespace); for another tree only Options.Explicit
// counts.
func NewChecker(root string, opt Options) *Checker {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	return &Checker{root: root, opt: opt, live: isLiveProc(root), defaultConfig: DefaultConfig}
}

// isLiveProc reports whether root is a proc mount of this PID namespace:
// procfs (statfs), whose self is this process.
func isLiveProc(root string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil || st.Type != 0x9fa0 { // PROC_SUPER_MAGIC
		return false
	}
	self, err := os.Readlink(filepath.Join(root, "self"))
	return err == nil && self == strconv.Itoa(os.Getpid())
}

// errTimeout is a check that did not finish in time.
type errTimeout struct{ d time.Duration }

func (e errTimeout) Error() string {
	return fmt.Sprintf("reading the configuration did not finish within %v", e.d)
}

// bounded runs f under the checker's deadline. A run that does not return
// keeps the checker busy: later runs report that at once instead of
// piling up behind it.
func (c *Checker) bounded(f func()) error {
	if !c.busy.CompareAndSwap(false, true) {
		return errors.New("a previous read of the configuration has not returned (a hung file system?)")
	}
	done := make(chan struct{})
	var failed error
	go func() {
		defer func() {
			// A bug must not take captune down from a goroutine: the
			// answer is then "unknown", with the reason.
			if p := recover(); p != nil {
				failed = fmt.Errorf("internal error while checking drift: %v", p)
			}
			// Free before the caller hears of the end, so that its next
			// run never finds this one still busy.
			c.busy.Store(false)
			close(done)
		}()
		f()
	}()
	select {
	case <-done:
		return failed
	case <-time.After(c.opt.Timeout):
		return errTimeout{c.opt.Timeout}
	}
}

// Validate reads an explicit configuration at once, so that one that
// cannot be read is refused even when no session is compared with it.
func (c *Checker) Validate() error {
	if c.opt.Explicit == "" {
		return nil
	}
	var err error
	if berr := c.bounded(func() { _, err = c.newRound(nil).read(c.opt.Explicit, nil) }); berr != nil {
		return fmt.Errorf("%w: %s: %v", ErrConfig, clipPath(c.opt.Explicit), berr)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, shortErr(c.opt.Explicit, err))
	}
	return nil
}

// Check identifies every credible master's configuration among procs and
// compares each logged-in session of theirs. It returns within the
// checker's timeout; what was not decided by then is unknown.
func (c *Checker) Check(procs []procscan.Process) Report {
	var rep Report
	if err := c.bounded(func() { rep = c.newRound(procs).check() }); err != nil {
		return unknownReport(procs, err.Error())
	}
	return rep
}

// unknownReport marks every master and session unknown for one reason.
func unknownReport(procs []procscan.Process, why string) Report {
	rep := Report{Sessions: map[int]*Result{}, Masters: map[int]*Identity{}}
	roles := map[int]procscan.Role{}
	for _, p := range procs {
		roles[p.PID] = p.Role
	}
	for _, p := range procs {
		switch {
		case p.Role == procscan.RoleProftpdMaster:
			rep.Masters[p.PID] = &Identity{Master: p.PID, Status: Unknown, Note: why}
		case p.Role == procscan.RoleProftpdSession && roles[p.PPID] == procscan.RoleProftpdMaster:
			rep.Sessions[p.PID] = &Result{PID: p.PID, Master: p.PPID, Status: Unknown, Note: why}
		}
	}
	return rep
}

// round is one Check: files are read at most once per round (and again
// in the next, so a changed file is seen).
type round struct {
	c       *Checker
	procs   []procscan.Process
	byPID   map[int]procscan.Process
	masters []procscan.Process
	configs map[string]readResult
	fds     map[int][]string
}

type readResult struct {
	cfg *modcap.Config
	err error
}

func (c *Checker) newRound(procs []procscan.Process) *round {
	r := &round{c: c, procs: procs, byPID: make(map[int]procscan.Process, len(procs)), configs: map[string]readResult{}, fds: map[int][]string{}}
	for _, p := range procs {
		r.byPID[p.PID] = p
		if p.Role == procscan.RoleProftpdMaster {
			r.masters = append(r.masters, p)
		}
	}
	return r
}

func (r *round) check() Report {
	rep := Report{Sessions: map[int]*Result{}, Masters: map[int]*Identity{}}
	for _, m := range r.masters {
		rep.Masters[m.PID] = r.identify(m)
	}
	for _, p := range r.procs {
		if p.Role != procscan.RoleProftpdSession {
			continue
		}
		id := rep.Masters[p.PPID]
		if id == nil {
			continue
		}
		rep.Sessions[p.PID] = r.compare(p, r.byPID[p.PPID], id)
	}
	return rep
}

// read reads a configuration (and all it includes) without blocking;
// with owners, every file and folder must belong to one of them.
func (r *round) read(path string, owners []uint32) (*modcap.Config, error) {
	key := path + "\x00" + fmt.Sprint(owners)
	if res, ok := r.configs[key]; ok {
		return res.cfg, res.err
	}
	opt := modcap.Options{}
	if in, ok := r.c.installed(); ok {
		opt.Modules = in.Modules
	}
	if owners != nil {
		opt.Trust = func(p string, info fs.FileInfo) error {
			uid, ok := safefile.Owner(info)
			for _, o := range owners {
				if ok && uid == o {
					return nil
				}
			}
			return fmt.Errorf("owned by uid %d: captune reads a master's configuration only when root or the master's uid owns it", uid)
		}
	}
	cfg, err := modcap.ReadFile(path, opt)
	r.configs[key] = readResult{cfg, err}
	return cfg, err
}

// trusted are the owners a master's own files may have.
func trusted(m procscan.Process) []uint32 {
	if m.UID == 0 {
		return []uint32{0}
	}
	return []uint32{0, m.UID}
}

func shortErr(path string, err error) error {
	var ce *modcap.Error
	if errors.As(err, &ce) {
		return ce
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var se *safefile.Error
	if errors.As(err, &se) {
		return se
	}
	return fmt.Errorf("%s: %v", clipPath(path), err)
}

func clipPath(path string) string {
	if len(path) > 120 {
		return path[:120] + "..."
	}
	return path
}
