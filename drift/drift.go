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
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"captune/capset"
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

// identify finds which configuration master m runs: the given file when
// it counts for m, else the file evidence ties to m.
func (r *round) identify(m procscan.Process) *Identity {
	var given *Identity
	if x := r.c.opt.Explicit; x != "" {
		if given = r.identifyExplicit(m, x); given.Status == Known {
			return given
		}
	}
	if !r.c.live {
		if given != nil {
			return given
		}
		return &Identity{Master: m.PID, Status: Unknown, Note: "not this machine's /proc: give the configuration with --proftpd-config"}
	}
	id := r.identifyByEvidence(m)
	if id.Status != Known && given != nil {
		id.Note = given.Note + "; and " + id.Note
	}
	return id
}

// identifyByEvidence tries the files master m may run (its visible -c,
// Options.Candidates, the compiled-in configuration file) and keeps the
// first that evidence ties to m.
func (r *round) identifyByEvidence(m procscan.Process) *Identity {
	id := &Identity{Master: m.PID, Status: Unknown}
	var cands []string
	if a := MasterConfigArg(m.Cmdline); a != "" {
		if !filepath.IsAbs(a) {
			if cwd, err := os.Readlink(r.pidPath(m.PID, "cwd")); err == nil {
				a = filepath.Join(cwd, a)
			}
		}
		cands = append(cands, a)
	}
	for _, p := range r.c.opt.Candidates {
		if abs, err := filepath.Abs(p); err == nil {
			cands = append(cands, abs)
		}
	}
	def := r.c.defaultConfig
	if d, ok := r.defaultsFor(m); ok && d.ConfigFile != "" {
		def = d.ConfigFile
	}
	cands = append(cands, def)
	var tried []string
	seen := map[string]bool{}
	if x := r.c.opt.Explicit; x != "" {
		if abs, err := filepath.Abs(x); err == nil {
			seen[abs] = true
		}
		seen[x] = true
	}
	for _, path := range cands {
		if seen[path] {
			continue
		}
		seen[path] = true
		cfg, err := r.read(path, trusted(m))
		if err != nil {
			tried = append(tried, shortErr(path, err).Error())
			continue
		}
		ev := r.evidence(m, cfg)
		if ev.match != "" {
			return &Identity{Master: m.PID, Status: Known, Config: path, Note: ev.match, cfg: cfg}
		}
		tried = append(tried, path+": "+ev.against())
	}
	id.Note = fmt.Sprintf("no file is known to be master %d's configuration (proftpd hides its -c; tried %s)", m.PID, strings.Join(tried, "; "))
	return id
}

// identifyExplicit decides whether the given configuration is master m's.
func (r *round) identifyExplicit(m procscan.Process, path string) *Identity {
	id := &Identity{Master: m.PID, Status: Unknown}
	cfg, err := r.read(path, nil)
	if err != nil {
		id.Note = "--proftpd-config: " + shortErr(path, err).Error()
		return id
	}
	ev := r.evidence(m, cfg)
	switch {
	case ev.match != "":
		return &Identity{Master: m.PID, Status: Known, Config: path, Note: "given with --proftpd-config; " + ev.match, cfg: cfg}
	case ev.other != "":
		id.Note = fmt.Sprintf("--proftpd-config %s is not master %d's: %s", path, m.PID, ev.other)
		return id
	case len(r.masters) > 1:
		id.Note = fmt.Sprintf("%d proftpd masters run and nothing shows that --proftpd-config %s is master %d's (%s)", len(r.masters), path, m.PID, ev.against())
		return id
	}
	return &Identity{Master: m.PID, Status: Known, Config: path, Note: "given with --proftpd-config (the only proftpd master; " + ev.against() + ")", cfg: cfg}
}

// evidence is what ties a configuration to a master: match says how it
// does, other how it belongs to another master, none why neither.
type evidence struct {
	match, other string
	none         []string
}

func (e evidence) against() string {
	if e.other != "" {
		return e.other
	}
	if len(e.none) == 0 {
		return "no evidence"
	}
	return strings.Join(e.none, ", ")
}

