package modcap

import (
	"fmt"
	"net/netip"
	"strings"

	"captune/capset"
)

// The session simulation: one method per phase of a session's life,
// called in proftpd's order (src/main.c fork_server, then the command
// handlers of USER, HOST and PASS):
//
//	parse       phases 1-2: the lists, Globals copied, <Class> list (build.go)
//	connect     phase 3: bindings and the server for the connection (bindings.go)
//	limits      phase 4: the session's class, <Limit LOGIN> at connect
//	sessInit    phase 5: <IfClass> merges, mod_cap's session init
//	host        phase 6: HOST: another server, mod_cap re-initialised
//	userPass    phase 7: <Anonymous>, the user, RootLogin, <Limit LOGIN>, shell, /etc/ftpusers
//	postPass    phase 8: <IfAuthenticated>/<IfGroup>/<IfUser> merges, mod_cap, mod_auth's decision
//	kernel      phase 9: the system calls under the kernel's rules (predict.go)

// capFlags are mod_cap's cap_flags.
type capFlags uint

const (
	capChown capFlags = 1 << iota
	capDacOverride
	capDacReadSearch
	capSetuid
	capAuditWrite
	capFowner
	capFsetid
)

// kept is the set mod_cap's post-PASS handler asks to keep for these
// flags: NET_BIND_SERVICE always, SETGID with SETUID.
func (f capFlags) kept() capset.Set {
	s := capset.Of(capset.NetBindService)
	for _, m := range []struct {
		f capFlags
		c []capset.Cap
	}{
		{capChown, []capset.Cap{capset.Chown}},
		{capDacOverride, []capset.Cap{capset.DacOverride}},
		{capDacReadSearch, []capset.Cap{capset.DacReadSearch}},
		{capSetuid, []capset.Cap{capset.Setuid, capset.Setgid}},
		{capAuditWrite, []capset.Cap{capset.AuditWrite}},
		{capFowner, []capset.Cap{capset.Fowner}},
		{capFsetid, []capset.Cap{capset.Fsetid}},
	} {
		if f&m.f != 0 {
			for _, c := range m.c {
				s = s.With(c)
			}
		}
	}
	return s
}

// flagsOf turns a CapabilitiesSet line's Flags into cap_flags.
func flagsOf(f Flags) capFlags {
	var out capFlags
	for _, m := range []struct {
		on bool
		f  capFlags
	}{{f.Chown, capChown}, {f.DacOverride, capDacOverride}, {f.DacReadSearch, capDacReadSearch}, {f.Setuid, capSetuid}, {f.Fowner, capFowner}, {f.Fsetid, capFsetid}} {
		if m.on {
			out |= m.f
		}
	}
	return out
}

// session is one simulated session.
type session struct {
	in      Input
	pr      *Prediction
	modules map[string]bool
	pam     bool
	res     Resolver
	t       *tree
	bt      *bindings
	// srv is main_server; first is the server the connection reached.
	srv, first *server
	local      netip.Addr
	port       int
	mapped     bool
	client     peer
	w          who
	anon       *rec
	acct       Account
	uid        uint32
	// mergedAny is mod_ifsession's ifsess_merged.
	mergedAny bool
	// mod_cap's state: use_capabilities, cap_flags, and whether its
	// flags come from a HOST re-initialisation.
	useCaps  bool
	flags    capFlags
	reinit   bool
	setuidBy string
	// engineOffAt names the line that switched mod_cap off at session
	// init.
	engineOffAt string
	// final mod_cap and mod_auth decisions for the kernel phase.
	capRevoke, rootRevoke bool
}

func (s *session) reason(format string, a ...any) {
	s.pr.Reasons = append(s.pr.Reasons, fmt.Sprintf(format, a...))
}

func (s *session) warn(format string, a ...any) {
	s.pr.Warnings = append(s.pr.Warnings, fmt.Sprintf(format, a...))
}

// refuse ends the simulation: proftpd refuses the login.
func (s *session) refuse(at, line, format string, a ...any) {
	s.pr.Refused = true
	s.pr.RefusedAt = at
	s.pr.Line = line
	s.pr.Why = fmt.Sprintf(format, a...)
}

