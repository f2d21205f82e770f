package proftpd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// The throwaway proftpd runs in a network namespace of its own: only a
// loopback interface, brought up, with every address the configuration
// names added to it. No address or port of the file needs changing (its
// servers listen where they would in production, SocketBindTight,
// DefaultServer and wildcard sockets behave as written), nothing else on
// the machine can reach it, and no port of the machine's is taken. The
// namespace lives as long as a process or descriptor holds it: it goes
// with the master and its sessions (and with captune's descriptor on it),
// so nothing is left when they are gone, however captune ends.

// ErrNoNetNS reports that captune could not make a private network
// namespace for the throwaway proftpd (it needs root with CAP_SYS_ADMIN).
var ErrNoNetNS = errors.New("cannot make a private network for the throwaway proftpd")

// enterNewNetNS moves the calling thread into a new network namespace
// with lo up and addrs on it, and returns a descriptor on the namespace.
// The caller has locked its goroutine to the thread and never unlocks it:
// the thread ends with the goroutine, so no other goroutine ever runs in
// the namespace by accident.
func enterNewNetNS(addrs []netip.Addr) (int, error) {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return -1, fmt.Errorf("%w: unshare(CLONE_NEWNET): %v", ErrNoNetNS, err)
	}
	if err := loopbackUp(); err != nil {
		return -1, fmt.Errorf("%w: bringing lo up: %v", ErrNoNetNS, err)
	}
	for _, a := range addrs {
		if err := addLoopbackAddr(a); err != nil {
			return -1, fmt.Errorf("%w: adding %s to lo: %v", ErrNoNetNS, a, err)
		}
	}
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("%w: %v", ErrNoNetNS, err)
	}
	return fd, nil
}

// loopbackIndex is lo's interface index in a new network namespace.
const loopbackIndex = 1

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// addLoopbackAddr adds a host address (/32 or /128) to lo through
// rtnetlink, as `ip addr add A dev lo` does.
func addLoopbackAddr(a netip.Addr) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	family, bits, flags := uint8(unix.AF_INET), uint8(32), uint8(0)
	if a.Is6() {
		family, bits, flags = unix.AF_INET6, 128, unix.IFA_F_NODAD
	}
	raw := a.AsSlice()
	attr := func(typ uint16, data []byte) []byte {
		n := unix.SizeofRtAttr + len(data)
		b := make([]byte, (n+3)&^3)
		binary.NativeEndian.PutUint16(b[0:], uint16(n))
		binary.NativeEndian.PutUint16(b[2:], typ)
		copy(b[unix.SizeofRtAttr:], data)
		return b
	}
	body := []byte{family, bits, flags, unix.RT_SCOPE_HOST, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(body[4:], loopbackIndex)
	body = append(body, attr(unix.IFA_LOCAL, raw)...)
	body = append(body, attr(unix.IFA_ADDRESS, raw)...)
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], unix.RTM_NEWADDR)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	binary.NativeEndian.PutUint32(msg[8:], 1)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for b := buf[:n]; len(b) >= unix.SizeofNlMsghdr; {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			typ := binary.NativeEndian.Uint16(b[4:])
			if l < unix.SizeofNlMsghdr || l > len(b) {
				return errors.New("malformed netlink reply")
			}
			if typ == unix.NLMSG_ERROR && l >= unix.SizeofNlMsghdr+4 {
				if e := int32(binary.NativeEndian.Uint32(b[unix.SizeofNlMsghdr:])); e != 0 {
					if unix.Errno(-e) == unix.EEXIST {
						return nil
					}
					return unix.Errno(-e)
				}
				return nil
			}
			b = b[(l+3)&^3:]
		}
	}
}

// dialIn connects from inside the network namespace nsfd: a TCP socket
// made there, bound to from (port 0), connected to to. The socket belongs
// to that namespace for good, wherever captune's threads are. ctx and
// timeout bound the connect.
func dialIn(ctx context.Context, nsfd int, from netip.Addr, to netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	family := unix.AF_INET
	if to.Addr().Is6() {
		family = unix.AF_INET6
	}
	type made struct {
		fd  int
		err error
	}
	ch := make(chan made, 1)
	go func() {
		// This thread enters the namespace and is never unlocked: it
		// ends with the goroutine.
		runtime.LockOSThread()
		if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
			ch <- made{-1, fmt.Errorf("entering the throwaway's network: %v", err)}
			return
		}
		fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		ch <- made{fd, err}
	}()
	m := <-ch
	if m.err != nil {
		return nil, m.err
	}
	fd := m.fd
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(from, 0))); err != nil {
		return nil, fmt.Errorf("binding the client to %s: %v", from, err)
	}
	err := unix.Connect(fd, sockaddr(to))
	if err != nil && err != unix.EINPROGRESS {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(to), Err: os.NewSyscallError("connect", err)}
	}
	if err == unix.EINPROGRESS {
		deadline := time.Now().Add(timeout)
		for {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("connecting to %s: no answer within %s", to, timeout)
			}
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			n, err := unix.Poll(fds, 50)
			if err == unix.EINTR || n == 0 {
				continue
			}
			if err != nil {
				return nil, err
			}
			break
		}
		if e, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
			if err == nil {
				err = unix.Errno(e)
			}
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(to), Err: os.NewSyscallError("connect", err)}
		}
	}
	f := os.NewFile(uintptr(fd), "ftp")
	conn, err := net.FileConn(f)
	f.Close()
	ok = true // f.Close closed fd; conn holds its own copy
	if err != nil {
		return nil, err
	}
	return conn, nil
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	}
	return &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
}
