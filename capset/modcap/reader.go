package modcap

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
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
	// refused marks errors captune raises where proftpd would not stop
	// cleanly (an Include cycle, too many files); they are never turned
	// into warnings.
	refused bool
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
	if strings.HasSuffix(e.Text, ": unclosed configuration section") {
		// main.c reports this after parsing, without a line.
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
	// Trust, when set, sees every file and directory before it is read
	// (info is from fstat on the opened descriptor) and refuses it with an
	// error; drift uses it to read only files root or the master owns.
	Trust func(path string, info fs.FileInfo) error
}

// ErrNotRegular reports a configuration file that is a FIFO, a device or
// a socket. captune reads only regular files, so that no file can make it
// wait (a FIFO blocks the reader until someone writes) or read forever.
var ErrNotRegular = errors.New("not a regular file")

// refusal is a file captune will not read: not a regular file, too large,
// or refused by Options.Trust. In an Include it stops the configuration
// (proftpd would block or read forever, so proftpd -t must not be asked).
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

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

// source is one configuration file being read, as proftpd's config_src:
// its lines, how far it has been read, and cs_lineno.
type source struct {
	file   string
	lines  []line
	next   int
	lineno int
	closed bool
}

type reader struct {
	opt     Options
	cfg     *Config
	stack   []frame
	defines map[string]bool
	getenv  func(string) string
	files   int
	// sources is proftpd's stack of configuration sources: every parse
	// loop reads from the top one, whichever file that is.
	sources []*source
	// noIPv6 is UseIPv6 off at the line being read: From rules parse by
	// it (pr_netacl_create).
	noIPv6 bool
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

// openFile reads a configuration file as pr_parser_parse_file opens it:
// errors are errno values, a directory is EISDIR. The open never blocks
// (O_NONBLOCK: a FIFO opens at once and is then refused), the type is
// checked with fstat on the opened descriptor, so a path swapped for a
// FIFO after a check is still refused, and the read is bounded.
func (r *reader) openFile(path string) ([]byte, error) {
	if r.opt.FS != nil {
		name := strings.TrimPrefix(path, "/")
		st, err := fs.Stat(r.opt.FS, name)
		if err != nil {
			return nil, err
		}
		if err := r.checkFile(path, st); err != nil {
			return nil, err
		}
		return fs.ReadFile(r.opt.FS, name)
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := r.checkFile(path, st); err != nil {
		return nil, err
	}
	// A bound, so that a runaway file cannot eat the memory.
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err == nil && len(data) > maxFileBytes {
		return nil, refusal{fmt.Errorf("larger than %d MiB, the most captune reads of a configuration file: %w", maxFileBytes>>20, syscall.EFBIG)}
	}
	return data, err
}

// checkFile refuses what is not a regular file (a directory is EISDIR, as
// proftpd sees it) and what Options.Trust refuses.
func (r *reader) checkFile(path string, st fs.FileInfo) error {
	if st.IsDir() {
		return syscall.EISDIR
	}
	if !st.Mode().IsRegular() {
		return refusal{fmt.Errorf("%w (%s): captune reads only regular configuration files", ErrNotRegular, fileKind(st.Mode()))}
	}
	if r.opt.Trust != nil {
		if err := r.opt.Trust(path, st); err != nil {
			return refusal{err}
		}
	}
	return nil
}

// fileKind names what a path is instead of a regular file.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// maxFileBytes bounds one configuration file (proftpd has no bound).
const maxFileBytes = 16 << 20

// countFile counts a file against Options.MaxFiles and records it.
func (r *reader) countFile(path string) error {
	r.files++
	if r.files > r.opt.MaxFiles {
		return &Error{Text: fmt.Sprintf("Include: more than %d configuration files included (at '%s')", r.opt.MaxFiles, path),
			Hint: "refused by captune", refused: true}
	}
	r.cfg.Files = append(r.cfg.Files, path)
	return nil
}

func (r *reader) read(path string) ([]byte, error) {
	data, err := r.openFile(path)
	if err != nil {
		return nil, err
	}
	if err := r.countFile(path); err != nil {
		return nil, err
	}
	return data, nil
}

func (r *reader) lstat(path string) (fs.FileInfo, error) {
	if r.opt.FS != nil {
		return fs.Stat(r.opt.FS, strings.TrimPrefix(path, "/"))
	}
	return os.Lstat(path)
}

// readDir lists a directory without "." and "..", in strcmp order.
func (r *reader) readDir(path string) ([]string, error) {
	var ents []fs.DirEntry
	var err error
	if r.opt.FS != nil {
		ents, err = fs.ReadDir(r.opt.FS, strings.TrimPrefix(path, "/"))
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
	// O_DIRECTORY fails at once on a FIFO swapped in after the lstat.
	var fd int
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if r.opt.Trust != nil {
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if err := r.opt.Trust(path, st); err != nil {
			return nil, refusal{err}
		}
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

func (r *reader) top() *frame { return &r.stack[len(r.stack)-1] }

func (r *reader) warn(pos Pos, text string) {
	r.cfg.Warnings = append(r.cfg.Warnings, Warning{Pos: pos, Text: text})
}

// line is one line as pr_fsio_getline returns it: continuation lines
// joined, with the physical line number proftpd has counted after reading
// it (that of its last line).
type line struct {
	text string
	num  int
	// skip marks blank and comment lines, which pr_parser_read_line
	// consumes without returning them.
	skip bool
	// noEOL marks a line that ends without a newline (proftpd warns about
	// possibly truncated data).
	noEOL bool
}

// splitLines cuts a file into lines the way pr_fsio_getline and
// pr_parser_read_line do. A line ending in a backslash continues on the
// next one, unless it is a comment (then it is dropped); proftpd counts
// only lines that end in a newline, so a last line without one carries
// the number of the line before it.
func splitLines(data []byte) []line {
	s := string(data)
	var out []line
	num := 0
	var acc strings.Builder
	joined := false
	emit := func(eol bool) {
		t := acc.String()
		acc.Reset()
		joined = false
		t = strings.TrimSuffix(t, "\r")
		t = strings.TrimLeft(t, " \t\n\v\f\r")
		out = append(out, line{text: t, num: num, skip: t == "" || t[0] == '#', noEOL: !eol})
	}
	for s != "" {
		var chunk string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			chunk, s = s[:i], s[i+1:]
		} else {
			chunk, s = s, ""
			acc.WriteString(chunk)
			emit(false)
			break
		}
		num++
		if strings.HasSuffix(chunk, "\\") {
			if strings.HasPrefix(strings.TrimLeft(chunk, " \t\n\v\f\r"), "#") {
				continue
			}
			acc.WriteString(chunk[:len(chunk)-1])
			joined = true
			continue
		}
		acc.WriteString(chunk)
		emit(true)
	}
	if joined {
		// A continuation that runs into the end of the file.
		emit(false)
	}
	return out
}

// readLine is pr_parser_read_line: the next line of the source on top of
// the stack, which is not always the file the caller is parsing.
func (r *reader) readLine() (line, *source, bool) {
	if len(r.sources) == 0 {
		return line{}, nil, false
	}
	src := r.sources[len(r.sources)-1]
	if src.closed {
		return line{}, src, false
	}
	for src.next < len(src.lines) {
		ln := src.lines[src.next]
		src.next++
		src.lineno = ln.num
		if ln.noEOL {
			r.warn(Pos{File: src.file, Line: ln.num}, fmt.Sprintf("warning: handling possibly truncated configuration data at line %d of '%s'", ln.num, src.file))
		}
		if ln.skip {
			continue
		}
		return ln, src, true
	}
	return line{}, src, false
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
// parse is pr_parser_parse_file for one file's text: it pushes the file on
// the source stack and dispatches lines until the source on top runs dry.
// Like proftpd, it leaves its source on the stack when a line fails (the
// including file then goes on reading the rest of this one), and on
// reaching the end it pops whatever source is on top. chain is the
// Include chain that led here, for cycle reports.
func (r *reader) parse(file string, data []byte, chain []string) error {
	own := &source{file: file, lines: splitLines(data)}
	r.sources = append(r.sources, own)
	for {
		ln, src, ok := r.readLine()
		if !ok {
			break
		}
		// proftpd reports errors with this loop's own file and line
		// counter, even for a line it read from another file.
		epos := Pos{File: file, Line: own.lineno}
		err := r.line(ln, Pos{File: src.file, Line: ln.num}, epos, own, chain)
		if err != nil {
			var cerr *Error
			if src != own && errors.As(err, &cerr) && !cerr.refused {
				cerr.Hint = strings.TrimPrefix(cerr.Hint+"; ", "; ") + fmt.Sprintf("the line is line %d of '%s': after an Include of that file failed, proftpd reads the rest of it in place of '%s'", ln.num, src.file, file)
				cerr.Pos = epos
			}
			return err
		}
	}
	top := r.sources[len(r.sources)-1]
	if top != own {
		for _, l := range own.lines[own.next:] {
			if !l.skip {
				r.warn(Pos{File: file, Line: own.lineno}, fmt.Sprintf("proftpd never reads the rest of '%s' (from line %d on): an Include that failed above left the failed file's configuration source in its place", file, l.num))
				break
			}
		}
	}
	r.sources = r.sources[:len(r.sources)-1]
	own.closed = true
	return nil
}

// line dispatches one configuration line. pos is where the line really
// is; epos is where proftpd says it is when it reports an error.
func (r *reader) line(ln line, pos, epos Pos, own *source, chain []string) error {
	argv := r.argv(ln.text)
	if len(argv) == 0 {
		return nil
	}
	name := argv[0]
	lower := strings.ToLower(name)
	switch lower {
	case "<ifmodule>", "<ifdefine>":
		skip, err := r.conditional(lower, argv, pos)
		if err != nil {
			return err
		}
		if skip {
			return r.skipSection(lower[:len(lower)-1], own, pos, argv[0])
		}
		return nil
	case "</ifmodule>":
		if len(argv) != 1 {
			return &Error{Pos: pos, Text: fmt.Sprintf("</IfModule>: wrong number of parameters: %s", strings.Join(argv[1:], " "))}
		}
		return nil
	case "</ifdefine>":
		// end_ifdefine takes anything.
		return nil
	case "include":
		return r.include(argv, pos, chain)
	}
	return r.directive(argv, pos)
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
// matching close, counting nested openers the way mod_core does (any line
// starting with the opener's name, a closer only when it is the whole
// line). It reads from the source on top, like proftpd. An unclosed
// section is reported at the line where reading stopped: the end of the
// file, blank and comment lines included.
func (r *reader) skipSection(opener string, own *source, pos Pos, name string) error {
	closer := "</" + opener[1:] + ">"
	depth := 1
	for depth > 0 {
		ln, _, ok := r.readLine()
		if !ok {
			break
		}
		t := ln.text
		if len(t) >= len(opener) && strings.EqualFold(t[:len(opener)], opener) {
			depth++
		} else if strings.EqualFold(t, closer) {
			depth--
		}
	}
	if depth == 0 {
		return nil
	}
	canon := "<IfModule>"
	if strings.EqualFold(opener, "<ifdefine") {
		canon = "<IfDefine>"
	}
	return &Error{Pos: Pos{File: own.file, Line: own.lineno}, Text: fmt.Sprintf("%s: unclosed %s context", canon, canon),
		Hint: fmt.Sprintf("the false %s at line %d runs to the end of the file", name, pos.Line)}
}

// errnoError is what proftpd's Include code leaves in errno.
type errnoError struct{ errno syscall.Errno }

func (e errnoError) Error() string { return strerror(e.errno) }

// strerror prints an errno as glibc does.
func strerror(e syscall.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// errnoOf turns a file system error into the errno proftpd would see.
func errnoOf(err error) errnoError {
	var en syscall.Errno
	switch {
	case errors.As(err, &en):
		return errnoError{en}
	case errors.Is(err, fs.ErrNotExist):
		return errnoError{syscall.ENOENT}
	case errors.Is(err, fs.ErrPermission):
		return errnoError{syscall.EACCES}
	}
	return errnoError{syscall.EIO}
}

// includeMaxDepth is PR_PARSER_INCLUDE_MAX_DEPTH.
const includeMaxDepth = 64

// include runs an Include directive as mod_core's set_include does: the
// files are read in place; a failure to find or read them is a warning,
// EINVAL (e.g. a pattern whose directory cannot be opened) is fatal.
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
	err := r.includePath(path, 0, pos, chain)
	if err == nil {
		return nil
	}
	var en errnoError
	if !errors.As(err, &en) {
		var cerr *Error
		if errors.As(err, &cerr) && cerr.Pos.Line == 0 {
			cerr.Pos = pos
		}
		return err
	}
	if en.errno == syscall.EINVAL {
		return &Error{Pos: pos, Text: fmt.Sprintf("Include: error including '%s': %s", path, en)}
	}
	text := fmt.Sprintf("warning: unable to include '%s': %s", path, en)
	if en.errno == syscall.EPERM {
		text += " (a directive in it failed: proftpd goes on reading the rest of that file here, then stops reading this one)"
	}
	r.warn(pos, text)
	return nil
}

// isFnmatch is pr_str_is_fnmatch: does the string hold glob characters?
func isFnmatch(s string) bool {
	bracket := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '?', '*':
			return true
		case '\\':
			if i+1 == len(s) {
				return false
			}
			i++
		case '[':
			bracket++
		case ']':
			if bracket > 0 {
				return true
			}
		}
	}
	return false
}

// fnmatch matches a name against a pattern with FNM_PERIOD: a leading dot
// must be matched by a dot in the pattern.
func fnmatch(pattern, name string) bool {
	if strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".") {
		return false
	}
	p := strings.ReplaceAll(pattern, "[!", "[^")
	ok, err := filepath.Match(p, name)
	return err == nil && ok
}

// pdircat joins path parts with single slashes, as proftpd's pdircat.
func pdircat(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			s := b.String()
			switch {
			case s == "" && p == "":
			case strings.HasSuffix(s, "/") && strings.HasPrefix(p, "/"):
				p = p[1:]
			case !strings.HasSuffix(s, "/") && !strings.HasPrefix(p, "/"):
				b.WriteByte('/')
			}
		}
		b.WriteString(p)
	}
	return b.String()
}

// includePath is parse_config_path2: a file, a directory (every entry),
// or a pattern.
func (r *reader) includePath(path string, depth int, pos Pos, chain []string) error {
	if depth > includeMaxDepth || !strings.HasPrefix(path, "/") {
		return errnoError{syscall.EINVAL}
	}
	if !isFnmatch(path) {
		st, err := r.lstat(path)
		if err != nil {
			return errnoOf(err)
		}
		if st.Mode()&fs.ModeSymlink != 0 || !st.IsDir() {
			return r.includeFile(path, pos, chain)
		}
		return r.includeDir(path, "", false, pos, chain)
	}
	i := strings.LastIndexByte(path, '/')
	dir, pattern := path[:i], path[i+1:]
	if isFnmatch(dir) {
		return r.includeWildcardDir(path, depth, pos, chain)
	}
	st, err := r.lstat(dir)
	if err != nil {
		return errnoOf(err)
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return errnoError{syscall.ENOTDIR}
	}
	if !isFnmatch(pattern) {
		return errnoError{syscall.EINVAL}
	}
	return r.includeDir(dir, pattern, true, pos, chain)
}

// includeDir reads the entries of a directory (those matching pattern
// when glob is set) in strcmp order; a file that fails is a warning and
// the next one is read.
func (r *reader) includeDir(dir, pattern string, glob bool, pos Pos, chain []string) error {
	names, err := r.readDir(dir)
	var ref refusal
	if errors.As(err, &ref) {
		return refusedInclude(dir, pos, ref)
	}
	if err != nil {
		return errnoError{syscall.EINVAL}
	}
	var files []string
	for _, n := range names {
		if !glob || fnmatch(pattern, n) {
			files = append(files, pdircat(dir, n))
		}
	}
	sort.Strings(files)
	for _, f := range files {
		err := r.includeFile(f, pos, chain)
		var en errnoError
		if errors.As(err, &en) {
			r.warn(pos, fmt.Sprintf("error: unable to open parse file '%s': %s", f, en))
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// includeWildcardDir is parse_wildcard_config_path: the first path
// component with a wildcard is matched in its parent directory, and the
// rest of the path is included below every match, in strcmp order. The
// first match that fails stops it.
func (r *reader) includeWildcardDir(path string, depth int, pos Pos, chain []string) error {
	if depth > includeMaxDepth || len(path) < 2 {
		return errnoError{syscall.EINVAL}
	}
	parent := "/"
	comps := strings.Split(path[1:], "/")
	pattern, suffix := "", ""
	hasSuffix := false
	for k, c := range comps {
		if strings.ContainsAny(c, "*?[") {
			pattern = c
			if k < len(comps)-1 {
				suffix = strings.Join(comps[k+1:], "/")
				hasSuffix = true
			}
			break
		}
		parent = pdircat(parent, c)
	}
	if pattern == "" {
		return errnoError{syscall.ENOENT}
	}
	st, err := r.lstat(parent)
	if err != nil {
		return errnoOf(err)
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return errnoError{syscall.ENOTDIR}
	}
	names, err := r.readDir(parent)
	var ref refusal
	if errors.As(err, &ref) {
		return refusedInclude(parent, pos, ref)
	}
	if err != nil {
		return errnoError{syscall.EINVAL}
	}
	var matches []string
	for _, n := range names {
		if fnmatch(pattern, n) {
			if hasSuffix {
				matches = append(matches, pdircat(parent, n, suffix))
			} else {
				matches = append(matches, pdircat(parent, n))
			}
		}
	}
	if len(matches) == 0 {
		r.warn(pos, fmt.Sprintf("error: no matches found for wildcard directory '%s'", path))
		return errnoError{syscall.ENOENT}
	}
	sort.Strings(matches)
	for _, m := range matches {
		if err := r.includePath(m, depth+1, pos, chain); err != nil {
			return err
		}
	}
	return nil
}

// includeFile is pr_parser_parse_file for an included file. A directive
// that fails in it is logged, and the Include goes on with EPERM; the
// file's source stays on the stack, as in proftpd.
func (r *reader) includeFile(f string, pos Pos, chain []string) error {
	for k, c := range chain {
		if c == f {
			cycle := append(append([]string{}, chain[k:]...), f)
			return &Error{Pos: pos, Text: fmt.Sprintf("Include: %v: %s", ErrIncludeCycle, strings.Join(cycle, " -> ")),
				Hint: "proftpd would recurse until it crashes", refused: true}
		}
	}
	data, err := r.openFile(f)
	var ref refusal
	if errors.As(err, &ref) {
		// Refused, not skipped: proftpd itself would block on a FIFO or
		// read forever, so proftpd -t must not be asked.
		return refusedInclude(f, pos, ref)
	}
	if err != nil {
		return errnoOf(err)
	}
	if err := r.countFile(f); err != nil {
		return err
	}
	err = r.parse(f, data, append(append([]string{}, chain...), f))
	if err == nil {
		return nil
	}
	var cerr *Error
	if errors.As(err, &cerr) && !cerr.refused {
		r.warn(cerr.Pos, cerr.Proftpd())
		return errnoError{syscall.EPERM}
	}
	return err
}

// refusedInclude stops the configuration at an included file or folder
// captune will not read.
func refusedInclude(path string, pos Pos, ref refusal) *Error {
	return &Error{Pos: pos, Text: fmt.Sprintf("Include: '%s': %v", path, ref.err), Hint: "refused by captune", refused: true}
}

// contextName is proftpd's get_context_name for the current frame. Inside
// <IfUser>/<IfGroup>/<IfClass> at server level proftpd has no name for the
// context and prints its number (1 for the main server, 16 for a
// <VirtualHost>).
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
	if f.kind == ctxIfSession || (f.kind == ctxVirtual && f.eff == ctxRoot) {
		if f.eff == ctxVirtual {
			return "16"
		}
		return "1"
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
	} else if lower == "from" && r.top().eff == ctxClass {
		// <Class> rules: pr_netacl_create refuses what it cannot parse.
		if _, err := parseFrom(argv[1:], !r.noIPv6); err != nil {
			return &Error{Pos: pos, Text: "From: " + err.Error()}
		}
	} else {
		r.cfg.Unjudged++
		switch lower {
		case "useipv6":
			if len(argv) > 1 {
				if v, ok := ParseBool(argv[1]); ok {
					r.noIPv6 = !v
				}
			}
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

// openSection runs the checks of mod_core's and mod_ifsession's section
// handlers, in their order, with their texts, and opens the section.
func (r *reader) openSection(kind ctxKind, canon string, argv []string, pos Pos) error {
	if kind == ctxIfSession && !r.cfg.Modules["mod_ifsession.c"] {
		return &Error{Pos: pos, Text: fmt.Sprintf("unknown configuration directive '%s'", canon),
			Hint: "<IfUser>, <IfGroup> and <IfClass> need mod_ifsession: add LoadModule mod_ifsession.c before them"}
	}
	f := *r.top()
	eff := f.eff
	nargs := len(argv) - 1
	fail := func(text string) error { return &Error{Pos: pos, Text: canon + ": " + text} }
	in := func(kinds ...ctxKind) bool {
		for _, k := range kinds {
			if eff == k {
				return true
			}
		}
		return false
	}
	switch kind {
	case ctxGlobal:
		if nargs != 0 {
			return fail("Too many parameters")
		}
		if !in(ctxRoot, ctxVirtual) {
			return r.notAllowed(canon, pos)
		}
	case ctxVirtual:
		if nargs < 1 {
			return fail("wrong number of parameters")
		}
		if !in(ctxRoot) {
			return r.notAllowed(canon, pos)
		}
	case ctxDir:
		if nargs < 1 {
			return fail("missing parameters")
		}
		if !in(ctxRoot, ctxVirtual, ctxGlobal, ctxAnon) {
			return r.notAllowed(canon, pos)
		}
		dir := argv[1]
		if !strings.HasPrefix(dir, "/") && !strings.HasPrefix(dir, "~") && eff != ctxAnon {
			return fail("relative path not allowed in non-<Anonymous> sections")
		}
		if eff != ctxAnon && r.dirConfigured(dir) {
			return fail(fmt.Sprintf("<Directory> section already configured for '%s'", dir))
		}
	case ctxAnon:
		if nargs < 1 {
			return fail("missing parameters")
		}
		if !in(ctxRoot, ctxVirtual, ctxGlobal) {
			return r.notAllowed(canon, pos)
		}
		dir := argv[1]
		switch {
		case !strings.HasPrefix(dir, "/") && !strings.HasPrefix(dir, "~"):
			return fail(fmt.Sprintf("(%s) absolute pathname required", dir))
		case strings.Contains(dir, "*"):
			return fail(fmt.Sprintf("(%s) wildcards not allowed in pathname", dir))
		case dir == "/":
			return fail("'/' not permitted for anonymous root directory")
		}
	case ctxLimit:
		if nargs < 1 {
			return fail("directive requires one or more commands")
		}
		if !in(ctxRoot, ctxVirtual, ctxDir, ctxAnon, ctxGlobal) {
			return r.notAllowed(canon, pos)
		}
	case ctxClass:
		if nargs < 1 {
			return fail("missing parameters")
		}
		if !in(ctxRoot, ctxGlobal) {
			return r.notAllowed(canon, pos)
		}
	case ctxIfSession:
		if !in(ctxRoot, ctxVirtual, ctxGlobal) {
			return r.notAllowed(canon, pos)
		}
		if canon == "<IfAuthenticated>" {
			if nargs > 0 {
				return fail("wrong number of parameters")
			}
		} else if nargs < 1 || (nargs > 1 && argv[1] == "regex" && nargs != 2) {
			return fail("wrong number of parameters")
		}
	}
	n := &Node{Name: canon, Args: argv[1:], Pos: pos, Section: true}
	r.add(n)
	nf := frame{kind: kind, eff: kind, node: n, server: f.server}
	switch kind {
	case ctxIfSession:
		// mod_ifsession's sections take their parent's context type.
		nf.eff = eff
	case ctxVirtual:
		nf.server = ctxVirtual
		if f.kind != ctxRoot {
			// Opened inside <IfUser> at server level: proftpd keeps
			// checking directives against that section's context.
			nf.eff = eff
		}
	}
	r.stack = append(r.stack, nf)
	return nil
}

// serverNode is the node of the server being read: the root or the
// innermost <VirtualHost>.
func (r *reader) serverNode() *Node {
	for i := len(r.stack) - 1; i >= 0; i-- {
		if k := r.stack[i].kind; k == ctxRoot || k == ctxVirtual {
			return r.stack[i].node
		}
	}
	return nil
}

// dirConfigured reports whether the current server already has a
// non-empty <Directory> section for dir at its top level (proftpd drops
// empty sections when they close).
func (r *reader) dirConfigured(dir string) bool {
	srv := r.serverNode()
	if srv == nil {
		return false
	}
	for _, c := range srv.Children {
		if c.Section && c.Is("<Directory>") && len(c.Args) > 0 && c.Args[0] == dir && nonEmpty(c) {
			return true
		}
	}
	return false
}

func nonEmpty(n *Node) bool {
	for _, c := range n.Children {
		if !c.Section || nonEmpty(c) {
			return true
		}
	}
	return false
}

// closeSection runs a closing directive. mod_core's closers check their
// argument count and context, then close whatever section is innermost;
// mod_ifsession's closers check nothing and close the innermost section,
// if any.
func (r *reader) closeSection(argv []string, pos Pos) error {
	name := argv[0]
	open := "<" + strings.ToLower(strings.TrimPrefix(name, "</"))
	f := r.top()
	kind, known := sectionKinds[open]
	if !known {
		// A closer of another module's section: proftpd judges it.
		if len(r.stack) > 1 && f.kind == ctxOther && strings.EqualFold(f.node.Name, open) {
			r.stack = r.stack[:len(r.stack)-1]
		}
		r.cfg.Unjudged++
		return nil
	}
	canonClose := "</" + strings.TrimPrefix(sectionCanon[open], "<")
	if kind == ctxIfSession {
		if !r.cfg.Modules["mod_ifsession.c"] {
			return &Error{Pos: pos, Text: fmt.Sprintf("unknown configuration directive '%s'", canonClose)}
		}
		if f.kind != ctxRoot && f.kind != ctxVirtual {
			r.stack = r.stack[:len(r.stack)-1]
		}
		return nil
	}
	if len(argv) > 1 {
		return &Error{Pos: pos, Text: canonClose + ": wrong number of parameters"}
	}
	if f.eff != kind {
		return r.notAllowed(canonClose, pos)
	}
	if kind == ctxVirtual {
		for i := len(r.stack) - 1; i > 0; i-- {
			if r.stack[i].kind == ctxVirtual {
				r.stack = r.stack[:i]
				return nil
			}
		}
	}
	if len(r.stack) > 1 {
		r.stack = r.stack[:len(r.stack)-1]
	}
	return nil
}
