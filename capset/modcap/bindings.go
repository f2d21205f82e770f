package modcap

import (
	"fmt"
	"net/netip"
	"strings"
)

// Phase 3 of the simulation: the master's bindings (src/bindings.c
// init_standalone_bindings) and the choice of server for a connection
// (pr_ipbind_get_server) and for a HOST command (pr_namebind_get_server).
// The bind table is hashed by address and port as proftpd's is, so a
// Port 0 bind is only found where proftpd finds it.

// bindingsTableSize is PR_BINDINGS_TABLE_SIZE.
const bindingsTableSize = 256

// ipbind is a pr_ipbind_t.
type ipbind struct {
	srv *server
	// addr is the bound address; known is false for a main server whose
	// address (the host name's) the caller did not give.
	addr  netip.Addr
	known bool
	port  int
	names []*namebind
	// isDefault and isLocalhost are what the last pr_ipbind_open on it
	// said; active is set once it was opened.
	isDefault, isLocalhost, active bool
	next                           *ipbind
}

// namebind is a pr_namebind_t: a ServerAlias attached to a bind.
type namebind struct {
	name       string
	srv        *server
	serverPort int
	active     bool
	wildcard   bool
}

// listener is a listening socket: on one address (SocketBindTight) or on
// every address of the port.
type listener struct {
	addr     netip.Addr
	wildcard bool
	port     int
}

type bindings struct {
	t                          *tree
	table                      [bindingsTableSize]*ipbind
	defaultBind, localhostBind *ipbind
	listeners                  []listener
	mainListens                bool
	notes                      []string
}

// hashAddr is ipbind_hash_addr: the last four bytes of the address read
// as a host (little-endian) integer, plus the port, folded.
func hashAddr(a netip.Addr, known bool, port int) int {
	var key uint32
	if known {
		b := a.As16()
		key = uint32(b[12]) | uint32(b[13])<<8 | uint32(b[14])<<16 | uint32(b[15])<<24
		if a.Is4() {
			v := a.As4()
			key = uint32(v[0]) | uint32(v[1])<<8 | uint32(v[2])<<16 | uint32(v[3])<<24
		}
	}
	key += uint32(port)
	key ^= key >> 16
	return int(((key >> 8) ^ key) % bindingsTableSize)
}

func sameAddr(a netip.Addr, aKnown bool, b netip.Addr, bKnown bool) bool {
	if !aKnown || !bKnown {
		return !aKnown && !bKnown
	}
	return a.Unmap() == b.Unmap()
}

// find is pr_ipbind_find: the first bind in the address's and port's
// hash chain with the address, whose port is the port (or either is 0).
func (bt *bindings) find(a netip.Addr, known bool, port int, skipInactive bool) *ipbind {
	for ib := bt.table[hashAddr(a, known, port)]; ib != nil; ib = ib.next {
		if skipInactive && !ib.active {
			continue
		}
		if sameAddr(ib.addr, ib.known, a, known) && (ib.port == 0 || port == 0 || ib.port == port) {
			return ib
		}
	}
	return nil
}

// create is pr_ipbind_create. A bind for the same address and port is
// refused unless the server has a ServerAlias (name-based hosting); then
// the new bind goes after the existing one.
func (bt *bindings) create(s *server, a netip.Addr, known bool, port int) {
	i := hashAddr(a, known, port)
	var existing *ipbind
	for ib := bt.table[i]; ib != nil; ib = ib.next {
		if sameAddr(ib.addr, ib.known, a, known) && ib.port == port {
			existing = ib
			break
		}
	}
	if existing != nil && find(s.conf, recParam, "ServerAlias", false) == nil {
		bt.notes = append(bt.notes, fmt.Sprintf("%s: %s is already bound to %s (proftpd: \"already bound\"), so it gets no bind of its own", s.label, addrPortText(a, known, port), existing.srv.label))
		return
	}
	ib := &ipbind{srv: s, addr: a, known: known, port: port}
	if existing != nil {
		ib.next = existing.next
		existing.next = ib
		return
	}
	ib.next = bt.table[i]
	bt.table[i] = ib
}

