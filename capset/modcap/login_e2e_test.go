package modcap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"captune/capset"
)

// End-to-end logins: each case starts a real proftpd on loopback ports
// of its own (in its own folder and process group, killed when the test
// ends), logs in, reads the session process's /proc status, and compares
// it with Predict on the same file. Without proftpd or root they are
// skipped, unless CAPTUNE_E2E is set: then that is a failure.

// loginUser is an AuthUserFile user of a case; its password is
// testPassword.
type loginUser struct {
	name     string
	uid, gid uint32
	groups   []string // names, primary first
}

const (
	testPassword = "pw-test"
	// testHash is `openssl passwd -6 -salt captunetest pw-test`.
	testHash = "$6$captunetest$6/n4SxaXHpTLxKo7muMRg7Lwu7ZL2DJtOOZvVOv39VcY5bFIoxM7wJVxAct0eQxWWE3ErTcatjHVME2N97R3r/"
)

// loginCase is one login against a configuration written for it.
type loginCase struct {
	name string
	// conf follows loginBase; @DIR@ is the case's folder, @PORT0@ to
	// @PORT3@ free ports, @AUTH@ the AuthUserFile lines, @VBASE@ what a
	// <VirtualHost> needs to write nothing outside the folder.
	conf  string
	users []loginUser
	// login is the USER name (default alice); password defaults to
	// testPassword.
	login, password string
	// client is the address the client binds (default 127.0.0.1);
	// connect the address and port it connects to (default
	// 127.0.0.1:@PORT0@).
	client, connect string
	hosts           []string
	// mkdir are folders (under @DIR@) to create.
	mkdir []string
}

var alice = loginUser{"alice", 1000, 1000, []string{"alice"}}
var bob = loginUser{"bob", 1001, 1001, []string{"bob"}}

// loginBase keeps a throwaway proftpd inside its folder.
const loginBase = "ServerType standalone\nUseIPv6 off\nUseReverseDNS off\nUser nobody\nGroup nogroup\n" +
	"PidFile @DIR@/proftpd.pid\nScoreboardFile @DIR@/proftpd.scoreboard\nDelayTable none\nWtmpLog off\nTransferLog none\n" +
	"RequireValidShell off\n<IfModule mod_ctrls.c>\n  ControlsEngine off\n</IfModule>\nLoadModule mod_ifsession.c\n"

const loginAuth = "AuthUserFile @DIR@/passwd\nAuthGroupFile @DIR@/group\nAuthOrder mod_auth_file.c\n"

const loginVBase = "TransferLog none\nWtmpLog off\n"

// realLogin is what the real proftpd did.
type realLogin struct {
	refused bool
	stage   string // "connect", "PASS", "after PASS"
	reply   string
	sets    [5]capset.Set // CapPrm, CapEff, CapInh, CapAmb, CapBnd
	uids    [3]uint32
	log     string
}

var loginSem = make(chan struct{}, 4)

// needLogins skips (or with CAPTUNE_E2E fails) without proftpd or root.
func needLogins(t *testing.T) string {
	t.Helper()
	bin := needProftpd(t)
	if os.Geteuid() != 0 {
		if os.Getenv("CAPTUNE_E2E") == "" {
			t.Skip("real logins need root; set CAPTUNE_E2E=1 to make this a failure")
		}
		t.Fatal("CAPTUNE_E2E is set but the tests do not run as root")
	}
	return bin
}

type caseFiles struct {
	dir   string
	conf  string
	text  string
	ports [4]int
	files map[string]AuthFile
}

// freePorts picks loopback ports nothing listens on (>= 20000).
func freePorts(t *testing.T) [4]int {
	var out [4]int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < 4; {
		l, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		p := l.Addr().(*net.TCPAddr).Port
		if p < 20000 {
			continue
		}
		out[i] = p
		i++
	}
	return out
}

