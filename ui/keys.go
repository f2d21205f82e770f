package ui

import "charm.land/bubbles/v2/key"

// GlobalKeys work in every pane.
type GlobalKeys struct {
	Quit, Help, Focus, Filter, Emit, Apply, Verify, Primer key.Binding
}

// ProcKeys are the process list's keys.
type ProcKeys struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	Tree, Proftpd, Kernel, Sort, Detail   key.Binding
	GlobalKeys
}

// GridKeys are the capability grid's keys.
type GridKeys struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	Toggle, Undo, Redo, Reset, FromProc   key.Binding
	Target, Explain, Detail, User         key.Binding
	GlobalKeys
}

// EmitKeys act in the emit view.
type EmitKeys struct {
	Clipboard, Write, Print, Close key.Binding
}

// ScrollKeys scroll an overlay whose text is longer than the screen.
type ScrollKeys struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
}

// KeyMaps are every pane's keys; they also feed the help views, so the
// keys and their help never drift apart.
type KeyMaps struct {
	Procs ProcKeys
	Grid  GridKeys
	Emit  EmitKeys
	// Scroll scrolls the overlays; ScrollArrows is the same without the
	// letter keys, for the apply view, where k stops the daemon.
	Scroll, ScrollArrows ScrollKeys
	// Close leaves an overlay (help, explain, primer, apply).
	Close key.Binding
}

func nav() (up, down, pgup, pgdn, home, end key.Binding) {
	return key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		key.NewBinding(key.WithKeys("pgdown", "ctrl+f", "pgdn"), key.WithHelp("pgdn", "page down")),
		key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first")),
		key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last"))
}

// DefaultKeyMaps returns captune's keys.
func DefaultKeyMaps() KeyMaps {
	g := GlobalKeys{
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Focus:  key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "switch pane")),
		Filter: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Emit:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "emit")),
		Apply:  key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "apply")),
		Verify: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "verify")),
		Primer: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "primer: the five sets")),
	}
	var km KeyMaps
	km.Procs.Up, km.Procs.Down, km.Procs.PageUp, km.Procs.PageDown, km.Procs.Home, km.Procs.End = nav()
	km.Procs.Tree = key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "tree"))
	km.Procs.Proftpd = key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "proftpd only"))
	km.Procs.Kernel = key.NewBinding(key.WithKeys("K"), key.WithHelp("K", "kernel threads"))
	km.Procs.Sort = key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort"))
	km.Procs.Detail = key.NewBinding(key.WithKeys("d", "enter"), key.WithHelp("d/enter", "details in full"))
	km.Procs.GlobalKeys = g
	km.Grid.Up, km.Grid.Down, km.Grid.PageUp, km.Grid.PageDown, km.Grid.Home, km.Grid.End = nav()
	km.Grid.Toggle = key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "toggle"))
	km.Grid.Undo = key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "undo"))
	km.Grid.Redo = key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "redo"))
	km.Grid.Reset = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reset"))
	km.Grid.FromProc = key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "start from process"))
	km.Grid.Target = key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "target format"))
	km.Grid.Explain = key.NewBinding(key.WithKeys("x", "enter"), key.WithHelp("x", "explain"))
	km.Grid.Detail = key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "preview in full"))
	km.Grid.User = key.NewBinding(key.WithKeys("U"), key.WithHelp("U", "login user"))
	km.Grid.GlobalKeys = g
	km.Emit = EmitKeys{
		Clipboard: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "send to clipboard (OSC 52)")),
		Write:     key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "write to a file")),
		Print:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "quit and print")),
		Close:     key.NewBinding(key.WithKeys("esc", "e", "q"), key.WithHelp("esc", "back")),
	}
	up, down, pgup, pgdn, home, end := nav()
	km.Scroll = ScrollKeys{
		Up:       key.NewBinding(key.WithKeys(up.Keys()...), key.WithHelp("↑/↓", "scroll")),
		Down:     key.NewBinding(key.WithKeys(down.Keys()...), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys(pgup.Keys()...), key.WithHelp("pgup/pgdn", "page")),
		PageDown: key.NewBinding(key.WithKeys(append(pgdn.Keys(), "space")...), key.WithHelp("pgdn", "page down")),
		Home:     key.NewBinding(key.WithKeys(home.Keys()...), key.WithHelp("home/end", "top/bottom")),
		End:      key.NewBinding(key.WithKeys(end.Keys()...), key.WithHelp("end/G", "bottom")),
	}
	km.ScrollArrows = km.Scroll
	km.ScrollArrows.Up.SetKeys("up")
	km.ScrollArrows.Down.SetKeys("down")
	km.ScrollArrows.PageUp.SetKeys("pgup")
	km.ScrollArrows.PageDown.SetKeys("pgdown")
	km.ScrollArrows.Home.SetKeys("home")
	km.ScrollArrows.End.SetKeys("end")
	km.Close = key.NewBinding(key.WithKeys("esc", "q", "?"), key.WithHelp("esc", "close"))
	return km
}

// ShortHelp lists the scroll keys as one hint each.
func (k ScrollKeys) ShortHelp() []key.Binding { return []key.Binding{k.Up, k.PageUp, k.Home} }

// ShortHelp lists the process list's most used keys.
func (k ProcKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Filter, k.Focus, k.Tree, k.Proftpd, k.Emit, k.Help, k.Quit}
}

// FullHelp lists every process list key.
func (k ProcKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End},
		{k.Filter, k.Tree, k.Proftpd, k.Kernel, k.Sort, k.Detail},
		{k.Focus, k.Emit, k.Apply, k.Verify, k.Primer, k.Help, k.Quit},
	}
}

// ShortHelp lists the grid's most used keys.
func (k GridKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Toggle, k.Undo, k.Redo, k.Target, k.Explain, k.Emit, k.Focus, k.Help, k.Quit}
}

// FullHelp lists every grid key.
func (k GridKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End},
		{k.Toggle, k.Undo, k.Redo, k.Reset, k.FromProc, k.Target, k.User},
		{k.Explain, k.Detail, k.Primer, k.Focus, k.Filter, k.Emit, k.Apply, k.Verify, k.Help, k.Quit},
	}
}

// ShortHelp lists the emit view's keys.
func (k EmitKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Clipboard, k.Write, k.Print, k.Close}
}

// FullHelp lists the emit view's keys.
func (k EmitKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }
