package launch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"captune/capset"
)

// The hidden modes of the captune binary. Each takes no argument: its
// plan comes from the captune that started it, over the socket on fd 3.
const (
	TestdArg     = "__captune-testd"
	SuperviseArg = "__captune-supervise"
	JanitorArg   = "__captune-janitor"
)

// sockFD is where a hidden mode finds its end of captune's socket.
const sockFD = 3

// maxMessage bounds one message on the socket.
const maxMessage = 1 << 20

// specTimeout bounds the wait for captune's plan.
const specTimeout = 15 * time.Second

// Exit codes of a hidden mode that refuses to run.
const (
	hiddenUsage   = 2 // started by hand, without captune's socket
	hiddenRefused = 4 // its checks refused the parent or the plan
)

// Hidden runs the hidden mode args name (args without the program name)
// and returns its exit code; ok is false when args name none. main calls
// it first; so do test binaries that stand in for captune.
func Hidden(args []string) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	var run func() int
	switch args[0] {
	case TestdArg:
		run = testdMain
	case SuperviseArg:
		run = superviseMain
	case JanitorArg:
		run = janitorMain
	default:
		return 0, false
	}
	if len(args) > 1 {
		fmt.Fprintf(os.Stderr, "captune: %s takes its plan from the captune that starts it, not from the command line\n", args[0])
		return hiddenUsage, true
	}
	return run(), true
}

// testdSpec tells the probe daemon what to do.
type testdSpec struct {
	Shape     bool          `json:"shape"`
	Permitted capset.Set    `json:"permitted"`
	Effective capset.Set    `json:"effective"`
	Dir       string        `json:"dir"`
	Fixtures  []fixtureID   `json:"fixtures"`
	Keep      time.Duration `json:"keep"`
}

// fixtureID names a fixture file captune made, by device and inode.
type fixtureID struct {
	Name string `json:"name"`
	Dev  uint64 `json:"dev"`
	Ino  uint64 `json:"ino"`
}

// superviseSpec tells the raw-mode supervisor what to launch: the plan
// (which the supervisor checks again against its own state).
type superviseSpec struct {
	Path   string        `json:"path"`
	Args   []string      `json:"args"`
	Env    []string      `json:"env"`
	UID    uint32        `json:"uid"`
	GID    uint32        `json:"gid"`
	Groups []uint32      `json:"groups"`
	Inh    capset.Set    `json:"inh"`
	Amb    capset.Set    `json:"amb"`
	Bnd    capset.Set    `json:"bnd"`
	Keep   time.Duration `json:"keep"`
}

// report is what a hidden mode says once it has started (or refused).
type report struct {
	PID    int     `json:"pid,omitempty"`
	Probes []Probe `json:"probes,omitempty"`
	Error  string  `json:"error,omitempty"`
	// Refused marks an error of the hidden mode's own checks (privilege).
	Refused bool `json:"refused,omitempty"`
	// Usage marks a command that cannot be run (bad input).
	Usage bool `json:"usage,omitempty"`
}

// control is a message from captune to a running hidden mode.
type control struct {
	// Op is "readdone" (the read-back is over: the command may be
	// reaped), "stop" (end the command now) or "detach" (keep: captune
	// hands the process over and leaves).
	Op string `json:"op"`
}

// Probe is the verdict on one capability's test.
type Probe struct {
	// Name says what was tried.
	Name string `json:"name"`
	// Capability is the capability the probe exercises.
	Capability string `json:"capability"`
	// Result is allowed, denied, permitted-only or not-testable.
	Result string `json:"result"`
	// Errno names the error of a denied attempt ("EPERM"), or says why a
	// probe is not testable.
	Errno string `json:"errno"`
}

// conn is one end of the socket between captune and a hidden mode: one
// JSON object per line, each at most maxMessage bytes.
type conn struct {
	f *os.File
	r *bufio.Reader
}

func newConn(f *os.File) *conn { return &conn{f: f, r: bufio.NewReaderSize(f, 64<<10)} }

func (c *conn) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = c.f.Write(append(b, '\n'))
	return err
}

// recv reads one message; a zero timeout waits as long as it takes.
func (c *conn) recv(v any, timeout time.Duration) error {
	if timeout > 0 {
		_ = c.f.SetReadDeadline(time.Now().Add(timeout))
		defer c.f.SetReadDeadline(time.Time{})
	}
	var line []byte
	for {
		part, isPrefix, err := c.r.ReadLine()
		if err != nil {
			return err
		}
		line = append(line, part...)
		if len(line) > maxMessage {
			return fmt.Errorf("message longer than %d bytes", maxMessage)
		}
		if !isPrefix {
			break
		}
	}
	return json.Unmarshal(line, v)
}

