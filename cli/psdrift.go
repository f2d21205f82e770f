package cli

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"captune/capset/modcap"
	"captune/launch/proftpd"
	"captune/procscan"
)

// defaultProftpdConfig is where Debian's proftpd reads its configuration.
const defaultProftpdConfig = "/etc/proftpd/proftpd.conf"

// driftJSON is how a logged-in proftpd session differs from what its
// configuration predicts for its user.
type driftJSON struct {
	// Config is the configuration the session was compared with.
	Config   string         `json:"config"`
	Expected verifySetsJSON `json:"expected"`
	Reasons  []string       `json:"reasons"`
}

// driftCheck compares proftpd sessions with a configuration's prediction.
type driftCheck struct {
	env      Env
	root     string
	explicit string // --proftpd-config
	live     bool   // root is this machine's /proc
	byPID    map[int]procscan.Process
	configs  map[string]*modcap.Config
	failed   map[string]bool
	modules  []string
	modsRead bool
}

// psDrift returns the drift of every logged-in proftpd session among
// procs, by PID. Pre-login children are never drift. The configuration is
// --proftpd-config, else the master's own -c argument, else Debian's; the
// defaults apply only to this machine's /proc (a fixture or another
// machine's proc tree needs --proftpd-config). An explicit configuration
// that cannot be read is a usage error; a default one is a warning.
func psDrift(env Env, root, explicit string, all, procs []procscan.Process) (map[int]*driftJSON, error) {
	d := &driftCheck{env: env, root: root, explicit: explicit, live: filepath.Clean(root) == "/proc",
		byPID: map[int]procscan.Process{}, configs: map[string]*modcap.Config{}, failed: map[string]bool{}}
	for _, p := range all {
		d.byPID[p.PID] = p
	}
	out := map[int]*driftJSON{}
	for _, p := range procs {
		if p.Role != procscan.RoleProftpdSession {
			continue
		}
		master, ok := d.byPID[p.PPID]
		if !ok || master.Role != procscan.RoleProftpdMaster {
			continue
		}
		path := d.configFor(master)
		if path == "" {
			continue
		}
		cfg, err := d.read(path)
		if err != nil {
			return nil, err
		}
		if cfg == nil {
			continue
		}
		if dj := d.compare(p, master, path, cfg); dj != nil {
			out[p.PID] = dj
		}
	}
	return out, nil
}

// configFor picks the configuration a master's sessions are compared with.
func (d *driftCheck) configFor(master procscan.Process) string {
	if d.explicit != "" {
		return d.explicit
	}
	if !d.live {
		return ""
	}
	if c := masterConfigArg(master.Cmdline); c != "" {
		return c
	}
	return defaultProftpdConfig
}

// masterConfigArg is the -c argument of a proftpd command line. proftpd
// usually rewrites its command line into its process title ("proftpd:
// (accepting connections)"), and then there is none.
func masterConfigArg(cmdline []string) string {
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

// read reads a configuration once; nil (with a warning) when a default
// configuration cannot be read.
func (d *driftCheck) read(path string) (*modcap.Config, error) {
	if cfg, ok := d.configs[path]; ok {
		return cfg, nil
	}
	if d.failed[path] {
		return nil, nil
	}
	if !d.modsRead {
		d.modsRead = true
		if bin, err := proftpd.FindBinary(""); err == nil {
			d.modules, _ = proftpd.Modules(bin)
		}
	}
	cfg, err := modcap.ReadFile(path, modcap.Options{Modules: d.modules})
	if err != nil {
		if d.explicit != "" {
			return nil, usagef("ps: --proftpd-config: %v", shortConfigErr(path, err))
		}
		d.failed[path] = true
		fmt.Fprintf(d.env.Stderr, "captune: warning: proftpd sessions not checked for drift: %s\n", oneLine(shortConfigErr(path, err).Error()))
		return nil, nil
	}
	d.configs[path] = cfg
	return cfg, nil
}

func shortConfigErr(path string, err error) error {
	if ce, ok := err.(*modcap.Error); ok {
		return ce
	}
	return fmt.Errorf("%s: %v", clip(path), err)
}

// compare predicts the session from the configuration, its user and its
// master, and returns the drift, or nil when the session matches.
func (d *driftCheck) compare(p, master procscan.Process, path string, cfg *modcap.Config) *driftJSON {
	login := modcap.Login{User: p.FTPUser, UID: p.EUID, UIDKnown: true, Addr: sessionAddr(d.root, p.PID)}
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
	diffs := proftpd.Compare(pr, obs)
	if len(diffs) == 0 {
		return nil
	}
	reasons := append([]string{}, diffs...)
	reasons = append(reasons, fmt.Sprintf("%s predicts this for user %s (uid %d) under master PID %d; proftpd reads its configuration at start and on SIGHUP, so the master runs with another configuration than this file says (changed since, or another file)",
		path, p.FTPUser, p.EUID, master.PID))
	for _, r := range pr.Reasons {
		reasons = append(reasons, "predicted because: "+r)
	}
	return &driftJSON{
		Config: path,
		Expected: verifySetsJSON{Refused: pr.Refused, Permitted: pr.Permitted.Hex(), Effective: pr.Effective.Hex(), Inheritable: pr.Inheritable.Hex(),
			Ambient: pr.Ambient.Hex(), Bounding: pr.Bounding.Hex(), UIDs: uidsJSON{pr.UIDs[0], pr.UIDs[1], pr.UIDs[2]}},
		Reasons: reasons,
	}
}

// sessionAddr is the local address of a session's control connection
// (it selects the <VirtualHost>), or "" when it cannot be read.
func sessionAddr(root string, pid int) string {
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
			if ip := procNetIP(f[1]); ip != nil {
				if v4 := ip.To4(); v4 != nil {
					return v4.String()
				}
				return ip.String()
			}
		}
	}
	return ""
}

// procNetIP decodes /proc/net/tcp's "0100007F:0015" address part: each
// 32-bit word in the host's (little-endian) order.
func procNetIP(s string) net.IP {
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

// driftText lists the drifted sessions for people.
func driftText(procs []procscan.Process, drift map[int]*driftJSON) string {
	if len(drift) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\ndrift: %d logged-in proftpd session(s) differ from what their configuration predicts:\n", len(drift))
	for _, p := range procs {
		dj := drift[p.PID]
		if dj == nil {
			continue
		}
		fmt.Fprintf(&b, "  PID %d (ftp user %s, master %d), compared with %s:\n", p.PID, p.FTPUser, p.PPID, dj.Config)
		for _, r := range dj.Reasons {
			if strings.HasPrefix(r, "predicted because: ") {
				continue
			}
			b.WriteString(wrap("- "+r, 78, "    "))
		}
	}
	return b.String()
}
