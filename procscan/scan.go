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

	"golang.org/x/sys/unix"

	"captune/capset"
	"captune/safefile"
	"captune/termsafe"
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
	// CmdlineCut is set when the command line was longer than captune
	// reads (maxCmdline) and Cmdline ends where the reading stopped.
	CmdlineCut bool
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
	// text; empty when it has none or they could not be read.
	FileCaps string
	// FileCapsUnknown is set when the executable's file capabilities could
	// not be read (another user's process, read without root): an empty
	// FileCaps then says nothing.
	FileCapsUnknown bool
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
	// Malformed lists the processes (and threads) left out because their
	// status or cmdline file is not what a kernel writes; a process that
	// exited while it was read is not among them.
	Malformed []Malformed
	// LookAlikes lists processes named proftpd that were not taken for a
	// proftpd master (and so their children not for FTP sessions).
	LookAlikes []LookAlike
}

// Malformed is a process left out because a file of it is malformed.
type Malformed struct {
	PID int
	// Path is the file; Reason names the line and the bad token.
	Path, Reason string
}

// LookAlike is a process named proftpd whose executable or owner does
// not make it a credible proftpd master.
type LookAlike struct {
	PID int
	// Reason says what was not credible ("real uid 1000, not root").
	Reason string
}

// Notes returns the lines a person should read about what was not seen.
// Text that comes from files or paths is escaped for a terminal.
func (s Snapshot) Notes() []string { return s.notes(nil) }

// NotesFor returns the notes that concern the given processes: hidepid,
// and the malformed files and look-alikes among them.
func (s Snapshot) NotesFor(pids []int) []string {
	want := map[int]bool{}
	for _, p := range pids {
		want[p] = true
	}
	return s.notes(want)
}

// NotesListing returns the notes for a listing of some processes (a
// filtered list): hidepid and every malformed file (what was left out
// might have matched), and the look-alikes that are listed or whose
// children are.
func (s Snapshot) NotesListing(listed []Process) []string {
	want := map[int]bool{}
	for _, p := range listed {
		want[p.PID], want[p.PPID] = true, true
	}
	for _, m := range s.Malformed {
		want[m.PID] = true
	}
	return s.notes(want)
}

func (s Snapshot) notes(only map[int]bool) []string {
	var out []string
	if s.Unreadable > 0 {
		out = append(out, fmt.Sprintf("%d processes could not be read: permission (proc is mounted with hidepid)", s.Unreadable))
	}
	if s.HiddenOthers {
		out = append(out, "other users' processes are not visible: proc is mounted with hidepid=invisible")
	}
	var bad []Malformed
	for _, m := range s.Malformed {
		if only == nil || only[m.PID] {
			bad = append(bad, m)
		}
	}
	if len(bad) > 0 {
		out = append(out, fmt.Sprintf("%d %s left out, malformed (not as a kernel writes it): %s: %s", len(bad), plural(len(bad), "process", "processes"),
			printable(bad[0].Path), printable(bad[0].Reason))+more(len(bad)))
	}
	var look []LookAlike
	for _, l := range s.LookAlikes {
		if only == nil || only[l.PID] {
			look = append(look, l)
		}
	}
	if len(look) > 0 {
		out = append(out, fmt.Sprintf("ignored %d %s named proftpd that %s not a credible proftpd master (PID %d: %s); %s children are not taken for FTP sessions",
			len(look), plural(len(look), "process", "processes"), plural(len(look), "is", "are"), look[0].PID, printable(look[0].Reason), plural(len(look), "its", "their"))+more(len(look)))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func more(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" (and %d more)", n-1)
}

// Scanner reads processes from one proc mount.
type Scanner struct {
	root  string
	users *userCache
	// Workers bounds parallel reads (default: GOMAXPROCS).
	Workers int
	// FileCaps enables reading executables' file capabilities.
	FileCaps bool
	keep     *keepCache
	// exeOwner is who must own a proftpd master's executable (root; the
	// fixture tests change it when they do not run as root).
	exeOwner uint32
}

// New returns a scanner of the proc mount at root ("/proc" on a live system).
func New(root string) (*Scanner, error) {
	d, err := safefile.OpenDir(root)
	if err != nil {
		return nil, fmt.Errorf("proc root %s: %w", root, err)
	}
	d.Close()
	return &Scanner{root: root, users: newUserCache("/etc/passwd"), FileCaps: true}, nil
}

// Root returns the proc mount the scanner reads.
func (s *Scanner) Root() string { return s.root }

// SetPasswd makes the scanner resolve user names from another passwd file.
func (s *Scanner) SetPasswd(path string) { s.users = newUserCache(path) }

// LastCap reads the kernel's highest capability number from the proc
// mount (sys/kernel/cap_last_cap), without blocking and within a bound.
func (s *Scanner) LastCap() (capset.Cap, error) {
	path := s.root + "/sys/kernel/cap_last_cap"
	b, err := safefile.ReadFile(path, safefile.Rules{Max: 64, NoFollow: true})
	if err != nil {
		return 0, err
	}
	v := strings.TrimSpace(string(b))
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n >= capset.MaxBits {
		return 0, fmt.Errorf("%s: unexpected value %q", path, v)
	}
	return capset.Cap(n), nil
}

// pids lists the process directories of the proc mount, in order. The
// directory is opened without blocking (a FIFO in its place fails at once).
func (s *Scanner) pids() ([]int, error) {
	d, err := safefile.OpenDir(s.root)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n == "" || n[0] < '0' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids, nil
}

// Snapshot reads every process. Processes that vanish while being read
// are dropped silently; those whose files are malformed are dropped and
// listed in Malformed.
func (s *Scanner) Snapshot() (Snapshot, error) {
	snap := Snapshot{Taken: time.Now()}
	if last, err := s.LastCap(); err == nil {
		snap.LastCap = last
	} else {
		snap.LastCap = capset.NamedCount - 1
	}
	pids, err := s.pids()
	if err != nil {
		return snap, fmt.Errorf("listing %s: %w", s.root, err)
	}
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
	bad := make([][]Malformed, workers)
	var wg sync.WaitGroup
	chunk := (len(pids) + workers - 1) / max(1, workers)
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(pids))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(w, lo, hi int) {
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
				bad[w] = append(bad[w], r.bad...)
				r.bad = r.bad[:0]
			}
		}(w, lo, hi)
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
	for _, b := range bad {
		snap.Malformed = append(snap.Malformed, b...)
	}
	sort.SliceStable(snap.Malformed, func(i, j int) bool { return snap.Malformed[i].PID < snap.Malformed[j].PID })
	snap.LookAlikes = assignRoles(snap.Procs, s.masterCheck)
	return snap, nil
}

