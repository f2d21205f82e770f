package ui

import (
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"captune/capset"
	"captune/capset/modcap"
	"captune/drift"
	"captune/model"
	"captune/procscan"
)

// gridWidth is the capability grid's width: cursor and name (20), five
// set columns, a separator, mod_cap's default and the tuned column.
const gridWidth = 50

// View draws the whole screen on the alternate screen with the mouse on.
func (m Model) View() tea.View {
	if m.viewPanic {
		panic("debug panic: " + debugPanicEnv + "=view and the key " + debugPanicKey) // see guard.go
	}
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "captune"
	return v
}

// render draws the screen as text, exactly m.height lines of at most
// m.width cells.
func (m Model) render() string {
	if m.tooSmall() {
		lines := m.tooSmallLines()
		lines = lines[:min(len(lines), m.height)]
		for i, ln := range lines {
			lines[i] = fit(ln, m.width)
		}
		for len(lines) < m.height {
			lines = append(lines, fit("", m.width))
		}
		return strings.Join(lines, "\n")
	}
	l := m.layout()
	lines := make([]string, 0, m.height)
	lines = append(lines, m.titleBar())
	if m.overlay != overlayNone {
		lines = append(lines, m.overlayLines(max(0, m.height-3))...)
	} else {
		lines = append(lines, m.procLines(l)...)
		lines = append(lines, m.bottomLines(l)...)
	}
	for len(lines) < m.height-2 {
		lines = append(lines, "")
	}
	lines = lines[:max(0, min(len(lines), m.height-2))]
	lines = append(lines, m.statusLine(), m.helpLine())
	lines = lines[:min(len(lines), m.height)]
	for i, ln := range lines {
		lines[i] = fit(ln, m.width)
	}
	return strings.Join(lines, "\n")
}

// fit cuts or pads a styled line to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - lipgloss.Width(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

func (m Model) titleBar() string {
	snap := m.list.Snapshot()
	parts := []string{m.styles.Title.Render(" captune ")}
	info := fmt.Sprintf(" %d processes", len(snap.Procs))
	if shown := len(m.list.Rows()); shown != len(snap.Procs) {
		info = fmt.Sprintf(" %d of %d processes", shown, len(snap.Procs))
	}
	var flags []string
	if f := m.list.Filter(); f != "" {
		flags = append(flags, "filter: "+model.Printable(f))
	}
	if m.list.Tree() {
		flags = append(flags, "tree")
	}
	if m.list.ProftpdOnly() {
		flags = append(flags, "proftpd only")
	}
	if m.list.Kernel() {
		flags = append(flags, "+kernel threads")
	}
	flags = append(flags, "target: "+m.tuner.Target().String())
	for _, n := range snap.Notes() {
		flags = append(flags, n)
	}
	if pid := m.DaemonPID(); pid != 0 {
		flags = append(flags, fmt.Sprintf("test daemon %d running (a shows it, k there stops it)", pid))
	}
	if m.scanErr != "" {
		flags = append(flags, "scan failed: "+m.scanErr)
	}
	parts = append(parts, m.styles.TitleDim.Render(model.Printable(info+"  ·  "+strings.Join(flags, "  ·  "))))
	return fit(strings.Join(parts, ""), m.width)
}

func (m Model) statusLine() string {
	if m.status == "" {
		return ""
	}
	if m.statusErr {
		return m.styles.StatusError.Render("✗ " + model.Printable(m.status))
	}
	return m.styles.Status.Render("✓ " + model.Printable(m.status))
}

