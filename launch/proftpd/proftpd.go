// Package proftpd runs a throwaway proftpd: it writes a configuration and
// a virtual user into a private temporary folder, starts proftpd in the
// foreground on a free loopback port, logs in with a small FTP client,
// reads the session process's /proc status, then stops the server and
// removes every file, also when the run fails or is cancelled.
//
// It is part of launch/, the only code in captune that changes the
// system. It needs root (proftpd switches to the login user only when
// started as root) and never creates or changes a system account: the
// login user lives in the run's own AuthUserFile.
package proftpd

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"captune/capset/modcap"
	"captune/launch"
	"captune/procscan"
	"captune/safefile"
)

// ErrNotInstalled reports that there is no proftpd binary to run.
var ErrNotInstalled = errors.New("proftpd is not installed (install it with: apt-get install proftpd-core)")

// ErrNotRoot reports that captune does not run as root: proftpd switches
// to the login user only when it is started as root.
var ErrNotRoot = errors.New("running proftpd needs root: it switches to the login user only when started as root (run captune with sudo)")

// ErrBadUser reports a login name the AuthUserFile cannot hold.
var ErrBadUser = errors.New("bad user name")

// ConfigError is a configuration proftpd refuses to start with.
type ConfigError struct {
	// Message is proftpd's fatal line(s), e.g. "fatal: CapabilitiesSet:
	// unknown capability: 'CAP_NET_RAW' on line 23 of '/tmp/...'".
	Message string
}

func (e *ConfigError) Error() string { return "proftpd rejects the configuration: " + e.Message }

// ErrIncomplete reports a run of proftpd (-t, -l, -v) that did not finish:
// killed by a signal or still running at its deadline. It says nothing
// about the configuration.
var ErrIncomplete = errors.New("did not finish")

// stepTimeout bounds proftpd -l and -v; checkTimeout bounds proftpd -t.
const (
	stepTimeout  = 15 * time.Second
	checkTimeout = 30 * time.Second
)

// runStep runs proftpd with args, bounded by timeout and ctx: on either,
// proftpd is killed, and its output pipes are given up 2 s later even if
// something it started still holds them. combined sends standard error
// to the output too.
func runStep(ctx context.Context, timeout time.Duration, bin string, combined bool, args ...string) ([]byte, error) {
	return runStepDir(ctx, timeout, "", bin, combined, args...)
}

// runStepIn runs proftpd in dir with standard error in the output.
func runStepIn(ctx context.Context, timeout time.Duration, dir, bin string, args ...string) ([]byte, error) {
	return runStepDir(ctx, timeout, dir, bin, true, args...)
}

func runStepDir(ctx context.Context, timeout time.Duration, dir, bin string, combined bool, args ...string) ([]byte, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	buf := &capBuffer{max: 1 << 20}
	cmd.Stdout = buf
	if combined {
		cmd.Stderr = buf
	}
	err := cmd.Run()
	out := []byte(buf.String())
	name := "proftpd " + strings.Join(args, " ")
	if err == nil {
		return out, nil
	}
	if parent.Err() != nil {
		return out, fmt.Errorf("%s: %w", name, parent.Err())
	}
	if ctx.Err() != nil {
		return out, fmt.Errorf("%s %w within %s (killed)", name, ErrIncomplete, timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return out, fmt.Errorf("%s %w: it was killed by %s", name, ErrIncomplete, signalName(ws.Signal()))
		}
		return out, ee
	}
	return out, fmt.Errorf("%s: %v", name, err)
}

// DefaultUser is the login name when Spec.User is empty.
const DefaultUser = "captune"

// VirtualID is the uid and gid of a login user unknown to this machine.
const VirtualID = 64123

