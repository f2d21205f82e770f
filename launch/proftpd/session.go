package proftpd

import (
	"context"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"captune/procscan"
)

// Session is a logged-in FTP connection to the throwaway server.
type Session struct {
	// Refused is set when proftpd refused the login (530); Reply is the
	// server's last reply.
	Refused bool
	Reply   string
	// Proc is the session process as read after login; zero when refused.
	Proc procscan.Process

	conn net.Conn
	tp   *textproto.Conn
	stop func() bool
}

// loginTimeout bounds each exchange with the server.
const loginTimeout = 15 * time.Second

// Login connects, logs in as the account (USER, PASS, then NOOP so that
// every handler of PASS has run) and reads the session process. A
// refused login is not an error: the Session says so. Close the Session
// when done.
func (s *Server) Login(ctx context.Context) (*Session, error) {
	d := net.Dialer{Timeout: loginTimeout}
	conn, err := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("connecting to proftpd: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(loginTimeout))
	sess := &Session{conn: conn, tp: textproto.NewConn(conn)}
	sess.stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
	fail := func(step string, err error) (*Session, error) {
		sess.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("FTP %s: %v", step, err)
	}
	if _, _, err := sess.tp.ReadResponse(220); err != nil {
		return fail("greeting", err)
	}
	if _, err := sess.cmd("USER "+s.Account.Name, 331); err != nil {
		return fail("USER", err)
	}
	code, msg, err := sess.exchange("PASS " + s.Account.password)
	if err != nil {
		return fail("PASS", err)
	}
	sess.Reply = fmt.Sprintf("%d %s", code, msg)
	switch {
	case code == 230:
	case code == 530:
		sess.Refused = true
		if why := s.sessionLog(); why != "" {
			sess.Reply += " (proftpd: " + why + ")"
		}
		return sess, nil
	default:
		return fail("PASS", fmt.Errorf("unexpected reply %s", sess.Reply))
	}
	if _, err := sess.cmd("NOOP", 200); err != nil {
		return fail("NOOP", err)
	}
	p, err := s.sessionProcess(ctx)
	if err != nil {
		sess.Close()
		return nil, err
	}
	sess.Proc = p
	return sess, nil
}

func (c *Session) exchange(line string) (int, string, error) {
	id, err := c.tp.Cmd("%s", line)
	if err != nil {
		return 0, "", err
	}
	c.tp.StartResponse(id)
	defer c.tp.EndResponse(id)
	return c.tp.ReadResponse(0)
}

func (c *Session) cmd(line string, want int) (string, error) {
	code, msg, err := c.exchange(line)
	if err != nil {
		return "", err
	}
	if code != want {
		return "", fmt.Errorf("expected %d, got %d %s", want, code, msg)
	}
	return msg, nil
}

// Close sends QUIT and closes the connection; the session process then
// ends. It may be called more than once.
func (c *Session) Close() error {
	if c == nil || c.conn == nil {
		return nil
	}
	_ = c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	_, _, _ = c.exchange("QUIT")
	err := c.conn.Close()
	c.stop()
	c.conn = nil
	return err
}

// sessionLog is what proftpd logged about sessions (such as why it
// refused a login), without the routine lines.
func (s *Server) sessionLog() string {
	time.Sleep(20 * time.Millisecond) // proftpd logs the reason after replying
	var out []string
	for _, ln := range strings.Split(s.Output(), "\n") {
		i := strings.Index(ln, "]): ")
		if i < 0 {
			continue
		}
		msg := strings.TrimSpace(ln[i+4:])
		if msg == "FTP session opened." || msg == "FTP session closed." || strings.HasPrefix(msg, "mod_delay/") {
			continue
		}
		out = append(out, msg)
	}
	return strings.Join(out, "; ")
}

// sessionProcess finds the logged-in session: a child of the master that
// carries the login's process title or runs with its effective uid.
func (s *Server) sessionProcess(ctx context.Context) (procscan.Process, error) {
	sc, err := procscan.New(s.procRoot)
	if err != nil {
		return procscan.Process{}, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var byUID *procscan.Process
		for _, pid := range Children(s.procRoot, s.PID) {
			p, err := sc.Process(pid)
			if err != nil {
				continue
			}
			if p.Role == procscan.RoleProftpdSession && p.FTPUser == s.Account.Name {
				return p, nil
			}
			if p.EUID == s.Account.UID && byUID == nil {
				byUID = &p
			}
		}
		if byUID != nil {
			return *byUID, nil
		}
		if time.Now().After(deadline) {
			return procscan.Process{}, fmt.Errorf("no session process of user %s under the proftpd master (PID %d)", s.Account.Name, s.PID)
		}
		select {
		case <-ctx.Done():
			return procscan.Process{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Children lists the child processes of pid: from the kernel's children
// files of its threads when it has them, else by reading every process's
// parent.
func Children(procRoot string, pid int) []int {
	id := strconv.Itoa(pid)
	if files, _ := filepath.Glob(filepath.Join(procRoot, id, "task", "*", "children")); len(files) > 0 {
		var out []int
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, w := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(w); err == nil {
					out = append(out, n)
				}
			}
		}
		return out
	}
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, ln := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(ln, "PPid:"); ok {
				if pp, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && pp == pid {
					out = append(out, n)
				}
				break
			}
		}
	}
	return out
}
