package modcap

import (
	"fmt"
	"strings"

	"captune/capset"
)

// Server is one server of a configuration: the main server or a
// <VirtualHost>, with its own directives (a vhost does not inherit the
// main server's).
type Server struct {
	// Label names it for people: "the main server" or "<VirtualHost 127.0.0.2> at f:l".
	Label string
	// Addrs are the <VirtualHost> addresses; empty for the main server.
	Addrs []string
	Pos   Pos
	Nodes []*Node
}

// Servers splits the configuration into the main server, its virtual
// hosts and the <Global> directives appended to each of them.
func (c *Config) Servers() (main Server, vhosts []Server, global []*Node) {
	main.Label = "the main server"
	for _, n := range c.Top {
		switch {
		case n.Section && n.Is("<VirtualHost>"):
			vhosts = append(vhosts, Server{
				Label: fmt.Sprintf("<VirtualHost %s> at %s", strings.Join(n.Args, " "), n.Pos),
				Addrs: n.Args, Pos: n.Pos, Nodes: n.Children,
			})
		case n.Section && n.Is("<Global>"):
			global = append(global, n.Children...)
		default:
			main.Nodes = append(main.Nodes, n)
		}
	}
	return main, vhosts, global
}

// Login describes the FTP login whose session process is predicted.
type Login struct {
	// User is the login name (the USER argument); UID its uid (0 for
	// root).
	User string
	UID  uint32
	// UIDKnown says the uid and groups are used as given; else the user
	// is looked up through the configuration's auth modules in
	// Input.Users (UID is the fallback when that cannot be done).
	UIDKnown bool
	// Groups are the user's group names, primary first. When the uid is
	// looked up, non-empty Groups replace the looked-up ones.
	Groups []string
	// Class forces the connection's <Class> (for <IfClass>, AllowClass
	// and DenyClass); empty means: the first <Class> whose rules Client
	// satisfies.
	Class string
	// Addr is the local address the connection reaches (an address or a
	// name); with Port it selects the server as proftpd's bindings do.
	// Empty means: a connection that reaches the main server.
	Addr string
	// Client is the client's address, which <Class> From rules and
	// <Limit> Allow/Deny judge; empty means 127.0.0.1.
	Client string
	// Port is the port the connection reaches; 0 means the port of the
	// server bound to Addr (else the main server's).
	Port int
	// Hosts are the names sent with HOST before USER, in order.
	Hosts []string
	// AssumeRootLogin treats a root login as allowed when no RootLogin
	// directive applies (an explicit RootLogin off still refuses it).
	AssumeRootLogin bool
}

// Input is everything a prediction depends on.
type Input struct {
	Config *Config
	Login  Login
	// PAM says whether mod_auth_pam is loaded (it is compiled into Debian's
	// proftpd). Nil means: decide from the configuration's module set.
	PAM *bool
	// MasterPermitted is the master's permitted set: a root master holds
	// its environment's bounding set.
	MasterPermitted capset.Set
	// MasterBounding is the master's bounding set, inherited unchanged.
	MasterBounding capset.Set
	// Extra tokens act as the first CapabilitiesSet line of the selected
	// server ("what if").
	Extra []Token
	// Users are the user databases, /etc/ftpusers and /etc/shells; nil
	// takes the login as Login describes it and checks none of them.
	Users *Users
	// Resolver answers name lookups (<VirtualHost> names, DefaultAddress,
	// Addr, the client's DNS name); nil knows IP literals only.
	Resolver Resolver
	// HostAddrs are the addresses of this machine's host name, the main
	// server's when it has no DefaultAddress; nil when unknown.
	HostAddrs []string
}

// Prediction is the state of a session process after a successful
// login, or why proftpd refuses the login.
type Prediction struct {
	// Server is the server that answered the login (after HOST).
	Server string
	// ServerChoice says how the connection reached its first server.
	ServerChoice string
	// Candidates lists, when no connection was given and the main server
	// takes none, where a connection to 127.0.0.1 on each listening port
	// goes.
	Candidates []string
	// Class is the session's <Class>, "" for none.
	Class string
	// User is the account the session runs as.
	User string
	// Engine is whether mod_cap restricted the session.
	Engine bool
	// Refused is set when proftpd would refuse the login; Why says why,
	// RefusedAt when ("start", "connect", "PASS", "after PASS"), and Line
	// is the configuration line that decided, when one did.
	Refused   bool
	Why       string
	RefusedAt string
	Line      string
	// Kept is the set mod_cap asked to keep (meaningful when Engine).
	Kept capset.Set
	// The session process's sets.
	Permitted, Effective, Inheritable, Ambient, Bounding capset.Set
	// UIDs are real, effective and saved uid.
	UIDs [3]uint32
	// Reasons explain each point, naming the directive and file:line.
	Reasons []string
	// Warnings are risks and surprises worth a person's attention.
	Warnings []string
}