// parse is phases 1 and 2.
func (s *session) parse() {
	cfg := s.in.Config
	var hostAddrs []netip.Addr
	for _, h := range s.in.HostAddrs {
		if a, ok := parseNumericAddr(h); ok {
			hostAddrs = append(hostAddrs, a)
		}
	}
	s.t = buildTree(cfg, s.res, s.in.Resolver != nil, hostAddrs)
	for _, n := range s.t.notes {
		s.reason("%s", n)
	}
	if s.t.fatal != "" {
		line := ""
		if s.t.fatalNode != nil {
			line = s.t.fatalNode.Pos.String()
		}
		s.refuse("start", line, "proftpd would not start: %s", s.t.fatal)
	}
}

// connect is phase 3: the bindings, then the server the connection
// reaches.
func (s *session) connect() {
	s.bt = initBindings(s.t)
	for _, n := range s.bt.notes {
		s.reason("%s", n)
	}
	l := s.in.Login
	if l.Addr == "" {
		s.assumeConnection()
		return
	}
	addrs, ok := s.res.LookupHost(l.Addr)
	if !ok {
		s.refuse("connect", "", "the connection address %s does not resolve", l.Addr)
		return
	}
	a := addrs[0].Unmap()
	port := l.Port
	if port == 0 {
		port = s.portFor(a)
	}
	s.local, s.port = a, port
	if !s.bt.accepts(a, port) {
		s.refuse("connect", s.listenLine(), "no socket listens on %s: the TCP connection is refused (%s)", hostPort(a, port), s.listenWhy(a, port))
		return
	}
	c := s.bt.server(a, port)
	if c.srv == nil {
		s.refuse("connect", "", "500 Sorry, no server available to handle request on %s: %s", a, c.rule)
		return
	}
	s.reach(c)
}

// portFor is the port of a connection given without one: the port of the
// first server bound to the address, else the main server's, else the
// first that listens.
func (s *session) portFor(a netip.Addr) int {
	for _, srv := range s.t.servers {
		if srv.gone != "" || srv.port == 0 {
			continue
		}
		if srv.addrKnown && srv.addr == a {
			return srv.port
		}
		for _, b := range findAll(srv.conf, recParam, "_bind_") {
			if len(b.args) > 0 && b.args[0] == a.String() {
				return srv.port
			}
		}
	}
	if m := s.mainServer(); m != nil && m.port > 0 {
		return m.port
	}
	if ps := s.bt.ports(); len(ps) > 0 {
		return ps[0]
	}
	return 21
}

func (s *session) mainServer() *server {
	for _, srv := range s.t.servers {
		if srv.main && srv.gone == "" {
			return srv
		}
	}
	return nil
}

// listenLine and listenWhy explain a refused TCP connection.
func (s *session) listenLine() string {
	if s.t.bindTight && s.t.tightNode != nil {
		return s.t.tightNode.Pos.String()
	}
	return ""
}

func (s *session) listenWhy(a netip.Addr, port int) string {
	if s.t.bindTight {
		w := "SocketBindTight on"
		if s.t.tightNode != nil {
			w += fmt.Sprintf(" (%s)", s.t.tightNode.Pos)
		}
		return w + ": every server listens on its own addresses only, and DefaultServer is ignored"
	}
	return fmt.Sprintf("no server has port %d", port)
}