// Process reads one process. It returns ErrProcGone when it does not
// exist (any more), ErrNotPermitted when hidepid forbids reading it, and
// an error wrapping ErrMalformed (naming the file and the bad token) when
// its files are not what a kernel writes.
func (s *Scanner) Process(pid int) (Process, error) {
	r := newProcReader(s, s.readNS(1))
	p, err := r.read(pid)
	if err != nil {
		if len(r.bad) > 0 {
			return p, fmt.Errorf("%s: %w", r.bad[0].Path, err)
		}
		return p, err
	}
	// Roles depend on the parent: read it too.
	list := []Process{p}
	if pp, err := r.read(p.PPID); err == nil {
		list = append(list, pp)
	}
	assignRoles(list, s.masterCheck)
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
	// bad collects the malformed files met since the caller last took them.
	bad []Malformed
}

func newProcReader(s *Scanner, initNS string) *procReader {
	return &procReader{s: s, buf: make([]byte, 8192), initNS: initNS}
}

// Bounds on what one file may hold. A status file is about 1.5 KiB (more
// with thousands of supplementary groups); a longer one is malformed. A
// command line may be long (the kernel allows a few MiB) and is cut at
// maxCmdline.
const (
	maxStatus  = 1 << 20
	maxCmdline = 256 << 10
)

// errTooLong reports a file that goes on past its bound.
var errTooLong = errors.New("too long")

// fileError is a proc file that is not what the kernel provides: not a
// regular file (a FIFO, a device, a symbolic link in a crafted tree) or
// longer than any kernel writes.
type fileError struct{ why string }

func (e *fileError) Error() string { return e.why }
func (e *fileError) Unwrap() error { return ErrMalformed }

// procOpen opens a proc file without blocking and without following a
// symbolic link, and checks on the descriptor that it is a regular file
// (the kernel's are; a crafted tree's FIFO or device is refused).
func procOpen(path string) (int, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.ELOOP {
		return -1, &fileError{"is a symbolic link, not a regular file"}
	}
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return -1, &fileError{"is " + kindOf(st.Mode) + ", not a regular file"}
	}
	return fd, nil
}

func kindOf(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return "not a regular file"
}

// readFile reads a small proc file into the reusable buffer with raw
// system calls, up to limit bytes: errTooLong (with the limit's bytes
// read) when the file goes on.
func (r *procReader) readFile(path string, seqFile bool, limit int) ([]byte, error) {
	fd, err := procOpen(path)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return readUpTo(fd, &r.buf, seqFile, limit, false)
}

