package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"

	"captune/capset"
	"captune/capset/modcap"
	"captune/model"
)

type keyBinding = key.Binding

// overlayHead is the number of lines above an overlay's body: a blank
// line, the title and a blank line.
const overlayHead = 3

func (m Model) overlayWidth() int { return max(10, m.width-4) }

// overlayContent is the open overlay's title and its whole body, wrapped
// to width w.
func (m Model) overlayContent(w int) (title string, body []string) {
	switch m.overlay {
	case overlayHelp:
		title = "Keys"
		body = m.helpBody()
	case overlayExplain:
		c := capset.Cap(m.gridCursor)
		title = "Explain " + c.String()
		body = m.explainBody(c, w)
	case overlayPrimer:
		title = "Primer: the five capability sets"
		body = wrapAll(primerText(), w)
	case overlayEmit, overlayWrite, overlayOverwrite:
		title = "Emit · " + m.tuner.Target().String()
		for _, ln := range strings.Split(strings.TrimRight(m.tuner.Output(m.user()), "\n"), "\n") {
			body = append(body, wrapLines(model.Printable(ln), w)...)
		}
		body = append(body, "", m.styles.Dim.Render("c sends it to the terminal's clipboard (OSC 52), w writes it to a file,"),
			m.styles.Dim.Render("enter quits and prints it on standard output (captune > mod_cap.conf works)."))
		if m.overlay == overlayOverwrite {
			q := fmt.Sprintf("%s is %s: overwrite? y/N", m.pending.target(), model.Printable(m.pending.what))
			body = append(body, "")
			body = append(body, styledLines(q, m.styles.StatusError, w)...)
		}
	case overlayVerify:
		title = "Verify on a real proftpd"
		body = m.verifyBody(w)
	case overlayApply:
		title = "Apply"
		body = m.applyBody(w)
	case overlayDetail:
		title, body = m.sideTitle(), m.sideLines(w)
	}
	return title, fitWidth(body, w)
}

// fitWidth wraps every line wider than w (at spaces, inside a word only
// when it is longer than a line) so that nothing of an overlay is cut
// off at the right edge: what scrolls must all be there to see.
func fitWidth(lines []string, w int) []string {
	out := make([]string, 0, len(lines))
	for _, ln := range lines {
		if ansi.StringWidth(ln) <= w {
			out = append(out, ln)
			continue
		}
		out = append(out, strings.Split(ansi.Wrap(ln, w, ""), "\n")...)
	}
	return out
}

// overlayLines draws the open overlay in the main area (h lines): its
// title, then as much of its body as fits from the scroll position, with
// markers for what is hidden.
func (m Model) overlayLines(h int) []string {
	title, body := m.overlayContent(m.overlayWidth())
	out := []string{"", "  " + m.styles.PanelTitle.Render(title), ""}
	if h <= len(out) {
		return out[:max(0, h)]
	}
	hint := "↑/↓ pgup/pgdn home/end scroll"
	if m.overlay == overlayApply {
		hint = "↑/↓ pgup/pgdn scroll"
	}
	shown, _ := m.window(body, m.scroll, h-len(out), hint)
	for _, b := range shown {
		out = append(out, "  "+b)
	}
	return out
}

func wrapAll(text string, w int) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		if para == "" {
			out = append(out, "")
			continue
		}
		out = append(out, wrapLines(para, w)...)
	}
	return out
}

func (m Model) helpBody() []string {
	h := m.help
	h.SetWidth(m.width - 4)
	var groups [][]keyBinding
	name := "process list"
	if m.focus == paneGrid {
		groups = m.keys.Grid.FullHelp()
		name = "capability grid"
	} else {
		groups = m.keys.Procs.FullHelp()
	}
	out := []string{m.styles.Dim.Render("focused pane: " + name + " (tab switches)"), ""}
	out = append(out, strings.Split(h.FullHelpView(groups), "\n")...)
	out = append(out, "")
	for _, ln := range []string{
		"grid: ● held or kept  · not held  ○ dropped, can be kept  ■ kept, locked",
		"      + more than mod_cap's default  - less than it",
		"process markers: ^amb ambient  !bnd bounding narrowed  nnp no_new_privs",
		"                 seccomp  userns child namespace  fcaps file capabilities",
		"long views scroll (↑/↓ pgup/pgdn home/end, wheel); d: the side pane in full",
		"mouse: wheel scrolls, click selects.  esc closes this help.",
	} {
		for _, w := range wrapLines(ln, m.width-4) {
			out = append(out, m.styles.Dim.Render(w))
		}
	}
	return out
}

func (m Model) explainBody(c capset.Cap, w int) []string {
	st := m.styles
	var out []string
	in, ok := capset.Lookup(c)
	if !ok {
		out = append(out, fmt.Sprintf("Bit %d has no name: the kernel knows it, captune's catalogue does not yet.", c))
	} else {
		risk := st.Risk[in.Risk.String()].Render(in.Risk.String())
		out = append(out, st.Bold.Render(in.Name)+fmt.Sprintf("  number %d, mask %s, risk ", in.Cap, capset.Of(c).Hex())+risk, "")
		out = append(out, wrapAll(in.Short+".", w)...)
		out = append(out, "")
		out = append(out, wrapAll(in.Long, w)...)
		out = append(out, "")
		out = append(out, wrapAll("Governs: "+strings.Join(in.Syscalls, ", "), w)...)
		out = append(out, wrapAll("Why "+in.Risk.String()+": "+in.RiskWhy, w)...)
	}
	out = append(out, "")
	out = append(out, wrapAll("mod_cap: "+modcap.Explain(c), w)...)
	if lock := m.tuner.Lock(c); lock != "" {
		out = append(out, wrapAll("In the tuner: locked ("+lock+").", w)...)
	}
	if row, ok := m.list.Selected(); ok {
		p := row.Proc
		var in []string
		for _, s := range []struct {
			name string
			set  capset.Set
		}{{"inheritable", p.Sets.Inheritable}, {"permitted", p.Sets.Permitted}, {"effective", p.Sets.Effective}, {"bounding", p.Sets.Bounding}, {"ambient", p.Sets.Ambient}} {
			if s.set.Has(c) {
				in = append(in, s.name)
			}
		}
		where := "none of its sets"
		if len(in) > 0 {
			where = strings.Join(in, ", ")
		}
		out = append(out, "")
		out = append(out, wrapAll(fmt.Sprintf("PID %d (%s) holds it in: %s.", p.PID, model.Printable(p.Comm), where), w)...)
	}
	return out
}
