package modcap

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Phase 1 and 2 of the simulation: the configuration as proftpd holds it
// after parsing (src/parser.c, src/configdb.c, the handlers of mod_core)
// and after fixup_servers (src/dirtree.c). Each server has one list: its
// sections at the head in reverse file order, its directives appended in
// file order (R1, R2); the contents of every <Global>, wherever it is,
// appended to every server (fixup_globals, R3); the <Class> definitions
// in one list in file order; the parse-time effects of DefaultAddress,
// <VirtualHost> addresses, Port and the address collision check.

// server is one server_rec.
type server struct {
	main bool
	// label names it for people: "the main server" or
	// "<VirtualHost 127.0.0.2> at f:33".
	label string
	// name is its ServerName.
	name string
	node *Node
	conf *list
	// addrText is ServerAddress: the DefaultAddress or the first
	// <VirtualHost> word; empty for a main server without DefaultAddress
	// (it takes the host name's address).
	addrText string
	// addr is its address after fixup_servers (the wildcard for a
	// DefaultServer without SocketBindTight); valid only when addrKnown.
	addr      netip.Addr
	addrKnown bool
	// port is ServerPort: while parsing, the last Port line of its own
	// level; after parsing, its first Port record.
	port     int
	portNode *Node
	// isDefault is DefaultServer on (its first record).
	isDefault   bool
	defaultNode *Node
	// gone says why the server is out of proftpd's server list (an
	// address collision, an address that does not resolve); empty while
	// it is in the list.
	gone string
	// unplaced says why captune cannot bind the server (its address was
	// not resolved for lack of name lookups); it stays in the list, so
	// its <Global> sections still reach every server.
	unplaced string
}

// tree is the whole configuration after phase 2.
type tree struct {
	servers    []*server
	classes    []*class
	ipv6       bool
	reverseDNS bool
	bindTight  bool
	// notes are parse-time facts worth a reason (a vhost dropped at
	// parse time, a class without rules).
	notes []string
	// fatal is set when proftpd would not start (a <VirtualHost> or
	// DefaultAddress name that does not resolve).
	fatal     string
	fatalNode *Node
	// tightNode and the others are the lines behind the globals.
	tightNode, ipv6Node, reverseNode *Node
	res                              Resolver
	// strict is set when the caller gave a resolver: a name it does not
	// resolve stops proftpd. Without one, such a name is only unknown.
	strict    bool
	hostAddrs []netip.Addr
}

// canonical spellings of the directives the simulation looks up; proftpd
// stores records under its handler's name whatever the case in the file.
var canonical = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"Port", "DefaultServer", "ServerAlias", "ServerName", "DefaultAddress", "SocketBindTight",
		"UseIPv6", "UseReverseDNS", "AuthOrder", "AuthUserFile", "AuthGroupFile", "UserAlias",
		"AuthAliasOnly", "UseFtpUsers", "RequireValidShell", "ExecEngine", "SFTPEngine",
		"Allow", "Deny", "AllowUser", "DenyUser", "AllowGroup", "DenyGroup", "AllowClass",
		"DenyClass", "AllowAll", "DenyAll", "Order", "AnonRequirePassword", "From", "Satisfy",
		"User", "Group", "LoadModule", "ModulePath", "Define", "ServerType", "PidFile",
		"ScoreboardFile", "ServerAdmin",
	} {
		m[strings.ToLower(n)] = n
	}
	for k, v := range judged {
		m[k] = v
	}
	return m
}()

// noRecord are directives that set a server field or a global and add no
// record to the list.
var noRecord = map[string]bool{
	"DefaultAddress": true, "ServerName": true, "SocketBindTight": true, "UseIPv6": true,
	"UseReverseDNS": true, "LoadModule": true, "ModulePath": true, "Define": true,
	"ServerType": true, "PidFile": true, "ScoreboardFile": true, "ServerAdmin": true,
}

// mergeDownNames are the CF_MERGEDOWN directives the simulation reads
// inside <Anonymous>.
var mergeDownNames = map[string]bool{
	"RootLogin": true, "RootRevoke": true, "UseFtpUsers": true, "RequireValidShell": true, "AuthAliasOnly": true,
}