// assumeConnection picks the connection when none was given: the one
// that reaches the main server, or when the main server takes none, the
// one to 127.0.0.1 on each listening port.
func (s *session) assumeConnection() {
	m := s.mainServer()
	if m != nil && (m.port > 0 || m.isDefault) && s.mainBound(m) {
		switch {
		case !m.addrKnown:
			s.local, s.port = netip.MustParseAddr("127.0.0.1"), m.port
			s.reach(choice{m, fmt.Sprintf("no connection address given: assumed one that reaches the main server (its address is the host name's, which was not given; port %d)", m.port)})
		case m.addr.IsUnspecified():
			s.local, s.port = netip.MustParseAddr("127.0.0.1"), m.port
			s.reach(choice{m, fmt.Sprintf("no connection address given: assumed one that reaches the main server, the DefaultServer (any address no other server is bound to, port %d)", m.port)})
		default:
			s.local, s.port = m.addr, m.port
			c := s.bt.server(m.addr, m.port)
			c.rule = fmt.Sprintf("no connection address given: assumed one to the main server's address %s; %s", hostPort(m.addr, m.port), c.rule)
			if c.srv == nil {
				s.refuse("connect", "", "500 Sorry, no server available to handle request on %s: %s", m.addr, c.rule)
				return
			}
			s.reach(c)
		}
		return
	}
	why := "the main server takes no connections"
	switch {
	case m == nil:
		why = "the main server is gone"
	case m.port == 0:
		why = "the main server takes no connections (Port 0"
		if m.portNode != nil {
			why += fmt.Sprintf(" at %s", m.portNode.Pos)
		}
		why += ")"
	}
	lo := netip.MustParseAddr("127.0.0.1")
	var picks []choice
	var ports []int
	for _, p := range s.bt.ports() {
		if !s.bt.accepts(lo, p) {
			continue
		}
		if c := s.bt.server(lo, p); c.srv != nil {
			picks = append(picks, c)
			ports = append(ports, p)
		}
	}
	if len(picks) == 0 {
		s.refuse("connect", "", "%s, and no server takes a connection to 127.0.0.1", why)
		return
	}
	distinct := map[*server]bool{}
	for i, c := range picks {
		distinct[c.srv] = true
		s.pr.Candidates = append(s.pr.Candidates, fmt.Sprintf("127.0.0.1:%d reaches %s", ports[i], c.srv.label))
	}
	s.local, s.port = lo, ports[0]
	c := picks[0]
	c.rule = fmt.Sprintf("no connection address given and %s: predicted for a connection to 127.0.0.1:%d; %s", why, ports[0], c.rule)
	if len(distinct) > 1 {
		s.warn("%s: the connection decides the server; predicted for the first of: %s", why, strings.Join(s.pr.Candidates, "; "))
	}
	s.reach(c)
}

// mainBound reports whether the main server has an active bind.
func (s *session) mainBound(m *server) bool {
	for i := range s.bt.table {
		for ib := s.bt.table[i]; ib != nil; ib = ib.next {
			if ib.srv == m && ib.active {
				return true
			}
		}
	}
	return false
}

// reach makes the chosen server main_server.
func (s *session) reach(c choice) {
	s.srv, s.first = c.srv, c.srv
	s.pr.Server = c.srv.label
	s.pr.ServerChoice = c.rule
	if s.in.Login.Addr != "" || len(s.t.servers) > 1 || !c.srv.main {
		s.reason("%s: %s answers", c.rule, serverText(c.srv))
	}
	if !c.srv.main {
		s.reason("%s does not inherit the main server's directives, only the <Global> ones", c.srv.label)
	}
	s.addExtra(c.srv)
}

func serverText(srv *server) string {
	if srv.name != "" {
		return fmt.Sprintf("%s (ServerName %s)", srv.label, srv.name)
	}
	return srv.label
}

// addExtra puts the command line's tokens at the head of the server's
// list, as its first CapabilitiesSet.
func (s *session) addExtra(srv *server) {
	if len(s.in.Extra) == 0 {
		return
	}
	args := make([]string, len(s.in.Extra))
	for i, t := range s.in.Extra {
		args[i] = t.String()
	}
	srv.conf.insertHead(&rec{kind: recParam, name: "CapabilitiesSet", args: args, multi: true, via: "the command-line tokens"})
}