// Spec says what to run: either the directives under test with a server
// of captune's own (Directives), or a whole configuration file (Config).
type Spec struct {
	// Bin is the proftpd binary; empty finds proftpd in PATH (and
	// /usr/sbin, where Debian puts it).
	Bin string
	// Directives are the lines under test, written after the server's own
	// (see TokenDirectives). Empty runs proftpd's defaults.
	Directives string
	// Config, when set, is the whole configuration to run (read with
	// modcap.ReadFile): it runs with only the changes a throwaway run
	// must make (Server.Changes lists them). Directives must then be
	// empty.
	Config *modcap.Config
	// Tokens are a "what if" for Config: they become every server's
	// first CapabilitiesSet.
	Tokens []modcap.Token
	// Connect is the address the client connects to, "ADDR[:PORT]"
	// (default: the main server's address and port); Client the
	// client's own address (default loopback); Hosts the names sent
	// with HOST before USER. They apply to Config runs.
	Connect, Client string
	Hosts           []string
	// User is the login name (default DefaultUser). With Directives, a
	// name this machine knows keeps its uid, gid and groups and any
	// other gets VirtualID; with Config, the user is whoever the file's
	// user databases find (its AuthUserFile, then this machine's), and a
	// name known nowhere is a virtual user.
	User string
	// ProcRoot is the proc mount (default /proc).
	ProcRoot string
	// TempDir is where the run's folder is made (default os.TempDir()).
	TempDir string
	// StartTimeout bounds the wait for proftpd to listen (default 15 s).
	StartTimeout time.Duration
}

// Account is the login user written into the run's AuthUserFile.
type Account struct {
	Name     string
	UID, GID uint32
	// Groups are the group names, primary first, as proftpd gives them
	// to the session.
	Groups []string
	// System is set when the name is a user of this machine (its ids are
	// used; the account itself is not touched).
	System bool
	// Source says where the account comes from ("a virtual user, uid
	// 64123", "this machine's account, uid 1000", "uid 1005 in
	// /etc/proftpd/ftpd.passwd").
	Source string
	// Home is the login's home folder.
	Home     string
	password string
}

// Server is a running throwaway proftpd.
type Server struct {
	// Bin is the binary; Version its version ("1.3.8").
	Bin, Version string
	// Modules are the modules compiled into Bin (proftpd -l).
	Modules []string
	// Dir is the run's folder, a private folder of captune's
	// (launch.MakeFolder): Stop removes it, or captune's janitor should
	// captune die.
	Dir string
	// ConfigPath is the configuration file; Config its whole text.
	ConfigPath, Config string
	// Source is the user's configuration file of a Config run ("" for
	// Directives).
	Source string
	// Changes are what a Config run changed in the file; Notes other
	// facts about the run worth saying.
	Changes []Change
	Notes   []string
	// Port is the port the client connects to; Target the whole address
	// and Client the client's own address. The server runs in a private
	// network namespace: they are addresses there.
	Port   int
	Target netip.AddrPort
	Client netip.Addr
	// Hosts are the names sent with HOST before USER.
	Hosts []string
	// NetAddrs are the addresses the run added to the namespace's lo.
	NetAddrs []netip.Addr
	Account  Account
	// PID is the master process.
	PID int

	procRoot string
	// sys is what a whole-file run read of this machine (users, hosts,
	// /etc/ftpusers): the prediction judges the login with it.
	sys *system
	// authFiles are the run's user and group files (path -> content).
	authFiles map[string]string
	pidFile   string
	logs      []string
	origin    []modcap.Pos
	changed   []bool
	cmd       *exec.Cmd
	done      chan struct{}
	out       *capBuffer
	group     bool
	guarded   bool
	nsfd      int
	folder    launch.Folder
	stopOnce  sync.Once
	stopErr   error
}

