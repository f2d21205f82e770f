package drift

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"captune/capset/modcap"
	"captune/procscan"
	"captune/safefile"
)

// identify finds which configuration master m runs: the given file when
// it counts for m, else the file evidence ties to m.
func (r *round) identify(m procscan.Process) *Identity {
	var given *Identity
	if x := r.c.opt.Explicit; x != "" {
		if given = r.identifyExplicit(m, x); given.Status == Known {
			return given
		}
	}
	if !r.c.live {
		if given != nil {
			return given
		}
		return &Identity{Master: m.PID, Status: Unknown, Note: "not this machine's /proc: give the configuration with --proftpd-config"}
	}
	id := r.identifyByEvidence(m)
	if id.Status != Known && given != nil {
		id.Note = given.Note + "; and " + id.Note
	}
	return id
}

// identifyByEvidence tries the files master m may run (its visible -c,
// Options.Candidates, the compiled-in configuration file) and keeps the
// first that evidence ties to m.
func (r *round) identifyByEvidence(m procscan.Process) *Identity {
	id := &Identity{Master: m.PID, Status: Unknown}
	var cands []string
	if a := MasterConfigArg(m.Cmdline); a != "" {
		if !filepath.IsAbs(a) {
			if cwd, err := os.Readlink(r.pidPath(m.PID, "cwd")); err == nil {
				a = filepath.Join(cwd, a)
			}
		}
		cands = append(cands, a)
	}
	for _, p := range r.c.opt.Candidates {
		if abs, err := filepath.Abs(p); err == nil {
			cands = append(cands, abs)
		}
	}
	def := r.c.defaultConfig
	if d, ok := r.defaultsFor(m); ok && d.ConfigFile != "" {
		def = d.ConfigFile
	}
	cands = append(cands, def)
	var tried []string
	seen := map[string]bool{}
	if x := r.c.opt.Explicit; x != "" {
		if abs, err := filepath.Abs(x); err == nil {
			seen[abs] = true
		}
		seen[x] = true
	}
	for _, path := range cands {
		if seen[path] {
			continue
		}
		seen[path] = true
		cfg, err := r.read(path, trusted(m))
		if err != nil {
			tried = append(tried, shortErr(path, err).Error())
			continue
		}
		ev := r.evidence(m, cfg)
		if ev.match != "" {
			return &Identity{Master: m.PID, Status: Known, Config: path, Note: ev.match, cfg: cfg}
		}
		tried = append(tried, path+": "+ev.against())
	}
	id.Note = fmt.Sprintf("no file is known to be master %d's configuration (proftpd hides its -c; tried %s)", m.PID, strings.Join(tried, "; "))
	return id
}

// identifyExplicit decides whether the given configuration is master m's.
func (r *round) identifyExplicit(m procscan.Process, path string) *Identity {
	id := &Identity{Master: m.PID, Status: Unknown}
	cfg, err := r.read(path, nil)
	if err != nil {
		id.Note = "--proftpd-config: " + shortErr(path, err).Error()
		return id
	}
	ev := r.evidence(m, cfg)
	switch {
	case ev.match != "":
		return &Identity{Master: m.PID, Status: Known, Config: path, Note: "given with --proftpd-config; " + ev.match, cfg: cfg}
	case ev.other != "":
		id.Note = fmt.Sprintf("--proftpd-config %s is not master %d's: %s", path, m.PID, ev.other)
		return id
	case len(r.masters) > 1:
		id.Note = fmt.Sprintf("%d proftpd masters run and nothing shows that --proftpd-config %s is master %d's (%s)", len(r.masters), path, m.PID, ev.against())
		return id
	}
	return &Identity{Master: m.PID, Status: Known, Config: path, Note: "given with --proftpd-config (the only proftpd master; " + ev.against() + ")", cfg: cfg}
}

// evidence is what ties a configuration to a master: match says how it
// does, other how it belongs to another master, none why neither.
type evidence struct {
	match, other string
	none         []string
}

func (e evidence) against() string {
	if e.other != "" {
		return e.other
	}
	if len(e.none) == 0 {
		return "no evidence"
	}
	return strings.Join(e.none, ", ")
}