// multiNames are CF_MULTI directives, mergeDownMultiNames
// CF_MERGEDOWN_MULTI ones (UserAlias only outside <Anonymous>).
var (
	multiNames          = map[string]bool{"CapabilitiesSet": true}
	mergeDownMultiNames = map[string]bool{
		"AllowUser": true, "DenyUser": true, "AllowGroup": true, "DenyGroup": true, "AllowClass": true, "DenyClass": true,
	}
)

// builder replays the parse in file order.
type builder struct {
	t      *tree
	ipv6   bool
	main   *server
	hostOK bool
}

// buildTree runs phases 1 and 2 on a configuration.
func buildTree(cfg *Config, res Resolver, strict bool, hostAddrs []netip.Addr) *tree {
	t := &tree{ipv6: true, reverseDNS: true, res: res, strict: strict, hostAddrs: hostAddrs}
	b := &builder{t: t, ipv6: true}
	main := &server{main: true, label: "the main server", conf: &list{}, port: 21}
	b.main = main
	t.servers = []*server{main}
	b.walk(cfg.Top, main, main.conf, nil, ctxRoot)
	t.ipv6 = b.ipv6
	b.fixupServers()
	return t
}

// walk adds the records of nodes to l (the list of parent, nil at a
// server's top level) in server srv, in context ctx.
func (b *builder) walk(nodes []*Node, srv *server, l *list, parent *rec, ctx ctxKind) {
	for _, n := range nodes {
		if n.Section {
			b.section(n, srv, l, parent, ctx)
			continue
		}
		b.directive(n, srv, l, parent, ctx)
	}
}

func canonName(name string) string {
	if c, ok := canonical[strings.ToLower(name)]; ok {
		return c
	}
	return name
}

func (b *builder) add(l *list, parent *rec, r *rec) *rec {
	r.parent = parent
	r.ipv6 = b.ipv6
	if r.kind == recParam {
		l.insertEnd(r)
	} else {
		l.insertHead(r)
	}
	return r
}

func (b *builder) directive(n *Node, srv *server, l *list, parent *rec, ctx ctxKind) {
	name := canonName(n.Name)
	arg := ""
	if len(n.Args) > 0 {
		arg = n.Args[0]
	}
	switch name {
	case "UseIPv6":
		if v, ok := ParseBool(arg); ok {
			b.ipv6 = v
			b.t.ipv6Node = n
		}
		return
	case "UseReverseDNS":
		if v, ok := ParseBool(arg); ok {
			b.t.reverseDNS = v
			b.t.reverseNode = n
		}
		return
	case "SocketBindTight":
		if v, ok := ParseBool(arg); ok {
			b.t.bindTight = v
			b.t.tightNode = n
		}
		return
	case "ServerName":
		if arg != "" {
			srv.name = arg
		}
		return
	case "DefaultAddress":
		if ctx == ctxRoot && arg != "" {
			b.defaultAddress(n, l, parent)
		}
		return
	case "Port":
		r := b.add(l, parent, &rec{kind: recParam, name: name, args: n.Args, node: n})
		_ = r
		if ctx == ctxRoot || ctx == ctxVirtual {
			srv.port = atoiC(arg)
			srv.portNode = n
		}
		return
	case "DefaultServer":
		if v, _ := ParseBool(arg); !v {
			return // "DefaultServer off" adds nothing
		}
	case "User":
		name = "UserName"
	case "Group":
		name = "GroupName"
	}
	if noRecord[name] {
		return
	}
	r := &rec{kind: recParam, name: name, args: n.Args, node: n, multi: multiNames[name], mergeDown: mergeDownNames[name],
		mergeDownMulti: mergeDownMultiNames[name] || name == "UserAlias" && ctx != ctxAnon}
	b.add(l, parent, r)
}

// atoiC is C's atoi: leading blanks and sign, digits up to the first
// other character, 0 when there are none.
func atoiC(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<30 {
			break
		}
	}
	if neg {
		return -n
	}
	return n
}