var userName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$`)

// FindBinary resolves the proftpd binary: bin when given, else proftpd in
// PATH or /usr/sbin. The error wraps ErrNotInstalled.
func FindBinary(bin string) (string, error) {
	if bin != "" {
		p, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %v", ErrNotInstalled, bin, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("proftpd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/proftpd", "/usr/local/sbin/proftpd"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// Version runs proftpd -v and returns the version number ("1.3.8").
func Version(bin string) (string, error) { return VersionContext(context.Background(), bin) }

// VersionContext is Version, stopped when ctx is done.
func VersionContext(ctx context.Context, bin string) (string, error) {
	out, err := runStep(ctx, stepTimeout, bin, true, "-v")
	if err != nil {
		return "", fmt.Errorf("%s -v: %w", bin, err)
	}
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndex(s, "Version "); i >= 0 {
		s = strings.TrimSpace(s[i+len("Version "):])
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s, nil
}

// Modules runs proftpd -l and returns the compiled-in modules.
func Modules(bin string) ([]string, error) { return ModulesContext(context.Background(), bin) }

// ModulesContext is Modules, stopped when ctx is done.
func ModulesContext(ctx context.Context, bin string) ([]string, error) {
	out, err := runStep(ctx, stepTimeout, bin, false, "-l")
	if err != nil {
		return nil, fmt.Errorf("%s -l: %w", bin, err)
	}
	var mods []string
	for _, ln := range strings.Split(string(out), "\n") {
		ln = strings.TrimSpace(ln)
		if strings.HasPrefix(ln, "mod_") && strings.HasSuffix(ln, ".c") {
			mods = append(mods, ln)
		}
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("%s -l listed no modules", bin)
	}
	return mods, nil
}

// Check runs proftpd -t on a configuration file (at most 30 s, and no
// longer than ctx). It returns a *ConfigError carrying proftpd's fatal
// lines when proftpd refuses the configuration; an error wrapping
// ErrIncomplete when proftpd -t was killed or ran out of time, which
// judges nothing; context.Canceled when ctx was cancelled.
func Check(ctx context.Context, bin, path string) error {
	out, err := runStepIn(ctx, checkTimeout, filepath.Dir(path), bin, "-t", "-c", path)
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	return &ConfigError{Message: fatalLines(string(out))}
}

// fatalLines keeps proftpd's "fatal: ..." messages without the timestamp
// and host prefix; all the output when there is none.
func fatalLines(out string) string {
	var fatal []string
	for _, ln := range strings.Split(out, "\n") {
		i := strings.Index(ln, "fatal: ")
		if i < 0 {
			continue
		}
		msg := strings.TrimSpace(ln[i:])
		if strings.HasPrefix(msg, "fatal: Did you mean") || strings.HasPrefix(msg, "fatal: malformed directive name") {
			continue
		}
		fatal = append(fatal, msg)
	}
	if len(fatal) == 0 {
		return strings.TrimSpace(out)
	}
	return strings.Join(fatal, " | ")
}

// NewAccount describes the login user: a name this machine knows keeps its
// uid, gid and group names; any other gets VirtualID.
func NewAccount(name string) (Account, error) {
	if name == "" {
		name = DefaultUser
	}
	if !userName.MatchString(name) {
		return Account{}, fmt.Errorf("%w %q: use letters, digits, '_', '.' and '-' (up to 32)", ErrBadUser, name)
	}
	a := Account{Name: name, UID: VirtualID, GID: VirtualID}
	u, err := user.Lookup(name)
	if err != nil {
		a.Groups = []string{name}
		return a, nil
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		a.Groups = []string{name}
		return a, nil
	}
	a.UID, a.GID, a.System = uint32(uid), uint32(gid), true
	primary := name
	if g, err := user.LookupGroupId(u.Gid); err == nil {
		primary = g.Name
	}
	a.Groups = []string{primary}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if id == u.Gid {
				continue
			}
			if g, err := user.LookupGroupId(id); err == nil && userName.MatchString(g.Name) {
				a.Groups = append(a.Groups, g.Name)
			}
		}
	}
	return a, nil
}

// groupFile lists the account's groups for AuthGroupFile: the primary
// group with its gid, the others with theirs (a machine's numbers).
func (a Account) groupFile() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:x:%d:%s\n", a.Groups[0], a.GID, a.Name)
	for _, g := range a.Groups[1:] {
		gr, err := user.LookupGroup(g)
		if err != nil || gr.Gid == strconv.Itoa(int(a.GID)) {
			continue
		}
		fmt.Fprintf(&b, "%s:x:%s:%s\n", g, gr.Gid, a.Name)
	}
	return b.String()
}

// basePort is the port of captune's own server in its private network.
const basePort = 21

// Start writes the run's folder and starts proftpd -n on it in a private
// network namespace, returning once the server listens. On any error
// nothing is left behind.
func Start(ctx context.Context, spec Spec) (*Server, error) {
	bin, err := FindBinary(spec.Bin)
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if spec.Config != nil && spec.Directives != "" {
		return nil, errors.New("proftpd.Start: Directives and Config are exclusive")
	}
	s := &Server{Bin: bin, procRoot: spec.ProcRoot, nsfd: -1, Hosts: spec.Hosts}
	if s.procRoot == "" {
		s.procRoot = "/proc"
	}
	if spec.Config == nil {
		if s.Account, err = NewAccount(spec.User); err != nil {
			return nil, err
		}
	} else if u := spec.User; u != "" && !userName.MatchString(u) {
		return nil, fmt.Errorf("%w %q: use letters, digits, '_', '.' and '-' (up to 32)", ErrBadUser, u)
	}
	if s.Version, err = VersionContext(ctx, bin); err != nil {
		return nil, err
	}
	if s.Modules, err = ModulesContext(ctx, bin); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	uid, gid := s.Account.UID, s.Account.GID
	if spec.Config != nil {
		uid, gid = 0, 0
	}
	if err := s.makeFolder(spec.TempDir, uid, gid); err != nil {
		return nil, err
	}
	private := filepath.Join(s.Dir, "private")
	if spec.Config == nil {
		if err := s.writeBase(private, spec.Directives); err != nil {
			return nil, err
		}
	} else if err := s.writeWhole(private, spec); err != nil {
		return nil, err
	}
	if err := writeNew(s.ConfigPath, s.Config); err != nil {
		return nil, err
	}
	if err := Check(ctx, bin, s.ConfigPath); err != nil {
		return nil, s.mapConfigError(err)
	}
	timeout := spec.StartTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	if err := s.run(ctx, timeout); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// writeBase writes captune's own server with the directives under test
// and its virtual or system user.
func (s *Server) writeBase(private, directives string) error {
	s.Account.Home = filepath.Join(s.Dir, "home")
	s.Account.password = randomText(12)
	hash, err := sha512Crypt(s.Account.password, randomText(8))
	if err != nil {
		return err
	}
	a := s.Account
	passwd := fmt.Sprintf("%s:%s:%d:%d::%s:/bin/false\n", a.Name, hash, a.UID, a.GID, a.Home)
	if err := writeNew(filepath.Join(private, "passwd"), passwd); err != nil {
		return err
	}
	if err := writeNew(filepath.Join(private, "group"), a.groupFile()); err != nil {
		return err
	}
	group := "nogroup"
	if _, err := user.LookupGroup(group); err != nil {
		group = "nobody"
	}
	s.Port = basePort
	s.Target = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), basePort)
	s.Client = s.Target.Addr()
	s.pidFile = filepath.Join(private, "proftpd.pid")
	s.Config = baseConfig(private, basePort, group) + directives
	return nil
}

// writeWhole plans a run of the user's whole file and writes its private
// files.
func (s *Server) writeWhole(private string, spec Spec) error {
	owner := uint32(0)
	if st, err := os.Stat(spec.Config.Path); err == nil {
		if o, ok := safefile.Owner(st); ok {
			owner = o
		}
	}
	sys, err := loadSystem(owner)
	if err != nil {
		return err
	}
	pw := randomText(12)
	hash, err := sha512Crypt(pw, randomText(8))
	if err != nil {
		return err
	}
	home := filepath.Join(s.Dir, "home")
	p, err := makePlan(planInput{cfg: spec.Config, private: private, home: home, user: spec.User, hash: hash,
		tokens: spec.Tokens, connect: spec.Connect, client: spec.Client, hosts: spec.Hosts, modules: s.Modules, sys: sys})
	if err != nil {
		return err
	}
	for path, content := range p.files {
		if err := writeNew(path, content); err != nil {
			return err
		}
	}
	s.Source, s.sys, s.authFiles = spec.Config.Path, sys, p.authFiles
	s.Account = p.account
	s.Account.password = pw
	s.Changes, s.Notes = p.changes, p.notes
	s.Target, s.Client, s.Port, s.NetAddrs = p.target, p.client, int(p.target.Port()), p.addrs
	s.pidFile, s.logs = p.pidFile, p.logs
	s.origin, s.changed = p.origin, p.changed
	s.Config = p.text
	if !reachable(home, s.Account.UID, s.Account.GID) && s.Account.Home == home {
		return fmt.Errorf("the login's home would be unreachable for uid %d under %s: give a temporary folder others may pass through (TMPDIR)", s.Account.UID, home)
	}
	if len(filepath.Join(private, "proftpd.sock")) > 100 {
		return fmt.Errorf("the run's folder %s is too deep for a control socket: give a shorter TMPDIR", private)
	}
	return nil
}

var fatalLine = regexp.MustCompile(`on line (\d+) of '([^']*)'`)

