package modcap

import (
	"fmt"
	"regexp"
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
	// User is the login name; UID its uid (0 for root).
	User string
	UID  uint32
	// UIDKnown is false when the user is not known to this machine.
	UIDKnown bool
	// Groups are the user's group names, primary first.
	Groups []string
	// Class is the connection's <Class>, for <IfClass>.
	Class string
	// Addr is the address the connection reaches; it selects the
	// <VirtualHost>. Empty means the main server.
	Addr string
	// Client is the client's address, which <Class> From rules and so
	// <IfClass> judge; empty means 127.0.0.1.
	Client string
	// Port is the port the connection reaches; 0 means the selected
	// server's own.
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
}

// Prediction is the state of a session process after a successful login.
type Prediction struct {
	// Server is the server that answered.
	Server string
	// Engine is whether mod_cap restricted the session.
	Engine bool
	// Refused is set when proftpd would refuse the login; Why says why.
	Refused bool
	Why     string
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

// setting is a directive found by proftpd's find_config, with where it
// came from.
type setting struct {
	node  *Node
	level string
}

// where names the directive's place: "f:15", "f:15, in <Global>" or
// "f:15, in <IfUser alice> at f:14"; tokens given on the command line
// have no place.
func (s setting) where() string {
	if s.node.Pos.Line == 0 {
		return s.level
	}
	if s.level == "server level" {
		return s.node.Pos.String()
	}
	return fmt.Sprintf("%s, in %s", s.node.Pos, s.level)
}

// multi lists the directives proftpd marks CF_MULTI: mod_ifsession adds
// them without removing the server's.
var multi = map[string]bool{"CapabilitiesSet": true}

// confList rebuilds the order of main_server->conf after mod_ifsession
// merged the matching sections in: merged directives go to the head, and
// a non-multi directive first removes every one of the same name.
type confList []setting

func (l confList) find(name string) (setting, bool) {
	for _, s := range l {
		if s.node.Name == name {
			return s, true
		}
	}
	return setting{}, false
}

func (l confList) merge(sec []*Node, level string) confList {
	for _, n := range sec {
		if n.Section {
			continue
		}
		if _, ok := judged[strings.ToLower(n.Name)]; !ok {
			continue
		}
		if !multi[n.Name] {
			var kept confList
			for _, s := range l {
				if s.node.Name != n.Name {
					kept = append(kept, s)
				}
			}
			l = kept
		}
		l = append(confList{{node: n, level: level}}, l...)
	}
	return l
}

// Predict simulates a login on the configuration and returns the session
// process's state.
func Predict(in Input) Prediction {
	var pr Prediction
	cfg := in.Config
	if cfg == nil {
		cfg = &Config{Modules: map[string]bool{}}
		for _, m := range DebianModules {
			cfg.Modules[m] = true
		}
	}
	pam := cfg.Modules["mod_auth_pam.c"]
	if in.PAM != nil {
		pam = *in.PAM
	}
	main, vhosts, global := cfg.Servers()
	srv := main
	if in.Login.Addr != "" {
		found := false
		for _, v := range vhosts {
			for _, a := range v.Addrs {
				if strings.EqualFold(a, in.Login.Addr) {
					srv, found = v, true
					break
				}
			}
			if found {
				break
			}
		}
		if !found && len(vhosts) > 0 {
			pr.Reasons = append(pr.Reasons, fmt.Sprintf("no <VirtualHost> listens on %s, so the main server answers", in.Login.Addr))
		}
	}
	pr.Server = srv.Label
	if srv.Label != main.Label {
		pr.Reasons = append(pr.Reasons, fmt.Sprintf("the connection reaches %s; it does not inherit the main server's directives", srv.Label))
	}

	// The server's own directives in file order, then <Global>'s.
	var base confList
	for _, n := range srv.Nodes {
		if !n.Section {
			base = append(base, setting{node: n, level: "server level"})
		}
	}
	for _, n := range global {
		if !n.Section {
			base = append(base, setting{node: n, level: "<Global>"})
		}
	}
	if len(in.Extra) > 0 {
		args := make([]string, len(in.Extra))
		for i, t := range in.Extra {
			args[i] = t.String()
		}
		extra := &Node{Name: "CapabilitiesSet", Args: args}
		base = append(confList{{node: extra, level: "the command-line tokens"}}, base...)
	}

	// mod_ifsession: <IfClass> merges at session start, <IfGroup> and
	// <IfUser> after authentication, each at the head of the list, so a
	// matching <IfUser> beats a matching <IfGroup>. Among sections of one
	// kind the first in file order wins, and inside a section the last
	// line: observed on Debian's proftpd 1.3.8 with real logins, which the
	// merge reproduces by taking the sections last to first.
	sections := ifSections(srv.Nodes, global)
	for i, j := 0, len(sections)-1; i < j; i, j = i+1, j-1 {
		sections[i], sections[j] = sections[j], sections[i]
	}
	atStart := base
	for _, s := range sections {
		if s.node.Is("<IfClass>") && matchClass(s.node, in.Login.Class) {
			atStart = atStart.merge(s.node.Children, s.label())
		}
	}
	list := atStart
	for _, kind := range []string{"<IfGroup>", "<IfUser>"} {
		for _, s := range sections {
			if !s.node.Is(kind) {
				continue
			}
			var ok bool
			if kind == "<IfUser>" {
				ok = matchUser(s.node, in.Login.User)
			} else {
				ok = matchGroups(s.node, in.Login.Groups)
			}
			if ok {
				list = list.merge(s.node.Children, s.label())
				pr.Reasons = append(pr.Reasons, fmt.Sprintf("%s matches this login, so its directives come first", s.label()))
			}
		}
	}

	// Directives that take one value (CapabilitiesEngine, RootRevoke,
	// CapabilitiesRootRevoke, RootLogin) are replaced, not stacked, when
	// mod_ifsession merges a section. Observed with real logins on
	// proftpd 1.3.8: a matching <IfGroup> beats a matching <IfUser>, and
	// among sections of one kind the last in file order wins (inside a
	// section, the last line).
	inFileOrder := ifSections(srv.Nodes, global)
	single := func(name string, atStartOnly bool) (setting, bool) {
		kinds := []string{"<IfClass>", "<IfUser>", "<IfGroup>"}
		if atStartOnly {
			kinds = kinds[:1]
		}
		var found setting
		ok := false
		for _, kind := range kinds {
			for _, sec := range inFileOrder {
				if !sec.node.Is(kind) || !matches(sec.node, in.Login) {
					continue
				}
				for _, n := range sec.node.Children {
					if !n.Section && n.Name == name {
						found, ok = setting{node: n, level: sec.label()}, true
					}
				}
			}
		}
		if ok {
			return found, true
		}
		return base.find(name)
	}

	uid := in.Login.UID
	if uid == 0 {
		rl, ok := single("RootLogin", false)
		on := false
		if ok {
			on, _ = ParseBool(rl.node.Args[0])
		}
		switch {
		case !on && !ok && in.Login.AssumeRootLogin:
			pr.Reasons = append(pr.Reasons, "no RootLogin directive: assumed RootLogin on, as asked; uid 0 keeps everything mod_cap sets in effect")
		case !on:
			pr.Refused = true
			pr.Why = "proftpd refuses root logins unless RootLogin is on"
			if ok {
				pr.Why += fmt.Sprintf(" (RootLogin off, %s)", rl.where())
			}
			return pr
		default:
			pr.Reasons = append(pr.Reasons, fmt.Sprintf("RootLogin on (%s) lets root log in; uid 0 keeps everything mod_cap sets in effect", rl.where()))
		}
	}

	// Engine: read at session start (before IfUser/IfGroup merge) and
	// again after PASS.
	engine := true
	if s, ok := single("CapabilitiesEngine", true); ok {
		if v, _ := ParseBool(s.node.Args[0]); !v {
			engine = false
			pr.Reasons = append(pr.Reasons, fmt.Sprintf("CapabilitiesEngine off (%s): mod_cap leaves the session alone", s.where()))
		}
	}
	if engine {
		if s, ok := single("CapabilitiesEngine", false); ok {
			if v, _ := ParseBool(s.node.Args[0]); !v {
				engine = false
				pr.Reasons = append(pr.Reasons, fmt.Sprintf("CapabilitiesEngine off (%s): mod_cap leaves the session alone", s.where()))
			}
		}
	} else if s, ok := single("CapabilitiesEngine", false); ok && s.level != "server level" && s.level != "<Global>" {
		if v, _ := ParseBool(s.node.Args[0]); v {
			pr.Warnings = append(pr.Warnings, fmt.Sprintf("CapabilitiesEngine on (%s) cannot re-enable mod_cap: it was already switched off when the session started", s.where()))
		}
	}
	pr.Engine = engine

	// The kept set.
	flags := DefaultFlags
	audit := pam
	if s, ok := list.find("CapabilitiesSet"); ok {
		toks, _ := ParseTokens(s.node.Args)
		flags = Apply(toks)
		audit = false
		if engine {
			pr.Reasons = append(pr.Reasons, fmt.Sprintf("CapabilitiesSet %s (%s) replaces the defaults; it is the first CapabilitiesSet proftpd finds for this login", strings.Join(s.node.Args, " "), s.where()))
			if pam {
				pr.Reasons = append(pr.Reasons, "any CapabilitiesSet line drops CAP_AUDIT_WRITE, which PAM uses for audit records (pam_loginuid and friends)")
			}
			for _, t := range toks {
				if !t.Effective() {
					pr.Warnings = append(pr.Warnings, fmt.Sprintf("%s does nothing: mod_cap ignores that sign for %s", t, t.Cap.Upper()))
				}
			}
		}
	} else if engine {
		if pam {
			pr.Reasons = append(pr.Reasons, "no CapabilitiesSet: mod_cap keeps its defaults, CAP_CHOWN, CAP_SETUID/CAP_SETGID and CAP_NET_BIND_SERVICE, plus CAP_AUDIT_WRITE because mod_auth_pam is loaded")
		} else {
			pr.Reasons = append(pr.Reasons, "no CapabilitiesSet: mod_cap keeps its defaults, CAP_CHOWN, CAP_SETUID/CAP_SETGID and CAP_NET_BIND_SERVICE")
		}
	}
	pr.Kept = flags.Kept(audit)

	capRevoke := true
	if s, ok := single("CapabilitiesRootRevoke", false); ok {
		capRevoke, _ = ParseBool(s.node.Args[0])
		if !capRevoke && engine {
			pr.Reasons = append(pr.Reasons, fmt.Sprintf("CapabilitiesRootRevoke off (%s): mod_cap leaves uid 0 as the real uid", s.where()))
		}
	}
	rootRevoke := true
	if s, ok := single("RootRevoke", false); ok {
		rootRevoke, _ = rootRevokeValue(s.node.Args[0])
		if !rootRevoke {
			pr.Reasons = append(pr.Reasons, fmt.Sprintf("RootRevoke off (%s): mod_auth does not give up root after login", s.where()))
		} else if !strings.EqualFold(s.node.Args[0], "on") {
			pr.Reasons = append(pr.Reasons, fmt.Sprintf("RootRevoke %s (%s) counts as on", s.node.Args[0], s.where()))
		}
	} else if uo := findUserOwner(srv.Nodes, global); uo != nil {
		rootRevoke = false
		pr.Reasons = append(pr.Reasons, fmt.Sprintf("UserOwner at %s needs root, so mod_auth keeps root (no RootRevoke line says otherwise)", uo.Pos))
	}

	simulate(&pr, in, uid, engine, capRevoke, rootRevoke)
	return pr
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

type ifSection struct {
	node   *Node
	global bool
}

func (s ifSection) label() string {
	l := fmt.Sprintf("%s %s> at %s", strings.TrimSuffix(s.node.Name, ">"), strings.Join(s.node.Args, " "), s.node.Pos)
	if s.global {
		l += " (in <Global>)"
	}
	return l
}

// ifSections lists the server's <IfUser>/<IfGroup>/<IfClass> sections at
// its top level, then <Global>'s, in file order.
func ifSections(nodes, global []*Node) []ifSection {
	var out []ifSection
	for _, n := range nodes {
		if n.Section && (n.Is("<IfUser>") || n.Is("<IfGroup>") || n.Is("<IfClass>")) {
			out = append(out, ifSection{node: n})
		}
	}
	for _, n := range global {
		if n.Section && (n.Is("<IfUser>") || n.Is("<IfGroup>") || n.Is("<IfClass>")) {
			out = append(out, ifSection{node: n, global: true})
		}
	}
	return out
}

// findUserOwner looks through the server's whole tree (also inside
// sections that do not match this login) and <Global> for UserOwner.
func findUserOwner(nodes, global []*Node) *Node {
	var walk func([]*Node) *Node
	walk = func(ns []*Node) *Node {
		for _, n := range ns {
			if n.Section {
				if n.Is("<VirtualHost>") {
					continue
				}
				if f := walk(n.Children); f != nil {
					return f
				}
				continue
			}
			if n.Name == "UserOwner" {
				return n
			}
		}
		return nil
	}
	if f := walk(nodes); f != nil {
		return f
	}
	return walk(global)
}

// expr evaluates mod_ifsession's expressions: names with optional '!',
// joined by OR (the default for users and classes) or AND (the default
// for groups), explicit "AND"/"OR" first words, or "regex PATTERN".
func expr(args []string, defaultAnd bool, match func(string) bool) bool {
	if len(args) == 0 {
		return false
	}
	and := defaultAnd
	switch {
	case len(args) > 1 && args[0] == "AND":
		and, args = true, args[1:]
	case len(args) > 1 && args[0] == "OR":
		and, args = false, args[1:]
	case len(args) == 2 && args[0] == "regex":
		re, err := regexp.CompilePOSIX(args[1])
		if err != nil {
			return false
		}
		return match("\x00regex\x00" + re.String())
	}
	var names []string
	for _, a := range args {
		for _, n := range strings.Split(a, ",") {
			if n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return false
	}
	for _, n := range names {
		neg := strings.HasPrefix(n, "!")
		ok := match(strings.TrimPrefix(n, "!")) != neg
		if and && !ok {
			return false
		}
		if !and && ok {
			return true
		}
	}
	return and
}

func matchName(name string) func(string) bool {
	return func(p string) bool {
		if rx, ok := strings.CutPrefix(p, "\x00regex\x00"); ok {
			re, err := regexp.CompilePOSIX(rx)
			return err == nil && re.MatchString(name)
		}
		return p == name
	}
}

// matches reports whether an <IfUser>, <IfGroup> or <IfClass> section
// applies to the login.
func matches(n *Node, l Login) bool {
	switch {
	case n.Is("<IfUser>"):
		return matchUser(n, l.User)
	case n.Is("<IfGroup>"):
		return matchGroups(n, l.Groups)
	case n.Is("<IfClass>"):
		return matchClass(n, l.Class)
	}
	return false
}

func matchUser(n *Node, user string) bool { return expr(n.Args, false, matchName(user)) }

func matchClass(n *Node, class string) bool {
	if class == "" {
		return false
	}
	return expr(n.Args, false, matchName(class))
}

func matchGroups(n *Node, groups []string) bool {
	return expr(n.Args, true, func(p string) bool {
		if rx, ok := strings.CutPrefix(p, "\x00regex\x00"); ok {
			re, err := regexp.CompilePOSIX(rx)
			if err != nil {
				return false
			}
			for _, g := range groups {
				if re.MatchString(g) {
					return true
				}
			}
			return false
		}
		for _, g := range groups {
			if g == p {
				return true
			}
		}
		return false
	})
}
