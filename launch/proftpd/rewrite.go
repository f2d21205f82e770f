package proftpd

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"captune/capset/modcap"
)

// A whole-file run (verify --config) runs the user's configuration as
// proftpd reads it (Include expanded, <IfModule>/<IfDefine> evaluated,
// every section and directive kept, in file order) with only what a
// throwaway run must change, each change listed:
//
//   - files the run would write outside its folder: PidFile,
//     ScoreboardFile, ScoreboardMutex, DelayTable, ControlsSocket, every
//     log (SystemLog, TransferLog, ExtendedLog, ServerLog, ControlsLog,
//     TraceLog and any other module's *Log with a path) and the tables of
//     mod_ban, mod_shaper and mod_rewrite: every occurrence is replaced (of
//     a directive written twice proftpd takes the first or the last, so
//     appending an override is not enough), and where a server has none
//     the run adds one (a <VirtualHost> inherits none of the main
//     server's), so proftpd's compiled-in defaults (/run/proftpd.pid,
//     /var/log/xferlog ...) are never used;
//   - WtmpLog and UseLastlog: off (their files cannot be redirected);
//   - the test user's authentication: AuthOrder starts with mod_auth_file
//     (the system's modules follow, so UserOwner/GroupOwner targets and
//     groups resolve as in production), and every AuthUserFile becomes a
//     private copy of itself in which the test user has a random
//     password. The test user is whoever proftpd would find: the file's
//     own entry, else this machine's account (copied with its uid, gid,
//     home and shell), else, for a name known nowhere, a virtual user.
//
// Nothing else changes: not UseFtpUsers, RootLogin, <Limit>, <Class>,
// <Directory> (whose paths need not exist), Port or any address (the run
// has a network of its own). A file with effects a run cannot contain
// (programs run by mod_exec, databases, TLS or SFTP, ServerType inetd, a
// module captune does not know) is refused with the reason.

// Change is one line of the file that a whole-file run changed, or one it
// added.
type Change struct {
	// Pos is the line in the user's file; zero for a line captune added.
	Pos modcap.Pos
	// Server names where the line is: "the main server",
	// "<VirtualHost ...>", "<Global>" (every server).
	Server string
	// Directive is the directive's name.
	Directive string
	// Was is the line as written (empty for an added line); Now is the
	// line that ran.
	Was, Now string
	// Why says why a throwaway run had to change it.
	Why string
}

// String prints the change on one line.
func (c Change) String() string {
	if c.Was == "" {
		return fmt.Sprintf("added to %s: %s (%s)", c.Server, c.Now, c.Why)
	}
	return fmt.Sprintf("%s: %s -> %s (%s)", c.Pos, c.Was, c.Now, c.Why)
}

// UnfaithfulError is a configuration verify cannot run as it is: running
// it would act outside the run (a program, a database, the network), or
// captune cannot tell whether it would.
type UnfaithfulError struct {
	// Pos is the line that decides it (zero when none does).
	Pos modcap.Pos
	// Why says what a throwaway run cannot contain.
	Why string
}

func (e *UnfaithfulError) Error() string {
	if e.Pos.Line == 0 {
		return "cannot run this configuration faithfully: " + e.Why
	}
	return fmt.Sprintf("cannot run the line at %s faithfully: %s", e.Pos, e.Why)
}

// planInput is what a whole-file run is made from.
type planInput struct {
	cfg *modcap.Config
	// private is the run's private folder (configuration, users,
	// logs); home a folder a virtual user's home may be.
	private, home string
	// user is the login name ("" for DefaultUser); password its hash.
	user, hash string
	// tokens, when given, become the first CapabilitiesSet of every
	// server (a "what if").
	tokens []modcap.Token
	// connect is --connect (empty: the main server's address and
	// port); client is --client (empty: loopback).
	connect, client string
	// hosts are the names sent with HOST before USER (--host).
	hosts []string
	// modules are the compiled-in modules (proftpd -l).
	modules []string
	sys     *system
}