func (m Model) helpLine() string {
	if m.filtering {
		return m.filter.View() + m.styles.Help.Render("   enter keep · esc clear")
	}
	if m.editingUser {
		return m.userInput.View() + m.styles.Help.Render("   enter set · empty for the default · esc back")
	}
	h := m.help
	h.SetWidth(m.width)
	switch {
	case m.overlay == overlayEmit:
		keys := m.keys.Emit.ShortHelp()
		if m.overlayScrolls() {
			keys = append(keys, m.keys.Scroll.Up)
		}
		return h.ShortHelpView(keys)
	case m.overlay == overlayWrite:
		return m.path.View() + m.styles.Help.Render("   enter write · esc back")
	case m.overlay == overlayOverwrite:
		return m.styles.StatusError.Render("overwrite? y replaces it • any other key keeps it")
	case m.overlay == overlayApply:
		scroll := ""
		if m.overlayScrolls() {
			scroll = " • ↑/↓ pgup/pgdn scroll"
		}
		switch {
		case m.apply.daemon != nil:
			return m.styles.Help.Render("k stop the daemon • esc close (the daemon keeps running)" + scroll)
		case m.apply.refusal == "" && !m.apply.running:
			return m.styles.Help.Render("y/enter launch • esc cancel" + scroll)
		}
		return h.ShortHelpView([]keyBinding{m.keys.Close}) + m.styles.Help.Render(scroll)
	case m.overlay != overlayNone:
		keys := []keyBinding{m.keys.Close}
		if m.overlayScrolls() {
			keys = append(keys, m.keys.Scroll.ShortHelp()...)
		}
		return h.ShortHelpView(keys)
	case m.focus == paneGrid:
		return h.ShortHelpView(m.keys.Grid.ShortHelp())
	}
	return h.ShortHelpView(m.keys.Procs.ShortHelp())
}

// procLines draws the process table: a header and the visible rows only.
func (m Model) procLines(l layout) []string {
	w := m.width
	rows := m.list.Rows()
	known := m.list.Known()
	cmdW, capsW := m.cols.cmdW, m.cols.capsW
	if m.cols.key != m.columnsKey() {
		cmdW, capsW = m.procColumns(rows, known)
	}
	sortKey, desc := m.list.Sort()
	arrow := "▲"
	if desc {
		arrow = "▼"
	}
	label := func(name string) string {
		if strings.EqualFold(name, sortLabel(sortKey)) {
			return name + arrow
		}
		return name
	}
	header := " " + padTo(label("PID"), 7) + " " + padTo(label("USER"), 9) + " " + padTo(label("COMMAND"), cmdW) + " " + label("CAPABILITIES")
	style := m.styles.Header
	if m.focus == paneProcs {
		style = style.Foreground(m.styles.Accent.GetForeground())
	}
	out := []string{style.Render(fit(header, w))}
	end := min(len(rows), m.procOffset+l.procRows)
	for i := m.procOffset; i < end; i++ {
		r := rows[i]
		sel := i == m.list.Cursor()
		mark := " "
		if sel {
			mark = "›"
		}
		cmd := commandText(r, m.DaemonPID())
		caps := model.CapTextFit(r.Proc, known, capsW)
		daemon := r.Proc.PID == m.DaemonPID()
		if r.Gone {
			caps = "✗ gone (exited)"
		}
		line := fmt.Sprintf("%s%-7d %-9s %s %s", mark, r.Proc.PID, clipTo(model.Printable(r.Proc.User), 9), padTo(clipTo(cmd, cmdW), cmdW), caps)
		switch {
		case r.Gone:
			line = m.styles.RowGone.Render(fit(line, w))
		case sel && m.focus == paneProcs:
			line = m.styles.RowSelected.Render(fit(line, w))
		case daemon:
			line = m.styles.Accent.Bold(true).Render(fit(line, w))
		case sel:
			line = m.styles.Bold.Render(fit(line, w))
		default:
			line = m.styles.Row.Render(line)
		}
		out = append(out, line)
	}
	if len(rows) == 0 {
		msg := "  no process matches"
		if m.list.Snapshot().Taken.IsZero() {
			msg = "  reading processes…"
		}
		out = append(out, m.styles.Dim.Render(msg))
	}
	for len(out) < l.procRows+1 {
		out = append(out, "")
	}
	return out
}

