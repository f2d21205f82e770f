// Package safefile reads files that another user may have named, placed or
// swapped, without letting that user hang or steer the reader. captune runs
// as root and reads files on its own initiative (a proftpd master's PidFile,
// /etc/passwd, a proc tree's net/tcp and mountinfo); a FIFO or a device in
// their place must not block it, /dev/zero must not fill its memory, and a
// file another user owns must not be believed where only root's files count.
//
// Every open is non-blocking (O_NONBLOCK: a FIFO with no writer opens at
// once), never makes a terminal the controlling one (O_NOCTTY), and the
// checks (regular file, owner) are made with fstat on the opened descriptor,
// so a path swapped after a check cannot slip through. Reads stop at a
// bound. It lives apart from procscan and drift because both need it;
// capset/modcap, which may import nothing of captune that does I/O, has its
// own copy of the open in its reader.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotRegular reports a path that is a FIFO, a device, a socket or a
// directory: nothing captune reads this way may be one.
var ErrNotRegular = errors.New("not a regular file")

// ErrOwner reports a file owned by a user the caller does not trust.
var ErrOwner = errors.New("owned by an untrusted user")

// ErrTooLarge reports a file longer than the caller's bound.
var ErrTooLarge = errors.New("larger than captune reads")

// Rules say what a file must be for it to be read.
type Rules struct {
	// Max bounds how many bytes are read; a longer file is ErrTooLarge.
	// Zero means 1 MiB.
	Max int
	// NoFollow refuses a symbolic link as the last component (O_NOFOLLOW).
	NoFollow bool
	// Owners, when not nil, are the only uids the file may belong to.
	Owners []uint32
}

// DefaultMax is the bound when Rules.Max is zero.
const DefaultMax = 1 << 20

// Error is a file that may not be read, with the reason.
type Error struct {
	Path string
	// Err is ErrNotRegular, ErrOwner, ErrTooLarge or the system's error.
	Err error
	// Detail says more ("a FIFO", "uid 1000").
	Detail string
}

// Error prints "PATH: reason (detail)".
func (e *Error) Error() string {
	s := e.Path + ": " + e.Err.Error()
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Unwrap returns the reason, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

// Open opens path for reading without blocking and checks the opened file
// against the rules. The caller closes the file.
func Open(path string, r Rules) (*os.File, fs.FileInfo, error) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	if r.NoFollow {
		flags |= unix.O_NOFOLLOW
	}
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, flags, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		if r.NoFollow && err == unix.ELOOP {
			return nil, nil, &Error{Path: path, Err: ErrNotRegular, Detail: "a symbolic link"}
		}
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := Check(path, st, r.Owners); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// Check says whether an opened file's fstat result passes: a regular
// file, owned by one of owners when owners is not nil.
func Check(path string, st fs.FileInfo, owners []uint32) error {
	if !st.Mode().IsRegular() {
		return &Error{Path: path, Err: ErrNotRegular, Detail: Kind(st.Mode())}
	}
	if owners == nil {
		return nil
	}
	uid, ok := Owner(st)
	if !ok {
		return &Error{Path: path, Err: ErrOwner, Detail: "owner unknown"}
	}
	for _, o := range owners {
		if uid == o {
			return nil
		}
	}
	return &Error{Path: path, Err: ErrOwner, Detail: fmt.Sprintf("uid %d; only %s may own it", uid, ownerList(owners))}
}

// Owner is the uid that owns a file, from its fstat or stat result.
func Owner(st fs.FileInfo) (uint32, bool) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Uid, true
	}
	return 0, false
}

func ownerList(owners []uint32) string {
	var parts []string
	seen := map[uint32]bool{}
	for _, o := range owners {
		if seen[o] {
			continue
		}
		seen[o] = true
		if o == 0 {
			parts = append(parts, "root")
		} else {
			parts = append(parts, "uid "+strconv.FormatUint(uint64(o), 10))
		}
	}
	return strings.Join(parts, " or ")
}

// Kind names a file type for messages: "a FIFO", "a directory", ...
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeDir != 0:
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

// ReadFile reads a file that passes the rules, up to the bound. It reads
// until end of file whatever size fstat reports, so proc files (size 0)
// read whole.
func ReadFile(path string, r Rules) ([]byte, error) {
	f, st, err := Open(path, r)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, path, st.Size(), r.max())
}

func (r Rules) max() int {
	if r.Max <= 0 {
		return DefaultMax
	}
	return r.Max
}

func readBounded(f io.Reader, path string, size int64, limit int) ([]byte, error) {
	n := 512
	if size > 0 && size < int64(limit) {
		n = int(size) + 1
	}
	buf := make([]byte, 0, min(n, limit+1))
	for {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), limit+1))
			copy(grown, buf)
			buf = grown
		}
		m, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if len(buf) > limit {
			return nil, &Error{Path: path, Err: ErrTooLarge, Detail: "more than " + Size(limit)}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Size prints a byte count the way the messages do ("64 KiB").
func Size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// OpenDir opens a directory for listing without blocking: O_DIRECTORY
// fails at once on a FIFO or a device put in its place.
func OpenDir(path string) (*os.File, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}