// plan is a whole-file run, ready to write.
type plan struct {
	// text is the configuration that runs; origin[i] is where its line
	// i+1 comes from (zero for a line captune added), changed[i] whether
	// captune changed or added it.
	text    string
	origin  []modcap.Pos
	changed []bool
	changes []Change
	// files are the private files to write (name in the private folder
	// -> content).
	files map[string]string
	// authFiles are the user and group files the run's configuration
	// names (the private copies and the file's own that stay), path ->
	// content, for the prediction's user lookup.
	authFiles map[string]string
	// account is the test user; notes are facts worth saying.
	account Account
	notes   []string
	// target is where the client connects; client its own address;
	// addrs the addresses the network needs on lo.
	target netip.AddrPort
	client netip.Addr
	addrs  []netip.Addr
	// pidFile is the private PidFile (the run waits for it); logs are
	// the private SystemLog files (proftpd logs there, not to standard
	// error, when the file sets one).
	pidFile string
	logs    []string
}

// srv is one server of the file: the main server or a <VirtualHost>.
type srv struct {
	label string
	node  *modcap.Node
	own   []*modcap.Node
	// How the test user logs in here: the auth modules in order, the
	// first AuthUserFile, AuthGroupFile and AuthOrder of the server's
	// list, and the account proftpd would find (nil: none).
	chain         []string
	auf, agf, ord *modcap.Node
	rec           *userRec
}

// userRec is the account a server finds for the test user.
type userRec struct {
	pw pwEntry
	// source is "system", "virtual", or the AuthUserFile's path.
	source string
}

func (r *userRec) same(o *userRec) bool {
	if r == nil || o == nil {
		return r == o
	}
	return r.source == o.source && r.pw == o.pw
}

type planner struct {
	in      planInput
	p       *plan
	servers []*srv // the main server first
	globals []*modcap.Node
	// repl are replaced arguments; before are lines written before a
	// node; add are lines added at the end of a server.
	repl    map[*modcap.Node][]string
	before  map[*modcap.Node][]string
	add     map[*srv][]string
	where   map[*modcap.Node]string
	users   map[*modcap.Node][]*srv
	private map[string]string // directive+path -> private path
	taken   map[string]bool
	authBuf map[string][]byte
}

// makePlan plans a whole-file run of in.cfg.
func makePlan(in planInput) (*plan, error) {
	pl := &planner{in: in, p: &plan{files: map[string]string{}},
		repl: map[*modcap.Node][]string{}, before: map[*modcap.Node][]string{}, add: map[*srv][]string{},
		where: map[*modcap.Node]string{}, users: map[*modcap.Node][]*srv{}, private: map[string]string{},
		taken: map[string]bool{}, authBuf: map[string][]byte{}}
	pl.layout()
	if err := pl.refusals(); err != nil {
		return nil, err
	}
	if err := pl.network(); err != nil {
		return nil, err
	}
	pl.dnsNote()
	pl.outsideFiles()
	if err := pl.auth(); err != nil {
		return nil, err
	}
	pl.whatIf()
	pl.emit()
	pl.p.authFiles = map[string]string{}
	for path, b := range pl.authBuf {
		pl.p.authFiles[path] = string(b)
	}
	for path, content := range pl.p.files {
		pl.p.authFiles[path] = content
	}
	return pl.p, nil
}

// layout finds the servers and the <Global> sections in proftpd's order
// (fixup_globals: every server's own records, then the main server's
// <Global>s, last in the file first, then each <VirtualHost>'s).
func (pl *planner) layout() {
	main := &srv{label: "the main server"}
	pl.servers = []*srv{main}
	var mainGlobals, vhostGlobals []*modcap.Node
	for _, n := range pl.in.cfg.Top {
		switch {
		case n.Section && n.Is("<VirtualHost>"):
			v := &srv{label: "<VirtualHost " + strings.Join(n.Args, " ") + ">", node: n, own: n.Children}
			pl.servers = append(pl.servers, v)
			var gs []*modcap.Node
			for _, c := range n.Children {
				if c.Section && c.Is("<Global>") {
					gs = append([]*modcap.Node{c}, gs...)
				}
			}
			vhostGlobals = append(vhostGlobals, gs...)
		case n.Section && n.Is("<Global>"):
			mainGlobals = append([]*modcap.Node{n}, mainGlobals...)
			main.own = append(main.own, n)
		default:
			main.own = append(main.own, n)
		}
	}
	pl.globals = append(mainGlobals, vhostGlobals...)
	var walk func(ns []*modcap.Node, where string, owners []*srv)
	walk = func(ns []*modcap.Node, where string, owners []*srv) {
		for _, n := range ns {
			w, o := where, owners
			switch {
			case n.Section && n.Is("<VirtualHost>"):
				for _, s := range pl.servers {
					if s.node == n {
						w, o = s.label, []*srv{s}
					}
				}
			case n.Section && n.Is("<Global>"):
				w, o = "<Global>", pl.servers
			}
			pl.where[n] = w
			pl.users[n] = o
			if n.Section {
				walk(n.Children, w, o)
			}
		}
	}
	walk(pl.in.cfg.Top, main.label, []*srv{main})
}

