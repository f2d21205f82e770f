package proftpd

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"captune/capset/modcap"
	"captune/safefile"
)

// pwEntry is one line of a passwd file (this machine's /etc/passwd or an
// AuthUserFile), split as mod_auth_file's af_parse_passwd splits it.
type pwEntry struct {
	Name, Passwd string
	UID, GID     uint32
	Gecos        string
	Home, Shell  string
}

// line prints the entry as a passwd line.
func (e pwEntry) line() string {
	return fmt.Sprintf("%s:%s:%d:%d:%s:%s:%s", e.Name, e.Passwd, e.UID, e.GID, e.Gecos, e.Home, e.Shell)
}

// parsePwLine parses one passwd line; ok is false for blank, comment and
// malformed lines (which proftpd skips).
func parsePwLine(s string) (pwEntry, bool) {
	if s == "" || s[0] == '#' {
		return pwEntry{}, false
	}
	f := strings.SplitN(s, ":", 7)
	if len(f) != 7 || f[0] == "" {
		return pwEntry{}, false
	}
	uid, err1 := strconv.ParseUint(f[2], 10, 32)
	gid, err2 := strconv.ParseUint(f[3], 10, 32)
	if err1 != nil || err2 != nil {
		return pwEntry{}, false
	}
	return pwEntry{Name: f[0], Passwd: f[1], UID: uint32(uid), GID: uint32(gid), Gecos: f[4], Home: f[5], Shell: f[6]}, true
}

// grEntry is one line of a group file.
type grEntry struct {
	Name    string
	GID     uint32
	Members []string
}

func (g grEntry) line() string {
	return fmt.Sprintf("%s:x:%d:%s", g.Name, g.GID, strings.Join(g.Members, ","))
}

func parseGrLine(s string) (grEntry, bool) {
	if s == "" || s[0] == '#' {
		return grEntry{}, false
	}
	f := strings.SplitN(s, ":", 4)
	if len(f) != 4 || f[0] == "" {
		return grEntry{}, false
	}
	gid, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil {
		return grEntry{}, false
	}
	g := grEntry{Name: f[0], GID: uint32(gid)}
	for _, m := range strings.Split(f[3], ",") {
		if m = strings.TrimSpace(m); m != "" {
			g.Members = append(g.Members, m)
		}
	}
	return g, true
}

func splitFileLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// system is what a whole-file run needs to know about this machine: its
// user and group databases (as mod_auth_unix sees them through files),
// /etc/hosts, /etc/shells, and the configuration's own user files. Tests
// fill it by hand.
type system struct {
	passwd   []pwEntry
	group    []grEntry
	hosts    map[string][]netip.Addr
	shells   []string
	hostname string
	// ftpusers are the lines of /etc/ftpusers (nil when it could not be
	// read; empty when there is none, and proftpd then refuses nobody).
	ftpusers []string
	// readAuthFile reads an AuthUserFile (user set) or AuthGroupFile the
	// way proftpd accepts it at parse time, refusing what it refuses.
	readAuthFile func(path string, user, insecure bool) ([]byte, error)
	// isDir reports whether path is a folder (a home that exists).
	isDir func(path string) bool
}

func (s *system) user(name string) (pwEntry, bool) {
	for _, e := range s.passwd {
		if e.Name == name {
			return e, true
		}
	}
	return pwEntry{}, false
}

func (s *system) groupName(gid uint32) (string, bool) {
	for _, g := range s.group {
		if g.GID == gid {
			return g.Name, true
		}
	}
	return "", false
}

// groupsOf lists a system user's groups as getgrouplist does: the
// primary group first, then every group that lists the user.
func (s *system) groupsOf(e pwEntry) []grEntry {
	var out []grEntry
	seen := map[uint32]bool{}
	if name, ok := s.groupName(e.GID); ok {
		out = append(out, grEntry{Name: name, GID: e.GID})
	} else {
		out = append(out, grEntry{Name: strconv.Itoa(int(e.GID)), GID: e.GID})
	}
	seen[e.GID] = true
	for _, g := range s.group {
		if seen[g.GID] {
			continue
		}
		for _, m := range g.Members {
			if m == e.Name {
				out = append(out, grEntry{Name: g.Name, GID: g.GID})
				seen[g.GID] = true
				break
			}
		}
	}
	return out
}

// lookupHost resolves a name through /etc/hosts only (the throwaway's
// network has no DNS), or parses an address.
func (s *system) lookupHost(name string) []netip.Addr {
	if a, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return []netip.Addr{a.Unmap()}
	}
	return s.hosts[strings.ToLower(name)]
}

// maxSystemFile bounds /etc/passwd, /etc/group, /etc/hosts and the
// configuration's user files.
const maxSystemFile = 4 << 20

