// Package ui is captune's interactive explorer and tuner, a Bubble Tea v2
// program: a live process table, the selected process's capability grid
// beside mod_cap's default and the tuned set, a live preview of the
// directive block and the predicted session, and explanations.
package ui

import (
	"fmt"
	"os"
	"slices"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"captune/capset"
	"captune/capset/modcap"
	"captune/drift"
	"captune/model"
	"captune/procscan"
)

// Options configure a session.
type Options struct {
	// Scanner reads processes; nil shows no processes (tests feed
	// snapshots as messages).
	Scanner *procscan.Scanner
	// Refresh is the scan interval (default 2 s).
	Refresh time.Duration
	// Master is the master's permitted/bounding set for predictions.
	Master capset.Set
	// PAM says whether mod_auth_pam is loaded.
	PAM bool
	// Tokens start the tuner from a CapabilitiesSet line (nil: defaults);
	// ConfigNote says where they came from.
	Tokens     []modcap.Token
	ConfigNote string
	// Config is the --config file as read (nil: none). The preview and
	// v use it with the tuned line as the main server's first
	// CapabilitiesSet.
	Config *modcap.Config
	// Login is the login user the preview and v start with; LoginChosen
	// says it was asked for (--user), so the capsh target names it too.
	// An empty Login is a non-root user no <IfUser> names.
	Login       model.LoginUser
	LoginChosen bool
	// LookupUser resolves a name typed at the U key; nil disables it.
	LookupUser LookupFunc
	// Drift compares proftpd session children with their master's
	// configuration ("expected by config" or "config unknown" in the
	// detail pane), off the scan: a slow read delays drift, never the
	// list. Nil skips it.
	Drift *drift.Checker
	// Verify runs the tuned block on a throwaway proftpd (the v key); nil
	// says verify is not available.
	Verify VerifyFunc
}

type pane int

const (
	paneProcs pane = iota
	paneGrid
)

type overlay int

const (
	overlayNone overlay = iota
	overlayHelp
	overlayExplain
	overlayPrimer
	overlayEmit
	overlayApply
	overlayWrite
	overlayOverwrite
	overlayVerify
	overlayDetail
)

// Model is the root model.
type Model struct {
	opts   Options
	list   *model.ProcList
	tuner  *model.Tuner
	keys   KeyMaps
	styles Styles
	isDark bool
	help   help.Model
	filter textinput.Model
	path   textinput.Model
	// pending is the write waiting for the overwrite question.
	pending writeMsg
	// userInput is the login user's input (U); editingUser is set while
	// it has the keyboard.
	userInput   textinput.Model
	editingUser bool
	login       model.LoginUser
	loginChosen bool
	focus       pane
	overlay     overlay
	// filtering is set while the filter input has the keyboard.
	filtering   bool
	filterSaved string
	gridCursor  int
	procOffset  int
	gridOffset  int
	// scroll is the open overlay's first body line; sideScroll the side
	// pane's (detail or preview), which follows sideFor.
	scroll     int
	sideScroll int
	sideFor    sideKey
	// cols are the process list's column widths (updateColumns).
	cols      columns
	width     int
	height    int
	status    string
	statusErr bool
	scanning  bool
	scanErr   string
	pred      modcap.Prediction
	apply     applyState
	drift     map[int]*drift.Result
	drifting  bool
	verify    verifyState
	// debugPanic is CAPTUNE_DEBUG_PANIC (guard.go); viewPanic makes the
	// next View panic.
	debugPanic string
	viewPanic  bool
	// Output is what captune prints on standard output after quitting.
	Output string
}

type tickMsg struct{}

type scanMsg struct {
	chain bool
	snap  procscan.Snapshot
	err   error
}

// driftMsg carries the drift of the sessions of one snapshot.
type driftMsg struct {
	sessions map[int]*drift.Result
}