// limits is phase 4: the session's class, then login_check_limits on the
// server's list (into <Anonymous>, OR mode) before the banner.
func (s *session) limits() {
	l := s.in.Login
	client := l.Client
	if client == "" {
		client = "127.0.0.1"
	}
	ca, ok := parseNumericAddr(client)
	if !ok {
		addrs, found := s.res.LookupHost(client)
		if !found {
			s.refuse("connect", "", "the client address %s does not resolve", client)
			return
		}
		ca = addrs[0]
	}
	s.mapped = s.t.ipv6 && !s.t.bindTight && ca.Is4()
	p := peer{addr: ca, ipText: ca.String(), reverseDNS: s.t.reverseDNS, mapped: s.mapped}
	if s.mapped {
		p.ipText = "::ffff:" + ca.String()
	}
	p.dns = p.ipText
	if s.t.reverseDNS {
		if name, ok := s.res.LookupAddr(ca); ok {
			p.dns = name
		}
	}
	s.client = p
	switch {
	case l.Class != "":
		s.w.class, s.w.hasClass = l.Class, true
		s.reason("the session's class is %s, as given", l.Class)
	default:
		if c := matchClass(s.t.classes, p); c != nil {
			s.w.class, s.w.hasClass = c.name, true
			s.pr.Class = c.name
			s.reason("the client %s is in <Class %s> at %s, the first class in the file whose rules it satisfies", client, c.name, c.node.Pos)
		} else if len(s.t.classes) > 0 {
			s.reason("the client %s is in no <Class>", client)
		}
	}
	if l.Class != "" {
		s.pr.Class = l.Class
	}
	ok, _, sec, by := loginLimits(s.srv.conf, true, false, s.w, s.client)
	if !ok {
		s.refuse("connect", lineOf(by, sec), "the connection closes before the banner (\"Connection from %s denied\"): %s", client, limitWhy(sec, by))
	}
}

func lineOf(rs ...*rec) string {
	for _, r := range rs {
		if r != nil && r.pos() != "" {
			return r.pos()
		}
	}
	return ""
}

// sessInit is phase 5: modules_session_init. mod_ifsession (a DSO on
// Debian, so initialised before the compiled-in modules) merges the
// matching <IfClass> sections; then mod_cap's cap_sess_init.
func (s *session) sessInit() {
	if s.modules["mod_ifsession.c"] {
		for _, m := range mergeKind(s.srv.conf, ifClass, s.w) {
			s.mergedAny = true
			s.mergeReason(m, "at connect, before mod_cap's session init")
		}
	}
	s.useCaps, s.flags = true, capChown|capSetuid
	s.capSessInit()
}

// mergeReason explains one merge and what it removed.
func (s *session) mergeReason(m merged, when string) {
	label := m.sec.label()
	if m.sec.via != "" {
		label += " (" + m.sec.via + ")"
	}
	s.reason("%s matches this login: merged %s (its directives go to the head of the server's list)", label, when)
	for _, r := range m.removed {
		if !interesting[r.gone.name] && r.gone.kind != recDir {
			continue
		}
		what := fmt.Sprintf("%s %s", r.gone.name, strings.Join(r.gone.args, " "))
		if r.gone.kind == recDir {
			what = r.gone.label()
		}
		s.reason("merging its %s (%s) removed %s (%s)", r.by.name, r.by.pos(), strings.TrimSpace(what), r.gone.where())
	}
}

// interesting are the directives whose removal a reason mentions.
var interesting = map[string]bool{
	"CapabilitiesEngine": true, "CapabilitiesRootRevoke": true, "RootRevoke": true, "RootLogin": true,
	"UserOwner": true, "UseFtpUsers": true, "AuthOrder": true, "AuthUserFile": true,
}

// capSessInit is cap_sess_init on main_server.
func (s *session) capSessInit() {
	if s.useCaps {
		if e := find(s.srv.conf, recParam, "CapabilitiesEngine", false); e != nil && !boolArg(e) {
			s.useCaps = false
			s.engineOffAt = e.where()
		}
	}
	if !s.useCaps {
		return
	}
	s.setuidBy = ""
	if s.modules["mod_sftp.c"] {
		if e := find(s.srv.conf, recParam, "SFTPEngine", false); e != nil && boolArg(e) {
			s.setuidBy = fmt.Sprintf("SFTPEngine on (%s)", e.where())
		}
	}
	if s.setuidBy == "" && s.modules["mod_exec.c"] {
		if e := find(s.srv.conf, recParam, "ExecEngine", false); e != nil && boolArg(e) {
			s.setuidBy = fmt.Sprintf("ExecEngine on (%s)", e.where())
		}
	}
	if s.setuidBy == "" {
		// RootRevoke is read as a byte: only 1 (on) counts, not 2
		// (UseNonCompliantActiveTransfers).
		if r := find(s.srv.conf, recParam, "RootRevoke", false); r != nil && len(r.args) > 0 {
			if v, ok := ParseBool(r.args[0]); ok && v {
				s.setuidBy = fmt.Sprintf("RootRevoke %s (%s)", r.args[0], r.where())
			}
		}
	}
	if s.setuidBy != "" {
		s.flags |= capSetuid
	}
	if s.pam {
		s.flags |= capAuditWrite
	}
}