// top is a server's list as mod_cap and mod_auth look things up in it:
// its own plain directives, then those of every <Global>.
func (pl *planner) top(s *srv) []*modcap.Node {
	var out []*modcap.Node
	for _, n := range s.own {
		if !n.Section {
			out = append(out, n)
		}
	}
	for _, g := range pl.globals {
		for _, n := range g.Children {
			if !n.Section {
				out = append(out, n)
			}
		}
	}
	return out
}

func (pl *planner) first(s *srv, name string) *modcap.Node {
	for _, n := range pl.top(s) {
		if n.Is(name) {
			return n
		}
	}
	return nil
}

// each calls f for every directive of the file, sections' own lines
// included.
func (pl *planner) each(f func(n *modcap.Node)) {
	var walk func(ns []*modcap.Node)
	walk = func(ns []*modcap.Node) {
		for _, n := range ns {
			f(n)
			if n.Section {
				walk(n.Children)
			}
		}
	}
	walk(pl.in.cfg.Top)
}

// nodeText prints a node's line as proftpd reads it back.
func nodeText(name string, args []string) string {
	if len(args) == 0 {
		return name
	}
	return name + " " + quoteArgs(args)
}

func isOn(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch strings.ToLower(args[0]) {
	case "on", "yes", "true", "1":
		return true
	}
	return false
}

func (pl *planner) change(n *modcap.Node, args []string, why string) {
	pl.repl[n] = args
	pl.p.changes = append(pl.p.changes, Change{Pos: n.Pos, Server: pl.where[n], Directive: n.Name,
		Was: nodeText(n.Name, n.Args), Now: nodeText(n.Name, args), Why: why})
}

func (pl *planner) addLine(s *srv, name string, args []string, why string) {
	pl.add[s] = append(pl.add[s], nodeText(name, args))
	pl.p.changes = append(pl.p.changes, Change{Server: s.label, Directive: name, Now: nodeText(name, args), Why: why})
}

// knownModules are the modules captune knows what they do outside a run:
// Debian's proftpd-core and the proftpd-mod-* packages.
var knownModules = map[string]bool{}

func init() {
	for _, m := range strings.Fields(`mod_core.c mod_xfer.c mod_rlimit.c mod_auth_unix.c mod_auth_file.c
		mod_auth.c mod_ls.c mod_log.c mod_site.c mod_delay.c mod_facts.c mod_dso.c mod_auth_pam.c mod_cap.c
		mod_ctrls.c mod_lang.c mod_auth_otp.c mod_ban.c mod_copy.c mod_ctrls_admin.c mod_deflate.c
		mod_digest.c mod_dnsbl.c mod_dynmasq.c mod_exec.c mod_facl.c mod_ident.c mod_ifsession.c
		mod_ifversion.c mod_load.c mod_log_forensic.c mod_memcache.c mod_qos.c mod_quotatab.c
		mod_quotatab_file.c mod_quotatab_radius.c mod_quotatab_sql.c mod_radius.c mod_ratio.c mod_readme.c
		mod_redis.c mod_rewrite.c mod_shaper.c mod_site_misc.c mod_sql.c mod_statcache.c mod_unique_id.c
		mod_wrap2.c mod_wrap2_file.c mod_wrap2_redis.c mod_wrap2_sql.c mod_sql_mysql.c mod_sql_postgres.c
		mod_sql_sqlite.c mod_sql_odbc.c mod_sql_passwd.c mod_ldap.c mod_tls.c mod_tls_memcache.c
		mod_tls_redis.c mod_tls_shmcache.c mod_tls_fscache.c mod_sftp.c mod_sftp_pam.c mod_sftp_sql.c
		mod_geoip.c mod_snmp.c mod_vroot.c mod_wrap.c mod_quotatab_ldap.c`) {
		knownModules[m] = true
	}
}