// mapConfigError turns proftpd's "on line N of 'RUN.conf'" into the user's
// file and line for a Config run. An error on a line captune changed or
// added is an UnfaithfulError: the run, not the file, is at fault.
func (s *Server) mapConfigError(err error) error {
	var ce *ConfigError
	if s.origin == nil || !errors.As(err, &ce) {
		return err
	}
	ours := false
	msg := fatalLine.ReplaceAllStringFunc(ce.Message, func(m string) string {
		sub := fatalLine.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sub[1])
		if sub[2] != s.ConfigPath || n < 1 || n > len(s.origin) {
			return m
		}
		if s.changed[n-1] {
			ours = true
		}
		if pos := s.origin[n-1]; pos.Line > 0 {
			return fmt.Sprintf("on line %d of '%s'", pos.Line, pos.File)
		}
		return fmt.Sprintf("on a line captune added (line %d of the run's copy)", n)
	})
	if ours {
		return &UnfaithfulError{Why: "proftpd refuses the run's changed configuration: " + msg}
	}
	return &ConfigError{Message: msg}
}

// makeFolder makes the run's folder, a private folder of captune's in
// the private place under parent (launch.MakeFolder: root's, 0711, so the
// login user may pass through and nobody may list or change it):
// DIR/private (0700: configuration, users, pid and scoreboard) and
// DIR/home (0755: a virtual login's home). The place is under a parent
// every uid may pass through (else /tmp), since proftpd refuses a login
// whose home the user cannot reach.
func (s *Server) makeFolder(parent string, uid, gid uint32) error {
	f, dir, err := launch.MakeFolder(parent, "verify")
	if err != nil {
		return err
	}
	defer dir.Close()
	s.folder, s.Dir = f, f.Path
	if !reachable(s.Dir, uid, gid) {
		return fmt.Errorf("the login's home would be unreachable for uid %d under %s: give a temporary folder others may pass through (TMPDIR)", uid, s.Dir)
	}
	private := filepath.Join(s.Dir, "private")
	s.ConfigPath = filepath.Join(private, "proftpd.conf")
	if err := os.Mkdir(private, 0o700); err != nil {
		return err
	}
	home := filepath.Join(s.Dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		return err
	}
	return os.Chmod(home, 0o755)
}