// New builds the root model.
func New(opts Options) Model {
	if opts.Refresh <= 0 {
		opts.Refresh = 2 * time.Second
	}
	if opts.Master == 0 {
		opts.Master = capset.Upto(capset.NamedCount)
	}
	fi := textinput.New()
	fi.Prompt = "/"
	fi.Placeholder = "user, command, capability or PID"
	pi := textinput.New()
	pi.Prompt = "write to: "
	ui := textinput.New()
	ui.Prompt = "login user: "
	ui.Placeholder = "a name, e.g. alice (empty: the default)"
	ui.CharLimit = 32
	if opts.Login.Name == "" && opts.Login.UID == 0 {
		opts.Login, opts.LoginChosen = defaultLogin, false
	}
	m := Model{
		opts:        opts,
		list:        model.NewProcList(),
		tuner:       model.NewTuner(opts.PAM),
		keys:        DefaultKeyMaps(),
		isDark:      true,
		help:        help.New(),
		filter:      fi,
		path:        pi,
		userInput:   ui,
		login:       opts.Login,
		loginChosen: opts.LoginChosen,
		width:       80,
		height:      24,
		// The debug hook's switch is read once, here.
		debugPanic: os.Getenv(debugPanicEnv),
	}
	if opts.Tokens != nil {
		m.tuner.LoadTokens(opts.Tokens)
	}
	m.styles = NewStyles(true)
	m.applyHelpStyles()
	m.predict()
	if opts.ConfigNote != "" {
		m.status = opts.ConfigNote
	}
	return m
}

// Init starts the first scan and asks for the background colour.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.scanCmd(true), tea.RequestBackgroundColor)
}

// scanCmd reads the processes. Scans of the refresh chain (chain) schedule
// the next tick when they land; an extra scan (after apply) does not, so
// there is only ever one chain.
func (m Model) scanCmd(chain bool) tea.Cmd {
	sc := m.opts.Scanner
	if sc == nil {
		return nil
	}
	return func() tea.Msg {
		snap, err := sc.Snapshot()
		return scanMsg{snap: snap, err: err, chain: chain}
	}
}

// driftCmd compares the sessions of a snapshot with their masters'
// configurations. It runs apart from the scan (Check is bounded in time),
// one at a time; procs is the command's own copy.
func driftCmd(dc *drift.Checker, procs []procscan.Process) tea.Cmd {
	return func() tea.Msg {
		return driftMsg{sessions: dc.Check(procs).Sessions}
	}
}

func (m Model) tickCmd() tea.Cmd {
	return tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return tickMsg{} })
}

// sideKey says what the side pane shows: the selected process's detail
// or the tuner's preview. Its scroll position starts over when it changes.
type sideKey struct {
	pid  int
	grid bool
}

func (m Model) side() sideKey {
	row, _ := m.list.Selected()
	return sideKey{pid: row.Proc.PID, grid: m.focus == paneGrid}
}

// Update routes messages: sizes, data, keys (overlays first, then global
// keys, then the focused pane) and the mouse.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	nm, ok := next.(Model)
	if !ok {
		return next, cmd
	}
	if k := nm.side(); k != nm.sideFor {
		nm.sideFor, nm.sideScroll = k, 0
	}
	nm.updateColumns()
	nm.scroll = min(nm.scroll, nm.overlayMaxScroll())
	return nm, cmd
}

func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(1, msg.Width), max(1, msg.Height)
		m.clampScroll()
		return m, nil
	case tea.BackgroundColorMsg:
		m.isDark = msg.IsDark()
		m.styles = NewStyles(m.isDark)
		m.applyHelpStyles()
		return m, nil
	case scanMsg:
		return m.onScan(msg)
	case driftMsg:
		m.drifting = false
		m.drift = msg.sessions
		return m, nil
	case tickMsg:
		if m.scanning {
			return m, nil
		}
		m.scanning = true
		return m, m.scanCmd(true)
	case applyMsg:
		return m.onApplyMsg(msg)
	case stoppedMsg:
		return m.onStopped(msg)
	case verifyMsg:
		return m.onVerifyMsg(msg)
	case loginMsg:
		return m.onLoginMsg(msg)
	case writeMsg:
		return m.onWriteMsg(msg)
	case tea.KeyPressMsg:
		if m.tooSmall() {
			// Nothing acts unseen: only quitting works until the
			// terminal is large enough to show what a key does.
			if s := msg.String(); s == "q" || s == "ctrl+c" {
				return m, tea.Quit
			}
			return m, nil
		}
		if msg.String() == debugPanicKey && m.debugPanic != "" {
			return m.debugPanicNow()
		}
		return m.onKey(msg)
	case tea.MouseWheelMsg:
		if m.tooSmall() {
			return m, nil
		}
		return m.onWheel(msg)
	case tea.MouseClickMsg:
		if m.tooSmall() {
			return m, nil
		}
		return m.onClick(msg)
	}
	return m, nil
}