// evidence looks for the configuration's PidFile and ScoreboardFile: the
// PidFile holding the master's PID, the master holding the scoreboard's
// lock open.
func (r *round) evidence(m procscan.Process, cfg *modcap.Config) evidence {
	var ev evidence
	pidFile, sbFile := fileSettings(cfg)
	d, haveDefaults := r.defaultsFor(m)
	pidDefault, sbDefault := false, false
	if pidFile == "" && haveDefaults {
		pidFile, pidDefault = d.PidFile, true
	}
	if sbFile == "" && haveDefaults {
		sbFile, sbDefault = d.ScoreboardFile, true
	}
	var match []string
	// byDefault stays set while every match comes through a compiled-in
	// default: that only shows the master's configuration sets no
	// PidFile (or ScoreboardFile) either, which any file may share.
	byDefault := true
	if pidFile != "" && r.c.live {
		pid, err := readPidFile(pidFile, trusted(m))
		switch {
		case err != nil:
			ev.none = append(ev.none, "PidFile "+shortErr(pidFile, err).Error())
		case pid == m.PID:
			match = append(match, fmt.Sprintf("its PidFile %s holds PID %d", pidFile, m.PID))
			byDefault = byDefault && pidDefault
		case r.isMaster(pid):
			ev.other = fmt.Sprintf("its PidFile %s holds PID %d, another proftpd master", pidFile, pid)
		default:
			ev.none = append(ev.none, fmt.Sprintf("PidFile %s holds PID %d, not %d", pidFile, pid, m.PID))
		}
	} else if pidFile == "" {
		ev.none = append(ev.none, "no PidFile known")
	}
	if sbFile != "" {
		lock := filepath.Clean(sbFile) + ".lck"
		if fd, held := r.holds(m.PID, lock, filepath.Clean(sbFile)); fd != "" {
			what := "ScoreboardFile lock"
			if held != lock {
				what = "ScoreboardFile"
			}
			match = append(match, fmt.Sprintf("the master holds its %s %s open (fd %s)", what, held, fd))
			byDefault = byDefault && sbDefault
		} else if other := r.heldBy(m.PID, lock, filepath.Clean(sbFile)); other != 0 {
			ev.other = fmt.Sprintf("proftpd master %d holds its ScoreboardFile lock %s open", other, lock)
		} else {
			ev.none = append(ev.none, "the master does not hold ScoreboardFile lock "+lock+" open")
		}
	} else {
		ev.none = append(ev.none, "no ScoreboardFile known")
	}
	if len(match) > 0 && ev.other != "" {
		ev.none = append(ev.none, "conflicting evidence: "+strings.Join(match, ", ")+"; but "+ev.other)
		ev.other = ""
		return ev
	}
	if len(match) > 0 && byDefault {
		// Through proftpd's defaults only: the master's listening ports
		// must also be the file's, else it is another file that sets no
		// PidFile or ScoreboardFile either.
		listen := r.listenPorts(m.PID)
		want := configPorts(cfg)
		switch {
		case len(listen) == 0:
			ev.none = append(ev.none, strings.Join(match, " and ")+", but those are proftpd's defaults, which any configuration without PidFile and ScoreboardFile shares, and the master's listening sockets cannot be read to tell")
			return ev
		case !subset(listen, want):
			ev.none = append(ev.none, fmt.Sprintf("%s, but those are proftpd's defaults, which any configuration without PidFile and ScoreboardFile shares, and the master listens on port %s, which the file's servers do not use (%s)",
				strings.Join(match, " and "), portList(listen), portList(want)))
			return ev
		}
		match = append(match, fmt.Sprintf("the master listens on port %s, as the file says (the PidFile and ScoreboardFile are proftpd's defaults)", portList(listen)))
	}
	ev.match = strings.Join(match, " and ")
	return ev
}

// listenPorts are the TCP ports process pid listens on.
func (r *round) listenPorts(pid int) map[int]bool {
	out := map[int]bool{}
	for _, s := range tcpSockets(r.c.root, pid, tcpListen) {
		out[s.port] = true
	}
	return out
}

// configPorts are the ports the configuration's servers listen on: each
// server's first Port (its own, else a <Global>'s), 21 without one; Port
// 0 listens on none.
func configPorts(cfg *modcap.Config) map[int]bool {
	first := func(nodes []*modcap.Node) (int, bool) {
		for _, n := range nodes {
			if !n.Section && n.Is("Port") && len(n.Args) > 0 {
				if p, err := strconv.Atoi(n.Args[0]); err == nil {
					return p, true
				}
			}
		}
		return 0, false
	}
	main, vhosts, global := cfg.Servers()
	out := map[int]bool{}
	for _, nodes := range append([][]*modcap.Node{main.Nodes}, func() [][]*modcap.Node {
		var v [][]*modcap.Node
		for _, h := range vhosts {
			v = append(v, h.Nodes)
		}
		return v
	}()...) {
		p, ok := first(nodes)
		if !ok {
			p, ok = first(global)
		}
		if !ok {
			p = 21
		}
		if p > 0 {
			out[p] = true
		}
	}
	return out
}

