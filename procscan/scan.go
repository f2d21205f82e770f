package procscan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"captune/capset"
)

// ErrProcGone reports a process that exited before it could be read.
var ErrProcGone = errors.New("process is gone")

// ErrNotPermitted reports a process captune may not read (hidepid).
var ErrNotPermitted = errors.New("not permitted to read process")

// Sets are a thread's five capability sets.
type Sets struct {
	Inheritable, Permitted, Effective, Bounding, Ambient capset.Set
}

// Thread is a thread whose sets differ from its process's leader.
type Thread struct {
	TID  int
	Comm string
	Sets Sets
}

// Role is a process's part in a ProFTPD server.
type Role string

// The roles.
const (
	RoleNone           Role = ""
	RoleProftpdMaster  Role = "proftpd-master"
	RoleProftpdSession Role = "proftpd-session"
	RoleProftpdPre     Role = "proftpd-prelogin"
)

// Process is one process's capability state and identity.
type Process struct {
	PID, PPID int
	// UID/EUID/SUID and GID/EGID are the real, effective and saved ids.
	UID, EUID, SUID uint32
	GID, EGID       uint32
	// User is the name of the real uid, or the number when unknown.
	User string
	// Comm is the kernel's name of the process (status Name:).
	Comm string
	// Cmdline is the argument vector; empty for zombies and kernel threads.
	Cmdline []string
	// State is the status letter (R, S, D, Z, ...).
	State byte
	Sets  Sets
	// HasAmbient is false on kernels before 4.3 (no CapAmb: line).
	HasAmbient bool
	NoNewPrivs bool
	// Seccomp is 0 (off), 1 (strict) or 2 (filter).
	Seccomp int
	// UserNSChild is whether the process lives in a user namespace other
	// than PID 1's; nil when that cannot be read.
	UserNSChild *bool
	// KernelThread marks kernel threads.
	KernelThread bool
	// FileCaps are the file capabilities of the executable, in libcap
	// text; empty when none or unreadable.
	FileCaps string
	// NumThreads counts the process's threads; Threads lists those whose
	// sets differ from the leader's.
	NumThreads int
	Threads    []Thread
	// Role is set for proftpd processes; FTPUser, FTPHost and FTPState come
	// from a session's process title ("proftpd: USER - HOST: STATE").
	Role     Role
	FTPUser  string
	FTPHost  string
	FTPState string
}

// Snapshot is every readable process at one moment.
type Snapshot struct {
	Procs []Process
	// Taken is when the snapshot was started.
	Taken time.Time
	// Unreadable counts processes listed but not readable (hidepid=noaccess).
	Unreadable int
	// HiddenOthers is set when the proc mount hides other users'
	// processes entirely (hidepid=invisible).
	HiddenOthers bool
	// LastCap is the kernel's highest capability number.
	LastCap capset.Cap
}

// Notes returns the lines a person should read about what was not seen.
func (s Snapshot) Notes() []string {
	var out []string
	if s.Unreadable > 0 {
		out = append(out, fmt.Sprintf("%d processes could not be read: permission (proc is mounted with hidepid)", s.Unreadable))
	}
	if s.HiddenOthers {
		out = append(out, "other users' processes are not visible: proc is mounted with hidepid=invisible")
	}
	return out
}

// Scanner reads processes from one proc mount.
type Scanner struct {
	root  string
	fs    procfs.FS
	users *userCache
	// Workers bounds parallel reads (default: GOMAXPROCS).
	Workers int
	// FileCaps enables reading executables' file capabilities.
	FileCaps bool
	keep     *keepCache
}

// New returns a scanner of the proc mount at root ("/proc" on a live system).
func New(root string) (*Scanner, error) {
	fs, err := procfs.NewFS(root)
	if err != nil {
		return nil, fmt.Errorf("proc root %s: %w", root, err)
	}
	return &Scanner{root: root, fs: fs, users: newUserCache("/etc/passwd"), FileCaps: true}, nil
}

// Root returns the proc mount the scanner reads.
func (s *Scanner) Root() string { return s.root }