// defaultAddress is set_defaultaddress: the last one sets the main
// server's address; a name also adds a ServerAlias record, and every
// further address a bind record.
func (b *builder) defaultAddress(n *Node, l *list, parent *rec) {
	name := n.Args[0]
	addrs, ok := b.t.res.LookupHost(name)
	if !ok {
		if !b.t.strict {
			b.t.notes = append(b.t.notes, fmt.Sprintf("DefaultAddress %s (%s) was not resolved (no name lookups were given): the main server's address is unknown", name, n.Pos))
			if !isIPText(name) {
				b.add(l, parent, &rec{kind: recParam, name: "ServerAlias", args: []string{name}, node: n})
			}
			b.main.addrText, b.main.addrKnown = name, false
			return
		}
		if b.t.fatal == "" {
			b.t.fatal = fmt.Sprintf("DefaultAddress: unable to resolve '%s' (%s)", name, n.Pos)
			b.t.fatalNode = n
		}
		return
	}
	if !isIPText(name) {
		b.add(l, parent, &rec{kind: recParam, name: "ServerAlias", args: []string{name}, node: n})
	}
	b.main.addrText = addrs[0].String()
	b.main.addr, b.main.addrKnown = addrs[0], true
	for _, a := range addrs[1:] {
		if a != addrs[0] {
			b.add(l, parent, &rec{kind: recParam, name: "_bind_", args: []string{a.String()}, node: n})
		}
	}
}

func (b *builder) section(n *Node, srv *server, l *list, parent *rec, ctx ctxKind) {
	switch {
	case n.Is("<VirtualHost>"):
		b.virtualHost(n)
	case n.Is("<Global>"):
		r := b.add(l, parent, &rec{kind: recGlobal, name: "<Global>", node: n})
		b.walk(n.Children, srv, r.child(), r, ctxGlobal)
		b.closeSection(r)
	case n.Is("<Directory>"):
		if len(n.Args) == 0 {
			return
		}
		dir := n.Args[0]
		if ctx == ctxAnon && !strings.HasPrefix(dir, "/") && !strings.HasPrefix(dir, "~") && dir != "*" {
			dir = pdircat("/", dir)
		}
		r := b.add(l, parent, &rec{kind: recDir, name: dir, args: n.Args, node: n})
		b.walk(n.Children, srv, r.child(), r, ctxDir)
		b.closeSection(r)
	case n.Is("<Anonymous>"):
		if len(n.Args) == 0 {
			return
		}
		dir := n.Args[0]
		if !strings.HasSuffix(dir, "/") {
			dir += "/"
		}
		r := b.add(l, parent, &rec{kind: recAnon, name: dir, args: n.Args, node: n})
		b.walk(n.Children, srv, r.child(), r, ctxAnon)
		b.closeSection(r)
	case n.Is("<Limit>"):
		r := b.add(l, parent, &rec{kind: recLimit, name: "Limit", args: splitNames(n.Args), node: n})
		b.walk(n.Children, srv, r.child(), r, ctxLimit)
		b.closeSection(r)
	case n.Is("<IfUser>"), n.Is("<IfGroup>"), n.Is("<IfClass>"), n.Is("<IfAuthenticated>"):
		r := b.add(l, parent, &rec{kind: recIf, name: n.Name, args: n.Args, node: n})
		cond := &rec{kind: recCond, name: "_" + strings.Trim(n.Name, "<>") + "List", args: n.Args, node: n, cond: parseIfCond(n.Name, n.Args)}
		cond.parent = r
		r.child().insertEnd(cond)
		// mod_ifsession's sections take their parent's context.
		b.walk(n.Children, srv, r.sub, r, ctx)
	case n.Is("<Class>"):
		b.class(n)
	default:
		// Another module's section (<IfVersion> ...): its lines stay
		// where they are, like <IfModule>'s.
		b.walk(n.Children, srv, l, parent, ctx)
	}
}

// closeSection is pr_parser_config_ctxt_close: an empty section is
// removed.
func (b *builder) closeSection(r *rec) {
	if r.sub.empty() {
		r.in.remove(r)
	}
}