func (m *Model) applyHelpStyles() {
	m.help.Styles.ShortKey = m.styles.HelpKey
	m.help.Styles.ShortDesc = m.styles.Help
	m.help.Styles.ShortSeparator = m.styles.Help
	m.help.Styles.FullKey = m.styles.HelpKey
	m.help.Styles.FullDesc = m.styles.Help
	m.help.Styles.FullSeparator = m.styles.Help
}

func (m Model) onScan(msg scanMsg) (tea.Model, tea.Cmd) {
	if msg.chain {
		m.scanning = false
	}
	var cmds []tea.Cmd
	if msg.err != nil {
		m.scanErr = msg.err.Error()
	} else {
		m.scanErr = ""
		m.list.SetSnapshot(msg.snap)
		m.clampScroll()
		if m.opts.Drift != nil && !m.drifting {
			m.drifting = true
			cmds = append(cmds, driftCmd(m.opts.Drift, slices.Clone(msg.snap.Procs)))
		}
	}
	if msg.chain {
		cmds = append(cmds, m.tickCmd())
	}
	return m, tea.Batch(cmds...)
}

func (m *Model) setStatus(format string, a ...any) {
	m.status, m.statusErr = fmt.Sprintf(format, a...), false
}

func (m *Model) setError(format string, a ...any) {
	m.status, m.statusErr = fmt.Sprintf(format, a...), true
}

func (m Model) onKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.filtering {
		return m.onFilterKey(msg)
	}
	if m.editingUser {
		return m.onUserKey(msg)
	}
	switch m.overlay {
	case overlayWrite:
		return m.onPathKey(msg)
	case overlayOverwrite:
		return m.onOverwriteKey(msg)
	case overlayEmit:
		return m.onEmitKey(msg)
	case overlayApply:
		return m.onApplyKey(msg)
	case overlayHelp, overlayExplain, overlayPrimer, overlayVerify, overlayDetail:
		if key.Matches(msg, m.keys.Close) || msg.String() == "ctrl+c" {
			m.overlay = overlayNone
			return m, nil
		}
		m, _ = m.scrollOverlay(m.keys.Scroll, msg)
		return m, nil
	}
	g := m.keys.Procs.GlobalKeys
	switch {
	case key.Matches(msg, g.Quit):
		return m, tea.Quit
	case key.Matches(msg, g.Help):
		m.open(overlayHelp)
		return m, nil
	case key.Matches(msg, g.Focus):
		if m.focus == paneProcs {
			m.focus = paneGrid
			m.gridCursor, m.gridOffset = 0, 0
		} else {
			m.focus = paneProcs
		}
		m.clampScroll()
		return m, nil
	case key.Matches(msg, g.Filter):
		m.filtering = true
		m.filterSaved = m.list.Filter()
		m.filter.SetValue(m.list.Filter())
		m.filter.CursorEnd()
		return m, m.filter.Focus()
	case key.Matches(msg, g.Emit):
		m.open(overlayEmit)
		return m, nil
	case key.Matches(msg, g.Apply):
		m.open(overlayApply)
		if m.apply.daemon == nil && !m.apply.running {
			m.planApply()
		}
		return m, nil
	case key.Matches(msg, g.Verify):
		return m.startVerify()
	case key.Matches(msg, g.Primer):
		m.open(overlayPrimer)
		return m, nil
	}
	if m.focus == paneGrid {
		return m.onGridKey(msg)
	}
	return m.onProcKey(msg)
}

func (m Model) onFilterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "enter":
		m.filtering = false
		m.filter.Blur()
		return m, nil
	case "esc":
		m.filtering = false
		m.filter.Blur()
		m.filter.SetValue("")
		m.list.SetFilter("")
		m.clampScroll()
		return m, nil
	case "ctrl+c":
		return m, tea.Quit
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.list.SetFilter(m.filter.Value())
	m.clampScroll()
	return m, cmd
}

