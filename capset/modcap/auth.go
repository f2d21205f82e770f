package modcap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Who a session runs as and whether it may log in (modules/mod_auth.c
// setup_env, src/auth.c): the <Anonymous> section a USER name selects,
// the user from the auth modules in AuthOrder's order, RootLogin, <Limit
// LOGIN> (src/dirtree.c login_check_limits), the shell and
// /etc/ftpusers.

// Account is a user as an auth module returns it.
type Account struct {
	Name     string
	UID, GID uint32
	Home     string
	Shell    string
}

// GroupEntry is a group as an auth module returns it.
type GroupEntry struct {
	Name    string
	GID     uint32
	Members []string
}

// Directory is a user database proftpd's auth modules read.
type Directory interface {
	// User looks a user up by name.
	User(name string) (Account, bool)
	// GroupNames returns the names of the user's groups, the primary
	// one first.
	GroupNames(a Account) []string
}

// Table is a Directory held in memory: the entries of a passwd and a
// group file.
type Table struct {
	Accounts []Account
	Groups   []GroupEntry
}

// User returns the first entry with the name (mod_auth_file reads its
// file from the top).
func (t *Table) User(name string) (Account, bool) {
	for _, a := range t.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return Account{}, false
}

// GroupNames is mod_auth_file's getgroups: the primary group (by gid),
// then every group that lists the user as a member, in file order.
func (t *Table) GroupNames(a Account) []string {
	var out []string
	for _, g := range t.Groups {
		if g.GID == a.GID {
			out = append(out, g.Name)
			break
		}
	}
	for _, g := range t.Groups {
		for _, m := range g.Members {
			if m == a.Name {
				out = append(out, g.Name)
			}
		}
	}
	return out
}

// groupName is gid2name in the table.
func (t *Table) groupName(gid uint32) (string, bool) {
	for _, g := range t.Groups {
		if g.GID == gid {
			return g.Name, true
		}
	}
	return "", false
}

// ParsePasswd reads an AuthUserFile the way mod_auth_file does: seven
// colon-separated fields, numeric uid and gid; empty lines, comments and
// malformed lines are skipped.
func ParsePasswd(text string) []Account {
	var out []Account
	for _, ln := range strings.Split(text, "\n") {
		if ln == "" || ln[0] == '#' {
			continue
		}
		f := strings.SplitN(ln, ":", 7)
		if len(f) != 7 || f[2] == "" || f[3] == "" {
			continue
		}
		uid, err1 := strconv.ParseInt(f[2], 10, 64)
		gid, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, Account{Name: f[0], UID: uint32(uid), GID: uint32(gid), Home: f[5], Shell: f[6]})
	}
	return out
}

// ParseGroup reads an AuthGroupFile: name, password, gid, members.
func ParseGroup(text string) []GroupEntry {
	var out []GroupEntry
	for _, ln := range strings.Split(text, "\n") {
		if ln == "" || ln[0] == '#' {
			continue
		}
		f := strings.SplitN(ln, ":", 4)
		if len(f) != 4 || f[2] == "" {
			continue
		}
		gid, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue
		}
		var members []string
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				members = append(members, m)
			}
		}
		out = append(out, GroupEntry{Name: f[0], GID: uint32(gid), Members: members})
	}
	return out
}

// AuthFile is the content of one AuthUserFile or AuthGroupFile, or why it
// could not be read.
type AuthFile struct {
	Text string
	Err  error
}

// Users is the user data a prediction needs that is not in the
// configuration: the files its AuthUserFile and AuthGroupFile lines name,
// this machine's own users (mod_auth_unix), /etc/ftpusers and
// /etc/shells. Nil fields are unknown: what depends on them is not
// checked, and the prediction says so.
type Users struct {
	// Files maps each AuthUserFile and AuthGroupFile path to its content
	// (ReadAuthFiles reads them).
	Files map[string]AuthFile
	// System is this machine's user database.
	System Directory
	// FTPUsers are the names /etc/ftpusers lists; nil when unknown.
	FTPUsers []string
	// Shells are the lines of /etc/shells; nil when unknown.
	Shells []string
	// DirExists says whether a folder (an <Anonymous> root) exists;
	// known is false when it cannot tell.
	DirExists func(path string) (exists, known bool)
}

// AuthFilePaths lists the AuthUserFile and AuthGroupFile paths the
// configuration names, in file order, each once.
func AuthFilePaths(cfg *Config) []string {
	var out []string
	seen := map[string]bool{}
	var walk func([]*Node)
	walk = func(nodes []*Node) {
		for _, n := range nodes {
			if n.Section {
				walk(n.Children)
				continue
			}
			switch canonName(n.Name) {
			case "AuthUserFile", "AuthGroupFile":
				if len(n.Args) > 0 && !seen[n.Args[0]] {
					seen[n.Args[0]] = true
					out = append(out, n.Args[0])
				}
			}
		}
	}
	if cfg != nil {
		walk(cfg.Top)
	}
	return out
}