// loadSystem reads this machine's files (root's, regular, without
// blocking). configOwner is the uid owning the configuration file: its
// AuthUserFile and AuthGroupFile may belong to root or to that uid.
func loadSystem(configOwner uint32) (*system, error) {
	root := safefile.Rules{Max: maxSystemFile, Owners: []uint32{0}}
	s := &system{hosts: map[string][]netip.Addr{}}
	if b, err := safefile.ReadFile("/etc/passwd", root); err == nil {
		for _, l := range splitFileLines(b) {
			if e, ok := parsePwLine(l); ok {
				s.passwd = append(s.passwd, e)
			}
		}
	} else {
		return nil, fmt.Errorf("reading this machine's users: %v", err)
	}
	if b, err := safefile.ReadFile("/etc/group", root); err == nil {
		for _, l := range splitFileLines(b) {
			if g, ok := parseGrLine(l); ok {
				s.group = append(s.group, g)
			}
		}
	}
	if b, err := safefile.ReadFile("/etc/hosts", root); err == nil {
		for _, l := range splitFileLines(b) {
			if i := strings.IndexByte(l, '#'); i >= 0 {
				l = l[:i]
			}
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			a, err := netip.ParseAddr(f[0])
			if err != nil {
				continue
			}
			for _, n := range f[1:] {
				n = strings.ToLower(n)
				s.hosts[n] = append(s.hosts[n], a.Unmap())
			}
		}
	}
	if b, err := safefile.ReadFile("/etc/shells", root); err == nil {
		for _, l := range splitFileLines(b) {
			if l = strings.TrimSpace(l); l != "" && l[0] == '/' {
				s.shells = append(s.shells, l)
			}
		}
	}
	switch b, err := safefile.ReadFile("/etc/ftpusers", root); {
	case err == nil:
		s.ftpusers = modcap.ParseFTPUsers(string(b))
	case errors.Is(err, fs.ErrNotExist):
		s.ftpusers = []string{}
	}
	s.hostname, _ = os.Hostname()
	owners := []uint32{0, configOwner}
	s.readAuthFile = func(path string, user, insecure bool) ([]byte, error) {
		return readAuthFile(path, user, insecure, owners)
	}
	s.isDir = func(path string) bool {
		fi, err := os.Stat(path)
		return err == nil && fi.IsDir()
	}
	return s, nil
}

// errAuthFile is a user or group file proftpd would refuse at parse time;
// its text is proftpd's reason ("Operation not permitted").
type errAuthFile struct{ reason string }

func (e *errAuthFile) Error() string { return e.reason }

// readAuthFile checks a user or group file as mod_auth_file's
// af_check_file does when the directive is parsed (it must exist, not be
// a folder, not be world-writable, nor world-readable for a user file, in
// a folder that is not world-writable), then reads it as captune reads
// any file another user may have named: a regular file of an allowed
// owner, opened without blocking, bounded. insecure is AuthFileOptions
// InsecurePerms, which skips proftpd's permission checks.
func readAuthFile(path string, user, insecure bool, owners []uint32) ([]byte, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nil, &errAuthFile{strerrorOf(err)}
	}
	if insecure {
		return safefile.ReadFile(path, safefile.Rules{Max: maxSystemFile, Owners: owners})
	}
	mode := fs.FileMode(st.Mode & 0o777)
	switch {
	case st.Mode&syscall.S_IFMT == syscall.S_IFDIR:
		return nil, &errAuthFile{strerrorOf(syscall.EISDIR)}
	case user && mode&0o004 != 0, mode&0o002 != 0:
		return nil, &errAuthFile{strerrorOf(syscall.EPERM)}
	}
	var pst syscall.Stat_t
	if err := syscall.Stat(filepath.Dir(path), &pst); err == nil && pst.Mode&0o002 != 0 {
		return nil, &errAuthFile{strerrorOf(syscall.EPERM)}
	}
	return safefile.ReadFile(path, safefile.Rules{Max: maxSystemFile, Owners: owners})
}

// strerrorOf is the C library's text for an errno ("No such file or
// directory"), as proftpd prints it.
func strerrorOf(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		s := en.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}

// judge gives a prediction what the run's proftpd consults: the run's
// user and group files (authFiles, path -> content) and this machine's
// accounts, /etc/ftpusers and /etc/shells (which the run does not
// change), whether an <Anonymous> folder exists, and names as the run's
// private network resolves them (/etc/hosts only), the host name's
// addresses included.
func (s *system) judge(in *modcap.Input, authFiles map[string]string) {
	in.Users = &modcap.Users{FTPUsers: s.ftpusers, Shells: s.shells, DirExists: func(path string) (bool, bool) {
		if s.isDir == nil {
			return false, false
		}
		return s.isDir(path), true
	}}
	in.Users.Files = map[string]modcap.AuthFile{}
	for path, text := range authFiles {
		in.Users.Files[path] = modcap.AuthFile{Text: text}
	}
	sys := &modcap.Table{}
	for _, e := range s.passwd {
		sys.Accounts = append(sys.Accounts, modcap.Account{Name: e.Name, UID: e.UID, GID: e.GID, Home: e.Home, Shell: e.Shell})
	}
	for _, g := range s.group {
		sys.Groups = append(sys.Groups, modcap.GroupEntry{Name: g.Name, GID: g.GID, Members: g.Members})
	}
	in.Users.System = sys
	hosts := modcap.Hosts{}
	for name, addrs := range s.hosts {
		for _, a := range addrs {
			hosts[name] = append(hosts[name], a.String())
		}
	}
	in.Resolver = hosts
	for _, a := range s.lookupHost(s.hostname) {
		in.HostAddrs = append(in.HostAddrs, a.String())
	}
}