// readUpTo reads fd from the start into buf (growing it up to limit+1
// bytes), with read(2) or, for a kept descriptor, pread(2) at offset 0.
// Beyond limit bytes it stops with errTooLong and the first limit bytes.
func readUpTo(fd int, buf *[]byte, seqFile bool, limit int, pread bool) ([]byte, error) {
	n := 0
	for {
		end := min(len(*buf), limit+1)
		if n == end {
			*buf = append(*buf, make([]byte, min(len(*buf), limit+1-len(*buf)))...)
			end = min(len(*buf), limit+1)
		}
		var m int
		var err error
		if pread {
			m, err = unix.Pread(fd, (*buf)[n:end], int64(n))
		} else {
			m, err = unix.Read(fd, (*buf)[n:end])
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return (*buf)[:n], nil
		}
		n += m
		if n > limit {
			return (*buf)[:limit], errTooLong
		}
		if n < end && seqFile {
			// A seq_file (status) hands over its whole text in one read
			// when the buffer is large enough: a short read is the end,
			// and the extra read(2) that would return 0 is saved.
			return (*buf)[:n], nil
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

// readStatus reads and parses one status file. A file that does not parse
// is read once more: a process that exited between the reads fails with
// ESRCH or ENOENT and is gone, not malformed.
func (r *procReader) readStatus(path string, k *int) (status, error) {
	var st status
	var perr error
	for attempt := 0; attempt < 2; attempt++ {
		var b []byte
		var err error
		if k != nil {
			b, err = r.readKept(k, path, maxStatus)
		} else {
			b, err = r.readFile(path, true, maxStatus)
		}
		if err == errTooLong {
			return st, &fileError{"is longer than " + safefile.Size(maxStatus) + ", more than any kernel writes"}
		}
		if err != nil {
			return st, classify(err)
		}
		if st, perr = parseStatus(b); perr == nil {
			return st, nil
		}
	}
	return st, perr
}

// malformedFile records a malformed file of a process that still exists.
func (r *procReader) malformedFile(pid int, path string, err error) {
	r.bad = append(r.bad, Malformed{PID: pid, Path: path, Reason: err.Error()})
}

// readWith reads one process, through its kept descriptors when k is set.
func (r *procReader) readWith(pid int, k *keptProc, gen uint64) (Process, error) {
	dir := r.s.root + "/" + strconv.Itoa(pid)
	var kst, kcl *int
	if k != nil {
		kst, kcl = &k.status, &k.cmdline
	}
	st, err := r.readStatus(dir+"/status", kst)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			r.malformedFile(pid, dir+"/status", err)
		}
		return Process{}, err
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
	if kcl != nil {
		cl, err = r.readKept(kcl, dir+"/cmdline", maxCmdline)
	} else {
		cl, err = r.readFile(dir+"/cmdline", false, maxCmdline)
	}
	if err == errTooLong {
		p.CmdlineCut, err = true, nil
	}
	var fe *fileError
	if errors.As(err, &fe) {
		r.malformedFile(pid, dir+"/cmdline", err)
		return Process{}, err
	}
	if err == nil && len(cl) > 0 {
		p.Cmdline = splitCmdline(cl)
	}
	if k != nil && sameCmd(k, p.Comm, p.Cmdline) && (uint64(pid)+gen)%recheckEvery != 0 {
		p.FileCaps, p.FileCapsUnknown, p.UserNSChild = k.fileCaps, k.fileCapsUnknown, k.userNS
	} else if !p.KernelThread {
		if ns, err := os.Readlink(dir + "/ns/user"); err == nil && r.initNS != "" {
			child := ns != r.initNS
			p.UserNSChild = &child
		}
		if r.s.FileCaps {
			p.FileCaps, p.FileCapsUnknown = fileCaps(dir + "/exe")
		} else {
			p.FileCapsUnknown = true
		}
		if k != nil {
			k.comm, k.cmd, k.checked = p.Comm, strings.Join(p.Cmdline, "\x00"), true
			k.fileCaps, k.fileCapsUnknown, k.userNS = p.FileCaps, p.FileCapsUnknown, p.UserNSChild
		}
	}
	if st.threads > 1 {
		p.Threads = r.threads(pid, dir, p.Sets)
	}
	return p, nil
}

// threads reads every task of a multi-threaded process and returns those
// whose sets differ from the leader's. A thread that exits meanwhile is
// left out; a malformed task status is recorded.
func (r *procReader) threads(pid int, dir string, leader Sets) []Thread {
	d, err := safefile.OpenDir(dir + "/task")
	if err != nil {
		return nil
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil
	}
	sort.Strings(names)
	var out []Thread
	for _, name := range names {
		tid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		path := dir + "/task/" + name + "/status"
		st, err := r.readStatus(path, nil)
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				r.malformedFile(pid, path, err)
			}
			continue
		}
		sets := Sets{Inheritable: st.inh, Permitted: st.prm, Effective: st.eff, Bounding: st.bnd, Ambient: st.amb}
		if sets != leader {
			out = append(out, Thread{TID: tid, Comm: st.name, Sets: sets})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TID < out[j].TID })
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
	b, err := safefile.ReadFile("/proc/self/mountinfo", safefile.Rules{Max: 16 << 20})
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

// printable is the one escaping of strings bound for a terminal
// (termsafe.Escape): procscan's notes quote paths and file contents.
func printable(s string) string { return termsafe.Escape(s) }
