package proftpd

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sock is one TCP socket of a network namespace, from its net/tcp or
// net/tcp6.
type sock struct {
	local, remote netip.AddrPort
	// state is the kernel's TCP state ("0A" listen, "01" established).
	state string
	inode string
}

// maxNetFile bounds a net/tcp file read (the run's network holds a few
// sockets).
const maxNetFile = 1 << 20

// sockets lists the TCP sockets of pid's network namespace.
func sockets(procRoot string, pid int) []sock {
	var out []sock
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "net", name))
		if err != nil || len(b) > maxNetFile {
			continue
		}
		for _, ln := range strings.Split(string(b), "\n") {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(ln)
			if len(f) < 10 || f[0] == "sl" {
				continue
			}
			l, ok1 := procNetAddr(f[1])
			r, ok2 := procNetAddr(f[2])
			if !ok1 || !ok2 {
				continue
			}
			out = append(out, sock{local: l, remote: r, state: f[3], inode: f[9]})
		}
	}
	return out
}

// procNetAddr decodes "0100007F:0015" (and its 32-digit IPv6 form): the
// address in the kernel's byte order, 32 bits at a time, the port in
// hex. IPv4-mapped addresses come back as IPv4.
func procNetAddr(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}

// socketInodes are the socket inodes among pid's open files.
func socketInodes(procRoot string, pid int) map[string]bool {
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue
		}
		if in, ok := strings.CutPrefix(l, "socket:["); ok {
			out[strings.TrimSuffix(in, "]")] = true
		}
	}
	return out
}

// Listeners lists the addresses the master pid listens on, sorted: the
// listening sockets of its network namespace that are its open files (a
// stranger's socket is never mistaken for proftpd's).
func Listeners(procRoot string, pid int) []netip.AddrPort {
	mine := socketInodes(procRoot, pid)
	var out []netip.AddrPort
	for _, s := range sockets(procRoot, pid) {
		if s.state == "0A" && mine[s.inode] {
			out = append(out, s.local)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// sessionOf finds the process that serves one connection: the master's
// child holding the established socket from client to server.
func sessionOf(procRoot string, master int, server, client netip.AddrPort) int {
	var inode string
	for _, s := range sockets(procRoot, master) {
		if s.state == "01" && s.local == server && s.remote == client {
			inode = s.inode
			break
		}
	}
	if inode == "" {
		return 0
	}
	for _, pid := range Children(procRoot, master) {
		if socketInodes(procRoot, pid)[inode] {
			return pid
		}
	}
	return 0
}