// host is phase 6: each HOST command before USER.
func (s *session) host() {
	for _, h := range s.in.Login.Hosts {
		s.hostOne(h)
		if s.pr.Refused {
			return
		}
	}
}

func (s *session) hostOne(h string) {
	localText := s.local.String()
	if s.mapped {
		localText = "::ffff:" + s.local.String()
	}
	host := h
	if strings.HasPrefix(h, "[") {
		if !s.t.ipv6 {
			s.reason("HOST %s: 501 Invalid hostname provided (UseIPv6 is off); the session stays on %s", h, s.srv.label)
			return
		}
		if !strings.HasSuffix(h, "]") || !isIPv6Text(h[1:len(h)-1]) {
			s.reason("HOST %s: 501 Invalid IPv6 address provided; the session stays on %s", h, s.srv.label)
			return
		}
		host = h[1 : len(h)-1]
	}
	switch {
	case isIPv4Text(host):
		if isIPv4Text(localText) && !strings.HasPrefix(localText, host) {
			s.reason("HOST %s: 504 Unknown hostname provided (the connection reached %s); the session stays on %s", h, localText, s.srv.label)
			return
		}
		s.reason("HOST %s: 220 HOST command successful; an address changes nothing, the session stays on %s", h, s.srv.label)
		return
	case isIPv6Text(host):
		s.reason("HOST %s: an address changes nothing; the session stays on %s", h, s.srv.label)
		return
	case strings.Contains(host, ":"):
		s.reason("HOST %s: 501 Invalid hostname provided; the session stays on %s", h, s.srv.label)
		return
	}
	named := s.bt.nameServer(host, s.srv, s.port)
	if named == nil {
		s.reason("HOST %s: 504 Unknown hostname provided: no ServerAlias of a <VirtualHost> bound where the connection arrived matches it; the session stays on %s", h, s.srv.label)
		return
	}
	if named == s.srv {
		s.reason("HOST %s names %s, the server the session is on: nothing is re-initialised", h, s.srv.label)
		return
	}
	s.reason("HOST %s switches the session to %s; mod_cap and the auth modules start again for it, mod_ifsession does not (its <IfClass> sections are not merged)", h, serverText(named))
	s.srv = named
	s.pr.Server = named.label
	s.addExtra(named)
	s.useCaps, s.flags, s.reinit = true, 0, true
	s.engineOffAt = ""
	s.capSessInit()
}