// SetPasswd makes the scanner resolve user names from another passwd file.
func (s *Scanner) SetPasswd(path string) { s.users = newUserCache(path) }

// Snapshot reads every process. Processes that vanish while being read
// are dropped silently.
func (s *Scanner) Snapshot() (Snapshot, error) {
	snap := Snapshot{Taken: time.Now()}
	if last, err := capset.LastCap(s.root); err == nil {
		snap.LastCap = last
	} else {
		snap.LastCap = capset.NamedCount - 1
	}
	procs, err := s.fs.AllProcs()
	if err != nil {
		return snap, fmt.Errorf("listing %s: %w", s.root, err)
	}
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.PID
	}
	sort.Ints(pids)
	initNS := s.readNS(1)
	snap.HiddenOthers = hidesOthers(s.root)

	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(pids) {
		workers = max(1, len(pids))
	}
	var kept []*keptProc
	if s.keep != nil {
		kept = s.keep.entries(pids)
		defer s.keep.sweep()
	}
	gen := uint64(0)
	if s.keep != nil {
		gen = s.keep.gen
	}
	results := make([]Process, len(pids))
	ok := make([]bool, len(pids))
	denied := make([]bool, len(pids))
	var wg sync.WaitGroup
	chunk := (len(pids) + workers - 1) / max(1, workers)
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(pids))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			r := newProcReader(s, initNS)
			for i := lo; i < hi; i++ {
				var k *keptProc
				if kept != nil {
					k = kept[i]
				}
				p, err := r.readWith(pids[i], k, gen)
				switch {
				case err == nil:
					results[i], ok[i] = p, true
				case errors.Is(err, ErrNotPermitted):
					denied[i] = true
				}
			}
		}(lo, hi)
	}
	wg.Wait()
	snap.Procs = make([]Process, 0, len(pids))
	for i := range results {
		if ok[i] {
			snap.Procs = append(snap.Procs, results[i])
		} else if denied[i] {
			snap.Unreadable++
		}
	}
	assignRoles(snap.Procs)
	return snap, nil
}

// Process reads one process. It returns ErrProcGone when it does not
// exist (any more) and ErrNotPermitted when hidepid forbids reading it.
func (s *Scanner) Process(pid int) (Process, error) {
	r := newProcReader(s, s.readNS(1))
	p, err := r.read(pid)
	if err != nil {
		return p, err
	}
	// Roles depend on the parent: read it too.
	list := []Process{p}
	if pp, err := r.read(p.PPID); err == nil {
		list = append(list, pp)
	}
	assignRoles(list)
	return list[0], nil
}

// initUserNS is the inode the kernel gives the initial user namespace
// (PROC_USER_INIT_INO); it stands in when PID 1's link cannot be read.
const initUserNS = "user:[4026531837]"

func (s *Scanner) readNS(pid int) string {
	l, err := os.Readlink(filepath.Join(s.root, strconv.Itoa(pid), "ns", "user"))
	if err != nil {
		if pid == 1 {
			return initUserNS
		}
		return ""
	}
	return l
}

// procReader holds one worker's reusable buffer.
type procReader struct {
	s      *Scanner
	buf    []byte
	initNS string
	path   []byte
}

func newProcReader(s *Scanner, initNS string) *procReader {
	return &procReader{s: s, buf: make([]byte, 8192), initNS: initNS}
}

// readFile reads a small proc file into the reusable buffer with raw
// system calls (no fstat, no allocation).
func (r *procReader) readFile(path string, seqFile bool) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := unix.Read(fd, r.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
		if n < len(r.buf) && seqFile {
			// A seq_file (status) hands over its whole text in one read
			// when the buffer is large enough: a short read is the end,
			// and the extra read(2) that would return 0 is saved.
			return r.buf[:n], nil
		}
	}
}

func classify(err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH):
		return ErrProcGone
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return ErrNotPermitted
	}
	return err
}

func (r *procReader) read(pid int) (Process, error) { return r.readWith(pid, nil, 0) }

