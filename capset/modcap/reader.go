package modcap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// Pos is a place in a configuration file.
type Pos struct {
	File string
	Line int
}

// String prints the position as file:line.
func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("line %d", p.Line)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Error is a configuration error proftpd would stop at. Text is proftpd's
// own message ("CapabilitiesSet: unknown capability: 'CAP_NET_RAW'").
type Error struct {
	Pos  Pos
	Text string
	// Hint adds captune's own explanation, if any.
	Hint string
}

// Error prints "file:line: proftpd's text".
func (e *Error) Error() string {
	s := e.Pos.String() + ": " + e.Text
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Proftpd prints the error exactly as `proftpd -t` does.
func (e *Error) Proftpd() string {
	if e.Pos.Line == 0 {
		return "fatal: " + e.Text
	}
	return fmt.Sprintf("fatal: %s on line %d of '%s'", e.Text, e.Pos.Line, e.Pos.File)
}

// ErrIncludeCycle reports a chain of Include directives that leads back to
// a file already being read.
var ErrIncludeCycle = errors.New("Include cycle")

// Warning is something proftpd reports but does not stop at.
type Warning struct {
	Pos  Pos
	Text string
}

// String prints the warning with its position.
func (w Warning) String() string { return w.Pos.String() + ": " + w.Text }

// Node is one directive, or a section with its directives inside.
type Node struct {
	// Name is the directive as proftpd dispatches it: sections as "<Name>",
	// known directives in their canonical spelling, others as written.
	Name string
	Args []string
	Pos  Pos
	// Section is set for "<Name ...>" blocks; Children holds their content.
	Section  bool
	Children []*Node
}

// Is reports whether the node is the named directive (case-insensitive).
func (n *Node) Is(name string) bool { return strings.EqualFold(n.Name, name) }

// Config is a configuration read the way proftpd reads it: Include
// expanded, <IfModule> and <IfDefine> evaluated, sections nested.
type Config struct {
	// Path is the main file.
	Path string
	// Top holds the server-config level: directives, <Global> and
	// <VirtualHost> sections, in file order.
	Top []*Node
	// Files lists every file read, the main one first.
	Files []string
	// Warnings are what proftpd would log without stopping.
	Warnings []Warning
	// Unjudged counts directives captune does not check (they belong to
	// other modules); proftpd -t is the judge of those.
	Unjudged int
	// Modules is the module set after LoadModule lines.
	Modules map[string]bool
}

// Options change how a configuration is read.
type Options struct {
	// Modules are proftpd's compiled-in modules (as `proftpd -l` lists
	// them). Nil means Debian bookworm's proftpd-core 1.3.8.
	Modules []string
	// Defines are the names -D would define.
	Defines []string
	// Getenv resolves %{env:NAME}; nil uses the process environment.
	Getenv func(string) string
	// MaxFiles bounds how many files Includes may pull in (default 1000).
	MaxFiles int
	// FS reads files; nil reads the real filesystem.
	FS fs.FS
}

// DebianModules are the modules compiled into Debian bookworm's proftpd-core
// 1.3.8 (`proftpd -l`).
var DebianModules = []string{
	"mod_core.c", "mod_xfer.c", "mod_rlimit.c", "mod_auth_unix.c",
	"mod_auth_file.c", "mod_auth.c", "mod_ls.c", "mod_log.c", "mod_site.c",
	"mod_delay.c", "mod_facts.c", "mod_dso.c", "mod_auth_pam.c", "mod_cap.c",
	"mod_ctrls.c", "mod_lang.c",
}

// ReadFile reads a proftpd configuration file and every file it includes.
// A configuration proftpd would refuse returns an *Error carrying
// proftpd's text and file:line.
func ReadFile(path string, opt Options) (*Config, error) {
	r := newReader(opt)
	r.cfg.Path = path
	if !filepath.IsAbs(path) {
		if abs, err := filepath.Abs(path); err == nil && opt.FS == nil {
			path = abs
			r.cfg.Path = abs
		}
	}
	data, err := r.read(path)
	if err != nil {
		return nil, err
	}
	if err := r.parse(path, data, []string{path}); err != nil {
		return nil, err
	}
	if len(r.stack) > 1 {
		open := r.stack[len(r.stack)-1]
		return nil, &Error{Pos: open.node.Pos, Text: fmt.Sprintf("error processing configuration file '%s': unclosed configuration section", path),
			Hint: open.node.Name + " opened here is never closed"}
	}
	return r.cfg, nil
}

// ReadString reads configuration text as if it were the file named name.
func ReadString(name, text string, opt Options) (*Config, error) {
	r := newReader(opt)
	r.cfg.Path = name
	r.cfg.Files = append(r.cfg.Files, name)
	if err := r.parse(name, []byte(text), []string{name}); err != nil {
		return nil, err
	}
	if len(r.stack) > 1 {
		open := r.stack[len(r.stack)-1]
		return nil, &Error{Pos: open.node.Pos, Text: fmt.Sprintf("error processing configuration file '%s': unclosed configuration section", name),
			Hint: open.node.Name + " opened here is never closed"}
	}
	return r.cfg, nil
}

type ctxKind int

const (
	ctxRoot ctxKind = iota
	ctxVirtual
	ctxGlobal
	ctxDir
	ctxAnon
	ctxLimit
	ctxClass
	ctxIfSession
	ctxOther
)

type frame struct {
	kind ctxKind
	// eff is the context type proftpd checks against: an <IfUser> takes its
	// parent's.
	eff  ctxKind
	node *Node
	// server is the nearest enclosing server kind (root or virtual).
	server ctxKind
}

type reader struct {
	opt     Options
	cfg     *Config
	stack   []frame
	defines map[string]bool
	getenv  func(string) string
	files   int
}

func newReader(opt Options) *reader {
	mods := opt.Modules
	if mods == nil {
		mods = DebianModules
	}
	r := &reader{opt: opt, cfg: &Config{Modules: map[string]bool{}}, defines: map[string]bool{}}
	for _, m := range mods {
		r.cfg.Modules[m] = true
	}
	for _, d := range opt.Defines {
		r.defines[d] = true
	}
	r.getenv = opt.Getenv
	if r.getenv == nil {
		r.getenv = os.Getenv
	}
	if r.opt.MaxFiles <= 0 {
		r.opt.MaxFiles = 1000
	}
	root := &Node{Name: "server config", Section: true}
	r.stack = []frame{{kind: ctxRoot, eff: ctxRoot, node: root, server: ctxRoot}}
	return r
}

func (r *reader) read(path string) ([]byte, error) {
	r.files++
	if r.files > r.opt.MaxFiles {
		return nil, fmt.Errorf("more than %d configuration files included (at '%s')", r.opt.MaxFiles, path)
	}
	r.cfg.Files = append(r.cfg.Files, path)
	if r.opt.FS != nil {
		return fs.ReadFile(r.opt.FS, strings.TrimPrefix(path, "/"))
	}
	return os.ReadFile(path)
}

func (r *reader) stat(path string) (fs.FileInfo, error) {
	if r.opt.FS != nil {
		return fs.Stat(r.opt.FS, strings.TrimPrefix(path, "/"))
	}
	return os.Lstat(path)
}

func (r *reader) readDir(path string) ([]string, error) {
	var ents []fs.DirEntry
	var err error
	if r.opt.FS != nil {
		ents, err = fs.ReadDir(r.opt.FS, strings.TrimPrefix(path, "/"))
	} else {
		ents, err = os.ReadDir(path)
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

func (r *reader) top() *frame { return &r.stack[len(r.stack)-1] }

// line is one logical configuration line.
type line struct {
	text string
	num  int
}

// splitLines joins continuation lines and drops comments and blank lines
// the way proftpd's pr_fsio_getline and pr_parser_read_line do. The number
// of a joined line is that of its last physical line, as proftpd reports it.
func splitLines(data []byte) []line {
	var out []line
	phys := strings.Split(string(data), "\n")
	if len(phys) > 0 && phys[len(phys)-1] == "" {
		phys = phys[:len(phys)-1]
	}
	var acc strings.Builder
	for i, p := range phys {
		num := i + 1
		last := i == len(phys)-1
		hasEOL := !last || strings.HasSuffix(string(data), "\n")
		if hasEOL && strings.HasSuffix(p, "\\") {
			if strings.HasPrefix(strings.TrimLeft(p, " \t\v\f\r"), "#") {
				continue
			}
			acc.WriteString(p[:len(p)-1])
			if !last {
				continue
			}
		} else {
			acc.WriteString(p)
		}
		t := acc.String()
		acc.Reset()
		t = strings.TrimSuffix(t, "\r")
		t = strings.TrimLeft(t, " \t\v\f\r")
		if t == "" || t[0] == '#' {
			continue
		}
		out = append(out, line{text: t, num: num})
	}
	return out
}

// words splits a line as pr_str_get_word does: whitespace separates words,
// a word starting with '"' runs to the next unescaped '"', and a word
// starting with '#' ends the line.
func words(s string) []string {
	var out []string
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) || s[i] == '#' {
			return out
		}
		var b strings.Builder
		if s[i] == '"' {
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
		} else {
			for i < len(s) && !isSpace(s[i]) {
				b.WriteByte(s[i])
				i++
			}
		}
		if i < len(s) {
			i++
		}
		out = append(out, b.String())
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func (r *reader) expandEnv(w string) string {
	if len(w) <= 7 {
		return w
	}
	for n := 0; n < 64; n++ {
		i := strings.Index(w, "%{env:")
		if i < 0 {
			return w
		}
		j := strings.IndexByte(w[i+6:], '}')
		if j < 0 {
			return w
		}
		key := w[i+6 : i+6+j]
		w = w[:i] + r.getenv(key) + w[i+6+j+1:]
	}
	return w
}

// argv turns a line into proftpd's argv, with the "<Name args>" fix-up.
func (r *reader) argv(text string) []string {
	ws := words(text)
	for i, w := range ws {
		ws[i] = r.expandEnv(w)
	}
	if len(ws) > 1 && strings.HasPrefix(ws[0], "<") {
		last := ws[len(ws)-1]
		if strings.HasSuffix(last, ">") {
			if last == ">" {
				ws = ws[:len(ws)-1]
			} else {
				ws[len(ws)-1] = last[:len(last)-1]
			}
			if !strings.HasSuffix(ws[0], ">") {
				ws[0] += ">"
			}
		}
	}
	return ws
}

// parse reads one file's lines into the current context. chain is the
// Include chain that led here, for cycle reports.
func (r *reader) parse(file string, data []byte, chain []string) error {
	lines := splitLines(data)
	for i := 0; i < len(lines); i++ {
		ln := lines[i]
		argv := r.argv(ln.text)
		if len(argv) == 0 {
			continue
		}
		pos := Pos{File: file, Line: ln.num}
		name := argv[0]
		lower := strings.ToLower(name)
		switch lower {
		case "<ifmodule>", "<ifdefine>":
			skip, err := r.conditional(lower, argv, pos)
			if err != nil {
				return err
			}
			if skip {
				n, err := skipSection(lines, i, lower[:len(lower)-1], pos, argv[0])
				if err != nil {
					return err
				}
				i = n
			}
			continue
		case "</ifmodule>", "</ifdefine>":
			if len(argv) != 1 {
				return &Error{Pos: pos, Text: fmt.Sprintf("%s: wrong number of parameters: %s", canonicalSection(name), strings.Join(argv[1:], " "))}
			}
			continue
		case "include":
			if err := r.include(argv, pos, chain); err != nil {
				return err
			}
			continue
		}
		if err := r.directive(argv, pos); err != nil {
			return err
		}
	}
	return nil
}

func canonicalSection(name string) string {
	switch strings.ToLower(name) {
	case "</ifmodule>":
		return "</IfModule>"
	case "</ifdefine>":
		return "</IfDefine>"
	}
	return name
}

// conditional evaluates <IfModule> / <IfDefine>; it reports whether the
// section's lines are to be skipped.
func (r *reader) conditional(lower string, argv []string, pos Pos) (bool, error) {
	canon := "<IfModule>"
	if lower == "<ifdefine>" {
		canon = "<IfDefine>"
	}
	if len(argv) < 2 {
		return false, &Error{Pos: pos, Text: canon + ": missing parameters"}
	}
	arg := argv[1]
	not := strings.HasPrefix(arg, "!")
	arg = strings.TrimPrefix(arg, "!")
	var found bool
	if canon == "<IfModule>" {
		found = r.cfg.Modules[arg]
	} else {
		found = r.defines[arg]
	}
	return found == not, nil
}

// skipSection consumes the lines of a false <IfModule>/<IfDefine> up to its
// matching close, counting nested openers the way mod_core does. It
// returns the index of the closing line.
func skipSection(lines []line, start int, opener string, pos Pos, name string) (int, error) {
	closer := "</" + opener[1:] + ">"
	depth := 1
	for j := start + 1; j < len(lines); j++ {
		t := lines[j].text
		if len(t) >= len(opener) && strings.EqualFold(t[:len(opener)], opener) {
			depth++
		} else if strings.EqualFold(t, closer) {
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	last := pos
	if len(lines) > 0 {
		last.Line = lines[len(lines)-1].num
	}
	canon := "<IfModule>"
	if strings.EqualFold(opener, "<ifdefine") {
		canon = "<IfDefine>"
	}
	return 0, &Error{Pos: last, Text: fmt.Sprintf("%s: unclosed %s context", canon, canon), Hint: fmt.Sprintf("the false %s at line %d runs to the end of the file", name, pos.Line)}
}

// include expands an Include directive in place.
func (r *reader) include(argv []string, pos Pos, chain []string) error {
	if len(argv) < 2 {
		return &Error{Pos: pos, Text: "Include: missing parameters"}
	}
	switch r.top().eff {
	case ctxRoot, ctxVirtual, ctxAnon, ctxGlobal, ctxDir, ctxLimit:
	default:
		return r.notAllowed("Include", pos)
	}
	path := argv[1]
	if !strings.HasPrefix(path, "/") {
		return &Error{Pos: pos, Text: fmt.Sprintf("Include: unable to use path for configuration file '%s'", path),
			Hint: "proftpd takes only absolute paths here"}
	}
	files, warn, err := r.expandInclude(path)
	if err != nil {
		return &Error{Pos: pos, Text: fmt.Sprintf("Include: error including '%s': %v", path, err)}
	}
	if warn != "" {
		r.cfg.Warnings = append(r.cfg.Warnings, Warning{Pos: pos, Text: warn})
		return nil
	}
	for _, f := range files {
		for k, c := range chain {
			if c == f {
				cycle := append(append([]string{}, chain[k:]...), f)
				return &Error{Pos: pos, Text: fmt.Sprintf("Include: %v: %s", ErrIncludeCycle, strings.Join(cycle, " -> ")),
					Hint: "proftpd would recurse until it runs out of file descriptors"}
			}
		}
		data, err := r.read(f)
		if err != nil {
			var perr *fs.PathError
			if errors.As(err, &perr) {
				r.cfg.Warnings = append(r.cfg.Warnings, Warning{Pos: pos, Text: fmt.Sprintf("warning: unable to include '%s': %v", f, perr.Err)})
				continue
			}
			return &Error{Pos: pos, Text: "Include: " + err.Error(), Hint: "refused by captune"}
		}
		depth := len(r.stack)
		err = r.parse(f, data, append(chain, f))
		if err != nil {
			var cerr *Error
			if errors.As(err, &cerr) && !strings.Contains(cerr.Text, ErrIncludeCycle.Error()) && cerr.Hint != "refused by captune" {
				// proftpd logs the included file's fatal error, abandons the
				// rest of that file and carries on with the including one.
				r.cfg.Warnings = append(r.cfg.Warnings, Warning{Pos: cerr.Pos, Text: cerr.Proftpd() + " (proftpd skips the rest of this included file and carries on)"})
				_ = depth
				continue
			}
			return err
		}
	}
	return nil
}

// expandInclude resolves an Include path into the files it names: a file,
// every file of a directory, or the matches of a wildcard pattern, in
// strcmp order as proftpd sorts them.
func (r *reader) expandInclude(path string) (files []string, warn string, err error) {
	if !strings.ContainsAny(path, "*?[") {
		st, err := r.stat(path)
		if err != nil {
			var perr *fs.PathError
			if errors.As(err, &perr) {
				return nil, fmt.Sprintf("warning: unable to include '%s': %s", path, describeErrno(perr.Err)), nil
			}
			return nil, fmt.Sprintf("warning: unable to include '%s': %v", path, err), nil
		}
		if !st.IsDir() {
			return []string{path}, "", nil
		}
		names, err := r.readDir(path)
		if err != nil {
			return nil, "", err
		}
		for _, n := range names {
			files = append(files, filepath.Join(path, n))
		}
		return files, "", nil
	}
	dir, pattern := filepath.Split(path)
	dir = filepath.Clean(dir)
	if strings.ContainsAny(dir, "*?[") {
		matches, err := r.globDirs(path)
		if err != nil {
			return nil, "", err
		}
		return matches, "", nil
	}
	names, err := r.readDir(dir)
	if err != nil {
		return nil, "", err
	}
	for _, n := range names {
		if ok, _ := filepath.Match(pattern, n); ok && !(strings.HasPrefix(n, ".") && !strings.HasPrefix(pattern, ".")) {
			files = append(files, filepath.Join(dir, n))
		}
	}
	return files, "", nil
}

// globDirs expands a pattern with wildcards in a directory component.
func (r *reader) globDirs(path string) ([]string, error) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	cur := []string{"/"}
	for i, p := range parts {
		var next []string
		lastPart := i == len(parts)-1
		for _, c := range cur {
			if !strings.ContainsAny(p, "*?[") {
				next = append(next, filepath.Join(c, p))
				continue
			}
			names, err := r.readDir(c)
			if err != nil {
				continue
			}
			for _, n := range names {
				if ok, _ := filepath.Match(p, n); ok && !(strings.HasPrefix(n, ".") && !strings.HasPrefix(p, ".")) {
					full := filepath.Join(c, n)
					if !lastPart {
						if st, err := r.stat(full); err != nil || !st.IsDir() {
							continue
						}
					}
					next = append(next, full)
				}
			}
		}
		cur = next
	}
	if len(cur) == 0 {
		return nil, fmt.Errorf("no matches found for wildcard directory '%s'", path)
	}
	var files []string
	for _, c := range cur {
		st, err := r.stat(c)
		if err != nil {
			continue
		}
		if st.IsDir() {
			names, err := r.readDir(c)
			if err != nil {
				continue
			}
			for _, n := range names {
				files = append(files, filepath.Join(c, n))
			}
			continue
		}
		files = append(files, c)
	}
	return files, nil
}

func describeErrno(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "Permission denied"
	}
	return err.Error()
}

// contextName is proftpd's get_context_name for the current frame.
func (r *reader) contextName() string {
	f := r.top()
	switch f.eff {
	case ctxDir:
		return "<Directory>"
	case ctxAnon:
		return "<Anonymous>"
	case ctxClass:
		return "<Class>"
	case ctxLimit:
		return "<Limit>"
	case ctxGlobal:
		return "<Global>"
	}
	if f.server == ctxVirtual {
		return "<VirtualHost>"
	}
	return "server config"
}

func (r *reader) notAllowed(directive string, pos Pos) error {
	return &Error{Pos: pos, Text: fmt.Sprintf("%s: directive not allowed in %s context", directive, r.contextName())}
}

func (r *reader) add(n *Node) {
	f := r.top()
	f.node.Children = append(f.node.Children, n)
	if len(r.stack) == 1 {
		r.cfg.Top = f.node.Children
	}
}

// sections proftpd knows, with the module that defines them and where they
// may appear.
var sectionKinds = map[string]ctxKind{
	"<global>":          ctxGlobal,
	"<virtualhost>":     ctxVirtual,
	"<directory>":       ctxDir,
	"<anonymous>":       ctxAnon,
	"<limit>":           ctxLimit,
	"<class>":           ctxClass,
	"<ifuser>":          ctxIfSession,
	"<ifgroup>":         ctxIfSession,
	"<ifclass>":         ctxIfSession,
	"<ifauthenticated>": ctxIfSession,
}

var sectionCanon = map[string]string{
	"<global>": "<Global>", "<virtualhost>": "<VirtualHost>", "<directory>": "<Directory>",
	"<anonymous>": "<Anonymous>", "<limit>": "<Limit>", "<class>": "<Class>",
	"<ifuser>": "<IfUser>", "<ifgroup>": "<IfGroup>", "<ifclass>": "<IfClass>",
	"<ifauthenticated>": "<IfAuthenticated>",
}

func (r *reader) directive(argv []string, pos Pos) error {
	name := argv[0]
	lower := strings.ToLower(name)
	if !isASCII(name) {
		return &Error{Pos: pos, Text: fmt.Sprintf("unknown configuration directive '%s'", name),
			Hint: fmt.Sprintf("malformed directive name '%s' (contains non-ASCII characters)", name)}
	}
	if strings.HasPrefix(lower, "</") {
		return r.closeSection(argv, pos)
	}
	if kind, ok := sectionKinds[lower]; ok {
		return r.openSection(kind, sectionCanon[lower], argv, pos)
	}
	if strings.HasPrefix(lower, "<") {
		// A section of another module (e.g. <IfVersion>): kept as a
		// generic block so its directives stay in their place; proftpd
		// judges it.
		r.cfg.Unjudged++
		n := &Node{Name: name, Args: argv[1:], Pos: pos, Section: true}
		r.add(n)
		f := r.top()
		r.stack = append(r.stack, frame{kind: ctxOther, eff: f.eff, node: n, server: f.server})
		return nil
	}
	n := &Node{Name: name, Args: argv[1:], Pos: pos}
	if canon, ok := judged[lower]; ok {
		n.Name = canon
		if err := r.check(n); err != nil {
			return err
		}
	} else {
		r.cfg.Unjudged++
		switch lower {
		case "loadmodule":
			if len(argv) > 1 {
				r.cfg.Modules[argv[1]] = true
			}
		case "define":
			if len(argv) > 1 {
				r.defines[argv[1]] = true
			}
		}
	}
	r.add(n)
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (r *reader) openSection(kind ctxKind, canon string, argv []string, pos Pos) error {
	if kind == ctxIfSession && !r.cfg.Modules["mod_ifsession.c"] {
		return &Error{Pos: pos, Text: fmt.Sprintf("unknown configuration directive '%s'", canon),
			Hint: "<IfUser>, <IfGroup> and <IfClass> need mod_ifsession: add LoadModule mod_ifsession.c before them"}
	}
	f := *r.top()
	allowed := true
	switch kind {
	case ctxGlobal, ctxVirtual:
		allowed = f.eff == ctxRoot && f.kind != ctxIfSession
	case ctxAnon:
		allowed = f.eff == ctxRoot || f.eff == ctxVirtual || f.eff == ctxGlobal
	case ctxDir:
		allowed = f.eff == ctxRoot || f.eff == ctxVirtual || f.eff == ctxGlobal || f.eff == ctxAnon
	case ctxIfSession:
		allowed = f.eff == ctxRoot || f.eff == ctxVirtual || f.eff == ctxGlobal || f.eff == ctxAnon
	}
	if !allowed {
		return r.notAllowed(canon, pos)
	}
	if kind != ctxIfSession && kind != ctxGlobal && kind != ctxAnon && kind != ctxLimit && len(argv) < 2 {
		return &Error{Pos: pos, Text: canon + ": missing parameters"}
	}
	if kind == ctxIfSession && canon != "<IfAuthenticated>" && len(argv) < 2 {
		return &Error{Pos: pos, Text: canon + ": wrong number of parameters"}
	}
	n := &Node{Name: canon, Args: argv[1:], Pos: pos, Section: true}
	r.add(n)
	nf := frame{kind: kind, eff: kind, node: n, server: f.server}
	if kind == ctxIfSession {
		nf.eff = f.eff
	}
	if kind == ctxVirtual {
		nf.server = ctxVirtual
		nf.eff = ctxVirtual
	}
	if kind == ctxGlobal {
		nf.eff = ctxGlobal
	}
	r.stack = append(r.stack, nf)
	return nil
}

func (r *reader) closeSection(argv []string, pos Pos) error {
	name := argv[0]
	open := "<" + strings.ToLower(strings.TrimPrefix(name, "</"))
	f := r.top()
	kind, known := sectionKinds[open]
	canonClose := name
	if known {
		canonClose = "</" + strings.TrimPrefix(sectionCanon[open], "<")
	}
	if len(r.stack) > 1 && strings.EqualFold(f.node.Name, open) {
		r.stack = r.stack[:len(r.stack)-1]
		return nil
	}
	if !known {
		// A closer of another module's section: proftpd judges it.
		r.cfg.Unjudged++
		return nil
	}
	_ = kind
	return r.notAllowed(canonClose, pos)
}