// evidence looks for the configuration's PidFile and ScoreboardFile: the
// PidFile holding the master's PID, the master holding the scoreboard's
// lock open.
func (r *round) evidence(m procscan.Process, cfg *modcap.Config) evidence {
	var ev evidence
	pidFile, sbFile := fileSettings(cfg)
	d, haveDefaults := r.defaultsFor(m)
	if pidFile == "" && haveDefaults {
		pidFile = d.PidFile
	}
	if sbFile == "" && haveDefaults {
		sbFile = d.ScoreboardFile
	}
	var match []string
	if pidFile != "" && r.c.live {
		pid, err := readPidFile(pidFile, trusted(m))
		switch {
		case err != nil:
			ev.none = append(ev.none, "PidFile "+shortErr(pidFile, err).Error())
		case pid == m.PID:
			match = append(match, fmt.Sprintf("its PidFile %s holds PID %d", pidFile, m.PID))
		case r.isMaster(pid):
			ev.other = fmt.Sprintf("its PidFile %s holds PID %d, another proftpd master", pidFile, pid)
		default:
			ev.none = append(ev.none, fmt.Sprintf("PidFile %s holds PID %d, not %d", pidFile, pid, m.PID))
		}
	} else if pidFile == "" {
		ev.none = append(ev.none, "no PidFile known")
	}
	if sbFile != "" {
		lock := filepath.Clean(sbFile) + ".lck"
		if fd, held := r.holds(m.PID, lock, filepath.Clean(sbFile)); fd != "" {
			what := "ScoreboardFile lock"
			if held != lock {
				what = "ScoreboardFile"
			}
			match = append(match, fmt.Sprintf("the master holds its %s %s open (fd %s)", what, held, fd))
		} else if other := r.heldBy(m.PID, lock, filepath.Clean(sbFile)); other != 0 {
			ev.other = fmt.Sprintf("proftpd master %d holds its ScoreboardFile lock %s open", other, lock)
		} else {
			ev.none = append(ev.none, "the master does not hold ScoreboardFile lock "+lock+" open")
		}
	} else {
		ev.none = append(ev.none, "no ScoreboardFile known")
	}
	if len(match) > 0 && ev.other != "" {
		ev.none = append(ev.none, "conflicting evidence: "+strings.Join(match, ", ")+"; but "+ev.other)
		ev.other = ""
		return ev
	}
	ev.match = strings.Join(match, " and ")
	return ev
}

// fileSettings are the main server's PidFile and ScoreboardFile.
func fileSettings(cfg *modcap.Config) (pidFile, sbFile string) {
	main, _, _ := cfg.Servers()
	for _, n := range main.Nodes {
		if n.Section || len(n.Args) == 0 {
			continue
		}
		switch {
		case n.Is("PidFile"):
			pidFile = n.Args[0]
		case n.Is("ScoreboardFile"):
			sbFile = n.Args[0]
		}
	}
	return pidFile, sbFile
}

// maxPidFile bounds a PidFile: a number and a newline.
const maxPidFile = 64

func readPidFile(path string, owners []uint32) (int, error) {
	b, err := safefile.ReadFile(path, safefile.Rules{Max: maxPidFile, Owners: owners})
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a PID", s)
	}
	return n, nil
}

func (r *round) isMaster(pid int) bool {
	p, ok := r.byPID[pid]
	return ok && p.Role == procscan.RoleProftpdMaster
}

func (r *round) pidPath(pid int, name string) string {
	return r.c.root + "/" + strconv.Itoa(pid) + "/" + name
}

// links lists where a process's descriptors point (readlink only).
func (r *round) links(pid int) []string {
	if l, ok := r.fds[pid]; ok {
		return l
	}
	var out []string
	dir := r.pidPath(pid, "fd")
	if d, err := safefile.OpenDir(dir); err == nil {
		names, _ := d.Readdirnames(-1)
		d.Close()
		sort.Slice(names, func(i, j int) bool { return atoiOr(names[i]) < atoiOr(names[j]) })
		for _, n := range names {
			if l, err := os.Readlink(dir + "/" + n); err == nil {
				out = append(out, n+"\x00"+l)
			}
		}
	}
	r.fds[pid] = out
	return out
}