// open is pr_ipbind_open: it marks the first bind found for the address
// and port active, records whether it is the DefaultServer's and the
// loopback server's, and activates its namebinds.
func (bt *bindings) open(a netip.Addr, known bool, port int, isDefault, isLocalhost bool) {
	ib := bt.find(a, known, port, false)
	if ib == nil {
		return
	}
	ib.isDefault, ib.isLocalhost = isDefault, isLocalhost
	if isDefault {
		bt.defaultBind = ib
	}
	if isLocalhost {
		bt.localhostBind = ib
	}
	for _, nb := range ib.names {
		bt.openName(nb.name, nb.srv.addr, nb.srv.addrKnown, nb.serverPort)
	}
	ib.active = true
}

// listen is pr_ipbind_get_listening_conn: a socket for the address (with
// SocketBindTight) or for the whole port, shared when one exists.
func (bt *bindings) listen(a netip.Addr, tight bool, port int) {
	for _, l := range bt.listeners {
		if l.port != port {
			continue
		}
		if !tight || (!l.wildcard && l.addr == a) {
			return
		}
	}
	bt.listeners = append(bt.listeners, listener{addr: a, wildcard: !tight, port: port})
}

// addBinds is pr_ipbind_add_binds: a bind (and with SocketBindTight a
// socket) for every further address of the server.
func (bt *bindings) addBinds(s *server) {
	for _, c := range findAll(s.conf, recParam, "_bind_") {
		if len(c.args) == 0 {
			continue
		}
		a, ok := parseNumericAddr(c.args[0])
		if !ok {
			continue
		}
		if bt.t.bindTight && s.port != 0 {
			bt.listen(a, true, s.port)
		}
		bt.create(s, a, true, s.port)
		bt.open(a, true, s.port, false, false)
	}
}

// serverBinds is find_server_ipbinds, in table order.
func (bt *bindings) serverBinds(s *server) []*ipbind {
	var out []*ipbind
	for i := range bt.table {
		for ib := bt.table[i]; ib != nil; ib = ib.next {
			if ib.srv == s {
				out = append(out, ib)
			}
		}
	}
	return out
}

// serverAliases is process_serveralias: the server's ServerAlias names
// join the bind for its address and port when one exists with its port
// (another server's, then), else its own binds.
func (bt *bindings) serverAliases(s *server) int {
	var binds []*ipbind
	if ib := bt.find(s.addr, s.addrKnown, s.port, false); ib != nil && ib.srv.port == s.port {
		binds = []*ipbind{ib}
	} else if binds = bt.serverBinds(s); len(binds) == 0 {
		return 0
	}
	n := 0
	for _, c := range findAll(s.conf, recParam, "ServerAlias") {
		if len(c.args) == 0 {
			continue
		}
		for _, ib := range binds {
			if bt.createName(s, c.args[0], ib) {
				n++
				bt.openName(c.args[0], ib.addr, ib.known, ib.port)
			}
		}
	}
	return n
}

// createName is pr_namebind_create on a bind; a name already there is
// refused.
func (bt *bindings) createName(s *server, name string, ib *ipbind) bool {
	for _, nb := range ib.names {
		if strings.EqualFold(nb.name, name) {
			return false
		}
	}
	ib.names = append(ib.names, &namebind{name: name, srv: s, serverPort: s.port, wildcard: isFnmatch(name)})
	return true
}

// openName is pr_namebind_open.
func (bt *bindings) openName(name string, a netip.Addr, known bool, port int) {
	if nb := bt.findName(name, a, known, port, false); nb != nil {
		nb.active = true
	}
}

// findName is pr_namebind_find: from the bind of the address (else the
// wildcard's) on along its hash chain, the first namebind with the name.
func (bt *bindings) findName(name string, a netip.Addr, known bool, port int, skipInactive bool) *namebind {
	ib := bt.find(a, known, port, skipInactive)
	if ib == nil {
		ib = bt.find(wildcardOf(a), true, port, false)
	}
	for ; ib != nil; ib = ib.next {
		for _, nb := range ib.names {
			if skipInactive && !nb.active {
				continue
			}
			if !nb.wildcard && strings.EqualFold(nb.name, name) || nb.wildcard && foldMatch(nb.name, name) {
				return nb
			}
		}
	}
	return nil
}