// refusals are directives whose effects a throwaway run cannot contain,
// and when they count.
var refusals = []struct {
	name string
	when func(args []string) bool
	why  string
}{
	{"ServerType", func(a []string) bool { return len(a) > 0 && strings.EqualFold(a[0], "inetd") }, "ServerType inetd: the server is started by inetd for each connection, and captune runs proftpd -n as a standalone server"},
	{"SQLConnectInfo", always, "mod_sql talks to a database outside the run"},
	{"SQLNamedConnectInfo", always, "mod_sql talks to a database outside the run"},
	{"LDAPServer", always, "mod_ldap talks to a directory server outside the run"},
	{"RadiusEngine", isOn, "mod_radius talks to a RADIUS server outside the run"},
	{"MemcacheServers", always, "mod_memcache talks to memcached servers outside the run"},
	{"RedisServer", always, "mod_redis talks to a Redis server outside the run"},
	{"RedisSentinel", always, "mod_redis talks to Redis servers outside the run"},
	{"BanCache", always, "mod_ban shares its bans through a cache outside the run"},
	{"TLSEngine", isOn, "mod_tls is on: captune's client speaks plain FTP, and the server's keys and caches belong to the real server"},
	{"SFTPEngine", isOn, "mod_sftp is on: the server speaks SSH, and captune's client speaks FTP"},
	{"QuotaEngine", isOn, "mod_quotatab keeps its tallies in tables outside the run"},
	{"SNMPEngine", isOn, "mod_snmp runs an agent on the network"},
	{"AuthOTPEngine", isOn, "mod_auth_otp keeps its one-time passwords in a database outside the run"},
	{"DNSBLDomain", always, "mod_dnsbl asks DNS servers, and the run has no network"},
	{"RewriteMap", func(a []string) bool { return len(a) > 1 && strings.HasPrefix(strings.ToLower(a[1]), "prg:") }, "a RewriteMap program runs outside the run"},
	{"RewriteMap", func(a []string) bool { return len(a) > 1 && strings.HasPrefix(strings.ToLower(a[1]), "fifo:") }, "a RewriteMap FIFO is served by a program outside the run"},
	{"SaveRatios", isOn, "mod_ratio writes its ratio files (RatioFile, RatioTempFile) outside the run"},
	{"WrapTables", sharedTables, "mod_wrap2 reads its tables from a database outside the run"},
	{"WrapUserTables", sharedTables, "mod_wrap2 reads its tables from a database outside the run"},
	{"WrapGroupTables", sharedTables, "mod_wrap2 reads its tables from a database outside the run"},
}

func always([]string) bool { return true }

func sharedTables(a []string) bool {
	for _, w := range a {
		if l := strings.ToLower(w); strings.HasPrefix(l, "sql:") || strings.HasPrefix(l, "redis:") {
			return true
		}
	}
	return false
}

// execCommands are mod_exec's directives that run a program.
var execCommands = []string{"ExecBeforeCommand", "ExecOnCommand", "ExecOnConnect", "ExecOnError", "ExecOnEvent", "ExecOnExit", "ExecOnRestart"}