// ReadAuthFiles reads every AuthUserFile and AuthGroupFile the
// configuration names, the way configuration files are read: regular
// files only, opened without blocking, bounded, each checked by
// opt.Trust. A file that cannot be read maps to its error.
func ReadAuthFiles(cfg *Config, opt Options) map[string]AuthFile {
	r := newReader(opt)
	out := map[string]AuthFile{}
	for _, p := range AuthFilePaths(cfg) {
		data, err := r.openFile(p)
		if err != nil {
			out[p] = AuthFile{Err: err}
			continue
		}
		out[p] = AuthFile{Text: string(data)}
	}
	return out
}

// fileDirectory is mod_auth_file for one server: its AuthUserFile and
// AuthGroupFile.
type fileDirectory struct {
	users       *Table
	userPath    string
	groupPath   string
	groupsKnown bool
}

// authModule is one auth module of a server's AuthOrder that can look
// users up.
type authModule struct {
	name string
	dir  Directory
	// table is set for mod_auth_file (its group file answers getgroups
	// only when AuthGroupFile is set).
	file *fileDirectory
	// unknown marks a module whose database the prediction cannot read
	// (mod_sql, mod_ldap ...).
	unknown bool
}

// authModules lists the modules that answer getpwnam for the server, in
// the order proftpd asks them: its first AuthOrder record, else every
// loaded auth module, the last loaded first (mod_auth_file before
// mod_auth_unix on Debian).
func (s *session) authModules(conf *list) ([]authModule, string) {
	var names []string
	order := find(conf, recParam, "AuthOrder", false)
	how := "no AuthOrder: the auth modules in load order, mod_auth_file.c before mod_auth_unix.c"
	if order != nil {
		how = fmt.Sprintf("AuthOrder %s (%s)", strings.Join(order.args, " "), order.where())
		for _, m := range order.args {
			names = append(names, strings.TrimSuffix(m, "*"))
		}
	} else {
		names = []string{"mod_auth_file.c", "mod_auth_unix.c"}
	}
	var out []authModule
	for _, m := range names {
		if !s.modules[m] {
			continue
		}
		switch m {
		case "mod_auth_file.c":
			if fd := s.fileDirectory(conf); fd != nil {
				am := authModule{name: m, file: fd}
				if fd.users != nil {
					am.dir = fd.users
				}
				out = append(out, am)
			}
		case "mod_auth_unix.c":
			if s.in.Users != nil && s.in.Users.System != nil {
				out = append(out, authModule{name: m, dir: s.in.Users.System})
			} else {
				out = append(out, authModule{name: m, unknown: true})
			}
		case "mod_auth_pam.c", "mod_auth.c":
		default:
			out = append(out, authModule{name: m, unknown: true})
		}
	}
	return out, how
}

// fileDirectory reads the server's first AuthUserFile and AuthGroupFile
// records; nil without AuthUserFile (mod_auth_file then declines).
func (s *session) fileDirectory(conf *list) *fileDirectory {
	uf := find(conf, recParam, "AuthUserFile", false)
	if uf == nil || len(uf.args) == 0 {
		return nil
	}
	fd := &fileDirectory{users: &Table{}, userPath: uf.args[0]}
	if s.in.Users == nil {
		fd.users = nil
		return fd
	}
	if f, ok := s.in.Users.Files[uf.args[0]]; ok && f.Err == nil {
		fd.users.Accounts = ParsePasswd(f.Text)
	} else {
		fd.users = nil
	}
	if gf := find(conf, recParam, "AuthGroupFile", false); gf != nil && len(gf.args) > 0 {
		fd.groupPath = gf.args[0]
		if f, ok := s.in.Users.Files[gf.args[0]]; ok && f.Err == nil && fd.users != nil {
			fd.users.Groups = ParseGroup(f.Text)
			fd.groupsKnown = true
		}
	}
	return fd
}

// lookedUp is the user the auth modules found.
type lookedUp struct {
	acct   Account
	groups []string
	group  string
	by     string
}

// errUnknownDB marks a lookup the prediction cannot make.
var errUnknownDB = errors.New("unknown user database")