func (c *conn) close() error { return c.f.Close() }

// socketPair makes the socket for a hidden mode: captune's end (non-
// blocking, so reads can time out) and the child's end.
func socketPair() (mine *conn, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, err
	}
	return newConn(os.NewFile(uintptr(fds[0]), "captune socket")), os.NewFile(uintptr(fds[1]), "hidden socket"), nil
}

// errNotCaptune reports a parent or socket that is not captune's.
var errNotCaptune = errors.New("not started by captune")

// parent is what a hidden mode knows of the captune that started it.
type parent struct {
	PID int
	// UID and GID are captune's effective ids when it made the socket.
	UID, GID uint32
	// Start is its start time (see Holder).
	Start uint64
}

// hiddenStart checks that the hidden mode was started by captune and
// returns the socket. Trust rests on three checks, all race-free:
//   - fd 3 is a socket whose peer (SO_PEERCRED: the process that made
//     it) is this process's parent;
//   - the parent runs the same executable: /proc/PPID/exe and
//     /proc/self/exe are the same device and inode, and the parent is
//     still the parent after the look (a parent that died would have
//     left this process to another, and its PID could have been reused);
//   - only the probe daemon, which captune starts as another uid or with
//     fewer capabilities (so that the kernel does not let it look at
//     captune's executable), accepts a parent it cannot look at; it then
//     trusts only a folder whose owner record names that parent and files
//     whose device and inode captune sent (see testdMain), and it can do
//     no more than the capabilities it already holds allow.
//
// Started by hand (no socket), it says so and returns hiddenUsage; a
// failed check returns hiddenRefused.
func hiddenStart(what string, allowUnreadable bool) (*conn, parent, int) {
	var st unix.Stat_t
	if unix.Fstat(sockFD, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		fmt.Fprintf(os.Stderr, "captune: the %s is started by captune, not by hand\n", what)
		return nil, parent{}, hiddenUsage
	}
	p, err := checkParent(sockFD, allowUnreadable)
	if err != nil {
		fmt.Fprintf(os.Stderr, "captune: the %s refuses to run: %v\n", what, err)
		c := newConn(os.NewFile(sockFD, "socket"))
		_ = c.send(report{Error: fmt.Sprintf("the %s refuses to run: %v", what, err), Refused: true})
		return nil, parent{}, hiddenRefused
	}
	unix.CloseOnExec(sockFD)
	if err := unix.SetNonblock(sockFD, true); err != nil {
		return nil, parent{}, hiddenRefused
	}
	return newConn(os.NewFile(sockFD, "socket")), p, 0
}

func checkParent(fd int, allowUnreadable bool) (parent, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return parent{}, fmt.Errorf("%w: fd %d: %v", errNotCaptune, fd, err)
	}
	ppid := unix.Getppid()
	if int(cred.Pid) != ppid {
		return parent{}, fmt.Errorf("%w: the socket on fd %d was made by PID %d, not by the parent PID %d", errNotCaptune, fd, cred.Pid, ppid)
	}
	start, _, err := procStart(ppid)
	if err != nil {
		return parent{}, fmt.Errorf("%w: parent PID %d: %v", errNotCaptune, ppid, err)
	}
	var self, par unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &self); err != nil {
		return parent{}, fmt.Errorf("%w: /proc/self/exe: %v", errNotCaptune, err)
	}
	perr := unix.Stat("/proc/"+strconv.Itoa(ppid)+"/exe", &par)
	if unix.Getppid() != ppid {
		return parent{}, fmt.Errorf("%w: the parent PID %d exited during the check", errNotCaptune, ppid)
	}
	switch {
	case perr == nil:
		if par.Dev != self.Dev || par.Ino != self.Ino {
			return parent{}, fmt.Errorf("%w: the parent PID %d runs another program than this one", errNotCaptune, ppid)
		}
	case (perr == unix.EACCES || perr == unix.EPERM) && allowUnreadable:
	default:
		return parent{}, fmt.Errorf("%w: the program of the parent PID %d cannot be looked at: %v", errNotCaptune, ppid, perr)
	}
	return parent{PID: ppid, UID: cred.Uid, GID: cred.Gid, Start: start}, nil
}

// init runs a hidden mode before anything else of the program when the
// command line names one: every binary that links launch (captune, and
// test binaries that stand in for it) then acts as the hidden mode and
// never runs its own main or tests with a hidden mode's arguments.
func init() {
	if code, ok := Hidden(os.Args[1:]); ok {
		os.Exit(code)
	}
}
