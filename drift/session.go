package drift

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"captune/capset"
	"captune/capset/modcap"
	"captune/procscan"
	"captune/safefile"
)

// compare predicts the session from its master's configuration, its user
// and its master (whose permitted set is the real one), and lists the
// differences.
func (r *round) compare(p, master procscan.Process, id *Identity) *Result {
	res := &Result{PID: p.PID, Master: master.PID, Status: id.Status, Config: id.Config, Note: id.Note}
	if id.Status != Known {
		return res
	}
	login := modcap.Login{User: p.FTPUser, UID: p.EUID, UIDKnown: true}
	if c, ok := SessionConn(r.c.root, p.PID); ok {
		// The connection decides the server (bindings) and the client's
		// <Class> and <Limit> Allow/Deny.
		login.Addr, login.Port, login.Client = c.Local.String(), c.LocalPort, c.Remote.String()
	}
	if u, err := user.Lookup(p.FTPUser); err == nil {
		if ids, err := u.GroupIds(); err == nil {
			sort.SliceStable(ids, func(i, j int) bool { return ids[i] == u.Gid && ids[j] != u.Gid })
			for _, gid := range ids {
				if g, err := user.LookupGroupId(gid); err == nil {
					login.Groups = append(login.Groups, g.Name)
				}
			}
		}
	}
	pr := modcap.Predict(modcap.Input{Config: id.cfg, Login: login, MasterPermitted: master.Sets.Permitted, MasterBounding: master.Sets.Bounding})
	res.Expected, res.Differences = pr, Differences(pr, p)
	if len(res.Differences) == 0 {
		return res
	}
	res.Reasons = append(res.Reasons, res.Differences...)
	res.Reasons = append(res.Reasons, fmt.Sprintf("%s predicts this for user %s (uid %d) under master PID %d (%s); proftpd reads its configuration at start and on SIGHUP, so the master runs with another configuration than this file says now (it changed since, or another vhost or file applies)",
		id.Config, p.FTPUser, p.EUID, master.PID, id.Note))
	for _, why := range pr.Reasons {
		res.Reasons = append(res.Reasons, "predicted because: "+why)
	}
	return res
}

// Differences lists how a session process differs from a prediction, in
// the words verify uses: "CapPrm: predicted X, observed Y (...)".
func Differences(p modcap.Prediction, s procscan.Process) []string {
	if p.Refused {
		return []string{fmt.Sprintf("login: predicted refused (%s), observed logged in", p.Why)}
	}
	var out []string
	for _, c := range []struct {
		name       string
		pred, seen capset.Set
	}{
		{"CapPrm", p.Permitted, s.Sets.Permitted},
		{"CapEff", p.Effective, s.Sets.Effective},
		{"CapInh", p.Inheritable, s.Sets.Inheritable},
		{"CapAmb", p.Ambient, s.Sets.Ambient},
		{"CapBnd", p.Bounding, s.Sets.Bounding},
	} {
		if c.pred == c.seen {
			continue
		}
		var parts []string
		if extra := c.seen &^ c.pred; extra != 0 {
			parts = append(parts, "observed also holds "+extra.String())
		}
		if missing := c.pred &^ c.seen; missing != 0 {
			parts = append(parts, "observed lacks "+missing.String())
		}
		out = append(out, fmt.Sprintf("%s: predicted %s, observed %s (%s)", c.name, c.pred.Hex(), c.seen.Hex(), strings.Join(parts, "; ")))
	}
	if uids := [3]uint32{s.UID, s.EUID, s.SUID}; p.UIDs != uids {
		out = append(out, fmt.Sprintf("uids: predicted %d/%d/%d, observed %d/%d/%d (real/effective/saved)", p.UIDs[0], p.UIDs[1], p.UIDs[2], uids[0], uids[1], uids[2]))
	}
	return out
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

// maxNetFile bounds /proc/PID/net/tcp (about 150 bytes a socket).
const maxNetFile = 16 << 20

// SessionAddr is the local address of a session's control connection
// (it selects the <VirtualHost>), or "" when it cannot be read.
func SessionAddr(root string, pid int) string {
	if c, ok := SessionConn(root, pid); ok {
		return c.Local.String()
	}
	return ""
}

// Conn is a session's control connection: the local address and port the
// client reached, and the client's address and port (IPv4-mapped
// addresses unmapped).
type Conn struct {
	Local      netip.Addr
	LocalPort  int
	Remote     netip.Addr
	RemotePort int
}

// SessionConn reads a session's control connection from its sockets:
// proftpd puts it on descriptors 0 and 1 (pr_inet_openrw in
// fork_server), so that socket is preferred over a data connection.
func SessionConn(root string, pid int) (Conn, bool) {
	socks := tcpSockets(root, pid, tcpEstablished)
	if len(socks) == 0 {
		return Conn{}, false
	}
	pick := socks[0]
	for _, s := range socks {
		if s.fd0 {
			pick = s
			break
		}
	}
	l, ok1 := netip.AddrFromSlice(pick.ip)
	r, ok2 := netip.AddrFromSlice(pick.remote)
	if !ok1 || !ok2 {
		return Conn{}, false
	}
	return Conn{Local: l.Unmap(), LocalPort: pick.port, Remote: r.Unmap(), RemotePort: pick.remotePort}, true
}

// The TCP states of /proc/net/tcp that captune looks for.
const (
	tcpEstablished = "01"
	tcpListen      = "0A"
)

// tcpSocket is a TCP socket of a process: its local and remote address,
// and whether it is the process's descriptor 0.
type tcpSocket struct {
	ip         net.IP
	port       int
	remote     net.IP
	remotePort int
	fd0        bool
}

// tcpSockets lists the local addresses of process pid's own TCP sockets
// (its descriptors, by inode, against its network namespace's net/tcp and
// net/tcp6) in the given state. Everything is read with readlink and
// bounded, non-blocking reads.
func tcpSockets(root string, pid int, state string) []tcpSocket {
	dir := filepath.Join(root, strconv.Itoa(pid))
	d, err := safefile.OpenDir(filepath.Join(dir, "fd"))
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	inodes := map[string]bool{}
	fd0 := ""
	for _, fd := range names {
		l, err := os.Readlink(filepath.Join(dir, "fd", fd))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			ino := strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")
			inodes[ino] = true
			if fd == "0" {
				fd0 = ino
			}
		}
	}
	if len(inodes) == 0 {
		return nil
	}
	var out []tcpSocket
	for _, file := range []string{"tcp", "tcp6"} {
		b, err := safefile.ReadFile(filepath.Join(dir, "net", file), safefile.Rules{Max: maxNetFile, NoFollow: true})
		if err != nil {
			continue
		}
		for _, ln := range strings.Split(string(b), "\n") {
			f := strings.Fields(ln)
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || !inodes[f[9]] || f[3] != state {
				continue
			}
			ip, port, ok1 := procNetEnd(f[1])
			rip, rport, ok2 := procNetEnd(f[2])
			if !ok1 || !ok2 {
				continue
			}
			out = append(out, tcpSocket{ip: ip, port: port, remote: rip, remotePort: rport, fd0: f[9] == fd0})
		}
	}
	return out
}

// procNetEnd decodes one end of a /proc/net/tcp line: address and port.
func procNetEnd(s string) (net.IP, int, bool) {
	ip := ProcNetIP(s)
	_, hexPort, _ := strings.Cut(s, ":")
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if ip == nil || err != nil {
		return nil, 0, false
	}
	return ip, int(port), true
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