// Predict simulates a login on the configuration: the calls a session
// makes, phase by phase (see session.go), then the kernel's rules.
func Predict(in Input) Prediction {
	var pr Prediction
	cfg := in.Config
	if cfg == nil {
		cfg = &Config{Modules: map[string]bool{}}
		for _, m := range DebianModules {
			cfg.Modules[m] = true
		}
		in.Config = cfg
	}
	s := &session{in: in, pr: &pr, modules: cfg.Modules, res: in.Resolver}
	if s.res == nil {
		s.res = literalOnly{}
	}
	s.pam = cfg.Modules["mod_auth_pam.c"]
	if in.PAM != nil {
		s.pam = *in.PAM
	}
	for _, phase := range []func(){s.parse, s.connect, s.limits, s.sessInit, s.host, s.userPass, s.postPass, s.kernel} {
		phase()
		if pr.Refused {
			return pr
		}
	}
	return pr
}

// kernel is phase 9.
func (s *session) kernel() {
	simulate(s.pr, s.in, s.uid, s.useCaps, s.capRevoke, s.rootRevoke)
}

// simulate runs the login's system calls: mod_cap's POST_CMD handler for
// PASS, then mod_auth's root revoke.
func simulate(pr *Prediction, in Input, uid uint32, engine, capRevoke, rootRevoke bool) {
	p := proc{ruid: 0, euid: uid, suid: 0, P: in.MasterPermitted, B: in.MasterBounding}
	if uid == 0 {
		p.E = p.P
	}
	idSwitchingOff := false
	if engine {
		if err := p.setreuid(int64(uid), 0); err == nil {
			res := p.capset(pr.Kept, 0, 0)
			if res != nil {
				missing := pr.Kept &^ p.P
				pr.Warnings = append(pr.Warnings, fmt.Sprintf("the master does not hold %s, so mod_cap's capset fails (\"attempt to configure capabilities failed, reverting to normal operation\"): the session keeps the master's whole permitted set", missing))
			}
			p.keepCaps = true
			x := int64(uid)
			if !capRevoke {
				x = 0
			}
			if err := p.setreuid(x, int64(uid)); err != nil {
				pr.Refused = true
				pr.Why = "mod_cap's setreuid failed: proftpd disconnects the session"
				return
			}
			if res == nil {
				_ = p.capset(pr.Kept, pr.Kept, 0)
				idSwitchingOff = true
			}
		}
	}
	if rootRevoke {
		if !idSwitchingOff {
			_ = p.seteuid(0) // PRIVS_ROOT, skipped once mod_cap disabled id switching
		}
		revokeErr := p.seteuid(0)
		_ = p.setuid(uid)
		switch {
		case uid == 0:
		case revokeErr != nil:
			pr.Reasons = append(pr.Reasons, "the root revoke's seteuid(0) fails (no CAP_SETUID in effect and no uid 0 left), so the effective set stays as mod_cap raised it")
		case engine && p.ruid == uid && p.suid == uid && p.euid == uid:
			pr.Reasons = append(pr.Reasons, "mod_auth's root revoke switches every uid to the user: the effective set is cleared, the permitted set stays (mod_cap set KEEPCAPS)")
		case p.ruid == uid && p.suid == uid && p.euid == uid:
			pr.Reasons = append(pr.Reasons, "mod_auth's root revoke switches every uid to the user, which clears every capability")
		}
	} else if !engine && uid != 0 {
		pr.Reasons = append(pr.Reasons, "without the root revoke, uid 0 stays as real and saved uid: the session keeps the master's permitted set, not effective until it regains euid 0")
	}
	pr.Permitted, pr.Effective, pr.Inheritable, pr.Ambient, pr.Bounding = p.P, p.E, p.I, p.A, p.B
	pr.UIDs = [3]uint32{p.ruid, p.euid, p.suid}
	if uid == 0 {
		pr.Warnings = append(pr.Warnings, "the session runs as root (uid 0): mod_cap's limit lasts only until it executes a program, which regains every capability of the bounding set")
	}
	if uid != 0 && (p.ruid == 0 || p.suid == 0) {
		pr.Warnings = append(pr.Warnings, fmt.Sprintf("uid 0 remains as the %s uid: code running in the session can regain euid 0, and an exec regains every capability of the bounding set", zeroWhich(p)))
	}
}

func zeroWhich(p proc) string {
	switch {
	case p.ruid == 0 && p.suid == 0:
		return "real and saved"
	case p.ruid == 0:
		return "real"
	}
	return "saved"
}