// readWith reads one process, through its kept descriptors when k is set.
func (r *procReader) readWith(pid int, k *keptProc, gen uint64) (Process, error) {
	dir := r.s.root + "/" + strconv.Itoa(pid)
	var b []byte
	var err error
	if k != nil {
		b, err = r.readKept(&k.status, dir+"/status")
	} else {
		b, err = r.readFile(dir+"/status", true)
	}
	if err != nil {
		return Process{}, classify(err)
	}
	st, err := parseStatus(b)
	if err != nil {
		// A status cut short belongs to a process that is exiting.
		return Process{}, ErrProcGone
	}
	p := Process{
		PID: pid, PPID: st.ppid, UID: st.uid, EUID: st.euid, SUID: st.suid, GID: st.gid, EGID: st.egid,
		Comm: st.name, State: st.state, HasAmbient: st.hasAmb, NoNewPrivs: st.noNewPrivs, Seccomp: st.seccomp,
		NumThreads: st.threads,
		Sets:       Sets{Inheritable: st.inh, Permitted: st.prm, Effective: st.eff, Bounding: st.bnd, Ambient: st.amb},
	}
	p.User = r.s.users.name(st.uid)
	switch {
	case st.kthread >= 0:
		p.KernelThread = st.kthread == 1
	default:
		p.KernelThread = pid == 2 || st.ppid == 2
	}
	var cl []byte
	if k != nil {
		cl, err = r.readKept(&k.cmdline, dir+"/cmdline")
	} else {
		cl, err = r.readFile(dir+"/cmdline", false)
	}
	if err == nil && len(cl) > 0 {
		p.Cmdline = splitCmdline(cl)
	}
	if k != nil && sameCmd(k, p.Comm, p.Cmdline) && (uint64(pid)+gen)%recheckEvery != 0 {
		p.FileCaps, p.UserNSChild = k.fileCaps, k.userNS
	} else if !p.KernelThread {
		if ns, err := os.Readlink(dir + "/ns/user"); err == nil && r.initNS != "" {
			child := ns != r.initNS
			p.UserNSChild = &child
		}
		if r.s.FileCaps {
			p.FileCaps = fileCaps(dir + "/exe")
		}
		if k != nil {
			k.comm, k.cmd, k.checked = p.Comm, strings.Join(p.Cmdline, "\x00"), true
			k.fileCaps, k.userNS = p.FileCaps, p.UserNSChild
		}
	}
	if st.threads > 1 {
		p.Threads = r.threads(dir, p.Sets)
	}
	return p, nil
}

// threads reads every task of a multi-threaded process and returns those
// whose sets differ from the leader's.
func (r *procReader) threads(dir string, leader Sets) []Thread {
	ents, err := os.ReadDir(dir + "/task")
	if err != nil {
		return nil
	}
	var out []Thread
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := r.readFile(dir+"/task/"+e.Name()+"/status", true)
		if err != nil {
			continue
		}
		st, err := parseStatus(b)
		if err != nil {
			continue
		}
		sets := Sets{Inheritable: st.inh, Permitted: st.prm, Effective: st.eff, Bounding: st.bnd, Ambient: st.amb}
		if sets != leader {
			out = append(out, Thread{TID: tid, Comm: st.name, Sets: sets})
		}
	}
	return out
}

func splitCmdline(b []byte) []string {
	s := strings.TrimRight(string(b), "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

// hidesOthers reports whether the proc mount at root hides other users'
// processes (hidepid=invisible or hidepid=2).
func hidesOthers(root string) bool {
	abs, err := filepath.Abs(root)
	if err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	// Mounts stacked on one directory are listed bottom first: the last
	// one is the one seen.
	hides := false
	for _, ln := range strings.Split(string(b), "\n") {
		f := strings.Fields(ln)
		if len(f) < 5 || unescapeMount(f[4]) != abs {
			continue
		}
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
			}
		}
		if sep < 0 || sep+3 >= len(f) || f[sep+1] != "proc" {
			hides = false
			continue
		}
		hides = false
		for _, o := range strings.Split(f[sep+3], ",") {
			if o == "hidepid=invisible" || o == "hidepid=2" {
				hides = true
			}
		}
	}
	return hides
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