func subset(a, b map[int]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func portList(ports map[int]bool) string {
	var l []int
	for p := range ports {
		l = append(l, p)
	}
	sort.Ints(l)
	parts := make([]string, len(l))
	for i, p := range l {
		parts[i] = strconv.Itoa(p)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// fileSettings are the main server's PidFile and ScoreboardFile.
func fileSettings(cfg *modcap.Config) (pidFile, sbFile string) {
	main, _, _ := cfg.Servers()
	for _, n := range main.Nodes {
		if n.Section || len(n.Args) == 0 {
			continue
		}
		switch {
		case n.Is("PidFile"):
			pidFile = n.Args[0]
		case n.Is("ScoreboardFile"):
			sbFile = n.Args[0]
		}
	}
	return pidFile, sbFile
}

// maxPidFile bounds a PidFile: a number and a newline.
const maxPidFile = 64

func readPidFile(path string, owners []uint32) (int, error) {
	b, err := safefile.ReadFile(path, safefile.Rules{Max: maxPidFile, Owners: owners})
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a PID", s)
	}
	return n, nil
}

func (r *round) isMaster(pid int) bool {
	p, ok := r.byPID[pid]
	return ok && p.Role == procscan.RoleProftpdMaster
}

func (r *round) pidPath(pid int, name string) string {
	return r.c.root + "/" + strconv.Itoa(pid) + "/" + name
}

// links lists where a process's descriptors point (readlink only).
func (r *round) links(pid int) []string {
	if l, ok := r.fds[pid]; ok {
		return l
	}
	var out []string
	dir := r.pidPath(pid, "fd")
	if d, err := safefile.OpenDir(dir); err == nil {
		names, _ := d.Readdirnames(-1)
		d.Close()
		sort.Slice(names, func(i, j int) bool { return atoiOr(names[i]) < atoiOr(names[j]) })
		for _, n := range names {
			if l, err := os.Readlink(dir + "/" + n); err == nil {
				out = append(out, n+"\x00"+l)
			}
		}
	}
	r.fds[pid] = out
	return out
}

func atoiOr(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// holds returns the descriptor through which pid holds one of paths (the
// first path it holds, in the order given) and that path, or "".
func (r *round) holds(pid int, paths ...string) (fd, path string) {
	for _, p := range paths {
		for _, l := range r.links(pid) {
			n, target, _ := strings.Cut(l, "\x00")
			if target == p {
				return n, p
			}
		}
	}
	return "", ""
}

// heldBy returns another master holding one of paths, or 0.
func (r *round) heldBy(self int, paths ...string) int {
	for _, m := range r.masters {
		if fd, _ := r.holds(m.PID, paths...); m.PID != self && fd != "" {
			return m.PID
		}
	}
	return 0
}

// defaultsFor returns the compiled-in defaults when master m runs the
// installed proftpd they belong to (the same file, by device and inode).
func (r *round) defaultsFor(m procscan.Process) (Defaults, bool) {
	in, ok := r.c.installed()
	if !ok || !r.c.live || in.Binary == "" || in.Defaults.PidFile == "" {
		return Defaults{}, false
	}
	exe, err1 := os.Stat(r.pidPath(m.PID, "exe"))
	bin, err2 := os.Stat(in.Binary)
	if err1 != nil || err2 != nil || !os.SameFile(exe, bin) {
		return Defaults{}, false
	}
	return in.Defaults, true
}

// ParseDefaults reads the "Files:" part of `proftpd -V`.
func ParseDefaults(out string) (Defaults, error) {
	var d Defaults
	sc := bufio.NewScanner(strings.NewReader(out))
	var key string
	for sc.Scan() {
		ln := strings.TrimSpace(sc.Text())
		switch ln {
		case "Configuration File:", "Pid File:", "Scoreboard File:":
			key = ln
			continue
		}
		if key != "" && strings.HasPrefix(ln, "/") {
			switch key {
			case "Configuration File:":
				d.ConfigFile = ln
			case "Pid File:":
				d.PidFile = ln
			case "Scoreboard File:":
				d.ScoreboardFile = ln
			}
		}
		key = ""
	}
	if d.PidFile == "" || d.ScoreboardFile == "" {
		return d, errors.New("proftpd -V names no Pid File or Scoreboard File")
	}
	return d, nil
}