func (m Model) onProcKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys.Procs
	page := max(1, m.layout().procRows)
	switch {
	case key.Matches(msg, k.Up):
		m.list.Move(-1)
	case key.Matches(msg, k.Down):
		m.list.Move(1)
	case key.Matches(msg, k.PageUp):
		m.list.Move(-page)
	case key.Matches(msg, k.PageDown):
		m.list.Move(page)
	case key.Matches(msg, k.Home):
		m.list.MoveTo(0)
	case key.Matches(msg, k.End):
		m.list.MoveTo(len(m.list.Rows()) - 1)
	case key.Matches(msg, k.Tree):
		m.list.ToggleTree()
		m.setStatus("tree %s", onOff(m.list.Tree()))
	case key.Matches(msg, k.Proftpd):
		m.list.ToggleProftpd()
		m.setStatus("proftpd processes only: %s", onOff(m.list.ProftpdOnly()))
	case key.Matches(msg, k.Kernel):
		m.list.ToggleKernel()
		m.setStatus("kernel threads: %s", onOff(m.list.Kernel()))
	case key.Matches(msg, k.Sort):
		m.list.CycleSort()
		key, desc := m.list.Sort()
		dir := "ascending"
		if desc {
			dir = "descending"
		}
		m.setStatus("sorted by %s, %s", key, dir)
	case key.Matches(msg, k.Detail):
		if _, ok := m.list.Selected(); ok {
			m.open(overlayDetail)
		}
	}
	m.clampScroll()
	return m, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// gridCaps is the number of grid rows: every capability the kernel knows.
func (m Model) gridCaps() int {
	return int(m.list.Snapshot().LastCap) + 1
}

func (m Model) lastCap() capset.Cap {
	if m.list.Snapshot().Taken.IsZero() {
		return capset.NamedCount - 1
	}
	return m.list.Snapshot().LastCap
}

func (m Model) onGridKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys.Grid
	n := int(m.lastCap()) + 1
	page := max(1, m.layout().gridRows)
	c := capset.Cap(m.gridCursor)
	switch {
	case key.Matches(msg, k.Up):
		m.gridCursor--
	case key.Matches(msg, k.Down):
		m.gridCursor++
	case key.Matches(msg, k.PageUp):
		m.gridCursor -= page
	case key.Matches(msg, k.PageDown):
		m.gridCursor += page
	case key.Matches(msg, k.Home):
		m.gridCursor = 0
	case key.Matches(msg, k.End):
		m.gridCursor = n - 1
	case key.Matches(msg, k.Toggle):
		if m.tuner.Toggle(c) {
			verb := "kept"
			if !m.tuner.Kept().Has(c) {
				verb = "dropped"
			}
			msg := fmt.Sprintf("%s %s", c, verb)
			if m.tuner.Note != "" {
				msg += "; " + m.tuner.Note
			}
			m.setStatus("%s", msg)
		} else {
			m.setError("%s is locked: %s", c, m.tuner.Note)
		}
		m.predict()
	case key.Matches(msg, k.Undo):
		if m.tuner.Undo() {
			m.setStatus("undone")
		} else {
			m.setError("nothing to undo")
		}
		m.predict()
	case key.Matches(msg, k.Redo):
		if m.tuner.Redo() {
			m.setStatus("redone")
		} else {
			m.setError("nothing to redo")
		}
		m.predict()
	case key.Matches(msg, k.Reset):
		m.tuner.Reset()
		m.setStatus("reset to the starting point")
		m.predict()
	case key.Matches(msg, k.FromProc):
		if row, ok := m.list.Selected(); ok {
			m.tuner.StartFrom(row.Proc.Sets.Permitted)
			note := fmt.Sprintf("tuning starts from PID %d's permitted set", row.Proc.PID)
			if m.tuner.Note != "" {
				note += "; " + m.tuner.Note
			}
			m.setStatus("%s", note)
			m.predict()
		} else {
			m.setError("no process selected")
		}
	case key.Matches(msg, k.Target):
		m.tuner.SetTarget((m.tuner.Target() + 1) % 4)
		m.setStatus("target format: %s", m.tuner.Target())
		m.predict()
	case key.Matches(msg, k.Explain):
		m.open(overlayExplain)
	case key.Matches(msg, k.Detail):
		m.open(overlayDetail)
	case key.Matches(msg, k.User):
		return m.startUserInput()
	}
	m.gridCursor = max(0, min(m.gridCursor, n-1))
	m.clampScroll()
	return m, nil
}

func (m Model) onEmitKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys.Emit
	out := m.tuner.Output(m.user())
	switch {
	case key.Matches(msg, k.Print):
		m.Output = out
		return m, tea.Quit
	case key.Matches(msg, k.Clipboard):
		m.setStatus("sent %d bytes to the terminal's clipboard (OSC 52; terminals and tmux may drop it)", len(out))
		return m, tea.SetClipboard(out)
	case key.Matches(msg, k.Write):
		m.open(overlayWrite)
		m.status, m.statusErr = "", false
		m.path.SetValue("")
		return m, m.path.Focus()
	case key.Matches(msg, k.Close):
		m.overlay = overlayNone
	case msg.String() == "ctrl+c":
		return m, tea.Quit
	default:
		m, _ = m.scrollOverlay(m.keys.Scroll, msg)
	}
	return m, nil
}