// class is add_class ... end_class: the class joins the global list in
// file order when it has rules.
func (b *builder) class(n *Node) {
	if len(n.Args) == 0 {
		return
	}
	c := &class{name: n.Args[0], node: n}
	for _, d := range n.Children {
		if d.Section {
			continue
		}
		switch canonName(d.Name) {
		case "From":
			acls, _ := parseFrom(d.Args, b.ipv6)
			c.acls = append(c.acls, acls...)
			if c.fromNode == nil {
				c.fromNode = d
			}
		case "Satisfy":
			if len(d.Args) > 0 {
				switch strings.ToLower(d.Args[0]) {
				case "all":
					c.all = true
				case "any":
					c.all = false
				}
			}
		}
	}
	if len(c.acls) == 0 {
		b.t.notes = append(b.t.notes, fmt.Sprintf("<Class %s> at %s has no From rules: proftpd drops it (\"empty <Class> definition\")", c.name, n.Pos))
		return
	}
	b.t.classes = append(b.t.classes, c)
}

// virtualHost is add_virtualhost ... end_virtualhost.
func (b *builder) virtualHost(n *Node) {
	s := &server{label: fmt.Sprintf("<VirtualHost %s> at %s", strings.Join(n.Args, " "), n.Pos), node: n, conf: &list{}, port: 21}
	b.t.servers = append(b.t.servers, s)
	for i, name := range n.Args {
		addrs, ok := b.t.res.LookupHost(name)
		if !ok {
			if !b.t.strict {
				if !isIPText(name) {
					b.add(s.conf, nil, &rec{kind: recParam, name: "ServerAlias", args: []string{name}, node: n})
				}
				if i == 0 {
					s.unplaced = fmt.Sprintf("its address %s was not resolved (no name lookups were given), so captune cannot tell which connections reach it", name)
					b.t.notes = append(b.t.notes, fmt.Sprintf("%s: %s", s.label, s.unplaced))
				} else {
					b.t.notes = append(b.t.notes, fmt.Sprintf("%s: its address %s was not resolved (no name lookups were given): captune leaves it out", s.label, name))
				}
				continue
			}
			if b.t.fatal == "" {
				b.t.fatal = fmt.Sprintf("<VirtualHost>: error resolving '%s' (%s)", name, n.Pos)
				b.t.fatalNode = n
			}
			s.gone = fmt.Sprintf("its address %s does not resolve", name)
			continue
		}
		if !isIPText(name) {
			b.add(s.conf, nil, &rec{kind: recParam, name: "ServerAlias", args: []string{name}, node: n})
		}
		if i == 0 {
			s.addrText = addrs[0].String()
			s.addr, s.addrKnown = addrs[0], true
		} else {
			b.add(s.conf, nil, &rec{kind: recParam, name: "_bind_", args: []string{addrs[0].String()}, node: n})
		}
		for _, a := range addrs[1:] {
			if a != addrs[0] {
				b.add(s.conf, nil, &rec{kind: recParam, name: "_bind_", args: []string{a.String()}, node: n})
			}
		}
	}
	b.walk(n.Children, s, s.conf, nil, ctxVirtual)
	b.collisionCheck(s)
}

// collisionCheck is end_virtualhost's AddressCollisionCheck: a vhost on
// the address and port (as parsed so far) of a server before it, without
// a ServerAlias, is removed from the server list.
func (b *builder) collisionCheck(s *server) {
	if !s.addrKnown || s.gone != "" {
		return
	}
	for _, o := range b.t.servers {
		if o == s || o.gone != "" {
			continue
		}
		addr, known := o.addr, o.addrKnown
		if !known && o.main && o.addrText == "" && len(b.t.hostAddrs) > 0 {
			addr, known = b.t.hostAddrs[0], true
		}
		if !known || addr != s.addr || o.port != s.port {
			continue
		}
		if find(s.conf, recParam, "ServerAlias", false) != nil {
			continue
		}
		s.gone = fmt.Sprintf("its address and port %s already belong to %s (proftpd: \"address/port already in use\"), so it is dropped from the server list", hostPort(s.addr, s.port), o.label)
		b.t.notes = append(b.t.notes, fmt.Sprintf("%s: %s", s.label, s.gone))
		return
	}
}

func hostPort(a netip.Addr, port int) string {
	return netip.AddrPortFrom(a, uint16(port)).String()
}