func (pl *planner) refusals() error {
	var err error
	execOn := false
	var execCmd *modcap.Node
	pl.each(func(n *modcap.Node) {
		if err != nil || n.Section {
			return
		}
		if n.Is("LoadModule") && len(n.Args) > 0 && !knownModules[n.Args[0]] {
			err = &UnfaithfulError{Pos: n.Pos, Why: fmt.Sprintf("captune does not know what %s does outside a run", n.Args[0])}
			return
		}
		// mod_ldap has no switch: any of its lines makes it look users
		// up in a directory server (LDAPServer, else the one ldap.conf
		// names), which the run's private network cannot reach.
		if l := strings.ToLower(n.Name); strings.HasPrefix(l, "ldap") && l != "ldapserver" {
			err = &UnfaithfulError{Pos: n.Pos, Why: fmt.Sprintf("mod_ldap is configured (%s): it asks a directory server outside the run", n.Name)}
			return
		}
		if n.Is("ExecEngine") && isOn(n.Args) {
			execOn = true
		}
		for _, c := range execCommands {
			if n.Is(c) && execCmd == nil {
				execCmd = n
			}
		}
		for _, r := range refusals {
			if n.Is(r.name) && r.when(n.Args) {
				err = &UnfaithfulError{Pos: n.Pos, Why: r.why}
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if execOn && execCmd != nil {
		return &UnfaithfulError{Pos: execCmd.Pos, Why: execCmd.Name + " runs a program (mod_exec, ExecEngine on), which a throwaway run cannot contain"}
	}
	return nil
}

// serverPort is a server's port: its first Port record (mod_core's
// postparse), else 21.
func (pl *planner) serverPort(s *srv) (int, *modcap.Node) {
	if n := pl.first(s, "Port"); n != nil && len(n.Args) > 0 {
		if p, err := strconv.Atoi(n.Args[0]); err == nil && p >= 0 && p < 65536 {
			return p, n
		}
	}
	return 21, nil
}

// serverAddrs are the addresses a server is named by: a <VirtualHost>'s
// arguments, the main server's last DefaultAddress, else this machine's
// host name (each resolved through /etc/hosts).
func (pl *planner) serverAddrs(s *srv) []netip.Addr {
	var words []string
	if s.node != nil {
		words = s.node.Args
	} else {
		for _, n := range s.own {
			if !n.Section && n.Is("DefaultAddress") {
				words = n.Args
			}
		}
		if len(words) == 0 && pl.in.sys.hostname != "" {
			words = []string{pl.in.sys.hostname}
		}
	}
	var out []netip.Addr
	for _, w := range words {
		out = append(out, pl.in.sys.lookupHost(w)...)
	}
	return out
}

// network chooses where the client connects and from where, and the
// addresses the run's network needs.
func (pl *planner) network() error {
	main := pl.servers[0]
	port, pnode := pl.serverPort(main)
	var target netip.AddrPort
	if pl.in.connect == "" {
		if port == 0 {
			where := ""
			if pnode != nil {
				where = " (Port 0 at " + pnode.Pos.String() + ")"
			}
			return &usageErr{fmt.Sprintf("the main server takes no connections%s: name the server to test with --connect ADDR:PORT", where)}
		}
		addr := netip.MustParseAddr("127.0.0.1")
		if as := pl.serverAddrs(main); len(as) > 0 && !as[0].IsUnspecified() {
			addr = as[0]
		}
		target = netip.AddrPortFrom(addr, uint16(port))
	} else {
		host, portText := splitHostPort(pl.in.connect)
		addrs := pl.in.sys.lookupHost(host)
		if len(addrs) == 0 {
			return &usageErr{fmt.Sprintf("--connect %q: not an address, nor a name in /etc/hosts", pl.in.connect)}
		}
		addr := addrs[0]
		if portText != "" {
			p, err := strconv.Atoi(portText)
			if err != nil || p <= 0 || p > 65535 {
				return &usageErr{fmt.Sprintf("--connect %q: bad port %q", pl.in.connect, portText)}
			}
			port = p
		} else {
			port = pl.portOf(addr, port)
			if port == 0 {
				return &usageErr{fmt.Sprintf("--connect %q: the server there listens on Port 0: give the port (ADDR:PORT)", pl.in.connect)}
			}
		}
		target = netip.AddrPortFrom(addr, uint16(port))
	}
	client := netip.MustParseAddr("127.0.0.1")
	if target.Addr().Is6() {
		client = netip.IPv6Loopback()
	}
	if pl.in.client != "" {
		a, err := netip.ParseAddr(pl.in.client)
		if err != nil {
			return &usageErr{fmt.Sprintf("--client %q: not an IP address", pl.in.client)}
		}
		if a = a.Unmap(); a.Is4() != target.Addr().Is4() {
			return &usageErr{fmt.Sprintf("--client %s and the server's address %s are of different families", a, target.Addr())}
		}
		client = a
	}
	pl.p.target, pl.p.client = target, client
	seen := map[netip.Addr]bool{}
	need := func(a netip.Addr) {
		a = a.Unmap()
		if !a.IsValid() || a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() || seen[a] {
			return
		}
		seen[a] = true
		pl.p.addrs = append(pl.p.addrs, a)
	}
	for _, s := range pl.servers {
		for _, a := range pl.serverAddrs(s) {
			need(a)
		}
	}
	pl.each(func(n *modcap.Node) {
		if !n.Section && n.Is("DefaultAddress") {
			for _, w := range n.Args {
				for _, a := range pl.in.sys.lookupHost(w) {
					need(a)
				}
			}
		}
	})
	need(target.Addr())
	need(client)
	return nil
}

// portOf is the port of the first server named by addr, else def.
func (pl *planner) portOf(addr netip.Addr, def int) int {
	for _, s := range pl.servers {
		for _, a := range pl.serverAddrs(s) {
			if a == addr {
				p, _ := pl.serverPort(s)
				return p
			}
		}
	}
	return def
}

// serverAt guesses the server that answers the login: the one a
// connection to target reaches (named by its address and port, else the
// main server, which keeps its own address and port), then, for each
// HOST name in order, the <VirtualHost> on
// that address and port whose ServerAlias is the name. The run itself
// does not depend on it: proftpd chooses; the guess only says whose user
// database the test user comes from when servers disagree.
func (pl *planner) serverAt(target netip.AddrPort) *srv {
	at := pl.servers[0]
	on := func(s *srv) bool {
		if p, _ := pl.serverPort(s); p != int(target.Port()) {
			return false
		}
		for _, a := range pl.serverAddrs(s) {
			if a == target.Addr() {
				return true
			}
		}
		return false
	}
	// A <VirtualHost> on the main server's own address and port does
	// not take its connections (f7-vhost-same-addr-port-as-main,
	// f7-namevhost-same-addr-main-keeps).
	if !on(pl.servers[0]) {
		for _, s := range pl.servers[1:] {
			if on(s) {
				at = s
				break
			}
		}
	}
	for _, h := range pl.in.hosts {
		for _, s := range pl.servers[1:] {
			if !on(s) || !slices.ContainsFunc(s.own, func(n *modcap.Node) bool {
				return !n.Section && n.Is("ServerAlias") && slices.ContainsFunc(n.Args, func(a string) bool { return strings.EqualFold(a, h) })
			}) {
				continue
			}
			at = s
			break
		}
	}
	return at
}

func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			host, rest := s[1:i], s[i+1:]
			return host, strings.TrimPrefix(rest, ":")
		}
	}
	if strings.Count(s, ":") == 1 {
		i := strings.IndexByte(s, ':')
		return s[:i], s[i+1:]
	}
	return s, ""
}

// usageErr is bad input to verify (exit 2).
type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }

// IsUsage reports whether err is bad input (exit 2): a --connect or
// --client verify cannot use for this file.
func IsUsage(err error) bool {
	var u *usageErr
	return errors.As(err, &u)
}

// outsideRule is a directive naming a file outside the run.
type outsideRule struct {
	// file is the private file's name ("" derives one from the
	// directive); add is where a server without one gets one ("main",
	// "every", or ""), with module the module that must be loaded and
	// def proftpd's compiled-in default.
	file, add, module, def string
	why                    string
}

var outsideRules = map[string]outsideRule{
	"pidfile":         {file: "proftpd.pid", add: "main", def: "/run/proftpd.pid", why: "the real server's pid file"},
	"scoreboardfile":  {file: "proftpd.scoreboard", add: "main", def: "/run/proftpd.scoreboard", why: "the real server's scoreboard, which proftpd deletes at exit"},
	"scoreboardmutex": {file: "proftpd.scoreboard.lck", why: "the real server's scoreboard lock"},
	"delaytable":      {file: "proftpd.delay", add: "main", module: "mod_delay.c", def: "/run/proftpd.delay", why: "the real server's delay table"},
	"controlssocket":  {file: "proftpd.sock", add: "main", module: "mod_ctrls.c", def: "/run/proftpd.sock", why: "the real server's control socket, which proftpd replaces"},
	"transferlog":     {add: "every", def: "/var/log/xferlog", why: "a real log"},
	"systemlog":       {why: "a real log"},
	"serverlog":       {why: "a real log"},
	"extendedlog":     {why: "a real log"},
	"tracelog":        {why: "a real log"},
	"controlslog":     {why: "a real log"},
	"bantable":        {why: "mod_ban's real table"},
	"shapertable":     {why: "mod_shaper's real table"},
	"rewritelock":     {why: "mod_rewrite's real lock file"},
}