// commandText is a row's COMMAND cell before it is cut to the column;
// daemon is the test daemon's PID (0: none).
func commandText(r model.Row, daemon int) string {
	cmd := model.Printable(model.Command(r.Proc))
	switch {
	case r.Proc.PID == daemon && daemon != 0:
		return r.Prefix + "◆ test daemon " + cmd
	case r.Proc.Role != procscan.RoleNone:
		return r.Prefix + "[" + roleWord(r.Proc.Role) + "] " + cmd
	}
	return r.Prefix + cmd
}

// commandWidth is the width of commandText(r, daemon), without building
// the text when the command line is plain ASCII (a refresh sizes every
// row).
func commandWidth(r *model.Row, daemon int) int {
	if r.Proc.PID == daemon || len(r.Proc.Cmdline) == 0 || r.Prefix != "" {
		return textWidth(commandText(*r, daemon))
	}
	n := len(r.Proc.Cmdline) - 1
	for _, a := range r.Proc.Cmdline {
		for i := 0; i < len(a); i++ {
			if c := a[i]; c < 0x20 || c >= 0x7f {
				return textWidth(commandText(*r, daemon))
			}
		}
		n += len(a)
	}
	if r.Proc.Role != procscan.RoleNone {
		n += len(roleWord(r.Proc.Role)) + 3
	}
	return n
}

// procColumns sizes COMMAND and CAPABILITIES for the rows: each gets
// what its longest text needs when both fit; otherwise CAPABILITIES keeps
// up to half the room (at least 36 columns, or what it needs) and COMMAND
// takes the rest, so it grows with the terminal. The widths hold for all
// rows, so columns do not move while scrolling.
func (m Model) procColumns(rows []model.Row, known capset.Set) (cmdW, capsW int) {
	room := max(0, m.width-20) // mark, PID, USER and the spaces between
	cmdNeed, capsNeed := 8, 0
	daemon := m.DaemonPID()
	for i := range rows {
		cmdNeed = max(cmdNeed, commandWidth(&rows[i], daemon))
		capsNeed = max(capsNeed, textWidth(m.list.CapText(rows[i].Proc)))
	}
	capsRoom := min(capsNeed, max(36, room/2))
	cmdW = max(8, min(cmdNeed, room-1-capsRoom))
	return cmdW, max(1, room-1-cmdW)
}

// columns caches procColumns for what they depend on.
type columns struct {
	key         columnsKey
	cmdW, capsW int
}

type columnsKey struct {
	version       uint64
	width, daemon int
}

func (m Model) columnsKey() columnsKey {
	return columnsKey{version: m.list.Version(), width: m.width, daemon: m.DaemonPID()}
}

// updateColumns sizes the process list's columns when the rows, the
// width or the test daemon changed (Update calls it; View only reads).
func (m *Model) updateColumns() {
	if k := m.columnsKey(); k != m.cols.key {
		cmdW, capsW := m.procColumns(m.list.Rows(), m.list.Known())
		m.cols = columns{key: k, cmdW: cmdW, capsW: capsW}
	}
}

// textWidth is the cells an unstyled string takes (its length when it is
// ASCII).
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

func sortLabel(k model.SortKey) string {
	switch k {
	case model.SortUser:
		return "user"
	case model.SortCommand:
		return "command"
	case model.SortCaps:
		return "capabilities"
	}
	return "pid"
}

func roleWord(r procscan.Role) string {
	switch r {
	case procscan.RoleProftpdMaster:
		return "master"
	case procscan.RoleProftpdSession:
		return "session"
	case procscan.RoleProftpdPre:
		return "pre-login"
	}
	return ""
}