// lookupUser is pr_auth_getpwnam, pr_auth_getgroups and gid2name through
// the server's auth modules.
func (s *session) lookupUser(conf *list, name string) (lookedUp, string, error) {
	mods, how := s.authModules(conf)
	for i, m := range mods {
		if m.unknown {
			return lookedUp{}, how, fmt.Errorf("%w: %s (%s) is asked before the others", errUnknownDB, m.name, how)
		}
		if m.dir == nil {
			if m.file != nil {
				return lookedUp{}, how, fmt.Errorf("%w: AuthUserFile %s was not read", errUnknownDB, m.file.userPath)
			}
			continue
		}
		a, ok := m.dir.User(name)
		if !ok {
			continue
		}
		u := lookedUp{acct: a, by: m.name}
		// getgroups: the first module that answers; mod_auth_file only
		// with an AuthGroupFile.
		for _, g := range mods[i:] {
			if g.file != nil && !g.file.groupsKnown {
				continue
			}
			if g.dir == nil {
				continue
			}
			if _, ok := g.dir.User(a.Name); !ok {
				continue
			}
			u.groups = g.dir.GroupNames(a)
			break
		}
		for _, g := range mods {
			if t, ok := g.dir.(*Table); ok {
				if n, ok := t.groupName(a.GID); ok {
					u.group = n
					break
				}
			} else if g.dir != nil {
				if gs := g.dir.GroupNames(a); len(gs) > 0 {
					u.group = gs[0]
					break
				}
			}
		}
		return u, how, nil
	}
	return lookedUp{}, how, nil
}

// limitResult is check_limit's answer: 1 explicit allow, 0 implicit
// allow, -1 implicit deny, -2 explicit deny.
type limitResult int

// checkLimit is check_limit for one <Limit>, with the record that
// decided.
func checkLimit(l *rec, w who, p peer) (limitResult, *rec) {
	order := find(l.sub, recParam, "Order", false)
	denyFirst := order != nil && strings.EqualFold(strings.Join(order.args, ""), "deny,allow")
	if denyFirst {
		if d := limitDeny(l, w, p); d != nil {
			return -2, d
		}
		if a := limitAllow(l, w, p); a != nil {
			return 1, a
		}
		return -1, order
	}
	if a := limitAllow(l, w, p); a != nil {
		return 1, a
	}
	if d := limitDeny(l, w, p); d != nil {
		return -2, d
	}
	return 0, nil
}

// limitAllow is check_limit_allow: before a user is known the mere
// presence of AllowUser or AllowGroup allows.
func limitAllow(l *rec, w who, p peer) *rec {
	if !w.userKnown {
		if r := find(l.sub, recParam, "AllowUser", false); r != nil {
			return r
		}
	} else if r := accessBy(l, "AllowUser", w, (*ifCond).evalUser); r != nil {
		return r
	}
	if !w.groupsKnown {
		if r := find(l.sub, recParam, "AllowGroup", false); r != nil {
			return r
		}
	} else if w.group != "" {
		if r := accessBy(l, "AllowGroup", w, (*ifCond).evalGroup); r != nil {
			return r
		}
	}
	if w.hasClass {
		if r := accessBy(l, "AllowClass", w, (*ifCond).evalClass); r != nil {
			return r
		}
	}
	if r := ipAccess(l, "Allow", p); r != nil {
		return r
	}
	if r := find(l.sub, recParam, "AllowAll", false); r != nil {
		return r
	}
	return nil
}

// limitDeny is check_limit_deny.
func limitDeny(l *rec, w who, p peer) *rec {
	if r := find(l.sub, recParam, "DenyAll", false); r != nil {
		return r
	}
	if w.userKnown {
		if r := accessBy(l, "DenyUser", w, (*ifCond).evalUser); r != nil {
			return r
		}
	}
	if w.groupsKnown && w.group != "" {
		if r := accessBy(l, "DenyGroup", w, (*ifCond).evalGroup); r != nil {
			return r
		}
	}
	if w.hasClass {
		if r := accessBy(l, "DenyClass", w, (*ifCond).evalClass); r != nil {
			return r
		}
	}
	return ipAccess(l, "Deny", p)
}

// accessBy is check_user_access and its siblings: the first record of
// the name whose expression holds.
func accessBy(l *rec, name string, w who, eval func(*ifCond, who) bool) *rec {
	for _, r := range findAll(l.sub, recParam, name) {
		if eval(parseLimitCond(name, r.args), w) {
			return r
		}
	}
	return nil
}

// ipAccess is check_ip_access: each Allow or Deny line holds when none of
// its negated rules fails and one of its plain rules matches; a negated
// rule that fails ends the check.
func ipAccess(l *rec, name string, p peer) *rec {
	var hit *rec
	for _, r := range findAll(l.sub, recParam, name) {
		acls, err := parseAllowDeny(name, r.args, r.ipv6)
		if err != nil {
			continue
		}
		for _, a := range acls {
			// check_ip_negative: a negated rule that answers at all
			// (1: the address is not the one named; -1: it is) ends the
			// whole check with no match.
			if a.negated && a.match(p) != 0 {
				return nil
			}
		}
		for _, a := range acls {
			if a.negated {
				continue
			}
			res := a.match(p)
			if res == 1 {
				hit = r
				break
			}
			if res == -1 {
				break
			}
		}
	}
	return hit
}