// fixupServers is fixup_servers and core_postparse_ev: the <Global>
// contents go to every server, addresses are settled, DefaultServer takes
// the wildcard, CF_MERGEDOWN directives reach <Directory> and
// <Anonymous>, and each server's port is its first Port record.
func (b *builder) fixupServers() {
	t := b.t
	var live []*server
	for _, s := range t.servers {
		if s.gone == "" {
			live = append(live, s)
		}
	}
	// fixup_globals: for each server, each top-level <Global> in list
	// order, each record in it, a copy appended to every server.
	for _, s := range live {
		for r := s.conf.head; r != nil; {
			next := r.next
			if r.kind == recGlobal {
				via := fmt.Sprintf("in <Global> at %s", r.pos())
				if s != b.main {
					via = fmt.Sprintf("in <Global> at %s (inside %s)", r.pos(), s.label)
				}
				for g := r.sub.headOrNil(); g != nil; g = g.next {
					for _, to := range live {
						copyRecur(to.conf, g, nil, via)
					}
				}
				s.conf.remove(r)
			}
			r = next
		}
	}
	if b.main.name == "" {
		b.main.name = "ProFTPD"
		if a := find(b.main.conf, recParam, "ServerAlias", false); a != nil && len(a.args) > 0 {
			b.main.name = a.args[0]
		}
	}
	for _, s := range live {
		if s.addrText == "" && s.main {
			if len(t.hostAddrs) > 0 {
				s.addr, s.addrKnown = t.hostAddrs[0], true
				for _, a := range t.hostAddrs[1:] {
					s.conf.insertEnd(&rec{kind: recParam, name: "_bind_", args: []string{a.String()}})
				}
			}
		}
		if s.name == "" {
			s.name = b.main.name
			if a := find(s.conf, recParam, "ServerAlias", false); a != nil && len(a.args) > 0 {
				s.name = a.args[0]
			}
		}
		if d := find(s.conf, recParam, "DefaultServer", false); d != nil {
			s.isDefault, s.defaultNode = true, d.node
			if !t.bindTight {
				if s.addrKnown && s.addr.Is6() {
					s.addr = netip.IPv6Unspecified()
				} else {
					s.addr = netip.IPv4Unspecified()
				}
				s.addrKnown = true
			}
		}
		mergeDown(s.conf)
		if p := find(s.conf, recParam, "Port", false); p != nil && len(p.args) > 0 {
			s.port, s.portNode = atoiC(p.args[0]), p.node
		}
	}
}

// mergeDown is pr_config_merge_down: every CF_MERGEDOWN directive of a
// level is copied into each <Directory> and <Anonymous> of that level
// that has none of its name (a CF_MERGEDOWN_MULTI one where no identical
// record is), then the same one level down.
func mergeDown(l *list) {
	for c := l.headOrNil(); c != nil; c = c.next {
		if !c.mergeDown && !c.mergeDownMulti || c.kind != recParam {
			continue
		}
		for d := l.head; d != nil; d = d.next {
			if d.kind != recAnon && d.kind != recDir {
				continue
			}
			if c.mergeDown && find(d.sub, recParam, c.name, false) != nil {
				continue
			}
			if c.mergeDownMulti && hasSame(d.sub, c) {
				continue
			}
			via := "merged down into " + d.label()
			if c.via != "" {
				via = c.via + ", " + via
			}
			d.child().insertEnd(c.clone(d, via))
		}
	}
	for c := l.headOrNil(); c != nil; c = c.next {
		if c.kind == recAnon || c.kind == recDir {
			mergeDown(c.sub)
		}
	}
}

// hasSame reports whether l holds a record like c (config_cmp: the same
// name and arguments).
func hasSame(l *list, c *rec) bool {
	for r := l.headOrNil(); r != nil; r = r.next {
		if r.name == c.name && strings.Join(r.args, "\x00") == strings.Join(c.args, "\x00") {
			return true
		}
	}
	return false
}

// boolArg reads a boolean record's value.
func boolArg(r *rec) bool {
	if r == nil || len(r.args) == 0 {
		return false
	}
	v, _ := ParseBool(r.args[0])
	return v
}

// portText prints a port for people.
func portText(p int) string { return strconv.Itoa(p) }
