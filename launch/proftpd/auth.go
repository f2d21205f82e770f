package proftpd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"captune/capset/modcap"
	"captune/safefile"
)

// authModules are the modules with an auth table: the ones AuthOrder
// lists and that answer for users, groups and passwords.
var authModules = map[string]bool{
	"mod_auth_unix.c": true, "mod_auth_file.c": true, "mod_auth_pam.c": true, "mod_sql.c": true,
	"mod_ldap.c": true, "mod_radius.c": true, "mod_auth_otp.c": true,
}

// defaultChain is the auth modules' order without AuthOrder: every loaded
// auth module, the last loaded first (module priority; on Debian
// mod_auth_pam.c, mod_auth_file.c, mod_auth_unix.c).
func (pl *planner) defaultChain() []string {
	loaded := append([]string(nil), pl.in.modules...)
	if loaded == nil {
		loaded = append(loaded, modcap.DebianModules...)
	}
	pl.each(func(n *modcap.Node) {
		if !n.Section && n.Is("LoadModule") && len(n.Args) > 0 {
			loaded = append(loaded, n.Args[0])
		}
	})
	var out []string
	seen := map[string]bool{}
	for i := len(loaded) - 1; i >= 0; i-- {
		if m := loaded[i]; authModules[m] && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// fileFirst is an AuthOrder list with mod_auth_file.c first, the others
// after it in their order.
func fileFirst(mods []string) []string {
	out := []string{"mod_auth_file.c"}
	for _, m := range mods {
		if strings.TrimSuffix(m, "*") == "mod_auth_file.c" {
			out[0] = m
			continue
		}
		out = append(out, m)
	}
	return out
}

// authFile is an AuthUserFile or AuthGroupFile as read.
type authFile struct {
	lines []string
}

func (pl *planner) readAuth(n *modcap.Node, user, insecure bool) (*authFile, error) {
	if len(n.Args) == 0 {
		return nil, &modcap.Error{Pos: n.Pos, Text: n.Name + ": wrong number of parameters"}
	}
	path := n.Args[0]
	if !strings.HasPrefix(path, "/") {
		return nil, &modcap.Error{Pos: n.Pos, Text: fmt.Sprintf("%s: unable to use relative path for %s '%s'.", n.Name, n.Name, path)}
	}
	if b, ok := pl.authBuf[path]; ok {
		return &authFile{lines: splitFileLines(b)}, nil
	}
	b, err := pl.in.sys.readAuthFile(path, user, insecure)
	if err != nil {
		var ae *errAuthFile
		if errors.As(err, &ae) {
			return nil, &modcap.Error{Pos: n.Pos, Text: fmt.Sprintf("%s: unable to use %s: %s", n.Name, path, ae.reason)}
		}
		var se *safefile.Error
		if errors.As(err, &se) {
			return nil, &modcap.Error{Pos: n.Pos, Text: fmt.Sprintf("%s: %v", n.Name, err), Hint: "captune copies only regular files of root or of the configuration's owner"}
		}
		return nil, &modcap.Error{Pos: n.Pos, Text: fmt.Sprintf("%s: unable to use %s: %v", n.Name, path, err)}
	}
	pl.authBuf[path] = b
	return &authFile{lines: splitFileLines(b)}, nil
}

func (f *authFile) user(name string) (pwEntry, bool) {
	for _, l := range f.lines {
		if e, ok := parsePwLine(l); ok && e.Name == name {
			return e, true
		}
	}
	return pwEntry{}, false
}

func (f *authFile) groups() []grEntry {
	var out []grEntry
	for _, l := range f.lines {
		if g, ok := parseGrLine(l); ok {
			out = append(out, g)
		}
	}
	return out
}

// validShell is a shell /etc/shells lists, for a virtual user (so that
// RequireValidShell, on by default, lets it in).
func (pl *planner) validShell() string {
	for _, s := range pl.in.sys.shells {
		if s == "/bin/sh" {
			return s
		}
	}
	if len(pl.in.sys.shells) > 0 {
		return pl.in.sys.shells[0]
	}
	return "/bin/sh"
}

// auth plans the test user's login: which account each server finds,
// the private user and group files, and AuthOrder.
func (pl *planner) auth() error {
	name := pl.in.user
	if name == "" {
		name = DefaultUser
	}
	if !userName.MatchString(name) {
		return fmt.Errorf("%w %q: use letters, digits, '_', '.' and '-' (up to 32)", ErrBadUser, name)
	}
	insecure, createHome := false, false
	pl.each(func(n *modcap.Node) {
		if n.Section {
			return
		}
		if n.Is("AuthFileOptions") {
			for _, a := range n.Args {
				insecure = insecure || strings.EqualFold(a, "InsecurePerms")
			}
		}
		if n.Is("CreateHome") && isOn(n.Args) {
			createHome = true
		}
	})
	// Every user and group file is read as proftpd reads it when it
	// parses the line, so a file it would refuse is refused here.
	var err error
	inAnyFile := false
	pl.each(func(n *modcap.Node) {
		if err != nil || n.Section {
			return
		}
		switch {
		case n.Is("AuthUserFile"):
			var f *authFile
			if f, err = pl.readAuth(n, true, insecure); err == nil {
				if _, ok := f.user(name); ok {
					inAnyFile = true
				}
			}
		case n.Is("AuthGroupFile"):
			_, err = pl.readAuth(n, false, insecure)
		}
	})
	if err != nil {
		return err
	}
	sysUser, isSys := pl.in.sys.user(name)
	virtual := !isSys && !inAnyFile
	def := pl.defaultChain()
	homeChanged := map[string]bool{}
	for _, s := range pl.servers {
		s.auf, s.agf, s.ord = pl.first(s, "AuthUserFile"), pl.first(s, "AuthGroupFile"), pl.first(s, "AuthOrder")
		s.chain = def
		if s.ord != nil {
			s.chain = nil
			for _, m := range s.ord.Args {
				s.chain = append(s.chain, strings.TrimSuffix(m, "*"))
			}
		}
		s.rec = pl.recFor(s, name, sysUser, isSys, virtual)
		if s.rec == nil {
			continue
		}
		s.rec.pw.Passwd = pl.in.hash
		if s.rec.source != "virtual" && createHome && !pl.in.sys.isDir(s.rec.pw.Home) {
			if !homeChanged[s.rec.pw.Home] {
				homeChanged[s.rec.pw.Home] = true
				pl.p.notes = append(pl.p.notes, fmt.Sprintf("the home of %s, %s, does not exist here and CreateHome is on: the run gives it a private home, so that proftpd creates nothing on this machine", name, s.rec.pw.Home))
			}
			s.rec.pw.Home = pl.in.home
		}
	}
	if err := pl.userFiles(name); err != nil {
		return err
	}
	if err := pl.groupFiles(name); err != nil {
		return err
	}
	pl.authOrders()
	return pl.account(name, sysUser, isSys)
}

// recFor is the account server s finds for name: the first auth module
// of its chain that knows the name (mod_auth_file in the server's first
// AuthUserFile, mod_auth_unix in this machine's users); a name known
// nowhere is a virtual user on every server.
func (pl *planner) recFor(s *srv, name string, sysUser pwEntry, isSys, virtual bool) *userRec {
	if virtual {
		return &userRec{source: "virtual", pw: pwEntry{Name: name, UID: VirtualID, GID: VirtualID, Home: pl.in.home, Shell: pl.validShell()}}
	}
	for _, m := range s.chain {
		switch m {
		case "mod_auth_file.c":
			if s.auf == nil {
				continue
			}
			f, err := pl.readAuth(s.auf, true, true)
			if err != nil {
				continue
			}
			if e, ok := f.user(name); ok {
				return &userRec{source: s.auf.Args[0], pw: e}
			}
		case "mod_auth_unix.c":
			if isSys {
				return &userRec{source: "system", pw: sysUser}
			}
		}
	}
	return nil
}

// userFiles replaces each server's first AuthUserFile with a private copy
// in which the test user has the run's password, and gives a server
// without one a private file when it must know the user.
func (pl *planner) userFiles(name string) error {
	made := map[string]string{} // content -> private path
	fileFor := func(content string) string {
		if p, ok := made[content]; ok {
			return p
		}
		p := pl.privatePath("passwd", "", strconv.Itoa(len(made)))
		made[content] = p
		pl.p.files[p] = content
		return p
	}
	done := map[*modcap.Node]bool{}
	for _, s := range pl.servers {
		if s.rec == nil {
			continue
		}
		if s.auf == nil {
			p := fileFor(s.rec.pw.line() + "\n")
			pl.addLine(s, "AuthUserFile", []string{p}, fmt.Sprintf("the test user %s (%s), with the run's password", name, s.rec.describe()))
			continue
		}
		n := s.auf
		if done[n] {
			continue
		}
		done[n] = true
		var rec *userRec
		for _, o := range pl.servers {
			if o.auf != n || o.rec == nil {
				continue
			}
			if rec != nil && !rec.same(o.rec) {
				return &UnfaithfulError{Pos: n.Pos, Why: fmt.Sprintf("%s and %s share this AuthUserFile but would find %s as different accounts (%s, %s)", s.label, o.label, name, rec.describe(), o.rec.describe())}
			}
			rec = o.rec
		}
		f, err := pl.readAuth(n, true, true)
		if err != nil {
			return err
		}
		var out []string
		placed := false
		for _, l := range f.lines {
			if e, ok := parsePwLine(l); ok && e.Name == name {
				if rec.source == n.Args[0] && !placed {
					out = append(out, rec.pw.line())
					placed = true
				}
				continue
			}
			out = append(out, l)
		}
		if !placed {
			out = append(out, rec.pw.line())
		}
		p := fileFor(strings.Join(out, "\n") + "\n")
		why := fmt.Sprintf("a private copy in which %s has the run's password", name)
		if rec.source != n.Args[0] {
			why = fmt.Sprintf("a private copy with the test user %s (%s) added", name, rec.describe())
		}
		pl.change(n, append([]string{p}, n.Args[1:]...), why)
	}
	return nil
}

// groupFiles gives the test user its groups where mod_auth_file would
// answer for them: a system or virtual user that a server's private
// AuthUserFile now lists gets its groups in a private AuthGroupFile.
func (pl *planner) groupFiles(name string) error {
	lines := func(r *userRec) []string {
		if r.source == "virtual" {
			return []string{grEntry{Name: name, GID: VirtualID, Members: []string{name}}.line()}
		}
		var out []string
		for _, g := range pl.in.sys.groupsOf(r.pw) {
			out = append(out, grEntry{Name: g.Name, GID: g.GID, Members: []string{name}}.line())
		}
		return out
	}
	made := map[string]string{}
	fileFor := func(content string) string {
		if p, ok := made[content]; ok {
			return p
		}
		p := pl.privatePath("group", "", strconv.Itoa(len(made)))
		made[content] = p
		pl.p.files[p] = content
		return p
	}
	done := map[*modcap.Node]bool{}
	for _, s := range pl.servers {
		if s.rec == nil || (s.rec.source != "system" && s.rec.source != "virtual") {
			continue
		}
		if s.agf == nil {
			if s.rec.source == "virtual" {
				p := fileFor(strings.Join(lines(s.rec), "\n") + "\n")
				pl.addLine(s, "AuthGroupFile", []string{p}, "the virtual test user's group")
			}
			continue
		}
		n := s.agf
		if done[n] {
			continue
		}
		done[n] = true
		for _, o := range pl.servers {
			if o.agf == n && o.rec != nil && !o.rec.same(s.rec) {
				return &UnfaithfulError{Pos: n.Pos, Why: fmt.Sprintf("%s and %s share this AuthGroupFile but find %s as different accounts", s.label, o.label, name)}
			}
		}
		f, err := pl.readAuth(n, false, true)
		if err != nil {
			return err
		}
		out := lines(s.rec)
		for _, l := range f.lines {
			if g, ok := parseGrLine(l); ok {
				var keep []string
				for _, m := range g.Members {
					if m != name {
						keep = append(keep, m)
					}
				}
				if len(keep) != len(g.Members) {
					g.Members = keep
					l = g.line()
				}
			}
			out = append(out, l)
		}
		p := fileFor(strings.Join(out, "\n") + "\n")
		pl.change(n, append([]string{p}, n.Args[1:]...), fmt.Sprintf("a private copy that starts with the groups of the test user %s (%s), which mod_auth_file now answers for", name, s.rec.describe()))
	}
	return nil
}

// authOrders puts mod_auth_file first for every server that must find
// the test user, keeping the other modules after it.
func (pl *planner) authOrders() {
	done := map[*modcap.Node]bool{}
	def := pl.defaultChain()
	for _, s := range pl.servers {
		if s.rec == nil {
			continue
		}
		if s.ord == nil {
			pl.addLine(s, "AuthOrder", fileFirst(def), "the private AuthUserFile answers first; the others follow in proftpd's default order")
			continue
		}
		if done[s.ord] {
			continue
		}
		done[s.ord] = true
		args := fileFirst(s.ord.Args)
		if strings.Join(args, " ") != strings.Join(s.ord.Args, " ") {
			pl.change(s.ord, args, "the private AuthUserFile answers first; the others follow")
		}
	}
}

func (r *userRec) describe() string {
	switch r.source {
	case "virtual":
		return fmt.Sprintf("a virtual user, uid %d", r.pw.UID)
	case "system":
		return fmt.Sprintf("this machine's account, uid %d", r.pw.UID)
	}
	return fmt.Sprintf("uid %d in %s", r.pw.UID, r.source)
}

// account is the test user as the server under test finds it, with the
// groups proftpd gives it there.
func (pl *planner) account(name string, sysUser pwEntry, isSys bool) error {
	s := pl.serverAt(pl.p.target)
	rec := s.rec
	if rec == nil {
		for _, o := range pl.servers {
			if o.rec != nil {
				rec = o.rec
				break
			}
		}
		pl.p.notes = append(pl.p.notes, fmt.Sprintf("%s as configured does not know the user %s: proftpd should refuse the login there", s.label, name))
	}
	if rec == nil {
		rec = &userRec{source: "system", pw: sysUser}
		if !isSys {
			rec = &userRec{source: "virtual", pw: pwEntry{Name: name, UID: VirtualID, GID: VirtualID}}
		}
	}
	a := Account{Name: name, UID: rec.pw.UID, GID: rec.pw.GID, Home: rec.pw.Home, System: rec.source == "system", Source: rec.describe()}
	var groups []grEntry
	switch {
	case rec.source == "virtual":
		groups = []grEntry{{Name: name, GID: VirtualID}}
	case rec.source == "system":
		groups = pl.in.sys.groupsOf(rec.pw)
	default:
		primary := strconv.Itoa(int(rec.pw.GID))
		if n, ok := pl.in.sys.groupName(rec.pw.GID); ok {
			primary = n
		}
		if s.agf != nil {
			f, err := pl.readAuth(s.agf, false, true)
			if err != nil {
				return err
			}
			gs := f.groups()
			for _, g := range gs {
				if g.GID == rec.pw.GID {
					primary = g.Name
					break
				}
			}
			groups = append(groups, grEntry{Name: primary, GID: rec.pw.GID})
			for _, g := range gs {
				for _, m := range g.Members {
					if m == name {
						groups = append(groups, g)
						break
					}
				}
			}
		} else {
			groups = append(groups, grEntry{Name: primary, GID: rec.pw.GID})
			if isSys {
				groups = append(groups, pl.in.sys.groupsOf(sysUser)...)
			}
		}
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if !seen[g.Name] {
			seen[g.Name] = true
			a.Groups = append(a.Groups, g.Name)
		}
	}
	pl.p.account = a
	return nil
}