// writeNew creates a 0600 file that must not exist yet (never through a
// symbolic link).
func writeNew(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// reachable reports whether uid (primary group gid) may pass through
// every folder from / down to dir.
func reachable(dir string, uid, gid uint32) bool {
	if uid == 0 {
		return true
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for p := abs; ; p = filepath.Dir(p) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return false
		}
		m := st.Mode
		ok := m&0o001 != 0 || (st.Uid == uid && m&0o100 != 0) || (st.Gid == gid && m&0o010 != 0)
		if !ok {
			return false
		}
		if p == "/" {
			return true
		}
	}
}

// randomText returns n characters of the crypt alphabet.
func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = cryptAlphabet[int(b[i])%len(cryptAlphabet)]
	}
	return string(b)
}

// readyQuiet is how long the master's listening sockets must stay as
// they are, once it wrote its PidFile, before the run counts it as
// started when none of them takes the target: proftpd writes the PidFile
// after binding and listens on every socket in one pass right after.
const readyQuiet = 300 * time.Millisecond

// run starts proftpd -n in a private network namespace and waits until
// it listens.
func (s *Server) run(ctx context.Context, timeout time.Duration) error {
	s.out = &capBuffer{max: 256 << 10}
	s.done = make(chan struct{})
	cmd := exec.Command(s.Bin, "-n", "-c", s.ConfigPath)
	cmd.Dir = filepath.Join(s.Dir, "private")
	cmd.Stdout, cmd.Stderr = s.out, s.out
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	// Its own process group, so a terminal's ^C reaches captune (which
	// stops the server and cleans up) and Stop can signal the sessions
	// too; SIGTERM if captune dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	started := make(chan error, 1)
	done := s.done
	addrs := s.NetAddrs
	go func() {
		// The thread enters the run's network namespace and starts
		// proftpd there (Pdeathsig also follows this thread). It is never
		// unlocked: it ends with this goroutine, once proftpd has exited,
		// so no other goroutine ever runs in the namespace.
		runtime.LockOSThread()
		defer close(done)
		nsfd, err := enterNewNetNS(addrs)
		if err != nil {
			started <- err
			return
		}
		s.nsfd = nsfd
		err = cmd.Start()
		started <- err
		if err == nil {
			_ = cmd.Wait()
		}
	}()
	if err := <-started; err != nil {
		<-done
		if errors.Is(err, ErrNoNetNS) {
			return err
		}
		return fmt.Errorf("starting %s: %v", s.Bin, err)
	}
	s.cmd, s.PID, s.group = cmd, cmd.Process.Pid, true
	// The janitor kills the whole group (master and sessions) should
	// captune die; Pdeathsig alone misses the sessions.
	if err := launch.GuardGroup(s.PID); err == nil {
		s.guarded = true
	} else {
		select {
		case <-s.done:
		case <-time.After(2 * time.Second):
			return err
		}
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last []netip.AddrPort
	var since time.Time
	for {
		if s.pidWritten() {
			l := Listeners(s.procRoot, s.PID)
			if slices.ContainsFunc(l, s.takes) {
				return nil
			}
			if since.IsZero() || !slices.Equal(l, last) {
				last, since = l, time.Now()
			} else if time.Since(since) >= readyQuiet {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			msg := fatalLines(s.Output())
			if msg == "" {
				msg = "no output"
			}
			err := fmt.Errorf("proftpd exited at start (%s): %s", s.cmd.ProcessState, msg)
			if s.origin != nil {
				err = fmt.Errorf("%w (the run has a private network: names resolve through /etc/hosts only, without DNS)", s.mapConfigError(&ConfigError{Message: msg}))
			}
			return err
		case <-deadline.C:
			return fmt.Errorf("proftpd did not start listening within %s: %s", timeout, fatalLines(s.Output()))
		case <-tick.C:
		}
	}
}

// takes reports whether a listening socket accepts connections to the
// target: its address or a wildcard, on the target's port.
func (s *Server) takes(l netip.AddrPort) bool {
	return l.Port() == s.Target.Port() && (l.Addr() == s.Target.Addr() || l.Addr().IsUnspecified())
}

// pidWritten reports whether the master has written its PidFile.
func (s *Server) pidWritten() bool {
	b, err := safefile.ReadFile(s.pidFile, safefile.Rules{Max: 64, NoFollow: true, Owners: []uint32{0}})
	return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(s.PID)
}

// Output is what proftpd wrote so far (its log goes to standard error).
func (s *Server) Output() string {
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// Master reads the master process.
func (s *Server) Master() (procscan.Process, error) {
	sc, err := procscan.New(s.procRoot)
	if err != nil {
		return procscan.Process{}, err
	}
	return sc.Process(s.PID)
}

// Stop ends the server and every session (SIGTERM to the process group,
// SIGKILL after 5 s) and removes the run's folder. It may be called more
// than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.kill()
		if s.nsfd >= 0 {
			unix.Close(s.nsfd)
			s.nsfd = -1
		}
		s.stopErr = s.folder.Dispose()
	})
	return s.stopErr
}