func (c loginCase) expand(s, dir string, ports [4]int) string {
	s = strings.ReplaceAll(s, "@AUTH@", loginAuth)
	s = strings.ReplaceAll(s, "@VBASE@", loginVBase)
	s = strings.ReplaceAll(s, "@DIR@", dir)
	for i, p := range ports {
		s = strings.ReplaceAll(s, fmt.Sprintf("@PORT%d@", i), strconv.Itoa(p))
	}
	return s
}

// writeCase writes the case's folder: configuration, users, homes.
func (c loginCase) write(t *testing.T) caseFiles {
	t.Helper()
	dir, err := os.MkdirTemp("", "captune-login-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	users := c.users
	if users == nil {
		users = []loginUser{alice}
	}
	var passwd, group strings.Builder
	type grp struct {
		gid     uint32
		members []string
	}
	groups := map[string]*grp{}
	var order []string
	next := uint32(5000)
	for _, u := range users {
		home := filepath.Join(dir, "home", u.name)
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chown(home, int(u.uid), int(u.gid))
		fmt.Fprintf(&passwd, "%s:%s:%d:%d::%s:/bin/sh\n", u.name, testHash, u.uid, u.gid, home)
		for i, g := range u.groups {
			e, ok := groups[g]
			if !ok {
				e = &grp{gid: 1 << 31}
				groups[g] = e
				order = append(order, g)
			}
			if i == 0 {
				e.gid = u.gid
			}
			e.members = append(e.members, u.name)
		}
	}
	for _, g := range order {
		e := groups[g]
		if e.gid == 1<<31 {
			e.gid = next
			next++
		}
		fmt.Fprintf(&group, "%s:x:%d:%s\n", g, e.gid, strings.Join(e.members, ","))
	}
	writeFile(t, filepath.Join(dir, "passwd"), passwd.String(), 0o600)
	writeFile(t, filepath.Join(dir, "group"), group.String(), 0o644)
	for _, d := range c.mkdir {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ports := freePorts(t)
	text := c.expand(loginBase+c.conf, dir, ports)
	conf := filepath.Join(dir, "proftpd.conf")
	writeFile(t, conf, text, 0o600)
	return caseFiles{dir: dir, conf: conf, text: text, ports: ports, files: map[string]AuthFile{
		filepath.Join(dir, "passwd"): {Text: passwd.String()}, filepath.Join(dir, "group"): {Text: group.String()}}}
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// run starts proftpd on the case's file, logs in once and stops it.
func (c loginCase) run(t *testing.T, bin string, f caseFiles) realLogin {
	t.Helper()
	loginSem <- struct{}{}
	defer func() { <-loginSem }()
	logPath := filepath.Join(f.dir, "proftpd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-n", "-c", f.conf)
	cmd.Dir = f.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		// The sessions are in the same process group; wait until none
		// is left.
		for i := 0; i < 100 && syscall.Kill(-cmd.Process.Pid, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	defer stop()
	addr, port := c.target(f)
	if !waitStartup(logPath, done) {
		b, _ := os.ReadFile(logPath)
		select {
		case <-done:
			// proftpd refused the file and exited.
			return realLogin{refused: true, stage: "start", reply: lastFatal(string(b)), log: string(b)}
		default:
		}
		t.Fatalf("proftpd did not start listening:\n%s", b)
	}
	res := c.dial(t, addr, port, cmd.Process.Pid)
	b, _ := os.ReadFile(logPath)
	res.log = string(b)
	return res
}

func (c loginCase) target(f caseFiles) (string, int) {
	connect := c.connect
	if connect == "" {
		connect = "127.0.0.1:@PORT0@"
	}
	connect = c.expand(connect, f.dir, f.ports)
	i := strings.LastIndexByte(connect, ':')
	p, _ := strconv.Atoi(connect[i+1:])
	return connect[:i], p
}

// waitStartup waits until the master logs "standalone mode STARTUP",
// which proftpd does once every listening socket is bound
// (standalone_main, after init_bindings), or until it exits.
func waitStartup(logPath string, done chan struct{}) bool {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(logPath); strings.Contains(string(b), "standalone mode STARTUP") {
			return true
		}
		select {
		case <-done:
			return false
		default:
		}
		time.Sleep(30 * time.Millisecond)
	}
	return false
}

// ftpConn is a minimal FTP control connection.
type ftpConn struct {
	c net.Conn
	r *bufio.Reader
}

func (f *ftpConn) reply() string {
	var lines []string
	for {
		ln, err := f.r.ReadString('\n')
		ln = strings.TrimRight(ln, "\r\n")
		if ln != "" {
			lines = append(lines, ln)
		}
		if err != nil {
			if len(lines) == 0 {
				return "(connection closed)"
			}
			return strings.Join(lines, "\n")
		}
		if len(ln) >= 4 && ln[3] == ' ' || len(ln) == 3 {
			return strings.Join(lines, "\n")
		}
	}
}

func (f *ftpConn) cmd(line string) string {
	if _, err := f.c.Write([]byte(line + "\r\n")); err != nil {
		return "(connection closed)"
	}
	return f.reply()
}

func (c loginCase) dial(t *testing.T, addr string, port, master int) realLogin {
	t.Helper()
	client := c.client
	if client == "" {
		client = "127.0.0.1"
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(client)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return realLogin{refused: true, stage: "connect", reply: err.Error()}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	f := &ftpConn{c: conn, r: bufio.NewReader(conn)}
	if b := f.reply(); !strings.HasPrefix(b, "220") {
		return realLogin{refused: true, stage: "connect", reply: b}
	}
	for _, h := range c.hosts {
		f.cmd("HOST " + h)
	}
	user := c.login
	if user == "" {
		user = "alice"
	}
	pw := c.password
	if pw == "" {
		pw = testPassword
	}
	f.cmd("USER " + user)
	r := f.cmd("PASS " + pw)
	switch {
	case r == "(connection closed)":
		return realLogin{refused: true, stage: "after PASS", reply: r}
	case !strings.HasPrefix(r, "230"):
		return realLogin{refused: true, stage: "PASS", reply: r}
	}
	if r := f.cmd("NOOP"); !strings.HasPrefix(r, "200") {
		return realLogin{refused: true, stage: "after PASS", reply: r}
	}
	var kids []string
	for i := 0; i < 100; i++ {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", master, master))
		if kids = strings.Fields(string(b)); len(kids) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(kids) != 1 {
		t.Fatalf("expected one session process, found %v", kids)
	}
	st, err := os.ReadFile("/proc/" + kids[0] + "/status")
	if err != nil {
		t.Fatal(err)
	}
	res := realLogin{}
	for _, ln := range strings.Split(string(st), "\n") {
		k, v, _ := strings.Cut(ln, ":")
		v = strings.TrimSpace(v)
		idx := map[string]int{"CapPrm": 0, "CapEff": 1, "CapInh": 2, "CapAmb": 3, "CapBnd": 4}
		if i, ok := idx[k]; ok {
			res.sets[i], _ = capset.ParseHex(v)
		}
		if k == "Uid" {
			fl := strings.Fields(v)
			for i := 0; i < 3 && i < len(fl); i++ {
				n, _ := strconv.ParseUint(fl[i], 10, 32)
				res.uids[i] = uint32(n)
			}
		}
	}
	f.cmd("QUIT")
	return res
}

// netResolver resolves through this machine's resolver (its /etc/hosts
// for the names the tests use).
type netResolver struct{}

func (netResolver) LookupHost(name string) ([]netip.Addr, bool) {
	if a, ok := parseNumericAddr(name); ok {
		return []netip.Addr{a}, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	as, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", name)
	if err != nil || len(as) == 0 {
		return nil, false
	}
	for i := range as {
		as[i] = as[i].Unmap()
	}
	return as, true
}

func (netResolver) LookupAddr(a netip.Addr) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, a.String())
	if err != nil || len(names) == 0 {
		return "", false
	}
	return strings.TrimSuffix(names[0], "."), true
}

var hostAddrsOnce = sync.OnceValue(func() []string {
	h, err := os.Hostname()
	if err != nil {
		return nil
	}
	as, ok := netResolver{}.LookupHost(h)
	if !ok {
		return nil
	}
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
})

// predictCase runs Predict on the case's file with the same login.
func (c loginCase) predict(t *testing.T, f caseFiles, master capset.Set) (Prediction, error) {
	t.Helper()
	cfg, err := ReadString(f.conf, f.text, Options{})
	if err != nil {
		return Prediction{}, err
	}
	addr, port := c.target(f)
	user := c.login
	if user == "" {
		user = "alice"
	}
	// The user data as captune predict reads it: ReadUsers, from the
	// case's files and this machine's.
	users := ReadUsers(cfg, Options{})
	users.DirExists = func(p string) (bool, bool) {
		st, err := os.Stat(p)
		return err == nil && st.IsDir(), true
	}
	return Predict(Input{Config: cfg, Users: users, Resolver: netResolver{}, HostAddrs: hostAddrsOnce(),
		MasterPermitted: master, MasterBounding: master,
		Login: Login{User: user, Client: c.client, Addr: addr, Port: port, Hosts: c.hosts}}), nil
}

// compareLogin lists how a prediction differs from the real login.
func compareLogin(p Prediction, r realLogin) []string {
	switch {
	case r.refused && p.Refused:
		if p.RefusedAt != r.stage {
			return []string{fmt.Sprintf("refused at %s (%s), predicted refused at %s (%s)", r.stage, r.reply, p.RefusedAt, p.Why)}
		}
		return nil
	case r.refused:
		return []string{fmt.Sprintf("refused at %s (%s), predicted a session %s/%s uids %v", r.stage, r.reply, p.Permitted.Hex(), p.Effective.Hex(), p.UIDs)}
	case p.Refused:
		return []string{fmt.Sprintf("logged in (%s/%s uids %v), predicted refused at %s: %s", r.sets[0].Hex(), r.sets[1].Hex(), r.uids, p.RefusedAt, p.Why)}
	}
	var out []string
	pred := [5]capset.Set{p.Permitted, p.Effective, p.Inheritable, p.Ambient, p.Bounding}
	for i, n := range []string{"CapPrm", "CapEff", "CapInh", "CapAmb", "CapBnd"} {
		if pred[i] != r.sets[i] {
			out = append(out, fmt.Sprintf("%s real %s predicted %s", n, r.sets[i].Hex(), pred[i].Hex()))
		}
	}
	if p.UIDs != r.uids {
		out = append(out, fmt.Sprintf("uids real %v predicted %v", r.uids, p.UIDs))
	}
	return out
}

// masterSet is the bounding set a root master started from this test
// holds.
func masterSet(t *testing.T) capset.Set {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(ln, "CapBnd:"); ok {
			s, err := capset.ParseHex(strings.TrimSpace(v))
			if err == nil {
				return s
			}
		}
	}
	t.Fatal("no CapBnd")
	return 0
}

// checkLogins runs every case (in parallel, a few at a time) and fails
// on each difference between the real login and the prediction.
func checkLogins(t *testing.T, cases []loginCase) {
	t.Helper()
	bin := needLogins(t)
	master := masterSet(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := c.write(t)
			res := c.run(t, bin, f)
			// A port another process took between freePorts and the
			// start: try again on fresh ports.
			for i := 0; i < 3 && res.stage == "start" && strings.Contains(res.log, "already in use"); i++ {
				f = c.write(t)
				res = c.run(t, bin, f)
			}
			p, err := c.predict(t, f, master)
			if err != nil && res.refused && res.stage == "start" {
				return // captune's reader refuses it too
			}
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					t.Fatalf("captune's reader refuses the file proftpd ran: %v", err)
				}
				t.Fatal(err)
			}
			if d := compareLogin(p, res); len(d) > 0 {
				t.Errorf("%s\nconfiguration:\n%s\nprediction reasons:\n  %s\nproftpd log (tail):\n%s", strings.Join(d, "; "), f.text,
					strings.Join(p.Reasons, "\n  "), tail(res.log, 25))
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
