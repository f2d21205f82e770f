package proftpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"captune/procscan"
	"captune/safefile"
)

// Session is a logged-in FTP connection to the throwaway server.
type Session struct {
	// Refused is set when proftpd did not let the login in: At says
	// where ("connect", "banner", "USER", "PASS"), Reply is the server's
	// last reply or what happened to the connection.
	Refused bool
	At      string
	Reply   string
	// Transcript is the exchange: the banner, each HOST reply, USER and
	// PASS.
	Transcript []string
	// Proc is the session process as read after login; zero when refused.
	Proc procscan.Process

	conn net.Conn
	tp   *textproto.Conn
	stop func() bool
}

// loginTimeout bounds each exchange with the server.
const loginTimeout = 15 * time.Second

// Login connects from inside the run's network (from s.Client to
// s.Target), sends each of s.Hosts with HOST, logs in as the account
// (USER, PASS, then NOOP so that every handler of PASS has run) and reads
// the session process: the master's child that holds this connection. A
// login proftpd does not let in (no server at the address, the
// connection closed, a 5xx reply) is not an error: the Session says so.
// Close the Session when done.
func (s *Server) Login(ctx context.Context) (*Session, error) {
	if s.nsfd < 0 {
		return nil, errors.New("the throwaway proftpd is not running")
	}
	conn, err := dialIn(ctx, s.nsfd, s.Client, s.Target, loginTimeout)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			listen := "nothing"
			if l := Listeners(s.procRoot, s.PID); len(l) > 0 {
				var parts []string
				for _, a := range l {
					parts = append(parts, a.String())
				}
				listen = strings.Join(parts, ", ")
			}
			return &Session{Refused: true, At: "connect", Reply: fmt.Sprintf("connection refused: proftpd does not listen on %s (it listens on %s)", s.Target, listen)}, nil
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
	refused := func(at string, reply string) (*Session, error) {
		sess.Refused, sess.At, sess.Reply = true, at, reply
		if why := s.sessionLog(); why != "" {
			sess.Reply += " (proftpd: " + why + ")"
		}
		sess.Close()
		return sess, nil
	}
	code, msg, err := sess.tp.ReadResponse(0)
	if closed(err) {
		return refused("banner", "the connection was closed before the banner")
	}
	if err != nil && code == 0 {
		return fail("greeting", err)
	}
	sess.Transcript = append(sess.Transcript, fmt.Sprintf("%d %s", code, msg))
	if code != 220 {
		return refused("banner", fmt.Sprintf("%d %s", code, msg))
	}
	for _, h := range s.Hosts {
		code, msg, err := sess.exchange("HOST " + h)
		if closed(err) {
			return refused("HOST", "the connection was closed after HOST "+h)
		}
		if err != nil && code == 0 {
			return fail("HOST", err)
		}
		sess.Transcript = append(sess.Transcript, fmt.Sprintf("HOST %s: %d %s", h, code, msg))
	}
	code, msg, err = sess.exchange("USER " + s.Account.Name)
	if closed(err) {
		return refused("USER", "the connection was closed after USER")
	}
	if err != nil && code == 0 {
		return fail("USER", err)
	}
	sess.Transcript = append(sess.Transcript, fmt.Sprintf("USER: %d %s", code, msg))
	if code != 230 {
		if code != 331 {
			return refused("USER", fmt.Sprintf("%d %s", code, msg))
		}
		code, msg, err = sess.exchange("PASS " + s.Account.password)
		if closed(err) {
			return refused("PASS", "the connection was closed after PASS, without a reply")
		}
		if err != nil && code == 0 {
			return fail("PASS", err)
		}
		sess.Transcript = append(sess.Transcript, fmt.Sprintf("PASS: %d %s", code, msg))
		if code != 230 {
			return refused("PASS", fmt.Sprintf("%d %s", code, msg))
		}
	}
	sess.Reply = fmt.Sprintf("%d %s", code, msg)
	if _, err := sess.cmd("NOOP", 200); err != nil {
		return fail("NOOP", err)
	}
	client, _ := netip.ParseAddrPort(conn.LocalAddr().String())
	p, err := s.sessionProcess(ctx, netip.AddrPortFrom(client.Addr().Unmap(), client.Port()))
	if err != nil {
		sess.Close()
		return nil, err
	}
	sess.Proc = p
	return sess, nil
}

// closed reports an error that means the server closed the connection.
func closed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
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
	text := s.Output()
	for _, l := range s.logs {
		if b, err := safefile.ReadFile(l, safefile.Rules{Max: 1 << 20, NoFollow: true, Owners: []uint32{0}}); err == nil {
			text += "\n" + string(b)
		}
	}
	for _, ln := range strings.Split(text, "\n") {
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

// sessionProcess finds the session that serves the connection from
// client: the master's child holding that socket.
func (s *Server) sessionProcess(ctx context.Context, client netip.AddrPort) (procscan.Process, error) {
	sc, err := procscan.New(s.procRoot)
	if err != nil {
		return procscan.Process{}, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if pid := sessionOf(s.procRoot, s.PID, s.Target, client); pid > 0 {
			if p, err := sc.Process(pid); err == nil {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return procscan.Process{}, fmt.Errorf("no session process for the connection from %s under the proftpd master (PID %d)", client, s.PID)
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