func isIPv4Text(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

func isIPv6Text(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

// userPass is phase 7: mod_auth's setup_env for USER and PASS (the
// password is taken to be right).
func (s *session) userPass() {
	conf := s.srv.conf
	l := s.in.Login
	user, anon, alias := anonConfig(conf, l.User)
	s.anon = anon
	if find(conf, recParam, "AuthAliasOnly", true) != nil {
		s.warn("AuthAliasOnly is set: captune does not follow how it changes the choice of UserAlias and <Anonymous>")
	}
	if alias != nil {
		s.reason("UserAlias %s (%s) makes the login %s the user %s", strings.Join(alias.args, " "), alias.where(), l.User, user)
	}
	if anon != nil {
		s.reason("the login %s selects %s: the session runs as %s", l.User, anon.label(), user)
	}
	if !s.account(conf, user) {
		return
	}
	ctx := conf
	if anon != nil {
		ctx = anon.sub
	}
	if s.uid == 0 && !s.rootLogin(ctx) {
		return
	}
	if !s.loginLimitsAtPass(conf) {
		return
	}
	if s.in.Users != nil && s.in.Users.Shells != nil && s.acct.Shell != "" {
		if rvs := find(ctx, recParam, "RequireValidShell", false); rvs == nil || boolArg(rvs) {
			if !listed(s.in.Users.Shells, s.acct.Shell) {
				line := ""
				set := "RequireValidShell is on by default"
				if rvs != nil {
					line, set = rvs.pos(), fmt.Sprintf("RequireValidShell %s (%s)", rvs.args[0], rvs.where())
				}
				s.refuse("PASS", line, "530 Login incorrect: the shell %s of %s is not in /etc/shells and %s", s.acct.Shell, s.acct.Name, set)
				return
			}
		}
	}
	uf := find(ctx, recParam, "UseFtpUsers", false)
	if uf == nil || boolArg(uf) {
		switch {
		case s.in.Users != nil && s.in.Users.FTPUsers != nil:
			if ftpusersListed(s.in.Users.FTPUsers, s.acct.Name) {
				line := ""
				set := "UseFtpUsers is on by default"
				if uf != nil {
					line, set = uf.pos(), fmt.Sprintf("UseFtpUsers %s (%s)", uf.args[0], uf.where())
				}
				s.refuse("PASS", line, "530 Login incorrect: /etc/ftpusers lists %s and %s", s.acct.Name, set)
				return
			}
		case s.uid == 0:
			s.warn("/etc/ftpusers was not read: if it lists root (Debian's does), proftpd refuses this login")
		}
	}
	if anon != nil && s.in.Users != nil && s.in.Users.DirExists != nil {
		if exists, known := s.in.Users.DirExists(anon.name); known && !exists {
			s.refuse("PASS", anon.pos(), "530 Unable to set anonymous privileges: the folder of %s does not exist", anon.label())
			return
		}
	}
}

// account finds who the session runs as: as given when the uid is
// known, else through the server's auth modules.
func (s *session) account(conf *list, user string) bool {
	l := s.in.Login
	groups := l.Groups
	switch {
	case l.UIDKnown || s.in.Users == nil:
		s.acct = Account{Name: user, UID: l.UID}
		if user == "" {
			s.acct.Name = ""
		}
	default:
		u, how, err := s.lookupUser(conf, user)
		if err == nil && u.acct.Name == "" && s.anon != nil {
			if real := find(s.anon.sub, recParam, "UserName", false); real != nil && len(real.args) > 0 && real.args[0] != user {
				u, how, err = s.lookupUser(conf, real.args[0])
			}
		}
		switch {
		case err != nil:
			s.acct = Account{Name: user, UID: l.UID}
			s.warn("the user %s could not be looked up (%v): assumed uid %d", user, err, l.UID)
		case u.acct.Name == "":
			line := ""
			if o := find(conf, recParam, "AuthOrder", false); o != nil {
				line = o.pos()
			} else if f := find(conf, recParam, "AuthUserFile", false); f != nil {
				line = f.pos()
			}
			s.refuse("PASS", line, "530 Login incorrect: no auth module of %s knows the user %s (%s)", s.srv.label, user, how)
			return false
		default:
			s.acct = u.acct
			if len(groups) == 0 {
				groups = u.groups
				if u.group != "" && (len(groups) == 0 || groups[0] != u.group) {
					groups = append([]string{u.group}, groups...)
				}
			}
			s.reason("%s finds the user %s: uid %d, gid %d (%s)", u.by, u.acct.Name, u.acct.UID, u.acct.GID, how)
		}
	}
	s.uid = s.acct.UID
	s.w.user, s.w.userKnown = s.acct.Name, s.acct.Name != "" || l.User != ""
	if len(groups) > 0 {
		s.w.group = groups[0]
	}
	s.w.groups, s.w.groupsKnown = groups, true
	if s.anon != nil {
		if g := find(s.anon.sub, recParam, "GroupName", false); g != nil && len(g.args) > 0 {
			s.w.group = g.args[0]
		}
	}
	s.pr.User = s.acct.Name
	return true
}

// rootLogin is setup_env's check for uid 0: the first RootLogin record
// of the server (of the <Anonymous> for an anonymous login), read before
// the PASS merges.
func (s *session) rootLogin(ctx *list) bool {
	rl := find(ctx, recParam, "RootLogin", false)
	on := boolArg(rl)
	switch {
	case rl == nil && s.in.Login.AssumeRootLogin:
		s.reason("no RootLogin directive: assumed RootLogin on, as asked; uid 0 keeps everything mod_cap sets in effect")
		return true
	case !on:
		why := "proftpd refuses root logins unless RootLogin is on (it is checked at PASS, before <IfUser> and <IfGroup> merge)"
		line := ""
		if rl != nil {
			why += fmt.Sprintf(" (RootLogin %s, %s)", rl.args[0], rl.where())
			line = rl.pos()
		}
		s.refuse("PASS", line, "530 Login incorrect: %s", why)
		return false
	}
	s.reason("RootLogin on (%s) lets root log in; uid 0 keeps everything mod_cap sets in effect", rl.where())
	return true
}

// loginLimitsAtPass is setup_env's <Limit LOGIN> check: the server's top
// level in AND mode, and for an anonymous login its <Anonymous>'s own,
// which also overrides a server-level denial when it answers.
func (s *session) loginLimitsAtPass(conf *list) bool {
	aclp, _, sec, by := loginLimits(conf, false, true, s.w, s.client)
	if s.anon != nil {
		ok, found, asec, aby := loginLimits(s.anon.sub, false, true, s.w, s.client)
		if !ok {
			s.refuse("PASS", lineOf(aby, asec), "530 Login incorrect: %s", limitWhy(asec, aby))
			return false
		}
		if !aclp && found == 0 {
			s.refuse("PASS", lineOf(by, sec), "530 Login incorrect: %s", limitWhy(sec, by))
			return false
		}
		return true
	}
	if !aclp {
		s.refuse("PASS", lineOf(by, sec), "530 Login incorrect: %s", limitWhy(sec, by))
		return false
	}
	return true
}

// postPass is phase 8: the POST_CMD handlers of PASS, highest priority
// first: mod_ifsession's merges, mod_cap's cap_post_pass, mod_auth's
// root revoke decision.
func (s *session) postPass() {
	conf := s.srv.conf
	if s.modules["mod_ifsession.c"] {
		for _, k := range []ifKind{ifAuthn, ifGroup, ifUser} {
			for _, m := range mergeKind(conf, k, s.w) {
				s.mergedAny = true
				s.mergeReason(m, "after PASS")
			}
		}
		if s.mergedAny {
			top := conf
			if s.anon != nil {
				top = s.anon.sub
			}
			if ok, _, sec, by := loginLimits(top, false, true, s.w, s.client); !ok {
				s.refuse("after PASS", lineOf(by, sec), "mod_ifsession re-checks <Limit LOGIN> after its merges and disconnects: the client gets no reply to PASS (%s)", limitWhy(sec, by))
				return
			}
		}
	}
	s.capPostPass(conf)
	s.authPostPass(conf)
}

// capPostPass is cap_post_pass: the engine, then the first
// CapabilitiesSet, then CapabilitiesRootRevoke.
func (s *session) capPostPass(conf *list) {
	pr := s.pr
	eng := find(conf, recParam, "CapabilitiesEngine", false)
	switch {
	case !s.useCaps:
		pr.Engine = false
		if s.engineOffAt != "" {
			s.reason("CapabilitiesEngine off (%s): mod_cap leaves the session alone", s.engineOffAt)
		}
		if eng != nil && boolArg(eng) && eng.via != "" && strings.HasPrefix(eng.via, "merged") {
			s.warn("CapabilitiesEngine on (%s) cannot re-enable mod_cap: it was already switched off when the session started", eng.where())
		}
	case eng != nil && !boolArg(eng):
		s.useCaps = false
		pr.Engine = false
		s.reason("CapabilitiesEngine off (%s): mod_cap leaves the session alone", eng.where())
	default:
		pr.Engine = true
	}
	if cs := find(conf, recParam, "CapabilitiesSet", false); cs != nil {
		toks, _ := ParseTokens(cs.args)
		f := Apply(toks)
		if s.useCaps {
			s.flags = flagsOf(f)
			s.reason("CapabilitiesSet %s (%s) replaces the defaults; it is the first CapabilitiesSet proftpd finds for this login", strings.Join(cs.args, " "), cs.where())
			if s.pam {
				s.reason("any CapabilitiesSet line drops CAP_AUDIT_WRITE, which PAM uses for audit records (pam_loginuid and friends)")
			}
			for _, t := range toks {
				if !t.Effective() {
					s.warn("%s does nothing: mod_cap ignores that sign for %s", t, t.Cap.Upper())
				}
			}
		} else {
			s.flags = flagsOf(f)
		}
	} else if s.useCaps {
		switch {
		case s.reinit:
			what := "CAP_NET_BIND_SERVICE"
			if s.setuidBy != "" {
				what += ", CAP_SETUID/CAP_SETGID (because of " + s.setuidBy + ")"
			}
			if s.pam {
				what += " and CAP_AUDIT_WRITE (mod_auth_pam is loaded)"
			}
			s.reason("no CapabilitiesSet: mod_cap's restart after HOST cleared its defaults, so it keeps only %s", what)
			if s.setuidBy == "" {
				s.reason("without CAP_SETUID in the kept set, mod_auth's root revoke cannot run its seteuid(0), so the kept set stays in effect")
			}
		case s.pam:
			s.reason("no CapabilitiesSet: mod_cap keeps its defaults, CAP_CHOWN, CAP_SETUID/CAP_SETGID and CAP_NET_BIND_SERVICE, plus CAP_AUDIT_WRITE because mod_auth_pam is loaded")
		default:
			s.reason("no CapabilitiesSet: mod_cap keeps its defaults, CAP_CHOWN, CAP_SETUID/CAP_SETGID and CAP_NET_BIND_SERVICE")
		}
	}
	if !s.useCaps && !s.reinit {
		// Reported for what-if views: the set a live engine would keep.
		if find(conf, recParam, "CapabilitiesSet", false) == nil {
			s.flags = capChown | capSetuid
			if s.pam {
				s.flags |= capAuditWrite
			}
		}
	}
	pr.Kept = s.flags.kept()
	s.capRevoke = true
	if c := find(conf, recParam, "CapabilitiesRootRevoke", false); c != nil {
		s.capRevoke = boolArg(c)
		if !s.capRevoke && s.useCaps {
			s.reason("CapabilitiesRootRevoke off (%s): mod_cap leaves uid 0 as the real uid", c.where())
		}
	}
}

// authPostPass is auth_post_pass's root revoke decision: the first
// RootRevoke at the server's top level, else a UserOwner anywhere in its
// tree.
func (s *session) authPostPass(conf *list) {
	s.rootRevoke = true
	if r := find(conf, recParam, "RootRevoke", false); r != nil && len(r.args) > 0 {
		v, _ := rootRevokeValue(r.args[0])
		s.rootRevoke = v
		switch {
		case !v:
			s.reason("RootRevoke off (%s): mod_auth does not give up root after login", r.where())
		case !strings.EqualFold(r.args[0], "on"):
			s.reason("RootRevoke %s (%s) counts as on", r.args[0], r.where())
		}
		if s.anon != nil {
			if ar := find(s.anon.sub, recParam, "RootRevoke", false); ar != nil && ar.via == "" {
				s.reason("RootRevoke %s inside %s (%s) is ignored: mod_auth reads only the server's own", ar.args[0], s.anon.label(), ar.where())
			}
		}
		return
	}
	if uo := find(conf, recParam, "UserOwner", true); uo != nil {
		s.rootRevoke = false
		s.reason("UserOwner at %s needs root, so mod_auth keeps root (no RootRevoke line says otherwise)", uo.where())
	}
	if s.anon != nil {
		if ar := find(s.anon.sub, recParam, "RootRevoke", false); ar != nil && ar.via == "" {
			s.reason("RootRevoke %s inside %s (%s) is ignored: mod_auth reads only the server's own", ar.args[0], s.anon.label(), ar.where())
		}
	}
}