func atoiOr(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// holds returns the descriptor through which pid holds one of paths (the
// first path it holds, in the order given) and that path, or "".
func (r *round) holds(pid int, paths ...string) (fd, path string) {
	for _, p := range paths {
		for _, l := range r.links(pid) {
			n, target, _ := strings.Cut(l, "\x00")
			if target == p {
				return n, p
			}
		}
	}
	return "", ""
}

// heldBy returns another master holding one of paths, or 0.
func (r *round) heldBy(self int, paths ...string) int {
	for _, m := range r.masters {
		if fd, _ := r.holds(m.PID, paths...); m.PID != self && fd != "" {
			return m.PID
		}
	}
	return 0
}

// defaultsFor returns the compiled-in defaults when master m runs the
// installed proftpd they belong to (the same file, by device and inode).
func (r *round) defaultsFor(m procscan.Process) (Defaults, bool) {
	in, ok := r.c.installed()
	if !ok || !r.c.live || in.Binary == "" || in.Defaults.PidFile == "" {
		return Defaults{}, false
	}
	exe, err1 := os.Stat(r.pidPath(m.PID, "exe"))
	bin, err2 := os.Stat(in.Binary)
	if err1 != nil || err2 != nil || !os.SameFile(exe, bin) {
		return Defaults{}, false
	}
	return in.Defaults, true
}

// ParseDefaults reads the "Files:" part of `proftpd -V`.
func ParseDefaults(out string) (Defaults, error) {
	var d Defaults
	sc := bufio.NewScanner(strings.NewReader(out))
	var key string
	for sc.Scan() {
		ln := strings.TrimSpace(sc.Text())
		switch ln {
		case "Configuration File:", "Pid File:", "Scoreboard File:":
			key = ln
			continue
		}
		if key != "" && strings.HasPrefix(ln, "/") {
			switch key {
			case "Configuration File:":
				d.ConfigFile = ln
			case "Pid File:":
				d.PidFile = ln
			case "Scoreboard File:":
				d.ScoreboardFile = ln
			}
		}
		key = ""
	}
	if d.PidFile == "" || d.ScoreboardFile == "" {
		return d, errors.New("proftpd -V names no Pid File or Scoreboard File")
	}
	return d, nil
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

// compare predicts the session from its master's configuration, its user
// and its master (whose permitted set is the real one), and lists the
// differences.
func (r *round) compare(p, master procscan.Process, id *Identity) *Result {
	res := &Result{PID: p.PID, Master: master.PID, Status: id.Status, Config: id.Config, Note: id.Note}
	if id.Status != Known {
		return res
	}
	login := modcap.Login{User: p.FTPUser, UID: p.EUID, UIDKnown: true, Addr: SessionAddr(r.c.root, p.PID)}
	if u, err := user.Lookup(p.FTPUser); err == nil {
		if ids, err := u.GroupIds(); err == nil {
			sort.SliceStable(ids, func(i, j int) bool { return ids[i] == u.Gid && ids[j] != u.Gid })
			for _, gid := range ids {
				if g, err := user.LookupGroupId(gid); err == nil {
					login.Groups = append(login.Groups, g.Name)
				}
			}
		}
	}
	pr := modcap.Predict(modcap.Input{Config: id.cfg, Login: login, MasterPermitted: master.Sets.Permitted, MasterBounding: master.Sets.Bounding})
	res.Expected, res.Differences = pr, Differences(pr, p)
	if len(res.Differences) == 0 {
		return res
	}
	res.Reasons = append(res.Reasons, res.Differences...)
	res.Reasons = append(res.Reasons, fmt.Sprintf("%s predicts this for user %s (uid %d) under master PID %d (%s); proftpd reads its configuration at start and on SIGHUP, so the master runs with another configuration than this file says now (it changed since, or another vhost or file applies)",
		id.Config, p.FTPUser, p.EUID, master.PID, id.Note))
	for _, why := range pr.Reasons {
		res.Reasons = append(res.Reasons, "predicted because: "+why)
	}
	return res
}

// Differences lists how a session process differs from a prediction, in
// the words verify uses: "CapPrm: predicted X, observed Y (...)".
func Differences(p modcap.Prediction, s procscan.Process) []string {
	if p.Refused {
		return []string{fmt.Sprintf("login: predicted refused (%s), observed logged in", p.Why)}
	}
	var out []string
	for _, c := range []struct {
		name       string
		pred, seen capset.Set
	}{
		{"CapPrm", p.Permitted, s.Sets.Permitted},
		{"CapEff", p.Effective, s.Sets.Effective},
		{"CapInh", p.Inheritable, s.Sets.Inheritable},
		{"CapAmb", p.Ambient, s.Sets.Ambient},
		{"CapBnd", p.Bounding, s.Sets.Bounding},
	} {
		if c.pred == c.seen {
			continue
		}
		var parts []string
		if extra := c.seen &^ c.pred; extra != 0 {
			parts = append(parts, "observed also holds "+extra.String())
		}
		if missing := c.pred &^ c.seen; missing != 0 {
			parts = append(parts, "observed lacks "+missing.String())
		}
		out = append(out, fmt.Sprintf("%s: predicted %s, observed %s (%s)", c.name, c.pred.Hex(), c.seen.Hex(), strings.Join(parts, "; ")))
	}
	if uids := [3]uint32{s.UID, s.EUID, s.SUID}; p.UIDs != uids {
		out = append(out, fmt.Sprintf("uids: predicted %d/%d/%d, observed %d/%d/%d (real/effective/saved)", p.UIDs[0], p.UIDs[1], p.UIDs[2], uids[0], uids[1], uids[2]))
	}
	return out
}

// MasterConfigArg is the -c argument of a proftpd command line. proftpd
// usually rewrites its command line into its process title ("proftpd:
// (accepting connections)"), and then there is none.
func MasterConfigArg(cmdline []string) string {
	if len(cmdline) == 0 || filepath.Base(cmdline[0]) != "proftpd" {
		return ""
	}
	for i := 1; i < len(cmdline); i++ {
		a := cmdline[i]
		switch {
		case (a == "-c" || a == "--config") && i+1 < len(cmdline):
			return cmdline[i+1]
		case strings.HasPrefix(a, "--config="):
			return strings.TrimPrefix(a, "--config=")
		case strings.HasPrefix(a, "-c") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			return a[2:]
		}
	}
	return ""
}

// maxNetFile bounds /proc/PID/net/tcp (about 150 bytes a socket).
const maxNetFile = 16 << 20

// SessionAddr is the local address of a session's control connection
// (it selects the <VirtualHost>), or "" when it cannot be read.
func SessionAddr(root string, pid int) string {
	dir := filepath.Join(root, strconv.Itoa(pid))
	d, err := safefile.OpenDir(filepath.Join(dir, "fd"))
	if err != nil {
		return ""
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	inodes := map[string]bool{}
	for _, fd := range names {
		l, err := os.Readlink(filepath.Join(dir, "fd", fd))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	for _, file := range []string{"tcp", "tcp6"} {
		b, err := safefile.ReadFile(filepath.Join(dir, "net", file), safefile.Rules{Max: maxNetFile, NoFollow: true})
		if err != nil {
			continue
		}
		for _, ln := range strings.Split(string(b), "\n") {
			f := strings.Fields(ln)
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || !inodes[f[9]] || f[3] != "01" {
				continue
			}
			if ip := ProcNetIP(f[1]); ip != nil {
				if v4 := ip.To4(); v4 != nil {
					return v4.String()
				}
				return ip.String()
			}
		}
	}
	return ""
}

// ProcNetIP decodes /proc/net/tcp's "0100007F:0015" address part: each
// 32-bit word in the host's (little-endian) order.
func ProcNetIP(s string) net.IP {
	h, _, ok := strings.Cut(s, ":")
	if !ok {
		return nil
	}
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return nil
	}
	ip := make(net.IP, len(b))
	for w := 0; w < len(b); w += 4 {
		ip[w], ip[w+1], ip[w+2], ip[w+3] = b[w+3], b[w+2], b[w+1], b[w]
	}
	return ip
}