// offRules are switches whose files cannot be redirected.
var offRules = map[string]outsideRule{
	"wtmplog":    {add: "every", def: "on", why: "login records in /var/log/wtmp"},
	"uselastlog": {why: "login records in /var/log/lastlog"},
}

func isNone(args []string) bool {
	return len(args) > 0 && strings.EqualFold(args[0], "none")
}

// privatePath names the private file for a directive's original path:
// one per distinct path.
func (pl *planner) privatePath(lname, file, orig string) string {
	key := lname + "\x00" + orig
	if file != "" {
		key = lname
	}
	if p, ok := pl.private[key]; ok {
		return p
	}
	name := file
	if name == "" {
		name = lname
		for i := 2; pl.taken[name]; i++ {
			name = fmt.Sprintf("%s.%d", lname, i)
		}
	}
	pl.taken[name] = true
	p := filepath.Join(pl.in.private, name)
	pl.private[key] = p
	return p
}

// outsideFiles replaces every file the run would write outside its
// folder and adds the ones proftpd's defaults would write.
func (pl *planner) outsideFiles() {
	pl.each(func(n *modcap.Node) {
		if n.Section || len(n.Args) == 0 {
			return
		}
		lname := strings.ToLower(n.Name)
		if r, ok := offRules[lname]; ok {
			if isOn(n.Args) {
				pl.change(n, []string{"off"}, "it would write "+r.why)
			}
			return
		}
		r, ok := outsideRules[lname]
		if !ok {
			a := strings.ToLower(n.Args[0])
			if !(strings.HasSuffix(lname, "log") || strings.HasSuffix(lname, "logfile")) || !(strings.HasPrefix(a, "/") || strings.HasPrefix(a, "syslog:")) {
				return
			}
			r = outsideRule{why: "a real log"}
		}
		if isNone(n.Args) {
			return
		}
		args := append([]string{pl.privatePath(lname, r.file, n.Args[0])}, n.Args[1:]...)
		if lname == "systemlog" && !slices.Contains(pl.p.logs, args[0]) {
			pl.p.logs = append(pl.p.logs, args[0])
		}
		pl.change(n, args, "it would write "+r.why)
	})
	names := make([]string, 0, len(outsideRules)+len(offRules))
	for k := range outsideRules {
		names = append(names, k)
	}
	for k := range offRules {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, lname := range names {
		r, off := offRules[lname]
		if !off {
			r = outsideRules[lname]
		}
		if r.add == "" || (r.module != "" && !pl.in.cfg.Modules[r.module]) {
			continue
		}
		// An engine switched off writes no table and opens no socket.
		if engine := engineOf[lname]; engine != "" {
			if n := pl.first(pl.servers[0], engine); n != nil && !isOn(n.Args) {
				continue
			}
		}
		canon := canonical[lname]
		for i, s := range pl.servers {
			if r.add == "main" && i > 0 {
				continue
			}
			if pl.first(s, canon) != nil {
				continue
			}
			arg := "off"
			if !off {
				arg = pl.privatePath(lname, r.file, r.def)
			}
			pl.addLine(s, canon, []string{arg}, fmt.Sprintf("proftpd's default is %s: %s", r.def, r.why))
		}
	}
	pl.p.pidFile = pl.privatePath("pidfile", "proftpd.pid", "")
}

// engineOf names the switch that makes a default file unused.
var engineOf = map[string]string{"delaytable": "DelayEngine", "controlssocket": "ControlsEngine"}

var canonical = map[string]string{
	"pidfile": "PidFile", "scoreboardfile": "ScoreboardFile", "delaytable": "DelayTable",
	"controlssocket": "ControlsSocket", "transferlog": "TransferLog", "wtmplog": "WtmpLog",
}

// whatIf adds the tokens as every server's first CapabilitiesSet.
func (pl *planner) whatIf() {
	if len(pl.in.tokens) == 0 {
		return
	}
	line := strings.TrimSuffix(TokenDirectives(pl.in.tokens), "\n")
	args := strings.Fields(line)[1:]
	for _, s := range pl.servers {
		var at *modcap.Node
		for _, n := range s.own {
			if !n.Section && n.Is("CapabilitiesSet") {
				at = n
				break
			}
		}
		why := "the tokens given, as the server's first CapabilitiesSet"
		if at == nil {
			pl.addLine(s, "CapabilitiesSet", args, why)
			continue
		}
		pl.before[at] = append(pl.before[at], line)
		pl.p.changes = append(pl.p.changes, Change{Server: s.label, Directive: "CapabilitiesSet", Now: line, Why: why + ", before " + at.Pos.String()})
	}
}

// emit writes the configuration that runs, with each line's origin.
func (pl *planner) emit() {
	var b strings.Builder
	line := func(text string, pos modcap.Pos, changed bool) {
		b.WriteString(text + "\n")
		pl.p.origin = append(pl.p.origin, pos)
		pl.p.changed = append(pl.p.changed, changed)
	}
	line("# captune verify: "+filepath.Base(pl.in.cfg.Path)+" as proftpd reads it (Include, <IfModule>, <IfDefine> resolved), with the changes a throwaway run needs", modcap.Pos{}, true)
	var walk func(ns []*modcap.Node, indent string)
	walk = func(ns []*modcap.Node, indent string) {
		for _, n := range ns {
			for _, l := range pl.before[n] {
				line(indent+l, modcap.Pos{}, true)
			}
			if !n.Section {
				if args, ok := pl.repl[n]; ok {
					line(indent+nodeText(n.Name, args), n.Pos, true)
				} else {
					line(indent+nodeText(n.Name, n.Args), n.Pos, false)
				}
				continue
			}
			name := strings.TrimSuffix(strings.TrimPrefix(n.Name, "<"), ">")
			open := "<" + name
			if len(n.Args) > 0 {
				open += " " + quoteArgs(n.Args)
			}
			line(indent+open+">", n.Pos, false)
			walk(n.Children, indent+"  ")
			for _, s := range pl.servers {
				if s.node == n {
					for _, l := range pl.add[s] {
						line(indent+"  "+l, modcap.Pos{}, true)
					}
				}
			}
			line(indent+"</"+name+">", n.Pos, false)
		}
	}
	walk(pl.in.cfg.Top, "")
	if adds := pl.add[pl.servers[0]]; len(adds) > 0 {
		line("# added by captune for the main server", modcap.Pos{}, true)
		for _, l := range adds {
			line(l, modcap.Pos{}, true)
		}
	}
	pl.p.text = b.String()
}

// dnsNote says when the file judges clients by DNS name (<Class> From,
// <Limit> Allow/Deny): the run's private network has no DNS, so names
// resolve through /etc/hosts only, and a client production finds by its
// DNS name may fall into another class or rule.
func (pl *planner) dnsNote() {
	var first *modcap.Node
	pl.each(func(n *modcap.Node) {
		if first != nil || n.Section || !(n.Is("From") || n.Is("Allow") || n.Is("Deny") || n.Is("AllowFrom") || n.Is("DenyFrom")) {
			return
		}
		for _, a := range n.Args {
			for _, w := range strings.Split(a, ",") {
				if w = strings.TrimPrefix(strings.TrimSpace(w), "!"); isDNSWord(w) {
					first = n
					return
				}
			}
		}
	})
	if first != nil {
		pl.p.notes = append(pl.p.notes, fmt.Sprintf("%s judges clients by DNS name (%s): the run's private network has no DNS, names resolve through /etc/hosts only, so a client production finds by name may be judged differently", first.Pos, nodeText(first.Name, first.Args)))
	}
}

// isDNSWord reports whether a From/Allow/Deny word is a host name or
// domain rather than an address, network, glob of digits or keyword.
func isDNSWord(w string) bool {
	switch strings.ToLower(w) {
	case "", "all", "none", "from":
		return false
	}
	if _, err := netip.ParsePrefix(w); err == nil {
		return false
	}
	if _, err := netip.ParseAddr(strings.Trim(w, "[]")); err == nil {
		return false
	}
	return strings.ContainsFunc(w, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
}
