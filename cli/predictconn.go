package cli

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"captune/capset/modcap"
)

// connection is the login's network side, from --client, --connect
// (or --vhost) and --host.
type connection struct {
	client string
	addr   string
	port   int
	hosts  []string
}

// predictConnection checks and resolves the connection flags; a bad
// value is a usage error naming it.
func predictConnection(p parsed, res modcap.Resolver) (connection, error) {
	var c connection
	if v := p.get("client"); p.has("client") {
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return c, usagef("predict: --client %q: not an IP address (the client's address, e.g. 192.0.2.7 or 2001:db8::7)", clip(v))
		}
		c.client = a.Unmap().String()
	}
	flag, v := "connect", p.get("connect")
	if p.has("vhost") {
		if p.has("connect") {
			return c, usagef("predict: --vhost is the same as --connect ADDR: give one of them")
		}
		flag, v = "vhost", p.get("vhost")
	}
	if p.has(flag) {
		host, port, err := splitConnect(v, flag == "connect")
		if err != nil {
			return c, usagef("predict: --%s %q: %s", flag, clip(v), err)
		}
		if !validHostName(host) {
			if _, ok := netipAddr(host); !ok {
				return c, usagef("predict: --%s %q: not an IP address or host name", flag, clip(v))
			}
		}
		addrs, ok := res.LookupHost(host)
		if !ok || len(addrs) == 0 {
			return c, usagef("predict: --%s %q: the name %s does not resolve on this machine", flag, clip(v), clip(host))
		}
		c.addr, c.port = addrs[0].Unmap().String(), port
	}
	for _, arg := range p.all("host") {
		for i, h := range strings.Split(arg, ",") {
			switch {
			case h == "":
				return c, usagef("predict: --host %q: name %d is empty", clip(arg), i+1)
			case len(h) > maxHostName:
				return c, usagef("predict: --host %q: name %d is longer than %d bytes", clip(arg), i+1, maxHostName)
			case strings.ContainsFunc(h, func(r rune) bool { return r <= ' ' || r == 0x7f }):
				return c, usagef("predict: --host %q: name %d contains a space or a control character", clip(arg), i+1)
			}
			c.hosts = append(c.hosts, h)
		}
	}
	return c, nil
}

// maxHostName bounds a HOST name (a DNS name has at most 253 bytes).
const maxHostName = 255

// splitConnect splits ADDR[:PORT]: an IPv6 address with a port is written
// [ADDR]:PORT; a bare IPv6 address has no port.
func splitConnect(v string, portOK bool) (string, int, error) {
	host, portText := v, ""
	switch {
	case strings.HasPrefix(v, "["):
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("no closing ] after the IPv6 address")
		}
		host, portText = v[1:end], v[end+1:]
		if portText != "" {
			if portText[0] != ':' {
				return "", 0, fmt.Errorf("unexpected %q after ]", clip(portText))
			}
			portText = portText[1:]
			if portText == "" {
				return "", 0, fmt.Errorf("empty port after ':'")
			}
		}
	case strings.Count(v, ":") == 1:
		host, portText, _ = strings.Cut(v, ":")
		if portText == "" {
			return "", 0, fmt.Errorf("empty port after ':'")
		}
	}
	if host == "" {
		return "", 0, fmt.Errorf("empty address")
	}
	if portText == "" {
		return host, 0, nil
	}
	if !portOK {
		return "", 0, fmt.Errorf("--vhost takes an address only; use --connect ADDR:PORT for a port")
	}
	n, err := strconv.Atoi(portText)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(portText, "0123456789") != "" {
		return "", 0, fmt.Errorf("port %q is not a number from 1 to 65535", clip(portText))
	}
	return host, n, nil
}

func netipAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// validHostName is a DNS name's syntax: labels of letters, digits, '-'
// and '_', at most 253 bytes.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// sysResolver answers a prediction's name lookups through this machine's
// resolver (/etc/hosts, then DNS); IPv4 addresses come first. Answers are
// cached, each lookup is bounded in time, and all of them together too,
// so that a file naming many unresolvable hosts cannot hold predict up:
// past the budget, a name that is not cached does not resolve.
type sysResolver struct {
	mu       sync.Mutex
	hosts    map[string][]netip.Addr
	names    map[netip.Addr]string
	deadline time.Time
}

const (
	lookupTimeout = 3 * time.Second
	lookupBudget  = 15 * time.Second
)

func newSysResolver() *sysResolver {
	return &sysResolver{hosts: map[string][]netip.Addr{}, names: map[netip.Addr]string{}, deadline: time.Now().Add(lookupBudget)}
}

func (r *sysResolver) ctx() (context.Context, context.CancelFunc) {
	d := time.Now().Add(lookupTimeout)
	if r.deadline.Before(d) {
		d = r.deadline
	}
	return context.WithDeadline(context.Background(), d)
}

// LookupHost resolves a name (an IP literal is itself).
func (r *sysResolver) LookupHost(name string) ([]netip.Addr, bool) {
	if a, ok := netipAddr(name); ok {
		return []netip.Addr{a}, true
	}
	if !validHostName(name) {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if as, ok := r.hosts[name]; ok {
		return as, len(as) > 0
	}
	ctx, cancel := r.ctx()
	defer cancel()
	as, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		as = nil
	}
	for i := range as {
		as[i] = as[i].Unmap()
	}
	sort.SliceStable(as, func(i, j int) bool { return as[i].Is4() && !as[j].Is4() })
	r.hosts[name] = as
	return as, len(as) > 0
}

// LookupAddr is the reverse lookup UseReverseDNS makes.
func (r *sysResolver) LookupAddr(a netip.Addr) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.names[a]; ok {
		return n, n != ""
	}
	ctx, cancel := r.ctx()
	defer cancel()
	name := ""
	if names, err := net.DefaultResolver.LookupAddr(ctx, a.String()); err == nil && len(names) > 0 {
		name = strings.TrimSuffix(names[0], ".")
	}
	r.names[a] = name
	return name, name != ""
}

// hostAddrs are the addresses of this machine's host name: the main
// server's when it has no DefaultAddress.
func hostAddrs(res modcap.Resolver) []string {
	h, err := os.Hostname()
	if err != nil {
		return nil
	}
	as, ok := res.LookupHost(h)
	if !ok {
		return nil
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// dirExists says whether an <Anonymous> root is a folder (stat only: the
// path is never opened).
func dirExists(path string) (bool, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return false, !os.IsPermission(err)
	}
	return st.IsDir(), true
}