// loginLimits is login_check_limits on a list: in AND mode every <Limit
// LOGIN> at the top must allow (an implicit allow counts as no answer);
// in OR mode one explicit allow is enough, and without any explicit
// answer the login is allowed. recurse goes on into <Anonymous>
// sections. It returns the verdict, how many answered, and the record
// that decided a denial.
func loginLimits(l *list, recurse, and bool, w who, p peer) (bool, int, *rec, *rec) {
	res := and
	found := 0
	var denySec, denyBy *rec
	if l.empty() {
		return true, 0, nil, nil
	}
	for c := l.head; c != nil; c = c.next {
		if c.kind != recLimit || !limitsLogin(c) {
			continue
		}
		r, by := checkLimit(c, w, p)
		if and {
			switch r {
			case 1:
				found++
			case -1, -2:
				found++
				res = false
				denySec, denyBy = c, by
			}
			if !res {
				break
			}
		} else {
			switch r {
			case 1:
				res = true
				found++
			case -1, -2:
				found++
				if denySec == nil {
					denySec, denyBy = c, by
				}
			}
		}
	}
	if recurse && (res && and || !res && !and && found > 0) {
		for c := l.head; c != nil; c = c.next {
			if c.kind != recAnon || c.sub.empty() {
				continue
			}
			rres, rfound, s, b := loginLimits(c.sub, recurse, and, w, p)
			found += rfound
			if and {
				res = res && rres
				if !res {
					denySec, denyBy = s, b
					break
				}
			} else {
				if rfound > 0 {
					res = res || rres
				}
				if res {
					break
				}
			}
		}
	}
	if found == 0 && !and {
		return true, 0, nil, nil
	}
	return res, found, denySec, denyBy
}

// limitsLogin reports whether a <Limit> names LOGIN.
func limitsLogin(c *rec) bool {
	for _, a := range c.args {
		if strings.EqualFold(a, "LOGIN") {
			return true
		}
	}
	return false
}

// limitWhy names the <Limit> and the line that refused.
func limitWhy(sec, by *rec) string {
	if sec == nil {
		return "<Limit LOGIN>"
	}
	s := sec.label()
	if sec.via != "" {
		s += " (" + sec.via + ")"
	}
	if by != nil && by != sec {
		s += fmt.Sprintf(": %s %s (%s)", by.name, strings.Join(by.args, " "), by.where())
	} else {
		s += ": nothing in it allows the login"
	}
	return s
}

// anonConfig is pr_auth_get_anon_config: a UserAlias for the USER name
// (anywhere but in <Directory> and <Limit>, deepest first) gives the real
// user, and its <Anonymous> when it is inside one; else the first
// <Anonymous> whose User (or the server's) is that user. AuthAliasOnly is
// not followed (see the note it adds).
func anonConfig(conf *list, login string) (user string, anon *rec, alias *rec) {
	user = login
	skip := skipKinds{recDir: true, recLimit: true}
	for c := findSkip(conf, recParam, "UserAlias", true, skip); c != nil; c = (&finder{skip: skip}).next2(c, c.next, recParam, "UserAlias", 1) {
		if len(c.args) >= 2 && (c.args[0] == "*" || c.args[0] == login) {
			alias = c
			break
		}
	}
	if alias != nil {
		user = alias.args[1]
		if alias.parent != nil && alias.parent.kind == recAnon {
			return user, alias.parent, alias
		}
	}
	serverUser := ""
	if u := find(conf, recParam, "UserName", false); u != nil && len(u.args) > 0 {
		serverUser = u.args[0]
	}
	for c := find(conf, recAnon, "", false); c != nil; c = findNext(c, c.next, recAnon, "", false) {
		name := serverUser
		if u := find(c.sub, recParam, "UserName", false); u != nil && len(u.args) > 0 {
			name = u.args[0]
		}
		if name != "" && name == user {
			return user, c, alias
		}
	}
	return user, nil, alias
}

// listed reports whether names holds name.
func listed(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// ftpusersListed is pr_auth_banned_by_ftpusers's file check: lines with
// leading blanks skipped, comments ignored, the rest compared whole.
func ftpusersListed(lines []string, user string) bool {
	for _, l := range lines {
		t := strings.TrimLeft(l, " \t\n\v\f\r")
		if t == "" || t[0] == '#' {
			continue
		}
		if t == user {
			return true
		}
	}
	return false
}

// ParseFTPUsers splits /etc/ftpusers into its lines.
func ParseFTPUsers(text string) []string {
	return strings.Split(strings.TrimRight(text, "\n"), "\n")
}
