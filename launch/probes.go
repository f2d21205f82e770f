package launch

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"captune/capset"
)

// The fixture files captune prepares in the daemon's folder.
const (
	fileChown  = "chown-me"   // owned by the daemon
	fileSecret = "secret"     // another uid's, 0600
	fileWrite  = "writable"   // another uid's, 0644
	fileChmod  = "chmod-me"   // another uid's, 0644
	fileSetgid = "setgid-me"  // the daemon's, in a group it is not in
	fileMarker = "probe-area" // says what the folder is
)

// probe is one capability's test: run tries the operation once on the
// current (disposable) thread and returns its error.
type probe struct {
	cap  capset.Cap
	name string
	run  func(env *probeEnv) error
	// untestable says why the probe cannot run here, or "".
	untestable func() string
}

// probeEnv is what the probes work on: the daemon's folder, open, and the
// identity of each fixture captune made in it. Every probe opens its
// fixture with O_NOFOLLOW and O_NONBLOCK relative to the folder, checks
// that it is the very file captune made (device and inode), and acts on
// the descriptor (fchown, fchmod, fstat): a fixture swapped for a symbolic
// link, a FIFO, a hard link or another file is never touched.
type probeEnv struct {
	dir      int
	ids      map[string]fixtureID
	otherUID uint32
	otherGID uint32
}

// errCleared reports that the kernel silently refused (cleared a mode bit).
var errCleared = errors.New("cleared by the kernel")

// errSwapped reports a fixture that is not the file captune made.
var errSwapped = errors.New("the fixture is not the file captune made (replaced in the folder)")

// open opens a fixture and checks that it is captune's.
func (e *probeEnv) open(name string, flags int) (int, error) {
	fd, err := unix.Openat(e.dir, name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return -1, err
	}
	if err := e.same(fd, name); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (e *probeEnv) same(fd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	id, ok := e.ids[name]
	if !ok || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Dev != id.Dev || st.Ino != id.Ino {
		return errSwapped
	}
	return nil
}

// withFile runs fn on the fixture opened read-only.
func (e *probeEnv) withFile(name string, fn func(fd int) error) error {
	fd, err := e.open(name, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return fn(fd)
}

func probes() []probe {
	return []probe{
		{capset.NetBindService, "bind a TCP port below ip_unprivileged_port_start on 127.0.0.1", bindLow, bindUntestable},
		{capset.Chown, "chown a file to another uid", func(e *probeEnv) error {
			return e.withFile(fileChown, func(fd int) error { return unix.Fchown(fd, int(e.otherUID), -1) })
		}, nil},
		{capset.DacReadSearch, "read a 0600 file owned by another uid", func(e *probeEnv) error {
			fd, err := e.open(fileSecret, unix.O_RDONLY)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}, nil},
		{capset.DacOverride, "write a 0644 file owned by another uid", func(e *probeEnv) error {
			fd, err := e.open(fileWrite, unix.O_WRONLY)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}, nil},
		{capset.Fowner, "chmod a file owned by another uid", func(e *probeEnv) error {
			return e.withFile(fileChmod, func(fd int) error { return unix.Fchmod(fd, 0o640) })
		}, nil},
		{capset.Fsetid, "set the setgid bit on a file whose group it is not in", func(e *probeEnv) error {
			return e.withFile(fileSetgid, func(fd int) error {
				if err := unix.Fchmod(fd, 0o2755); err != nil {
					return err
				}
				var st unix.Stat_t
				if err := unix.Fstat(fd, &st); err != nil {
					return err
				}
				if st.Mode&unix.S_ISGID == 0 {
					return errCleared
				}
				return nil
			})
		}, nil},
		{capset.Setuid, "change to another uid", func(e *probeEnv) error {
			// setresuid on this thread only (the raw call, not Go's
			// all-threads wrapper): the daemon's own identity stays.
			_, _, errno := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(e.otherUID), ^uintptr(0))
			if errno != 0 {
				return errno
			}
			return nil
		}, nil},
		{capset.Setgid, "change to another gid", func(e *probeEnv) error {
			_, _, errno := unix.RawSyscall(unix.SYS_SETRESGID, ^uintptr(0), uintptr(e.otherGID), ^uintptr(0))
			if errno != 0 {
				return errno
			}
			return nil
		}, nil},
	}
}

func unprivilegedPortStart() (int, error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		return 1024, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func bindUntestable() string {
	start, err := unprivilegedPortStart()
	if err == nil && start <= 1 {
		return "net.ipv4.ip_unprivileged_port_start is " + strconv.Itoa(start) + ": every port is unprivileged here"
	}
	return ""
}

func bindLow(*probeEnv) error {
	start, _ := unprivilegedPortStart()
	port := start - 1
	if port > 1023 || port < 1 {
		port = 1023
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	err = unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
	if errors.Is(err, unix.EADDRINUSE) {
		return nil // the kernel checked the capability before the port
	}
	return err
}

// runProbes runs every probe on a disposable libcap launcher thread, so the
// daemon's own sets and identity never change. Each probe isolates its one
// capability: the thread's effective set holds that capability if the
// daemon has it in effect and nothing else (cap_dac_override would also
// let a read through). If that fails and the capability is permitted, the
// probe runs once more with it raised: "permitted-only".
func runProbes(env *probeEnv) []Probe {
	own := cap.GetProc()
	var out []Probe
	for _, p := range probes() {
		res := Probe{Name: p.name, Capability: p.cap.String()}
		if p.untestable != nil {
			if why := p.untestable(); why != "" {
				res.Result, res.Errno = "not-testable", why
				out = append(out, res)
				continue
			}
		}
		inEff, _ := own.GetFlag(cap.Effective, cap.Value(p.cap))
		err := onThread(p, env, inEff)
		switch {
		case err == nil:
			res.Result = "allowed"
		default:
			res.Result, res.Errno = "denied", errnoName(err)
			if perm, _ := own.GetFlag(cap.Permitted, cap.Value(p.cap)); perm && !inEff {
				if onThread(p, env, true) == nil {
					res.Result, res.Errno = "permitted-only", ""
				}
			}
		}
		out = append(out, res)
	}
	return out
}

// onThread runs a probe on a disposable thread whose effective set holds
// only the probe's capability (when raise) or nothing.
func onThread(p probe, env *probeEnv, raise bool) error {
	var result error
	_, err := cap.FuncLauncher(func(any) error {
		c := cap.GetProc()
		if err := c.ClearFlag(cap.Effective); err != nil {
			return err
		}
		if raise {
			if err := c.SetFlag(cap.Effective, true, cap.Value(p.cap)); err != nil {
				return err
			}
		}
		if err := c.SetProc(); err != nil {
			return err
		}
		result = p.run(env)
		return nil
	}).Launch(nil)
	if err != nil {
		return err
	}
	return result
}

func errnoName(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
	}
	if errors.Is(err, errCleared) {
		return "the kernel cleared the setgid bit"
	}
	if errors.Is(err, errSwapped) {
		return errSwapped.Error()
	}
	return err.Error()
}