// kill ends the master and its sessions and waits for the master.
func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
	default:
		s.signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.signal(syscall.SIGKILL)
			<-s.done
		}
	}
	// Sessions that outlived their master (they serve their client) go
	// too.
	killLeftovers(s.procRoot, s.PID)
	if s.guarded {
		launch.ReleaseGroup(s.PID)
		s.guarded = false
	}
	s.cmd = nil
}

// signal signals the master's process group (the master and its
// sessions), or the master alone.
func (s *Server) signal(sig syscall.Signal) {
	if s.group {
		if err := syscall.Kill(-s.PID, sig); err == nil {
			return
		}
	}
	_ = s.cmd.Process.Signal(sig)
}

// capBuffer keeps the first max bytes written to it.
type capBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *capBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// signalName names a signal ("SIGKILL").
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return sig.String()
}

// killLeftovers kills what is left of the process group pgid (a reaped
// master's sessions) within captune's own session. The group's number
// stays in use while a member lives, so no stranger is hit.
func killLeftovers(procRoot string, pgid int) {
	sid, err := unix.Getsid(0)
	if err != nil {
		return
	}
	ents, _ := os.ReadDir(procRoot)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "stat"))
		if err != nil {
			continue
		}
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(st[i+1:])
		if len(f) > 3 && f[2] == strconv.Itoa(pgid) && f[3] == strconv.Itoa(sid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
