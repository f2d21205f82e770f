// Package drift compares running proftpd session processes with what
// their configuration predicts for their user: a session that holds other
// capabilities than its configuration says has drifted (the file changed
// after the master started, another file or vhost applies, ...). It only
// reads: configuration files and /proc.
package drift

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"captune/capset/modcap"
	"captune/launch/proftpd"
	"captune/procscan"
)

// DefaultConfig is where Debian's proftpd reads its configuration.
const DefaultConfig = "/etc/proftpd/proftpd.conf"

// ErrConfig wraps an explicit configuration that cannot be read.
var ErrConfig = errors.New("configuration")

// Result is one session's comparison.
type Result struct {
	// Config is the configuration the session was compared with.
	Config string
	// Expected is what the configuration predicts for the session.
	Expected modcap.Prediction
	// Differences list how the session differs; empty means no drift.
	Differences []string
	// Reasons explain the drift and the prediction.
	Reasons []string
}

// Drifted reports whether the session differs from its configuration.
func (r *Result) Drifted() bool { return r != nil && len(r.Differences) > 0 }

// Checker compares sessions; it reads each configuration once.
type Checker struct {
	root     string
	explicit string
	live     bool
	mu       sync.Mutex
	configs  map[string]*modcap.Config
	failed   map[string]error
	modules  []string
	modsRead bool
}

// NewChecker compares sessions found under the proc root with explicit
// (a configuration file), or, when explicit is empty and root is this
// machine's /proc, with the master's own -c argument or Debian's default.
func NewChecker(root, explicit string) *Checker {
	return &Checker{root: root, explicit: explicit, live: filepath.Clean(root) == "/proc",
		configs: map[string]*modcap.Config{}, failed: map[string]error{}}
}

// ConfigFor picks the configuration a master's sessions are compared
// with, or "" when none applies.
func (c *Checker) ConfigFor(master procscan.Process) string {
	if c.explicit != "" {
		return c.explicit
	}
	if !c.live {
		return ""
	}
	if a := MasterConfigArg(master.Cmdline); a != "" {
		return a
	}
	return DefaultConfig
}

// Check compares a logged-in session (role proftpd-session) whose master
// is in all. It returns nil, nil when there is nothing to compare (not a
// session, no master, no configuration, a default configuration that
// cannot be read: warn is then set once per file).
func (c *Checker) Check(all map[int]procscan.Process, p procscan.Process) (res *Result, warn string, err error) {
	if p.Role != procscan.RoleProftpdSession {
		return nil, "", nil
	}
	master, ok := all[p.PPID]
	if !ok || master.Role != procscan.RoleProftpdMaster {
		return nil, "", nil
	}
	path := c.ConfigFor(master)
	if path == "" {
		return nil, "", nil
	}
	cfg, warn, err := c.read(path)
	if err != nil || cfg == nil {
		return nil, warn, err
	}
	return c.compare(p, master, path, cfg), "", nil
}

// Validate reads an explicit configuration at once, so that one that
// cannot be read is refused even when no session is compared with it.
func (c *Checker) Validate() error {
	if c.explicit == "" {
		return nil
	}
	_, _, err := c.read(c.explicit)
	return err
}

func (c *Checker) read(path string) (*modcap.Config, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cfg, ok := c.configs[path]; ok {
		return cfg, "", nil
	}
	if _, ok := c.failed[path]; ok {
		return nil, "", nil
	}
	if !c.modsRead {
		c.modsRead = true
		if bin, err := proftpd.FindBinary(""); err == nil {
			c.modules, _ = proftpd.Modules(bin)
		}
	}
	cfg, err := modcap.ReadFile(path, modcap.Options{Modules: c.modules})
	if err != nil {
		if c.explicit != "" {
			return nil, "", fmt.Errorf("%w: %v", ErrConfig, shortErr(path, err))
		}
		c.failed[path] = err
		return nil, fmt.Sprintf("proftpd sessions not checked for drift: %s", shortErr(path, err)), nil
	}
	c.configs[path] = cfg
	return cfg, "", nil
}

func shortErr(path string, err error) error {
	var ce *modcap.Error
	if errors.As(err, &ce) {
		return ce
	}
	if len(path) > 80 {
		path = path[:80] + "..."
	}
	return fmt.Errorf("%s: %v", path, err)
}

// compare predicts the session from the configuration, its user and its
// master (whose permitted set is the real one), and lists the differences.
func (c *Checker) compare(p, master procscan.Process, path string, cfg *modcap.Config) *Result {
	login := modcap.Login{User: p.FTPUser, UID: p.EUID, UIDKnown: true, Addr: SessionAddr(c.root, p.PID)}
	if u, err := user.Lookup(p.FTPUser); err == nil {
		if ids, err := u.GroupIds(); err == nil {
			sort.SliceStable(ids, func(i, j int) bool { return ids[i] == u.Gid && ids[j] != u.Gid })
			for _, id := range ids {
				if g, err := user.LookupGroupId(id); err == nil {
					login.Groups = append(login.Groups, g.Name)
				}
			}
		}
	}
	pr := modcap.Predict(modcap.Input{Config: cfg, Login: login, MasterPermitted: master.Sets.Permitted, MasterBounding: master.Sets.Bounding})
	obs := proftpd.Observed{PID: p.PID, Permitted: p.Sets.Permitted, Effective: p.Sets.Effective, Inheritable: p.Sets.Inheritable,
		Ambient: p.Sets.Ambient, Bounding: p.Sets.Bounding, UIDs: [3]uint32{p.UID, p.EUID, p.SUID}}
	r := &Result{Config: path, Expected: pr, Differences: proftpd.Compare(pr, obs)}
	if len(r.Differences) == 0 {
		return r
	}
	r.Reasons = append(r.Reasons, r.Differences...)
	r.Reasons = append(r.Reasons, fmt.Sprintf("%s predicts this for user %s (uid %d) under master PID %d; proftpd reads its configuration at start and on SIGHUP, so the master runs with another configuration than this file says (changed since, or another file)",
		path, p.FTPUser, p.EUID, master.PID))
	for _, why := range pr.Reasons {
		r.Reasons = append(r.Reasons, "predicted because: "+why)
	}
	return r
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

// SessionAddr is the local address of a session's control connection
// (it selects the <VirtualHost>), or "" when it cannot be read.
func SessionAddr(root string, pid int) string {
	fds, err := os.ReadDir(filepath.Join(root, strconv.Itoa(pid), "fd"))
	if err != nil {
		return ""
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(root, strconv.Itoa(pid), "fd", fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	for _, file := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "net", file))
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