func wildcardOf(a netip.Addr) netip.Addr {
	if a.IsValid() && a.Unmap().Is6() {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// initBindings is init_standalone_bindings.
func initBindings(t *tree) *bindings {
	bt := &bindings{t: t}
	var main *server
	var vhosts []*server
	for _, s := range t.servers {
		switch {
		case s.gone != "", s.unplaced != "" && !s.main:
		case s.main:
			main = s
		default:
			vhosts = append(vhosts, s)
		}
	}
	mainPort := 0
	if main != nil {
		mainPort = main.port
		if main.port != 0 {
			bt.listen(main.addr, t.bindTight, main.port)
			bt.mainListens = true
		}
		if main.port > 0 || main.isDefault {
			bt.create(main, main.addr, main.addrKnown, main.port)
			bt.open(main.addr, main.addrKnown, main.port, main.isDefault, true)
			bt.addBinds(main)
		}
	}
	for _, s := range vhosts {
		if bt.serverAliases(s) > 0 {
			continue
		}
		switch {
		case s.port != mainPort || t.bindTight || !bt.mainListens:
			switch {
			case s.port > 0:
				bt.listen(s.addr, t.bindTight, s.port)
				fallthrough
			case s.isDefault:
				bt.create(s, s.addr, s.addrKnown, s.port)
				bt.open(s.addr, s.addrKnown, s.port, s.isDefault, false)
				bt.addBinds(s)
			}
		default:
			bt.create(s, s.addr, s.addrKnown, s.port)
			bt.open(s.addr, s.addrKnown, s.port, s.isDefault, false)
			bt.addBinds(s)
		}
		bt.serverAliases(s)
	}
	return bt
}

// accepts reports whether some socket listens on the address and port.
func (bt *bindings) accepts(a netip.Addr, port int) bool {
	for _, l := range bt.listeners {
		if l.port == port && (l.wildcard || l.addr == a.Unmap()) {
			return true
		}
	}
	return false
}

// choice is the server a connection reaches and which rule chose it.
type choice struct {
	srv  *server
	rule string
}

// server is pr_ipbind_get_server: the bind for the exact address, else
// the wildcard address's, else the only bind on the port, else the
// DefaultServer, else for a loopback address the main server.
func (bt *bindings) server(a netip.Addr, port int) choice {
	at := addrPortText(a, true, port)
	if ib := bt.find(a, true, port, true); ib != nil {
		return choice{ib.srv, fmt.Sprintf("the connection to %s matches its bind for that address", at)}
	}
	if ib := bt.find(wildcardOf(a), true, port, true); ib != nil {
		return choice{ib.srv, fmt.Sprintf("no server is bound to %s, so the bind on the wildcard address (DefaultServer) takes it", at)}
	}
	if a.Unmap().Is6() {
		if ib := bt.find(netip.IPv4Unspecified(), true, port, true); ib != nil {
			return choice{ib.srv, fmt.Sprintf("no server is bound to %s, so the bind on the wildcard address (DefaultServer) takes it", at)}
		}
	}
	var last *ipbind
	count := 0
	for i := range bt.table {
		for ib := bt.table[i]; ib != nil; ib = ib.next {
			if ib.active && ib.port == port {
				count++
				last = ib
			}
		}
	}
	if count == 1 {
		return choice{last.srv, fmt.Sprintf("no server is bound to %s, and it is the only server bound to port %d", at, port)}
	}
	if bt.defaultBind != nil && bt.defaultBind.active {
		return choice{bt.defaultBind.srv, fmt.Sprintf("no server is bound to %s and %d servers share port %d, so the DefaultServer takes it", at, count, port)}
	}
	if bt.localhostBind != nil && a.Unmap().IsLoopback() {
		return choice{bt.localhostBind.srv, fmt.Sprintf("no server is bound to %s, no DefaultServer, and the address is a loopback one, so the main server takes it", at)}
	}
	return choice{nil, fmt.Sprintf("no server is bound to %s, %d servers share port %d, there is no DefaultServer and the address is not a loopback one", at, count, port)}
}

// nameServer is pr_namebind_get_server for HOST: the namebinds found from
// the current server's address and the connection's port.
func (bt *bindings) nameServer(name string, cur *server, port int) *server {
	if nb := bt.findName(name, cur.addr, cur.addrKnown, port, true); nb != nil {
		return nb.srv
	}
	return nil
}

// ports lists the ports that have a listening socket, first seen first.
func (bt *bindings) ports() []int {
	var out []int
	seen := map[int]bool{}
	for _, l := range bt.listeners {
		if !seen[l.port] {
			seen[l.port] = true
			out = append(out, l.port)
		}
	}
	return out
}

func addrPortText(a netip.Addr, known bool, port int) string {
	if !known {
		return fmt.Sprintf("the host name's address, port %d", port)
	}
	return hostPort(a.Unmap(), port)
}