func clipTo(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

func padTo(s string, w int) string {
	if pad := w - lipgloss.Width(s); pad > 0 {
		return s + strings.Repeat(" ", pad)
	}
	return s
}

// bottomLines draws the grid beside the detail or preview panel.
func (m Model) bottomLines(l layout) []string {
	grid := m.gridLines(l)
	var side []string
	if l.sideWidth > 0 {
		side, _ = m.window(m.sideLines(l.sideWidth), m.sideScroll, l.bottomHeight, "d shows all")
	}
	out := make([]string, l.bottomHeight)
	sep := m.styles.Separator.Render("│")
	for i := range out {
		g := ""
		if i < len(grid) {
			g = grid[i]
		}
		if l.sideWidth > 0 {
			s := ""
			if i < len(side) {
				s = side[i]
			}
			out[i] = fit(g, l.gridWidth) + sep + fit(s, l.sideWidth)
		} else {
			out[i] = g
		}
	}
	return out
}

func (m Model) selected() (model.Row, bool) { return m.list.Selected() }

// sideLines is the side pane's text at width w: the tuner's preview when
// the grid has the focus, else the selected process's detail.
func (m Model) sideLines(w int) []string {
	if m.focus == paneGrid {
		return m.previewLines(w)
	}
	return m.detailLines(w)
}

// sideTitle names the side pane for its overlay (d).
func (m Model) sideTitle() string {
	if m.focus == paneGrid {
		return "Preview · " + m.tuner.Target().String()
	}
	if row, ok := m.selected(); ok {
		return fmt.Sprintf("Process %d (%s)", row.Proc.PID, model.Printable(row.Proc.Comm))
	}
	return "Process"
}

// gridLines draws one row per capability the kernel knows.
func (m Model) gridLines(l layout) []string {
	st := m.styles
	// The name column gives way first on narrow terminals, so the set,
	// mod_cap and tuned columns stay visible down to 40 columns.
	nameW := max(6, min(18, l.gridWidth-32))
	hdr := fmt.Sprintf("  %-*s %s %s %s %s %s │ %s %s", nameW, clipTo("CAPABILITY", nameW), "Inh", "Prm", "Eff", "Bnd", "Amb", "mod", "tun")
	style := st.Header
	if m.focus == paneGrid {
		style = style.Foreground(st.Accent.GetForeground())
	}
	out := []string{style.Render(fit(hdr, l.gridWidth))}
	row, haveProc := m.selected()
	def := modcap.DefaultKept(m.opts.PAM)
	tuned := m.tuner.Kept()
	n := int(m.lastCap()) + 1
	end := min(n, m.gridOffset+l.gridRows)
	for i := m.gridOffset; i < end; i++ {
		c := capset.Cap(i)
		sel := m.focus == paneGrid && i == m.gridCursor
		mark := " "
		if sel {
			mark = "›"
		}
		name := strings.TrimPrefix(c.String(), "cap_")
		var b strings.Builder
		b.WriteString(mark + " " + padTo(clipTo(name, nameW), nameW) + " ")
		sets := []capset.Set{}
		if haveProc && !row.Gone {
			p := row.Proc.Sets
			sets = []capset.Set{p.Inheritable, p.Permitted, p.Effective, p.Bounding, p.Ambient}
		}
		for k := 0; k < 5; k++ {
			if len(sets) == 0 {
				b.WriteString(st.Dim.Render("  - "))
				continue
			}
			held := sets[k].Has(c)
			diff := " "
			if k == 1 && held != def.Has(c) {
				if held {
					diff = "+"
				} else {
					diff = "-"
				}
			}
			b.WriteString(m.cell(held, diff))
		}
		b.WriteString(st.Separator.Render("│"))
		b.WriteString(m.cell(def.Has(c), " "))
		b.WriteString(m.tunedCell(c, tuned.Has(c), def.Has(c)))
		line := b.String()
		if sel {
			line = st.RowSelected.Render(fit(ansi.Strip(line), l.gridWidth))
		}
		out = append(out, line)
	}
	out = append(out, st.Dim.Render(fit(" ● held · not ○ can add ■ locked  +/- vs default", l.gridWidth)))
	return out
}

// cell draws a set membership: a symbol first, colour second.
func (m Model) cell(held bool, diff string) string {
	cs := m.styles.Cap
	sym, style := "·", cs.NotHeld
	if held {
		sym, style = "●", cs.Held
	}
	d := diff
	switch diff {
	case "+":
		d = cs.More.Render("+")
	case "-":
		d = cs.Less.Render("-")
	}
	return "  " + style.Render(sym) + d
}

// tunedCell draws the tuned column: kept or not, whether the user can
// toggle it (○/● free, ■/· locked), and how it differs from mod_cap's
// default (+ kept beyond it, - dropped from it).
func (m Model) tunedCell(c capset.Cap, kept, def bool) string {
	cs := m.styles.Cap
	locked := m.tuner.Lock(c) != ""
	var sym string
	var style lipgloss.Style
	switch {
	case kept && locked:
		sym, style = "■", cs.Kept
	case kept:
		sym, style = "●", cs.Kept
	case locked:
		sym, style = "·", cs.Locked
	default:
		sym, style = "○", cs.Dropped
	}
	d := " "
	if m.tuner.Target() == model.TargetModcap || true {
		if kept && !def {
			d = cs.More.Render("+")
		} else if !kept && def {
			d = cs.Less.Render("-")
		}
	}
	return "  " + style.Render(sym) + d
}

// detailLines describe the selected process beside the grid.
func (m Model) detailLines(w int) []string {
	st := m.styles
	row, ok := m.selected()
	if !ok {
		return []string{st.Dim.Render(" no process selected")}
	}
	p := row.Proc
	known := m.list.Known()
	var out []string
	add := func(label, value string) {
		out = append(out, wrapLines(" "+st.Dim.Render(label+" ")+model.Printable(value), w)...)
	}
	title := fmt.Sprintf(" PID %d  %s", p.PID, model.Printable(p.Comm))
	if row.Gone {
		title += "  ✗ gone"
	}
	out = append(out, st.PanelTitle.Render(fit(title, w)))
	add("user", fmt.Sprintf("%s  uid %d/%d/%d  gid %d/%d", model.Printable(p.User), p.UID, p.EUID, p.SUID, p.GID, p.EGID))
	add("caps", model.Signature(p))
	if m := model.Markers(p, known); len(m) > 0 {
		add("marks", strings.Join(m, " "))
	}
	add("bounding", model.SetWords(p.Sets.Bounding, known))
	if !p.Sets.Ambient.Empty() {
		add("ambient", p.Sets.Ambient.String())
	}
	add("no_new_privs", model.YesNo(p.NoNewPrivs)+"  seccomp "+model.SeccompWord(p.Seccomp))
	ns := "unknown"
	if p.UserNSChild != nil {
		ns = "initial"
		if *p.UserNSChild {
			ns = "child"
		}
	}
	add("user ns", ns)
	add("file caps", model.FileCapsWord(p))
	if p.NumThreads > 1 {
		if len(p.Threads) == 0 {
			add("threads", strconv.Itoa(p.NumThreads)+", all with the leader's sets")
		} else {
			var ts []string
			for _, t := range p.Threads {
				ts = append(ts, fmt.Sprintf("%d eff %s", t.TID, t.Sets.Effective.Hex()))
			}
			add("threads", fmt.Sprintf("%d, differing: %s", p.NumThreads, strings.Join(ts, "; ")))
		}
	}
	switch p.Role {
	case procscan.RoleProftpdSession:
		add("proftpd", fmt.Sprintf("session of %s from %s: %s", model.Printable(p.FTPUser), model.Printable(p.FTPHost), model.Printable(p.FTPState)))
		if r := m.drift[p.PID]; r != nil && r.Status != drift.Known {
			add("config", "unknown ("+model.Printable(r.Note)+"): drift not checked; give the master's file with captune ps --proftpd-config")
		} else if r != nil {
			e := r.Expected
			add("config", "known: "+model.Printable(r.Config)+" ("+model.Printable(r.Note)+")")
			add("expected", fmt.Sprintf("by %s: CapPrm %s CapEff %s", model.Printable(r.Config), e.Permitted.Hex(), e.Effective.Hex()))
			add("actual", fmt.Sprintf("CapPrm %s CapEff %s", p.Sets.Permitted.Hex(), p.Sets.Effective.Hex()))
			if r.Drifted() {
				out = append(out, styledLines(" ✗ drift: "+model.Printable(strings.Join(r.Differences, "; ")), st.StatusError, w)...)
			} else {
				out = append(out, styledLines(" ✓ matches what the configuration predicts", st.Status, w)...)
			}
		}
	case procscan.RoleProftpdPre:
		add("proftpd", "session before login")
	case procscan.RoleProftpdMaster:
		add("proftpd", "master (never restricted by mod_cap)")
	}
	add("cmd", model.Printable(model.Command(p)))
	return out
}

// previewLines show the tuned output and, for mod_cap, the predicted
// session with its reasons and warnings.
func (m Model) previewLines(w int) []string {
	st := m.styles
	var out []string
	out = append(out, st.PanelTitle.Render(fit(" tuned · "+m.tuner.Target().String()+" ·  m switches", w)))
	for _, ln := range strings.Split(strings.TrimRight(m.tuner.Output(m.user()), "\n"), "\n") {
		out = append(out, wrapLines(" "+model.Printable(ln), w)...)
	}
	c := capset.Cap(m.gridCursor)
	if m.tuner.Target() == model.TargetModcap {
		p := m.pred
		out = append(out, st.PanelTitle.Render(fit(" predicted session (U: login)", w)))
		out = append(out, wrapLines(" "+st.Dim.Render("login ")+m.login.String(), w)...)
		out = append(out, wrapLines(" "+st.Dim.Render("config ")+m.configSource(), w)...)
		if p.Refused {
			out = append(out, styledLines(" ✗ login refused: "+model.Printable(p.Why), st.StatusError, w)...)
		} else {
			out = append(out, " "+st.Dim.Render("CapPrm ")+p.Permitted.Hex(), " "+st.Dim.Render("CapEff ")+p.Effective.Hex())
		}
		for _, wn := range p.Warnings {
			out = append(out, styledLines(" ! "+wn, st.StatusError, w)...)
		}
		for _, r := range p.Reasons {
			out = append(out, styledLines(" · "+r, st.Dim, w)...)
		}
		if lock := m.tuner.Lock(c); lock != "" {
			out = append(out, wrapLines(" "+st.Bold.Render(c.String()+": ")+modcap.Explain(c), w)...)
		}
	} else {
		out = append(out, wrapLines(" "+st.Dim.Render("kept: ")+m.tuner.Kept().String(), w)...)
	}
	return out
}

// styledLines wraps plain text, escaped for the terminal, and styles
// every line of it.
func styledLines(text string, style lipgloss.Style, w int) []string {
	lines := wrapLines(model.Printable(text), w)
	for i, ln := range lines {
		lines[i] = style.Render(strings.TrimSuffix(ln, "\x1b[0m"))
	}
	return lines
}

// wrapLines wraps a styled string at spaces (never inside a token such as
// -CAP_CHOWN) to width w, indenting continuation lines under the first. A
// word longer than a line (a long list of capabilities, a path) is broken
// after its commas, or where it must be, so nothing is cut off.
func wrapLines(s string, w int) []string {
	if w <= 6 || lipgloss.Width(s) <= w {
		return []string{s}
	}
	var out []string
	line, lineW, started := "", 0, false
	limit := w - 1
	const indent = "   "
	for _, word := range strings.Split(s, " ") {
		ww := ansi.StringWidth(word)
		if ww > limit-len(indent) {
			if started {
				out = append(out, line+"\x1b[0m")
			}
			pieces := strings.Split(ansi.Wrap(word, limit-len(indent), ","), "\n")
			for i, p := range pieces {
				if i > 0 || started {
					p = indent + p
				}
				if i < len(pieces)-1 {
					out = append(out, p+"\x1b[0m")
				} else {
					line, lineW = p, ansi.StringWidth(p)
				}
			}
			started = true
			continue
		}
		switch {
		case !started:
			line, lineW, started = word, ww, true
		case lineW+1+ww <= limit:
			line, lineW = line+" "+word, lineW+1+ww
		default:
			out = append(out, line+"\x1b[0m")
			line, lineW = indent+word, len(indent)+ww
		}
	}
	if started {
		out = append(out, line)
	}
	return fitWidth(out, w)
}
