package launch

import (
	"errors"
	"os"
	"path/filepath"
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
	run  func(spec testdSpec) error
	// untestable says why the probe cannot run here, or "".
	untestable func() string
}

// errCleared reports that the kernel silently refused (cleared a mode bit).
var errCleared = errors.New("cleared by the kernel")

func probes() []probe {
	return []probe{
		{capset.NetBindService, "bind a TCP port below ip_unprivileged_port_start on 127.0.0.1", bindLow, bindUntestable},
		{capset.Chown, "chown a file to another uid", func(s testdSpec) error {
			return unix.Fchownat(unix.AT_FDCWD, filepath.Join(s.Dir, fileChown), int(s.OtherUID), -1, 0)
		}, nil},
		{capset.DacReadSearch, "read a 0600 file owned by another uid", func(s testdSpec) error {
			fd, err := unix.Open(filepath.Join(s.Dir, fileSecret), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}, nil},
		{capset.DacOverride, "write a 0644 file owned by another uid", func(s testdSpec) error {
			fd, err := unix.Open(filepath.Join(s.Dir, fileWrite), unix.O_WRONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}, nil},
		{capset.Fowner, "chmod a file owned by another uid", func(s testdSpec) error {
			return unix.Fchmodat(unix.AT_FDCWD, filepath.Join(s.Dir, fileChmod), 0o640, 0)
		}, nil},
		{capset.Fsetid, "set the setgid bit on a file whose group it is not in", func(s testdSpec) error {
			p := filepath.Join(s.Dir, fileSetgid)
			if err := unix.Fchmodat(unix.AT_FDCWD, p, 0o2755, 0); err != nil {
				return err
			}
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				return err
			}
			if st.Mode&unix.S_ISGID == 0 {
				return errCleared
			}
			return nil
		}, nil},
		{capset.Setuid, "change to another uid", func(s testdSpec) error {
			// setresuid on this thread only (the raw call, not Go's
			// all-threads wrapper): the daemon's own identity stays.
			_, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(s.OtherUID), ^uintptr(0))
			if e != 0 {
				return e
			}
			return nil
		}, nil},
		{capset.Setgid, "change to another gid", func(s testdSpec) error {
			_, _, e := unix.RawSyscall(unix.SYS_SETRESGID, ^uintptr(0), uintptr(s.OtherGID), ^uintptr(0))
			if e != 0 {
				return e
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

func bindLow(testdSpec) error {
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
func runProbes(spec testdSpec) []Probe {
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
		err := onThread(p, spec, inEff)
		switch {
		case err == nil:
			res.Result = "allowed"
		default:
			res.Result, res.Errno = "denied", errnoName(err)
			if perm, _ := own.GetFlag(cap.Permitted, cap.Value(p.cap)); perm && !inEff {
				if onThread(p, spec, true) == nil {
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
func onThread(p probe, spec testdSpec, raise bool) error {
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
		result = p.run(spec)
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
	return err.Error()
}
