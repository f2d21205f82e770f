package procscan

import (
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// A scanner that refreshes the same processes again and again (the TUI)
// keeps each process's status and cmdline open and re-reads them with
// pread: the kernel regenerates the text on every read, so nothing is
// stale, and the open and close calls (about 40% of the cost) are saved.
// A kept descriptor belongs to one process: once that process exits, reads
// fail with ESRCH even if its PID is reused, and the entry is reopened.
//
// The executable's file capabilities and the user namespace are read
// again whenever the command name or line changes (an exec), and every
// process is re-checked at least every recheckEvery snapshots, so a
// process that changes namespace without exec is seen within that many
// refreshes.
const recheckEvery = 10

// maxKept bounds the descriptors a scanner keeps (two per process).
const maxKept = 4096

type keptProc struct {
	status, cmdline int
	comm, cmd       string
	fileCaps        string
	fileCapsUnknown bool
	userNS          *bool
	checked         bool
	// seen marks entries used by the current snapshot.
	seen uint64
}

type keepCache struct {
	mu    sync.Mutex
	procs map[int]*keptProc
	gen   uint64
}

// KeepOpen makes the scanner keep descriptors and per-exec facts between
// snapshots; for scanners that refresh repeatedly.
func (s *Scanner) KeepOpen() {
	if s.keep == nil {
		s.keep = &keepCache{procs: map[int]*keptProc{}}
	}
}

// Close releases kept descriptors.
func (s *Scanner) Close() {
	if s.keep == nil {
		return
	}
	s.keep.mu.Lock()
	defer s.keep.mu.Unlock()
	for pid, k := range s.keep.procs {
		k.close()
		delete(s.keep.procs, pid)
	}
}

func (k *keptProc) close() {
	if k.status > 0 {
		unix.Close(k.status)
	}
	if k.cmdline > 0 {
		unix.Close(k.cmdline)
	}
	k.status, k.cmdline = 0, 0
}

// entries returns the kept entry of each pid (nil where the cache is
// full), creating missing ones; workers then use disjoint entries.
func (c *keepCache) entries(pids []int) []*keptProc {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	out := make([]*keptProc, len(pids))
	for i, pid := range pids {
		k, ok := c.procs[pid]
		if !ok {
			if len(c.procs) >= maxKept {
				continue
			}
			k = &keptProc{}
			c.procs[pid] = k
		}
		k.seen = c.gen
		out[i] = k
	}
	return out
}

// sweep closes the entries of processes the last snapshot did not list.
func (c *keepCache) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for pid, k := range c.procs {
		if k.seen != c.gen {
			k.close()
			delete(c.procs, pid)
		}
	}
}

// readKept reads path through the kept descriptor *fd with pread from
// offset 0, up to limit bytes (errTooLong beyond), opening it first if
// needed (procOpen: no blocking, regular files only, checked once on the
// descriptor) and reopening it once if the old one belongs to an exited
// process. proc hands over status and cmdline whole when the buffer is
// large enough, so a short read is the end.
func (r *procReader) readKept(fd *int, path string, limit int) ([]byte, error) {
	for attempt := 0; attempt < 2; attempt++ {
		if *fd <= 0 {
			f, err := procOpen(path)
			if err != nil {
				return nil, err
			}
			*fd = f
		}
		b, err := readUpTo(*fd, &r.buf, true, limit, true)
		if err == nil || err == errTooLong {
			return b, err
		}
		unix.Close(*fd)
		*fd = 0
		if attempt == 1 {
			return nil, err
		}
	}
	return nil, unix.ESRCH
}

func sameCmd(k *keptProc, comm string, cmd []string) bool {
	return k.checked && k.comm == comm && k.cmd == strings.Join(cmd, "\x00")
}