func (m Model) onWheel(msg tea.MouseWheelMsg) (tea.Model, tea.Cmd) {
	mouse := msg.Mouse()
	l := m.layout()
	delta := 0
	switch mouse.Button {
	case tea.MouseWheelUp:
		delta = -3
	case tea.MouseWheelDown:
		delta = 3
	default:
		return m, nil
	}
	switch {
	case m.overlay != overlayNone:
		m.scroll = max(0, min(m.scroll+delta, m.overlayMaxScroll()))
	case l.sideWidth > 0 && mouse.X > l.gridWidth && mouse.Y >= l.bottomTop:
		m.sideScroll = max(0, min(m.sideScroll+delta, maxOffset(len(m.sideLines(l.sideWidth)), l.bottomHeight)))
	case mouse.Y >= l.gridTop:
		m.gridCursor = max(0, min(m.gridCursor+delta, int(m.lastCap())))
	default:
		m.list.Move(delta)
	}
	m.clampScroll()
	return m, nil
}

func (m Model) onClick(msg tea.MouseClickMsg) (tea.Model, tea.Cmd) {
	mouse := msg.Mouse()
	if m.overlay != overlayNone || mouse.Button != tea.MouseLeft {
		return m, nil
	}
	l := m.layout()
	switch {
	case mouse.Y >= l.procTop && mouse.Y < l.procTop+l.procRows:
		m.focus = paneProcs
		m.list.MoveTo(m.procOffset + mouse.Y - l.procTop)
	case mouse.Y >= l.gridTop && mouse.Y < l.gridTop+l.gridRows && mouse.X < l.gridWidth:
		m.focus = paneGrid
		m.gridCursor = max(0, min(m.gridOffset+mouse.Y-l.gridTop, int(m.lastCap())))
	}
	m.clampScroll()
	return m, nil
}

// predict recomputes the preview's session prediction: the tuned
// configuration (tunedConfig) for the login user.
func (m *Model) predict() {
	pam := m.opts.PAM
	m.pred = modcap.Predict(modcap.Input{Config: m.tunedConfig(), PAM: &pam, MasterPermitted: m.opts.Master, MasterBounding: m.opts.Master,
		Login: m.login.Login()})
}

// layout is where each pane sits for the current size and focus.
type layout struct {
	procTop, procRows int // first table row (below the header) and rows shown
	gridTop, gridRows int
	gridWidth         int
	sideWidth         int
	bottomTop         int
	bottomHeight      int
}

func (m Model) layout() layout {
	var l layout
	main := max(0, m.height-3) // title, status and help lines
	procH := max(2, main*45/100)
	if m.focus == paneGrid {
		procH = max(2, min(6, main/4))
	}
	procH = min(procH, main)
	l.procTop = 2 // title, then the header
	l.procRows = max(0, procH-1)
	l.bottomTop = 1 + procH
	l.bottomHeight = max(0, main-procH)
	l.gridTop = l.bottomTop + 1
	l.gridRows = max(0, l.bottomHeight-2) // header and legend
	l.gridWidth = min(m.width, gridWidth)
	if m.width-l.gridWidth-1 >= 24 {
		l.sideWidth = m.width - l.gridWidth - 1
	} else {
		l.gridWidth = m.width
	}
	return l
}

func (m *Model) clampScroll() {
	l := m.layout()
	cur := m.list.Cursor()
	if l.procRows > 0 {
		if cur < m.procOffset {
			m.procOffset = cur
		}
		if cur >= m.procOffset+l.procRows {
			m.procOffset = cur - l.procRows + 1
		}
	}
	m.procOffset = max(0, min(m.procOffset, len(m.list.Rows())-l.procRows))
	if l.gridRows > 0 {
		if m.gridCursor < m.gridOffset {
			m.gridOffset = m.gridCursor
		}
		if m.gridCursor >= m.gridOffset+l.gridRows {
			m.gridOffset = m.gridCursor - l.gridRows + 1
		}
	}
	m.gridOffset = max(0, min(m.gridOffset, int(m.lastCap())+1-l.gridRows))
}
